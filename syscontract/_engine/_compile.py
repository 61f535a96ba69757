"""Compiling generated code: one helper for every code generator in syscontract.

Generated source is registered with :mod:`linecache` under a file name unique among the live
compiled functions, so tracebacks and debuggers show it, and the entry is released when the compiled
code is garbage collected, so a bounded cache of compiled checks also bounds linecache.

File names are recycled: CPython keeps every code object's file name alive (it interns it), so a
fresh name per compilation would grow memory by one string per ``check()`` cache miss, forever. The
number in a name is taken from the numbers released by collected code, and a new one only when none
is free, so the names in use are bounded by the compiled code alive at once.
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from typing import Any

__all__ = ["BUILTINS", "MESSAGE", "compile_function", "live_sources"]

MESSAGE = "_sc_m"
"""The variable generated checks read the message from."""

BUILTINS: dict[str, Any] = {f"_sc_{b.__name__}": b for b in (type, dict, list, len, bytes, Exception)}
"""The builtins generated code uses, under names no handler parameter can shadow (a parameter may
well be called ``type`` or ``bytes``)."""

_counter = itertools.count()
_free: list[int] = []  # numbers of collected code, to use again
_PREFIX = "<syscontract "


def compile_function(source: str, name: str, namespace: dict[str, Any], label: str) -> Any:
    """Compile generated ``source`` defining ``name`` in ``namespace`` and return that function.

    Its source is in linecache while its code object lives."""
    try:
        number = _free.pop()
    except IndexError:
        number = next(_counter)
    filename = f"{_PREFIX}{label} #{number}>"
    try:
        code = compile(source, filename, "exec")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(code, namespace)
        function = namespace[name]
        weakref.finalize(function.__code__, _release, filename, number)
    except BaseException:
        _release(filename, number)
        raise
    return function


def _release(filename: str, number: int) -> None:
    linecache.cache.pop(filename, None)
    _free.append(number)


def live_sources() -> int:
    """How many generated sources linecache holds now (tests and the memory benchmark read it)."""
    return sum(1 for key in list(linecache.cache) if isinstance(key, str) and key.startswith(_PREFIX))
