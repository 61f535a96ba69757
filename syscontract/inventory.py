"""The declarations made in this process, and the one name each handler goes by.

Every ``@requires`` adds its declaration here; ``syscontract.verify()`` walks them. A declaration
lives as long as its handler: the inventory holds it weakly.

**A handler's name** (:func:`handler_name`) is ``module.qualname``, the same in telemetry
(``syscontract.handler``), in errors, in ``syscontract inventory``'s manifests and in live drift, however
its module was loaded:

- imported (``import pricing.handlers``) or packaged: the module's own ``__name__``;
- run with ``python -m pricing.handlers``: the name ``-m`` was given (``__main__.__spec__.name``);
- run as a script (``python pricing/pricing.py``): the name the file is imported under
  (:func:`module_name`): its stem, preceded by the directories above it that are packages (hold an
  ``__init__.py``). ``syscontract inventory pricing/pricing.py`` imports the file under that name too,
  so the manifest says ``pricing.price`` where a script run once said ``__main__.price``; a package
  directory run as ``python pricing`` is its ``__main__.py`` run as a script (``pricing.__main__``, as
  ``python -m pricing`` names it), although Python names its spec ``__main__``;
- code with no file (``python -c``, an interactive session) keeps ``__main__``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import sys
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syscontract._engine.declaration import Declaration

__all__ = ["add", "declarations", "deferred", "deferring", "handler_name", "module_name"]

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


def module_name(path: Path) -> str:
    """The dotted name Python imports ``path`` under: up through the directories that are packages
    (hold an ``__init__.py``), as a test run or ``syscontract inventory`` imports it."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.parent.name


@functools.lru_cache(maxsize=8)
def _main_name(spec_name: str | None, file: str | None) -> str:
    if spec_name and spec_name != "__main__":  # python -m package.module
        return spec_name
    # python path/to/script.py; python path/to/package (its __main__.py, whose spec is named __main__)
    if file:
        return module_name(Path(file).resolve())
    return "__main__"  # python -c, an interactive session: no file to name it by


def handler_name(function: Any) -> str:
    """``module.qualname`` of a handler (or producer), the one name it has everywhere (see above)."""
    module = getattr(function, "__module__", None) or "?"
    if module == "__main__":
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        file = getattr(main, "__file__", None)
        module = _main_name(getattr(spec, "name", None), file if isinstance(file, str) else None)
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"
