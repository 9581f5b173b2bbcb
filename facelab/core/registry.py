"""Name -> factory registries (timm-style decorated factories).

Models, embedders, detectors and alignment presets are each found by name through one
:class:`Registry`. A new one is one file with one decorator::

    from facelab.embedders.base import register_embedder

    @register_embedder("my_model", embedding_size=512)
    def my_model(*, weights=None, flip=False, **opts):
        return MyEmbedder(weights, flip=flip, **opts)

An unknown name raises :class:`facelab.core.errors.UnknownNameError` listing the choices (the CLI
prints it as one line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Optional

from facelab.core.errors import UnknownNameError

__all__ = ["Registry"]


class Registry:
    """Factories of one kind of object, by case-insensitive name.

    Parameters
    ----------
    kind : str
        What the registry holds (``"model"``, ``"detector"`` ...), used in error messages.
    discover : callable, optional
        Called once, the first time a name is not found or the names are listed: imports the
        modules whose decorators register more entries (so a new file needs no other edit).
    """

    def __init__(self, kind: str, *, discover: Optional[Callable[[], None]] = None):
        self.kind = kind
        self._factories: dict[str, Callable] = {}
        self._info: dict[str, dict] = {}
        self._discover = discover

    def _discovered(self) -> None:
        if self._discover is not None:
            discover, self._discover = self._discover, None
            discover()

    def register(self, name: str, factory: Optional[Callable] = None, **info):
        """Register ``factory`` under ``name``; without ``factory``, a decorator.

        ``info`` (free-form facts: ``input_size``, ``embedding_size``, a description ...) is
        returned by :meth:`info`. The decorated object is returned unchanged.
        """

        def add(obj):
            key = str(name).lower()
            self._factories[key] = obj
            self._info[key] = dict(info)
            return obj

        return add if factory is None else add(factory)

    def get(self, name: str) -> Callable:
        """The factory registered under ``name``.

        Raises
        ------
        UnknownNameError
        """
        key = str(name).lower()
        if key not in self._factories:
            self._discovered()
        if key not in self._factories:
            raise UnknownNameError(self.kind, name, self.names())
        return self._factories[key]

    def create(self, name: str, **kwargs):
        """Call the factory registered under ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def info(self, name: str) -> dict:
        """The ``info`` given at registration (plus ``name``)."""
        self.get(name)
        key = str(name).lower()
        return {"name": key, **self._info[key]}

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        self._discovered()
        return list(self._factories)

    def has(self, name, *, discover: bool = True) -> bool:
        """Whether ``name`` is registered; ``discover=False`` looks only at what is already loaded."""
        key = str(name).lower()
        if key not in self._factories and discover:
            self._discovered()
        return key in self._factories

    def __contains__(self, name) -> bool:
        return self.has(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._factories)} entries)"
