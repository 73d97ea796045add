"""Generators of small benchmarks in the real on-disk formats (tests, demos).

Submodules are imported on demand: ``mmddl.testing.synthetic_video``,
``.synthetic_faces`` and ``.synthetic_persons``.
"""
