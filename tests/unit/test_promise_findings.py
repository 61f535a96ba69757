"""Issue 12: one regression test per way a handler was handed a value the producer never sent.

Public API only (``syscontract``, ``syscontract.integrations.*``, ``syscontract.wire``), so these
survive the rebuild of the engine. The bytes are built as producers build them, with fastavro:
Confluent framing (``00`` + 4-byte big-endian id + body), single-object encoding (``C3 01`` +
CRC-64-AVRO fingerprint + body) and a bare body named by the ``syscontract-contract`` header.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from producers import avro_body, confluent, single_object
from pydantic import AliasChoices, BaseModel, Field, RootModel, field_validator, model_validator

import syscontract
from syscontract import (
    Contract,
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    DecodeError,
    MemoryRegistry,
    MissingCriticalField,
    requires,
)
from syscontract.integrations.cloudevents import CloudEventCheck
from syscontract.integrations.kafka import Deserializer
from syscontract.wire import Envelope

# -- producers' bytes --------------------------------------------------------------------------------


class Ctx:
    """What confluent-kafka hands a deserializer: the headers and which part of the message."""

    def __init__(self, headers: Any = None) -> None:
        self.headers = headers
        self.field = "value"


WRITER_ID, READER_ID = 1, 2


def avro_registry(writer: Contract, reader: Contract) -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add(writer, schema_id=WRITER_ID)
    registry.add(reader, schema_id=READER_ID)
    syscontract.configure(registry=registry)
    return registry


def framings(writer: Contract, datum: Mapping[str, Any]) -> dict[str, Any]:
    """The same writer datum in every Avro framing, as a message ``@requires`` accepts."""
    body = avro_body(writer.schema, datum)
    return {
        "confluent": confluent(WRITER_ID, body),
        "single-object": single_object(writer.schema, body),
        "header": Envelope(body, [("syscontract-contract", str(writer.ref).encode())]),
    }


FRAMINGS = ["confluent", "single-object", "header"]


class Handler:
    """A handler that records what it receives."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def __call__(self, event: Any) -> str:
        self.received.append(event)
        return "handled"


def record(name: str, fields: list[dict[str, Any]], namespace: str = "promise") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


# -- 1. Avro reader enum default -----------------------------------------------------------------------

TIER_W = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD", "PLATINUM"]}
TIER_R = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD"], "default": "BASIC"}
ENUM_WRITER = Contract.from_avro(
    "tiered.v1", record("Order", [{"name": "orderId", "type": "string"}, {"name": "tier", "type": TIER_W}])
)
ENUM_READER = Contract.from_avro(
    "tiered.v2", record("Order", [{"name": "orderId", "type": "string"}, {"name": "tier", "type": TIER_R}])
)


@pytest.mark.parametrize("validate", ["fields", "full"])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_1_avro_enum_default_symbol_is_refused(framing: str, validate: str) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    message = framings(ENUM_WRITER, {"orderId": "o-1", "tier": "PLATINUM"})[framing]
    handler = Handler()
    guarded = requires("tiered.v2", ["tier"], validate=validate)(handler)

    for _ in range(3):  # the first call and the generated fast path after it
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("tier", "unknown-symbol") == (caught.value.field, caught.value.reason)
        assert "PLATINUM" in str(caught.value)
        assert "BASIC" in str(caught.value)
    assert [] == handler.received


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_1_a_symbol_both_enums_know_passes(framing: str) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    message = framings(ENUM_WRITER, {"orderId": "o-1", "tier": "GOLD"})[framing]
    handler = Handler()
    guarded = requires("tiered.v2", ["tier"])(handler)

    assert ["handled"] * 3 == [guarded(message) for _ in range(3)]
    assert ["GOLD"] * 3 == [event["tier"] for event in handler.received]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_1_a_non_critical_enum_field_may_take_the_reader_default(framing: str) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    message = framings(ENUM_WRITER, {"orderId": "o-1", "tier": "PLATINUM"})[framing]
    handler = Handler()
    guarded = requires("tiered.v2", ["orderId"])(handler)

    assert ["handled"] * 2 == [guarded(message) for _ in range(2)]
    assert ["o-1", "o-1"] == [event["orderId"] for event in handler.received]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_1_check_and_the_kafka_deserializer_refuse_the_substituted_symbol(framing: str) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    message = framings(ENUM_WRITER, {"orderId": "o-1", "tier": "PLATINUM"})[framing]
    with pytest.raises(MissingCriticalField) as by_check:
        syscontract.check("tiered.v2", message, ["tier"])
    value, headers = (message.value, message.headers) if isinstance(message, Envelope) else (message, None)
    with pytest.raises(MissingCriticalField) as by_deserializer:
        Deserializer("tiered.v2", ["tier"])(value, Ctx(headers))
    assert ("tier", "unknown-symbol") == (by_check.value.field, by_check.value.reason)
    assert ("tier", "unknown-symbol") == (by_deserializer.value.field, by_deserializer.value.reason)


