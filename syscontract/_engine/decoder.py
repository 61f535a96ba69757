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

import sys
import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syscontract import wire
from syscontract._engine.presence import MISSING, PER_MESSAGE, AvroPair, Written, equal
from syscontract.contract import Contract, ContractRef, FieldPath, parse_path
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    DecodeError,
    MissingCriticalField,
    RegistryError,
)
from syscontract.registry._changes import on_change
from syscontract.wire import avro, confluent, single_object
from syscontract.wire import json as json_wire
from syscontract.wire import protobuf as protobuf_wire

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_WRITERS",
    "Decoder",
    "Source",
    "WriterPlan",
    "drop",
    "forget_writers",
    "resolved",
    "size",
    "written_only",
]

MAX_WRITERS = 1024
"""Writer plans kept per checker (schema ids, GUIDs, fingerprints and writer names seen on the wire)."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""A message larger than this is refused (``DecodeError``, reason ``too-large``) before it is decoded."""

Headers = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


@dataclass(frozen=True)
class WriterPlan:
    """What is known about one writer, decided once: how to read its messages, and which critical
    paths its schema cannot send (``missing``) or sends only in some messages (``per_message``)."""

    writer: Contract
    label: str
    kind: str  # "avro" or "json"
    writer_schema: Any = None
    reader_schema: Any = None  # None: the writer is the reader, nothing is resolved
    missing: tuple[tuple[str, str], ...] = field(default=())  # (path, what the reader would have filled)
    scan: bool = False  # zero-width collection items or a recursive schema: walk the body's bounds first
    pair: AvroPair | None = None
    per_message: tuple[FieldPath, ...] = ()  # critical paths decided on the writer's own datum
    exact: bool = True  # resolution can fill nothing: the resolved datum is what was written
    unsent: tuple[FieldPath, ...] = ()  # reader paths no message of this writer sends (defaults fill them)
    hazards: tuple[FieldPath, ...] = ()  # reader paths some messages of this writer do not send
    deep: bool = False  # reader records the contract's paths do not reach: strip per message, structurally
    proto: Any = None  # protobuf: the writer's ProtoSchema (the message its framing selects)
    gaps: tuple[tuple[type[ContractViolation], str, str, str], ...] = ()  # protobuf: what no message sends


@dataclass(slots=True)
class Source:
    """The bytes a payload was resolved from, and its writer's plan: the writer's own datum is read
    from them once, when a path must be judged on what the writer wrote."""

    plan: WriterPlan
    data: bytes
    offset: int
    written: Any = None  # the writer's own datum, once read

    def writer_datum(self) -> Any:
        if self.written is None:
            self.written = avro.decode(self.data, self.offset, self.plan.writer_schema, record_names=True)
        return self.written


def resolved(payload: dict[str, Any], plan: WriterPlan, data: bytes, offset: int = 5) -> dict[str, Any]:
    """``payload`` resolved from ``data`` by ``plan``'s writer, without what that writer did not write
    (:func:`written_only`)."""
    return written_only(payload, Source(plan, data, offset))


def written_only(payload: dict[str, Any], source: Source) -> dict[str, Any]:
    """``payload``, resolved from ``source``'s writer into the reader's schema, without what that
    writer did not write: a reader field it lacks (filled by the reader's default) is removed, and so
    is a field whose symbol the reader's enum lacks (its default symbol stood in), that a union
    branch without it left to the default, or whose value resolution took from another writer field
    (an alias clash). What the decoder hands on therefore holds only values the
    producer wrote, whatever is done with it later: a part taken out of it, a copy, a view, JSON
    written from it and checked again downstream all show the field as absent, never as a default."""
    plan = source.plan
    if plan.deep and plan.pair is not None:  # records below maps, recursion, deep arrays: no path reaches them
        plan.pair.strip(payload, source.writer_datum())
        return payload
    for path in plan.unsent:  # no message of this writer sends these
        drop(payload, path.steps, 0)
    if plan.hazards and plan.pair is not None:  # some messages do not: the writer's own datum says which
        datum = source.writer_datum()
        for path in plan.hazards:
            for written in plan.pair.written(path, datum):
                if written.kind == "null":
                    continue  # the writer wrote null: so does the payload
                if written.kind != "sent" or not _same_deep(_at(payload, written.where), written.value):
                    drop(payload, _concrete(written.where), 0)
    return payload


