"""Every fast path gives the precise verdict (issue 21, finding 18; issue 26).

The fast paths of every entry point (the ``@requires`` wrapper, ``check()``, a broker guard's wire
check as NATS, RabbitMQ and Redis Streams build it, the Kafka deserializer for values and keys, a
CloudEvent in binary mode) are written by one builder (:mod:`syscontract._engine.fastpath`) from one description of the
declaration. This file holds each of them to :meth:`Checker.precise`, the path without any fast one,
on the same inputs: dicts, JSON bytes, Confluent-framed Avro from the contract's own writer and from
an older one, bodies named by headers, headers in every shape a client gives them, and a body past
the size bound. Each entry point is called twice per input: the first call plans the writer, the
second meets it planned (the inline Avro path).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from strategies import PYDANTIC_SLOT_KINDS, JsonCase, json_cases, json_wire_bodies, mutated_orders

import syscontract
from syscontract import Contract, ContractError, FileRegistry, MemoryRegistry, requires
from syscontract._engine.checker import Checker
from syscontract._engine.decoder import MAX_MESSAGE_BYTES
from syscontract.integrations import _messaging as m
from syscontract.wire import CONTRACT_HEADER, ENCODING_HEADER, Envelope, confluent
from syscontract.wire import json as json_wire

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())
FIELDS = ["orderId", "currency", "customer.customerTier", "items[].qty"]
REGISTRY = FileRegistry(DATA / "contracts")
SCHEMA_IDS = {2: 7, 3: 8}


@pytest.fixture(autouse=True)
def _registry() -> None:
    syscontract.configure(registry=REGISTRY)  # tests/conftest.py resets the settings after each test


def _avro(version: int, payload: dict[str, Any]) -> bytes | None:
    schema = fastavro.parse_schema(REGISTRY.get(syscontract.ContractRef("order", version)).schema)
    out = io.BytesIO()
    try:
        fastavro.schemaless_writer(out, schema, payload)
    except Exception:
        return None  # a mutation Avro cannot carry
    return out.getvalue()


def _stale(order: dict[str, Any]) -> dict[str, Any]:
    older = copy.deepcopy(order)
    if isinstance(older.get("customer"), dict):
        older["customer"].pop("customerTier", None)
    return older


TEXT_FORMS: dict[str, Callable[[str], Any]] = {
    "json str": str,
    "json bytearray": lambda text: bytearray(text.encode("utf-8", "surrogatepass")),
    "json memoryview": lambda text: memoryview(text.encode("utf-8", "surrogatepass")),
    "json memoryview of words": lambda text: _words(text.encode("utf-8", "surrogatepass")),
}


def _words(data: bytes) -> memoryview:
    """A view of 8-byte items (its len() is an eighth of its bytes), padded with JSON white space."""
    return memoryview(data.ljust(-(-len(data) // 8) * 8)).cast("Q")


FORMS = ["dict", "json", "json, spaced", "confluent v3", "confluent v2", "bare v3", *TEXT_FORMS]


@st.composite
def bodies(draw: st.DrawFn) -> bytes | dict[str, Any]:
    """A message in one of the forms an entry point meets."""
    order = draw(mutated_orders(ORDER))
    form = draw(st.sampled_from(FORMS))
    if form == "dict":
        return order
    if form == "json":
        return json.dumps(order).encode()
    if form in TEXT_FORMS:
        return TEXT_FORMS[form](json.dumps(order, ensure_ascii=draw(st.booleans())))
    if form == "json, spaced":
        return json.dumps(order, indent=1).encode() + b"\n"
    version = 2 if form == "confluent v2" else 3
    body = _avro(version, _stale(order) if version == 2 else order)
    if body is None:
        return json.dumps(order).encode()
    return body if form == "bare v3" else confluent.encode(SCHEMA_IDS[version], body)


HEADERS = st.sampled_from(
    [
        None,
        {},
        {"traceparent": "00-x"},
        {CONTRACT_HEADER: "order.v2"},
        {CONTRACT_HEADER: "order.v3"},
        {CONTRACT_HEADER: "order.v2", ENCODING_HEADER: "json"},
        {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x07"},
        {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x08"},
        [("traceparent", b"00-x")],
        [("x", b"y"), (CONTRACT_HEADER, b"order.v2")],
        [(CONTRACT_HEADER, b"order.v3"), (ENCODING_HEADER, b"json")],
        [("traceparent",)],
        [["syscontract-contract", "order.v2"]],
        [(b"syscontract-contract", b"order.v2")],
    ]
)


def verdict(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What a caller sees: the payload as plain data, or the error's kind, field, reason and writer."""
    try:
        payload = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason, error.writer)
    return ("ok", json.loads(json.dumps(payload, default=str)))


