"""JSON bodies reach the handler on the fast path through every entry point (issue 26).

A consumer hands syscontract the broker's body: ``bytes``, a ``bytearray``, a ``memoryview`` or a
``str``. Through ``@requires`` (sync and async), ``check()``, a broker guard's check (NATS and
RabbitMQ hand it the body and a dict of headers; Redis Streams the entry's fields, named by bytes),
the Kafka ``Deserializer`` (a value or a key) and a CloudEvent in binary mode, such a body is decoded
and checked inline by the code :class:`syscontract._engine.fastpath.Builder` writes, and the precise
path (``Declaration.slow``, ``Checker.precise``) is not entered, for a JSON Schema or Avro contract
(the handler receives a dict) and for a pydantic contract whose model qualifies (it receives the
model). A body the fast path cannot take (a critical field missing) does enter the precise path:
the spy below sees it, so a test here fails when a form stops taking the fast path.

The verdicts themselves are held to the precise path's in tests/unit/test_fast_paths_agree.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from syscontract import Contract, ContractError, FileRegistry, MemoryRegistry, MissingCriticalField, requires
from syscontract import check as check_function
from syscontract._engine.checker import Checker
from syscontract._engine.declaration import Declaration
from syscontract.integrations import _messaging as m

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())
FIELDS = ["orderId", "currency", "customer.customerTier"]
FILES = FileRegistry(DATA / "contracts")


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    email: str


class Item(BaseModel):
    sku: str
    qty: int
    price: float


class Order(BaseModel):
    orderId: str
    customer: Customer
    items: list[Item]
    currency: str
    total: float
    couponCode: str | None = None


MODELS = MemoryRegistry([Contract.from_model("bytes-order.v1", Order)])
CONTRACTS: dict[str, tuple[str, Any]] = {
    "avro": ("order.v3", FILES),
    "jsonschema": ("order.v4", FILES),
    "pydantic": ("bytes-order.v1", MODELS),
}

FORMS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "str": lambda body: body.decode("utf-8"),
}

CLOUDEVENT = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/shop", "ce-type": "com.example.order.created",
              "content-type": "application/json"}  # fmt: skip


def _kafka(field: str) -> Callable[[str, Any], Callable[[Any], Any]]:
    def build(ref: str, registry: Any) -> Callable[[Any], Any]:
        from syscontract.integrations.kafka import Deserializer

        serialization = pytest.importorskip("confluent_kafka.serialization", reason="pip install -e '.[kafka]'")
        kind = serialization.MessageField.KEY if field == "key" else serialization.MessageField.VALUE
        ctx = serialization.SerializationContext("orders", kind, [("traceparent", b"00-x")])
        deserialize = Deserializer(ref, FIELDS, registry=registry)
        return lambda body: deserialize(body, ctx)

    return build


def _requires_async(ref: str, registry: Any) -> Callable[[Any], Any]:
    async def on_order(event: Any) -> Any:
        return event

    handler = requires(ref, FIELDS, registry=registry)(on_order)
    return lambda body: asyncio.run(handler(body))


def _redis_guard(ref: str, registry: Any) -> Callable[[Any], Any]:
    # as integrations/redis.py builds it: the entry's fields are the raw headers, named by bytes
    def text(fields: dict[bytes, bytes]) -> dict[str, bytes]:
        return {key.decode(): value for key, value in fields.items() if key != b"value"}

    check = m.make_guard_check(ref, FIELDS, registry, False, None, headers=text, names=str.encode)
    return lambda body: check.run(body, {b"value": body, b"traceparent": b"00-x"})


def _cloudevent(ref: str, registry: Any) -> Callable[[Any], Any]:
    check = m.make_guard_check(ref, FIELDS, registry, False, None, cloudevents=True)
    return lambda body: check.run(body, CLOUDEVENT)


ENTRY_POINTS: dict[str, Callable[[str, Any], Callable[[Any], Any]]] = {
    "@requires": lambda ref, registry: requires(ref, FIELDS, registry=registry)(lambda event: event),
    "@requires async": _requires_async,
    "check()": lambda ref, registry: lambda body: check_function(ref, body, FIELDS, registry=registry),
    "guard, no headers": lambda ref, registry: (
        lambda body: m.GuardCheck(ref, FIELDS, registry=registry).run(body, None)
    ),
    "guard, dict headers": lambda ref, registry: (
        lambda body: m.GuardCheck(ref, FIELDS, registry=registry).run(body, {"traceparent": "00-x"})
    ),
    "guard, redis fields": _redis_guard,
    "kafka value": _kafka("value"),
    "kafka key": _kafka("key"),
    "cloudevent, binary": _cloudevent,
}


@pytest.fixture
def precise_entered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the precise routes entered: a declaration's slow path, the checker's precise
    path. Spied on the classes before anything is declared (the generated code binds ``slow``)."""
    entered: list[str] = []
    for cls, name in ((Declaration, "slow"), (Declaration, "slow_async"), (Checker, "precise")):
        original = getattr(cls, name)

        def spy(self: Any, *args: Any, _original: Any = original, _name: str = name) -> Any:
            entered.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(cls, name, spy)
    return entered


