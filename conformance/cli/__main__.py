"""``python -m conformance.cli``: the command without its installed script."""

import sys

from conformance.cli import command

sys.exit(command())
