"""Command-line arguments the subcommands share: one flag name per idea, defined once.

Every subcommand builds its common options from these helpers, so a flag means the same thing,
with the same spelling and help, wherever it appears (the README's flag table lists them).
Older spellings stay accepted as hidden aliases (:func:`add_alias`): they parse to the same
``dest`` and do not show in ``--help``.

Every value a user types is checked when the command line is parsed, by the ``type=``
functions below: numbers against their range (:func:`positive_int`, :func:`non_negative_int`,
:class:`IntAtLeast`, :func:`finite_float`, :func:`positive_float`, :func:`probability`,
:func:`fraction`), output paths against the file system (:func:`output_file`,
:func:`output_folder`). A bad value is argparse's one-line error (exit 2) before anything runs.

Only light imports here: ``facelab --help`` builds every parser.
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "add_alias",
    "IntAtLeast",
    "positive_int",
    "non_negative_int",
    "finite_float",
    "positive_float",
    "probability",
    "fraction",
    "output_file",
    "output_folder",
    "add_model_arguments",
    "model_list",
    "add_detector_arguments",
    "add_flip_argument",
    "add_cache_argument",
    "add_quiet_argument",
    "add_output_arguments",
    "add_n_boot_argument",
    "add_device_argument",
    "add_scheduler_argument",
    "add_distractors_argument",
    "add_embedding_arguments",
    "embed_kwargs",
    "scheduler_of",
]


# --- checked values: argparse ``type=`` functions ----------------------------------------------------


class IntAtLeast:
    """``type=`` for an integer ``>= minimum`` (``IntAtLeast(16)``: "must be an integer >= 16")."""

    def __init__(self, minimum: int, what: str | None = None):
        self.minimum = minimum
        self.what = what or f"an integer >= {minimum}"

    def __call__(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < self.minimum:
            raise argparse.ArgumentTypeError(f"must be {self.what}, got {text!r}")
        return value

    def __repr__(self) -> str:
        return f"IntAtLeast({self.minimum})"


#: ``type=`` for counts that must be at least 1 (``--gallery-size``, ``--repeats``, ``--workers`` ...).
positive_int = IntAtLeast(1, "a positive integer")
#: ``type=`` for counts where 0 means none or all (``--n-boot``, ``--max-impostors``) and seeds.
non_negative_int = IntAtLeast(0, "a non-negative integer")


def _number(text: str, what: str, ok) -> float:
    """``float(text)`` when it is finite and ``ok(value)``; otherwise argparse's error naming ``what``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """``type=`` for any finite number (not nan, not inf)."""
    return _number(text, "a finite number", lambda v: True)


def positive_float(text: str) -> float:
    """``type=`` for a finite number > 0 (a calibration's std)."""
    return _number(text, "a positive number", lambda v: v > 0)


def probability(text: str) -> float:
    """``type=`` for a number strictly between 0 and 1 (a calibrated-score threshold)."""
    return _number(text, "a number in (0, 1)", lambda v: 0 < v < 1)


def fraction(text: str) -> float:
    """``type=`` for a fraction in [0, 1) (a share of identities held out)."""
    return _number(text, "a number in [0, 1)", lambda v: 0 <= v < 1)


def _output(text: str, *, folder: bool) -> str:
    from facelab.core.atomic import check_output_path
    from facelab.core.errors import OutputPathError

    try:
        check_output_path(text, folder=folder)
    except OutputPathError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def output_file(text: str) -> str:
    """``type=`` for a file facelab writes: refused when a file stands where a folder of its path
    should be, a folder is already there, or the nearest folder is not writable
    (:func:`facelab.core.atomic.check_output_path`; nothing is created)."""
    return _output(text, folder=False)


def output_folder(text: str) -> str:
    """``type=`` for a folder facelab writes or fills: as :func:`output_file`, a file already there refused."""
    return _output(text, folder=True)


# --- shared flags -----------------------------------------------------------------------------------


