"""The command line: every planned subcommand is listed, ``python -m facelab`` works."""

from __future__ import annotations

import subprocess
import sys

from facelab.cli import COMMANDS, build_parser, main


def test_help_lists_every_subcommand(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in ("data", "landmarks", "align", "embed", "compare", "lfw", "verify", "identify", "report"):
        assert name in COMMANDS and f"    {name}" in out


def test_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    for name, p in sub.choices.items():
        assert p.format_help().startswith("usage: facelab " + name)


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "facelab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("facelab ")
