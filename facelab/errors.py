"""User-facing errors: the CLI prints these as one line, without a traceback."""

__all__ = ["FacelabError", "DatasetNotFoundError", "CheckpointError", "EmbeddingsFileError", "EvaluationError"]


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