# -- 2. union branches ----------------------------------------------------------------------------------


def _payment(voucher_last4: dict[str, Any] | None) -> dict[str, Any]:
    card = record("Card", [{"name": "id", "type": "string"}, {"name": "last4", "type": "string"}])
    voucher_fields = [{"name": "id", "type": "string"}]
    if voucher_last4 is not None:
        voucher_fields.append(voucher_last4)
    voucher = record("Voucher", voucher_fields)
    return record("Order", [{"name": "orderId", "type": "string"}, {"name": "payment", "type": [card, voucher]}])


UNION_WRITER = Contract.from_avro("paid.v1", _payment(None))
UNION_READER = Contract.from_avro("paid.v2", _payment({"name": "last4", "type": "string", "default": "0000"}))


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_2_union_branch_written_without_the_field_is_absent(framing: str) -> None:
    avro_registry(UNION_WRITER, UNION_READER)
    message = framings(UNION_WRITER, {"orderId": "o-1", "payment": ("promise.Voucher", {"id": "v-1"})})[framing]
    handler = Handler()
    guarded = requires("paid.v2", ["payment.last4"])(handler)

    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("payment.last4", "absent") == (caught.value.field, caught.value.reason)
    assert [] == handler.received


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_2_union_branch_written_with_the_field_passes(framing: str) -> None:
    avro_registry(UNION_WRITER, UNION_READER)
    datum = {"orderId": "o-1", "payment": ("promise.Card", {"id": "c-1", "last4": "4242"})}
    message = framings(UNION_WRITER, datum)[framing]
    handler = Handler()
    guarded = requires("paid.v2", ["payment.last4"])(handler)

    assert ["handled"] * 3 == [guarded(message) for _ in range(3)]
    assert ["4242"] * 3 == [event["payment"]["last4"] for event in handler.received]


# -- 3. aliases -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_3_a_reader_alias_naming_the_writer_field_passes_with_the_writers_value(framing: str) -> None:
    writer = Contract.from_avro("aliased.v1", record("Order", [{"name": "level", "type": "string"}]))
    reader = Contract.from_avro(
        "aliased.v2", record("Order", [{"name": "customerTier", "type": "string", "aliases": ["level"]}])
    )
    avro_registry(writer, reader)
    handler = Handler()
    guarded = requires("aliased.v2", ["customerTier"])(handler)

    message = framings(writer, {"level": "VIP"})[framing]
    assert ["handled"] * 2 == [guarded(message) for _ in range(2)]
    assert ["VIP", "VIP"] == [event["customerTier"] for event in handler.received]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_3_an_alias_clash_never_hands_the_default(framing: str) -> None:
    # the writer's 'tier' means something else; the reader's 'tier' takes it by name, and the
    # critical 'customerTier' (alias 'tier') would be left with its default 'BASIC'
    writer = Contract.from_avro("clash.v1", record("Order", [{"name": "tier", "type": "string"}]))
    handler = Handler()
    try:  # refusing the clash when the contract is built or declared is acceptable
        reader = Contract.from_avro(
            "clash.v2",
            record(
                "Order",
                [
                    {"name": "customerTier", "type": "string", "aliases": ["tier"], "default": "BASIC"},
                    {"name": "tier", "type": "string", "default": "T"},
                ],
            ),
        )
        avro_registry(writer, reader)
        guarded = requires("clash.v2", ["customerTier"])(handler)
    except ContractDeclarationError as refused:
        assert "tier" in str(refused)
        return
    message = framings(writer, {"tier": "shipping-tier-2"})[framing]
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert "customerTier" == caught.value.field
    assert [] == handler.received


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_3_a_writer_side_alias_does_not_map_a_field(framing: str) -> None:
    # the Avro specification resolves with the reader's aliases only: the writer's 'level' with
    # alias 'customerTier' is not the reader's 'customerTier', whose value would be its default
    writer = Contract.from_avro(
        "walias.v1", record("Order", [{"name": "level", "type": "string", "aliases": ["customerTier"]}])
    )
    reader = Contract.from_avro(
        "walias.v2", record("Order", [{"name": "customerTier", "type": "string", "default": "BASIC"}])
    )
    avro_registry(writer, reader)
    handler = Handler()
    guarded = requires("walias.v2", ["customerTier"])(handler)
    message = framings(writer, {"level": "VIP"})[framing]
    with pytest.raises(MissingCriticalField) as caught:
        guarded(message)
    assert ("customerTier", "not-in-writer-schema") == (caught.value.field, caught.value.reason)
    assert [] == handler.received