def size(raw: bytes | bytearray | memoryview | str) -> int:
    """The message's size in bytes: a memoryview counts its bytes, not its items (a view cast to
    8-byte items is an eighth as long); text counts its UTF-8 bytes once it could exceed the bound.
    A memoryview already released has no size: ``sys.maxsize``, so that no fast path reads it and the
    decoder says why."""
    if isinstance(raw, memoryview):
        try:
            return raw.nbytes
        except ValueError:  # released
            return sys.maxsize
    if isinstance(raw, str) and len(raw) > MAX_MESSAGE_BYTES // 4:
        return len(raw.encode("utf-8", "surrogatepass"))
    return len(raw)


def _concrete(where: str) -> list[tuple[str, list[int]]]:
    """``items[2].sku`` as ``[("items", [2]), ("sku", [])]`` (Avro names hold no dots or brackets)."""
    steps = []
    for part in where.split("."):
        name, _, rest = part.partition("[")
        steps.append((name, [int(i) for i in ("[" + rest).strip("[]").split("][")] if rest else []))
    return steps


def drop(container: Any, steps: Sequence[tuple[str, Any]], index: int) -> None:
    """Remove the field ``steps`` leads to: ``(name, arrays)`` steps walk every element of ``arrays``
    nested lists, ``(name, [positions])`` steps one element each. What is not there is left alone."""
    if not isinstance(container, dict):
        return
    name, arrays = steps[index]
    if index == len(steps) - 1 and not arrays:
        container.pop(name, None)
        return
    if name not in container:
        return
    values = [container[name]]
    for level in range(arrays if isinstance(arrays, int) else len(arrays)):
        if isinstance(arrays, int):
            values = [item for value in values if isinstance(value, list) for item in value]
        else:
            position = arrays[level]
            values = [value[position] for value in values if isinstance(value, list) and position < len(value)]
    if index == len(steps) - 1:
        return  # a path ending in an array: its elements are not fields
    for value in values:
        drop(value, steps, index + 1)


