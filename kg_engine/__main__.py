"""``python -m kg_engine`` runs the ``kg`` command line."""

from kg_engine.cli import main

main()