# -- pydantic contracts shared by 4, 5, 9 ------------------------------------------------------------


class Order(BaseModel):
    orderId: str
    customerTier: str = "BASIC"


ORDER_AVRO = Contract.from_avro(
    "shop.v1", record("Order", [{"name": "orderId", "type": "string"}], namespace="shop")
)  # the stale writer: no customerTier


@pytest.fixture
def order_model() -> Iterator[type[Order]]:
    syscontract.contract("shop.v2")(Order)
    registry = MemoryRegistry()
    registry.add(ORDER_AVRO, schema_id=WRITER_ID)
    syscontract.configure(registry=registry)
    yield Order


STALE = {"orderId": "o-1"}


def stale_forms() -> dict[str, Any]:
    return {
        "dict": dict(STALE),
        "json-bytes": json.dumps(STALE).encode(),
        "json-str": json.dumps(STALE),
        "avro-confluent": confluent(WRITER_ID, avro_body(ORDER_AVRO.schema, STALE)),
        "instance": Order(**STALE),
    }


def assert_not_filled(received: Any) -> None:
    """What observe hands on: never a model with the default in it; the raw dict, without the field."""
    assert not isinstance(received, BaseModel), f"the handler received a model: {received!r}"
    assert isinstance(received, Mapping)
    assert "customerTier" not in received
    assert "o-1" == received["orderId"]


# -- 4. observe with a pydantic contract ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["dict", "json-bytes", "json-str", "avro-confluent", "instance"])
def test_finding_4_observe_never_hands_a_pydantic_default(order_model: type[Order], form: str) -> None:
    handler = Handler()
    guarded = requires("shop.v2", ["customerTier"], on_violation="observe")(handler)
    for _ in range(3):
        assert "handled" == guarded(stale_forms()[form])
    assert 3 == len(handler.received)
    for received in handler.received:
        assert_not_filled(received)


@pytest.mark.parametrize("form", ["dict", "json-bytes", "avro-confluent"])
def test_finding_4_observe_in_an_async_handler(order_model: type[Order], form: str) -> None:
    received: list[Any] = []

    @requires("shop.v2", ["customerTier"], on_violation="observe")
    async def on_order(event: Any) -> None:
        received.append(event)

    for _ in range(2):
        asyncio.run(on_order(stale_forms()[form]))
    assert 2 == len(received)
    for event in received:
        assert_not_filled(event)


@pytest.mark.parametrize("form", ["json-bytes", "avro-confluent"])
def test_finding_4_observe_in_the_kafka_deserializer(order_model: type[Order], form: str) -> None:
    deserializer = Deserializer("shop.v2", ["customerTier"], on_violation="observe")
    for _ in range(2):
        assert_not_filled(deserializer(stale_forms()[form], Ctx()))


@pytest.mark.parametrize("form", ["json-bytes", "avro-confluent"])
def test_finding_4_observe_in_a_broker_guard(order_model: type[Order], form: str) -> None:
    guard = CloudEventCheck("shop.v2", ["customerTier"], observe=True)
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/checkout", "ce-type": "shop.placed",
               "content-type": "application/octet-stream"}  # fmt: skip
    for _ in range(2):
        assert_not_filled(guard(stale_forms()[form], headers))


# -- 5. pydantic validators -------------------------------------------------------------------------------


