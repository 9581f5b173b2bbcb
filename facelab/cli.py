"""The ``facelab`` command line.

Each subcommand lives in :mod:`facelab.commands.<name>` and provides ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import heavy libraries
(torch, dlib) inside ``run`` so that ``facelab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from facelab import __version__
from facelab.core.errors import FacelabError

#: Subcommands (modules of :mod:`facelab.commands`), in pipeline order.
COMMANDS = ("data", "landmarks", "align", "embed", "compare", "lfw", "verify", "identify", "cluster", "audit", "report",
            "course", "weights")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facelab",
        description="facelab: a face-recognition research workbench.",
    )
    parser.add_argument("--version", action="version", version=f"facelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"facelab.commands.{name}")
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", None) or module.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except FacelabError as exc:
        print(f"facelab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
