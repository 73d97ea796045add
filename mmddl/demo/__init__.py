"""End-to-end demos: ``tools/demo.py --task video|face|reid`` runs
``mmddl.demo.<task>.main`` (see docs/demos.md)."""