class InjectsBefore(BaseModel):
    orderId: str
    customerTier: str

    @model_validator(mode="before")
    @classmethod
    def inject(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {"customerTier": "BASIC", **data}
        return data


class AssignsAfter(BaseModel):
    orderId: str
    customerTier: str | None = None

    @model_validator(mode="after")
    def fill(self) -> AssignsAfter:
        if self.customerTier is None:
            self.customerTier = "BASIC"
        return self


class AssignsInPostInit(BaseModel):
    orderId: str
    customerTier: str | None = None

    def model_post_init(self, context: Any) -> None:
        if self.customerTier is None:
            self.customerTier = "BASIC"


class MapsNull(BaseModel):
    orderId: str
    customerTier: str

    @field_validator("customerTier", mode="before")
    @classmethod
    def no_null(cls, value: Any) -> Any:
        return "BASIC" if value is None else value


VALIDATED = {"before": InjectsBefore, "after": AssignsAfter, "post-init": AssignsInPostInit, "null": MapsNull}


@pytest.mark.parametrize("form", ["dict", "json-bytes", "json-str", "avro-confluent"])
@pytest.mark.parametrize("kind", list(VALIDATED))
def test_finding_5_a_validator_cannot_make_a_field_sent(kind: str, form: str) -> None:
    model = VALIDATED[kind]
    syscontract.contract(f"validated.{kind}.v2")(model)
    sent = {"orderId": "o-1", "customerTier": None} if kind == "null" else {"orderId": "o-1"}
    writer_fields = [{"name": "orderId", "type": "string"}]
    if kind == "null":
        writer_fields.append({"name": "customerTier", "type": ["null", "string"]})
    writer = Contract.from_avro(f"validated.{kind}.v1", record("Order", writer_fields, namespace="validated"))
    registry = MemoryRegistry()
    registry.add(writer, schema_id=WRITER_ID)
    syscontract.configure(registry=registry)
    message = {
        "dict": sent,
        "json-bytes": json.dumps(sent).encode(),
        "json-str": json.dumps(sent),
        "avro-confluent": confluent(WRITER_ID, avro_body(writer.schema, sent)),
    }[form]
    handler = Handler()
    guarded = requires(f"validated.{kind}.v2", ["customerTier"])(handler)

    expected = {"null"} if kind == "null" else {"absent", "not-in-writer-schema"}
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert "customerTier" == caught.value.field
        assert caught.value.reason in expected
    assert [] == handler.received


# -- 6. model instances: model_fields_set and not None, on every path ------------------------------------


class Customer(BaseModel):
    id: str
    tier: str


class Account(BaseModel):
    orderId: str
    customerTier: str
    customer: Customer


def _account() -> Account:
    return Account(orderId="o-1", customerTier="GOLD", customer=Customer(id="c-1", tier="GOLD"))


def _assigned(path: str) -> Account:
    account = _account()
    if path == "customerTier":
        account.customerTier = None  # type: ignore[assignment]
    else:
        account.customer.tier = None  # type: ignore[assignment]
    return account


INSTANCES: dict[str, tuple[str, Callable[[], Account]]] = {
    "model_copy": ("customerTier", lambda: _account().model_copy(update={"customerTier": None})),
    "model_construct": (
        "customerTier",
        lambda: Account.model_construct(orderId="o-1", customerTier=None, customer=Customer(id="c-1", tier="G")),
    ),
    "assignment": ("customerTier", lambda: _assigned("customerTier")),
    "nested-assignment": ("customer.tier", lambda: _assigned("customer.tier")),
    "nested-model_copy": (
        "customer.tier",
        lambda: _account().model_copy(
            update={"customer": Customer(id="c-1", tier="G").model_copy(update={"tier": None})}
        ),
    ),
}


@pytest.mark.parametrize("how", list(INSTANCES))
def test_finding_6_none_on_a_model_instance_is_null_on_every_call(how: str) -> None:
    syscontract.contract("account.v1")(Account)
    path, build = INSTANCES[how]
    handler = Handler()
    guarded = requires("account.v1", [path])(handler)

    verdicts = []
    for _ in range(5):  # the first call, then the generated fast path
        with pytest.raises(MissingCriticalField) as caught:
            guarded(build())
        verdicts.append((caught.value.field, caught.value.reason))
    with pytest.raises(MissingCriticalField) as by_check:
        syscontract.check("account.v1", build(), [path])
    assert [(path, "null")] * 5 == verdicts
    assert (path, "null") == (by_check.value.field, by_check.value.reason)
    assert [] == handler.received


def test_finding_6_model_construct_without_the_field_is_not_sent() -> None:
    syscontract.contract("account.v1")(Account)
    guarded = requires("account.v1", ["customerTier"])(Handler())
    message = Account.model_construct(orderId="o-1", customer=Customer(id="c-1", tier="G"))
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert "customerTier" == caught.value.field


def _instance_oracle(message: BaseModel, path: str) -> Any:
    """What was set on the instance: every step in ``model_fields_set`` and not None."""
    value: Any = message
    for name in path.split("."):
        if name not in value.model_fields_set:
            return "refused"
        value = getattr(value, name)
        if value is None:
            return (MissingCriticalField, path, "null")
    return "ok"


def test_finding_6_the_fast_path_never_accepts_what_check_refuses_for_instances() -> None:
    syscontract.contract("account.v1")(Account)
    for path, build in [*INSTANCES.values(), ("customerTier", _account), ("customer.tier", _account)]:
        guarded = requires("account.v1", [path])(Handler())
        expected = _instance_oracle(build(), path)
        for _ in range(3):  # the first call, then the generated fast path
            try:
                precise: Any = syscontract.check("account.v1", build(), [path]) and "ok"
            except ContractViolation as error:
                precise = (type(error), error.field, error.reason)
            try:
                fast: Any = guarded(build()) and "ok"
            except ContractViolation as error:
                fast = (type(error), error.field, error.reason)
            assert (expected, expected) == (precise, fast), path


# -- 7. decoded output never launders a default ----------------------------------------------------------

V1 = record("Order", [{"name": "orderId", "type": "string"}], namespace="laundry")
V2 = record(
    "Order",
    [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string", "default": "BASIC"}],
    namespace="laundry",
)


@pytest.fixture
def laundry() -> bytes:
    writer, reader = Contract.from_avro("laundry.v1", V1), Contract.from_avro("laundry.v2", V2)
    avro_registry(writer, reader)
    return confluent(WRITER_ID, avro_body(V1, {"orderId": "o-1"}))


def test_finding_7_check_output_is_refused_by_a_stricter_requires(laundry: bytes) -> None:
    handler = Handler()
    inner = requires("laundry.v2", ["customerTier"])(handler)
    decoded = syscontract.check("laundry.v2", laundry, [])
    assert isinstance(decoded, Mapping)
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            inner(decoded)
        assert "customerTier" == caught.value.field
    assert [] == handler.received


def test_finding_7_check_output_is_refused_by_a_stricter_check(laundry: bytes) -> None:
    decoded = syscontract.check("laundry.v2", laundry, ["orderId"])
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("laundry.v2", decoded, ["customerTier"])
    assert "customerTier" == caught.value.field


def test_finding_7_an_outer_requires_hands_on_nothing_a_stricter_one_accepts(laundry: bytes) -> None:
    handler = Handler()
    inner = requires("laundry.v2", ["customerTier"])(handler)
    outer = requires("laundry.v2", [])(lambda event: inner(event))
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            outer(laundry)
        assert "customerTier" == caught.value.field
    assert [] == handler.received


def test_finding_7_kafka_deserializer_output_is_refused_downstream(laundry: bytes) -> None:
    decoded = Deserializer("laundry.v2", [])(laundry, Ctx())
    assert isinstance(decoded, Mapping)
    handler = Handler()
    with pytest.raises(MissingCriticalField):
        requires("laundry.v2", ["customerTier"])(handler)(decoded)
    assert [] == handler.received


@pytest.mark.parametrize("framing", FRAMINGS)
def test_finding_7_a_substituted_enum_symbol_is_refused_downstream(framing: str) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    decoded = syscontract.check("tiered.v2", framings(ENUM_WRITER, {"orderId": "o-1", "tier": "PLATINUM"})[framing])
    assert isinstance(decoded, Mapping)
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("tiered.v2", decoded, ["tier"])
    assert "tier" == caught.value.field


# -- 8. registry changes invalidate writer plans ---------------------------------------------------------

SENDS = record(
    "Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}], namespace="plan"
)
OMITS = record("Order", [{"name": "orderId", "type": "string"}, {"name": "note", "type": "string"}], namespace="plan")
PLAN_READER = Contract.from_avro(
    "plan.v3",
    record(
        "Order",
        [
            {"name": "orderId", "type": "string"},
            {"name": "customerTier", "type": "string", "default": "BASIC"},
            {"name": "note", "type": "string", "default": ""},
        ],
        namespace="plan",
    ),
)
CRAFTED = confluent(7, avro_body(OMITS, {"orderId": "o-1", "note": "VIP"}))  # 'VIP' is a note, not a tier
SENT = confluent(7, avro_body(SENDS, {"orderId": "o-1", "customerTier": "GOLD"}))


@pytest.mark.parametrize("declared", ["contract-object", "reference"])
def test_finding_8_configure_with_another_registry_is_seen(declared: str) -> None:
    first, second = MemoryRegistry([PLAN_READER]), MemoryRegistry([PLAN_READER])
    first.add(Contract.from_avro("plan.v1", SENDS), schema_id=7)
    second.add(Contract.from_avro("plan.v2", OMITS), schema_id=7)
    syscontract.configure(registry=first)
    handler = Handler()
    guarded = requires(PLAN_READER if declared == "contract-object" else "plan.v3", ["customerTier"])(handler)
    assert ["handled", "handled"] == [guarded(SENT), guarded(SENT)]

    syscontract.configure(registry=second)
    for _ in range(2):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(CRAFTED)
        assert ("customerTier", "not-in-writer-schema") == (caught.value.field, caught.value.reason)
    assert ["GOLD", "GOLD"] == [event["customerTier"] for event in handler.received]


@pytest.mark.parametrize("declared", ["contract-object", "reference"])
def test_finding_8_an_id_remapped_by_add_is_seen(declared: str) -> None:
    registry = MemoryRegistry([PLAN_READER])
    registry.add(Contract.from_avro("plan.v1", SENDS), schema_id=7)
    syscontract.configure(registry=registry)
    handler = Handler()
    guarded = requires(PLAN_READER if declared == "contract-object" else "plan.v3", ["customerTier"])(handler)
    assert ["handled", "handled"] == [guarded(SENT), guarded(SENT)]

    registry.add(Contract.from_avro("plan.v2", OMITS), schema_id=7)
    for _ in range(2):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(CRAFTED)
        assert ("customerTier", "not-in-writer-schema") == (caught.value.field, caught.value.reason)
    assert ["GOLD", "GOLD"] == [event["customerTier"] for event in handler.received]


def test_finding_8_an_ordinary_message_of_the_new_writer_is_no_decode_error() -> None:
    registry = MemoryRegistry([PLAN_READER])
    registry.add(Contract.from_avro("plan.v1", SENDS), schema_id=7)
    syscontract.configure(registry=registry)
    guarded = requires(PLAN_READER, ["orderId"])(Handler())
    guarded(SENT)
    shorter = record("Order", [{"name": "orderId", "type": "string"}], namespace="plan")
    registry.add(Contract.from_avro("plan.v0", shorter), schema_id=7)
    assert "handled" == guarded(confluent(7, avro_body(shorter, {"orderId": "o-1"})))


def test_finding_8_check_sees_a_remapped_id_too() -> None:
    registry = MemoryRegistry([PLAN_READER])
    registry.add(Contract.from_avro("plan.v1", SENDS), schema_id=7)
    syscontract.configure(registry=registry)
    assert "GOLD" == syscontract.check(PLAN_READER, SENT, ["customerTier"])["customerTier"]
    registry.add(Contract.from_avro("plan.v2", OMITS), schema_id=7)
    with pytest.raises(MissingCriticalField):
        syscontract.check(PLAN_READER, CRAFTED, ["customerTier"])


# -- 9. one rule for every form ------------------------------------------------------------------------


class Line(BaseModel):
    orderId: str
    qty: int
    customerTier: str


def _forms(content: dict[str, Any], instance: bool = True) -> dict[str, Any]:
    forms: dict[str, Any] = {
        "dict": content,
        "json-bytes": json.dumps(content).encode(),
        "json-str": json.dumps(content),
    }
    if instance:
        forms["instance"] = Line.model_construct(_fields_set=set(content), **content)
    return forms


def _verdict(guarded: Callable[[Any], Any], message: Any) -> Any:
    try:
        guarded(message)
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason)
    return "accepted"


@pytest.fixture
def line() -> type[Line]:
    return syscontract.contract("line.v1")(Line)


def test_finding_9_a_null_critical_field_is_null_in_every_form(line: type[Line]) -> None:
    guarded = requires("line.v1", ["customerTier"])(Handler())
    forms = _forms({"orderId": "o-1", "qty": 1, "customerTier": None})
    verdicts = {form: _verdict(guarded, message) for form, message in forms.items()}
    assert {form: ("MissingCriticalField", "customerTier", "null") for form in forms} == verdicts


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"orderId": "o-1", "qty": "many", "customerTier": "GOLD"}, id="wrong-typed-non-critical"),
        pytest.param({"qty": 1, "customerTier": "GOLD"}, id="missing-non-critical"),
    ],
)
def test_finding_9_a_dict_is_validated_as_a_whole_like_json_bytes(line: type[Line], content: dict[str, Any]) -> None:
    handler = Handler()
    guarded = requires("line.v1", ["customerTier"])(handler)
    verdicts = {form: _verdict(guarded, message) for form, message in _forms(content, instance=False).items()}
    assert "accepted" != verdicts["json-bytes"]
    assert {form: verdicts["json-bytes"] for form in verdicts} == verdicts
    assert [] == handler.received


