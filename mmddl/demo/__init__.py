"""End-to-end demos (``make demo TASK=video|face|reid``).

Each task module (``video``, ``face``, ``reid``) has ``main(argv)``, called by
``tools/demo.py --task <task>``. Submodules are imported on demand, so
``import mmddl.demo`` stays cheap.
"""
