"""Stale producers: every older version of a handler's contract played at the handler, in every
framing it accepts, to prove it refuses what it must refuse (:class:`StaleProducer`)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import sys
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError

from syscontract import _config
from syscontract.contract import Contract, ContractRef
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    MissingCriticalField,
    RegistryError,
    StaleProducerError,
)
from syscontract.registry import CODE, MemoryRegistry, Registry, lookup
from syscontract.testing._payloads import has_field, minimal_payload, project_payload
from syscontract.wire import CONTRACT_HEADER, Envelope
from syscontract.wire import avro as avro_wire
from syscontract.wire import confluent as confluent_wire
from syscontract.wire import json as json_wire

if TYPE_CHECKING:
    from syscontract._engine.declaration import Declaration

__all__ = ["FRAMINGS", "StaleCase", "StaleProducer", "StaleReport", "stale_producer"]

FRAMINGS: Final = ("dict", "json", "avro", "confluent", "model", "protobuf")
"""How :class:`StaleProducer` sends each message: ``dict`` (a decoded mapping), ``json`` (JSON bytes),
``avro`` (a bare Avro body with a ``syscontract-contract: <name>.v<N>`` header, as an
:class:`~syscontract.wire.Envelope`), ``confluent`` (Confluent-framed Avro, the writer found by schema
id; for a protobuf version, what confluent-kafka's own ``ProtobufSerializer`` writes), ``model`` (the
handler's pydantic model, validated from the JSON as a framework would, so its defaults fill the
gaps) and ``protobuf`` (a bare protobuf body with the ``syscontract-contract`` header). ``avro``
applies to Avro versions, ``protobuf`` to protobuf versions, ``confluent`` to both, ``model`` to
pydantic contracts."""

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
        self, declared: Contract, old: Contract, payload: Any, critical: tuple[str, ...], ids: dict[int, Any]
    ) -> list[_Message]:
        version = str(old.ref)
        missing = tuple(path for path in critical if not has_field(old, path))
        projected = project_payload(payload, old, critical)
        messages: list[_Message] = []

        def add(framing: str, build: Callable[[], Any]) -> _Message:
            message = _Message(version, framing, missing, build)
            if framing in self.framings:
                messages.append(message)
            return message

        if declared.format != "protobuf":  # a protobuf handler reads messages, not its JSON mapping
            reads: set[str] = set()
            traced = add("dict", lambda: _Traced(projected, "", reads))
            traced.reads = reads
            add("json", lambda: _json_bytes(projected))
        if old.format == "avro":
            add("avro", lambda: Envelope(avro_wire.encode(projected, old.native), {CONTRACT_HEADER: version.encode()}))
            add("confluent", lambda: _confluent(old, projected, ids.get(old.ref.version)))
        if old.format == "protobuf":
            header = {CONTRACT_HEADER: version.encode()}
            add("protobuf", lambda: Envelope(_protobuf_message(old, projected).SerializeToString(), header))
            add("confluent", lambda: _protobuf_confluent(old, projected, ids.get(old.ref.version)))
        model = declared.model
        if model is not None:
            add("model", lambda: _model(model, projected))
        return messages

    def _writer_ids(
        self, declaration: Declaration, declared: Contract, older: list[Contract], registry: Registry
    ) -> tuple[dict[int, Any], Any, str | None]:
        """Schema ids for the ``confluent`` framing: ``(version -> id (Avro) or serializer (protobuf),
        writer registry to configure for the run or None, a note for the report)``."""
        avro = [old for old in older if old.format == "avro"]
        protos = [old for old in older if old.format == "protobuf"]
        if "confluent" not in self.framings or not (avro or protos):
            return {}, None, None
        if declaration.registry is not None:
            # the handler reads writers from its own registry: use the ids it knows
            id_of = getattr(registry, "id_of", None)
            ids: dict[int, Any] = {}
            for old in [*avro, *protos]:
                try:
                    ids[old.ref.version] = None if id_of is None else int(id_of(old.ref))
                except RegistryError:
                    ids[old.ref.version] = None
                if old.format == "protobuf" and ids[old.ref.version] is not None:
                    ids[old.ref.version] = _framer(old, ids[old.ref.version])
            return ids, None, "confluent framing: schema ids from the handler's own registry"
        try:
            writers, ids = _mock_schema_registry(declared, [*older, declared])
        except ImportError:
            writers = MemoryRegistry()
            ids = {}
            for number, old in enumerate([*avro, *protos], start=1):
                writers.add(old, schema_id=number)
                ids[old.ref.version] = number if old.format == "avro" else _framer(old, number)
            return ids, writers, "confluent framing: confluent-kafka is not installed, schema ids from a MemoryRegistry"
        note = "confluent framing: confluent-kafka's mock:// Schema Registry through ConfluentRegistry"
        if protos:
            note += " (protobuf versions written by its ProtobufSerializer)"
        return ids, writers, note


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
    if declared.format == "protobuf" and hasattr(sample, "DESCRIPTOR"):
        from google.protobuf import json_format

        return json_format.MessageToDict(sample)  # protobuf's JSON mapping, as minimal_payload builds it
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


def _mock_schema_registry(declared: Contract, versions: list[Contract]) -> tuple[Any, dict[int, Any]]:
    """confluent-kafka's in-memory Schema Registry holding every Avro version under the subject named
    like the contract, version numbers lined up (placeholders fill the gaps), and each protobuf version
    as its ``ProtobufSerializer`` registers it (a subject of its own, imports as references; the value
    is that serializer, as a function of the message); ImportError without it."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    from syscontract.registry.confluent import ConfluentRegistry

    name = declared.ref.name
    by_version = {contract.ref.version: contract for contract in versions}
    client = SchemaRegistryClient.new_client({"url": f"mock://syscontract-stale-producer-{uuid.uuid4().hex}"})
    ids: dict[int, Any] = {}
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
        elif contract is not None and contract.format == "protobuf" and version < declared.ref.version:
            ids[version] = _protobuf_serializer(client, contract, f"syscontract-stale-{name}-v{version}")
    return ConfluentRegistry(client), ids


