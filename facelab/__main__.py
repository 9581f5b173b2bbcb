"""``python -m facelab`` runs the command-line interface."""

from facelab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
