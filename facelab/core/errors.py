"""User-facing errors: the CLI prints these as one line, without a traceback."""

__all__ = [
    "FacelabError",
    "UnknownNameError",
    "DatasetNotFoundError",
    "CheckpointError",
    "EmbeddingsFileError",
    "EvaluationError",
    "OutputPathError",
]


class FacelabError(Exception):
    """Base class of errors whose message is meant for the user as it is."""


class DatasetNotFoundError(FacelabError):
    """No dataset at any of the places looked at (the message lists them)."""


class CheckpointError(FacelabError):
    """A checkpoint file cannot be read or does not fit the model."""


class EmbeddingsFileError(FacelabError):
    """An embeddings file is malformed."""


class EvaluationError(FacelabError):
    """A dataset or score set cannot be evaluated (e.g. one identity, no genuine pairs)."""


class OutputPathError(FacelabError, OSError):
    """A result cannot be written where asked (a file in the way of a folder, no permission ...).

    Also an ``OSError``, as the failure it replaces was.
    """


class UnknownNameError(FacelabError, ValueError):
    """A name (model, embedder, detector, alignment preset) that no registry knows.

    Also a ``ValueError``, so code that caught the old ``ValueError`` still does.

    Attributes
    ----------
    kind : str
        What was looked up (``"model"``, ``"detector"`` ...).
    name : str
        The name asked for.
    choices : list of str
        The names that would have worked (the message lists them).
    """

    def __init__(self, kind: str, name, choices, hint: str = ""):
        self.kind = kind
        self.name = str(name)
        self.choices = list(choices)
        msg = f"unknown {kind} {self.name!r}; choose from {', '.join(self.choices) or '(none registered)'}"
        super().__init__(msg + (f" {hint}" if hint else ""))
