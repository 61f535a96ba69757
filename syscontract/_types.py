"""The normalized type graph every schema language is parsed into.

A contract's shape is a graph of nodes. A :class:`Shape` is one JSON-like type (kinds such as
``string`` or ``object``, properties, array items, map values, allowed values); :class:`AnyOf` and
:class:`AllOf` combine nodes without merging them eagerly, so recursive schemas (an Avro record that
refers to itself, a JSON Schema ``$ref`` cycle) build in one pass and are walked lazily.

This module is the cold path: it answers questions about a contract (does ``customer.id`` exist,
what is its type, may it be null) and, for the checker, which Python classes a value may have.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

NULL = "null"
BOOLEAN = "boolean"
INTEGER = "integer"
NUMBER = "number"
STRING = "string"
BYTES = "bytes"
OBJECT = "object"
ARRAY = "array"
ALL_KINDS = frozenset({NULL, BOOLEAN, INTEGER, NUMBER, STRING, BYTES, OBJECT, ARRAY})

# Exact classes a decoded message uses for each kind: the checker's fast path compares
# ``value.__class__`` against these and leaves anything else to the precise check.
_FAST_CLASSES: dict[str, frozenset[type]] = {
    BOOLEAN: frozenset({bool}),
    INTEGER: frozenset({int}),
    NUMBER: frozenset({int, float}),
    STRING: frozenset({str}),
    BYTES: frozenset({bytes}),
    OBJECT: frozenset({dict}),
    ARRAY: frozenset({list}),
}

LOGICAL_CLASSES: dict[str, tuple[type, ...]] = {
    "decimal": (decimal.Decimal,),
    "big-decimal": (decimal.Decimal,),
    "uuid": (uuid.UUID,),
    "date": (_dt.date,),
    "time-millis": (_dt.time,),
    "time-micros": (_dt.time,),
    "timestamp-millis": (_dt.datetime,),
    "timestamp-micros": (_dt.datetime,),
    "timestamp-nanos": (_dt.datetime,),
    "local-timestamp-millis": (_dt.datetime,),
    "local-timestamp-micros": (_dt.datetime,),
    "local-timestamp-nanos": (_dt.datetime,),
}


class Node:
    """A node of the type graph."""

    __slots__ = ()

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this node's type (kind and allowed values)."""
        raise NotImplementedError

    def child(self, name: str) -> Prop | None:
        """The property ``name`` of objects of this type, or None."""
        raise NotImplementedError

    def element(self) -> Node | None:
        """The type of array elements, or None when this type is never an array."""
        raise NotImplementedError

    def property_names(self) -> list[str]:
        raise NotImplementedError

    def shapes(self) -> Iterator[Shape]:
        """The plain shapes this node is built from (for cycle detection)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def fast_plan(self) -> tuple[frozenset[type] | None, frozenset[str] | None] | None:
        """How the fast path may accept a non-null value of this type.

        ``(classes, symbols)``: accept when ``value.__class__`` is in ``classes`` (None: any class)
        and, when ``symbols`` is given, the value is one of them. ``None``: no exact-class rule is
        sound for this type, call the precise check. A plan never accepts what ``accepts`` refuses.
        """
        raise NotImplementedError


class Prop:
    """A property of an object type: its node and what the schema says about its presence."""

    __slots__ = ("default", "doc", "has_default", "node", "required")

    def __init__(
        self,
        node: Node,
        *,
        required: bool = False,
        has_default: bool = False,
        default: Any = None,
        doc: str | None = None,
    ) -> None:
        self.node = node
        self.required = required
        self.has_default = has_default
        self.default = default
        self.doc = doc


class Shape(Node):
    """One type: the kinds a value may have, and what the schema says inside it."""

    __slots__ = ("enum", "integral_floats", "items", "kinds", "logical", "name", "properties", "values")

    def __init__(
        self,
        kinds: frozenset[str] = ALL_KINDS,
        *,
        name: str | None = None,
        properties: dict[str, Prop] | None = None,
        items: Node | None = None,
        values: Node | None = None,
        enum: tuple[Any, ...] | None = None,
        logical: str | None = None,
        integral_floats: bool = False,
    ) -> None:
        self.kinds = kinds
        self.name = name
        self.properties: dict[str, Prop] = {} if properties is None else properties
        self.items = items
        self.values = values
        self.enum = enum
        self.logical = logical
        # JSON Schema counts 1.0 as an integer; Avro does not
        self.integral_floats = integral_floats

    def accepts(self, value: Any) -> bool:
        if not _kind_matches(self, value):
            return False
        return self.enum is None or any(json_equal(value, allowed) for allowed in self.enum)

    def child(self, name: str) -> Prop | None:
        return self.properties.get(name)

    def element(self) -> Node | None:
        return self.items if ARRAY in self.kinds else None

    def property_names(self) -> list[str]:
        return list(self.properties)

    def shapes(self) -> Iterator[Shape]:
        yield self

    def describe(self) -> str:
        if self.enum is not None:
            shown = ", ".join(_short(v) for v in self.enum[:8])
            more = ", ..." if len(self.enum) > 8 else ""
            label = f"one of [{shown}{more}]"
            return f"{self.name} ({label})" if self.name else label
        if self.name and OBJECT in self.kinds:
            return f"record {self.name}"
        if self.kinds == ALL_KINDS:
            return "any"
        parts = []
        for kind in sorted(self.kinds):
            if kind == ARRAY and self.items is not None:
                parts.append(f"array<{_describe_shallow(self.items)}>")
            elif kind == OBJECT and self.values is not None and not self.properties:
                parts.append(f"map<{_describe_shallow(self.values)}>")
            else:
                parts.append(kind)
        text = " | ".join(parts)
        return f"{text} ({self.logical})" if self.logical else text

    def fast_plan(self) -> tuple[frozenset[type] | None, frozenset[str] | None] | None:
        symbols: frozenset[str] | None = None
        if self.enum is not None:
            if not all(type(v) is str for v in self.enum):
                return None
            symbols = frozenset(self.enum)
        if self.kinds >= ALL_KINDS - {NULL}:
            return (None, symbols)
        classes: set[type] = set()
        for kind in self.kinds:
            classes |= _FAST_CLASSES.get(kind, frozenset())
        if self.logical in LOGICAL_CLASSES:
            classes.update(LOGICAL_CLASSES[self.logical])
        if self.integral_floats and INTEGER in self.kinds and NUMBER not in self.kinds:
            # 1.0 may be an integer here; the precise check decides
            classes.discard(float)
        if symbols is not None:
            classes &= {str}
        return (frozenset(classes), symbols)


class AnyOf(Node):
    """A value of any of the branches (Avro unions, JSON Schema ``anyOf``/``oneOf``/type lists)."""

    __slots__ = ("branches",)

    def __init__(self, branches: Sequence[Node]) -> None:
        self.branches = tuple(branches)

    def accepts(self, value: Any) -> bool:
        return any(branch.accepts(value) for branch in self.branches)

    def child(self, name: str) -> Prop | None:
        found = [p for p in (b.child(name) for b in self.branches) if p is not None]
        if not found:
            return None
        if len(found) == 1 and len(self.branches) == 1:
            return found[0]
        # present in some branches only: the union is never required by itself
        return Prop(
            found[0].node if len(found) == 1 else AnyOf([p.node for p in found]),
            required=len(found) == len(self.branches) and all(p.required for p in found),
            has_default=any(p.has_default for p in found),
            default=next((p.default for p in found if p.has_default), None),
            doc=next((p.doc for p in found if p.doc), None),
        )

    def element(self) -> Node | None:
        found = [e for e in (b.element() for b in self.branches) if e is not None]
        if not found:
            return None
        return found[0] if len(found) == 1 else AnyOf(found)

    def property_names(self) -> list[str]:
        return _unique(name for branch in self.branches for name in branch.property_names())

    def shapes(self) -> Iterator[Shape]:
        for branch in self.branches:
            yield from branch.shapes()

    def describe(self) -> str:
        return " | ".join(_unique(branch.describe() for branch in self.branches))

    def fast_plan(self) -> tuple[frozenset[type] | None, frozenset[str] | None] | None:
        classes: set[type] = set()
        for branch in self.branches:
            plan = branch.fast_plan()
            if plan is None or plan[1] is not None:
                continue  # this branch cannot vouch by class alone; the others still can
            if plan[0] is None:
                return (None, None)
            classes |= plan[0]
        return (frozenset(classes), None) if classes else None


class AllOf(Node):
    """A value that satisfies every part (JSON Schema ``allOf``, ``$ref`` with siblings)."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Node]) -> None:
        self.parts = tuple(parts)

    def accepts(self, value: Any) -> bool:
        return all(part.accepts(value) for part in self.parts)

    def child(self, name: str) -> Prop | None:
        found = [p for p in (part.child(name) for part in self.parts) if p is not None]
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        return Prop(
            AllOf([p.node for p in found]),
            required=any(p.required for p in found),
            has_default=any(p.has_default for p in found),
            default=next((p.default for p in found if p.has_default), None),
            doc=next((p.doc for p in found if p.doc), None),
        )

    def element(self) -> Node | None:
        found = []
        for part in self.parts:
            element = part.element()
            if element is None and _may_be_array(part):
                continue  # an array with unconstrained items
            if element is None:
                return None
            found.append(element)
        if not found:
            return None
        return found[0] if len(found) == 1 else AllOf(found)

    def property_names(self) -> list[str]:
        return _unique(name for part in self.parts for name in part.property_names())

    def shapes(self) -> Iterator[Shape]:
        for part in self.parts:
            yield from part.shapes()

    def describe(self) -> str:
        described = [d for d in _unique(part.describe() for part in self.parts) if d != "any"]
        return " & ".join(described) or "any"

    def fast_plan(self) -> tuple[frozenset[type] | None, frozenset[str] | None] | None:
        classes: frozenset[type] | None = None
        for part in self.parts:
            plan = part.fast_plan()
            if plan is None or plan[1] is not None:
                return None
            if plan[0] is not None:
                classes = plan[0] if classes is None else classes & plan[0]
        return (classes, None)


