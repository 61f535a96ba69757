"""Avro schemas (``.avsc``) into the normalized contract view.

fastavro parses and validates the schema (names, defaults, unions); this module then walks fastavro's
parsed form, where every named type has its full name, into the type graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import fastavro

from syscontract._types import ARRAY, BOOLEAN, BYTES, INTEGER, NULL, NUMBER, OBJECT, STRING, AnyOf, Node, Prop, Shape
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError

__all__ = ["parse"]

_PRIMITIVES = {
    "null": NULL,
    "boolean": BOOLEAN,
    "int": INTEGER,
    "long": INTEGER,
    "float": NUMBER,
    "double": NUMBER,
    "bytes": BYTES,
    "string": STRING,
}


def parse(ref: ContractRef, schema: Any, *, references: Iterable[Any] = (), **options: Any) -> Contract:
    """Parse an Avro schema (a JSON value, or its text) into a :class:`Contract`.

    ``references``: schemas that define named types this one uses by name (a Schema Registry's schema
    references), in dependency order. The contract's ``schema`` then has them inlined."""
    schema = _json(ref, schema)
    named: dict[str, Any] = {}
    try:
        for reference in references:
            fastavro.parse_schema(_json(ref, reference), named_schemas=named)
        referenced = {name: _plain(value) for name, value in named.items()}
        parsed = fastavro.parse_schema(schema, named_schemas=named)
        # self-contained: a referenced type is defined where it is first used, then named (a type
        # defined twice, as fastavro's expand=True would write a type used twice, is not a schema)
        plain = _inline_once(_plain(parsed), referenced, set()) if referenced else _plain(parsed)
    except Exception as exc:  # fastavro raises SchemaParseException, UnknownType, ValueError, TypeError...
        located = _locate(schema, set(named))
        if located is not None:  # fastavro's message names no field: say where
            path, detail = located
            where = f"field {path!r}: " if path else ""
            raise ContractDeclarationError(
                f"invalid Avro schema: {where}{detail}", contract=str(ref), field=path or None, reason="bad-schema"
            ) from exc
        raise ContractDeclarationError(f"invalid Avro schema: {exc}", contract=str(ref), reason="bad-schema") from exc
    enums: list[tuple[str, str]] = []
    _problems(schema, "", None, None, enums, 0)  # an enum default fastavro let through (older releases)
    if enums:
        path, detail = enums[0]
        where = f"field {path!r}: " if path else ""
        raise ContractDeclarationError(
            f"invalid Avro schema: {where}{detail}", contract=str(ref), field=path or None, reason="bad-schema"
        )
    table = parsed.get("__named_schemas", named) if isinstance(parsed, dict) else named
    root = _Walker(table).node(parsed)
    options.setdefault("doc", parsed.get("doc") if isinstance(parsed, dict) else None)
    return Contract(ref, "avro", root, schema=plain, native=parsed, **options)


