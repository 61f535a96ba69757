"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st


class StrSubclass(str):
    """A str that is not exactly str: the fast path must defer, the precise path decide."""


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["BASIC", "SILVER", "GOLD", "VIP", "PLATINUM"]),
    st.builds(StrSubclass, st.sampled_from(["GOLD", "EUR", "x"])),
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


# -- JSON text as the wire carries it (the fast decoder's differential test) ----------------------
#
# Values a 64-bit decoder or a lax one may read differently from Python's json, written in the ways
# producers write them, then mutated where decoders are known to part: numbers past 64 bits, '1e400',
# '-0', '1.0' against '1', duplicate keys, escaped NUL and lone surrogates, raw control characters,
# white space, a byte order mark, trailing data, bytes that are not UTF-8, deep nesting.

_EDGE_INTEGERS = st.one_of(
    st.integers(),
    st.integers(2**63 - 3, 2**64 + 3),
    st.integers(-(2**63) - 3, -(2**63) + 3),
    st.integers(10**18, 10**30),
    # about a float's range: pydantic's reader makes a float field inf from 309 digits on
    st.integers(10**307, 10**310),
    st.integers(-(10**310), -(10**307)),
)
_wire_scalars = st.one_of(
    st.none(), st.booleans(), _EDGE_INTEGERS, st.floats(), st.text(max_size=6), st.sampled_from(["\ud800", "\x00"])
)
wire_values = st.recursive(
    _wire_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
_FRAGMENTS = [
    b"1e400",
    b"-1e400",
    b"-0",
    b"-0.0",
    b"1.0",
    b"1",
    b"NaN",
    b"Infinity",
    b'"\\u0000"',
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b" ",
    b"\t",
    b"\n",
    b"\x00",
    b"\x0c",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xed\xa0\x80",
    b'"a":1,',
    b",",
    b"}",
    b"]",
    b"12345678901234567890123",
    b"18446744073709551616",
    b"9223372036854775807",
    b"-9223372036854775809",
    b"0.1000000000000000055511151231257827",
    b"2.2250738585072011e-308",
    b"1E5",
    b"1e308",
    b"1e309",
    b"-1.8e308",
    b"9" * 308,
    b"9" * 309,
    b"1" * 309 + b".5",
    b"0." + b"1" * 330,
]


def _dumps(value: Any, style: str) -> bytes:
    import json

    if style == "ascii":
        text = json.dumps(value)
    elif style == "indent":
        text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def json_wire_bodies(draw: st.DrawFn) -> bytes:
    """JSON bodies, mostly objects, written and then perhaps mutated where decoders part."""
    value = draw(st.one_of(st.dictionaries(st.text(max_size=4), wire_values, max_size=4), wire_values))
    body = _dumps(value, draw(st.sampled_from(["ascii", "indent", "compact"])))
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["insert", "replace", "duplicate", "deep", "wrap"]))
        at = draw(st.integers(0, len(body)))
        if kind == "insert":
            body = body[:at] + draw(st.sampled_from(_FRAGMENTS)) + body[at:]
        elif kind == "replace":
            end = draw(st.integers(at, min(len(body), at + 4)))
            body = body[:at] + draw(st.sampled_from(_FRAGMENTS)) + body[end:]
        elif kind == "duplicate" and body[:1] == b"{" and len(body) > 2:
            key = _dumps(draw(st.text(max_size=2)), "compact")
            body = b"{" + key + b":" + _dumps(draw(wire_values), "compact") + b"," + key + b":" + body[1:]
        elif kind == "deep":
            depth = draw(st.sampled_from([990, 999, 1000, 1001, 1023, 1024, 1025]))
            body = b'{"d":' + b"[" * depth + b"]" * depth + b"}"
        elif kind == "wrap":
            body = b'{"w":' + body + b"}"
    return body


ABSENT = object()

# where a mutation may land in the reference order event, as key paths ("*" = a random item)
MUTATION_POINTS = [
    ("orderId",),
    ("currency",),
    ("customer",),
    ("customer", "customerTier"),
    ("customer", "id"),
    ("items",),
    ("items", "*"),
    ("items", "*", "qty"),
    ("items", "*", "price"),
    ("couponCode",),
]