def precise(message: Any, headers: Any) -> tuple[Any, ...]:
    checker = Checker(REGISTRY.get("order.v3"), FIELDS, REGISTRY)
    return verdict(lambda: checker.precise(message, headers)[0])


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies(), headers=HEADERS)
def test_check_takes_the_precise_verdict_in_every_form(message: Any, headers: Any) -> None:
    expected = precise(message, headers)
    for _ in range(2):
        assert expected == verdict(lambda: syscontract.check("order.v3", message, FIELDS, headers=headers))


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies(), headers=HEADERS)
def test_the_wire_check_takes_the_precise_verdict_in_every_form(message: Any, headers: Any) -> None:
    if isinstance(message, dict):
        message = json.dumps(message).encode()
    expected = precise(Envelope(message, headers), None)
    check = m.GuardCheck("order.v3", FIELDS)
    for _ in range(2):
        assert expected == verdict(lambda: check.run(message, headers))


def _redis_headers(fields: dict[bytes, Any]) -> dict[str, Any]:
    return {key.decode(): value for key, value in fields.items() if key != b"value"}


def _redis_fields(headers: Any) -> dict[bytes, Any]:
    """Headers as a Redis Streams entry carries them: fields named by bytes, beside the body."""
    if isinstance(headers, dict):
        return {str(key).encode(): value for key, value in headers.items()}
    return {}


def _kafka_context(field: str, headers: Any) -> Any:
    serialization = pytest.importorskip("confluent_kafka.serialization", reason="pip install -e '.[kafka]'")
    kind = serialization.MessageField.KEY if field == "key" else serialization.MessageField.VALUE
    return serialization.SerializationContext("orders", kind, headers)


CLOUDEVENT = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/shop", "ce-type": "com.example.order.v3"}


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies(), headers=HEADERS)
def test_the_broker_entry_points_take_the_precise_verdict_in_every_form(message: Any, headers: Any) -> None:
    # the guards as each broker builds them (Redis: the entry's fields named by bytes), the Kafka
    # deserializer for a value and for a key (whose writer is named by its own header), and a
    # CloudEvent in binary mode: the same verdict and value as the precise path on the same bytes
    from syscontract.integrations.cloudevents import CloudEventCheck
    from syscontract.integrations.kafka import Deserializer

    if isinstance(message, dict):
        message = json.dumps(message).encode()
    fields = {b"value": message, **_redis_fields(headers)}
    redis = m.make_guard_check("order.v3", FIELDS, None, False, None, headers=_redis_headers, names=str.encode)
    expected = precise(Envelope(message, _redis_headers(fields)), None)
    for _ in range(2):
        assert expected == verdict(lambda: redis.run(message, fields))
    deserialize = Deserializer("order.v3", FIELDS)
    for field in ("value", "key"):
        expected = precise(Envelope(message, headers, key=field == "key"), None)
        ctx = _kafka_context(field, headers)
        for _ in range(2):
            assert expected == verdict(lambda ctx=ctx: deserialize(message, ctx)), field
    event = CloudEventCheck("order.v3", FIELDS)
    expected = precise(message, {})
    for _ in range(2):
        assert expected == verdict(lambda: event(message, CLOUDEVENT))


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies())
def test_the_wrapper_takes_the_precise_verdict_in_every_form(message: Any) -> None:
    expected = precise(message, None)
    handler = requires("order.v3", FIELDS)(lambda event: event)
    for _ in range(2):
        assert expected == verdict(lambda: handler(message))


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies())
def test_the_async_wrapper_takes_the_precise_verdict_in_every_form(message: Any) -> None:
    import asyncio

    async def on_order(event: Any) -> Any:
        return event

    handler = requires("order.v3", FIELDS)(on_order)
    expected = precise(message, None)
    for _ in range(2):
        assert expected == verdict(lambda: asyncio.run(handler(message)))


