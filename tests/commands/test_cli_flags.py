"""One flag name per idea across the subcommands; old spellings still parse, hidden from --help.

These tests only build and parse (no command runs), so they are fast and need no data.
"""

from __future__ import annotations

import pytest

from facelab.cli import build_parser
from facelab.stages.detection import DETECTORS

# The positional arguments each subcommand needs to parse.
POSITIONAL = {
    "landmarks": ["a.jpg"],
    "align": ["src", "out"],
    "embed": ["ds", "--out", "e.json"],
    "compare": ["a.jpg", "b.jpg"],
    "lfw": [],
    "verify": ["ds"],
    "identify": ["ds"],
    "report": ["ds"],
    "audit": ["ds"],
}

# Which subcommands take which shared flag (the README's flag table says the same).
DETECTOR = ["landmarks", "align", "embed", "compare", "lfw", "verify", "identify", "report", "audit"]
POLICY = ["landmarks", "align", "embed", "compare", "lfw", "verify", "identify", "report", "audit"]
QUIET = ["landmarks", "align", "embed", "lfw", "verify", "identify", "report", "audit"]
FLIP = ["embed", "compare", "lfw", "verify", "identify", "audit"]
CACHE = ["embed", "compare", "lfw", "verify", "identify", "audit"]
WORKERS = ["embed", "lfw", "verify", "identify", "audit"]
MODEL = ["embed", "compare", "lfw", "verify", "identify", "report", "audit"]
MULTI_MODEL = ["lfw", "report"]
FORMAT_OUT = ["landmarks", "lfw", "verify", "identify"]
N_BOOT = ["lfw", "verify", "report"]
DEVICE = ["embed", "compare", "lfw", "verify", "identify", "report", "audit"]
SCHEDULER = ["embed", "lfw", "identify", "report", "audit"]
DISTRACTORS = ["identify", "report"]


def parse(command, *extra):
    return build_parser().parse_args([command, *POSITIONAL[command], *extra])


@pytest.mark.parametrize("command", DETECTOR)
def test_detector(command):
    one = (lambda d: [d]) if command == "lfw" else (lambda d: d)  # lfw takes it several times: a list
    assert parse(command, "--detector", "mtcnn").detector == one("mtcnn")
    assert parse(command, "--detector", "dlib").detector == one("dlib")


@pytest.mark.parametrize("command", POLICY)
def test_policy(command):
    assert parse(command, "--policy", "central").policy == "central"


@pytest.mark.parametrize("command", QUIET)
def test_quiet(command):
    assert parse(command, "--quiet").quiet is True
    assert parse(command).quiet is False


@pytest.mark.parametrize("command", FLIP)
def test_flip_both_ways(command):
    assert parse(command, "--flip").flip is True
    assert parse(command, "--no-flip").flip is False


@pytest.mark.parametrize("command", CACHE)
def test_no_cache(command):
    assert parse(command, "--no-cache").no_cache is True
    assert parse(command).no_cache is False


@pytest.mark.parametrize("command", WORKERS)
def test_workers(command):
    assert parse(command, "--workers", "3").workers == 3
    assert parse(command).workers is None


@pytest.mark.parametrize("command", MODEL)
def test_model_and_weights(command):
    from facelab.commands._args import model_list

    args = parse(command, "--model", "ir_18", "--weights", "w.pth")
    assert (model_list(args), args.weights) == (["ir_18"], "w.pth")
    if command in MULTI_MODEL:  # --model given several times: a list, default ["dlib"] after parsing
        assert model_list(parse(command, "--model", "dlib", "--model", "edgeface_xs")) == ["dlib", "edgeface_xs"]
        assert model_list(parse(command)) == ["dlib"]
    else:
        assert args.model == "ir_18" and parse(command).model == "dlib"


@pytest.mark.parametrize("command", FORMAT_OUT)
def test_format_and_out(command):
    args = parse(command, "--format", "json", "--out", "r.json")
    assert (args.format, args.out) == ("json", "r.json")
    with pytest.raises(SystemExit):
        parse(command, "--format", "yaml")


@pytest.mark.parametrize("command", N_BOOT)
def test_n_boot(command):
    assert parse(command, "--n-boot", "7").n_boot == 7


@pytest.mark.parametrize("command", DEVICE)
def test_device(command):
    assert parse(command).device == "auto"
    assert parse(command, "--device", "cpu").device == "cpu"
    with pytest.raises(SystemExit):
        parse(command, "--device", "tpu")