@st.composite
def mutated_orders(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """The reference order with up to three points replaced by random JSON values or removed."""
    order = copy.deepcopy(base)
    for point in draw(st.lists(st.sampled_from(MUTATION_POINTS), max_size=3)):
        value = draw(st.one_of(st.just(ABSENT), json_values))
        container: Any = order
        for key in point[:-1]:
            if key == "*":
                if not isinstance(container, list) or not container:
                    break
                key = draw(st.integers(0, len(container) - 1))
            elif not isinstance(container, dict) or key not in container:
                break
            container = container[key]
        else:
            last = point[-1]
            if last == "*":
                if isinstance(container, list) and container:
                    index = draw(st.integers(0, len(container) - 1))
                    container[index] = None if value is ABSENT else value
            elif isinstance(container, dict):
                if value is ABSENT:
                    container.pop(last, None)
                else:
                    container[last] = value
    return order


# -- whole-message validation (syscontract.validation) ---------------------------------------------
#
# Valid messages generated from a contract's schema, and single-field mutations of them with the
# failure a validator must report: (mutated message, path of the field, reason).

_AVRO_LIMITS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_AVRO_NAMED = ("record", "error", "enum", "fixed")
_MAX_DEPTH = 4


def avro_datums(schema: Any, named: dict[str, Any] | None = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Valid datums of a plain Avro schema (fastavro's parsed form: full names), as fastavro decodes
    them: logical types as Decimal, date, time, datetime and UUID values; fields with a default
    sometimes left out, as a dict built by hand may do."""
    import datetime
    import decimal

    named = {} if named is None else named
    if isinstance(schema, list):
        branches = schema
        if depth >= _MAX_DEPTH:  # stop recursion: prefer branches that end the walk
            branches = [b for b in schema if _avro_leaf(b, named)] or schema[:1]
        return st.one_of([avro_datums(b, named, depth) for b in branches])
    if isinstance(schema, str):
        if schema in _AVRO_PRIMITIVES:
            return _AVRO_PRIMITIVES[schema]
        return st.deferred(lambda: avro_datums(named[schema], named, depth + 1))
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return avro_datums(kind, named, depth)
    if kind in _AVRO_NAMED:
        named.setdefault(schema["name"], schema)
    logical = schema.get("logicalType")
    if kind in ("record", "error"):
        required = {f["name"]: avro_datums(f["type"], named, depth + 1) for f in schema["fields"] if "default" not in f}
        optional = {f["name"]: avro_datums(f["type"], named, depth + 1) for f in schema["fields"] if "default" in f}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind in ("fixed", "bytes") and logical == "decimal":
        precision, scale = schema["precision"], schema.get("scale", 0)
        if kind == "fixed":  # the unscaled value must fit the fixed size (two's complement)
            precision = min(precision, len(str(2 ** (8 * schema["size"] - 1) - 1)) - 1)
        bound = decimal.Decimal(10**precision - 1).scaleb(-scale)
        return st.decimals(min_value=-bound, max_value=bound, places=scale, allow_nan=False, allow_infinity=False)
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "array":
        return st.lists(avro_datums(schema["items"], named, depth + 1), max_size=3 if depth < _MAX_DEPTH else 0)
    if kind == "map":
        values = avro_datums(schema["values"], named, depth + 1)
        return st.dictionaries(st.text(max_size=5), values, max_size=3 if depth < _MAX_DEPTH else 0)
    if kind == "string" and logical == "uuid":
        return st.uuids()
    if kind == "int" and logical == "date":
        return st.dates()
    if (kind, logical) in (("int", "time-millis"), ("long", "time-micros")):
        return st.times()
    if kind == "long" and logical in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis"):
        return st.datetimes(timezones=st.just(datetime.timezone.utc) if logical.startswith("timestamp") else st.none())
    if kind in _AVRO_PRIMITIVES:
        return _AVRO_PRIMITIVES[kind]
    return st.deferred(lambda: avro_datums(named[kind], named, depth + 1))


_AVRO_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(*_AVRO_LIMITS["int"]),
    "long": st.integers(*_AVRO_LIMITS["long"]),
    "float": st.floats(width=32) | st.integers(-(2**24), 2**24),
    "double": st.floats() | st.integers(-(2**53), 2**53),
    "bytes": st.binary(max_size=8),
    "string": st.text(max_size=8),
}


def _avro_leaf(schema: Any, named: dict[str, Any]) -> bool:
    kind = schema if isinstance(schema, str) else schema.get("type") if isinstance(schema, dict) else None
    return (
        kind in _AVRO_PRIMITIVES
        or kind in ("enum", "fixed")
        or (kind in named and named[kind]["type"] in ("enum", "fixed"))
    )


def jsonschema_instances(schema: Any, root: Any = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Valid instances of a JSON Schema built from ``type``, ``properties``/``required``, ``items``,
    ``enum``/``const``, numeric and length bounds, the asserted formats, local ``$ref`` and ``anyOf``.
    Other keywords raise ValueError: use such a schema with a hand-written example instead."""
    root = schema if root is None else root
    if schema is True or schema == {}:
        return json_values
    if not isinstance(schema, dict):
        raise ValueError(f"no strategy for {schema!r}")
    known = {
        "$schema", "$id", "title", "description", "type", "properties", "required", "items", "enum", "const",
        "minimum", "maximum", "minLength", "maxLength", "format", "$ref", "anyOf", "definitions", "$defs",
        "additionalProperties", "default",
    }  # fmt: skip
    unknown = set(schema) - known
    if unknown or schema.get("additionalProperties", True) is not True:
        raise ValueError(f"no strategy for keywords {sorted(unknown) or ['additionalProperties']}")
    if "$ref" in schema:
        target: Any = root
        for token in schema["$ref"][2:].split("/") if schema["$ref"] != "#" else ():
            target = target[token.replace("~1", "/").replace("~0", "~")]
        return st.deferred(lambda: jsonschema_instances(target, root, depth + 1))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([jsonschema_instances(s, root, depth + 1) for s in schema["anyOf"]])
    types = schema.get("type", ["null", "boolean", "integer", "string"])
    types = types if isinstance(types, list) else [types]
    options = []
    for name in types:
        if name == "null":
            options.append(st.none())
        elif name == "boolean":
            options.append(st.booleans())
        elif name == "integer":
            options.append(st.integers(schema.get("minimum"), schema.get("maximum")))
        elif name == "number":
            low, high = schema.get("minimum"), schema.get("maximum")
            options.append(st.integers(low, high) | st.floats(low, high, allow_nan=False, allow_infinity=False))
        elif name == "string":
            options.append(_formatted(schema))
        elif name == "array":
            items = jsonschema_instances(schema.get("items", True), root, depth + 1)
            options.append(st.lists(items, max_size=3 if depth < _MAX_DEPTH else 0))
        else:
            properties = {n: jsonschema_instances(s, root, depth + 1) for n, s in schema.get("properties", {}).items()}
            required = {n: properties.get(n, json_values) for n in schema.get("required", [])}
            optional = {n: s for n, s in properties.items() if n not in required}
            options.append(st.fixed_dictionaries(required, optional=optional))
    return st.one_of(options)


def _formatted(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date":
        return st.dates().map(lambda d: d.isoformat())
    if fmt == "date-time":
        return st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z")
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "ipv4":
        return st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
    if fmt == "email":
        return st.from_regex(r"\A[a-z0-9]{1,8}(\.[a-z0-9]{1,8})?@[a-z]{1,8}\.[a-z]{2,4}\Z")
    if fmt is not None:
        raise ValueError(f"no strategy for format {fmt!r}")
    return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 8))


class FieldPoint:
    """One field of a generated message: where it is (keys to walk, the path a validator names),
    whether the schema requires it, what it accepts, and its enum symbols if any."""

    def __init__(self, keys: tuple[Any, ...], path: str, required: bool, kinds: frozenset[str], symbols: Any) -> None:
        self.keys = keys
        self.path = path
        self.required = required
        self.kinds = kinds  # JSON kinds the field accepts: null boolean integer number string bytes object array
        self.symbols = symbols
        self.union = False


def field_points(contract: Any, message: Any) -> list[FieldPoint]:
    """Every record or object field present in ``message`` (a valid message of ``contract``)."""
    points: list[FieldPoint] = []
    if contract.format == "avro":
        named: dict[str, Any] = {}
        _avro_points(contract.schema, message, (), "", named, points)
    else:
        _json_points(contract.schema, contract.schema, message, (), "", points)
    return points


def _join(path: str, name: str, index: int | None = None) -> str:
    if index is not None:
        return f"{path}[{index}]"
    return f"{path}.{name}" if path else name


def _avro_kinds(schema: Any, named: dict[str, Any]) -> tuple[frozenset[str], Any, bool]:
    if isinstance(schema, list):
        kinds: set[str] = set()
        for branch in schema:
            kinds |= _avro_kinds(branch, named)[0]
        return frozenset(kinds), None, True
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    kind = schema if isinstance(schema, str) else schema["type"]
    if isinstance(kind, (dict, list)):
        return _avro_kinds(kind, named)
    if isinstance(schema, dict) and kind in _AVRO_NAMED:
        named.setdefault(schema["name"], schema)
    table = {
        "null": {"null"}, "boolean": {"boolean"}, "int": {"integer"}, "long": {"integer"},
        "float": {"integer", "number"}, "double": {"integer", "number"}, "string": {"string"},
        "bytes": {"bytes", "string"}, "fixed": {"bytes", "string"}, "enum": {"string"},
        "record": {"object"}, "error": {"object"}, "map": {"object"}, "array": {"array"},
    }  # fmt: skip
    symbols = schema.get("symbols") if isinstance(schema, dict) and kind == "enum" else None
    return (
        frozenset(table.get(kind, {"null", "boolean", "integer", "number", "string", "bytes", "object", "array"})),
        symbols,
        False,
    )


def _avro_points(
    schema: Any, value: Any, keys: tuple[Any, ...], path: str, named: dict[str, Any], out: list[FieldPoint]
) -> None:
    if isinstance(schema, list):
        matching = [b for b in schema if _avro_kinds(b, named)[0] & {_kind(value)}]
        if len(matching) == 1 and _kind(value) in ("object", "array"):
            _avro_points(matching[0], value, keys, path, named, out)
        return
    if isinstance(schema, str):
        if schema not in named:
            return
        schema = named[schema]
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        _avro_points(kind, value, keys, path, named, out)
        return
    if kind in _AVRO_NAMED:
        named.setdefault(schema["name"], schema)
    if kind in ("record", "error") and isinstance(value, dict):
        for field in schema["fields"]:
            if field["name"] not in value:
                _avro_kinds(field["type"], named)  # registers named types defined inside
                continue
            kinds, symbols, union = _avro_kinds(field["type"], named)
            point = FieldPoint(
                (*keys, field["name"]), _join(path, field["name"]), "default" not in field, kinds, symbols
            )
            point.union = union
            out.append(point)
            _avro_points(field["type"], value[field["name"]], point.keys, point.path, named, out)
    elif kind == "array" and isinstance(value, list):
        for index, item in enumerate(value):
            _avro_points(schema["items"], item, (*keys, index), _join(path, "", index), named, out)
    elif kind in named and isinstance(kind, str):
        _avro_points(named[kind], value, keys, path, named, out)


def _json_points(schema: Any, root: Any, value: Any, keys: tuple[Any, ...], path: str, out: list[FieldPoint]) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        target: Any = root
        for token in schema["$ref"][2:].split("/") if schema["$ref"] != "#" else ():
            target = target[token.replace("~1", "/").replace("~0", "~")]
        _json_points(target, root, value, keys, path, out)
        return
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value or not isinstance(sub, dict):
                continue
            resolved = sub
            while isinstance(resolved, dict) and "$ref" in resolved:
                target = root
                for token in resolved["$ref"][2:].split("/"):
                    target = target[token]
                resolved = target
            types = resolved.get("type") if isinstance(resolved, dict) else None
            if types is None:
                continue  # accepts anything: no wrong type to put there
            types = frozenset(types if isinstance(types, list) else [types])
            if "number" in types:
                types |= {"integer"}
            symbols = resolved.get("enum")
            point = FieldPoint((*keys, name), _join(path, name), name in schema.get("required", []), types, symbols)
            out.append(point)
            _json_points(resolved, root, value[name], point.keys, point.path, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _json_points(schema["items"], root, item, (*keys, index), _join(path, "", index), out)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "other"


_WRONG_VALUES = [None, True, 12345, 1.5, "zz-wrong", [], {}, b"\x00\x01"]


@st.composite
def single_mutations(draw: st.DrawFn, contract: Any, message: Any) -> tuple[Any, str, str]:
    """One field of a valid ``message`` broken: given a value of a kind its schema never accepts
    (reason ``type``, or ``union`` for an Avro union), removed when required (``absent``), or given a
    symbol outside its enum (``enum``). Returns (mutated message, path, reason)."""
    points = field_points(contract, message)
    choices = []
    for point in points:
        wrong = [v for v in _WRONG_VALUES if _kind(v) not in point.kinds]
        if point.union and point.kinds & {"integer", "number"}:
            # 1.5 for a union with a long: the long branch is the one meant, so the failure is "type" there
            wrong = [v for v in wrong if _kind(v) not in ("integer", "number")]
        if wrong:
            choices.append(("type", point, wrong))
        if point.required:
            choices.append(("absent", point, None))
        if point.symbols and all(isinstance(s, str) for s in point.symbols):
            choices.append(("enum", point, None))
    if not choices:
        raise ValueError("the message has no field to mutate")
    mutation, point, wrong = draw(st.sampled_from(choices))
    mutated = copy.deepcopy(message)
    container = mutated
    for key in point.keys[:-1]:
        container = container[key]
    last = point.keys[-1]
    if mutation == "absent":
        del container[last]
        return mutated, point.path, "absent"
    if mutation == "enum":
        container[last] = "NOT_A_SYMBOL"
        return mutated, point.path, "enum"
    container[last] = draw(st.sampled_from(wrong))
    return mutated, point.path, "union" if point.union else "type"


# -- JSON Schemas from the whole vocabulary ----------------------------------------------------------

SCHEMA_DIALECTS = [
    None,
    "http://json-schema.org/draft-07/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
]
_NAMES = st.sampled_from(["a", "b", "id", "kind", "x.y", "items"])
_SMALL = st.integers(min_value=0, max_value=4)
_NUMBER = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))
_PATTERN = st.sampled_from(["^a", "b$", "^[a-z]+$", "^(a+)+$", "\\p{L}", "(?=a)a", "^\\d{2}$"])
_FORMAT = st.sampled_from(["date-time", "date", "email", "uuid", "ipv4", "hostname", "uri", "regex", "no-such"])
# values a schema written as JSON text can hold (no NaN, no infinity)
_SCHEMA_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
)
_LOCAL_REFS = st.sampled_from(["#", "#/$defs/d", "#/definitions/d", "#anchor", "#/$defs/missing-is-refused-at-load"])