def _short_name(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _locate(schema: Any, referenced: set[str]) -> tuple[str, str] | None:
    """The first field of a raw Avro schema with a problem fastavro's message does not place (a type
    name nothing defines, an enum default that is not one of its symbols), as (path, detail); None
    when there is none of these (fastavro's message stands)."""
    defined = set(referenced)
    _defined_names(schema, None, defined, 0)
    found: list[tuple[str, str]] = []
    _problems(schema, "", None, defined, found, 0)
    return found[0] if found else None


def _full_name(entry: Mapping[str, Any], namespace: str | None) -> tuple[str, str | None]:
    name = str(entry.get("name", ""))
    if "." in name:
        return name, name.rsplit(".", 1)[0]
    space = entry.get("namespace", namespace)
    space = space if isinstance(space, str) and space else None
    return (f"{space}.{name}" if space else name), space


def _defined_names(schema: Any, namespace: str | None, defined: set[str], depth: int) -> None:
    if depth > 200:
        return
    if isinstance(schema, list):
        for branch in schema:
            _defined_names(branch, namespace, defined, depth + 1)
    elif isinstance(schema, Mapping):
        kind = schema.get("type")
        if kind in _NAMED_KINDS and isinstance(schema.get("name"), str):
            full, namespace = _full_name(schema, namespace)
            defined.add(full)
        if kind in ("record", "error") and isinstance(schema.get("fields"), list):
            for entry in schema["fields"]:
                if isinstance(entry, Mapping):
                    _defined_names(entry.get("type"), namespace, defined, depth + 1)
        for key in ("items", "values"):
            if key in schema:
                _defined_names(schema[key], namespace, defined, depth + 1)
        if isinstance(kind, (Mapping, list)):
            _defined_names(kind, namespace, defined, depth + 1)


def _problems(
    schema: Any,
    path: str,
    namespace: str | None,
    defined: set[str] | None,
    found: list[tuple[str, str]],
    depth: int,
    enums: dict[str, list[Any]] | None = None,
) -> None:
    """Appends the first problem under ``schema`` to ``found``; ``defined`` None: enum defaults only
    (an enum's own, and a field's whose type is an enum: ``enums`` collects the symbols of the enums
    defined so far by full name, as a later field may use one by name)."""
    if found or depth > 200:
        return
    enums = {} if enums is None else enums
    where = path
    if isinstance(schema, str):
        # a name resolves as fastavro (and the spec) resolve it: a short name in the enclosing namespace only
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        if defined is not None and schema not in _PRIMITIVES and full not in defined:
            elsewhere = sorted(d for d in defined if _short_name(d) == _short_name(schema) and d != full)
            if elsewhere:
                why = f"read as {full!r}; defined: {', '.join(elsewhere)}: use its full name"
            else:
                why = f"not a primitive ({', '.join(_PRIMITIVES)}) nor a named type defined here"
            found.append((where, f"unknown type {schema!r} ({why})"))
    elif isinstance(schema, list):
        for branch in schema:
            _problems(branch, path, namespace, defined, found, depth + 1, enums)
    elif isinstance(schema, Mapping):
        kind = schema.get("type")
        if kind in _NAMED_KINDS and isinstance(schema.get("name"), str):
            full, namespace = _full_name(schema, namespace)
            if kind == "enum" and isinstance(schema.get("symbols"), list):
                enums[full] = schema["symbols"]
        if kind == "enum":
            symbols = schema.get("symbols")
            if "default" in schema and isinstance(symbols, list) and schema["default"] not in symbols:
                found.append(
                    (
                        where,
                        f"enum {schema.get('name')!r} has default {schema['default']!r}, which is not one of its "
                        f"symbols ({', '.join(map(str, symbols))})",
                    )
                )
        elif kind in ("record", "error") and isinstance(schema.get("fields"), list):
            for entry in schema["fields"]:
                if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                    inner = f"{path}.{entry['name']}" if path else entry["name"]
                    _problems(entry.get("type"), inner, namespace, defined, found, depth + 1, enums)
                    if not found and "default" in entry:
                        _enum_default(entry, inner, namespace, enums, found)
        elif kind == "array" and "items" in schema:
            _problems(schema["items"], f"{path}[]" if path else "[]", namespace, defined, found, depth + 1, enums)
        elif kind == "map" and "values" in schema:
            _problems(schema["values"], path, namespace, defined, found, depth + 1, enums)
        elif isinstance(kind, (str, Mapping, list)) and kind not in _NAMED_KINDS:
            _problems(kind, path, namespace, defined, found, depth + 1, enums)


def _enum_default(
    entry: Mapping[str, Any], path: str, namespace: str | None, enums: dict[str, Any], found: list[tuple[str, str]]
) -> None:
    """A field's default that none of its type's branches can hold, where those are enums (defined in
    place or by name) and null: what a reader would fill is no symbol. A branch of another type may
    hold it (fastavro, like Avro 1.12, accepts a union default that matches any branch): fastavro
    judges those."""
    default = entry["default"]
    declared = entry.get("type")
    missed: list[tuple[str, list[Any]]] = []
    for branch in declared if isinstance(declared, list) else [declared]:
        kind = branch
        for _ in range(8):  # {"type": {"type": ...}} nests
            if isinstance(kind, Mapping) and kind.get("type") != "enum":
                kind = kind.get("type")
            else:
                break
        if isinstance(kind, Mapping):
            name, symbols = kind.get("name"), kind.get("symbols")
        elif isinstance(kind, str):
            name = kind
            symbols = enums.get(kind if "." in kind or not namespace else f"{namespace}.{kind}", enums.get(kind))
            if symbols is None:
                if kind != "null" or default is None:
                    return  # another type, or null holding null
                continue
        else:
            return
        if not isinstance(symbols, list) or default in symbols:
            return
        missed.append((_short_name(str(name)), symbols))
    if missed:
        name, symbols = missed[0]
        found.append(
            (path, f"default {default!r} is not one of enum {name!r}'s symbols ({', '.join(map(str, symbols))})")
        )


def _inline_once(schema: Any, referenced: dict[str, Any], defined: set[str]) -> Any:
    """``schema`` with each type of ``referenced`` (by full name) defined at its first use."""
    if isinstance(schema, str):
        if schema in referenced and schema not in defined:
            defined.add(schema)
            return _inline_once(referenced[schema], referenced, defined)
        return schema
    if isinstance(schema, list):
        return [_inline_once(branch, referenced, defined) for branch in schema]
    if isinstance(schema, dict):
        if schema.get("type") in _NAMED_KINDS and "name" in schema:
            defined.add(schema["name"])
        inlined = dict(schema)
        for key in ("type", "items", "values"):
            if key in inlined and not (key == "type" and isinstance(inlined[key], str) and inlined[key] in _PRIMITIVES):
                inlined[key] = _inline_once(inlined[key], referenced, defined)
        if "fields" in inlined:
            inlined["fields"] = [
                {**entry, "type": _inline_once(entry["type"], referenced, defined)} for entry in inlined["fields"]
            ]
        return inlined
    return schema


def _json(ref: ContractRef, schema: Any) -> Any:
    if isinstance(schema, str) and schema.strip()[:1] in ("{", "[", '"'):
        try:
            return json.loads(schema)
        except (ValueError, RecursionError) as exc:
            raise ContractDeclarationError(
                f"Avro schema is not valid JSON: {exc}", contract=str(ref), reason="bad-schema"
            ) from exc
    return schema


def _plain(schema: Any) -> Any:
    """fastavro's parsed form without its private bookkeeping keys."""
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


class _Walker:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.memo: dict[str, Shape] = {}

    def node(self, schema: Any) -> Node:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return Shape(frozenset({_PRIMITIVES[schema]}))
            if schema in self.memo:
                return self.memo[schema]
            return self.node(self.named[schema])
        if isinstance(schema, list):
            return AnyOf([self.node(branch) for branch in schema])
        kind = schema["type"]
        if not isinstance(kind, str):
            return self.node(kind)
        logical = schema.get("logicalType")
        if kind in ("record", "error"):
            name = schema["name"]
            shape = Shape(frozenset({OBJECT}), name=name.rsplit(".", 1)[-1])
            self.memo[name] = shape  # before the fields: a record may refer to itself
            for field in schema["fields"]:
                shape.properties[field["name"]] = Prop(
                    self.node(field["type"]),
                    required="default" not in field,
                    has_default="default" in field,
                    default=field.get("default"),
                    doc=field.get("doc"),
                )
            return shape
        if kind == "enum":
            shape = Shape(frozenset({STRING}), name=schema["name"].rsplit(".", 1)[-1], enum=tuple(schema["symbols"]))
            self.memo[schema["name"]] = shape
            return shape
        if kind == "fixed":
            shape = Shape(frozenset({BYTES}), name=schema["name"].rsplit(".", 1)[-1], logical=logical)
            self.memo[schema["name"]] = shape
            return shape
        if kind == "array":
            return Shape(frozenset({ARRAY}), items=self.node(schema["items"]))
        if kind == "map":
            return Shape(frozenset({OBJECT}), values=self.node(schema["values"]))
        if kind in _PRIMITIVES:
            return Shape(frozenset({_PRIMITIVES[kind]}), logical=logical)
        return self.node(kind)  # a named type used as {"type": "com.acme.Name"}


_NAMED_KINDS = ("record", "error", "enum", "fixed")


def named_types(schema: Any, *, aliases: bool = False) -> dict[str, dict[str, Any]]:
    """Every named type defined in a plain JSON Avro schema (parsed form: defined once, then referred
    to by full name), by full name; with ``aliases``, by each of its aliases too (for resolution:
    a reader type named by a writer type's alias)."""
    found: dict[str, dict[str, Any]] = {}
    _collect_named(schema, found, aliases)
    return found


def _collect_named(schema: Any, found: dict[str, dict[str, Any]], aliases: bool) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _collect_named(branch, found, aliases)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in _NAMED_KINDS and "name" in schema:
            if schema["name"] in found:
                return
            found[schema["name"]] = schema
            for alias in schema.get("aliases", ()) if aliases else ():
                found.setdefault(alias, schema)
        if kind in ("record", "error"):
            for entry in schema.get("fields", ()):
                _collect_named(entry["type"], found, aliases)
        elif kind == "array":
            _collect_named(schema["items"], found, aliases)
        elif kind == "map":
            _collect_named(schema["values"], found, aliases)
        elif isinstance(kind, (dict, list)):
            _collect_named(kind, found, aliases)
