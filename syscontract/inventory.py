"""The declarations made in this process.

Every ``@requires`` adds its declaration here; ``syscontract.verify()`` walks them. A declaration
lives as long as its handler: the inventory holds it weakly.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syscontract._engine.declaration import Declaration

__all__ = ["add", "declarations", "deferred", "deferring"]

_declarations: weakref.WeakValueDictionary[int, Declaration] = weakref.WeakValueDictionary()
_order = itertools.count()
_lock = threading.Lock()
_deferring: contextvars.ContextVar[bool] = contextvars.ContextVar("syscontract_deferring", default=False)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """While active, a declaration that does not resolve is still made (and listed here) instead of
    raising at decoration time, so ``syscontract check`` can report every problem of a module, not the first."""
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)


def deferring() -> bool:
    """Whether declarations are being collected under :func:`deferred`."""
    return _deferring.get()


def add(declaration: Declaration) -> None:
    with _lock:
        _declarations[next(_order)] = declaration


def declarations() -> list[Declaration]:
    """The live declarations, in the order they were made."""
    with _lock:
        return list(_declarations.values())