def _keywords(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One keyword of the vocabulary with a well-formed (or deliberately odd) value."""
    names_list = st.lists(_NAMES, max_size=3, unique=True)
    return st.one_of(
        st.builds(
            lambda t: {"type": t},
            st.sampled_from(["null", "boolean", "integer", "number", "string", "object", "array"]),
        ),
        st.builds(
            lambda t: {"type": t}, st.lists(st.sampled_from(["null", "string", "integer"]), min_size=1, unique=True)
        ),
        st.builds(lambda v: {"enum": v}, st.lists(_SCHEMA_SCALARS, min_size=1, max_size=3)),
        st.builds(lambda v: {"const": v}, _SCHEMA_SCALARS),
        st.builds(
            lambda p, r: {"properties": p, "required": r}, st.dictionaries(_NAMES, children, max_size=3), names_list
        ),
        st.builds(lambda v: {"additionalProperties": v}, children),
        st.builds(lambda v: {"unevaluatedProperties": v}, children),
        st.builds(lambda p, v: {"patternProperties": {p: v}}, _PATTERN, children),
        st.builds(lambda v: {"propertyNames": v}, children),
        st.builds(lambda a, b: {"minProperties": a, "maxProperties": a + b}, _SMALL, _SMALL),
        st.builds(lambda n, v: {"dependentRequired": {n: v}}, _NAMES, names_list),
        st.builds(lambda n, v: {"dependentSchemas": {n: v}}, _NAMES, children),
        st.builds(lambda n, v: {"dependencies": {n: v}}, _NAMES, st.one_of(names_list, children)),
        st.builds(lambda v: {"items": v}, children),
        st.builds(lambda v, w: {"items": v, "additionalItems": w}, st.lists(children, max_size=2), children),
        st.builds(lambda v: {"prefixItems": v}, st.lists(children, min_size=1, max_size=2)),
        st.builds(lambda v: {"unevaluatedItems": v}, children),
        st.builds(lambda v, a, b: {"contains": v, "minContains": a, "maxContains": a + b}, children, _SMALL, _SMALL),
        st.builds(lambda a, b: {"minItems": a, "maxItems": a + b}, _SMALL, _SMALL),
        st.builds(lambda u: {"uniqueItems": u}, st.booleans()),
        st.builds(lambda a, b: {"minimum": a, "exclusiveMaximum": b}, _NUMBER, _NUMBER),
        st.builds(lambda a: {"multipleOf": a}, st.sampled_from([0.01, 0.5, 2, 3])),
        st.builds(lambda a, b: {"minLength": a, "maxLength": a + b}, _SMALL, _SMALL),
        st.builds(lambda p: {"pattern": p}, _PATTERN),
        st.builds(lambda f: {"format": f}, _FORMAT),
        st.builds(lambda v: {"not": v}, children),
        st.builds(lambda i, t, e: {"if": i, "then": t, "else": e}, children, children, children),
        st.builds(
            lambda k, v: {k: v},
            st.sampled_from(["allOf", "anyOf", "oneOf"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(lambda r: {"$ref": r}, _LOCAL_REFS),
        st.builds(lambda r: {"$dynamicRef": r}, st.sampled_from(["#anchor", "#node", "#"])),
        st.just({"$dynamicAnchor": "node"}),
        st.just({"$anchor": "anchor"}),
        st.builds(lambda i: {"$id": i}, st.sampled_from(["sub.json", "https://acme.example/s.json", "#frag"])),
        st.builds(
            lambda m, e: {"contentMediaType": m, "contentEncoding": e, "contentSchema": {"type": "object"}},
            st.sampled_from(["application/json", "text/plain"]),
            st.sampled_from(["base64", "7bit"]),
        ),
        st.builds(
            lambda t, d: {
                "title": t,
                "description": d,
                "default": d,
                "examples": [d],
                "deprecated": True,
                "readOnly": True,
            },
            st.text(max_size=4),
            _SCHEMA_SCALARS,
        ),
        st.builds(lambda v: {"x-vendor": v}, _SCHEMA_SCALARS),
    )


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


jsonschema_subschemas = st.recursive(
    st.one_of(st.booleans(), st.just({})),
    lambda children: st.builds(_merge, st.lists(_keywords(children), min_size=1, max_size=3)),
    max_leaves=8,
)


@st.composite
def jsonschemas(draw: st.DrawFn) -> Any:
    """A schema built from the whole vocabulary, with definitions for its references to land on."""
    body = draw(jsonschema_subschemas)
    if not isinstance(body, dict):
        return body
    schema = dict(body)
    dialect = draw(st.sampled_from(SCHEMA_DIALECTS))
    if dialect is not None:
        schema["$schema"] = dialect
    definition = draw(jsonschema_subschemas)
    schema.setdefault("$defs", {"d": definition, "a": {"$anchor": "anchor", "$dynamicAnchor": "node"}})
    schema.setdefault("definitions", {"d": definition})
    return schema


# -- small systems for ``plan`` ----------------------------------------------------------------------

SYSTEM_FIELDS = ("a", "b", "c")


@st.composite
def small_systems(draw: st.DrawFn, max_services: int = 6) -> dict[str, Any]:
    """A contract ``event`` in up to four versions (each a set of required fields), and up to
    ``max_services`` services, each with a deployed and a released version: absent (None), or what
    it produces and what it consumes (a version and the fields it requires).

    ``{"versions": {1: ["a"], ...}, "deployed": {"s0": side, ...}, "release": {"s0": side, ...}}`` where a
    side is None or ``{"produces": 2 | None, "consumes": (3, ["a"]) | None}``; a release side of
    ``{"produces": None, "consumes": None}`` retires the service."""
    count = draw(st.integers(min_value=1, max_value=4))
    versions = {v: sorted(draw(st.sets(st.sampled_from(SYSTEM_FIELDS), min_size=1))) for v in range(1, count + 1)}

    def side() -> st.SearchStrategy[dict[str, Any] | None]:
        version = st.sampled_from(sorted(versions))
        consumes = version.flatmap(
            lambda v: st.tuples(st.just(v), st.lists(st.sampled_from(versions[v]), unique=True, max_size=2))
        )
        return st.one_of(
            st.none(), st.fixed_dictionaries({"produces": st.none() | version, "consumes": st.none() | consumes})
        )

    services = [f"s{i}" for i in range(draw(st.integers(min_value=1, max_value=max_services)))]
    return {
        "versions": versions,
        "deployed": {s: draw(side()) for s in services},
        "release": {s: draw(side()) for s in services},
    }


# -- issue 12: writer/reader pairs, and what the writer actually wrote ---------------------------------
#
# A generated contract is a record of "slots". Each slot is one way a value reaches (or fails to reach)
# a reader field: the same field in writer and reader, a reader default, a nullable union, an enum
# whose reader lacks a writer symbol, reader and writer aliases, nested records, unions of records,
# arrays. Each slot knows, from the writer's datum alone, whether its critical path was sent and what
# the writer wrote there (``Written``): the oracle never looks at a decoded or resolved value.

NOT_WRITTEN = type("NOT_WRITTEN", (), {"__repr__": lambda self: "NOT_WRITTEN"})()
"""A leaf the writer did not write (the field is not in what it sent)."""

FILLED = "<DEF>"
"""Every reader default of the generated contracts: no generated writer value can equal it."""

_WORDS = st.text(alphabet="abcXYZ", min_size=1, max_size=4)


class Written:
    """The oracle's view of one critical path: the reason it was not sent (None when it was), and
    the leaves the writer wrote there (one per array element on ``[]`` paths)."""

    def __init__(self, reason: str | None, leaves: list[Any]) -> None:
        self.reason = reason
        self.leaves = leaves

    def __repr__(self) -> str:
        return f"Written({self.reason!r}, {self.leaves!r})"


class Slot:
    """One field of a generated writer/reader pair."""

    def __init__(
        self,
        kind: str,
        path: str,
        writer_fields: list[dict[str, Any]],
        reader_field: dict[str, Any],
        values: st.SearchStrategy[dict[str, Any]],
        judge: Any,
    ) -> None:
        self.kind = kind
        self.path = path
        self.writer_fields = writer_fields
        self.reader_field = reader_field
        self.values = values  # strategy of {writer field name: value}
        self.judge = judge  # writer values -> Written


def _written_scalar(value: Any, *, null: str = "null") -> Written:
    return Written(null if value is None else None, [value])


AVRO_NAMESPACE = "diff"
_Y_AND_DEFAULTED_X = [{"name": "y", "type": "int"}, {"name": "x", "type": "string", "default": FILLED}]
AVRO_SLOT_KINDS = (
    "plain", "reader-default", "nullable", "null-to-string", "enum", "reader-alias", "writer-alias",
    "nested", "nested-inner-default", "nested-missing", "union-branch", "array", "array-inner-default",
)  # fmt: skip


def avro_slot(kind: str, n: str, critical: bool) -> Slot:
    """The slot ``kind`` for field ``n``. ``critical``: whether its path is critical (a null that
    Avro cannot resolve is only generated where the consumer requires the field)."""
    ns = AVRO_NAMESPACE
    string = {"name": n, "type": "string"}
    if kind == "plain":
        return Slot(kind, n, [string], string, st.fixed_dictionaries({n: _WORDS}), lambda v: Written(None, [v[n]]))
    if kind == "reader-default":
        return Slot(kind, n, [], {**string, "default": FILLED}, st.just({}),
                    lambda v: Written("not-in-writer-schema", [NOT_WRITTEN]))  # fmt: skip
    if kind in ("nullable", "null-to-string"):
        writer = {"name": n, "type": ["null", "string"], "default": None}
        reader = writer if kind == "nullable" else string
        value = st.none() | _WORDS if critical or kind == "nullable" else _WORDS
        return Slot(kind, n, [writer], reader, st.fixed_dictionaries({n: value}), lambda v: _written_scalar(v[n]))
    if kind == "enum":
        writer_enum = {"type": "enum", "name": f"{n}E", "symbols": ["A", "B", "X"]}
        reader_enum = {"type": "enum", "name": f"{n}E", "symbols": ["A", "B"], "default": "A"}
        return Slot(
            kind, n, [{"name": n, "type": writer_enum}], {"name": n, "type": reader_enum},
            st.fixed_dictionaries({n: st.sampled_from(["A", "B", "X"])}),
            lambda v: Written("unknown-symbol" if v[n] == "X" else None, [v[n]]),
        )  # fmt: skip
    if kind == "reader-alias":
        old = f"old_{n}"
        return Slot(kind, n, [{"name": old, "type": "string"}], {**string, "aliases": [old]},
                    st.fixed_dictionaries({old: _WORDS}), lambda v: Written(None, [v[old]]))  # fmt: skip
    if kind == "writer-alias":
        # the Avro specification resolves with the reader's aliases only: this is no match
        other = f"w_{n}"
        return Slot(kind, n, [{"name": other, "type": "string", "aliases": [n]}], {**string, "default": FILLED},
                    st.fixed_dictionaries({other: _WORDS}),
                    lambda v: Written("not-in-writer-schema", [NOT_WRITTEN]))  # fmt: skip
    inner_name = f"{n}R"
    path = f"{n}.x"
    if kind == "nested":
        inner = {"type": "record", "name": inner_name, "fields": [{"name": "x", "type": "string"}]}
        return Slot(kind, path, [{"name": n, "type": inner}], {"name": n, "type": inner},
                    st.fixed_dictionaries({n: st.fixed_dictionaries({"x": _WORDS})}),
                    lambda v: Written(None, [v[n]["x"]]))  # fmt: skip
    if kind == "nested-inner-default":
        writer_inner = {"type": "record", "name": inner_name, "fields": [{"name": "y", "type": "int"}]}
        reader_inner = {"type": "record", "name": inner_name,
                        "fields": _Y_AND_DEFAULTED_X}  # fmt: skip
        return Slot(kind, path, [{"name": n, "type": writer_inner}], {"name": n, "type": reader_inner},
                    st.fixed_dictionaries({n: st.fixed_dictionaries({"y": st.integers(0, 9)})}),
                    lambda v: Written("not-in-writer-schema", [NOT_WRITTEN]))  # fmt: skip
    if kind == "nested-missing":
        inner = {"type": "record", "name": inner_name, "fields": [{"name": "x", "type": "string"}]}
        return Slot(kind, path, [], {"name": n, "type": inner, "default": {"x": FILLED}}, st.just({}),
                    lambda v: Written("not-in-writer-schema", [NOT_WRITTEN]))  # fmt: skip
    if kind == "union-branch":
        a = {"type": "record", "name": f"{n}A", "fields": [{"name": "x", "type": "string"}]}
        b_writer = {"type": "record", "name": f"{n}B", "fields": [{"name": "y", "type": "int"}]}
        b_reader = {"type": "record", "name": f"{n}B",
                    "fields": _Y_AND_DEFAULTED_X}  # fmt: skip
        branch = st.one_of(
            _WORDS.map(lambda x: (f"{ns}.{n}A", {"x": x})),
            st.integers(0, 9).map(lambda y: (f"{ns}.{n}B", {"y": y})),
        )

        def judge_union(v: dict[str, Any]) -> Written:
            name, body = v[n]
            return Written(None, [body["x"]]) if name.endswith("A") else Written("absent", [NOT_WRITTEN])

        return Slot(kind, path, [{"name": n, "type": [a, b_writer]}], {"name": n, "type": [a, b_reader]},
                    st.fixed_dictionaries({n: branch}), judge_union)  # fmt: skip
    if kind == "array":
        item = {"type": "record", "name": inner_name, "fields": [{"name": "x", "type": ["null", "string"]}]}
        array = {"type": "array", "items": item}
        elements = st.lists(st.fixed_dictionaries({"x": st.none() | _WORDS}), max_size=3)

        def judge_array(v: dict[str, Any]) -> Written:
            leaves = [element["x"] for element in v[n]]
            return Written("null" if None in leaves else None, leaves)

        return Slot(kind, f"{n}[].x", [{"name": n, "type": array}], {"name": n, "type": array},
                    st.fixed_dictionaries({n: elements}), judge_array)  # fmt: skip
    if kind == "array-inner-default":
        writer_item = {"type": "record", "name": inner_name, "fields": [{"name": "y", "type": "int"}]}
        reader_item = {"type": "record", "name": inner_name,
                       "fields": _Y_AND_DEFAULTED_X}  # fmt: skip
        elements = st.lists(st.fixed_dictionaries({"y": st.integers(0, 9)}), min_size=1, max_size=3)
        return Slot(kind, f"{n}[].x", [{"name": n, "type": {"type": "array", "items": writer_item}}],
                    {"name": n, "type": {"type": "array", "items": reader_item}},
                    st.fixed_dictionaries({n: elements}),
                    lambda v: Written("not-in-writer-schema", [NOT_WRITTEN] * len(v[n])))  # fmt: skip
    raise ValueError(kind)


def _leaf_has_default(slot: Slot) -> bool:
    """Whether a reader's field along ``slot``'s path has a default of its own (what the writer did
    not send is taken out at the highest field it lacks, which the reader may then leave out)."""
    field: Any = slot.reader_field
    if "default" in field:
        return True
    for name in slot.path.replace("[]", "").split(".")[1:]:
        pending, records = [field["type"]], []
        while pending:
            schema = pending.pop()
            if isinstance(schema, list):
                pending.extend(schema)
            elif isinstance(schema, dict) and schema.get("type") == "array":
                pending.append(schema["items"])
            elif isinstance(schema, dict) and schema.get("type") == "record":
                records.append(schema)
        found = [f for record in records for f in record["fields"] if f["name"] == name or name in f.get("aliases", ())]
        if not found:
            return False
        field = found[0]
        if "default" in field:
            return True
    return False


class AvroCase:
    """A writer schema, a reader schema, the consumer's critical paths, one writer datum, and the
    oracle's verdict on it: ``failures`` ((path, reason) pairs: not sent) and ``written``."""

    def __init__(self, slots: list[Slot], critical: list[str], values: list[dict[str, Any]], noise: int) -> None:
        self.slots = slots
        self.critical = critical
        writer_fields = [field for slot in slots for field in slot.writer_fields]
        writer_fields.append({"name": "w_extra", "type": "int"})  # a field the reader does not know
        reader_fields = [slot.reader_field for slot in slots]
        reader_fields.append({"name": "r_extra", "type": "string", "default": "R"})  # a non-critical default
        self.writer_schema = {"type": "record", "name": "Order", "namespace": AVRO_NAMESPACE, "fields": writer_fields}
        self.reader_schema = {"type": "record", "name": "Order", "namespace": AVRO_NAMESPACE, "fields": reader_fields}
        self.datum: dict[str, Any] = {"w_extra": noise}
        for value in values:
            self.datum.update(value)
        judged = {slot.path: slot.judge(value) for slot, value in zip(slots, values, strict=True)}
        self.written = {path: judged[path] for path in critical}
        self.failures = {(path, w.reason) for path, w in self.written.items() if w.reason is not None}
        # validate="full" validates the whole message: a field this writer did not send (or sent as a
        # value the reader holds only through a default) is absent from what is handed on, and refused
        # when the reader's field has no default of its own
        self.full_refused = bool(self.failures) or any(
            judged[slot.path].reason not in (None, "null") and not _leaf_has_default(slot)
            for slot in slots
            if slot.path not in critical
        )

    def __repr__(self) -> str:
        kinds = [slot.kind for slot in self.slots]
        return f"AvroCase(kinds={kinds}, critical={self.critical}, datum={self.datum!r}, failures={self.failures})"


@st.composite
def avro_cases(draw: st.DrawFn, max_slots: int = 3) -> AvroCase:
    """A writer/reader Avro pair of 1 to ``max_slots`` slots, a non-empty set of critical paths
    among them, and one datum of the writer."""
    kinds = draw(st.lists(st.sampled_from(AVRO_SLOT_KINDS), min_size=1, max_size=max_slots))
    chosen = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)).filter(any))
    slots = [
        avro_slot(kind, f"f{index}", critical) for index, (kind, critical) in enumerate(zip(kinds, chosen, strict=True))
    ]
    values = [draw(slot.values) for slot in slots]
    critical = [slot.path for slot, is_critical in zip(slots, chosen, strict=True) if is_critical]
    return AvroCase(slots, critical, values, draw(st.integers(0, 9)))


