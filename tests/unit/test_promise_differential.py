"""The promise, differentially: whatever the entry point, form or policy, a handler never receives a
value for a critical field that the writer did not write.

Hypothesis generates writer/reader Avro pairs (field defaults, enums whose reader lacks a writer
symbol, reader and writer aliases, nested records, unions of records, arrays, nullable fields) and
JSON Schema and pydantic contracts of the same shapes, with messages; protobuf writer/reader
message types (proto3 and proto2: optional scalars, open and closed enums with a value only the
writer knows, nested messages, repeated fields, oneof members, numbers the writer lacks); pydantic contracts also get
unions of models (plain and discriminated) whose branch reads a field under an alias and defaults it,
``Annotated`` validators of each kind that fill a null, and nested dataclasses that a default, a
factory or ``__post_init__`` fills (issue 21). The oracle (``strategies``)
decides from the writer's datum and schema alone what was sent; each message is pushed through every
entry point in every form, and the outcomes are held to the oracle and to each other:

- a handler (or what ``check()``, the Kafka deserializer or a guard hands on) never carries, at a
  critical path, a value other than the one the writer wrote: no reader default, no enum default
  symbol, no value of another field, no pydantic default;
- accepted exactly when the oracle says every critical field was sent; refused with the same error
  class in every form and entry point, naming a (field, reason) the oracle found;
- the fast path (every call after the first) gives the verdict of the first call and of ``check()``;
- ``dead_letter``: the handler is not called and the sink receives the message unchanged;
- ``observe``: the handler is called and never sees a filled critical value.

Set ``SYSCONTRACT_DIFF_STATS=<file>`` to have the test write how many cases, forms, entry points and
calls it ran (nothing is printed).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import io
import json
import logging
import os
import struct
from collections import ChainMap, Counter
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import fastavro
import pytest
from fastavro.schema import fingerprint, to_parsing_canonical_form
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError
from strategies import (
    NOT_WRITTEN,
    PYDANTIC_SLOT_KINDS,
    UNION_KINDS,
    AvroCase,
    JsonCase,
    ProtoCase,
    avro_cases,
    avro_writer_for,
    json_cases,
    json_type_failures,
    protobuf_cases,
)

import syscontract
from syscontract import Contract, ContractError, MemoryRegistry, requires
from syscontract.integrations.cloudevents import CloudEventCheck
from syscontract.integrations.kafka import Deserializer
from syscontract.wire import Envelope

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

STATS: Counter[str] = Counter()
SEEN: dict[str, set[str]] = {"forms": set(), "entry_points": set()}


@pytest.fixture(autouse=True, scope="module")
def _stats() -> Iterator[None]:
    yield
    target = os.environ.get("SYSCONTRACT_DIFF_STATS")
    if target:
        report = {**STATS, **{key: sorted(values) for key, values in SEEN.items()}}
        with open(target, "w") as out:
            json.dump(report, out, indent=1, sort_keys=True)


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """Violations are logged at ERROR: thousands of them would only fill the captured log."""
    logger = logging.getLogger("syscontract")
    was = logger.disabled
    logger.disabled = True
    yield
    logger.disabled = was


# -- what a handler received, compared with what the writer wrote ------------------------------------


def leaves(value: Any, path: str) -> list[Any]:
    """The values at ``path`` (one per array element on ``[]`` steps), NOT_WRITTEN where absent.
    A pydantic model (or dataclass) is read by attribute, defaults included: a filled default shows.
    A model's step is named by its alias or by the attribute's own name (a union branch reads ``x``
    under the alias ``xa``: its ``x``, filled or sent, is read)."""
    current = [value]
    for part in path.split("."):
        name, arrays = part.replace("[]", ""), part.count("[]")
        following: list[Any] = []
        for container in current:
            if isinstance(container, BaseModel):
                fields = type(container).model_fields
                attr = next((a for a, info in fields.items() if name in (info.alias, a)), None)
                found = NOT_WRITTEN if attr is None else getattr(container, attr)
            elif dataclasses.is_dataclass(container) and not isinstance(container, type):
                found = getattr(container, name, NOT_WRITTEN)
            elif isinstance(container, Mapping) and name in container:
                found = container[name]
            else:
                found = NOT_WRITTEN
            if found is NOT_WRITTEN:
                following.append(NOT_WRITTEN)
            elif arrays and isinstance(found, (list, tuple)):
                following.extend(found)
            else:
                following.append(found)
        current = following
    return current


def assert_nothing_filled(received: Any, written: Mapping[str, list[Any]], accepted: bool) -> None:
    """At every critical path, ``received`` carries the writer's value or nothing (absent, null);
    ``accepted``: it carries exactly the writer's values, all of them non-null."""
    for path, sent in written.items():
        got = leaves(received, path)
        if accepted:
            assert sent == got, f"{path}: handed {got!r}, the writer wrote {sent!r}"
            assert all(v is not None and v is not NOT_WRITTEN for v in got), path
        for index, value in enumerate(got):
            if value is NOT_WRITTEN or value is None:
                continue
            wrote = sent[index] if index < len(sent) else NOT_WRITTEN
            assert wrote is not NOT_WRITTEN and wrote is not None, f"{path}: handed {value!r}, never written"
            assert wrote == value, f"{path}: handed {value!r}, the writer wrote {wrote!r}"