def _body(order: dict[str, Any]) -> bytes:
    return json.dumps(order, separators=(",", ":")).encode()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("contract", CONTRACTS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_json_body_takes_the_fast_path(entry: str, contract: str, form: str, precise_entered: list[str]) -> None:
    ref, registry = CONTRACTS[contract]
    run = ENTRY_POINTS[entry](ref, registry)
    body = FORMS[form](_body(ORDER))
    run(body)  # the first call resolves and probes the telemetry providers
    precise_entered.clear()
    payload = run(FORMS[form](_body(ORDER)))
    assert [] == precise_entered
    if contract == "pydantic":
        assert Order is type(payload)
        assert {"id", "customerTier", "email"} == payload.customer.model_fields_set
    else:
        assert ORDER == payload


@pytest.mark.parametrize("contract", CONTRACTS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_body_without_a_critical_field_enters_the_precise_path(
    entry: str, contract: str, precise_entered: list[str]
) -> None:
    ref, registry = CONTRACTS[contract]
    run = ENTRY_POINTS[entry](ref, registry)
    run(_body(ORDER))
    stale = copy.deepcopy(ORDER)
    del stale["customer"]["customerTier"]
    precise_entered.clear()
    with pytest.raises(MissingCriticalField) as caught:
        run(_body(stale))
    assert "customer.customerTier" == caught.value.field
    assert precise_entered, "the precise path says why; the spy must see it"


def test_a_kafka_key_is_read_with_the_keys_schema_id_header() -> None:
    # the key's header names the writer: the precise path reads it (a value's header is not the key's)
    serialization = pytest.importorskip("confluent_kafka.serialization", reason="pip install -e '.[kafka]'")
    from syscontract.integrations.kafka import Deserializer

    deserialize = Deserializer("order.v3", FIELDS, registry=FILES)
    key = serialization.SerializationContext(
        "orders", serialization.MessageField.KEY, [("__key_schema_id", b"\x00\x00\x00\x00\x63")]
    )
    with pytest.raises(ContractError) as caught:
        deserialize(_body(ORDER), key)
    assert "unknown-schema" == caught.value.reason  # id 99 is no writer FILES knows
    value = serialization.SerializationContext(
        "orders", serialization.MessageField.VALUE, [("__key_schema_id", b"\x00\x00\x00\x00\x63")]
    )
    assert ORDER == deserialize(_body(ORDER), value)  # a value's writer is not named by the key's header


def test_a_cloudevents_text_body_with_a_lone_surrogate_gets_check_s_verdict() -> None:
    # the text was encoded to UTF-8 first, which raised UnicodeEncodeError out of the guard
    from syscontract.integrations.cloudevents import CloudEventCheck

    body = json.dumps({**ORDER, "notes": "\ud800"}, ensure_ascii=False)
    assert "\ud800" in body
    expected = check_function("order.v3", body, FIELDS, registry=FILES)
    assert expected == CloudEventCheck("order.v3", FIELDS, registry=FILES)(body, CLOUDEVENT)


def test_a_structured_cloudevent_holding_nan_is_not_json() -> None:
    # structured mode read the envelope with json.loads, which takes NaN; every other path refuses it
    from syscontract import DecodeError
    from syscontract.integrations.cloudevents import CloudEventCheck

    event = {"specversion": "1.0", "id": "1", "source": "/shop", "type": "com.example.order.created",
             "data": {**ORDER, "total": float("nan")}}  # fmt: skip
    body = json.dumps(event).encode()
    check = CloudEventCheck("order.v3", FIELDS, registry=FILES)
    with pytest.raises(DecodeError) as caught:
        check(body, {"content-type": "application/cloudevents+json"})
    assert "not-a-cloudevent" == caught.value.reason
    assert "NaN" in str(caught.value)
    with pytest.raises(DecodeError):
        check(json.dumps({**event, "data": ORDER}).encode().replace(b'"total": ', b'"total": NaN, "x": '), None)
    assert ORDER == check(json.dumps({**event, "data": ORDER}).encode(), None)


@pytest.mark.parametrize("form", FORMS)
def test_a_structured_cloudevent_is_read_in_every_form(form: str) -> None:
    from syscontract import DecodeError
    from syscontract.integrations.cloudevents import CloudEventCheck

    event = {"specversion": "1.0", "id": "1", "source": "/shop", "type": "com.example.order.created", "data": ORDER}
    check = CloudEventCheck("order.v3", FIELDS, registry=FILES)
    assert ORDER == check(FORMS[form](json.dumps(event).encode()), None)
    with pytest.raises(DecodeError) as caught:  # the precise decoder says why (was a TypeError for a view)
        check(FORMS[form](json.dumps(event).encode()[:-1]), None)
    assert "not-a-cloudevent" == caught.value.reason