@pytest.mark.parametrize("command", DISTRACTORS)
def test_distractors(command):
    assert parse(command, "--distractors", "d.npz").distractors == "d.npz"
    assert parse(command).distractors is None


@pytest.mark.parametrize("command", SCHEDULER)
def test_scheduler_flag_and_environment(command, monkeypatch):
    from facelab.commands._args import embed_kwargs, scheduler_of

    monkeypatch.delenv("FACELAB_SCHEDULER", raising=False)
    assert scheduler_of(parse(command)) is None
    assert scheduler_of(parse(command, "--scheduler", "tcp://a:8786")) == "tcp://a:8786"
    monkeypatch.setenv("FACELAB_SCHEDULER", "tcp://env:8786")
    assert scheduler_of(parse(command)) == "tcp://env:8786"
    assert scheduler_of(parse(command, "--scheduler", "tcp://a:8786")) == "tcp://a:8786"  # the flag wins
    if command != "report":  # report passes its options to build_report itself
        assert embed_kwargs(parse(command))["scheduler"] == "tcp://env:8786"


def test_commands_without_scheduler_ignore_the_environment(monkeypatch):
    from facelab.commands._args import embed_kwargs

    monkeypatch.setenv("FACELAB_SCHEDULER", "tcp://env:8786")
    assert "scheduler" not in embed_kwargs(parse("verify"))


def test_per_command_defaults_survive_the_aliases():
    # A hidden alias must not reset the canonical flag's default (argparse applies defaults in order).
    lfw = parse("lfw")
    # The detector: None parsed = each model's own (resolved in run; default_detector).
    assert (lfw.detector, lfw.policy, lfw.flip, lfw.n_boot) == (None, "central", True, 1000)
    verify = parse("verify")
    assert (verify.detector, verify.policy, verify.flip, verify.quiet) == (None, "largest", False, False)
    assert parse("lfw", "--detector", "yunet", "--detector", "mtcnn").detector == ["yunet", "mtcnn"]  # side by side
    assert parse("landmarks").format == "json" and parse("verify").format == "table"
    report = parse("report")  # each model's own detector, the central face (as lfw), 500 replicates
    assert (report.detector, report.policy, report.n_boot) == (None, "central", 500)


# --- old spellings -------------------------------------------------------------------------

@pytest.mark.parametrize("command", DETECTOR)
def test_backend_is_detector(command):
    assert parse(command, "--backend", "mtcnn").detector == (["mtcnn"] if command == "lfw" else "mtcnn")
    assert not hasattr(parse(command, "--backend", "mtcnn"), "backend")


@pytest.mark.parametrize("command", QUIET)
def test_no_progress_is_quiet(command):
    args = parse(command, "--no-progress")
    assert args.quiet is True and not hasattr(args, "no_progress")


@pytest.mark.parametrize("command", N_BOOT)
def test_bootstrap_is_n_boot(command):
    args = parse(command, "--bootstrap", "9")
    assert args.n_boot == 9 and not hasattr(args, "bootstrap")


def test_fetch_lfw_dest_is_out():
    assert build_parser().parse_args(["data", "fetch-lfw", "--dest", "x"]).out == "x"
    assert build_parser().parse_args(["data", "fetch-lfw", "--out", "y"]).out == "y"


HIDDEN = ["--backend", "--no-progress", "--bootstrap", "--dest"]


def _help(command, action=None):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    if action is not None:
        sub = next(a for a in sub._actions if a.dest == "data_command").choices[action]
    return sub.format_help()


@pytest.mark.parametrize("command", POSITIONAL)
def test_help_hides_the_old_spellings(command):
    text = _help(command)
    shown = [old for old in HIDDEN if old in text]
    assert not shown, f"facelab {command} --help shows {shown}"


def test_help_hides_dest_on_fetch_lfw():
    text = _help("data", "fetch-lfw")
    assert "--out" in text and "--dest" not in text


# --- detector choices come from the registry -------------------------------------------------

def test_detector_choices_follow_the_registry(monkeypatch):
    monkeypatch.setitem(DETECTORS._factories, "testdet", lambda **kw: None)
    for command in ["landmarks", "align", "embed", "compare", "lfw", "verify", "identify"]:
        want = ["testdet"] if command == "lfw" else "testdet"  # lfw takes several detectors: a list
        assert parse(command, "--detector", "testdet").detector == want, command
        assert parse(command, "--backend", "testdet").detector == want, command


def test_unknown_detector_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        parse("verify", "--detector", "opencv")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'opencv'" in err and "dlib" in err and "mtcnn" in err