# -- running a message through an entry point ---------------------------------------------------------


class Outcome:
    """What one call did: the verdict (``"accepted"`` or (error class, field, reason)), what the
    handler received (each call), what the dead-letter sink received."""

    def __init__(self) -> None:
        self.verdict: Any = None
        self.received: list[Any] = []
        self.letters: list[Any] = []
        self.error: ContractError | None = None


def attempt(outcome: Outcome, call: Callable[[], Any]) -> Outcome:
    STATS["calls"] += 1
    try:
        call()
    except ContractError as error:
        outcome.verdict = (type(error).__name__, error.field, error.reason)
        outcome.error = error
    else:
        outcome.verdict = "accepted"
    return outcome


class EntryPoints:
    """Every entry point for one contract and its critical fields, built once per case."""

    def __init__(self, declared: str | Contract, contract: Contract, fields: list[str]) -> None:
        self.declared, self.contract, self.fields = declared, contract, fields

    def requires(self, message: Any, calls: int = 1, **options: Any) -> list[Outcome]:
        received: list[Any] = []

        def on_message(event: Any) -> None:
            received.append(event)

        handler = requires(self.declared, self.fields, **options)(on_message)
        results = []
        for _ in range(calls):  # the first call, then the generated fast path
            before = len(received)
            outcome = attempt(Outcome(), lambda: handler(message))
            outcome.received = received[before:]
            results.append(outcome)
        return results

    def requires_dict(self, message: Any, calls: int = 1, **options: Any) -> list[Outcome]:
        """``requires`` with a handler that declares its message a dict (a protobuf contract's
        handler then receives the message's JSON mapping, not the reader's class)."""
        received: list[Any] = []

        def on_message(event: dict) -> None:  # type: ignore[type-arg]
            received.append(event)

        handler = requires(self.declared, self.fields, **options)(on_message)
        results = []
        for _ in range(calls):
            before = len(received)
            outcome = attempt(Outcome(), lambda: handler(message))
            outcome.received = received[before:]
            results.append(outcome)
        return results

    def check(self, message: Any, **options: Any) -> Outcome:
        outcome = Outcome()
        return attempt(
            outcome, lambda: outcome.received.append(syscontract.check(self.declared, message, self.fields, **options))
        )

    def async_requires(self, message: Any, **options: Any) -> Outcome:
        outcome = Outcome()

        async def on_message(event: Any) -> None:
            outcome.received.append(event)

        handler = requires(self.declared, self.fields, **options)(on_message)
        return attempt(outcome, lambda: asyncio.run(handler(message)))

    def dead_letter(self, message: Any) -> Outcome:
        outcome = Outcome()

        def on_message(event: Any) -> None:
            outcome.received.append(event)

        def sink(letter: Any) -> None:
            outcome.letters.append(letter)

        handler = requires(self.declared, self.fields, on_violation="dead_letter", dead_letter=sink)(on_message)
        return attempt(outcome, lambda: handler(message))

    def deserializer(self, value: bytes, headers: Any, **options: Any) -> Outcome:
        outcome = Outcome()
        if options.get("on_violation") == "dead_letter":
            options["dead_letter"] = outcome.letters.append
        deserializer = Deserializer(self.contract, self.fields, **options)

        def call() -> None:
            result = deserializer(value, _Ctx(headers))
            if not outcome.letters:  # a dead-lettered message returns None: nothing was handed on
                outcome.received.append(result)

        return attempt(outcome, call)

    def guard(self, value: bytes, headers: Any, **options: Any) -> Outcome:
        outcome = Outcome()
        guard = CloudEventCheck(self.contract, self.fields, **options)
        return attempt(outcome, lambda: outcome.received.append(guard(value, headers)))


