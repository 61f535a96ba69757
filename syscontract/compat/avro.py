"""Avro schema resolution: can a reader schema read everything a writer schema writes?

The rules are the Avro specification's ("Schema Resolution"), checked on the schemas alone:

- primitives match themselves; the writer's type may be *promoted*: ``int`` to ``long``, ``float`` or
  ``double``; ``long`` to ``float`` or ``double``; ``float`` to ``double``; ``string`` to ``bytes`` and
  ``bytes`` to ``string``;
- named types (records, enums, fixed) match when the full names are equal, the unqualified names are
  equal, or the writer's name is one of the reader's aliases (aliases are qualified with the reader
  type's namespace);
- records: every reader field is found in the writer by its name or one of its aliases and can read
  the writer field's type, or has a default; writer fields the reader lacks are skipped;
- enums: every writer symbol is a reader symbol, unless the reader enum has a default;
- fixed: the sizes are equal; arrays compare items, maps compare values;
- a writer union is readable when every branch is; a reader union reads a writer type when some
  branch can (so union against union: every writer branch has a reader branch);
- logical types are resolved on their underlying types, as the specification says.

Recursive types terminate: a (reader name, writer name) pair met again while it is being compared is
assumed compatible, and is decided on the way out.

::

    >>> can_read("long", "int")
    True
    >>> [p.kind for p in problems("int", "long")]
    ['TYPE_MISMATCH']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import fastavro

from syscontract.compat._model import (
    FIXED_SIZE_MISMATCH,
    MISSING_ENUM_SYMBOLS,
    MISSING_UNION_BRANCH,
    NAME_MISMATCH,
    READER_FIELD_MISSING_DEFAULT_VALUE,
    TYPE_MISMATCH,
    Memo,
    Outcome,
    Problem,
    Segments,
    render,
)
from syscontract.contract import Contract
from syscontract.errors import ContractDeclarationError
from syscontract.formats.avro import named_types

__all__ = ["PROMOTIONS", "can_read", "field_path", "load", "problems"]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})

PROMOTIONS: Mapping[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
"""For each writer type, the reader types it is promoted to."""


def can_read(reader: Any, writer: Any) -> bool:
    """Whether data written with ``writer`` can always be read with ``reader``.

    Each schema may be an Avro :class:`~syscontract.Contract`, a parsed schema (``"int"``, a dict, a
    list for a union) or its JSON text. An invalid schema raises :class:`ContractDeclarationError`.
    """
    return _Resolver(load(reader, "reader"), load(writer, "writer")).compare_root().ok


def problems(reader: Any, writer: Any) -> list[Problem]:
    """Every reason ``reader`` cannot read data written with ``writer``; empty when it can.

    Each :class:`Problem` has an Avro ``kind`` (``NAME_MISMATCH``, ``FIXED_SIZE_MISMATCH``,
    ``MISSING_ENUM_SYMBOLS``, ``READER_FIELD_MISSING_DEFAULT_VALUE``, ``TYPE_MISMATCH``,
    ``MISSING_UNION_BRANCH``), a ``path`` in the reader schema such as
    ``/fields/customer/fields/customerTier`` and a ``message`` in words.
    """
    outcome = _Resolver(load(reader, "reader"), load(writer, "writer")).compare_root()
    return render(outcome.found, field_path)


def load(schema: Any, role: str = "schema") -> Any:
    """A schema in fastavro's parsed form (validated, names fully qualified), without private keys.

    Accepts an Avro :class:`~syscontract.Contract`, a parsed schema, or its JSON text; a bare type name
    such as ``"int"`` or ``"string"`` is a schema too.
    """
    if isinstance(schema, Contract):
        if schema.format != "avro":
            raise ContractDeclarationError(
                f"the {role} is a {schema.format} contract, not Avro", contract=str(schema.ref), reason="bad-schema"
            )
        schema = schema.schema
    elif isinstance(schema, (str, bytes)):
        text = schema.decode() if isinstance(schema, bytes) else schema
        if text.strip()[:1] in ("{", "[", '"'):
            try:
                schema = json.loads(text)
            except ValueError as exc:
                raise ContractDeclarationError(
                    f"the {role} Avro schema is not valid JSON: {exc}", reason="bad-schema"
                ) from exc
        else:
            schema = text.strip()
    try:
        parsed = fastavro.parse_schema(schema, named_schemas={})
    except Exception as exc:  # fastavro raises SchemaParseException, UnknownType, ValueError, TypeError...
        raise ContractDeclarationError(f"the {role} is not a valid Avro schema: {exc}", reason="bad-schema") from exc
    return _plain(parsed)


def field_path(segs: Segments) -> str:
    """A problem's path segments as a syscontract field path: ``("fields", "items", "items",
    "fields", "sku")`` is ``items[].sku``."""
    names: list[str] = []
    index = 0
    while index < len(segs):
        step = segs[index]
        if step == "fields" and index + 1 < len(segs):
            names.append(segs[index + 1])
            index += 2
            continue
        if step == "items" and names:
            names[-1] += "[]"
        index += 1
    return ".".join(names)


def _plain(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _namespace(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


class _Side:
    """One schema, with its named types, so references by name resolve."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.named = named_types(schema)

    def resolve(self, schema: Any) -> Any:
        """The schema itself: named references followed, ``{"type": "int"}`` reduced to ``"int"``."""
        while True:
            if isinstance(schema, str):
                if schema in _PRIMITIVES:
                    return schema
                return self.named[schema]
            if isinstance(schema, dict):
                kind = schema.get("type")
                if kind in _PRIMITIVES:
                    return kind
                if isinstance(kind, (str, list, dict)) and kind not in _NAMED and kind not in ("array", "map"):
                    schema = kind
                    continue
            return schema


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    kind = schema["type"]
    return "record" if kind == "error" else str(kind)


