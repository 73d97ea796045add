"""End-to-end demos: ``demo/run_demo.py --task video|face|reid`` runs
``demo.<task>.main`` (see docs/demos.md)."""