class _Ctx:
    def __init__(self, headers: Any) -> None:
        self.headers = headers
        self.field = "value"


CE = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/diff", "ce-type": "diff.placed"}


def judge(
    runs: dict[tuple[str, str], list[Outcome]],
    refused: bool,
    allowed: set[tuple[str, str, str]] | None,
    written: Mapping[str, list[Any]],
    message_of: Callable[[str], Any],
    raw_written: Mapping[str, list[Any]] | None = None,
) -> None:
    """Hold every outcome to the oracle and to each other. ``allowed``: the (class, field, reason)
    triples the oracle accepts for a refusal (None: any ContractViolation). Every form and entry
    point must give the same verdict: the same error class, field and reason. ``raw_written``: what
    the writer wrote read by the raw keys, for what observe hands on as sent (a dict, not the model;
    through a union the model may read another key than the raw one)."""
    verdicts: dict[tuple[str, str, int], Any] = {}
    for (form, entry), outcomes in runs.items():
        SEEN["forms"].add(form)
        SEEN["entry_points"].add(entry)
        for index, outcome in enumerate(outcomes):
            where = f"{entry} on {form} (call {index + 1})"
            if entry.endswith("observe"):
                assert "accepted" == outcome.verdict, f"{where}: observe raised {outcome.verdict}"
                assert 1 == len(outcome.received), where
                as_sent = raw_written is not None and not isinstance(outcome.received[0], BaseModel)
                assert_nothing_filled(outcome.received[0], raw_written if as_sent else written, accepted=not refused)
                continue
            if entry.endswith("dead_letter"):
                assert "accepted" == outcome.verdict, f"{where}: {outcome.verdict}"
                if refused:
                    assert [] == outcome.received, f"{where}: the handler was called"
                    assert 1 == len(outcome.letters), where
                    original = message_of(form)
                    payload = outcome.letters[0].payload
                    unchanged = payload is original or payload == original
                    if isinstance(original, Envelope):  # the envelope, or the bytes it carried
                        unchanged = unchanged or payload == original.value
                    if isinstance(payload, Envelope):  # the deserializer wraps the bytes it was given
                        unchanged = (
                            unchanged or payload.value == original or payload.value == getattr(original, "value", None)
                        )
                    assert unchanged, f"{where}: {payload!r} is not the message"
                else:
                    assert [] == outcome.letters, where
                    assert 1 == len(outcome.received), where
                    assert_nothing_filled(outcome.received[0], written, accepted=True)
                continue
            verdicts[(form, entry, index)] = outcome.verdict
            if outcome.verdict == "accepted":
                assert not refused, f"{where}: accepted what the writer did not send"
                assert 1 == len(outcome.received), where
                assert_nothing_filled(outcome.received[0], written, accepted=True)
            else:
                assert refused, f"{where}: refused a message the writer sent whole: {outcome.verdict}"
                assert [] == outcome.received, where
                assert isinstance(outcome.error, syscontract.ContractViolation), f"{where}: {outcome.error!r}"
                if allowed is not None:
                    assert outcome.verdict in allowed, f"{where}: {outcome.verdict} not in {allowed}"
    distinct = {_same_error(form, verdict) for (form, _, _), verdict in verdicts.items()}
    assert 1 == len(distinct), f"forms and entry points disagree: {verdicts}"


def _same_error(form: str, verdict: Any) -> Any:
    """The verdict as forms must agree on it. Avro bytes of a writer schema built from the message
    have no field where the message has no key: "not-in-writer-schema" there is "absent" elsewhere."""
    if form == "avro-confluent" and verdict != "accepted" and verdict[2] == "not-in-writer-schema":
        return (verdict[0], verdict[1], "absent")
    return verdict


# -- Avro: writer/reader pairs -----------------------------------------------------------------------


