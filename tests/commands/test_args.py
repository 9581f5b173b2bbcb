"""Every option a user types is checked when the command line is parsed: numbers against their
range, output paths against the file system. A bad value is one line on stderr, exit 2, no
traceback, and nothing runs (``facelab.commands._args`` holds the ``type=`` functions).

The walks below visit every subcommand's parser (``data two-id``, ``weights fetch`` ...), so an
option added later without a checked type fails here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from facelab.cli import build_parser, main

# What each (sub)command needs to parse besides the option under test.
REQUIRED = {
    "landmarks": ["a.jpg"],
    "align": ["src", "aligned"],
    "embed": ["ds", "--out", "e.json"],
    "compare": ["a.jpg", "b.jpg"],
    "verify": ["ds"],
    "identify": ["ds"],
    "cluster": ["ds", "--out", "clusters"],
    "report": ["ds"],
    "audit": ["ds"],
    "weights fetch": ["edgeface_xs"],
}

# Options that name something facelab writes (a file, or a folder it fills).
OUTPUT_DESTS = {"out", "store", "dest"}


def parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """``(name, parser)`` of every leaf subcommand (``"data two-id"``, ``"verify"`` ...)."""
    found = []

    def walk(name, parser):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append((name, parser))
        for action in subs:
            for child, sub in action.choices.items():
                walk(f"{name} {child}".strip(), sub)

    walk("", build_parser())
    return found


def typed_actions(kinds) -> list:
    """``(command, option string, action)`` of every option (hidden aliases included) whose
    ``type`` is one of ``kinds``, or, with ``kinds=None``, that has any ``type`` at all."""
    out = []
    for name, parser in parsers():
        for a in parser._actions:
            if a.type is None or (kinds is not None and a.type not in kinds):
                continue
            out.append((name, a.option_strings[0] if a.option_strings else a.dest, a))
    return out


def parse_error(capsys, command, *argv) -> str:
    """Parse ``command`` with ``argv``; it must exit 2 with a one-line error, which is returned."""
    parser = dict(parsers())[command]
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([*REQUIRED.get(command, []), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"facelab {command}: error: argument "), err
    return last


# --- numbers ------------------------------------------------------------------------------------

def numeric_checks():
    """``{type function: (bad values, a good value)}`` for the number types of ``_args``."""
    from facelab.commands import _args as A

    return {
        A.positive_int: (["0", "-3", "2.5", "x"], "3"),
        A.non_negative_int: (["-1", "2.5", "x"], "0"),
        A.finite_float: (["nan", "inf", "-inf", "x"], "-0.5"),
        A.positive_float: (["0", "-1", "nan", "inf"], "0.2"),
        A.probability: (["0", "1", "-0.1", "1.5", "nan"], "0.6"),
        A.fraction: (["1", "-0.1", "nan"], "0"),
    }


def test_every_typed_option_is_checked():
    """Each option with a ``type`` uses one of ``_args``' checked types (no bare ``int`` / ``float``)."""
    from facelab.commands import _args as A

    checked = set(numeric_checks()) | {A.output_file, A.output_folder}
    loose = [f"facelab {c} {o}: type={getattr(a.type, '__name__', a.type)}"
             for c, o, a in typed_actions(None) if a.type not in checked and not isinstance(a.type, A.IntAtLeast)]
    assert not loose, "options parsed without a range check:\n" + "\n".join(loose)


def test_every_numeric_option_rejects_out_of_range_values(capsys, tmp_path, monkeypatch):
    from facelab.commands import _args as A

    monkeypatch.chdir(tmp_path)
    checks = numeric_checks()
    walked = 0
    for command, option, action in typed_actions(None):
        if isinstance(action.type, A.IntAtLeast):
            bad, good = [str(action.type.minimum - 1), "1.5", "x"], str(action.type.minimum)
        elif action.type in checks:
            bad, good = checks[action.type]
        else:
            continue
        for value in bad:  # --opt=value: "-inf" would otherwise read as an option
            line = parse_error(capsys, command, f"{option}={value}")
            assert f"argument {option}" in line and repr(value) in line, line
        args = dict(parsers())[command].parse_args([*REQUIRED.get(command, []), option, good])
        assert getattr(args, action.dest) == action.type(good)
        walked += 1
    assert walked >= 25  # every subcommand's numbers, aliases included (--bootstrap)


