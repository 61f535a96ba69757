"""A bare Avro body, read and written with fastavro's parsed schemas.

fastavro is given parsed schemas only (an unparsed one is re-parsed on every message) and no reader
schema when the reader is the writer (a reader equal to but not identical with the writer triggers a
deep comparison per message).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sized
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError

from syscontract.errors import DecodeError

__all__ = [
    "MAX_COLLECTION",
    "MAX_DEPTH",
    "IncompatibleWriter",
    "TooDeep",
    "check_bounds",
    "decode",
    "encode",
    "named",
    "recursive",
    "zero_width",
]


class IncompatibleWriter(Exception):
    """The reader schema cannot read what the writer schema wrote."""


def decode(data: bytes, offset: int, writer: Any, reader: Any = None, *, record_names: bool = False) -> Any:
    """Read one datum from ``data[offset:]``; every byte must belong to it. ``record_names``: a
    record read through a union comes as ``(name, record)``, so the branch written is known."""
    stream = io.BytesIO(data)
    stream.seek(offset)
    try:
        value = fastavro.schemaless_reader(stream, writer, reader, return_record_name=record_names)
    except SchemaResolutionError as exc:
        raise IncompatibleWriter(str(exc)) from exc
    except Exception as exc:  # EOFError, ValueError, UnicodeDecodeError, IndexError: a corrupt body
        raise DecodeError(
            f"Avro body cannot be read with the writer schema ({type(exc).__name__}: {exc})",
            reason="bad-avro",
            payload=data,
        ) from exc
    left = len(data) - stream.tell()
    if left:
        raise DecodeError(
            f"{left} bytes remain after the Avro datum: the body does not match the writer schema",
            reason="bad-avro",
            payload=data,
        )
    return value


class TooDeep(ValueError):
    """A payload of a recursive schema nested deeper than :data:`MAX_DEPTH` levels."""


def encode(payload: Any, schema: Any) -> bytes:
    """``payload`` as an Avro body written with ``schema`` (fastavro's parsed form). Where the schema
    is recursive, a payload nested past :data:`MAX_DEPTH` is :class:`TooDeep`, before fastavro's C
    writer recurses into it (it crashes the process at some thousands of levels) and after it (the
    body must be one that readers, bounded the same way, accept)."""
    deep = _recursive(schema)
    if deep:
        _shallow_enough(payload)
    stream = io.BytesIO()
    fastavro.schemaless_writer(stream, schema, payload)
    body = stream.getvalue()
    if deep:
        try:
            check_bounds(body, 0, schema)
        except DecodeError as exc:
            raise TooDeep(exc.detail) from None
    return body


_RECURSIVE: dict[int, tuple[Any, bool]] = {}
"""``recursive(schema)`` by the schema's identity (parsed schemas are dicts, not hashable), the schema
kept alive beside its answer so that its id is not reused."""


def _recursive(schema: Any) -> bool:
    known = _RECURSIVE.get(id(schema))
    if known is None or known[0] is not schema:
        if len(_RECURSIVE) >= 1024:
            _RECURSIVE.clear()
        known = _RECURSIVE[id(schema)] = (schema, recursive(schema))
    return known[1]


_TEXT = (str, bytes, bytearray, memoryview)


def _shallow_enough(payload: Any) -> None:
    """Refuse a payload whose mappings and collections nest past :data:`MAX_DEPTH`, counted without
    recursion (every level of them is at least one level of the body)."""
    todo = [(payload, 0)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise TooDeep(f"the payload nests more than {MAX_DEPTH} levels deep (its schema is recursive)")
        if isinstance(value, Mapping):  # fastavro writes any mapping as a record or a map
            todo.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, Sized) and isinstance(value, Iterable) and not isinstance(value, _TEXT):
            todo.extend((item, depth + 1) for item in value)  # and any sized iterable as an array


MAX_COLLECTION = 1_000_000
"""Items one array or map of a message may declare when its items can take no bytes at all (arrays
of ``null``, of empty records): fastavro would build every one of them, so a 5-byte message could
ask for billions. Collections whose items take bytes are bounded by the message's own size."""


def zero_width(schema: Any) -> bool:
    """Whether some array or map in ``schema`` (fastavro's parsed form) has items that may be encoded
    in zero bytes: only then can a small message declare a huge collection."""
    types = named(schema)

    def empty(node: Any, seen: frozenset[str]) -> bool:
        if isinstance(node, str):
            if node == "null":
                return True
            if node in types and node not in seen:
                return empty(types[node], seen | {node})
            return False
        if isinstance(node, list):
            return False  # a union always writes its branch index
        kind = node.get("type")
        if kind in ("record", "error"):
            return all(empty(f["type"], seen | {node["name"]}) for f in node["fields"])
        if kind == "fixed":
            return int(node.get("size", 1)) == 0
        return isinstance(kind, (dict, list, str)) and kind not in _SIZED and empty(kind, seen)

    def walk(node: Any, seen: frozenset[str]) -> bool:
        if isinstance(node, str):
            return node in types and node not in seen and walk(types[node], seen | {node})
        if isinstance(node, list):
            return any(walk(branch, seen) for branch in node)
        kind = node.get("type")
        if kind in ("record", "error"):
            return any(walk(f["type"], seen | {node["name"]}) for f in node["fields"])
        if kind == "array":
            return empty(node["items"], seen) or walk(node["items"], seen)
        if kind == "map":
            return walk(node["values"], seen)  # a map entry always has a key: at least one byte
        return isinstance(kind, (dict, list)) and walk(kind, seen)

    return walk(schema, frozenset())


_SIZED = {"boolean", "int", "long", "float", "double", "bytes", "string", "enum", "array", "map"}


MAX_DEPTH = 1024
"""Levels of records, unions, arrays and maps one message may nest, where its writer schema is
recursive (a named type inside itself: a tree, a linked list). fastavro's C reader recurses without
a bound: 10 KB of a linked list (a record and a union per node, two levels) crashed the process with
a segmentation fault, at about 4,500 nodes on an 8 MiB stack (some 0.9 KiB of C stack per level);
1,024 levels take about 1 MiB. Without recursion a schema's own nesting bounds the message's."""


def named(schema: Any) -> dict[str, Any]:
    """The named types ``schema`` (fastavro's parsed form) defines or was given as references, by full
    name, whether its root is a record or a union."""
    if isinstance(schema, dict):
        return dict(schema.get("__named_schemas", {}))
    table: dict[str, Any] = {}
    for branch in schema if isinstance(schema, list) else ():
        if isinstance(branch, dict):
            table.update(branch.get("__named_schemas", {}))
    return table


def recursive(schema: Any) -> bool:
    """Whether a named type of ``schema`` (fastavro's parsed form) is used inside its own definition,
    directly or through others, wherever it is defined (inline, or in a schema reference)."""
    table = named(schema)

    def uses(node: Any, found: set[str]) -> set[str]:
        """The named types ``node`` uses, without entering their definitions."""
        if isinstance(node, str):
            if node in table:
                found.add(node)
        elif isinstance(node, list):
            for branch in node:
                uses(branch, found)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "error", "enum", "fixed") and "name" in node:
                found.add(node["name"])
            elif kind == "array":
                uses(node["items"], found)
            elif kind == "map":
                uses(node["values"], found)
            elif isinstance(kind, (dict, list, str)):
                uses(kind, found)
        return found

    def inside(name: str) -> set[str]:
        definition = table.get(name)
        found: set[str] = set()
        if isinstance(definition, dict) and definition.get("type") in ("record", "error"):
            for field in definition["fields"]:
                uses(field["type"], found)
        return found

    edges = {name: inside(name) for name in table}
    done: set[str] = set()
    for start in uses(schema, set()):  # a depth-first search for a cycle, without recursion
        path = [start]
        todo = [iter(edges.get(start, ()))]
        while todo:
            following = next(todo[-1], None)
            if following is None:
                done.add(path.pop())
                todo.pop()
            elif following in path:
                return True
            elif following not in done:
                path.append(following)
                todo.append(iter(edges.get(following, ())))
    return False