def _avro_body(schema: Mapping[str, Any], datum: Mapping[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(dict(schema)), datum)
    return out.getvalue()


def _fingerprint(schema: Mapping[str, Any]) -> bytes:
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(fastavro.parse_schema(dict(schema))), "CRC-64-AVRO"))


@SETTINGS
@given(case=avro_cases())
def test_avro_pairs_never_hand_a_value_the_writer_did_not_write(case: AvroCase) -> None:
    STATS["avro_cases"] += 1
    writer = Contract.from_avro("diff.v1", case.writer_schema)
    reader = Contract.from_avro("diff.v2", case.reader_schema)
    registry = MemoryRegistry()
    registry.add(writer, schema_id=1)
    registry.add(reader, schema_id=2)
    syscontract.configure(registry=registry)

    body = _avro_body(case.writer_schema, case.datum)
    header = [("syscontract-contract", b"diff.v1")]
    wire = {
        "confluent": (b"\x00" + struct.pack(">I", 1) + body, None),
        "single-object": (b"\xc3\x01" + _fingerprint(case.writer_schema) + body, None),
        "header": (body, header),
    }
    messages = {form: value if headers is None else Envelope(value, headers) for form, (value, headers) in wire.items()}
    guard_headers = {
        "confluent": {**CE, "content-type": "application/octet-stream"},
        "single-object": {**CE, "content-type": "application/octet-stream"},
        "header": {**CE, "content-type": "application/avro", "ce-dataschema": "urn:syscontract:diff.v1"},
    }

    entry = EntryPoints("diff.v2", reader, case.critical)
    runs: dict[tuple[str, str], list[Outcome]] = {}
    for form, message in messages.items():
        value, headers = wire[form]
        runs[(form, "requires")] = entry.requires(message, calls=3)
        runs[(form, "requires-full")] = entry.requires(message, calls=2, validate="full")
        runs[(form, "requires-async")] = [entry.async_requires(message)]
        runs[(form, "check")] = [entry.check(message)]
        runs[(form, "check-full")] = [entry.check(message, validate="full")]
        runs[(form, "kafka-deserializer")] = [entry.deserializer(value, headers)]
        runs[(form, "cloudevents-guard")] = [entry.guard(value, guard_headers[form])]
        runs[(form, "dead_letter")] = [entry.dead_letter(message)]
        runs[(form, "kafka-deserializer-dead_letter")] = [
            entry.deserializer(value, headers, on_violation="dead_letter")
        ]
        runs[(form, "requires-observe")] = entry.requires(message, calls=2, on_violation="observe")
        runs[(form, "requires-async-observe")] = [entry.async_requires(message, on_violation="observe")]
        runs[(form, "kafka-deserializer-observe")] = [entry.deserializer(value, headers, on_violation="observe")]
        runs[(form, "cloudevents-guard-observe")] = [entry.guard(value, guard_headers[form], observe=True)]

    allowed = {("MissingCriticalField", path, reason) for path, reason in case.failures}
    written = {path: w.leaves for path, w in case.written.items()}
    full = {key: outcomes for key, outcomes in runs.items() if key[1].endswith("-full")}
    rest = {key: outcomes for key, outcomes in runs.items() if key not in full}
    judge(rest, bool(case.failures), allowed, written, messages.__getitem__)
    # the whole message validated: also refused when a non-critical field without a default of its own
    # was not sent, or only through a default (nothing resolution filled is handed on or validated)
    judge(full, case.full_refused, allowed if case.failures else None, written, messages.__getitem__)
    taken_apart(messages, case.critical, bool(case.failures), written)


TAKEN_APART: dict[str, Callable[[Any], Any]] = {
    "itself": lambda payload: payload,
    "unpacked": lambda payload: {**payload},
    "deepcopy": copy.deepcopy,
    "MappingProxyType": MappingProxyType,
    "ChainMap": ChainMap,
    "json": lambda payload: json.dumps(payload, default=str).encode(),
    "in a list": lambda payload: [payload][0],
}