def test_finding_9_the_handler_receives_the_model_for_every_form(line: type[Line]) -> None:
    handler = Handler()
    guarded = requires("line.v1", ["customerTier"])(handler)
    content = {"orderId": "o-1", "qty": 2, "customerTier": "GOLD"}
    for message in [*_forms(content).values(), Line(**content)] * 2:
        guarded(message)
    assert all(type(event) is Line for event in handler.received), [type(e) for e in handler.received]
    assert {"GOLD"} == {event.customerTier for event in handler.received}


def test_finding_9_a_missing_critical_field_is_the_same_error_in_every_form(line: type[Line]) -> None:
    guarded = requires("line.v1", ["customerTier"])(Handler())
    forms = _forms({"orderId": "o-1", "qty": 1})
    verdicts = {form: _verdict(guarded, message) for form, message in forms.items()}
    assert {form: ("MissingCriticalField", "customerTier", "absent") for form in forms} == verdicts


# -- extras ----------------------------------------------------------------------------------------------


class Chosen(BaseModel):
    customer_tier: str = Field(validation_alias=AliasChoices("customerTier", "tier"))


@pytest.mark.parametrize("declared", ["customer_tier", "customerTier", "tier"])
def test_extra_alias_choices_declared_by_any_name_accept_either_alias(declared: str) -> None:
    syscontract.contract("chosen.v1")(Chosen)
    handler = Handler()
    guarded = requires("chosen.v1", [declared])(handler)
    messages = [{"customerTier": "VIP"}, {"tier": "VIP"}, b'{"customerTier": "VIP"}', b'{"tier": "VIP"}',
                Chosen(customerTier="VIP"), Chosen(tier="VIP")]  # fmt: skip
    for message in messages * 2:
        assert "handled" == guarded(message)
    assert ["VIP"] * len(messages) * 2 == [event.customer_tier for event in handler.received]
    with pytest.raises(MissingCriticalField):
        guarded({"other": "VIP"})


