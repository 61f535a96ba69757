"""Messages built from a contract: :func:`minimal_payload` and :func:`project_payload`.

Both walk the contract's normalized type graph (:mod:`syscontract._types`: the ``Shape``, ``AnyOf``,
``AllOf`` and ``Ref`` nodes every format is parsed into), so one builder serves Avro, JSON Schema and
pydantic contracts: records, objects, arrays, maps, unions, enums and constants come from the graph,
and whether a value fits a type is the graph's own ``accepts``.

The graph says which fields exist and what types they have, not the keywords that only constrain a
value: JSON Schema ``format``, ``minLength``/``maxLength``, ``minimum``/``maximum``/``multipleOf``,
``minItems``/``maxItems``, the positions of ``prefixItems``, the names of ``patternProperties``, the
order of a ``type`` list; Avro ``fixed`` sizes, ``map`` and field ``aliases``. For those the format's
own parser builds the graph (:func:`_graph`), noting the schema object each shape came from, and the
builder reads those keywords at the one shape it stands on. It never walks a schema itself.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import BaseModel

from syscontract._types import (
    ALL_KINDS,
    ARRAY,
    BOOLEAN,
    BYTES,
    INTEGER,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    AllOf,
    AnyOf,
    Node,
    Ref,
    Shape,
)
from syscontract.contract import Contract, parse_path
from syscontract.errors import ContractDeclarationError
from syscontract.formats import avro as avro_format
from syscontract.formats import jsonschema as jsonschema_format
from syscontract.formats.avro import named_types

__all__ = ["has_field", "minimal_payload", "project_payload"]

_MISSING: Final[Any] = object()
_MAX_DEPTH: Final = 12  # recursive schemas: past this depth, prefer null, empty arrays and maps

_Include = dict[str, "_Include"]  # critical paths as a tree of names ("items[].sku" -> items -> sku)
_Sources = dict[int, Mapping[str, Any]]  # id(shape) -> the schema object the format's parser built it from


def _include(paths: Iterable[str]) -> _Include:
    tree: _Include = {}
    for path in paths:
        level = tree
        for name, _ in parse_path(path).steps:
            level = level.setdefault(name, {})
    return tree


def minimal_payload(contract: Contract, critical: Iterable[str] = ()) -> Any:
    """A small message that is valid for ``contract``, with every path of ``critical`` sent.

    Values by type: strings ``"x"`` (or a value of the string's ``format``), integers ``1``, numbers
    ``1.0``, booleans ``True``, enums their first symbol, ``const`` its value, arrays one element,
    maps ``{"k": value}``, records and objects recursively, unions their first non-null branch. An
    Avro record gets every field; a JSON Schema object its ``required`` properties plus those on a
    ``critical`` path. Avro logical types get their underlying value (``timestamp-millis`` an epoch
    in milliseconds, ``date`` days, ``uuid`` a UUID string, ``decimal`` a ``Decimal``). A pydantic
    contract is built from the model's JSON Schema, by alias.

    ::

        minimal_payload(registry.get("order.v3"))["customer"]["customerTier"]   # 'BASIC'
    """
    return project_payload(_MISSING, contract, critical)


def project_payload(payload: Any, contract: Contract, critical: Iterable[str] = ()) -> Any:
    """``payload`` as the producer of ``contract`` would send it: fields ``contract`` does not have
    are dropped, fields it requires that ``payload`` lacks are generated (as :func:`minimal_payload`
    does), and values that do not fit the field's type (an enum symbol the version does not know)
    are replaced by a generated one. ``critical`` paths are generated too when the version has them.

    ::

        stale = project_payload(order_v3_message, registry.get("order.v2"))   # no customerTier
    """
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", by_alias=True)
    include = _include(path for path in critical if has_field(contract, path))
    root, sources = _graph(contract)
    return _Builder(sources, avro=contract.format == "avro").value(root, payload, include, 0)


def has_field(contract: Contract, path: str) -> bool:
    try:
        contract.field(path)
    except ContractDeclarationError:
        return False
    return True


_UUID: Final = "00000000-0000-4000-8000-000000000001"

# Avro logical types: the value of the underlying type a writer takes
_LOGICAL: Final[dict[str, Any]] = {
    "uuid": _UUID,
    "date": 19_675,  # 2023-11-14, in days since the epoch
    "time-millis": 3_600_000,
    "time-micros": 3_600_000_000,
    "timestamp-millis": 1_700_000_000_000,
    "timestamp-micros": 1_700_000_000_000_000,
    "timestamp-nanos": 1_700_000_000_000_000_000,
    "local-timestamp-millis": 1_700_000_000_000,
    "local-timestamp-micros": 1_700_000_000_000_000,
    "local-timestamp-nanos": 1_700_000_000_000_000_000,
    "decimal": decimal.Decimal(1),
}

_STRING_FORMATS: Final[dict[str, str]] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "x@example.com",
    "idn-email": "x@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "iri": "https://example.com/x",
    "iri-reference": "https://example.com/x",
    "uuid": _UUID,
    "regex": "x",
    "json-pointer": "/x",
    "relative-json-pointer": "0",
}

# a type list's order is the schema's; otherwise (a set of kinds) this one
_KIND_ORDER: Final = (OBJECT, ARRAY, STRING, INTEGER, NUMBER, BOOLEAN, BYTES, NULL)


# == the graph, as the format's own parser builds it ==============================================


def _graph(contract: Contract) -> tuple[Node, _Sources]:
    """The contract's type graph built once more by its format's parser, with the schema object each
    shape was built from: the keywords that constrain values are read there (the graph drops them)."""
    sources: _Sources = {}
    if contract.format == "avro":
        # the plain schema (a Schema Registry's references inlined) and the engine's table of its named types
        return _AvroShapes(named_types(contract.schema), sources).node(contract.schema), sources
    if contract.format == "protobuf":
        return contract.root, sources  # the graph is all a message's JSON mapping needs
    return _JsonSchemaShapes(contract, sources).parse(), sources


class _AvroShapes(avro_format._Walker):
    """The Avro parser's walker, noting the schema of every shape it builds."""

    def __init__(self, named: Mapping[str, Any], sources: _Sources) -> None:
        super().__init__(named)
        self.sources = sources

    def node(self, schema: Any) -> Node:
        built = super().node(schema)
        if isinstance(schema, Mapping) and isinstance(built, Shape):
            self.sources.setdefault(id(built), schema)  # the innermost schema: {"type": {...}} defers to it
        return built


class _JsonSchemaShapes(jsonschema_format._Parser):
    """The JSON Schema parser (pydantic contracts: the model's JSON Schema), noting the schema of every
    shape it builds. The contract was checked when it was loaded, so unknown keywords pass here."""

    def __init__(self, contract: Contract, sources: _Sources) -> None:
        context = contract.native if isinstance(contract.native, jsonschema_format.JsonSchemaContext) else None
        super().__init__(contract.ref, contract.schema, context=context, strict=False, defaulted_when_optional=False)
        self.sources = sources

    def shape(self, schema: Mapping[str, Any], pointer: str) -> Shape | None:
        built = super().shape(schema, pointer)
        if built is not None:
            self.sources[id(built)] = schema
        return built

    def node(self, schema: Any, pointer: str) -> Node:
        built = super().node(schema, pointer)
        if isinstance(schema, Mapping) and isinstance(built, Shape):
            self.sources.setdefault(id(built), schema)  # a schema with value keywords only: {"format": "email"}
        return built


# == values =======================================================================================


def _deref(node: Node) -> Node:
    while isinstance(node, Ref) and node.target is not None:
        node = node.target
    return node


def _is_null(node: Node) -> bool:
    node = _deref(node)
    return isinstance(node, Shape) and node.kinds == frozenset({NULL})


def _overlap(node: Node, sample: Any) -> int:
    if not isinstance(sample, Mapping):
        return 0
    return sum(1 for name in node.property_names() if name in sample)


class _Builder:
    """Builds a value for a node of the graph, keeping what fits of ``sample`` (``_MISSING``: none)."""

    def __init__(self, sources: _Sources, *, avro: bool) -> None:
        self.sources = sources
        # which keywords a shape's schema object may hold: Avro's (fields, fixed, map) or JSON Schema's
        self.avro = avro

    def value(self, node: Node, sample: Any, include: _Include, depth: int) -> Any:
        node = _deref(node)
        if isinstance(node, AnyOf):
            chosen, sample = self._choose(node.branches, sample, depth)
            return self.value(chosen, sample, include, depth)
        if isinstance(node, AllOf):
            merged, keywords = self._merge(node, sample, depth)
            return self._shape(merged, keywords, node, sample, include, depth)
        if isinstance(node, Shape):
            return self._shape(node, self.sources.get(id(node), {}), node, sample, include, depth)
        raise TypeError(f"not a node of the type graph: {node!r}")  # pragma: no cover

    def _fits(self, node: Node, sample: Any) -> bool:
        # the graph takes a string for bytes (Avro's JSON encoding); a writer needs the bytes
        if isinstance(sample, str) and not any(STRING in shape.kinds for shape in node.shapes()):
            return False
        return node.accepts(sample)

    def _fits_kind(self, shape: Shape, kind: str, sample: Any) -> bool:
        return self._fits(
            Shape(frozenset({kind}), logical=shape.logical, integral_floats=shape.integral_floats), sample
        )

    def _choose(self, branches: Iterable[Node], sample: Any, depth: int) -> tuple[Node, Any]:
        """The branch of a union for ``sample`` (the one that fits it best), or the first non-null
        branch for a new value (null past the depth limit); and the sample, if it is kept."""
        candidates = [_deref(branch) for branch in branches]
        if not candidates:
            return Shape(frozenset({NULL})), _MISSING
        if sample is not _MISSING:
            fitting = [branch for branch in candidates if self._fits(branch, sample)]
            if fitting:
                return max(fitting, key=lambda branch: _overlap(branch, sample)), sample
        nulls = [branch for branch in candidates if _is_null(branch)]
        others = [branch for branch in candidates if not _is_null(branch)]
        if nulls and (depth > _MAX_DEPTH or not others):
            return nulls[0], _MISSING
        return others[0], _MISSING

    def _merge(self, node: AllOf, sample: Any, depth: int) -> tuple[Shape, dict[str, Any]]:
        """The parts of an ``allOf`` as one shape (a union among them narrowed to one branch), and
        their keywords, the first part's winning."""
        parts: list[Node] = []
        pending = list(node.parts)
        while pending:
            part = _deref(pending.pop(0))
            if isinstance(part, AllOf):
                pending[:0] = part.parts
            elif isinstance(part, AnyOf):
                pending.insert(0, self._choose(part.branches, sample, depth)[0])
            else:
                parts.append(part)
        shapes = [part for part in parts if isinstance(part, Shape)]
        whole = AllOf(shapes)
        kinds = ALL_KINDS
        for shape in shapes:
            kinds = kinds & shape.kinds
        merged = Shape(
            kinds or (shapes[0].kinds if shapes else ALL_KINDS),
            properties={name: prop for name in whole.property_names() if (prop := whole.child(name)) is not None},
            items=whole.element(),
            values=next((shape.values for shape in shapes if shape.values is not None), None),
            enum=next((shape.enum for shape in shapes if shape.enum is not None), None),
            logical=next((shape.logical for shape in shapes if shape.logical is not None), None),
            integral_floats=all(shape.integral_floats for shape in shapes),
        )
        keywords: dict[str, Any] = {}
        for shape in shapes:
            for key, value in self.sources.get(id(shape), {}).items():
                keywords.setdefault(key, value)
        return merged, keywords

    def _kinds(self, shape: Shape, keywords: Mapping[str, Any]) -> list[str]:
        """The kinds a new value may take, in the schema's order; [] when the schema allows anything."""
        if shape.kinds == ALL_KINDS:
            if shape.properties or shape.values is not None:
                return [OBJECT]
            if not self.avro and ("items" in keywords or "prefixItems" in keywords):
                return [ARRAY]
            return []
        declared = keywords.get("type") if not self.avro else None
        first = [kind for kind in declared if kind in shape.kinds] if isinstance(declared, list) else []
        return first + [kind for kind in _KIND_ORDER if kind in shape.kinds and kind not in first]

    def _shape(
        self, shape: Shape, keywords: Mapping[str, Any], whole: Node, sample: Any, include: _Include, depth: int
    ) -> Any:
        if shape.enum is not None:
            if sample is not _MISSING and whole.accepts(sample):
                return sample
            return next((value for value in shape.enum if value is not None), shape.enum[0] if shape.enum else None)
        kinds = self._kinds(shape, keywords)
        kind: str | None = None
        if sample is not _MISSING:
            kind = next((k for k in kinds if self._fits_kind(shape, k, sample)), None)
            if kind is None and not kinds:
                return sample
        if kind is None:
            others = [k for k in kinds if k != NULL]
            if NULL in kinds and (depth > _MAX_DEPTH or not others):
                return None
            kind = others[0] if others else STRING
            sample = _MISSING
        if kind == OBJECT:
            return self._object(shape, keywords, sample, include, depth)
        if kind == ARRAY:
            return self._array(shape, keywords, sample, include, depth)
        if kind == BYTES:
            return self._bytes(shape, keywords, sample)
        if sample is not _MISSING:
            return sample
        if shape.logical in _LOGICAL:
            return _LOGICAL[shape.logical]
        if kind == STRING:
            return _string(keywords)
        if kind in (INTEGER, NUMBER):
            return _number(keywords, integer=kind == INTEGER)
        return True if kind == BOOLEAN else None

    def _object(
        self, shape: Shape, keywords: Mapping[str, Any], sample: Any, include: _Include, depth: int
    ) -> dict[str, Any]:
        source: Mapping[str, Any] = sample if isinstance(sample, Mapping) else {}
        # an Avro record writes every field, and takes a field from a sample under one of its aliases
        every = self.avro and "fields" in keywords
        aliases = {entry["name"]: entry.get("aliases", ()) for entry in keywords.get("fields", ())} if every else {}
        result: dict[str, Any] = {}
        for name, prop in shape.properties.items():
            given = source.get(name, _MISSING)
            for alias in aliases.get(name, ()) if given is _MISSING else ():
                given = source.get(alias, _MISSING)
                if given is not _MISSING:
                    break
            if given is not _MISSING or every or prop.required or name in include:
                result[name] = self.value(prop.node, given, include.get(name, {}), depth + 1)
        if shape.values is None:
            return result
        # keys beyond the properties: an Avro map keeps every one (and gets one of its own), a JSON
        # Schema object those named by patternProperties, or every one under an additionalProperties
        # schema when it has no properties
        is_map = self.avro and keywords.get("type") == "map"
        patterns = () if self.avro else tuple(keywords.get("patternProperties", {}))
        open_map = is_map or (not shape.properties and isinstance(keywords.get("additionalProperties"), Mapping))
        for key, value in source.items():
            if key in result or key in shape.properties:
                continue
            if open_map or any(re.search(pattern, str(key)) for pattern in patterns):
                result[str(key)] = self.value(shape.values, value, include.get(str(key), {}), depth + 1)
        if is_map and not isinstance(sample, Mapping) and depth <= _MAX_DEPTH:
            result["k"] = self.value(shape.values, _MISSING, include, depth + 1)
        return result

    def _array(
        self, shape: Shape, keywords: Mapping[str, Any], sample: Any, include: _Include, depth: int
    ) -> list[Any]:
        items: Node = shape.items if shape.items is not None else Shape(ALL_KINDS, integral_floats=True)
        # JSON Schema positions (prefixItems, or draft 7's items array): the parser makes the items
        # one union of the positional schemas, then the schema for the rest
        prefix = keywords.get("prefixItems", keywords.get("items")) if not self.avro else None
        branches = items.branches if isinstance(prefix, list) and isinstance(items, AnyOf) else ()
        positions = len(prefix) if isinstance(prefix, list) and branches else 0

        def element(position: int) -> Node:
            if not positions:
                return items
            if position < positions or len(branches) > positions:
                return branches[min(position, positions)]
            return Shape(ALL_KINDS, integral_floats=True)  # no schema for the rest: anything goes

        if isinstance(sample, (list, tuple)):
            return [self.value(element(i), item, include, depth + 1) for i, item in enumerate(sample)]
        if depth > _MAX_DEPTH or keywords.get("maxItems") == 0:
            return []
        count = max(1, positions, int(keywords.get("minItems", 0)))
        return [self.value(element(i), _MISSING, include, depth + 1) for i in range(count)]

    def _bytes(self, shape: Shape, keywords: Mapping[str, Any], sample: Any) -> Any:
        size = keywords.get("size") if self.avro and keywords.get("type") == "fixed" else None
        if sample is not _MISSING and (size is None or not isinstance(sample, bytes) or len(sample) == size):
            return sample
        if isinstance(size, int):
            return bytes(size)
        return _LOGICAL.get(shape.logical or "", b"x")


def _string(keywords: Mapping[str, Any]) -> str:
    text = _STRING_FORMATS.get(str(keywords.get("format")), "x")
    minimum, maximum = keywords.get("minLength"), keywords.get("maxLength")
    if isinstance(minimum, int) and len(text) < minimum:
        text += "x" * (minimum - len(text))
    if isinstance(maximum, int) and len(text) > maximum:
        text = text[:maximum]
    return text


def _number(keywords: Mapping[str, Any], *, integer: bool) -> int | float:
    value: float = 1
    low, high = keywords.get("minimum"), keywords.get("maximum")
    low_open, high_open = keywords.get("exclusiveMinimum"), keywords.get("exclusiveMaximum")
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(low_open, (int, float)) and not isinstance(low_open, bool) and value <= low_open:
        value = math.floor(low_open) + 1
    if isinstance(high, (int, float)) and value > high:
        value = high
    if isinstance(high_open, (int, float)) and not isinstance(high_open, bool) and value >= high_open:
        value = math.ceil(high_open) - 1
    step = keywords.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = math.ceil(value / step) * step
    return int(value) if integer else float(value)
