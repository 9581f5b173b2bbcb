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
from facelab.errors import FacelabError

#: Subcommands in pipeline order, with the issue that builds each.
COMMANDS = {
    "data": ("find, fetch and prepare datasets (LFW, the two-ID set)", 2),
    "landmarks": ("detect faces and their 5 landmarks in images", 3),
    "align": ("align the faces of a folder-per-identity dataset", 3),
    "embed": ("embed a dataset into L2-normalised vectors", 4),
    "compare": ("compare two face photos like the reference demo", 4),
    "lfw": ("the standard 10-fold LFW verification benchmark", 5),
    "verify": ("verification metrics on a folder-per-identity dataset", 5),
    "identify": ("1:N identification metrics on a folder-per-identity dataset", 6),
    "report": ("the full evaluation report (HTML + metrics.json)", 7),
    "weights": ("list and fetch pretrained model weights", 13),
}


def _not_built(name: str, issue: int):
    def run(args) -> int:
        print(f"facelab {name}: not built yet (planned in issue #{issue}).", file=sys.stderr)
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facelab",
        description="facelab: a face-recognition research workbench.",
    )
    parser.add_argument("--version", action="version", version=f"facelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, issue) in COMMANDS.items():
        try:
            module = importlib.import_module(f"facelab.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"facelab.commands.{name}":
                raise
            p = sub.add_parser(name, help=f"{help_text} [not built yet]")
            p.set_defaults(func=_not_built(name, issue))
            continue
        p = sub.add_parser(
            name,
            help=getattr(module, "HELP", help_text),
            description=getattr(module, "DESCRIPTION", None) or getattr(module, "HELP", help_text),
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