class Ref(Node):
    """A node defined elsewhere (a JSON Schema ``$ref``), bound once that definition is built."""

    __slots__ = ("pointer", "target")

    def __init__(self, pointer: str) -> None:
        self.pointer = pointer
        self.target: Node | None = None

    def _bound(self) -> Node:
        if self.target is None:  # pragma: no cover - parsers bind every Ref before returning
            raise RuntimeError(f"unbound reference {self.pointer}")
        return self.target

    def accepts(self, value: Any) -> bool:
        return self._bound().accepts(value)

    def child(self, name: str) -> Prop | None:
        return self._bound().child(name)

    def element(self) -> Node | None:
        return self._bound().element()

    def property_names(self) -> list[str]:
        return self._bound().property_names()

    def shapes(self) -> Iterator[Shape]:
        return self._bound().shapes()

    def describe(self) -> str:
        return self._bound().describe()

    def fast_plan(self) -> tuple[frozenset[type] | None, frozenset[str] | None] | None:
        return self._bound().fast_plan()


def direct_cycle(root: Node) -> str | None:
    """A reference cycle that never passes through a property or array item (``A = anyOf[A, ...]``):
    such a type has no meaning and would make every walk loop. Returns the pointer involved, or None."""
    done: set[int] = set()

    def visit(node: Node, path: tuple[int, ...], pointer: str | None) -> str | None:
        if id(node) in path:
            return pointer or "#"
        if id(node) in done:
            return None
        path += (id(node),)
        if isinstance(node, Ref):
            found = visit(node._bound(), path, node.pointer)
        elif isinstance(node, AnyOf):
            found = next((f for b in node.branches if (f := visit(b, path, pointer))), None)
        elif isinstance(node, AllOf):
            found = next((f for p in node.parts if (f := visit(p, path, pointer))), None)
        else:
            found = None
        done.add(id(node))
        return found

    return visit(root, (), None)


