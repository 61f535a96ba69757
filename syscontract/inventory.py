"""The declarations made in this process.

Every ``@requires`` adds its declaration here; ``syscontract.verify()`` walks them. A declaration
lives as long as its handler: the inventory holds it weakly.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syscontract._engine.declaration import Declaration

__all__ = ["add", "declarations"]

_declarations: weakref.WeakValueDictionary[int, Declaration] = weakref.WeakValueDictionary()
_order = itertools.count()
_lock = threading.Lock()


def add(declaration: Declaration) -> None:
    with _lock:
        _declarations[next(_order)] = declaration


def declarations() -> list[Declaration]:
    """The live declarations, in the order they were made."""
    with _lock:
        return list(_declarations.values())
