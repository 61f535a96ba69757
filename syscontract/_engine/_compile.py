"""Compiling generated code: one helper for every code generator in syscontract.

Generated source is registered with :mod:`linecache` under a unique file name, so tracebacks and
debuggers show it, and the entry is released when the compiled code is garbage collected, so a
bounded cache of compiled checks also bounds linecache.
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
_PREFIX = "<syscontract "


def compile_function(source: str, name: str, namespace: dict[str, Any], label: str) -> Any:
    """Compile generated ``source`` defining ``name`` in ``namespace`` and return that function.

    Its source is in linecache while its code object lives."""
    filename = f"{_PREFIX}{label} #{next(_counter)}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(code, namespace)
        function = namespace[name]
        weakref.finalize(function.__code__, linecache.cache.pop, filename, None)
    except BaseException:
        linecache.cache.pop(filename, None)
        raise
    return function


def live_sources() -> int:
    """How many generated sources linecache holds now (tests and the memory benchmark read it)."""
    return sum(1 for key in list(linecache.cache) if isinstance(key, str) and key.startswith(_PREFIX))
