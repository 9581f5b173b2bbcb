"""One module per ``facelab`` subcommand (see :mod:`facelab.cli`)."""