# JSON Schema and pydantic contracts of the same shape, and raw messages (what the producer sent)

JSON_SLOT_KINDS = ("required", "default", "nullable", "enum", "factory", "nested", "array", "alias")
# pydantic only (issue 21): a union of two models whose second branch reads ``x`` under the alias
# ``xa`` and defaults it (plain, and discriminated by ``kind``); a field behind an ``Annotated``
# validator of each kind that fills a null; a nested dataclass whose ``x`` a default, a default
# factory or ``__post_init__`` fills
VALIDATOR_KINDS = ("validated-before", "validated-wrap", "validated-plain", "validated-after")
DATACLASS_KINDS = ("dataclass-default", "dataclass-factory", "dataclass-post-init")
UNION_KINDS = ("union", "union-tagged")
PYDANTIC_SLOT_KINDS = JSON_SLOT_KINDS + UNION_KINDS + VALIDATOR_KINDS + DATACLASS_KINDS
MISSING = ABSENT


def _fill(value: Any) -> Any:
    return FILLED if value is None else value


def _json_value(kind: str) -> st.SearchStrategy[Any]:
    wrong = st.just(7)
    if kind in ("required", "default", "nullable", "alias"):
        return st.one_of(st.just(ABSENT), st.none(), _WORDS, wrong)
    if kind == "enum":
        return st.one_of(st.just(ABSENT), st.none(), st.sampled_from(["A", "B", "X"]))
    if kind == "factory":
        return st.one_of(st.just(ABSENT), st.none(), st.lists(_WORDS, max_size=2), wrong)
    if kind == "nested":
        return st.one_of(
            st.just(ABSENT), st.none(), st.just({}),
            st.fixed_dictionaries({"x": st.one_of(st.none(), _WORDS, wrong)}),
        )  # fmt: skip
    if kind == "array":
        item = st.one_of(st.just({}), st.fixed_dictionaries({"x": st.none() | _WORDS}))
        return st.one_of(st.just(ABSENT), st.none(), st.lists(item, max_size=3))
    if kind in UNION_KINDS:
        branch = st.fixed_dictionaries(
            {}, optional={"x": st.none() | _WORDS, "xa": st.none() | _WORDS, "req": _WORDS,
                          "kind": st.sampled_from(["p", "c", "z"])},
        )  # fmt: skip
        return st.one_of(st.just(ABSENT), st.none(), branch)
    if kind in VALIDATOR_KINDS:
        return st.one_of(st.just(ABSENT), st.none(), _WORDS)
    if kind in DATACLASS_KINDS:
        return st.one_of(st.just(ABSENT), st.just({}), st.fixed_dictionaries({"x": st.none() | _WORDS}))
    raise ValueError(kind)