# -- the size bound, once for every form read from bytes ------------------------------------------


def _oversize_confluent() -> bytes:
    order = copy.deepcopy(ORDER)
    order["notes"] = "x" * (MAX_MESSAGE_BYTES + 1_000_000)
    body = _avro(3, order)
    assert body is not None
    return confluent.encode(SCHEMA_IDS[3], body)


@pytest.fixture(scope="module")
def oversize() -> bytes:
    return _oversize_confluent()


def test_finding18_requires_refuses_an_oversize_message_from_a_planned_writer(oversize: bytes) -> None:
    # the inline Avro path of @requires lacked the bound that check() applied: a 17.8 MB message from
    # an already planned writer was handled by @requires and refused by check() as too-large
    handler = requires("order.v3", FIELDS)(lambda event: "handled")
    planned = confluent.encode(SCHEMA_IDS[3], _avro(3, ORDER) or b"")
    assert "handled" == handler(planned)  # the writer is planned now
    expected = ("DecodeError", None, "too-large", None)
    assert expected == verdict(lambda: handler(oversize))
    assert expected == verdict(lambda: syscontract.check("order.v3", oversize, FIELDS))
    check = m.GuardCheck("order.v3", FIELDS)
    check.run(planned, None)
    assert expected == verdict(lambda: check.run(oversize, None))


def test_an_oversize_json_body_is_refused_by_every_entry_point() -> None:
    order = copy.deepcopy(ORDER)
    order["notes"] = "x" * (MAX_MESSAGE_BYTES + 10)
    body = json.dumps(order).encode()
    expected = ("DecodeError", None, "too-large", None)
    handler = requires("order.v3", FIELDS)(lambda event: "handled")
    assert expected == verdict(lambda: handler(body))
    assert expected == verdict(lambda: syscontract.check("order.v3", body, FIELDS))
    assert expected == verdict(lambda: m.GuardCheck("order.v3", FIELDS).run(body, None))


