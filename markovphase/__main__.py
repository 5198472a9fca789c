"""``python -m markovphase`` runs the command line."""

from .cli import main

main()