def taken_apart(messages: Mapping[str, Any], critical: list[str], refused: bool, written: Any) -> None:
    """Issue 21, finding 4: what an entry point returns for a declaration that requires nothing,
    taken apart (a copy, a view, its JSON) and checked again with the case's critical fields, gets
    the verdict the message gets: refused exactly when the writer did not send a critical field, and
    never accepted with a value the writer did not write."""
    for form, message in messages.items():
        try:
            payload = syscontract.check("diff.v2", message)
        except syscontract.ContractViolation:
            continue  # the writer cannot be read as this contract at all: nothing is handed on
        for how, take in TAKEN_APART.items():
            where = f"check() on {form}, then {how}"
            try:
                again = syscontract.check("diff.v2", take(payload), critical)
            except syscontract.MissingCriticalField:
                assert refused, f"{where}: refused a message the writer sent whole"
                continue
            assert not refused, f"{where}: accepted what the writer did not send"
            if isinstance(again, Mapping):
                assert_nothing_filled(dict(again), written, accepted=True)


# -- JSON Schema and pydantic contracts: every form of the same content ------------------------------


RAW_WRITER_ID = 3


def _json_forms(message: dict[str, Any]) -> dict[str, Any]:
    """The same content as a dict, JSON bytes, JSON text and (when Avro can carry it unchanged)
    Confluent-framed Avro of a writer schema that has exactly the message's fields."""
    text = json.dumps(message)
    forms: dict[str, Any] = {"dict": message, "json-bytes": text.encode(), "json-str": text}
    schema = avro_writer_for(message)
    if schema is not None:
        writer = Contract.from_avro(f"raw{next(_RAW)}.v1", schema)
        registry = MemoryRegistry()
        registry.add(writer, schema_id=RAW_WRITER_ID)
        syscontract.configure(registry=registry)
        forms["avro-confluent"] = b"\x00" + struct.pack(">I", RAW_WRITER_ID) + _avro_body(schema, message)
    return forms


_RAW = iter(range(10**9))


def _structured(message: dict[str, Any]) -> bytes:
    event = {"specversion": "1.0", "id": "1", "source": "/diff", "type": "diff.placed",
             "datacontenttype": "application/json", "data": message}  # fmt: skip
    return json.dumps(event).encode()


def _run_json(
    entry: EntryPoints, forms: dict[str, Any], message: dict[str, Any]
) -> dict[tuple[str, str], list[Outcome]]:
    runs: dict[tuple[str, str], list[Outcome]] = {}
    binary = {"json-bytes": {**CE, "content-type": "application/json"},
              "avro-confluent": {**CE, "content-type": "application/octet-stream"}}  # fmt: skip
    structured = {"content-type": "application/cloudevents+json"}
    for form, value in forms.items():
        runs[(form, "requires")] = entry.requires(value, calls=3)
        runs[(form, "requires-async")] = [entry.async_requires(value)]
        runs[(form, "check")] = [entry.check(value)]
        runs[(form, "dead_letter")] = [entry.dead_letter(value)]
        runs[(form, "requires-observe")] = entry.requires(value, calls=2, on_violation="observe")
        runs[(form, "requires-async-observe")] = [entry.async_requires(value, on_violation="observe")]
        if form in ("json-bytes", "avro-confluent"):
            runs[(form, "kafka-deserializer")] = [entry.deserializer(value, None)]
            runs[(form, "kafka-deserializer-observe")] = [entry.deserializer(value, None, on_violation="observe")]
            runs[(form, "kafka-deserializer-dead_letter")] = [
                entry.deserializer(value, None, on_violation="dead_letter")
            ]
            runs[(form, "cloudevents-guard")] = [entry.guard(value, binary[form])]
            runs[(form, "cloudevents-guard-observe")] = [entry.guard(value, binary[form], observe=True)]
    runs[("cloudevent-structured", "cloudevents-guard")] = [entry.guard(_structured(message), structured)]
    runs[("cloudevent-structured", "cloudevents-guard-observe")] = [
        entry.guard(_structured(message), structured, observe=True)
    ]
    return runs


_ABSENT_ALSO = {"absent": ("absent", "not-in-writer-schema")}  # the Avro form: see _same_error


def _written(case: JsonCase, message: dict[str, Any]) -> dict[str, list[Any]]:
    return {path: leaves(message, path) for path in case.critical}