def test_check_reads_the_writer_from_headers_before_the_prefix() -> None:
    # check() used to decode Confluent-framed bytes by their prefix whatever the headers said; the
    # decoder reads a header naming the writer first, and so does every fast path now
    v3 = confluent.encode(SCHEMA_IDS[3], _avro(3, ORDER) or b"")
    syscontract.check("order.v3", v3, FIELDS)  # plans the writer of id 8
    named = {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x07"}  # the header says v2's id
    assert precise(v3, named) == verdict(lambda: syscontract.check("order.v3", v3, FIELDS, headers=named))


def test_every_entry_point_uses_the_one_builder() -> None:
    # the generated sources read their forms through the same statements: a bound added once holds everywhere
    import linecache

    handler = requires("order.v3", FIELDS)(lambda event: event)
    handler(dict(ORDER))
    check = m.GuardCheck("order.v3", FIELDS)
    checker = Checker(REGISTRY.get("order.v3"), FIELDS, REGISTRY)
    sources = [
        "".join(linecache.getlines(handler.__code__.co_filename)),
        "".join(linecache.getlines(check.wire.__code__.co_filename)),
        "".join(linecache.getlines(checker.quick.__code__.co_filename)),
    ]
    for source in sources:
        assert "_sc_size(_sc_m) <= _sc_MAX" in source
        assert "_sc_e = _sc_fastavro.get(_sc_body[:5])" in source
        assert "_sc_m = _sc_loads(_sc_body)" in source


# -- the fast JSON decoder against the precise one ------------------------------------------------
#
# The inline path reads JSON with orjson (syscontract.wire.json.decode_fast); the precise path with
# the standard library (decode). The one rule: whenever the fast decoder returns a value, decode()
# returns the same one, type for type; anything else goes to decode().


def same_value(fast: Any, precise: Any) -> bool:
    """Type-exact equality, dict key order included (-0.0 is not 0.0, 1.0 is not 1); without
    recursion, for values nested as deep as the decoders go."""
    pending = [(fast, precise)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            pending.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif repr(a) != repr(b):  # floats by repr: -0.0 and nan
            return False
    return True


def decoded(decode: Callable[[Any], Any], data: Any) -> tuple[bool, Any]:
    try:
        return True, decode(data)
    except (ValueError, syscontract.DecodeError):
        return False, None


def _forms(body: bytes) -> list[Any]:
    forms: list[Any] = [body, bytearray(body), memoryview(body)]
    with contextlib.suppress(UnicodeDecodeError):
        forms.append(body.decode("utf-8", "surrogatepass"))  # text with lone surrogates too
    return forms


def _fast_agrees(body: bytes) -> None:
    for data in _forms(body):
        accepted, fast = decoded(json_wire.decode_fast, data)
        if accepted:
            ok, precise = decoded(json_wire.decode, bytes(data) if isinstance(data, memoryview) else data)
            assert ok, f"the fast decoder read {data!r}, which the precise path refuses"
            assert same_value(fast, precise), f"{data!r}: {fast!r} != {precise!r}"


@settings(max_examples=1500, deadline=None)
@given(body=json_wire_bodies())
def test_the_fast_decoder_returns_only_the_precise_value(body: bytes) -> None:
    _fast_agrees(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":18446744073709551616}',
        b'{"a":-9223372036854775809}',
        b'{"a":1e400}',
        b'{"a":NaN}',
        b'{"a":"\\ud800"}',
        b'{"a":1,"b":2,"a":3}',
        b"\xef\xbb\xbf{}",
        b'{"d":' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"d":' + b"[" * 1024 + b"]" * 1024 + b"}",
    ],
)
def test_the_fast_decoder_on_where_decoders_part(body: bytes) -> None:
    _fast_agrees(body)


def test_the_differential_test_catches_a_dropped_big_int_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mutation: no fallback for 19 digits in a row (orjson reads 2**64 as a float)
    monkeypatch.setattr(json_wire, "_RUN", b"0" * 10**6)
    with pytest.raises(AssertionError, match="!="):
        test_the_fast_decoder_returns_only_the_precise_value()


def test_the_differential_test_catches_a_dropped_depth_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mutation: orjson reads 1000 to 1024 levels, which the precise path refuses as too-deep
    # (outside Hypothesis, which raises the recursion limit while a test runs)
    monkeypatch.setattr(json_wire, "_ORJSON_DEPTH", 0)
    with pytest.raises(AssertionError, match="refuses"):
        _fast_agrees(b'{"d":' + b"[" * 1000 + b"]" * 1000 + b"}")


# -- pydantic contracts from JSON: pydantic's own parser against the precise path -----------------
#
# A JSON body for a pydantic contract whose model qualifies (Description.json_model) is validated by
# pydantic-core's JSON parser and judged as an instance; the precise path decodes with the stdlib,
# checks presence on what was sent, then validates. Same verdict; on success an equal instance with
# the same fields-set at every level.


def fields_sets(value: Any) -> Any:
    """The fields-set of every model in ``value``, as plain data."""
    if isinstance(value, BaseModel):
        return (
            type(value).__name__,
            sorted(value.model_fields_set),
            {k: fields_sets(v) for k, v in value.__dict__.items()},
        )
    if isinstance(value, list):
        return [fields_sets(v) for v in value]
    return None


def model_verdict(run: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        payload = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason, error.writer)
    return ("ok", type(payload), payload, fields_sets(payload))


def _model_forms(body: bytes) -> list[Any]:
    return [body, bytearray(body), memoryview(body), *([body.decode()] if body.isascii() else [])]


def _hold_model_contract(model: type[BaseModel], critical: list[str], body: bytes) -> bool:
    """Every form of ``body`` through check(), @requires and the wire check against the precise
    path; returns whether the model qualified for the JSON path."""
    from syscontract.integrations.cloudevents import CloudEventCheck
    from syscontract.integrations.kafka import Deserializer

    contract = Contract.from_model(f"pfast{next(_PFAST)}.v1", model)
    checker = Checker(contract, critical)
    registry = MemoryRegistry([contract])
    ref = str(contract.ref)
    handler = requires(ref, critical, registry=registry)(lambda event: event)
    guard = m.GuardCheck(ref, critical, registry=registry)
    deserialize = Deserializer(ref, critical, registry=registry)
    value, key = _kafka_context("value", None), _kafka_context("key", [("traceparent", b"00-x")])
    event = CloudEventCheck(ref, critical, registry=registry)
    binary = {**CLOUDEVENT, "ce-type": "com.example.created"}
    for data in _model_forms(body):
        expected = model_verdict(lambda data=data: checker.precise(data, None)[0])
        entry_points = {
            "check()": lambda data=data: checker.run_detailed(data, None)[0],
            "@requires": lambda data=data: handler(data),
            "guard": lambda data=data: guard.run(data, None),
            "kafka value": lambda data=data: deserialize(data, value),
            "kafka key": lambda data=data: deserialize(data, key),
            "cloudevent": lambda data=data: event(data, binary),
        }
        for name, run in entry_points.items():
            assert expected == model_verdict(run), (name, data)
    return checker.description.json_model


_PFAST = iter(range(10**9))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=json_cases(kinds=PYDANTIC_SLOT_KINDS))
def test_pydantic_contracts_from_json_take_the_precise_verdict_and_instance(case: JsonCase) -> None:
    body = json.dumps(case.message).encode()
    if _hold_model_contract(case.model(), list(case.critical), body):
        STATS_JSON_MODEL["qualified"] += 1