def add_alias(parser, *old: str, dest: str, **kwargs) -> None:
    """Accept ``old`` option strings as a hidden spelling of the flag stored in ``dest``.

    ``default=SUPPRESS`` leaves the default to the canonical flag (whichever is added first).
    """
    parser.add_argument(*old, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def detector_names() -> list[str]:
    """Detectors a command line may name: the detector registry's names."""
    from facelab.stages.detection import DETECTORS

    return DETECTORS.names()


def add_model_arguments(parser, *, multiple: bool = False) -> None:
    """``--model`` and ``--weights``.

    ``multiple=True``: ``--model`` may be given several times (``action="append"``); ``args.model``
    is then a list, ``["dlib"]`` when none is given (applied after parsing: :func:`model_list`).
    """
    if multiple:
        parser.add_argument("--model", action="append", default=None,
                            help="embedder: dlib (default), a registry model such as edgeface_xs, or a .onnx file; "
                                 "give it several times to compare models side by side")
    else:
        parser.add_argument("--model", default="dlib",
                            help="embedder: dlib (default), a registry model such as ir_18, or a .onnx file")
    parser.add_argument("--weights", default=None, metavar="PATH",
                        help="checkpoint for a registry model (.pth / .pth.tar)")


def model_list(args) -> list[str]:
    """The models of a ``multiple=True`` ``--model`` (``["dlib"]`` when none was given), duplicates refused."""
    from facelab.core.errors import FacelabError

    models = list(args.model) if args.model else ["dlib"]
    if isinstance(args.model, str):
        models = [args.model]
    dup = sorted({m for m in models if models.count(m) > 1})
    if dup:
        raise FacelabError(f"--model given twice: {', '.join(dup)}")
    return models


def add_detector_arguments(parser, *, detector: str | None = "dlib", policy: str | None = "largest",
                           multiple: bool = False, every_face: bool = False, policy_help: str | None = None) -> None:
    """``--detector`` (old spelling ``--backend``) and ``--policy``.

    ``detector=None``: the default is the model's own (:func:`facelab.models.weights.default_detector`).
    ``multiple=True``: ``--detector`` may be given several times (``args.detector`` is then a list, or
    None when it is not given). ``policy``: ``--policy``'s default (None: the command picks one from
    its input, and says how in ``policy_help``). ``every_face``: ``--policy`` also offers ``all``
    (every face of a photo: for the commands whose output is per face, ``embed`` and ``cluster``;
    elsewhere pairs and identities are per photo, so one face per photo).
    """
    from facelab.stages.detection import FACE_SELECTIONS, POLICIES

    names = detector_names()
    default = detector or "the model's: yunet (without its weights: dlib for dlib, mtcnn for EdgeFace)"
    more = "; give it several times to compare detectors side by side" if multiple else ""
    action = "append" if multiple else "store"
    parser.add_argument("--detector", default=detector, choices=names, action=action,
                        help=f"face detector (default {default}){more}")
    add_alias(parser, "--backend", dest="detector", choices=names, action=action)
    text = policy_help or ("which face to use when a photo has several" + (", or all: every face" if every_face else "")
                           + f" (default {policy})")
    parser.add_argument("--policy", default=policy, choices=list(FACE_SELECTIONS if every_face else POLICIES), help=text)


def add_flip_argument(parser, *, default: bool = False) -> None:
    """``--flip`` / ``--no-flip``."""
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=default,
                        help="flip test-time augmentation: average the embeddings of the face and its mirror "
                             f"(default {'on' if default else 'off'})")


def add_cache_argument(parser) -> None:
    """``--no-cache``."""
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the embedding cache")


def add_workers_argument(parser) -> None:
    """``--workers N``."""
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="processes for detection and alignment (default: every core)")