class Inner(BaseModel):
    customerTier: str = "BASIC"


def test_extra_root_model_is_refused_clearly_or_supported() -> None:
    class Wrapped(RootModel[Inner]):
        pass

    handler = Handler()
    try:
        syscontract.contract("wrapped.v1")(Wrapped)
        guarded = requires("wrapped.v1", ["customerTier"])(handler)
    except ContractError as refused:  # at registration or declaration, naming the problem
        assert "root" in str(refused).lower()
        return
    assert "handled" == guarded({"customerTier": "VIP"})
    assert "handled" == guarded(b'{"customerTier": "VIP"}')
    for message in ({}, b"{}", Wrapped(Inner())):
        with pytest.raises(MissingCriticalField):
            guarded(message)
    assert 2 == len(handler.received)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_extra_a_union_null_into_a_reader_string_is_null_naming_the_field(framing: str) -> None:
    writer = Contract.from_avro(
        "nullish.v1",
        record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": ["null", "string"]}]),
    )
    reader = Contract.from_avro(
        "nullish.v2",
        record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}]),
    )
    avro_registry(writer, reader)
    handler = Handler()
    guarded = requires("nullish.v2", ["customerTier"])(handler)
    message = framings(writer, {"orderId": "o-1", "customerTier": None})[framing]
    for _ in range(2):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("customerTier", "null") == (caught.value.field, caught.value.reason)
    assert (
        "GOLD"
        == syscontract.check(
            "nullish.v2", framings(writer, {"orderId": "o-1", "customerTier": "GOLD"})[framing], ["customerTier"]
        )["customerTier"]
    )
    assert [] == handler.received


