"""Generated code: one builder and one compiler for every code generator in syscontract.

:class:`Code` writes Python source a person can read: statements at the current indentation, blocks
opened with ``with code.block("if ...:"):`` (an empty block gets its ``pass``), other code nested at
the current indentation. The engine's fast paths and the validators are written with it.

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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "BUILTINS",
    "MESSAGE",
    "Code",
    "compile_function",
    "compile_source",
    "keep_while",
    "live_sources",
    "release",
]

MESSAGE = "_sc_m"
"""The variable generated checks read the message from."""

BUILTINS: dict[str, Any] = {f"_sc_{b.__name__}": b for b in (type, dict, list, len, bytes, Exception)}
"""The builtins generated code uses, under names no handler parameter can shadow (a parameter may
well be called ``type`` or ``bytes``)."""

INDENT = "    "


class Code:
    """Python source under construction, one statement a line, indentation kept by the builder."""

    __slots__ = ("depth", "lines")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, *statements: str) -> Code:
        """Add ``statements`` at the current indentation."""
        self.lines.extend(INDENT * self.depth + statement for statement in statements)
        return self

    def at(self, depth: int, statement: str) -> None:
        """Add ``statement`` ``depth`` levels below the current indentation."""
        self.lines.append(INDENT * (self.depth + depth) + statement)

    @contextmanager
    def block(self, head: str) -> Iterator[Code]:
        """``head`` (``if ...:``, ``try:``, ``for ...:``) and the statements added inside the ``with``,
        one level deeper; ``pass`` when none were."""
        self(head)
        self.depth += 1
        mark = len(self.lines)
        try:
            yield self
        finally:
            if len(self.lines) == mark:
                self("pass")
            self.depth -= 1

    def nest(self, other: Code) -> None:
        """Add ``other``'s statements at the current indentation."""
        self.lines.extend(INDENT * self.depth + line for line in other.lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


_counter = itertools.count()
_free: list[int] = []  # numbers of collected code, to use again
_PREFIX = "<syscontract "


def compile_source(source: str, label: str) -> tuple[Any, str, int]:
    """Compile generated module ``source``: ``(code, filename, number)``, its source in linecache
    until :func:`keep_while` releases it with its owner (or :func:`release` does)."""
    try:
        number = _free.pop()
    except IndexError:
        number = next(_counter)
    filename = f"{_PREFIX}{label} #{number}>"
    try:
        code = compile(source, filename, "exec")
    except BaseException:
        _free.append(number)
        raise
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return code, filename, number


def keep_while(owner: Any, filename: str, number: int) -> None:
    """Keep ``filename`` in linecache (and its number taken) while ``owner`` lives."""
    weakref.finalize(owner, release, filename, number)


def release(filename: str, number: int) -> None:
    linecache.cache.pop(filename, None)
    _free.append(number)


def compile_function(source: str, name: str, namespace: dict[str, Any], label: str) -> Any:
    """Compile generated ``source`` defining ``name`` in ``namespace`` and return that function.

    Its source is in linecache while its code object lives."""
    code, filename, number = compile_source(source, label)
    try:
        exec(code, namespace)
        function = namespace[name]
        keep_while(function.__code__, filename, number)
    except BaseException:
        release(filename, number)
        raise
    return function


def live_sources() -> int:
    """How many generated sources linecache holds now (tests and the memory benchmark read it)."""
    return sum(1 for key in list(linecache.cache) if isinstance(key, str) and key.startswith(_PREFIX))
