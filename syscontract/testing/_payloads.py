"""Messages built from a contract: :func:`minimal_payload` and :func:`project_payload`."""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pydantic import BaseModel

from syscontract.contract import Contract, parse_path
from syscontract.errors import ContractDeclarationError

__all__ = ["has_field", "minimal_payload", "project_payload"]

# == messages built from a schema ================================================================

_MISSING: Final[Any] = object()
_MAX_DEPTH: Final = 12  # recursive schemas: past this depth, prefer null, empty arrays and maps

_Include = dict[str, "_Include"]  # critical paths as a tree of names ("items[].sku" -> items -> sku)


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
    if contract.format == "avro":
        return _AvroValues(contract.schema).value(contract.schema, payload, include, 0)
    return _JsonValues(contract.schema).value(contract.schema, payload, include, 0)


def has_field(contract: Contract, path: str) -> bool:
    try:
        contract.field(path)
    except ContractDeclarationError:
        return False
    return True


_AVRO_PRIMITIVES: Final[dict[str, Any]] = {
    "null": None,
    "boolean": True,
    "int": 1,
    "long": 1,
    "float": 1.0,
    "double": 1.0,
    "bytes": b"x",
    "string": "x",
}

_UUID: Final = "00000000-0000-4000-8000-000000000001"

_AVRO_LOGICAL: Final[dict[str, Any]] = {
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

_AVRO_LOGICAL_CLASSES: Final[dict[str, tuple[type, ...]]] = {
    "uuid": (uuid.UUID,),
    "date": (datetime.date,),
    "time-millis": (datetime.time,),
    "time-micros": (datetime.time,),
    "decimal": (decimal.Decimal,),
}


class _AvroValues:
    """Values for an Avro schema in fastavro's parsed JSON form (named types by full name)."""

    def __init__(self, schema: Any) -> None:
        self.named: dict[str, Any] = {}
        self._collect(schema)

    def _collect(self, schema: Any) -> None:
        if isinstance(schema, list):
            for branch in schema:
                self._collect(branch)
        elif isinstance(schema, dict):
            kind = schema.get("type")
            if kind in ("record", "error", "enum", "fixed") and "name" in schema:
                self.named.setdefault(schema["name"], schema)
            for child in (kind, schema.get("items"), schema.get("values")):
                if isinstance(child, (dict, list)):
                    self._collect(child)
            for entry in schema.get("fields", ()) if kind in ("record", "error") else ():
                self._collect(entry["type"])

    def _resolve(self, schema: Any) -> Any:
        while True:
            if isinstance(schema, str) and schema not in _AVRO_PRIMITIVES:
                schema = self.named[schema]
            elif isinstance(schema, dict) and not isinstance(schema.get("type"), str):
                schema = schema["type"]
            elif isinstance(schema, dict) and schema["type"] in self.named:
                schema = self.named[schema["type"]]
            else:
                return schema

    def value(self, schema: Any, sample: Any, include: _Include, depth: int) -> Any:
        schema = self._resolve(schema)
        if isinstance(schema, list):
            return self._union(schema, sample, include, depth)
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = None if isinstance(schema, str) else schema.get("logicalType")
        if kind in ("record", "error"):
            source = sample if isinstance(sample, Mapping) else {}
            record = {}
            for entry in schema["fields"]:
                name = entry["name"]
                given = source.get(name, _MISSING)
                for alias in entry.get("aliases", ()) if given is _MISSING else ():
                    given = source.get(alias, _MISSING)
                    if given is not _MISSING:
                        break
                record[name] = self.value(entry["type"], given, include.get(name, {}), depth + 1)
            return record
        if kind == "enum":
            symbols = schema["symbols"]
            return sample if sample in symbols else symbols[0]
        if kind == "array":
            if isinstance(sample, (list, tuple)):
                return [self.value(schema["items"], item, include, depth + 1) for item in sample]
            return [] if depth > _MAX_DEPTH else [self.value(schema["items"], _MISSING, include, depth + 1)]
        if kind == "map":
            if isinstance(sample, Mapping):
                return {str(k): self.value(schema["values"], v, include, depth + 1) for k, v in sample.items()}
            return {} if depth > _MAX_DEPTH else {"k": self.value(schema["values"], _MISSING, include, depth + 1)}
        if kind == "fixed":
            size = int(schema["size"])
            if logical == "decimal" and isinstance(sample, decimal.Decimal):
                return sample
            return sample if isinstance(sample, bytes) and len(sample) == size else bytes(size)
        if sample is not _MISSING and self._fits(schema, sample):
            return sample
        if logical in _AVRO_LOGICAL:
            return _AVRO_LOGICAL[logical]
        return _AVRO_PRIMITIVES[kind]

    def _union(self, branches: list[Any], sample: Any, include: _Include, depth: int) -> Any:
        if sample is None and "null" in branches:
            return None
        if sample is not _MISSING:
            fitting = [branch for branch in branches if self._fits(branch, sample)]
            if fitting:
                best = max(fitting, key=lambda branch: self._overlap(branch, sample))
                return self.value(best, sample, include, depth)
        if depth > _MAX_DEPTH and "null" in branches:
            return None
        chosen = next((branch for branch in branches if branch != "null"), "null")
        return self.value(chosen, _MISSING, include, depth)

    def _overlap(self, schema: Any, sample: Any) -> int:
        resolved = self._resolve(schema)
        if isinstance(sample, Mapping) and isinstance(resolved, dict) and resolved["type"] in ("record", "error"):
            return sum(1 for entry in resolved["fields"] if entry["name"] in sample)
        return 0

    def _fits(self, schema: Any, sample: Any) -> bool:
        schema = self._resolve(schema)
        if isinstance(schema, list):
            return any(self._fits(branch, sample) for branch in schema)
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = None if isinstance(schema, str) else schema.get("logicalType")
        if logical in _AVRO_LOGICAL_CLASSES and isinstance(sample, _AVRO_LOGICAL_CLASSES[logical]):
            return True
        if isinstance(logical, str) and "timestamp" in logical and isinstance(sample, datetime.datetime):
            return True
        checks: dict[str, Callable[[Any], bool]] = {
            "null": lambda v: v is None,
            "boolean": lambda v: type(v) is bool,
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bytes": lambda v: isinstance(v, (bytes, bytearray)),
            "string": lambda v: isinstance(v, str),
            "record": lambda v: isinstance(v, Mapping),
            "error": lambda v: isinstance(v, Mapping),
            "map": lambda v: isinstance(v, Mapping),
            "array": lambda v: isinstance(v, (list, tuple)),
            "enum": lambda v: isinstance(v, str) and v in schema["symbols"],
            "fixed": lambda v: isinstance(v, bytes) and len(v) == int(schema["size"]),
        }
        check = checks.get(kind)
        return check is not None and check(sample)


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

_JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: type(v) is bool,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (type(v) is float and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, Mapping),
}


