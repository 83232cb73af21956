"""check-app: grade an Open311 application against the City-like simulator.

The simulator, in grading mode, shows the application the City's hard parts and records every
exchange (``recording``); registered judges (``judges``) decide each APP- requirement from the
recording; ``grading`` puts it together into one :class:`~.grading.AppGrading` value that the
bundle is written from.
"""
