"""Bytes into the payload a handler receives, knowing who wrote them.

A :class:`Decoder` belongs to one checker (one reader contract and its critical fields). For each
message it finds the framing (Confluent schema id or GUID, in the prefix or a header; Avro
single-object fingerprint; a ``syscontract-contract`` header naming the writer; or plain JSON), asks
the registry for the writer's contract once per writer, and decodes the body once, with Avro schema
resolution into the reader's contract when it is Avro.

The reader-default trap is decided here, once per writer schema: a critical field the writer's Avro
schema does not have would be filled by the reader's default during resolution, so every message from
that writer raises :class:`MissingCriticalField` with reason ``not-in-writer-schema``. Per message the
cost is a dictionary lookup. The per-writer plans are keyed by data from the wire and bounded.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import fastavro
from pydantic import BaseModel, ValidationError

from syscontract import wire
from syscontract.contract import Contract, ContractRef, FieldPath
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
    RegistryError,
)
from syscontract.wire import avro, confluent, single_object
from syscontract.wire import json as json_wire

__all__ = ["MAX_MESSAGE_BYTES", "MAX_WRITERS", "Decoder", "WriterPlan"]

MAX_WRITERS = 1024
"""Writer plans kept per checker (schema ids, GUIDs, fingerprints and writer names seen on the wire)."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""A message larger than this is refused (``DecodeError``, reason ``too-large``) before it is decoded."""

Headers = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


@dataclass(frozen=True)
class WriterPlan:
    """What is known about one writer, decided once: how to read its messages, and whether a
    critical field is missing from its schema."""

    writer: Contract
    label: str
    kind: str  # "avro" or "json"
    writer_schema: Any = None
    reader_schema: Any = None
    missing: tuple[tuple[str, str], ...] = field(default=())  # (path, what the reader would have filled)
    scan: bool = False  # collections of zero-width items: bound their declared sizes before decoding