class _Items:
    """An array or map being walked: the schema of its items, what is left of the current block."""

    __slots__ = ("items", "kind", "left", "total")

    def __init__(self, kind: str, items: Any) -> None:
        self.kind = kind
        self.items = items
        self.left = 0
        self.total = 0


def check_bounds(data: bytes, offset: int, schema: Any) -> None:
    """Walk the body the way a reader would, without building anything and without recursion, and
    refuse an array or map that declares more than :data:`MAX_COLLECTION` items (reason
    ``too-large``) or values nested deeper than :data:`MAX_DEPTH` levels (reason ``too-deep``),
    before fastavro reads it. Only needed where :func:`zero_width` or :func:`recursive` is true."""
    types = named(schema)
    position = offset
    # items that take bytes are bounded by the body's size; beyond one item per byte, at most
    # MAX_COLLECTION items in all may take none (per message: twenty arrays of a million nulls each
    # fit in 87 bytes)
    budget = MAX_COLLECTION + len(data) - offset
    items = 0

    def varint() -> int:
        nonlocal position
        shift = result = 0
        while True:
            if position >= len(data) or shift > 63:
                raise DecodeError("Avro body ends inside a number", reason="bad-avro", payload=data)
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7

    def skip(size: int) -> None:
        nonlocal position
        if size < 0 or position + size > len(data):
            raise DecodeError("Avro body ends inside a value", reason="bad-avro", payload=data)
        position += size

    todo: list[tuple[Any, int]] = [(schema, 0)]  # (a schema node or a collection being walked, depth)
    while todo:
        node, depth = todo.pop()
        if type(node) is _Items:
            if not node.left:
                count = varint()
                if count == 0:
                    continue
                if count < 0:
                    count = -count
                    varint()  # the block's size in bytes
                node.total += count
                items += count
                if node.total > MAX_COLLECTION or items > budget:
                    raise DecodeError(
                        f"an Avro {node.kind} declares more than {MAX_COLLECTION} items (or the body more than "
                        f"{MAX_COLLECTION} beyond one per byte)",
                        reason="too-large",
                        payload=data,
                    )
                node.left = count
            node.left -= 1
            todo.append((node, depth))
            if node.kind == "map":
                skip(varint())  # the key
            todo.append((node.items, depth + 1))
            continue
        while isinstance(node, str) and node in types:
            node = types[node]
        if isinstance(node, str):
            if node == "boolean":
                skip(1)
            elif node in ("int", "long"):
                varint()
            elif node == "float":
                skip(4)
            elif node == "double":
                skip(8)
            elif node != "null":
                skip(varint())  # bytes, string
            continue
        if depth >= MAX_DEPTH:
            raise DecodeError(
                f"the Avro body nests values more than {MAX_DEPTH} levels deep (its schema is recursive)",
                reason="too-deep",
                payload=data,
            )
        if isinstance(node, list):
            index = varint()
            if not 0 <= index < len(node):
                raise DecodeError(f"Avro union index {index} out of range", reason="bad-avro", payload=data)
            todo.append((node[index], depth + 1))
            continue
        kind = node["type"]
        if kind in ("record", "error"):
            todo.extend((field["type"], depth + 1) for field in reversed(node["fields"]))
        elif kind == "enum":
            varint()
        elif kind == "fixed":
            skip(int(node["size"]))
        elif kind in ("array", "map"):
            todo.append((_Items(kind, node["items"] if kind == "array" else node["values"]), depth))
        else:
            todo.append((kind, depth))
