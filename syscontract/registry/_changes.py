"""Writer tables change: a hook for whoever caches what a schema id, GUID or fingerprint means.

A registry that re-maps a writer key (``MemoryRegistry.add(..., schema_id=7)`` for another contract,
``replace=True``, a ``contract.toml`` whose ``[ids]`` changed) calls :func:`changed`; the engine
listens and forgets every writer plan it built, so no declaration keeps judging messages with the
writer a key used to mean. Registries sit below the engine and do not import it: it is told.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["changed", "on_change"]

_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever any registry re-maps a writer key or replaces a contract."""
    _listeners.append(listener)


def changed() -> None:
    """A registry's writer table changed."""
    for listener in list(_listeners):
        listener()