class Decoder:
    """Decodes messages for one reader contract."""

    def __init__(self, reader: Contract, critical: Sequence[FieldPath], registry: Any | None) -> None:
        self.reader = reader
        self.ref = str(reader.ref)
        self.critical = critical
        self.registry = registry
        self.model = reader.model
        self._plans: dict[object, WriterPlan] = {}
        # Confluent prefix (magic byte 0 and the 4-byte id) -> (writer schema, reader schema, label), for writers
        # whose messages need nothing but decoding: the hot path reads this table directly
        self.fast_avro: dict[bytes, tuple[Any, Any, str, bool]] = {}
        self._lock = threading.Lock()

    def decode(
        self, raw: bytes | bytearray | memoryview | str, headers: Headers = None, *, key: bool = False
    ) -> tuple[Any, WriterPlan | None]:
        """The decoded payload and the writer's plan (None for plain JSON). Raises
        :class:`DecodeError`, :class:`RegistryError` or a :class:`ContractViolation`."""
        if len(raw) > MAX_MESSAGE_BYTES:
            raise DecodeError(
                f"message of {len(raw)} bytes is larger than the {MAX_MESSAGE_BYTES} accepted",
                contract=self.ref,
                reason="too-large",
                payload=raw,
            )
        if isinstance(raw, str):
            return self._json(raw, raw), None
        data = raw if type(raw) is bytes else bytes(raw)
        carried = wire.header(headers, confluent.KEY_HEADER if key else confluent.VALUE_HEADER)
        if carried is not None:
            plan, offset = self._plan(("confluent", confluent.decode_header(carried))), 0
        elif confluent.detect(data):
            schema_key, offset = confluent.decode(data)
            plan = self._plan(("confluent", schema_key))
        elif single_object.detect(data):
            fingerprint, offset = single_object.decode(data)
            plan = self._plan(("fingerprint", fingerprint))
        else:
            named = wire.header(headers, wire.CONTRACT_HEADER)
            if named is None:
                if self.reader.format == "avro" and not json_wire.detect(data):
                    raise DecodeError(
                        "Avro bytes without framing: the writer is unknown (send Confluent framing, single-object "
                        f"encoding, or a {wire.CONTRACT_HEADER!r} header naming the writer's contract)",
                        contract=self.ref,
                        reason="no-framing",
                        payload=raw,
                    )
                return self._json(data, raw), None
            text = named.decode("utf-8", "replace") if isinstance(named, (bytes, bytearray)) else str(named)
            plan, offset = self._plan(("contract", text)), 0
            if wire.header(headers, wire.ENCODING_HEADER) in (b"json", "json"):
                return self._json(data, raw), plan
        if plan.kind == "json":
            return self._json(data[offset:] if offset else data, raw), plan
        if plan.scan:
            avro.check_collections(data, offset, plan.writer_schema)
        if plan.missing:
            raise self._not_in_writer(plan, data, offset)
        try:
            payload = avro.decode(data, offset, plan.writer_schema, plan.reader_schema)
        except avro.IncompatibleWriter as exc:
            raise ContractViolation(
                f"the writer schema {plan.label} cannot be read as this contract ({exc})",
                contract=self.ref,
                reason="incompatible-writer",
                writer=plan.label,
                payload=raw,
            ) from exc
        if self.model is not None:
            return self._model(payload, raw, plan), plan
        return payload, plan

    # -- plans (once per writer) ---------------------------------------------------------------

    def fast_confluent(self, data: bytes) -> tuple[Any, str, bool] | None:
        """Decode a Confluent-framed message from a writer already known to need nothing but
        decoding; None when that is not so or anything is unusual (the full path then decides).
        The flag says the decoded payload passes the critical-field checks by construction."""
        entry = self.fast_avro.get(data[:5])
        if entry is None or len(data) > MAX_MESSAGE_BYTES:
            return None
        stream = io.BytesIO(data)
        stream.seek(5)
        try:
            payload = fastavro.schemaless_reader(stream, entry[0], entry[1])
        except Exception:
            return None
        return (payload, entry[2], entry[3]) if stream.tell() == len(data) else None

    def _plan(self, key: tuple[str, object]) -> WriterPlan:
        plan = self._plans.get(key)
        if plan is None:
            plan = self._make_plan(key)
            with self._lock:
                while len(self._plans) >= MAX_WRITERS:
                    del self._plans[next(iter(self._plans))]
                self._plans[key] = plan
                kind, value = key
                if kind == "confluent" and type(value) is int and self._only_decoding(plan):
                    while len(self.fast_avro) >= MAX_WRITERS:
                        del self.fast_avro[next(iter(self.fast_avro))]
                    prefix = b"\x00" + value.to_bytes(4, "big")
                    sound = self._sound(plan)
                    self.fast_avro[prefix] = (plan.writer_schema, plan.reader_schema, plan.label, sound)
        return plan

    def _sound(self, plan: WriterPlan) -> bool:
        """Whether every message this writer sends passes the critical-field checks once decoded:
        the writer's schema is the reader's (no resolution), and along every critical path no field
        or array element may be null. Avro decoding then yields exactly the contract's types."""
        if plan.reader_schema is not None:
            return False
        try:
            for path in self.critical:
                for prop, node in plan.writer.walk(path):
                    if prop.node.accepts(None) or node.accepts(None):
                        return False
        except ContractError:
            return False
        return True

    def _only_decoding(self, plan: WriterPlan) -> bool:
        """Whether messages from this writer need nothing but decoding before the field checks."""
        return plan.kind == "avro" and not plan.missing and not plan.scan and self.model is None

    def _make_plan(self, key: tuple[str, object]) -> WriterPlan:
        kind, value = key
        writer = self._writer(kind, value)
        label = str(writer.ref)
        if writer.format != "avro":
            return WriterPlan(writer, label, "json")
        reader_schema = None
        missing: list[tuple[str, str]] = []
        if self.reader.format == "avro" and self.reader.avro_fingerprint != writer.avro_fingerprint:
            reader_schema = self.reader.native
            for path in self.critical:
                if not _sent_by(self.reader.schema, writer.schema, path):
                    found = self.reader.field(path)
                    filled = f"the reader default {found.default!r} was not used" if found.has_default else ""
                    missing.append((path.text, filled))
        scan = avro.zero_width(writer.native)
        return WriterPlan(writer, label, "avro", writer.native, reader_schema, tuple(missing), scan)

    def _writer(self, kind: str, value: object) -> Contract:
        registry = self.registry
        argument: object
        if kind == "contract":
            assert isinstance(value, str)
            try:
                ref = ContractRef.parse(value)
            except ContractDeclarationError as exc:
                raise DecodeError(
                    f"header {wire.CONTRACT_HEADER!r} does not name a contract: {exc.detail}",
                    contract=self.ref,
                    reason="bad-framing",
                ) from exc
            if ref == self.reader.ref:
                return self.reader
            method, argument = "get", ref
        elif kind == "fingerprint":
            assert isinstance(value, bytes)
            if value == self.reader.avro_fingerprint:
                return self.reader
            method, argument = "by_fingerprint", value
        else:
            method, argument = ("by_guid", value) if isinstance(value, uuid.UUID) else ("by_id", value)
        lookup = getattr(registry, method, None)
        if lookup is None:
            raise RegistryError(
                f"the registry {registry!r} cannot find a writer schema by {method[3:] or 'name'}",
                contract=self.ref,
                reason="unknown-schema",
            )
        try:
            found = lookup(argument)
        except RegistryError as exc:
            exc.contract = exc.contract or self.ref
            raise
        if not isinstance(found, Contract):  # pragma: no cover - a registry breaking its protocol
            raise RegistryError(f"the registry returned {type(found).__name__}, not a Contract", contract=self.ref)
        return found

    # -- bodies --------------------------------------------------------------------------------

    def _json(self, data: bytes | str, raw: Any) -> Any:
        if self.model is None:
            try:
                return json_wire.decode(data)
            except DecodeError as exc:
                exc.contract, exc.payload = self.ref, raw
                raise
        try:
            return self.model.model_validate_json(data)
        except ValidationError as exc:
            raise self._from_validation(exc, raw, lambda: json_wire.decode(data)) from exc

    def _model(self, payload: Any, raw: Any, plan: WriterPlan) -> BaseModel:
        assert self.model is not None
        try:
            return self.model.model_validate(payload)
        except ValidationError as exc:
            error = self._from_validation(exc, raw, lambda: payload)
            error.writer = plan.label
            raise error from exc

    def _from_validation(self, exc: ValidationError, raw: Any, decoded: Any) -> ContractError:
        assert self.model is not None
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return DecodeError(
                f"message is not valid JSON ({first['msg']})", contract=self.ref, reason="not-json", payload=raw
            )
        path = _loc_path(first["loc"])
        error: ContractViolation
        if first["type"] == "missing":
            error = MissingCriticalField(
                f"critical field {path!r} was not sent "
                f"(absent from the message; {self.model.__qualname__} requires it)",
                contract=self.ref,
                field=path,
                reason="absent",
                payload=raw,
            )
        else:
            where = f"field {path!r}" if path else "the message"
            error = FieldTypeError(
                f"{where} does not match {self.model.__qualname__}: {first['msg']}",
                contract=self.ref,
                field=path or None,
                reason="type",
                payload=raw,
            )
        try:
            error.decoded = decoded()
        except DecodeError:
            error.decoded = None
        return error

    def _not_in_writer(self, plan: WriterPlan, data: bytes, offset: int) -> MissingCriticalField:
        path, filled = plan.missing[0]
        detail = f"writer schema {plan.label} has no such field" + (f"; {filled}" if filled else "")
        error = MissingCriticalField(
            f"critical field {path!r} was not sent ({detail})",
            contract=self.ref,
            field=path,
            reason="not-in-writer-schema",
            writer=plan.label,
        )
        try:  # what the handler sees under "observe": what was sent, read with the writer's schema
            # alone, so no reader default ever stands in for the missing field
            if plan.scan:
                avro.check_collections(data, offset, plan.writer_schema)
            error.decoded = avro.decode(data, offset, plan.writer_schema)
        except (DecodeError, avro.IncompatibleWriter):
            error.decoded = None
        return error