class JsonCase:
    """A contract shape (``kinds``), the consumer's critical paths, and one raw message."""

    def __init__(self, kinds: list[str], critical: list[str], message: dict[str, Any]) -> None:
        self.kinds = kinds
        self.critical = critical
        self.message = message
        self._model: Any = None

    @staticmethod
    def path(kind: str, n: str) -> str:
        if kind in UNION_KINDS or kind in DATACLASS_KINDS:
            return f"{n}.x"
        return {"nested": f"{n}.x", "array": f"{n}[].x"}.get(kind, n)

    def writes_for_itself(self) -> bool:
        """Whether code of the model may write a critical field (a validator, a dataclass default or
        ``__post_init__``): an instance of it that syscontract did not validate proves nothing."""
        return any(
            kind in VALIDATOR_KINDS + DATACLASS_KINDS and JsonCase.path(kind, f"f{index}") in self.critical
            for index, kind in enumerate(self.kinds)
        )

    def __repr__(self) -> str:
        return f"JsonCase(kinds={self.kinds}, critical={self.critical}, message={self.message!r})"

    def jsonschema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        for index, kind in enumerate(self.kinds):
            n = f"f{index}"
            string = {"type": "string"}
            if kind == "required":
                properties[n] = string
                required.append(n)
            elif kind in ("default", "alias"):
                properties[n] = {**string, "default": FILLED}
            elif kind == "nullable":
                properties[n] = {"type": ["string", "null"], "default": None}
            elif kind == "enum":
                properties[n] = {"enum": ["A", "B"], "default": "A"}
            elif kind == "factory":
                properties[n] = {"type": "array", "items": string, "default": [FILLED]}
            elif kind == "nested":
                properties[n] = {"type": "object", "properties": {"x": {**string, "default": FILLED}},
                                 "default": {"x": FILLED}}  # fmt: skip
            else:
                item = {"type": "object", "properties": {"x": {"type": ["string", "null"]}}}
                properties[n] = {"type": "array", "items": item, "default": []}
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": properties, "required": required}  # fmt: skip

    def model(self) -> Any:
        """The pydantic model of this shape (built once per case)."""
        if self._model is None:
            self._model = self._build_model()
        return self._model

    def _build_model(self) -> Any:
        import dataclasses
        from typing import Annotated, Literal, Optional, Union

        from pydantic import (
            AfterValidator,
            BaseModel,
            BeforeValidator,
            Field,
            PlainValidator,
            WrapValidator,
            create_model,
        )

        validators = {
            "validated-before": BeforeValidator(_fill),
            "validated-wrap": WrapValidator(lambda v, handler: FILLED if v is None else handler(v)),
            "validated-plain": PlainValidator(_fill, json_schema_input_type=Optional[str]),  # noqa: UP045
            "validated-after": AfterValidator(_fill),
        }
        fields: dict[str, Any] = {}
        for index, kind in enumerate(self.kinds):
            n = f"f{index}"
            if kind == "required":
                fields[n] = (str, ...)
            elif kind == "default":
                fields[n] = (str, FILLED)
            elif kind == "nullable":
                fields[n] = (Optional[str], None)  # noqa: UP045 - create_model takes the runtime form
            elif kind == "enum":
                fields[n] = (Literal["A", "B"], "A")
            elif kind == "factory":
                fields[n] = (list[str], Field(default_factory=lambda: [FILLED]))
            elif kind == "nested":
                inner = create_model(f"Inner{n}", x=(str, FILLED), __base__=BaseModel)
                fields[n] = (inner, Field(default_factory=lambda inner=inner: inner(x=FILLED)))
            elif kind == "array":
                item = create_model(f"Item{n}", x=(Optional[str], None), __base__=BaseModel)  # noqa: UP045
                fields[n] = (list[item], Field(default_factory=list))  # type: ignore[valid-type]
            elif kind in UNION_KINDS:
                person = create_model(f"P{n}", kind=(Literal["p"], "p"), x=(str, ...), req=(str, ...))
                company = create_model(f"C{n}", kind=(Literal["c"], "c"), x=(str, Field(FILLED, alias="xa")))
                union: Any = Union[person, company]  # noqa: UP007 - built at run time
                if kind == "union-tagged":
                    union = Annotated[union, Field(discriminator="kind")]
                fields[n] = (Optional[union], None)  # noqa: UP045
            elif kind in VALIDATOR_KINDS:
                fields[n] = (Annotated[Optional[str], validators[kind]], None)  # noqa: UP045
            elif kind in DATACLASS_KINDS:
                if kind == "dataclass-factory":
                    spec: Any = ("x", str, dataclasses.field(default_factory=lambda: FILLED))
                else:
                    spec = ("x", Optional[str], dataclasses.field(default=None))  # noqa: UP045
                namespace = {"__post_init__": _fill_x} if kind == "dataclass-post-init" else {}
                made = dataclasses.make_dataclass(f"D{n}", [spec], namespace=namespace)
                fields[n] = (Optional[made], None)  # noqa: UP045
            else:  # alias: the attribute has another name than the wire
                fields[f"attr_{n}"] = (str, Field(FILLED, alias=n))
        return create_model("Generated", **fields)

    def _branch_name(self, message: Any, index: int) -> str:
        """The key the union branch pydantic chooses for ``message`` reads ``x`` by ("x" or "xa");
        "x" when the model refuses the message (presence on the raw key decides then)."""
        from pydantic import ValidationError

        try:
            chosen = getattr(self.model().model_validate(message), f"f{index}")
        except ValidationError:
            return "x"
        return "xa" if type(chosen).__name__.startswith("C") else "x"

    def _wire(self, message: Any, path: str) -> tuple[Any, str]:
        """``message`` and ``path`` with a union's ``x`` step named as the chosen branch reads it."""
        for index, kind in enumerate(self.kinds):
            n = f"f{index}"
            if kind in UNION_KINDS and path == f"{n}.x" and isinstance(message.get(n), dict):
                return message, f"{n}.{self._branch_name(message, index)}"
        return message, path

    def written(self, message: Any) -> dict[str, list[Any]]:
        """What the producer wrote at each critical path, read by the name the model reads it by."""
        found = {}
        for path in self.critical:
            raw, wire = self._wire(message, path)
            found[path] = _raw_leaves(raw, wire)
        return found

    def presence(self, message: Any) -> set[tuple[str, str]]:
        """(path, reason) for every critical path not sent in the raw ``message``: through a union,
        not sent under the name the branch pydantic chooses reads it by."""
        found = set()
        for path in self.critical:
            raw, wire = self._wire(message, path)
            reason = _raw_presence(raw, wire)
            if reason is not None:
                found.add((path, reason))
        return found