STATS_JSON_MODEL: Counter[str] = Counter()


class Loose(BaseModel):
    anything: Any = None
    number: float | None = None
    count: int = 0
    name: str = ""
    flags: list[bool] = []
    table: dict[str, Any] = {}


class Holder(BaseModel):
    key: str
    loose: Loose
    more: list[Loose] = []


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_wire_bodies(), where=st.sampled_from(["anything", "number", "count", "name", "flags", "table"]))
def test_pydantic_json_parser_reads_what_the_precise_path_reads(value: bytes, where: str) -> None:
    # the wire's hard cases (big ints, 1e400, NaN, duplicate keys, lone surrogates, bad UTF-8, deep
    # nesting, trailing data) inside a model that qualifies, at a critical field and beside it
    body = b'{"key":"k","loose":{"' + where.encode() + b'":' + value + b'},"more":[{"anything":' + value + b"}]}"
    assert _hold_model_contract(Holder, ["key", "loose"], body)


@pytest.mark.parametrize("digits", [19, 20, 40, 308, 309, 310])
@pytest.mark.parametrize("where", ["anything", "number", "count"])
def test_a_pydantic_json_body_reads_long_integers_as_the_precise_path(digits: int, where: str) -> None:
    # pydantic's reader of a model without a float field is held to the precise path only from 309
    # digits on (below, the two agree on every integer); one with a float field (Loose.number) from
    # 19 on, as orjson's: pydantic misrounds some integers past 64 bits for a float (red team 26b)
    for sign in (b"", b"-"):
        number = sign + b"9" * digits
        body = b'{"key":"k","loose":{"' + where.encode() + b'":' + number + b'},"more":[{"anything":' + number + b"}]}"
        assert _hold_model_contract(Holder, ["key", "loose"], body)