def all_nodes(root: Node) -> Iterator[Node]:
    """Every node reachable from ``root``, each once."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, Ref):
            stack.append(node._bound())
        elif isinstance(node, AnyOf):
            stack.extend(node.branches)
        elif isinstance(node, AllOf):
            stack.extend(node.parts)
        elif isinstance(node, Shape):
            stack.extend(prop.node for prop in node.properties.values())
            stack.extend(n for n in (node.items, node.values) if n is not None)


def _may_be_array(node: Node) -> bool:
    return any(ARRAY in shape.kinds for shape in node.shapes())


def _kind_matches(shape: Shape, value: Any) -> bool:
    kinds = shape.kinds
    if value is None:
        return NULL in kinds
    if isinstance(value, bool):
        return BOOLEAN in kinds
    if isinstance(value, int):
        return INTEGER in kinds or NUMBER in kinds
    if isinstance(value, float):
        if NUMBER in kinds:
            return True
        return INTEGER in kinds and shape.integral_floats and math.isfinite(value) and value.is_integer()
    if isinstance(value, str):
        # Avro's JSON encoding carries bytes and fixed as strings
        return STRING in kinds or BYTES in kinds
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES in kinds
    if isinstance(value, (Mapping, BaseModel)):
        return OBJECT in kinds
    if isinstance(value, (list, tuple)):
        return ARRAY in kinds
    if shape.logical in LOGICAL_CLASSES:
        return isinstance(value, LOGICAL_CLASSES[shape.logical])
    if isinstance(value, decimal.Decimal):
        return NUMBER in kinds or (INTEGER in kinds and value == value.to_integral_value())
    return kinds >= ALL_KINDS


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema defines it: ``1 == 1.0``, but ``True != 1``; containers deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
        return False
    return type(a) is type(b) and bool(a == b)


def _unique(items: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe_shallow(node: Node) -> str:
    if isinstance(node, Shape):
        if node.enum is not None or (node.name and OBJECT in node.kinds):
            return node.describe()
        if node.kinds == ALL_KINDS:
            return "any"
        return " | ".join(sorted(node.kinds))
    return "..."