def _fill_x(self: Any) -> None:
    self.x = _fill(self.x)


def _raw_leaves(message: Any, path: str) -> list[Any]:
    current = [message]
    for part in path.split("."):
        name, arrays = part.replace("[]", ""), part.count("[]")
        following: list[Any] = []
        for container in current:
            if not isinstance(container, dict) or name not in container:
                following.append(NOT_WRITTEN)
                continue
            found = container[name]
            following.extend(found if arrays and isinstance(found, list) else [found])
        current = following
    return current


def _raw_presence(message: Any, path: str) -> str | None:
    containers = [message]
    for part in path.split("."):
        name, arrays = part.replace("[]", ""), part.count("[]")
        following = []
        for container in containers:
            if not isinstance(container, dict):
                return "type"
            if name not in container:
                return "absent"
            value = container[name]
            if value is None:
                return "null"
            for _ in range(arrays):
                if not isinstance(value, list):
                    return "type"
                if any(element is None for element in value):
                    return "null"
            following.extend(value if arrays else [value])
        containers = following
    return None


@st.composite
def json_cases(draw: st.DrawFn, max_slots: int = 3, kinds: tuple[str, ...] = JSON_SLOT_KINDS) -> JsonCase:
    """A contract shape of 1 to ``max_slots`` fields, a non-empty set of critical paths, and a raw
    message whose fields may be absent, null, of the wrong type or a symbol outside the enum.
    ``kinds``: the slot kinds to draw from (``PYDANTIC_SLOT_KINDS`` for pydantic contracts)."""
    kinds = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=max_slots))
    chosen = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)).filter(any))
    message: dict[str, Any] = {}
    for index, kind in enumerate(kinds):
        value = draw(_json_value(kind))
        if value is not ABSENT:
            message[f"f{index}"] = value
    critical = [JsonCase.path(kind, f"f{i}") for i, (kind, c) in enumerate(zip(kinds, chosen, strict=True)) if c]
    return JsonCase(kinds, critical, message)