@pytest.mark.parametrize("command, option, value, expected", [
    ("identify", "--gallery-size", "0", "must be a positive integer, got '0'"),
    ("compare", "--threshold", "nan", "must be a number in (0, 1), got 'nan'"),
    ("verify", "--n-boot", "-5", "must be a non-negative integer, got '-5'"),
    ("verify", "--bootstrap", "-5", "must be a non-negative integer, got '-5'"),  # the old spelling too
    ("align", "--size", "8", "must be an integer >= 16, got '8'"),
    ("identify", "--distractor-fraction", "1", "must be a number in [0, 1), got '1'"),
    ("data two-id", "--seed", "-1", "must be a non-negative integer, got '-1'"),
])
def test_the_reported_numbers(capsys, command, option, value, expected):
    assert parse_error(capsys, command, f"{option}={value}").endswith(f"argument {option}: {expected}")


# --- output paths ---------------------------------------------------------------------------------

def test_every_output_option_is_a_checked_path():
    from facelab.commands import _args as A

    outputs = [(c, o, a) for c, o, a in typed_actions(None) if a.type in (A.output_file, A.output_folder)]
    unchecked = [f"facelab {name} {a.option_strings or a.dest}"
                 for name, parser in parsers() for a in parser._actions
                 if a.dest in OUTPUT_DESTS and a.type not in (A.output_file, A.output_folder)]
    assert not unchecked, "output options without a path check: " + ", ".join(unchecked)
    named = {(c, o) for c, o, _ in outputs}
    assert {("embed", "--out"), ("embed", "--store"), ("report", "--out"), ("course", "--out"), ("align", "out"),
            ("landmarks", "--out"), ("verify", "--out"), ("data fetch-lfw", "--dest"),
            ("weights fetch", "--dest")} <= named


def test_every_output_option_refuses_a_file_in_its_path(capsys, tmp_path, monkeypatch):
    from facelab.commands import _args as A

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "afolder").mkdir()
    (tmp_path / "ds").mkdir()
    for command, option, action in typed_actions({A.output_file, A.output_folder}):
        opt = [option] if action.option_strings else []
        required = [x for x in REQUIRED.get(command, []) if not (command == "align" and x == "aligned")]
        name = "e.json" if command == "embed" else "x"
        parser = dict(parsers())[command]
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([*required, *opt, f"afile/sub/{name}"])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "Traceback" not in err
        assert err.rstrip("\n").splitlines()[-1].endswith(
            f"cannot write afile/sub/{name}: afile is a file, not a folder"), (command, option, err)
        # The other kind already there is refused too.
        wrong = "afolder" if action.type is A.output_file else "afile"
        what = "a folder, not a file" if action.type is A.output_file else "a file, not a folder"
        with pytest.raises(SystemExit):
            parser.parse_args([*required, *opt, wrong])
        assert capsys.readouterr().err.rstrip("\n").endswith(f"cannot write {wrong}: {wrong} is {what}")


@pytest.mark.parametrize("argv", [
    ["embed", "ds", "--out", "afile/sub/e.json"],
    ["report", "ds", "--out", "afile/report"],
    ["course", "--out", "afile/course"],
])
def test_reported_output_paths(capsys, tmp_path, monkeypatch, argv):
    """The three commands of the report: one line before anything runs (no traceback)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "ds").mkdir()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"facelab {argv[0]}: error: argument --out: cannot write {argv[-1]}: "
                                    "afile is a file, not a folder")


def test_a_user_sees_one_line(tmp_path):
    """As a user runs it (a real process): stderr is the usage and one error line, no traceback."""
    (tmp_path / "afile").write_text("")
    for argv, expected in [
        (["embed", "ds", "--out", "afile/e.json"], "argument --out: cannot write afile/e.json: afile is a file"),
        (["identify", "ds", "--gallery-size", "0"], "argument --gallery-size: must be a positive integer"),
    ]:
        p = subprocess.run([sys.executable, "-m", "facelab", *argv], cwd=tmp_path, capture_output=True, text=True)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert p.stderr.splitlines()[-1].startswith(f"facelab {argv[0]}: error: {expected}"), p.stderr
