"""The embedded Chicago Open311 test environment and its fault catalogue.

``start()`` runs it in-process on a free loopback port; ``open311-conformance serve`` runs it
in the foreground. See ``faults.CATALOGUE`` for the named deviations it can be asked to make.
"""

from __future__ import annotations

from conformance.simulator.faults import CATALOGUE, Fault
from conformance.simulator.server import RunningSimulator, start

__all__ = ["CATALOGUE", "Fault", "RunningSimulator", "start"]