_JSON_LEAF_OK = {
    "required": lambda v: isinstance(v, str),
    "default": lambda v: isinstance(v, str),
    "alias": lambda v: isinstance(v, str),
    "nullable": lambda v: isinstance(v, str),
    "enum": lambda v: v in ("A", "B"),
    "factory": lambda v: isinstance(v, list) and all(isinstance(e, str) for e in v),
    "nested": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, str),
    **{kind: (lambda v: isinstance(v, str)) for kind in UNION_KINDS + VALIDATOR_KINDS + DATACLASS_KINDS},
}


def json_type_failures(case: JsonCase, message: Any) -> set[tuple[str, str]]:
    """(path, "type") for every critical path present and not null in ``message`` whose value the
    contract does not accept (the wrong type, a symbol outside the enum)."""
    found = set()
    for index, kind in enumerate(case.kinds):
        path = JsonCase.path(kind, f"f{index}")
        if path not in case.critical or _raw_presence(message, path) is not None:
            continue
        if kind in UNION_KINDS + VALIDATOR_KINDS + DATACLASS_KINDS:
            continue  # their values are strings or null: never of the wrong type
        value = message[f"f{index}"]
        leaves = [value["x"]] if kind == "nested" else [e["x"] for e in value] if kind == "array" else [value]
        if not all(_JSON_LEAF_OK[kind](leaf) for leaf in leaves):
            found.add((path, "type"))
    return found


def avro_writer_for(message: dict[str, Any], name: str = "Raw") -> dict[str, Any] | None:
    """An Avro writer schema under which ``message`` encodes and decodes back to itself (the same
    content as Avro bytes); None when Avro cannot carry it unchanged (array elements with different
    keys: a record has every field in every element)."""
    counter = iter(range(1000))

    def kind(value: Any) -> Any:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "long"
        if isinstance(value, str):
            return "string"
        if isinstance(value, dict):
            return record(value)
        if isinstance(value, list):
            if not value:
                return {"type": "array", "items": "string"}
            if all(isinstance(e, dict) for e in value):
                keys = {tuple(sorted(e)) for e in value}
                if len(keys) != 1:
                    raise _NotCarried
                fields = [{"name": k, "type": ["null", "string", "long"]} for k in sorted(value[0])]
                return {"type": "array", "items": {"type": "record", "name": f"E{next(counter)}", "fields": fields}}
            if all(isinstance(e, str) for e in value):
                return {"type": "array", "items": "string"}
            raise _NotCarried
        raise _NotCarried

    def record(value: dict[str, Any]) -> dict[str, Any]:
        return {"type": "record", "name": f"R{next(counter)}",
                "fields": [{"name": k, "type": kind(v)} for k, v in value.items()]}  # fmt: skip

    try:
        schema = record(message)
    except _NotCarried:
        return None
    schema["name"] = name
    return schema


class _NotCarried(Exception):
    pass


