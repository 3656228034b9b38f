"""``python -m tscl`` runs the command line."""

from tscl.cli import main

main()
