"""JSON Schema documents (``.schema.json``, draft 7 and 2020-12) into the normalized contract view.

Every keyword is accounted for: structural keywords build the type graph, annotations are kept as
documentation, validation keywords are accepted (they constrain values, not which fields exist) and
their subschemas are parsed too. Any other keyword, a remote ``$ref`` or an unknown ``$schema`` is
refused at load with an error that names it: nothing in a contract is silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from syscontract._types import (
    ALL_KINDS,
    ARRAY,
    BOOLEAN,
    INTEGER,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    AllOf,
    AnyOf,
    Node,
    Prop,
    Ref,
    Shape,
    direct_cycle,
    json_equal,
)
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError

__all__ = ["DIALECTS", "parse"]

DIALECTS = {
    "http://json-schema.org/draft-07/schema": "draft7",
    "https://json-schema.org/draft/2020-12/schema": "draft2020-12",
}

_TYPES = {
    "null": NULL,
    "boolean": BOOLEAN,
    "integer": INTEGER,
    "number": NUMBER,
    "string": STRING,
    "object": OBJECT,
    "array": ARRAY,
}

_STRUCTURE = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "patternProperties", "items",
        "prefixItems", "additionalItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
        "definitions", "$defs",
    }
)  # fmt: skip
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated"}
)
_VALUE_KEYWORDS = frozenset(
    {
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
        "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "minContains", "maxContains",
        "minProperties", "maxProperties", "dependentRequired", "format", "contentEncoding",
        "contentMediaType",
    }
)  # fmt: skip
_SUBSCHEMA_KEYWORDS = frozenset({"not", "if", "then", "else", "contains", "propertyNames"})
_KNOWN = _STRUCTURE | _ANNOTATIONS | _VALUE_KEYWORDS | _SUBSCHEMA_KEYWORDS | {"dependencies"}


def parse(
    ref: ContractRef,
    schema: Mapping[str, Any] | bool | str,
    *,
    annotations_only: bool = False,
    required_means_no_default: bool = False,
    **options: Any,
) -> Contract:
    """Parse a JSON Schema document (a JSON value, or its text) into a :class:`Contract`.

    ``annotations_only`` treats unknown keywords as annotations instead of refusing them (for schemas
    generated from a model that is itself the source of truth); ``required_means_no_default`` marks
    every optional property as defaulted (pydantic: a field is optional exactly when it has a default).
    """
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except (ValueError, RecursionError) as exc:
            raise ContractDeclarationError(
                f"JSON Schema is not valid JSON: {exc}", contract=str(ref), reason="bad-schema"
            ) from exc
    if not isinstance(schema, (Mapping, bool)):
        raise ContractDeclarationError(
            f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}",
            contract=str(ref),
            reason="bad-schema",
        )
    parser = _Parser(ref, schema, strict=not annotations_only, defaulted_when_optional=required_means_no_default)
    try:
        root = parser.parse()
    except RecursionError as exc:
        raise ContractDeclarationError(
            "the schema is nested too deeply to be a contract", contract=str(ref), reason="bad-schema"
        ) from exc
    if isinstance(schema, Mapping):
        options.setdefault("doc", schema.get("description") or schema.get("title"))
    options.setdefault("format", "jsonschema")
    return Contract(ref, options.pop("format"), root, schema=schema, **options)


class _Parser:
    def __init__(
        self, ref: ContractRef, document: Mapping[str, Any] | bool, *, strict: bool, defaulted_when_optional: bool
    ) -> None:
        self.ref = ref
        self.document = document
        self.strict = strict
        self.defaulted_when_optional = defaulted_when_optional
        self.refs: dict[str, Ref] = {}

    def fail(self, pointer: str, detail: str) -> ContractDeclarationError:
        return ContractDeclarationError(
            f"unsupported JSON Schema at {pointer or '#'}: {detail}", contract=str(self.ref), reason="bad-schema"
        )

    def parse(self) -> Node:
        if isinstance(self.document, Mapping):
            dialect = self.document.get("$schema")
            if dialect is not None and str(dialect).rstrip("#") not in DIALECTS:
                raise self.fail(
                    "#/$schema",
                    f"dialect {dialect!r} is not supported (use draft-07 or 2020-12: {', '.join(DIALECTS)})",
                )
        root = self.node(self.document, "#")
        pending = list(self.refs.values())
        while pending:  # binding a reference may discover more references
            ref = pending.pop()
            if ref.target is None:
                ref.target = self.node(self.lookup(ref.pointer), ref.pointer)
                pending.extend(r for r in self.refs.values() if r.target is None and r not in pending)
        cycle = direct_cycle(root)
        if cycle is not None:
            raise self.fail(cycle, "the schema refers to itself without any property or item in between")
        return root

    def lookup(self, pointer: str) -> Any:
        target: Any = self.document
        for token in pointer[2:].split("/") if pointer != "#" else ():
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise self.fail(pointer, "$ref points to nothing in this document")
        return target

    def reference(self, target: Any, pointer: str) -> Ref:
        if not isinstance(target, str):
            raise self.fail(pointer, "$ref must be a string")
        if target != "#" and not target.startswith("#/"):
            raise self.fail(
                pointer,
                f"$ref {target!r} is not a local reference: only '#' and '#/...' pointers into this "
                "document (such as '#/$defs/Customer') are supported; remote references are refused",
            )
        if target not in self.refs:
            self.refs[target] = Ref(target)
        return self.refs[target]

    def node(self, schema: Any, pointer: str) -> Node:
        if schema is True:
            return Shape(ALL_KINDS, integral_floats=True)
        if schema is False:
            return Shape(frozenset(), integral_floats=True)
        if not isinstance(schema, Mapping):
            raise self.fail(pointer, f"a schema must be an object or a boolean, not {type(schema).__name__}")
        unknown = [key for key in schema if key not in _KNOWN]
        if unknown and self.strict:
            raise self.fail(
                pointer,
                f"keyword {unknown[0]!r} is not understood by syscontract; refusing the contract rather "
                "than ignoring part of it",
            )
        if "$id" in schema and pointer != "#":
            raise self.fail(pointer, "'$id' below the root changes how references resolve and is not supported")
        for keyword in ("definitions", "$defs"):
            for name, sub in self.mapping(schema, keyword, pointer).items():
                # parsed for their keywords even when unused; references bind to them lazily
                self.node(sub, f"{pointer}/{keyword}/{name}")
        for keyword in _SUBSCHEMA_KEYWORDS & schema.keys():
            self.node(schema[keyword], f"{pointer}/{keyword}")
        for name, sub in self.mapping(schema, "dependencies", pointer).items():
            if not isinstance(sub, list):
                self.node(sub, f"{pointer}/dependencies/{name}")

        parts: list[Node] = []
        base = self.shape(schema, pointer)
        if base is not None:
            parts.append(base)
        if "$ref" in schema:
            parts.append(self.reference(schema["$ref"], f"{pointer}/$ref"))
        for index, sub in enumerate(self.array(schema, "allOf", pointer)):
            parts.append(self.node(sub, f"{pointer}/allOf/{index}"))
        for keyword in ("anyOf", "oneOf"):
            branches = self.array(schema, keyword, pointer)
            if branches:
                parts.append(AnyOf([self.node(b, f"{pointer}/{keyword}/{i}") for i, b in enumerate(branches)]))
        if not parts:
            return Shape(ALL_KINDS, integral_floats=True)
        return parts[0] if len(parts) == 1 else AllOf(parts)

    def shape(self, schema: Mapping[str, Any], pointer: str) -> Shape | None:
        """The schema's own type, properties and items; None when it says nothing about them."""
        kinds = self.kinds(schema, pointer)
        enum: tuple[Any, ...] | None = None
        if "enum" in schema:
            if not isinstance(schema["enum"], list):
                raise self.fail(pointer, "'enum' must be an array")
            enum = tuple(schema["enum"])
        if "const" in schema:
            const = schema["const"]
            enum = (const,) if enum is None else tuple(v for v in enum if json_equal(v, const))

        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise self.fail(pointer, "'required' must be an array of strings")
        properties: dict[str, Prop] = {}
        for name, sub in self.mapping(schema, "properties", pointer).items():
            properties[name] = Prop(
                self.node(sub, f"{pointer}/properties/{name}"),
                required=name in required,
                has_default=(isinstance(sub, Mapping) and "default" in sub)
                or (self.defaulted_when_optional and name not in required),
                default=sub.get("default") if isinstance(sub, Mapping) else None,
                doc=sub.get("description") if isinstance(sub, Mapping) else None,
            )
        for name in required:
            properties.setdefault(name, Prop(Shape(ALL_KINDS, integral_floats=True), required=True))

        values = [
            self.node(sub, f"{pointer}/patternProperties/{pattern}")
            for pattern, sub in self.mapping(schema, "patternProperties", pointer).items()
        ]
        if "additionalProperties" in schema:
            values.append(self.node(schema["additionalProperties"], f"{pointer}/additionalProperties"))

        items = self.items(schema, pointer)
        says_something = kinds is not None or enum is not None or properties or values or items is not None
        if not says_something:
            return None
        if kinds is None:
            kinds = ALL_KINDS
        if ARRAY in kinds and items is None:
            items = Shape(ALL_KINDS, integral_floats=True)
        return Shape(
            kinds,
            name=schema.get("title") if OBJECT in kinds and properties else None,
            properties=properties,
            items=items,
            values=(values[0] if len(values) == 1 else AnyOf(values)) if values else None,
            enum=enum,
            integral_floats=True,
        )

    def kinds(self, schema: Mapping[str, Any], pointer: str) -> frozenset[str] | None:
        if "type" not in schema:
            return None
        declared = schema["type"]
        names = declared if isinstance(declared, list) else [declared]
        kinds = set()
        for name in names:
            if not isinstance(name, str) or name not in _TYPES:
                raise self.fail(f"{pointer}/type", f"unknown type {name!r} (expected one of {', '.join(_TYPES)})")
            kinds.add(_TYPES[name])
        return frozenset(kinds)

    def items(self, schema: Mapping[str, Any], pointer: str) -> Node | None:
        positional: list[Node] = []
        rest: Node | None = None
        if "prefixItems" in schema:
            prefix = self.array(schema, "prefixItems", pointer)
            positional += [self.node(s, f"{pointer}/prefixItems/{i}") for i, s in enumerate(prefix)]
        items = schema.get("items")
        if isinstance(items, list):  # draft 7 tuple form
            positional += [self.node(s, f"{pointer}/items/{i}") for i, s in enumerate(items)]
            if "additionalItems" in schema:
                rest = self.node(schema["additionalItems"], f"{pointer}/additionalItems")
        elif "items" in schema:
            rest = self.node(items, f"{pointer}/items")
        elif "additionalItems" in schema:
            self.node(schema["additionalItems"], f"{pointer}/additionalItems")
        if not positional:
            return rest
        if rest is None and "items" not in schema and "additionalItems" not in schema:
            rest = Shape(ALL_KINDS, integral_floats=True)  # items past the tuple are unconstrained
        return AnyOf(positional + ([rest] if rest is not None else []))

    def mapping(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> Mapping[str, Any]:
        value = schema.get(keyword, {})
        if not isinstance(value, Mapping):
            raise self.fail(f"{pointer}/{keyword}", f"'{keyword}' must be an object")
        return value

    def array(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> list[Any]:
        value = schema.get(keyword, [])
        if not isinstance(value, list):
            raise self.fail(f"{pointer}/{keyword}", f"'{keyword}' must be an array")
        return value
