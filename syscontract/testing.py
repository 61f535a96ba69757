"""Test helpers: a registry for a test, stale producers, and telemetry without an OpenTelemetry SDK.

Usable from any test runner; the pytest plugin (:mod:`syscontract.pytest_plugin`) wraps them as the
fixtures ``syscontract_registry``, ``stale_producer`` and ``syscontract_telemetry``.

- :func:`use_registry`: a registry (or a contracts directory) configured process-wide for a block,
  the previous one restored afterwards.
- :class:`StaleProducer` (and the ready-made :data:`stale_producer`): plays every *older* version of
  a handler's contract at it, in every framing the handler accepts, and asserts that whenever that
  version does not have a critical field the handler raises
  :class:`~syscontract.MissingCriticalField` instead of running on a default::

      from syscontract.testing import stale_producer

      report = stale_producer(on_order)        # AssertionError listing every case that got through
      print(report)                            # every case: version, framing, expected, outcome

- :class:`TelemetryCapture`: in-memory ``TracerProvider`` and ``MeterProvider`` implementations of
  the OpenTelemetry *API* (no SDK needed), configured for syscontract for a block::

      with TelemetryCapture() as capture, capture.span("consume"):
          on_order(order)
      assert 1 == capture.messages(contract="order.v3", outcome="ok")

- :func:`minimal_payload` and :func:`project_payload`: the messages :class:`StaleProducer` sends,
  built from a contract's schema (Avro, JSON Schema, or a pydantic model's JSON Schema).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import decimal
import inspect
import json
import math
import os
import random
import re
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from pydantic import BaseModel, ValidationError

from syscontract import _config
from syscontract import telemetry as _telemetry
from syscontract.contract import Contract, ContractRef, parse_path
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    MissingCriticalField,
    RegistryError,
    StaleProducerError,
)
from syscontract.registry import CODE, MemoryRegistry, Registry, lookup
from syscontract.wire import CONTRACT_HEADER, Envelope
from syscontract.wire import avro as avro_wire
from syscontract.wire import confluent as confluent_wire
from syscontract.wire import json as json_wire

if TYPE_CHECKING:
    import os as _os
    from types import TracebackType

    from opentelemetry.context import Context
    from opentelemetry.util.types import Attributes

    from syscontract._engine.declaration import Declaration

__all__ = [
    "FRAMINGS",
    "InMemoryMeter",
    "InMemoryMeterProvider",
    "InMemoryObservable",
    "InMemorySpan",
    "InMemoryTracer",
    "InMemoryTracerProvider",
    "Point",
    "SpanEvent",
    "StaleCase",
    "StaleProducer",
    "StaleProducerError",
    "StaleReport",
    "TelemetryCapture",
    "minimal_payload",
    "project_payload",
    "stale_producer",
    "use_registry",
]

# == a registry for a block ======================================================================


@contextlib.contextmanager
def use_registry(registry: Registry | str | _os.PathLike[str]) -> Iterator[Registry]:
    """Configure ``registry`` (a registry, or a contracts directory) process-wide for the block, then
    put back the registry that was configured before (or the default, if none was)::

        with use_registry("tests/contracts") as registry:
            assert [2, 3] == registry.versions("order")

    Declarations that use the process-wide registry are resolved against it inside the block, and
    against the previous one again afterwards. A directory that does not exist is refused here
    (:class:`~syscontract.ContractDeclarationError`), not at the first message.
    """
    if isinstance(registry, (str, os.PathLike)) and not os.path.isdir(registry):
        raise ContractDeclarationError(
            f"use_registry({os.fspath(registry)!r}): no such contracts directory", reason="no-registry"
        )
    chosen = _config.as_registry(registry, "use_registry(...)")
    previous = _config.settings().explicit_registry
    _config.configure(registry=chosen)
    try:
        yield chosen
    finally:
        _config.configure(registry=previous)


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
    include = _include(path for path in critical if _has_field(contract, path))
    if contract.format == "avro":
        return _AvroValues(contract.schema).value(contract.schema, payload, include, 0)
    return _JsonValues(contract.schema).value(contract.schema, payload, include, 0)


def _has_field(contract: Contract, path: str) -> bool:
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


# == stale producers ==============================================================================

FRAMINGS: Final = ("dict", "json", "avro", "confluent", "model")
"""How :class:`StaleProducer` sends each message: ``dict`` (a decoded mapping), ``json`` (JSON bytes),
``avro`` (a bare Avro body with a ``syscontract-contract: <name>.v<N>`` header, as an
:class:`~syscontract.wire.Envelope`), ``confluent`` (Confluent-framed Avro, the writer found by schema
id) and ``model`` (the handler's pydantic model, validated from the JSON as a framework would, so
its defaults fill the gaps). ``avro`` and ``confluent`` apply to Avro versions, ``model`` to pydantic
contracts."""

_EXPECT_REFUSAL: Final = "MissingCriticalField"
_EXPECT_ACCEPTED: Final = "accepted"


@dataclass(frozen=True)
class StaleCase:
    """One message a stale producer sent, and what the handler did with it.

    ``version`` (``order.v2``), ``framing`` (one of :data:`FRAMINGS`), ``expected``
    (``MissingCriticalField`` when the version lacks a critical field, ``accepted`` otherwise),
    ``missing`` (the critical fields that version does not have), ``outcome`` (readable),
    ``failed``, ``error`` (what the handler raised, if it did), ``defaulted`` (fields the handler's
    body read although the version does not send them).
    """

    version: str
    framing: str
    expected: str
    missing: tuple[str, ...]
    outcome: str
    failed: bool
    error: BaseException | None = None
    defaulted: tuple[str, ...] = ()
    problem: str | None = None

    def describe(self) -> str:
        """The case as one readable line (why it failed, when it did)."""
        text = f"{self.version} via {self.framing}: "
        return text + (self.problem if self.problem else f"expected {self.expected}, {self.outcome}")


@dataclass
class StaleReport:
    """Every case a :class:`StaleProducer` ran against one handler; ``str()`` renders a table."""

    handler: str
    contract: str
    critical: tuple[str, ...]
    cases: list[StaleCase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[StaleCase]:
        """The cases that got through: the handler did not refuse a message it had to refuse."""
        return [case for case in self.cases if case.failed]

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        critical = ", ".join(self.critical) or "none declared"
        lines = [f"stale producers of {self.contract} -> {self.handler} (critical fields: {critical})"]
        failures = self.failures
        if failures:
            lines.append(f"{len(failures)} of {len(self.cases)} messages from older producers got through:")
            lines.extend(f"  {case.describe()}" for case in failures)
        elif not self.cases:
            lines.append("no older version of the contract to play")
        else:
            lines.append(f"all {len(self.cases)} messages from older producers were handled as expected")
        if self.cases:
            rows = [("version", "framing", "expected", "outcome", "")]
            rows += [(c.version, c.framing, c.expected, c.outcome, "FAILED" if c.failed else "ok") for c in self.cases]
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            lines.append("every case:")
            for row in rows:
                head = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
                lines.append(f"  {head}  {row[3]}{'  ' + row[4] if row[4] else ''}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


class _Skip(Exception):
    """This framing does not apply to this version (noted in the report, never a failure)."""


@dataclass
class _Outcome:
    returned: bool
    value: Any = None
    error: BaseException | None = None


@dataclass
class _Message:
    version: str
    framing: str
    missing: tuple[str, ...]
    build: Callable[[], Any]
    reads: set[str] | None = None


class _WriterIds:
    """The handler's registry, plus writers found by Confluent schema id in ``writers`` (for the
    ``confluent`` framing); everything else is the handler's registry's."""

    def __init__(self, base: Registry, writers: Any) -> None:
        self.base = base
        self.writers = writers

    def __repr__(self) -> str:
        return f"{self.base!r} (+ writer ids from {self.writers!r})"

    def get(self, ref: ContractRef | str) -> Contract:
        return self.base.get(ref)

    def versions(self, name: str) -> list[int]:
        return self.base.versions(name)

    def names(self) -> list[str]:
        return self.base.names()

    def by_id(self, schema_id: int) -> Contract:
        return self.writers.by_id(schema_id)  # type: ignore[no-any-return]

    def by_guid(self, guid: uuid.UUID) -> Contract:
        return self.writers.by_guid(guid)  # type: ignore[no-any-return]

    def by_fingerprint(self, fingerprint: bytes) -> Contract:
        by = getattr(self.base, "by_fingerprint", None) or self.writers.by_fingerprint
        return by(fingerprint)  # type: ignore[no-any-return]

    def id_of(self, ref: ContractRef | str) -> int:
        return self.writers.id_of(ref)  # type: ignore[no-any-return]


class StaleProducer:
    """Plays every older version of a handler's contract at the handler, and asserts it refuses
    what it must refuse.

    For a handler decorated with ``@requires("order.v3", ...)``, every version of ``order`` below
    3 in the handler's registry sends the message its producer would send: ``sample`` (a valid
    ``order.v3`` message; generated with :func:`minimal_payload` when not given) projected onto the
    old schema (:func:`project_payload`). Each message goes out in every framing the handler
    accepts (:data:`FRAMINGS`), with the declaration's violation policy forced to ``"raise"`` for
    the duration. Whenever the old version lacks a critical field (the declaration's ``fields``,
    the contract's own ``critical`` list, and ``critical=`` given here), the handler must raise
    :class:`~syscontract.MissingCriticalField`: never return, never run its body on a default.

    The ``dict`` framing hands the handler a mapping that notes which fields its body looks up:
    a lookup of a field the declared version has (not nullable) but the old version does not send
    (``event.get("customerTier", "BASIC")``) fails that version's cases too, even when the field
    was never declared critical: that is the incident syscontract exists for.

    Returns a :class:`StaleReport`; raises :class:`StaleProducerError` (an ``AssertionError``)
    listing every case that got through. Other positional and keyword arguments are passed to the
    handler after the message.

    ::

        stale_producer = StaleProducer()
        stale_producer(on_order)                                   # sync handlers (async: asyncio.run)
        await stale_producer.check_async(on_order_async)           # inside a running event loop
        StaleProducer(critical=["customer.customerTier"])(on_order)
    """

    def __init__(self, *, critical: Iterable[str] = (), framings: Iterable[str] = FRAMINGS) -> None:
        self.critical = tuple(critical)
        self.framings = tuple(framings)
        unknown = [framing for framing in self.framings if framing not in FRAMINGS]
        if unknown:
            raise ContractDeclarationError(
                f"StaleProducer(framings=...): unknown framing {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(FRAMINGS)}",
                reason="bad-option",
            )

    def __repr__(self) -> str:
        return f"StaleProducer(critical={list(self.critical)!r}, framings={list(self.framings)!r})"

    def using(self, *, critical: Iterable[str] | None = None, framings: Iterable[str] | None = None) -> StaleProducer:
        """A copy with other options: ``stale_producer.using(critical=["customer.customerTier"])``."""
        return StaleProducer(
            critical=self.critical if critical is None else critical,
            framings=self.framings if framings is None else framings,
        )

    def __call__(self, handler: Callable[..., Any], sample: Any = None, /, *args: Any, **kwargs: Any) -> StaleReport:
        """Check ``handler`` (see the class); an async handler is run with ``asyncio.run``."""
        __tracebackhide__ = True
        return self.check(handler, sample, *args, **kwargs)

    def check(self, handler: Callable[..., Any], sample: Any = None, /, *args: Any, **kwargs: Any) -> StaleReport:
        """Check ``handler``; the same as calling the object."""
        __tracebackhide__ = True  # pytest shows the test's line and the report, not these frames
        declaration = _declaration(handler)
        if declaration.is_async or inspect.iscoroutinefunction(handler):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self.check_async(handler, sample, *args, **kwargs))
            raise RuntimeError(
                f"{declaration.name} is async and an event loop is running: "
                "use `await stale_producer.check_async(handler)`"
            )
        session = self._session(handler, declaration, sample)
        try:
            message = next(session)
            while True:
                message = session.send(_call(handler, declaration, message, args, kwargs))
        except StopIteration as done:
            report: StaleReport = done.value
        finally:
            session.close()
        return _finish(report)

    async def check_async(
        self, handler: Callable[..., Any], sample: Any = None, /, *args: Any, **kwargs: Any
    ) -> StaleReport:
        """Check ``handler`` inside a running event loop (async handlers are awaited)."""
        __tracebackhide__ = True
        declaration = _declaration(handler)
        session = self._session(handler, declaration, sample)
        try:
            message = next(session)
            while True:
                outcome = _call(handler, declaration, message, args, kwargs)
                if outcome.returned and inspect.isawaitable(outcome.value):
                    try:
                        outcome = _Outcome(True, await outcome.value)
                    except Exception as exc:
                        outcome = _Outcome(False, None, exc)
                message = session.send(outcome)
        except StopIteration as done:
            report: StaleReport = done.value
        finally:
            session.close()
        return _finish(report)

    # -- the cases ---------------------------------------------------------------------------------

    def _session(
        self, handler: Callable[..., Any], declaration: Declaration, sample: Any
    ) -> Generator[Any, _Outcome, StaleReport]:
        """Yields each message to send, receives what the handler did; returns the report."""
        checker = declaration.checker or declaration.resolve()
        declared = checker.contract
        for path in self.critical:
            declared.field(path)  # an unknown path is a ContractDeclarationError here
        critical = tuple(dict.fromkeys([*checker.fields, *self.critical]))
        registry = declaration.registry if declaration.registry is not None else _config.settings().registry
        report = StaleReport(declaration.name, str(declared.ref), critical)
        name, top = declared.ref.name, declared.ref.version
        older = [lookup(ContractRef(name, version), registry) for version in _versions(registry, name) if version < top]
        if not older:
            report.notes.append(f"{registry!r} has no version of {name} older than v{top}")
            return report
        payload = _sample(declared, sample, critical)
        ids, writers, note = self._writer_ids(declaration, declared, older, registry)
        if note:
            report.notes.append(note)
        forced = _Forced(declaration, None if writers is None else _WriterIds(registry, writers))
        with forced:
            for old in older:
                messages = self._messages(declared, old, payload, critical, ids)
                traced: tuple[str, ...] = ()
                for message in messages:
                    try:
                        built = message.build()
                    except _Skip as skip:
                        report.notes.append(f"{message.version} via {message.framing}: not sent ({skip})")
                        continue
                    except Exception as exc:
                        report.cases.append(_unbuildable(message, exc))
                        continue
                    outcome = yield built
                    if message.reads is not None:
                        traced = _defaulted(declared, old, message.reads)
                    report.cases.append(_judge(declared, message, outcome, traced))
        return report

    def _messages(
        self, declared: Contract, old: Contract, payload: Any, critical: tuple[str, ...], ids: dict[int, int | None]
    ) -> list[_Message]:
        version = str(old.ref)
        missing = tuple(path for path in critical if not _has_field(old, path))
        projected = project_payload(payload, old, critical)
        messages: list[_Message] = []

        def add(framing: str, build: Callable[[], Any]) -> _Message:
            message = _Message(version, framing, missing, build)
            if framing in self.framings:
                messages.append(message)
            return message

        reads: set[str] = set()
        traced = add("dict", lambda: _Traced(projected, "", reads))
        traced.reads = reads
        add("json", lambda: _json_bytes(projected))
        if old.format == "avro":
            add("avro", lambda: Envelope(avro_wire.encode(projected, old.native), {CONTRACT_HEADER: version.encode()}))
            add("confluent", lambda: _confluent(old, projected, ids.get(old.ref.version)))
        model = declared.model
        if model is not None:
            add("model", lambda: _model(model, projected))
        return messages

    def _writer_ids(
        self, declaration: Declaration, declared: Contract, older: list[Contract], registry: Registry
    ) -> tuple[dict[int, int | None], Any, str | None]:
        """Schema ids for the ``confluent`` framing: ``(version -> id, writer registry to configure
        for the run or None, a note for the report)``."""
        avro = [old for old in older if old.format == "avro"]
        if "confluent" not in self.framings or not avro:
            return {}, None, None
        if declaration.registry is not None:
            # the handler reads writers from its own registry: use the ids it knows
            id_of = getattr(registry, "id_of", None)
            ids: dict[int, int | None] = {}
            for old in avro:
                try:
                    ids[old.ref.version] = None if id_of is None else int(id_of(old.ref))
                except RegistryError:
                    ids[old.ref.version] = None
            return ids, None, "confluent framing: schema ids from the handler's own registry"
        try:
            writers, ids = _mock_schema_registry(declared, [*older, declared])
        except ImportError:
            writers = MemoryRegistry()
            ids = {}
            for number, old in enumerate(avro, start=1):
                writers.add(old, schema_id=number)
                ids[old.ref.version] = number
            return ids, writers, "confluent framing: confluent-kafka is not installed, schema ids from a MemoryRegistry"
        return ids, writers, "confluent framing: confluent-kafka's mock:// Schema Registry through ConfluentRegistry"


stale_producer: Final = StaleProducer()
"""A :class:`StaleProducer` with the default options: ``stale_producer(handler)``."""


def _declaration(handler: Callable[..., Any]) -> Declaration:
    from syscontract._engine.declaration import Declaration

    declaration = getattr(handler, "__syscontract__", None)
    if not isinstance(declaration, Declaration):
        raise TypeError(
            f"stale_producer checks a handler decorated with @requires; {handler!r} is not one "
            "(no __syscontract__ declaration)"
        )
    return declaration


def _versions(registry: Registry, name: str) -> list[int]:
    found = set(CODE.versions(name))
    with contextlib.suppress(RegistryError):  # the name is known in code only
        found.update(registry.versions(name))
    return sorted(found)


def _sample(declared: Contract, sample: Any, critical: Sequence[str]) -> Any:
    if sample is None:
        return minimal_payload(declared, critical)
    if isinstance(sample, BaseModel):
        return sample.model_dump(mode="json", by_alias=True)
    if isinstance(sample, (bytes, bytearray, str)):
        return json_wire.decode(bytes(sample) if not isinstance(sample, str) else sample)
    if not isinstance(sample, Mapping):
        raise TypeError(f"the sample is a {type(sample).__name__}; give a mapping, a pydantic model or JSON")
    return sample


class _Forced:
    """For the run: the declaration's policy is ``raise``; the ``confluent`` writers registry is
    configured (when the handler uses the process-wide registry). Both restored afterwards."""

    def __init__(self, declaration: Declaration, registry: _WriterIds | None) -> None:
        self.declaration = declaration
        self.registry = registry
        self.saved_policy: str | None = None
        self.saved_registry: Registry | None = None

    def __enter__(self) -> None:
        policy = self.declaration.policy
        self.saved_policy = policy.on_violation
        policy.on_violation = "raise"
        if self.registry is not None:
            self.saved_registry = _config.settings().explicit_registry
            _config.configure(registry=self.registry)

    def __exit__(self, *exc: object) -> None:
        self.declaration.policy.on_violation = self.saved_policy
        if self.registry is not None:
            _config.configure(registry=self.saved_registry)


def _mock_schema_registry(declared: Contract, versions: list[Contract]) -> tuple[Any, dict[int, int | None]]:
    """confluent-kafka's in-memory Schema Registry holding every Avro version under the subject named
    like the contract, version numbers lined up (placeholders fill the gaps); ImportError without it."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    from syscontract.registry.confluent import ConfluentRegistry

    name = declared.ref.name
    by_version = {contract.ref.version: contract for contract in versions}
    client = SchemaRegistryClient.new_client({"url": f"mock://syscontract-stale-producer-{uuid.uuid4().hex}"})
    ids: dict[int, int | None] = {}
    for version in range(1, declared.ref.version + 1):
        contract = by_version.get(version)
        if contract is not None and contract.format == "avro":
            text = json.dumps(contract.schema)
        else:
            text = json.dumps({"type": "record", "name": f"SyscontractPlaceholderV{version}", "fields": []})
        registered = client.register_schema_full_response(name, Schema(text, "AVRO"))
        if registered.version != version:  # the same schema twice: the subject's versions no longer line up
            raise ImportError("the mock registry cannot hold these versions apart")
        if contract is not None and contract.format == "avro":
            ids[version] = registered.schema_id
    return ConfluentRegistry(client), ids


def _json_bytes(payload: Any) -> bytes:
    try:
        return json_wire.encode(payload)
    except (TypeError, ValueError) as exc:
        raise _Skip(f"the message holds values JSON cannot carry ({exc})") from exc


def _confluent(old: Contract, payload: Any, schema_id: int | None) -> bytes:
    if schema_id is None:
        raise _Skip(f"the handler's registry has no schema id for {old.ref}")
    return confluent_wire.encode(schema_id, avro_wire.encode(payload, old.native))


def _model(model: type[BaseModel], payload: Any) -> BaseModel:
    try:
        return model.model_validate_json(json_wire.encode(payload))
    except ValidationError as exc:
        raise _Skip(f"{model.__qualname__} cannot be built from it ({exc.error_count()} validation errors)") from exc
    except (TypeError, ValueError):
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise _Skip(f"{model.__qualname__} cannot be built from it ({exc.error_count()} errors)") from exc


def _call(
    handler: Callable[..., Any], declaration: Declaration, message: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _Outcome:
    parameter = _message_parameter(handler, declaration)
    try:
        if parameter is None:
            value = handler(message, *args, **kwargs)
        else:
            value = handler(*args, **{parameter: message}, **kwargs)
    except Exception as exc:
        return _Outcome(False, None, exc)
    return _Outcome(True, value)


def _message_parameter(handler: Callable[..., Any], declaration: Declaration) -> str | None:
    """None when the message is the handler's first positional parameter (as called), else its name."""
    wrapper = getattr(declaration, "_wrapper", None)
    name = getattr(wrapper, "message", None)
    if not isinstance(name, str):
        return None
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return None
    if parameters and parameters[0].name == name and parameters[0].kind is not inspect.Parameter.KEYWORD_ONLY:
        return None
    return name


def _defaulted(declared: Contract, old: Contract, reads: set[str]) -> tuple[str, ...]:
    """Fields the body looked up that the declared version sends (not nullable) and ``old`` has not."""
    found = []
    for path in sorted(reads):
        try:
            wanted = declared.field(path)
        except ContractDeclarationError:
            continue
        if not wanted.nullable and not _has_field(old, path):
            found.append(path)
    return tuple(found)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any, limit: int = 60) -> str:
    return _clip(repr(value), limit)


def _raised(error: BaseException) -> str:
    if isinstance(error, ContractError):
        details = ", ".join(str(part) for part in (error.field, error.reason) if part)
        return f"raised {type(error).__name__}" + (f" ({details})" if details else "")
    return f"raised {type(error).__name__}: {_clip(str(error), 80)}"


def _judge(declared: Contract, message: _Message, outcome: _Outcome, traced: tuple[str, ...]) -> StaleCase:
    missing = message.missing
    expected = _EXPECT_REFUSAL if missing else _EXPECT_ACCEPTED
    error = outcome.error
    happened = f"returned {_short(outcome.value)}" if outcome.returned else _raised(error or Exception())
    ran = outcome.returned or not isinstance(error, ContractError)  # the body may have run
    lacks = ", ".join(missing)
    problem = None
    if missing and not isinstance(error, MissingCriticalField):
        if outcome.returned:
            problem = (
                f"expected MissingCriticalField ({message.version} does not have {lacks}), but the handler "
                f"{happened}: its body ran on a default"
            )
        else:
            problem = (
                f"expected MissingCriticalField ({message.version} does not have {lacks}), but the handler {happened}"
            )
    elif not missing and traced and ran:
        fields = ", ".join(traced)
        quoted = ", ".join(f'"{path}"' for path in traced)
        problem = (
            f"the handler's body read {fields}, which {message.version} does not send, and {happened} "
            f'(it ran on a default); declare it: @requires("{declared.ref}", [{quoted}])'
        )
        happened += f"; the body read {fields}, not sent"
    if not missing and not problem and outcome.returned:
        happened = f"accepted ({happened})"
    return StaleCase(
        version=message.version,
        framing=message.framing,
        expected=expected,
        missing=missing,
        outcome=happened,
        failed=problem is not None,
        error=error,
        defaulted=traced if not missing else (),
        problem=problem,
    )


def _unbuildable(message: _Message, exc: Exception) -> StaleCase:
    problem = (
        f"could not build the message {message.version}'s producer would send "
        f"({type(exc).__name__}: {_clip(str(exc), 120)}); give a valid sample"
    )
    return StaleCase(
        version=message.version,
        framing=message.framing,
        expected=_EXPECT_REFUSAL if message.missing else _EXPECT_ACCEPTED,
        missing=message.missing,
        outcome="not sent: the message could not be built",
        failed=True,
        error=exc,
        problem=problem,
    )


def _finish(report: StaleReport) -> StaleReport:
    __tracebackhide__ = True
    if report.failures:
        raise StaleProducerError(report)
    return report


_PACKAGE: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _from_user_code() -> bool:
    """Whether the lookup being noted comes from the handler's code, not syscontract's own checks."""
    frame = sys._getframe(3)  # _from_user_code <- _note <- the mapping's method <- its caller
    filename = frame.f_code.co_filename
    return not (filename.startswith("<syscontract") or filename.startswith(_PACKAGE))


class _Traced(dict):  # type: ignore[type-arg]
    """A decoded message (a real ``dict``, so handlers can use it as one) that notes the lookups of
    keys it does not have: ``event.get("customerTier", "BASIC")`` on a message without it."""

    __slots__ = ("_prefix", "_reads")

    def __init__(self, data: Mapping[str, Any] | None = None, prefix: str = "", reads: set[str] | None = None) -> None:
        super().__init__()
        self._prefix = prefix
        self._reads: set[str] = set() if reads is None else reads
        for key, value in (data or {}).items():
            dict.__setitem__(self, key, _traced(value, f"{prefix}{key}", self._reads))

    def _note(self, key: object) -> None:
        if isinstance(key, str) and _from_user_code():
            self._reads.add(f"{self._prefix}{key}")

    def __getitem__(self, key: Any) -> Any:
        if not dict.__contains__(self, key):
            self._note(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        if not dict.__contains__(self, key):
            self._note(key)
            return default
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        found = dict.__contains__(self, key)
        if not found:
            self._note(key)
        return found

    def pop(self, key: Any, *default: Any) -> Any:
        if not dict.__contains__(self, key):
            self._note(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if not dict.__contains__(self, key):
            self._note(key)
        return dict.setdefault(self, key, default)


def _traced(value: Any, path: str, reads: set[str]) -> Any:
    if isinstance(value, Mapping):
        return _Traced(value, f"{path}.", reads)
    if isinstance(value, list):
        return [_traced(item, f"{path}[]", reads) for item in value]
    return value


# == telemetry without an SDK =====================================================================


@dataclass(frozen=True)
class SpanEvent:
    """An event added to an :class:`InMemorySpan`: ``name``, ``attributes``, and the span's name."""

    name: str
    attributes: dict[str, Any]
    span: str = ""


@dataclass(frozen=True)
class Point:
    """One observation collected from an observable instrument."""

    instrument: str
    value: float
    attributes: dict[str, Any]


def _attributes(attributes: Attributes | Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in (attributes or {}).items()}


class InMemorySpan(trace.Span):
    """A span that records what it is told: ``name``, ``kind``, ``parent`` (a ``SpanContext`` or
    None), ``attributes``, ``events`` (:class:`SpanEvent`), ``status``, ``exceptions``, ``ended``."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.attributes: dict[str, Any] = _attributes(attributes)
        self.events: list[SpanEvent] = []
        self.links: list[tuple[SpanContext, dict[str, Any]]] = []
        self.status = Status(StatusCode.UNSET)
        self.exceptions: list[BaseException] = []
        self.ended = False
        self._context = context
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemorySpan {self.name!r} {self.status.status_code.name}{' ended' if self.ended else ''}>"

    def end(self, end_time: int | None = None) -> None:
        self.ended = True

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self.ended:
            with self._lock:
                self.attributes.update(_attributes(attributes))

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def add_event(self, name: str, attributes: Attributes = None, timestamp: int | None = None) -> None:
        if not self.ended:
            with self._lock:
                self.events.append(SpanEvent(name, _attributes(attributes), self.name))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if not self.ended:
            self.links.append((context, _attributes(attributes)))

    def update_name(self, name: str) -> None:
        if not self.ended:
            self.name = name

    def is_recording(self) -> bool:
        return not self.ended

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if not self.ended:
            self.status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        if self.ended:
            return
        self.exceptions.append(exception)
        event = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.escaped": escaped,
            **_attributes(attributes),
        }
        self.add_event("exception", event)


class InMemoryTracer(trace.Tracer):
    """Starts :class:`InMemorySpan` objects and records them on its provider."""

    def __init__(self, provider: InMemoryTracerProvider, name: str, version: str | None = None) -> None:
        self.provider = provider
        self.name = name
        self.version = version

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> InMemorySpan:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else random.getrandbits(128) or 1
        span_context = SpanContext(
            trace_id, random.getrandbits(64) or 1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
        span = InMemorySpan(name, span_context, parent if parent.is_valid else None, kind, attributes)
        for link in links or ():
            span.add_link(link.context, link.attributes)
        self.provider._record(span)
        return span

    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[InMemorySpan]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ):
            yield span


class InMemoryTracerProvider(trace.TracerProvider):
    """A ``TracerProvider`` of the OpenTelemetry API that keeps every span it starts in ``spans``."""

    def __init__(self) -> None:
        self._spans: list[InMemorySpan] = []
        self._lock = threading.Lock()

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> InMemoryTracer:
        return InMemoryTracer(self, instrumenting_module_name, instrumenting_library_version)

    def _record(self, span: InMemorySpan) -> None:
        with self._lock:
            self._spans.append(span)

    @property
    def spans(self) -> list[InMemorySpan]:
        """Every span started so far, in order."""
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


class InMemoryObservable(metrics.ObservableCounter, metrics.ObservableGauge, metrics.ObservableUpDownCounter):
    """An observable instrument that keeps its callbacks; :meth:`observe` calls them."""

    def __init__(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = "", kind: str = ""
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.kind = kind
        self.callbacks = list(callbacks or ())
        self._primed: set[int] = set()

    def __repr__(self) -> str:
        return f"<InMemoryObservable {self.kind} {self.name!r}>"

    def observe(self) -> list[Point]:
        """Call every callback once; their observations as :class:`Point` objects."""
        options = CallbackOptions()
        points: list[Point] = []
        for callback in self.callbacks:
            if inspect.isgenerator(callback):
                generator = cast("Generator[Iterable[Observation], CallbackOptions, None]", callback)
                if id(generator) not in self._primed:
                    next(generator)
                    self._primed.add(id(generator))
                observations: Iterable[Observation] = generator.send(options)
            else:
                observations = callback(options)
            points.extend(
                Point(self.name, observation.value, _attributes(observation.attributes)) for observation in observations
            )
        return points


class InMemoryMeter(metrics.Meter):
    """A ``Meter`` of the OpenTelemetry API: observable instruments keep their callbacks (collected
    by :meth:`InMemoryMeterProvider.collect`); synchronous instruments are no-ops."""

    def __init__(self, name: str, version: str | None = None, schema_url: str | None = None) -> None:
        super().__init__(name, version=version, schema_url=schema_url)
        self.observables: list[InMemoryObservable] = []

    def _observable(self, kind: str, name: str, callbacks: Sequence[Any] | None, unit: str, description: str) -> Any:
        instrument = InMemoryObservable(name, callbacks, unit, description, kind)
        self.observables.append(instrument)
        return instrument

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        return metrics.NoOpCounter(name, unit=unit, description=description)

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> metrics.UpDownCounter:
        return metrics.NoOpUpDownCounter(name, unit=unit, description=description)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        return metrics.NoOpHistogram(name, unit=unit, description=description)

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> Any:
        no_op = getattr(metrics, "NoOpGauge", None)  # opentelemetry-api >= 1.23
        return None if no_op is None else no_op(name, unit=unit, description=description)

    def create_observable_counter(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableCounter:
        return self._observable("counter", name, callbacks, unit, description)  # type: ignore[no-any-return]

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableGauge:
        return self._observable("gauge", name, callbacks, unit, description)  # type: ignore[no-any-return]

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableUpDownCounter:
        return self._observable("up_down_counter", name, callbacks, unit, description)  # type: ignore[no-any-return]


class InMemoryMeterProvider(metrics.MeterProvider):
    """A ``MeterProvider`` of the OpenTelemetry API; :meth:`collect` calls every observable
    instrument's callbacks, as a metric reader would."""

    def __init__(self) -> None:
        self._meters: dict[tuple[str, str | None, str | None], InMemoryMeter] = {}
        self._lock = threading.Lock()

    def get_meter(
        self, name: str, version: str | None = None, schema_url: str | None = None, attributes: Attributes = None
    ) -> InMemoryMeter:
        with self._lock:
            key = (name, version, schema_url)
            meter = self._meters.get(key)
            if meter is None:
                meter = self._meters[key] = InMemoryMeter(name, version, schema_url)
            return meter

    @property
    def meters(self) -> list[InMemoryMeter]:
        with self._lock:
            return list(self._meters.values())

    def collect(self, instrument: str | None = None) -> list[Point]:
        """Observe every observable instrument (or only those named ``instrument``) now."""
        return [
            point
            for meter in self.meters
            for observable in list(meter.observables)
            if instrument is None or observable.name == instrument
            for point in observable.observe()
        ]


_SeriesKey = frozenset[tuple[str, Any]]


class TelemetryCapture:
    """syscontract's telemetry in memory, for a block: no OpenTelemetry SDK needed.

    Starting it configures syscontract with an :class:`InMemoryTracerProvider` and an
    :class:`InMemoryMeterProvider` (``syscontract.configure(tracer_provider=..., meter_provider=...)``;
    handlers decorated before it started report through them too); stopping it restores the
    providers configured before. Message counts are those since the capture started.

    ::

        with TelemetryCapture() as capture:
            with capture.span("consume"):          # a recording span, current for the block
                on_order(stale_order)               # raises MissingCriticalField
            assert 1 == capture.messages(contract="order.v3", outcome="violation")
            assert "customer.customerTier" == capture.violations()[0].attributes["syscontract.field"]

    syscontract annotates the *current* span: run handlers inside :meth:`span` (or use
    ``spans="child"``) to see span attributes and violation events.
    """

    def __init__(self) -> None:
        self.tracer_provider = InMemoryTracerProvider()
        self.meter_provider = InMemoryMeterProvider()
        self.tracer = self.tracer_provider.get_tracer("syscontract.testing")
        self._saved: tuple[Any, Any] | None = None
        self._baseline: Counter[_SeriesKey] = Counter()

    def __repr__(self) -> str:
        return f"<TelemetryCapture {'started' if self._saved is not None else 'stopped'}>"

    def start(self) -> TelemetryCapture:
        """Configure the in-memory providers (restored by :meth:`stop`)."""
        if self._saved is not None:
            raise RuntimeError("this TelemetryCapture is already started")
        current = _config.settings()
        self._saved = (current.tracer_provider, current.meter_provider)
        _config.configure(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)
        self._baseline = self._counts()
        return self

    def stop(self) -> None:
        """Restore the providers configured before :meth:`start`."""
        if self._saved is None:
            return
        tracer_provider, meter_provider = self._saved
        self._saved = None
        _config.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)

    def __enter__(self) -> TelemetryCapture:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- spans -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def span(self, name: str = "test", attributes: Mapping[str, Any] | None = None) -> Iterator[InMemorySpan]:
        """A recording span, current for the block (a consumer span, as a broker instrumentation opens);
        an exception leaving the block is recorded on it and propagates."""
        with self.tracer.start_as_current_span(name, kind=SpanKind.CONSUMER, attributes=dict(attributes or {})) as span:
            yield span

    @property
    def spans(self) -> list[InMemorySpan]:
        """Every span started through the capture's tracer provider (yours and syscontract's child spans)."""
        return self.tracer_provider.spans

    def violations(self, contract: str | None = None) -> list[SpanEvent]:
        """The ``syscontract.violation`` span events, in order (of one contract, if given)."""
        found = []
        for span in self.spans:
            for event in list(span.events):
                if event.name != _telemetry.VIOLATION_EVENT:
                    continue
                if contract is None or span.attributes.get(_telemetry.CONTRACT) == contract:
                    found.append(event)
        return found

    # -- metrics -----------------------------------------------------------------------------------

    def collect(self) -> list[Point]:
        """Every point of syscontract's observable instruments now (cumulative since start-up)."""
        return self.meter_provider.collect()

    def _counts(self) -> Counter[_SeriesKey]:
        counts: Counter[_SeriesKey] = Counter()
        for point in self.meter_provider.collect(_telemetry.MESSAGES):
            counts[frozenset(point.attributes.items())] += int(point.value)
        return counts

    def messages(
        self,
        contract: str | None = None,
        outcome: str | None = None,
        writer: str | None = None,
        role: str | None = None,
    ) -> int:
        """Messages syscontract counted since the capture started (``syscontract.messages``), summed
        over the series that match every filter given: ``contract`` (``order.v3``), ``outcome``
        (``ok``, ``violation``, ``decode_error``), ``writer`` (``order.v2``), ``role`` (``consumer``)."""
        wanted = {
            _telemetry.CONTRACT: contract,
            _telemetry.OUTCOME: outcome,
            _telemetry.WRITER_VERSION: writer,
            _telemetry.ROLE: role,
        }
        total = 0
        for key, count in self._counts().items():
            attributes = dict(key)
            if all(value is None or attributes.get(name) == value for name, value in wanted.items()):
                total += max(0, count - self._baseline.get(key, 0))
        return total

    def declarations(self, contract: str | None = None, role: str | None = None) -> list[Point]:
        """The points of ``syscontract.declarations`` (one per contract, role, handler and fields),
        of one contract or role if given."""
        return [
            point
            for point in self.meter_provider.collect(_telemetry.DECLARATIONS)
            if (contract is None or point.attributes.get(_telemetry.CONTRACT) == contract)
            and (role is None or point.attributes.get(_telemetry.ROLE) == role)
        ]

    def clear(self) -> None:
        """Forget the spans recorded and count messages from now on."""
        self.tracer_provider.clear()
        self._baseline = self._counts()