def _loc_path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += "[]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text


# -- is a critical path in the writer's Avro schema? ------------------------------------------------


def _named(schema: Any, table: dict[str, Any]) -> dict[str, Any]:
    """Every named type in a (fully qualified, plain JSON) Avro schema."""
    if isinstance(schema, list):
        for branch in schema:
            _named(branch, table)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed") and "name" in schema:
            if schema["name"] in table:
                return table
            table[schema["name"]] = schema
        if kind in ("record", "error"):
            for entry in schema.get("fields", []):
                _named(entry["type"], table)
        elif kind == "array":
            _named(schema["items"], table)
        elif kind == "map":
            _named(schema["values"], table)
        elif isinstance(kind, (dict, list)):
            _named(kind, table)
    return table


def _branches(schema: Any, table: dict[str, Any]) -> list[Any]:
    """The concrete types a schema may be: unions flattened, names resolved."""
    if isinstance(schema, list):
        return [found for branch in schema for found in _branches(branch, table)]
    if isinstance(schema, str):
        return _branches(table[schema], table) if schema in table else [schema]
    if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
        return _branches(schema["type"], table)
    if isinstance(schema, dict) and isinstance(schema.get("type"), str) and schema["type"] in table:
        return _branches(table[schema["type"]], table)
    return [schema]


def _fields(types: list[Any]) -> list[dict[str, Any]]:
    return [
        entry for t in types if isinstance(t, dict) and t.get("type") in ("record", "error") for entry in t["fields"]
    ]


def _items(types: list[Any], table: dict[str, Any]) -> list[Any]:
    return [b for t in types if isinstance(t, dict) and t.get("type") == "array" for b in _branches(t["items"], table)]


def _sent_by(reader: Any, writer: Any, path: FieldPath) -> bool:
    """Whether the writer's schema has every step of ``path``, matching reader fields to writer fields
    by name or by the reader field's aliases, as Avro schema resolution does."""
    reader_table, writer_table = _named(reader, {}), _named(writer, {})
    reader_types, writer_types = _branches(reader, reader_table), _branches(writer, writer_table)
    for name, arrays in path.steps:
        reader_field = next((f for f in _fields(reader_types) if f["name"] == name), None)
        names = {name, *(reader_field.get("aliases", []) if reader_field else [])}
        writer_field = next((f for f in _fields(writer_types) if f["name"] in names), None)
        if writer_field is None:
            return False
        reader_types = _branches(reader_field["type"], reader_table) if reader_field else []
        writer_types = _branches(writer_field["type"], writer_table)
        for _ in range(arrays):
            reader_types, writer_types = _items(reader_types, reader_table), _items(writer_types, writer_table)
    return True