def test_extra_json_with_a_bom_to_an_avro_contract_says_bom() -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    raw = b"\xef\xbb\xbf" + json.dumps({"orderId": "o-1", "tier": "GOLD"}).encode()
    with pytest.raises(DecodeError) as caught:
        syscontract.check("tiered.v2", raw, ["tier"])
    assert "bom" in str(caught.value).lower() or "byte order mark" in str(caught.value).lower()
    assert raw == caught.value.payload


@pytest.mark.parametrize("headers", [[None], [("syscontract-contract",)], 42])
def test_extra_a_malformed_envelope_is_a_decode_error(headers: Any) -> None:
    avro_registry(ENUM_WRITER, ENUM_READER)
    with pytest.raises(DecodeError):
        syscontract.check(ENUM_READER, Envelope(b"{}", headers), ["tier"])


# -- new doors found while writing these tests (not in the issue's list) ---------------------------------


def test_new_a_header_named_writer_wins_over_a_body_that_looks_like_confluent_framing() -> None:
    # An Avro body is any bytes: this one (ints 0, 0, 0, 0, -1, then the note) starts 00 00 00 00 01,
    # which reads as Confluent framing of schema id 1. The header names the real writer (no tier);
    # read as id 1, the note 'VIP' would become the customerTier
    real = record("Order", [*({"name": n, "type": "int"} for n in "abcde"), {"name": "note", "type": "string"}],
                  namespace="door")  # fmt: skip
    other = record("Order", [{"name": "customerTier", "type": "string"}], namespace="door")
    reader = record(
        "Order",
        [
            *({"name": n, "type": "int", "default": 0} for n in "abcde"),
            {"name": "note", "type": "string", "default": ""},
            {"name": "customerTier", "type": "string", "default": "BASIC"},
        ],
        namespace="door",
    )
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("door.v1", other), schema_id=1)
    registry.add(Contract.from_avro("door.v2", real))
    registry.add(Contract.from_avro("door.v3", reader))
    syscontract.configure(registry=registry)
    body = avro_body(real, {"a": 0, "b": 0, "c": 0, "d": 0, "e": -1, "note": "VIP"})
    assert body.startswith(b"\x00\x00\x00\x00\x01")
    handler = Handler()
    guarded = requires("door.v3", ["customerTier"])(handler)
    with pytest.raises(MissingCriticalField) as caught:
        guarded(Envelope(body, [("syscontract-contract", b"door.v2")]))
    assert ("customerTier", "not-in-writer-schema") == (caught.value.field, caught.value.reason)
    assert [] == handler.received