def test_the_differential_test_catches_a_dropped_float_range_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mutation: pydantic reads a 309-digit integer as inf for a float field; the precise path
    # keeps the int, which the model refuses (a model with a float field is tested for 19 digits)
    monkeypatch.setattr(json_wire, "_RUN", b"0" * 10**6)
    with pytest.raises(AssertionError):
        test_a_pydantic_json_body_reads_long_integers_as_the_precise_path(309, "number")


class Typed(BaseModel):
    x: int
    flag: bool = False
    ratio: float = 0.0


WHERE_LAX_AND_STRICT_PART = [
    b'{"x":"5","flag":false,"ratio":0.5}',
    b'{"x":5.0,"flag":false,"ratio":0.5}',
    b'{"x":true,"flag":false,"ratio":0.5}',
    b'{"x":5,"flag":"true","ratio":0.5}',
    b'{"x":5,"flag":1,"ratio":0.5}',
    b'{"x":5,"flag":false,"ratio":"1.5"}',
    b'{"x":5,"flag":false,"ratio":1}',
    b'{"x":"a","flag":false,"ratio":0.5,"x":5}',
    b'{"x":5,"flag":false,"ratio":0.5,"x":"a"}',
    b'{"x":5,"flag":false,"ratio":NaN}',
    b'{"x":5,"flag":false,"ratio":1e400}',
    b'{"x":18446744073709551616,"flag":false,"ratio":18446744073709551616}',
]


@pytest.mark.parametrize("body", WHERE_LAX_AND_STRICT_PART)
def test_a_pydantic_json_body_gets_the_precise_verdict_where_lax_and_strict_part(body: bytes) -> None:
    assert _hold_model_contract(Typed, ["x", "flag", "ratio"], body)


def test_the_differential_test_catches_a_lax_pydantic_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # the mutation: validating the body in lax mode takes "5" for a critical integer, which the
    # precise path refuses (the type of a critical field is checked on what was sent)
    def lax(model: Any) -> Callable[[Any], Any]:
        return lambda data: model.__pydantic_validator__.validate_json(data)

    monkeypatch.setattr(json_wire, "model_reader", lax)
    with pytest.raises(AssertionError):
        for body in WHERE_LAX_AND_STRICT_PART:
            _hold_model_contract(Typed, ["x", "flag", "ratio"], body)


@pytest.mark.parametrize("word", [b"NaN", b"Infinity", b"-Infinity"])
def test_the_differential_test_catches_a_dropped_nan_guard(monkeypatch: pytest.MonkeyPatch, word: bytes) -> None:
    # the mutation: a strict read without the search for NaN and Infinity, which pydantic's parser
    # reads and the precise path refuses as not JSON
    def unguarded(model: Any) -> Callable[[Any], Any]:
        return lambda data: model.__pydantic_validator__.validate_json(data, strict=True)

    body = b'{"x":5,"flag":false,"ratio":' + word + b"}"
    assert _hold_model_contract(Typed, ["x", "flag", "ratio"], body)
    monkeypatch.setattr(json_wire, "model_reader", unguarded)
    with pytest.raises(AssertionError):
        _hold_model_contract(Typed, ["x", "flag", "ratio"], body)


def test_a_released_memoryview_is_a_decode_error_on_every_entry_point() -> None:
    # its size cannot be read: no fast path takes it, and the decoder says why (was: a bare ValueError)
    view = memoryview(json.dumps(ORDER).encode())
    view.release()
    handler = requires("order.v3", FIELDS)(lambda event: event)
    expected = ("DecodeError", None, "unreadable", None)
    assert expected == verdict(lambda: handler(view))
    assert expected == verdict(lambda: syscontract.check("order.v3", view, FIELDS))
    assert expected == verdict(lambda: m.GuardCheck("order.v3", FIELDS).run(view, None))
