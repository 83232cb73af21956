"""``python -m conformance.cli``: the command without its installed script."""

import sys

from conformance.cli import main

sys.exit(main())