def test_new_a_header_framed_body_starting_with_a_zero_byte_is_read_with_the_named_writer() -> None:
    # a body starting 00 (a null union branch, an empty array, enum index 0, int 0) is ordinary Avro
    writer = Contract.from_avro(
        "prefix.v1", record("Order", [{"name": "note", "type": ["null", "string"]}, {"name": "tier", "type": "string"}])
    )
    syscontract.configure(registry=MemoryRegistry([writer]))
    body = avro_body(writer.schema, {"note": None, "tier": "GOLD"})
    assert body.startswith(b"\x00")
    decoded = syscontract.check("prefix.v1", Envelope(body, {"syscontract-contract": "prefix.v1"}), ["tier"])
    assert {"note": None, "tier": "GOLD"} == dict(decoded)


def test_new_the_fast_path_keeps_checking_types_for_an_avro_writer_of_a_json_schema_contract() -> None:
    # a JSON Schema reader and an Avro writer: once the writer is known, later messages must still be
    # checked against the reader's types and enum (the writer is not the contract)
    reader = Contract.from_jsonschema(
        "typed.v2", {"type": "object", "properties": {"tier": {"enum": ["BASIC", "GOLD"]}}, "required": ["tier"]}
    )
    writer = Contract.from_avro("typed.v1", record("Order", [{"name": "tier", "type": "string"}]))
    registry = MemoryRegistry([reader])
    registry.add(writer, schema_id=5)
    syscontract.configure(registry=registry)
    handler = Handler()
    guarded = requires("typed.v2", ["tier"])(handler)
    message = confluent(5, avro_body(writer.schema, {"tier": "PLATINUM"}))
    verdicts = [_verdict(guarded, message) for _ in range(3)]
    assert [("FieldTypeError", "tier", "type")] * 3 == verdicts
    assert [] == handler.received


def test_new_produces_refuses_to_relay_a_reader_default(laundry: bytes) -> None:
    # a relay consumes with fewer critical fields and re-produces what it decoded: the reader default
    # 'BASIC' would leave as a value sent, under a contract that marks customerTier critical
    enriched = Contract.from_avro(
        "enriched.v1",
        record(
            "Order",
            [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}],
            namespace="enriched",
        ),
        critical=["customerTier"],
    )
    decoded = syscontract.check("laundry.v2", laundry, [])
    relay = syscontract.produces(enriched)(lambda: decoded)
    with pytest.raises(ContractViolation) as caught:
        relay()
    assert "customerTier" == caught.value.field