@SETTINGS
@given(case=json_cases())
def test_json_schema_contracts_judge_every_form_alike(case: JsonCase) -> None:
    STATS["jsonschema_cases"] += 1
    contract = Contract.from_jsonschema("jdiff.v1", case.jsonschema())
    entry = EntryPoints(contract, contract, case.critical)
    message = case.message
    presence = {
        ("MissingCriticalField", path, said)
        for path, reason in case.presence(message)
        for said in _ABSENT_ALSO.get(reason, (reason,))
    }
    types = {("FieldTypeError", path, reason) for path, reason in json_type_failures(case, message)}
    allowed = presence | types
    forms = _json_forms(message)
    runs = _run_json(entry, forms, message)
    judge(runs, bool(allowed), allowed, _written(case, message), forms.__getitem__)


def _pydantic_expectation(case: JsonCase, model: type[BaseModel], message: dict[str, Any]) -> tuple[bool, Any]:
    """Presence first, on the raw message; then the whole model (decision 9: every decoded form is
    validated as a whole). Returns (refused, allowed triples or None for any violation)."""
    presence = case.presence(message)
    unions = {JsonCase.path(kind, f"f{index}") for index, kind in enumerate(case.kinds) if kind in UNION_KINDS}
    if presence and unions:
        try:
            model.model_validate(message)
        except ValidationError:
            return True, None  # which branch, and so which name counts, is known only once validated
    if presence:
        # a field the message lacks is "absent"; an engine may call it "defaulted" (the model would
        # have filled it), as long as every form says the same
        # (a critical field of the wrong type may be reported first: it is a critical-field check too)
        # Through a union the raw key may be null where the chosen branch reads another, absent one.
        absent = ("absent", "defaulted", "not-in-writer-schema")
        reasons = {"absent": absent}
        missing = {
            ("MissingCriticalField", path, said)
            for path, reason in presence
            for said in ((*absent, "null") if path in unions else reasons.get(reason, (reason,)))
        }
        return True, missing | {("FieldTypeError", path, reason) for path, reason in json_type_failures(case, message)}
    try:
        model.model_validate(message)
    except ValidationError:
        return True, None
    return False, None


@SETTINGS
@given(case=json_cases(kinds=PYDANTIC_SLOT_KINDS))
def test_pydantic_contracts_judge_every_form_alike(case: JsonCase) -> None:
    STATS["pydantic_cases"] += 1
    STATS.update(f"pydantic_kind_{kind}" for kind in set(case.kinds))
    model = case.model()
    contract = Contract.from_model("pdiff.v1", model)
    entry = EntryPoints(contract, contract, case.critical)
    variants = [(case.message, None)]
    try:
        instance = model.model_validate(case.message)
    except ValidationError:
        instance = None
    if instance is not None:
        # the same content as a model instance; and, for a top-level critical field that was sent,
        # that field set to None both in the raw message and on the instance (model_copy)
        variants[0] = (case.message, instance)
        for index, kind in enumerate(case.kinds):
            name = f"f{index}"
            if name in case.critical and case.message.get(name) is not None:
                attribute = f"attr_{name}" if kind == "alias" else name
                variants.append(({**case.message, name: None}, instance.model_copy(update={attribute: None})))
                break
    for message, built in variants:
        refused, allowed = _pydantic_expectation(case, model, message)
        forms = _json_forms(message)
        written = case.written(message)
        if built is not None and case.writes_for_itself():
            # code of the model may have written a critical field of this instance: it proves nothing
            _judge_unverifiable(entry, built)
        elif built is not None:
            forms["instance"] = built
            STATS["pydantic_instances"] += 1
        runs = _run_json(entry, forms, message)
        judge(runs, refused, allowed, written, forms.__getitem__, _written(case, message))
        if not refused:  # decision 9: the handler receives the contract's model, whatever the form
            for (form, name), outcomes in runs.items():
                if name in ("requires", "requires-async", "dead_letter"):
                    for outcome in outcomes:
                        assert all(type(r) is model for r in outcome.received), f"{name} on {form}"


def _judge_unverifiable(entry: EntryPoints, instance: BaseModel) -> None:
    """An instance syscontract did not validate, of a model whose code may write a critical field:
    refused at every entry point (one verdict), whatever it holds; the handler is never called."""
    STATS["pydantic_unverifiable_instances"] += 1
    outcomes = [*entry.requires(instance, calls=3), entry.async_requires(instance), entry.check(instance)]
    for outcome in outcomes:
        assert isinstance(outcome.error, syscontract.MissingCriticalField), outcome.verdict
        assert [] == outcome.received
    assert 1 == len({outcome.verdict for outcome in outcomes}), [outcome.verdict for outcome in outcomes]


