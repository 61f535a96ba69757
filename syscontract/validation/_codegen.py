"""Generated Python source for (Avro) validators: functions, paths, constants, and compiling with linecache.

Every validator is one generated module. Each schema that needs a function of its own (the root, a
``$ref`` target, a recursive Avro record, an alternative of ``anyOf``) gets up to three, written from
the same emitters with a different failure statement (JSON Schema is validated by jsonschema-rs instead):

* ``ok`` returns ``False`` at the first failure and ``True`` at the end: the fast boolean form, also
  used by combinators (``anyOf``, ``not``, ``if``, ``contains``);
* ``gate`` is the root's ``ok`` that, instead of returning ``False``, hands the message to the
  reporter (so a valid message costs one call);
* ``walk`` records every failure with its path and goes on: the diagnosis, run only for an invalid
  message.

In ``ok`` and ``gate`` functions a required key is read with ``x[name]`` inside one ``try``: a missing
key raises ``KeyError``, which fails the message without a second lookup on the valid path.

Names that come from a schema appear in the source only as ``repr()`` literals; every other value a
schema provides (numbers, enums, compiled patterns) is a constant in the module's namespace.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from syscontract._codegen import Code, compile_source, keep_while
from syscontract.validation._runtime import RUNTIME, segment

__all__ = ["GATE", "OK", "WALK", "Context", "Function", "Module", "Path"]

OK = "ok"
GATE = "gate"
WALK = "walk"

MAX_DEPTH = 40
"""Indentation levels a function may reach before a subschema is moved into a function of its own
(Python refuses more than 100 levels)."""
MAX_LOOPS = 8
"""Nested loops a function may hold before a subschema is moved out (Python allows 20 blocks)."""


class Context:
    """Where a compiler is in the schema: nesting depth, loop nesting, and the chain of definitions
    being compiled (to stop at recursion)."""

    __slots__ = ("depth", "loops", "stack")

    def __init__(self, depth: int, loops: int, stack: tuple[str, ...]) -> None:
        self.depth = depth
        self.loops = loops
        self.stack = stack

    def at(self, depth: int) -> Context:
        return Context(depth, self.loops, self.stack)

    def loop(self, depth: int) -> Context:
        return Context(depth, self.loops + 1, self.stack)

    def entering(self, pointer: str) -> Context:
        return Context(self.depth, self.loops, (*self.stack, pointer))


class Path:
    """The path of the value being checked, as source text evaluated only when a failure is recorded:
    a dynamic part (a variable holding a path) and a static suffix known when compiling."""

    __slots__ = ("dynamic", "suffix")

    def __init__(self, dynamic: str, suffix: str = "") -> None:
        self.dynamic = dynamic
        self.suffix = suffix

    def key(self, name: str) -> Path:
        return Path(self.dynamic, self.suffix + segment(name))

    def index(self, variable: str) -> Path:
        return Path(f"{self.code()} + '[' + str({variable}) + ']'")

    def dynamic_key(self, variable: str) -> Path:
        return Path(f"{self.code()} + _sc_key({variable})")

    def code(self) -> str:
        if not self.suffix:
            return self.dynamic
        return f"{self.dynamic} + {self.suffix!r}"


class Function:
    """One generated function under construction."""

    def __init__(self, module: Module, name: str, mode: str) -> None:
        self.module = module
        self.name = name
        self.mode = mode
        self.body = Code()  # the statements inside the function's try (or its body, for walk)
        self._vars = itertools.count(1)

    def var(self, prefix: str = "x") -> str:
        return f"{prefix}{next(self._vars)}"

    def add(self, depth: int, text: str) -> None:
        """``text`` at ``depth`` (1: the function's outermost statements)."""
        self.body.at(depth - 1, text)

    def mark(self) -> int:
        return len(self.body.lines)

    def close(self, mark: int, depth: int) -> None:
        """End a block opened just before ``mark``: Python needs at least one statement in it."""
        if len(self.body.lines) == mark:
            self.add(depth, "pass")

    def fail(self, depth: int, path: Path, reason: str, value: str, arg: str = "None") -> None:
        if self.mode == OK:
            self.add(depth, "return False")
        elif self.mode == GATE:
            self.add(depth, "return _sc_report(_sc_m)")
        else:
            self.add(depth, f"_sc_fail(_sc_o, {path.code()}, {reason!r}, {value}, {arg})")

    def call(self, depth: int, ok: str | None, walk: str | None, value: str, path: Path) -> None:
        """Check ``value`` with another generated function: ``ok`` in ok/gate mode, ``walk`` in walk mode."""
        if self.mode == WALK:
            self.add(depth, f"{walk}({value}, {path.code()}, _sc_o)")
        else:
            self.add(depth, f"if not {ok}({value}):")
            self.fail(depth + 1, path, "", value)

    def source(self) -> str:
        params = "x0, _sc_p, _sc_o" if self.mode == WALK else "x0"
        code = Code()
        with code.block(f"def {self.name}({params}):"):
            if self.mode == GATE:
                code("_sc_m = x0")  # the message as it arrived, for the report
            if self.mode == WALK:
                code.nest(self.body)
                code("return None")
            else:
                # a missing required key fails the message; so does a message nested deeper than Python recurses
                with code.block("try:"):
                    code.nest(self.body)
                with code.block("except (KeyError, RecursionError):"):
                    code("return False" if self.mode == OK else "return _sc_report(_sc_m)")
                code("return True" if self.mode == OK else "return None")
        return code.text()


class Module:
    """The generated module of one validator: its functions and the constants they read."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.constants: dict[str, Any] = {}
        self.functions: list[Function] = []
        self._names = itertools.count()
        self._by_value: dict[tuple[type, Any], str] = {}

    def name(self, prefix: str) -> str:
        return f"_sc_{prefix}{next(self._names)}"

    def const(self, value: Any) -> str:
        """A name in the module's namespace bound to ``value`` (equal hashable values share one)."""
        try:
            key: tuple[type, Any] | None = (type(value), value)
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._by_value:
            return self._by_value[key]
        name = self.name("k")
        self.constants[name] = value
        if key is not None:
            self._by_value[key] = name
        return name

    def literal(self, value: Any) -> str:
        """Source text for a number or string from a schema: a literal when ``repr`` gives one back
        exactly (ints, finite floats, strings, bools, None), otherwise a namespace constant."""
        if value is None or isinstance(value, (bool, str)):
            return repr(value)
        if type(value) is int:
            return repr(value)
        if type(value) is float and math.isfinite(value):
            return repr(value)
        return self.const(value)

    def function(self, name: str, mode: str) -> Function:
        function = Function(self, name, mode)
        self.functions.append(function)
        return function

    def source(self) -> str:
        return "\n".join(function.source() for function in self.functions)

    def build(self) -> Engine:
        return Engine(self.label, self.source(), self.constants)


class Engine:
    """A compiled validator module, shareable by every contract with the same schema.

    ``bind(report)`` executes the module in a fresh namespace whose ``_sc_report`` is the given
    function and returns that namespace. The generated source is registered with :mod:`linecache`
    for as long as the engine lives, so tracebacks and debuggers show it."""

    def __init__(self, label: str, source: str, constants: dict[str, Any]) -> None:
        self.source = f"# syscontract validator, compiled for {label!a}\n{source}"
        # one helper compiles all generated code: file names recycled, linecache kept while this lives
        self.code, self.filename, number = compile_source(self.source, "validator")
        self.constants = {**RUNTIME, **constants}
        keep_while(self, self.filename, number)

    def bind(self, report: Callable[[Any], None]) -> dict[str, Any]:
        namespace = dict(self.constants)
        namespace["_sc_report"] = report
        namespace["_sc_engine"] = self  # keeps the linecache entry while a validator lives
        exec(self.code, namespace)
        return namespace
