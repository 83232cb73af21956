"""``open311-conformance sweep``: many targets in one command.

A sweep is many ordinary runs side by side, each a separate ``run`` process with its own
bundle in ``DIR/<name>/``, then ``DIR/sweep.json`` and ``DIR/index.html`` over them all.
Beyond one machine the engine is the user's CI job matrix (``--matrix``, ``--only``,
``sweep collect``), not a scheduler of the kit's own.

``targets`` reads TARGETS.yaml, ``runner`` runs the processes, ``rows`` turns bundles into the
rows of sweep.json and writes it, ``collect`` builds a sweep from bundles made elsewhere,
``compare`` compares two sweeps, ``command`` is the command line.
"""