# -- protobuf: writer/reader message types (issue 24) -------------------------------------------------


def _proto_value(message: Any, path: str) -> Any:
    """The value at ``path`` (``f2.inner``) when every step is present, else ``NOT_WRITTEN``."""
    for name in path.split("."):
        field = message.DESCRIPTOR.fields_by_name.get(name)
        if field is None:
            return NOT_WRITTEN
        if field.is_repeated:
            values = list(getattr(message, name))
            return values if values else NOT_WRITTEN
        if not message.HasField(name):
            return NOT_WRITTEN
        message = getattr(message, name)
    return message


@SETTINGS
@given(case=protobuf_cases())
def test_protobuf_pairs_never_hand_a_value_the_writer_did_not_write(case: ProtoCase) -> None:
    pytest.importorskip("google.protobuf")
    from google.protobuf import json_format

    from syscontract.wire import confluent
    from syscontract.wire import protobuf as protobuf_wire

    STATS["protobuf cases"] += 1
    name = f"pb{case.tag}"
    reader = Contract.from_protobuf(f"{name}.v2", case.reader_set, message="Message")
    writer = Contract.from_protobuf(f"{name}.v1", case.writer_set, message="Message")
    registry = MemoryRegistry()
    registry.add(reader, schema_id=2)
    registry.add(writer, schema_id=1)
    syscontract.configure(registry=registry)
    sent = case.writer_message(writer.native.message_class)
    body = sent.SerializeToString()
    header = {"syscontract-contract": f"{name}.v1".encode()}
    forms: dict[str, Any] = {
        "protobuf-confluent": confluent.encode(1, protobuf_wire.encode_indexes(writer.native.indexes) + body),
        "protobuf-header": Envelope(body, header),
        "protobuf-message": sent,
    }
    expected = case.expected()
    refused = expected != "accepted"
    entry = EntryPoints(str(reader.ref), reader, case.critical)
    verdicts: dict[tuple[str, str], Any] = {}
    for form, message in forms.items():
        runs = {"requires": entry.requires(message, calls=2), "check": [entry.check(message)]}
        runs["async"] = [entry.async_requires(message)]
        if form != "protobuf-message":
            value = message if isinstance(message, bytes) else message.value
            runs["deserializer"] = [entry.deserializer(value, None if isinstance(message, bytes) else header)]
        for where, outcomes in runs.items():
            for index, outcome in enumerate(outcomes):
                verdicts[(form, f"{where}#{index}")] = outcome.verdict
                if outcome.verdict == "accepted":
                    assert 1 == len(outcome.received), (form, where)
                    received = outcome.received[0]
                    for path in case.critical:  # what the writer wrote, by number, and nothing else
                        assert _proto_value(sent, path) is not NOT_WRITTEN, (form, where, path)
                        got, wrote = _proto_value(received, path), _proto_value(sent, path)
                        assert str(wrote) == str(got), (form, where, path, got, wrote)
                else:
                    assert [] == outcome.received, (form, where)
        # the handler that declares a dict: the same verdicts, and the message's JSON mapping (what
        # was written only) where the message form receives the message
        as_message = runs["requires"]
        for index, outcome in enumerate(entry.requires_dict(message, calls=2)):
            verdicts[(form, f"requires-dict#{index}")] = outcome.verdict
            if outcome.verdict == "accepted":
                assert [json_format.MessageToDict(as_message[index].received[0])] == outcome.received, form
        letters = entry.dead_letter(message)
        assert "accepted" == letters.verdict
        if refused:
            assert [] == letters.received and 1 == len(letters.letters), form
            payload = letters.letters[0].payload
            assert payload is message or payload == message or payload == getattr(message, "value", None), form
        observed = entry.requires(message, on_violation="observe")[0]
        assert "accepted" == observed.verdict and 1 == len(observed.received), form
        for slot in case.slots:  # observe hands on what was sent: nothing filled at a path not sent
            if slot.critical and _proto_value(sent, slot.path) is NOT_WRITTEN:
                assert _proto_value(observed.received[0], slot.path) is NOT_WRITTEN, (form, slot.path)
    assert {expected} == set(verdicts.values()), verdicts