def add_quiet_argument(parser) -> None:
    """``--quiet`` (old spelling ``--no-progress``)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_alias(parser, "--no-progress", dest="quiet", action="store_true")


def add_output_arguments(parser, *, format: str = "table",
                         out_help: str = "also write the JSON result to FILE (atomically)") -> None:
    """``--format table|json`` and ``--out FILE``."""
    parser.add_argument("--format", default=format, choices=["table", "json"], help=f"output format (default {format})")
    parser.add_argument("--out", type=output_file, default=None, metavar="FILE", help=out_help)


def add_n_boot_argument(parser, *, default: int = 1000) -> None:
    """``--n-boot B`` (old spelling ``--bootstrap``)."""
    parser.add_argument("--n-boot", type=non_negative_int, default=default, metavar="B",
                        help=f"bootstrap replicates for confidence intervals (0: none; default {default})")
    add_alias(parser, "--bootstrap", dest="n_boot", type=non_negative_int, metavar="B")


def add_device_argument(parser) -> None:
    """``--device auto|cpu|cuda``: where the PyTorch parts run (the networks, MTCNN)."""
    from facelab.core.devices import DEVICES

    parser.add_argument("--device", default="auto", choices=list(DEVICES),
                        help="where the PyTorch networks and MTCNN run: auto (CUDA when present, default), cpu, cuda")


def add_scheduler_argument(parser) -> None:
    """``--scheduler ADDRESS``: embed on a Dask cluster (default ``$FACELAB_SCHEDULER``)."""
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="embed on this Dask scheduler (tcp://host:8786; default $FACELAB_SCHEDULER, "
                             "else this machine)")


def add_distractors_argument(parser) -> None:
    """``--distractors PATH``: embeddings of people not enrolled, for the MegaFace-style curve."""
    parser.add_argument("--distractors", default=None, metavar="PATH",
                        help="embeddings of people not enrolled (.json/.npz or a Parquet store folder), made with "
                             "the same model: rank-1, FNIR and FPIR as 10, 100, ... of them join the gallery")


def scheduler_of(args):
    """The scheduler address a command was given (``--scheduler``, else ``$FACELAB_SCHEDULER``), or None."""
    from facelab.engine.dask import scheduler_address

    return scheduler_address(args.scheduler) if hasattr(args, "scheduler") else None


def add_embedding_arguments(parser, *, policy: str | None = "largest", detector: str | None = None, flip: bool = False,
                            multiple: bool = False, every_face: bool = False, policy_help: str | None = None) -> None:
    """Everything :func:`facelab.engine.pipeline.embed_images` takes from a command line (see :func:`embed_kwargs`).

    Model and weights, detector and policy, flip, cache, workers, device, quiet; each command
    picks its defaults. ``--scheduler`` is added by the commands that offer it
    (:func:`add_scheduler_argument`); :func:`embed_kwargs` passes it on. ``multiple``: see
    :func:`add_model_arguments`; ``policy``, ``every_face``, ``policy_help``: see
    :func:`add_detector_arguments`.
    """
    add_model_arguments(parser, multiple=multiple)
    add_detector_arguments(parser, detector=detector, policy=policy, multiple=multiple, every_face=every_face,
                           policy_help=policy_help)
    add_flip_argument(parser, default=flip)
    add_cache_argument(parser)
    add_workers_argument(parser)
    add_device_argument(parser)
    add_quiet_argument(parser)


def embed_kwargs(args) -> dict:
    """Keyword arguments for :func:`facelab.engine.pipeline.embed_images` from :func:`add_embedding_arguments`' flags.

    ``settings`` (an :class:`~facelab.engine.settings.EmbedSettings` of model, weights, detector,
    policy, flip and device), ``cache``, ``progress`` and ``workers``; with
    :func:`add_scheduler_argument`'s flag (or ``$FACELAB_SCHEDULER``) ``scheduler=`` too:
    ``embed_images`` then runs on that cluster. A setting given beside (``model=``) replaces the
    one in ``settings``.
    """
    from facelab.engine.settings import EmbedSettings
    from facelab.models.weights import default_detector

    detector = args.detector
    if detector is None:  # the model's own (a list of several models: each chooses later)
        detector = default_detector(args.model) if isinstance(args.model, str) else "dlib"
    settings = EmbedSettings(model=args.model, weights=args.weights, detector=detector, policy=args.policy,
                             flip=args.flip, device=args.device)
    kw = dict(settings=settings, cache=not args.no_cache, progress=not args.quiet, workers=args.workers)
    scheduler = scheduler_of(args)
    if scheduler:
        kw["scheduler"] = scheduler
    return kw