def _protobuf_serializer(client: Any, contract: Contract, subject: str) -> Callable[[Any], bytes]:
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serializer = ProtobufSerializer(
        contract.native.message_class,
        client,
        {"use.deprecated.format": False, "subject.name.strategy": lambda ctx, record: subject},
    )
    context = SerializationContext(subject, MessageField.VALUE)
    return lambda message: bytes(serializer(message, context) or b"")


def _framer(contract: Contract, schema_id: int) -> Callable[[Any], bytes]:
    """Confluent framing of a protobuf message with ``schema_id``, as confluent-kafka writes it."""
    from syscontract.wire import protobuf as protobuf_wire

    prefix = confluent_wire.encode(schema_id, protobuf_wire.encode_indexes(contract.native.indexes))
    return lambda message: prefix + message.SerializeToString()


def _protobuf_message(old: Contract, payload: Any) -> Any:
    """``payload`` (protobuf's JSON mapping, projected onto ``old``) as ``old``'s message."""
    from google.protobuf import json_format

    try:
        return json_format.ParseDict(payload, old.native.message_class())
    except json_format.ParseError as exc:
        raise _Skip(f"{old.native.full_name} cannot be built from it ({exc})") from exc


def _protobuf_confluent(old: Contract, payload: Any, serialize: Callable[[Any], bytes] | None) -> bytes:
    if serialize is None:
        raise _Skip(f"the handler's registry has no schema id for {old.ref}")
    return serialize(_protobuf_message(old, payload))


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
        if not wanted.nullable and not has_field(old, path):
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


# syscontract's own frames (the checker reading the message) are not the handler's lookups: the
# whole package, not only this folder
_PACKAGE: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


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