# == protobuf writer/reader pairs (issue 24) ==========================================================
#
# Descriptors are built in code (FileDescriptorProto), so no compiler runs per example: a reader
# message of up to three slots, each slot a field the declaration requires or not, and a writer that
# has the slot's number or not, whose message sets it or not. The oracle decides from the writer's
# schema and message alone what was sent.

PROTO_SLOT_KINDS = ("optional-string", "optional-int", "enum", "nested", "repeated", "oneof")
PROTO_STATES = {
    "optional-string": ("set", "zero", "unset"),
    "optional-int": ("set", "zero", "unset"),
    "enum": ("set", "zero", "unset", "unknown"),
    "nested": ("set", "zero", "unset", "empty-message"),
    "repeated": ("set", "unset"),
    "oneof": ("set", "zero", "unset", "other"),
}


class ProtoSlot:
    """One field of the reader: its kind, number, whether it is critical, whether the writer's message
    type has it, and what the writer's message holds there."""

    def __init__(self, kind: str, number: int, critical: bool, in_writer: bool, state: str) -> None:
        self.kind, self.number, self.critical, self.in_writer, self.state = kind, number, critical, in_writer, state
        self.name = f"f{number}"

    @property
    def path(self) -> str:
        return f"{self.name}.inner" if self.kind == "nested" else self.name

    def __repr__(self) -> str:
        return (
            f"ProtoSlot({self.kind!r}, {self.number}, critical={self.critical}, writer={self.in_writer}, {self.state})"
        )


class ProtoCase:
    """A reader and a writer message type (``syntax``: proto3 enums are open, proto2 closed), the
    writer's message, and the verdict the oracle expects for the critical paths."""

    def __init__(self, syntax: str, slots: list[ProtoSlot], tag: int) -> None:
        self.syntax, self.slots, self.tag = syntax, slots, tag
        self.reader_set = _proto_set(syntax, slots, f"diff.r{tag}", writer=False)
        self.writer_set = _proto_set(syntax, slots, f"diff.w{tag}", writer=True)

    def __repr__(self) -> str:
        return f"ProtoCase({self.syntax}, {self.slots})"

    @property
    def critical(self) -> list[str]:
        return [slot.path for slot in self.slots if slot.critical]

    def writer_message(self, cls: type[Any]) -> Any:
        message = cls()
        for slot in self.slots:
            if not slot.in_writer or slot.state == "unset":
                continue
            if slot.kind in ("optional-string", "oneof"):
                if slot.state == "other":
                    setattr(message, slot.name + "alt", "alt")
                else:
                    setattr(message, slot.name, "" if slot.state == "zero" else "v")
            elif slot.kind == "optional-int":
                setattr(message, slot.name, 0 if slot.state == "zero" else 7)
            elif slot.kind == "enum":
                setattr(
                    message,
                    slot.name,
                    {"zero": 0 if self.syntax == "proto3" else 1, "set": 2, "unknown": 9}[slot.state],
                )
            elif slot.kind == "nested":
                inner = getattr(message, slot.name)
                if slot.state == "empty-message":
                    inner.SetInParent()
                else:
                    inner.inner = "" if slot.state == "zero" else "v"
            elif slot.kind == "repeated":
                getattr(message, slot.name).append("v")
        return message

    def expected(self) -> tuple[str, str, str] | str:
        """``"accepted"``, or the (error class, field, reason) the first failing critical path gives:
        a path the writer's type lacks decides for every message, before what the message holds."""
        for slot in self.slots:
            if slot.critical and not slot.in_writer:
                return ("MissingCriticalField", slot.path, "not-in-writer-schema")
        for slot in self.slots:
            if not slot.critical:
                continue
            if slot.state in ("unset", "other", "empty-message"):
                return ("MissingCriticalField", slot.path, "absent")
            if slot.state == "unknown":
                if self.syntax == "proto3":
                    return ("FieldTypeError", slot.path, "unknown-enum-value")
                return ("MissingCriticalField", slot.path, "unknown-enum-value")
        return "accepted"


def _proto_set(syntax: str, slots: list[ProtoSlot], package: str, *, writer: bool) -> bytes:
    from google.protobuf import descriptor_pb2 as d

    F = d.FieldDescriptorProto
    file = d.FileDescriptorProto(name=package.replace(".", "/") + ".proto", package=package, syntax=syntax)
    enum = file.enum_type.add(name="Tier")
    if syntax == "proto3":
        enum.value.add(name="TIER_ZERO", number=0)
    enum.value.add(name="TIER_ONE", number=1)
    enum.value.add(name="TIER_TWO", number=2)
    if writer:
        enum.value.add(name="TIER_NINE", number=9)  # a value only the writer knows
    inner = file.message_type.add(name="Inner")
    _proto_field(inner, syntax, "inner", 1, F.TYPE_STRING)
    message = file.message_type.add(name="Message")
    for slot in slots:
        if writer and not slot.in_writer:
            continue
        if slot.kind == "optional-string":
            _proto_field(message, syntax, slot.name, slot.number, F.TYPE_STRING)
        elif slot.kind == "optional-int":
            _proto_field(message, syntax, slot.name, slot.number, F.TYPE_INT32)
        elif slot.kind == "enum":
            _proto_field(message, syntax, slot.name, slot.number, F.TYPE_ENUM, f".{package}.Tier")
        elif slot.kind == "nested":
            message.field.add(name=slot.name, number=slot.number, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                              type_name=f".{package}.Inner")  # fmt: skip
        elif slot.kind == "repeated":
            message.field.add(name=slot.name, number=slot.number, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
        elif slot.kind == "oneof":
            index = len(message.oneof_decl)
            message.oneof_decl.add(name=f"choice{slot.number}")
            message.field.add(name=slot.name, number=slot.number, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL,
                              oneof_index=index)  # fmt: skip
            message.field.add(name=slot.name + "alt", number=slot.number + 100, type=F.TYPE_STRING,
                              label=F.LABEL_OPTIONAL, oneof_index=index)  # fmt: skip
    # proto3 optional fields' synthetic oneofs come after every real oneof
    for owner in (inner, message):
        for field in owner.field:
            if field.proto3_optional:
                field.oneof_index = len(owner.oneof_decl)
                owner.oneof_decl.add(name=f"_{field.name}")
    return d.FileDescriptorSet(file=[file]).SerializeToString()


def _proto_field(message: Any, syntax: str, name: str, number: int, kind: int, type_name: str = "") -> None:
    from google.protobuf import descriptor_pb2 as d

    field = message.field.add(name=name, number=number, type=kind, label=d.FieldDescriptorProto.LABEL_OPTIONAL)
    if type_name:
        field.type_name = type_name
    if syntax == "proto3":
        field.proto3_optional = True  # explicit presence: the only kind a critical field may have


_PROTO_TAGS = iter(range(10**9))


@st.composite
def protobuf_cases(draw: st.DrawFn, max_slots: int = 3) -> ProtoCase:
    syntax = draw(st.sampled_from(("proto3", "proto2")))
    count = draw(st.integers(1, max_slots))
    slots = []
    for index in range(count):
        kind = draw(st.sampled_from(PROTO_SLOT_KINDS))
        in_writer = draw(st.booleans())
        state = draw(st.sampled_from(PROTO_STATES[kind])) if in_writer else "unset"
        slots.append(ProtoSlot(kind, index + 1, draw(st.booleans()), in_writer, state))
    if not any(slot.critical for slot in slots):
        slots[0].critical = True
    return ProtoCase(syntax, slots, next(_PROTO_TAGS))