def _describe(schema: Any) -> str:
    kind = _kind(schema)
    if kind == "union":
        return "union [" + ", ".join(_describe_brief(branch) for branch in schema) + "]"
    return _describe_brief(schema)


def _describe_brief(schema: Any) -> str:
    if isinstance(schema, str):
        return schema if schema in _PRIMITIVES else f"'{schema}'"
    if isinstance(schema, list):
        return "union"
    kind = _kind(schema)
    if kind in ("record", "enum"):
        return f"{kind} '{schema['name']}'"
    if kind == "fixed":
        return f"fixed '{schema['name']}' ({schema['size']} bytes)"
    return kind


class _Resolver:
    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader = _Side(reader)
        self.writer = _Side(writer)
        self.memo = Memo()

    def compare_root(self) -> Outcome:
        return self.compare(self.reader.schema, self.writer.schema)

    def compare(self, reader: Any, writer: Any) -> Outcome:
        reader = self.reader.resolve(reader)
        writer = self.writer.resolve(writer)
        if isinstance(writer, list):
            # every branch the writer may have written must be readable
            outcome = Outcome()
            for index, branch in enumerate(writer):
                outcome.add((str(index),), self.compare(reader, branch))
            return outcome
        if isinstance(reader, list):
            outcome = Outcome()
            for branch in reader:
                attempt = self.compare(branch, writer)
                if attempt.ok:
                    return attempt
                outcome.assumed |= attempt.assumed
            outcome.problem(
                MISSING_UNION_BRANCH,
                (),
                f"the reader's {_describe(reader)} has no branch that can read the writer's {_describe(writer)}",
            )
            return outcome
        return self.compare_single(reader, writer)

    def compare_single(self, reader: Any, writer: Any) -> Outcome:
        reader_kind, writer_kind = _kind(reader), _kind(writer)
        if reader_kind != writer_kind:
            outcome = Outcome()
            if reader_kind not in PROMOTIONS.get(writer_kind, ()):
                outcome.problem(
                    TYPE_MISMATCH,
                    (),
                    f"the reader expects {_describe(reader)} but the writer wrote {_describe(writer)}",
                )
            return outcome
        if reader_kind in _PRIMITIVES:
            return Outcome()
        if reader_kind == "array":
            outcome = Outcome()
            outcome.add(("items",), self.compare(reader["items"], writer["items"]))
            return outcome
        if reader_kind == "map":
            outcome = Outcome()
            outcome.add(("values",), self.compare(reader["values"], writer["values"]))
            return outcome
        if not _names_match(reader, writer):
            outcome = Outcome()
            outcome.problem(
                NAME_MISMATCH,
                ("name",),
                f"the reader's {reader_kind} is named '{reader['name']}' but the writer's is '{writer['name']}' "
                "(and no reader alias names it)",
            )
            return outcome
        if reader_kind == "enum":
            return _compare_enums(reader, writer)
        if reader_kind == "fixed":
            outcome = Outcome()
            if reader["size"] != writer["size"]:
                outcome.problem(
                    FIXED_SIZE_MISMATCH,
                    ("size",),
                    f"fixed '{reader['name']}' is {reader['size']} bytes in the reader but {writer['size']} "
                    "in the writer",
                )
            return outcome
        key = (reader["name"], writer["name"])
        return self.memo.run(key, lambda: self.compare_records(reader, writer))

    def compare_records(self, reader: Mapping[str, Any], writer: Mapping[str, Any]) -> Outcome:
        outcome = Outcome()
        written = {field["name"]: field for field in writer.get("fields", ())}
        for field in reader.get("fields", ()):
            name = field["name"]
            source = written.get(name)
            if source is None:
                source = next((written[a] for a in field.get("aliases", ()) if a in written), None)
            if source is not None:
                outcome.add(("fields", name), self.compare(field["type"], source["type"]))
            elif "default" not in field:
                outcome.problem(
                    READER_FIELD_MISSING_DEFAULT_VALUE,
                    ("fields", name),
                    f"the reader's field '{name}' has no default and the writer's record '{writer['name']}' "
                    "has no such field",
                )
        return outcome


def _names_match(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> bool:
    reader_name, writer_name = reader["name"], writer["name"]
    if reader_name == writer_name or _short(reader_name) == _short(writer_name):
        return True
    namespace = _namespace(reader_name)
    for alias in reader.get("aliases", ()):
        full = alias if "." in alias or not namespace else f"{namespace}.{alias}"
        if full == writer_name or _short(full) == _short(writer_name):
            return True
    return False


def _compare_enums(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> Outcome:
    outcome = Outcome()
    symbols = set(reader["symbols"])
    missing = [symbol for symbol in writer["symbols"] if symbol not in symbols]
    if missing and "default" not in reader:
        shown = ", ".join(missing)
        outcome.problem(
            MISSING_ENUM_SYMBOLS,
            ("symbols",),
            f"the writer's enum '{writer['name']}' has symbols the reader lacks ({shown}) and the reader enum "
            "has no default",
        )
    return outcome