class Decoder:
    """Decodes messages for one reader contract."""

    def __init__(self, reader: Contract, critical: Sequence[FieldPath], registry: Any | None) -> None:
        self.reader = reader
        self.ref = str(reader.ref)
        self.critical = critical
        self.registry = registry
        self.model = reader.model
        self._plans: dict[object, WriterPlan] = {}
        # Confluent prefix (magic byte 0 and the 4-byte id) -> (writer schema, reader schema, label, sound), for
        # writers whose messages need nothing but decoding: the hot path reads this table directly
        self.fast_avro: dict[bytes, tuple[Any, Any, str, bool, WriterPlan | None]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by forget(): a plan built across a forget() is not kept
        # protobuf: the critical paths resolved to field numbers (a declaration on a field without
        # presence is refused here, at declaration)
        self.proto = _proto_check(reader, critical)
        # protobuf: Confluent prefix (magic byte 0 and the 4-byte id) -> (end of the message-index array,
        # its bytes, the reader class's FromString, label), for writers whose messages lack nothing by
        # schema: the hot path reads this table directly
        self.fast_proto: dict[bytes, tuple[int, bytes, Any, str]] = {}
        with _live_lock:
            _live.add(self)

    def forget(self) -> None:
        """A registry re-mapped a writer key: forget every plan (in place: generated code holds
        ``fast_avro``)."""
        with self._lock:
            self._generation += 1
            self._plans.clear()
            self.fast_avro.clear()
            self.fast_proto.clear()

    def decode(
        self, raw: bytes | bytearray | memoryview | str, headers: Headers = None, *, key: bool = False
    ) -> tuple[Any, WriterPlan | None]:
        """The decoded payload (a dict or other JSON value; never a model: the checker validates
        after presence) and the writer's plan (None for plain JSON). Raises :class:`DecodeError`,
        :class:`RegistryError` or a :class:`ContractViolation`."""
        length = size(raw)
        if length == sys.maxsize and isinstance(raw, memoryview):
            raise DecodeError(
                "the message is a memoryview that was released: its bytes can no longer be read",
                contract=self.ref,
                reason="unreadable",
                payload=raw,
            )
        if length > MAX_MESSAGE_BYTES:
            raise DecodeError(
                f"message of {length} bytes is larger than the {MAX_MESSAGE_BYTES} accepted",
                contract=self.ref,
                reason="too-large",
                payload=raw,
            )
        if isinstance(raw, str):
            return self._json(raw, raw), None
        data = raw if type(raw) is bytes else bytes(raw)
        carried = wire.header(headers, confluent.KEY_HEADER if key else confluent.VALUE_HEADER)
        named = wire.header(headers, wire.CONTRACT_HEADER) if carried is None else None
        if carried is not None:
            indexes = self._header_indexes(carried)
            plan, offset = (
                self._plan(("confluent", confluent.decode_header(carried) if indexes is None else indexes[0])),
                0,
            )
            if plan.kind == "protobuf":
                return self._protobuf(plan, data, 0, raw, indexes[1] if indexes is not None else None), plan
            if indexes is not None:
                confluent.decode_header(carried)  # trailing bytes after an id that is not protobuf's: refused
        elif named is not None:
            # the writer is named: the body is bare, whatever its first bytes look like (an Avro body
            # may well start like a Confluent or single-object prefix)
            text = named.decode("utf-8", "replace") if isinstance(named, (bytes, bytearray)) else str(named)
            plan, offset = self._plan(("contract", text)), 0
            if wire.header(headers, wire.ENCODING_HEADER) in (b"json", "json"):
                return self._json(data, raw), plan
            if plan.kind == "protobuf":
                return self._protobuf(plan, data, 0, raw, None), plan
        elif confluent.detect(data):
            schema_key, offset = confluent.decode(data)
            plan = self._plan(("confluent", schema_key))
            if plan.kind == "protobuf":
                selected, offset = protobuf_wire.decode_indexes(data, offset)
                return self._protobuf(plan, data, offset, raw, selected), plan
        elif single_object.detect(data):
            fingerprint, offset = single_object.decode(data)
            plan = self._plan(("fingerprint", fingerprint))
        else:
            if self.reader.format == "avro" and json_wire.has_bom(data):
                return self._json(data, raw), None  # refused with a message that names the BOM
            if self.reader.format in ("avro", "protobuf") and not json_wire.detect(data):
                language = "Avro" if self.reader.format == "avro" else "Protobuf"
                raise DecodeError(
                    f"{language} bytes without framing: the writer is unknown (send Confluent framing, single-object "
                    f"encoding, or a {wire.CONTRACT_HEADER!r} header naming the writer's contract)",
                    contract=self.ref,
                    reason="no-framing",
                    payload=raw,
                )
            return self._json(data, raw), None
        if plan.kind == "json":
            return self._json(data[offset:] if offset else data, raw), plan
        return self._avro(plan, data, offset, raw), plan

    def _header_indexes(self, carried: Any) -> tuple[Any, tuple[int, ...]] | None:
        """A schema-id header followed by protobuf's message-index array: ``(id, indexes)``; None for a
        header that is the id alone."""
        if self.proto is None:
            return None
        raw = carried.encode() if isinstance(carried, str) else bytes(carried)
        key, end = confluent.decode(raw)
        if end == len(raw):
            return None
        indexes, end = protobuf_wire.decode_indexes(raw, end)
        if end != len(raw):
            confluent.decode_header(carried)  # refused, with the message every trailing byte gets
        return key, indexes

    def _protobuf(self, plan: WriterPlan, data: bytes, offset: int, raw: Any, indexes: tuple[int, ...] | None) -> Any:
        """A protobuf body from ``plan``'s writer (the message ``indexes`` selects in its file), parsed
        with the reader's class: a critical number the writer's message lacks fails every message."""
        if self.proto is None:
            raise ContractViolation(
                f"the writer {plan.label} is protobuf; this {self.reader.format} contract cannot read it",
                contract=self.ref,
                reason="incompatible-writer",
                writer=plan.label,
                payload=raw,
            )
        if indexes is not None and indexes != plan.proto.indexes:
            plan = self._plan(("protobuf-message", (plan, indexes)))
        if plan.gaps:
            kind, detail, path, reason = plan.gaps[0]
            error = kind(detail, contract=self.ref, field=path, reason=reason, writer=plan.label, payload=raw)
            try:  # under "observe" the handler sees what was sent: the writer's message
                error.decoded = protobuf_wire.decode(data, offset, plan.proto.message_class)
            except DecodeError:
                error.decoded = None
            raise error
        try:
            return protobuf_wire.decode(data, offset, self.proto.message_class)
        except DecodeError as exc:
            exc.contract, exc.payload, exc.writer = self.ref, raw, plan.label
            raise

    def _avro(self, plan: WriterPlan, data: bytes, offset: int, raw: Any) -> Any:
        if plan.scan:
            avro.check_bounds(data, offset, plan.writer_schema)
        if plan.missing:
            raise self._not_in_writer(plan, data, offset)
        source = Source(plan, data, offset)
        if plan.per_message:
            error = self._unwritten(plan.per_message, source)
            if error is not None:
                raise self._with_writer_datum(error, plan, data, offset)
        try:
            payload = avro.decode(data, offset, plan.writer_schema, plan.reader_schema)
        except DecodeError as exc:
            if not plan.per_message:
                raise
            # the writer's own datum decoded (its critical fields were checked on it): resolution
            # itself failed, on a path decided per message (an alias in play), so no value of that
            # path can be shown to come from the writer field it maps to
            path = plan.per_message[0].text
            raise self._with_writer_datum(
                MissingCriticalField(
                    f"critical field {path!r} was not sent as resolved (resolving the writer {plan.label} into "
                    f"this contract failed: {exc.detail})",
                    contract=self.ref,
                    field=path,
                    reason="defaulted",
                ),
                plan,
                data,
                offset,
            ) from exc
        except avro.IncompatibleWriter as exc:
            # what the writer wrote says why, for a critical field (a null the reader cannot hold)
            found = self._unwritten(self.critical, source)
            if found is not None:
                raise self._with_writer_datum(found, plan, data, offset) from exc
            raise ContractViolation(
                f"the writer schema {plan.label} cannot be read as this contract ({exc})",
                contract=self.ref,
                reason="incompatible-writer",
                writer=plan.label,
                payload=raw,
            ) from exc
        if plan.per_message:
            error = self._resolved_elsewhere(plan.per_message, source, payload)
            if error is not None:
                raise self._with_writer_datum(error, plan, data, offset)
        if not plan.exact and type(payload) is dict:
            return written_only(payload, source)
        return payload

    def _unwritten(self, paths: Iterable[FieldPath], source: Source) -> MissingCriticalField | None:
        """The first critical path the writer did not write in this message, from its own datum."""
        plan = source.plan
        assert plan.pair is not None
        datum = source.writer_datum()
        for path in paths:
            for written in plan.pair.written(path, datum):
                if written.kind == "sent":
                    continue
                return self.unwritten_error(plan, written)
        return None

    def unwritten_error(self, plan: WriterPlan, written: Written) -> MissingCriticalField:
        assert plan.pair is not None
        path = written.path.text
        at = "" if written.where == path else f" at {written.where!r}"
        if written.kind == "unknown-symbol":
            has_default, default = _enum_default(written.reader_types)
            used = f"; the reader enum default {default!r} was not used" if has_default else ""
            detail = (
                f"the writer {plan.label} wrote the symbol {written.value!r}{at}, which this contract's enum lacks"
                f"{used}"
            )
        elif written.kind == "null":
            detail = f"sent as null{at} by the writer {plan.label}"
        else:
            has_default, default = plan.pair.reader_default(written.path)
            used = f"; the reader default {default!r} was not used" if has_default else ""
            detail = f"the record the writer {plan.label} wrote{at or ''} has no such field{used}"
        return MissingCriticalField(
            f"critical field {path!r} was not sent ({detail})",
            contract=self.ref,
            field=path,
            reason=written.kind,
            writer=plan.label,
        )

    def _resolved_elsewhere(
        self, paths: Iterable[FieldPath], source: Source, payload: Any
    ) -> MissingCriticalField | None:
        """Resolution must hand on what the writer wrote: a critical value that differs from the
        written one came from somewhere else (an alias, a default)."""
        plan = source.plan
        assert plan.pair is not None
        for path in paths:
            for written in plan.pair.written(path, source.writer_datum()):
                expected = written.value
                got = _at(payload, written.where)
                if got is _ABSENT or not _same_deep(got, expected):
                    return MissingCriticalField(
                        f"critical field {path.text!r} was not sent as resolved (the writer {plan.label} wrote "
                        f"{expected!r} at {written.where!r}; resolution gave "
                        f"{'nothing' if got is _ABSENT else repr(got)})",
                        contract=self.ref,
                        field=path.text,
                        reason="defaulted",
                        writer=plan.label,
                    )
        return None

    def _with_writer_datum(self, error: ContractError, plan: WriterPlan, data: bytes, offset: int) -> ContractError:
        # what the handler sees under "observe": what was sent, read with the writer's schema alone
        try:
            error.decoded = avro.decode(data, offset, plan.writer_schema)
        except (DecodeError, avro.IncompatibleWriter):
            error.decoded = None
        error.writer = plan.label
        return error

    # -- plans (once per writer) ---------------------------------------------------------------

    def _plan(self, key: tuple[str, object]) -> WriterPlan:
        plan = self._plans.get(key)
        if plan is None:
            generation = self._generation
            plan = self._make_plan(key)
            with self._lock:
                if generation != self._generation:
                    return plan  # the registry changed while the writer was looked up: use it once, keep none
                while len(self._plans) >= MAX_WRITERS:
                    del self._plans[next(iter(self._plans))]
                self._plans[key] = plan
                kind, value = key
                if kind == "confluent" and type(value) is int and plan.kind == "protobuf" and not plan.gaps:
                    assert self.proto is not None  # a protobuf writer planned for a protobuf reader
                    while len(self.fast_proto) >= MAX_WRITERS:
                        del self.fast_proto[next(iter(self.fast_proto))]
                    indexes = protobuf_wire.encode_indexes(plan.proto.indexes)
                    self.fast_proto[b"\x00" + value.to_bytes(4, "big")] = (
                        5 + len(indexes),
                        indexes,
                        self.proto.message_class.FromString,
                        plan.label,
                    )
                if kind == "confluent" and type(value) is int and self._only_decoding(plan):
                    while len(self.fast_avro) >= MAX_WRITERS:
                        del self.fast_avro[next(iter(self.fast_avro))]
                    prefix = b"\x00" + value.to_bytes(4, "big")
                    sound = self._sound(plan)
                    wrap = None if plan.exact else plan  # resolution may fill: what it filled is taken out
                    self.fast_avro[prefix] = (plan.writer_schema, plan.reader_schema, plan.label, sound, wrap)
        return plan

    def _sound(self, plan: WriterPlan) -> bool:
        """Whether every message this writer sends passes the critical-field checks once decoded:
        the writer's schema is the reader's (no resolution), and along every critical path no field
        or array element may be null. Avro decoding then yields exactly the contract's types.

        The fingerprint (of the parsing canonical form) leaves out logical types: a writer's ``date``
        on the reader's plain ``int`` has the reader's fingerprint and decodes into ``datetime.date``,
        so only a schema equal to the reader's in every attribute is sound."""
        if plan.reader_schema is not None or self.reader.avro_fingerprint != plan.writer.avro_fingerprint:
            return False  # resolved, or read for a contract of another format: check what was decoded
        if plan.writer.schema != self.reader.schema:
            return False  # the same canonical form, other logical types (or only other docs): check
        try:
            for path in self.critical:
                for prop, node in plan.writer.walk(path):
                    if prop.node.accepts(None) or node.accepts(None):
                        return False
        except ContractError:
            return False
        return True

    def _only_decoding(self, plan: WriterPlan) -> bool:
        """Whether messages from this writer need nothing but decoding (one decode, resolving when the
        writer is not the reader) before the field checks: no critical path is missing from its
        schema or decided per message. What resolution fills is taken out of the payload (written_only)."""
        return (
            plan.kind == "avro" and not plan.missing and not plan.per_message and not plan.scan and self.model is None
        )

    def _make_plan(self, key: tuple[str, object]) -> WriterPlan:
        kind, value = key
        if kind == "protobuf-message":  # another message of a planned writer's file
            assert isinstance(value, tuple)
            base: WriterPlan = value[0]
            indexes: tuple[int, ...] = value[1]
            selected = base.proto.select(indexes)
            if selected is None:
                raise DecodeError(
                    f"the message index {list(indexes)} names no message in the writer {base.label}'s file",
                    contract=self.ref,
                    reason="bad-framing",
                )
            return self._protobuf_plan(base.writer, f"{base.label} ({selected.full_name})", selected)
        writer = self._writer(kind, value)
        label = str(writer.ref)
        if writer.format == "protobuf":
            return self._protobuf_plan(writer, label, writer.native)
        if writer.format != "avro":
            return WriterPlan(writer, label, "json")
        scan = avro.zero_width(writer.native) or avro.recursive(writer.native)
        if self.reader.format != "avro" or self.reader.avro_fingerprint == writer.avro_fingerprint:
            return WriterPlan(writer, label, "avro", writer.native, None, scan=scan)
        pair = AvroPair(self.reader.schema, writer.schema)
        missing: list[tuple[str, str]] = []
        per_message: list[FieldPath] = []
        for path in self.critical:
            status = pair.status(path)
            if status == MISSING:
                has_default, default = pair.reader_default(path)
                filled = f"the reader default {default!r} was not used" if has_default else ""
                missing.append((path.text, filled))
            elif status == PER_MESSAGE:
                per_message.append(path)
        enumerable = pair.enumerable()
        unsent: list[FieldPath] = []
        hazards: list[FieldPath] = []
        for text in self.reader.fields:
            try:
                path = parse_path(text)
            except ContractError:  # pragma: no cover - the contract's own field paths parse
                continue
            status = pair.status(path)
            if status == MISSING:
                unsent.append(path)
            elif status == PER_MESSAGE:
                hazards.append(path)
        return WriterPlan(
            writer,
            label,
            "avro",
            writer.native,
            self.reader.native,
            tuple(missing),
            scan,
            pair,
            tuple(per_message),
            exact=not unsent and not hazards and enumerable,
            unsent=tuple(unsent),
            hazards=tuple(hazards),
            deep=not enumerable,
        )

    def _protobuf_plan(self, writer: Contract, label: str, proto: Any) -> WriterPlan:
        gaps: list[tuple[type[ContractViolation], str, str, str]] = []
        if self.proto is not None:
            from syscontract._engine.protobuf import writer_gaps

            for error in writer_gaps(self.proto, proto, label):
                gaps.append((type(error), error.detail, error.field or "", error.reason or ""))
        return WriterPlan(writer, label, "protobuf", proto=proto, gaps=tuple(gaps))

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
            if kind == "contract" and argument == self.reader.ref:
                return self.reader  # a contract given in code, not in the registry: the header names it
            exc.contract = exc.contract or self.ref
            raise
        if not isinstance(found, Contract):  # pragma: no cover - a registry breaking its protocol
            raise RegistryError(f"the registry returned {type(found).__name__}, not a Contract", contract=self.ref)
        return found

    # -- bodies --------------------------------------------------------------------------------

    def _json(self, data: bytes | str, raw: Any) -> Any:
        try:
            return json_wire.decode(data)
        except DecodeError as exc:
            exc.contract, exc.payload = self.ref, raw
            raise

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
        # what the handler sees under "observe": what was sent, read with the writer's schema alone, so
        # no reader default ever stands in for the missing field
        self._with_writer_datum(error, plan, data, offset)
        return error


_ABSENT = object()


def _proto_check(reader: Contract, critical: Sequence[FieldPath]) -> Any:
    if reader.format != "protobuf":
        return None
    from syscontract._engine.protobuf import ProtoCheck

    return ProtoCheck(reader, critical)


def _at(payload: Any, where: str) -> Any:
    """The value at a concrete path (``items[2].sku``) of a decoded payload, or ``_ABSENT``."""
    value = payload
    for part in where.split("."):
        name, _, rest = part.partition("[")
        if not isinstance(value, Mapping) or name not in value:
            return _ABSENT
        value = value[name]
        for index in rest[:-1].split("][") if rest else ():
            if not isinstance(value, list) or int(index) >= len(value):
                return _ABSENT
            value = value[int(index)]
    return value


def _same_deep(got: Any, written: Any) -> bool:
    """Whether a resolved value is the written one, through collections: every element of an array,
    every value of a map; a record's fields as far as both have them (fields below a critical leaf
    are not critical, and a reader record may add defaulted ones)."""
    if type(written) is tuple and len(written) == 2 and isinstance(written[0], str):
        written = written[1]  # a named type read through a union, with its name
    if isinstance(written, list):
        return isinstance(got, list) and len(got) == len(written) and all(map(_same_deep, got, written))
    if isinstance(written, dict):
        return isinstance(got, dict) and all(_same_deep(got[k], v) for k, v in written.items() if k in got)
    return equal(got, written)


def _enum_default(reader_types: Any) -> tuple[bool, Any]:
    for schema in reader_types or ():
        if isinstance(schema, dict) and schema.get("type") == "enum" and "default" in schema:
            return True, schema["default"]
    return False, None


_live: weakref.WeakSet[Decoder] = weakref.WeakSet()
_live_lock = threading.Lock()
"""Held to add to ``_live`` and to copy it: a decoder built on another thread while the set is copied
changed its size under the copy (``RuntimeError: Set changed size during iteration``, raised by
``configure()`` on a loaded machine while handlers resolved their contracts)."""


def forget_writers() -> None:
    """A registry re-mapped a writer key: every decoder forgets its writer plans."""
    with _live_lock:
        decoders = list(_live)
    for decoder in decoders:
        decoder.forget()


on_change(forget_writers)