class _JsonValues:
    """Values for a JSON Schema document (local ``$ref`` resolved against the document)."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"remote $ref {ref!r} cannot be followed")
        node = self.document
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def _resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, Mapping) and "$ref" in schema and seen < 64:
            target = self._pointer(schema["$ref"])
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, Mapping) and siblings else target
            seen += 1
        if isinstance(schema, Mapping) and "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part)
                if not isinstance(part, Mapping):
                    continue
                for key, value in part.items():
                    if key == "properties":
                        merged["properties"] = {**merged.get("properties", {}), **value}
                    elif key == "required":
                        merged["required"] = [*merged.get("required", []), *value]
                    else:
                        merged.setdefault(key, value)
            schema = merged
        return schema

    def _fits(self, schema: Any, sample: Any) -> bool:
        schema = self._resolve(schema)
        if schema is True or schema == {}:
            return True
        if not isinstance(schema, Mapping):
            return False
        if "const" in schema:
            return bool(sample == schema["const"])
        if "enum" in schema:
            return sample in schema["enum"]
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                return any(self._fits(branch, sample) for branch in schema[combinator])
        types = self._types(schema)
        return not types or any(_JSON_TYPES[t](sample) for t in types if t in _JSON_TYPES)

    @staticmethod
    def _types(schema: Mapping[str, Any]) -> list[str]:
        kind = schema.get("type")
        if isinstance(kind, str):
            return [kind]
        if isinstance(kind, list):
            return [str(k) for k in kind]
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return ["object"]
        if "items" in schema or "prefixItems" in schema:
            return ["array"]
        return []

    def value(self, schema: Any, sample: Any, include: _Include, depth: int) -> Any:
        schema = self._resolve(schema)
        if schema is True or not isinstance(schema, Mapping):
            return "x" if sample is _MISSING else sample
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if sample is not _MISSING and sample in options:
                return sample
            return next((option for option in options if option is not None), options[0] if options else None)
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "default")}
                branches = [self._resolve(branch) for branch in schema[combinator]]
                if sample is not _MISSING:
                    fitting = [branch for branch in branches if self._fits(branch, sample)]
                    if fitting:
                        return self.value(self._merge(outer, fitting[0]), sample, include, depth)
                non_null = [b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")]
                if depth > _MAX_DEPTH and len(non_null) < len(branches):
                    return None
                chosen = non_null[0] if non_null else branches[0]
                return self.value(self._merge(outer, chosen), _MISSING, include, depth)
        types = self._types(schema)
        if sample is not _MISSING:
            kind = next((t for t in types if t in _JSON_TYPES and _JSON_TYPES[t](sample)), None)
            if kind is None and not types:
                return sample
        else:
            kind = None
        if kind is None:
            if sample is None and "null" in types:
                return None
            non_null = [t for t in types if t != "null"]
            if depth > _MAX_DEPTH and "null" in types:
                return None
            kind = non_null[0] if non_null else (types[0] if types else "string")
            sample = _MISSING
        return self._typed(kind, schema, sample, include, depth)

    @staticmethod
    def _merge(outer: Mapping[str, Any], branch: Any) -> Any:
        if not outer or not isinstance(branch, Mapping):
            return branch
        return {**outer, **branch}

    def _typed(self, kind: str, schema: Mapping[str, Any], sample: Any, include: _Include, depth: int) -> Any:
        if kind == "object":
            return self._object(schema, sample, include, depth)
        if kind == "array":
            return self._array(schema, sample, include, depth)
        if sample is not _MISSING:
            return sample
        if kind == "string":
            text = _STRING_FORMATS.get(str(schema.get("format")), "x")
            minimum, maximum = schema.get("minLength"), schema.get("maxLength")
            if isinstance(minimum, int) and len(text) < minimum:
                text += "x" * (minimum - len(text))
            if isinstance(maximum, int) and len(text) > maximum:
                text = text[:maximum]
            return text
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        return None

    @staticmethod
    def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
        value: float = 1
        low, high = schema.get("minimum"), schema.get("maximum")
        low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(low, (int, float)) and value < low:
            value = low
        if isinstance(low_open, (int, float)) and not isinstance(low_open, bool) and value <= low_open:
            value = math.floor(low_open) + 1
        if isinstance(high, (int, float)) and value > high:
            value = high
        if isinstance(high_open, (int, float)) and not isinstance(high_open, bool) and value >= high_open:
            value = math.ceil(high_open) - 1
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            value = math.ceil(value / step) * step
        return int(value) if integer else float(value)

    def _object(self, schema: Mapping[str, Any], sample: Any, include: _Include, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        source = sample if isinstance(sample, Mapping) else {}
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in source:
                result[name] = self.value(sub, source[name], include.get(name, {}), depth + 1)
            elif name in required or name in include:
                result[name] = self.value(sub, _MISSING, include.get(name, {}), depth + 1)
        for name in sorted(required - set(properties)):
            result[name] = source.get(name, "x")
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties")
        for name, value in source.items():
            if name in properties or name in result:
                continue
            matched = [sub for pattern, sub in patterns.items() if re.search(pattern, name)]
            if matched:
                result[name] = self.value(matched[0], value, include.get(name, {}), depth + 1)
            elif not properties and isinstance(extra, Mapping):
                result[name] = self.value(extra, value, include.get(name, {}), depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], sample: Any, include: _Include, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):  # draft 7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = list(prefix or [])

        def element(position: int) -> Any:
            return prefix[position] if position < len(prefix) else items

        if isinstance(sample, (list, tuple)):
            return [self.value(element(i), item, include, depth + 1) for i, item in enumerate(sample)]
        if depth > _MAX_DEPTH or schema.get("maxItems") == 0:
            return []
        count = max(1, len(prefix), int(schema.get("minItems", 0)))
        return [self.value(element(i), _MISSING, include, depth + 1) for i in range(count)]
