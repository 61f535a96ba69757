"""Issue 21, finding 19: one-line changes to the engine that let a wrong verdict through while every
test stayed green. Each test here fails on its mutant (applied by hand, see docs/mutation.md) and
holds on the real code.

Public entry points only (``requires``, ``check``, ``configure(on_violation="observe")``, the NATS
guard, ``syscontract.wire``), so the tests keep holding when the fast paths are generated another way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from producers import avro_body, confluent
from pydantic import BaseModel, field_validator

import syscontract
from syscontract import (
    Contract,
    DecodeError,
    FieldTypeError,
    MemoryRegistry,
    MissingCriticalField,
    requires,
)
from syscontract import wire as wire_module
from syscontract.integrations.nats import Guard
from syscontract.wire import CONTRACT_HEADER, Envelope
from syscontract.wire import confluent as confluent_wire

WRITER_ID, READER_ID = 1, 2


def record(name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "survivors", "fields": fields}


def memory(*contracts: tuple[Contract, int]) -> MemoryRegistry:
    registry = MemoryRegistry()
    for contract, schema_id in contracts:
        registry.add(contract, schema_id=schema_id)
    syscontract.configure(registry=registry)
    return registry


class Handler:
    def __init__(self) -> None:
        self.received: list[Any] = []

    def __call__(self, event: Any) -> str:
        self.received.append(event)
        return "handled"


class Msg:
    """What nats-py hands a JetStream callback: the body, the headers as a dict, and its settlement."""

    def __init__(self, data: bytes, headers: dict[str, str] | None) -> None:
        self.data = data
        self.headers = headers
        self.subject = "orders"
        self.is_acked = False
        self.settled: list[str] = []

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self) -> None:
        self.settled.append("nak")

    async def term(self) -> None:
        self.settled.append("term")


def through_guard(contract: str, fields: list[str], data: bytes, headers: dict[str, str] | None) -> tuple[Any, Msg]:
    """``data`` through a NATS guard (its wire check) twice, the second time with the writer planned:
    what the handler received and how the message was settled."""
    handler = Handler()
    guard = Guard(handler, contract, fields, trace=False)
    msgs = [Msg(data, headers), Msg(data, headers)]
    for msg in msgs:
        asyncio.run(guard(msg))
    assert msgs[0].settled == msgs[1].settled
    return handler.received, msgs[1]


# -- a. a reader alias takes a writer field only when no reader field of that name takes it ----------


def test_a_reader_alias_never_takes_a_writer_field_that_a_same_named_reader_field_takes() -> None:
    # the writer's 'tier' is the reader's 'tier'; the critical 'customerTier' (alias 'tier') is never
    # written and resolves to its default. When the writer's 'tier' happens to equal that default, a
    # value compared with what the writer wrote at 'tier' cannot tell them apart: only the name rule can
    writer = Contract.from_avro("clash.v1", record("Order", [{"name": "tier", "type": "string"}]))
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
    memory((writer, WRITER_ID), (reader, READER_ID))
    handler = Handler()
    guarded = requires("clash.v2", ["customerTier"])(handler)
    message = confluent(WRITER_ID, avro_body(writer.schema, {"tier": "BASIC"}))
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("customerTier", "not-in-writer-schema") == (caught.value.field, caught.value.reason)
    with pytest.raises(MissingCriticalField):
        syscontract.check("clash.v2", message, ["customerTier"])
    assert [] == handler.received


# -- b. an untyped critical leaf sent as null ---------------------------------------------------------

UNTYPED = {
    "type": "object",
    "properties": {"orderId": {"type": "string"}, "note": {}},
    "required": ["orderId"],
}


@pytest.fixture
def untyped() -> str:
    memory((Contract.from_jsonschema("noted.v1", UNTYPED), 5))
    return "noted.v1"


def test_an_untyped_critical_leaf_sent_as_null_is_refused_as_a_dict(untyped: str) -> None:
    handler = Handler()
    guarded = requires(untyped, ["note"])(handler)
    for _ in range(3):  # the first call plans, the later ones take the fast path
        with pytest.raises(MissingCriticalField) as caught:
            guarded({"orderId": "o", "note": None})
        assert ("note", "null") == (caught.value.field, caught.value.reason)
    assert "handled" == guarded({"orderId": "o", "note": 0})  # any value but null is one
    assert [{"orderId": "o", "note": 0}] == handler.received


def test_an_untyped_critical_leaf_sent_as_null_is_refused_as_json_bytes(untyped: str) -> None:
    handler = Handler()
    guarded = requires(untyped, ["note"])(handler)
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(b'{"orderId": "o", "note": null}')
        assert ("note", "null") == (caught.value.field, caught.value.reason)
    assert [] == handler.received


def test_an_untyped_critical_leaf_sent_as_null_is_refused_by_check(untyped: str) -> None:
    for message in ({"orderId": "o", "note": None}, b'{"orderId": "o", "note": null}') * 2:
        with pytest.raises(MissingCriticalField) as caught:
            syscontract.check(untyped, message, ["note"])
        assert ("note", "null") == (caught.value.field, caught.value.reason)


def test_an_untyped_critical_leaf_sent_as_null_is_refused_by_a_guard(untyped: str) -> None:
    received, msg = through_guard(untyped, ["note"], b'{"orderId": "o", "note": null}', {"traceparent": "00-x"})
    assert ([], ["term"]) == (received, msg.settled)
    received, msg = through_guard(untyped, ["note"], b'{"orderId": "o", "note": []}', None)
    assert ([{"orderId": "o", "note": []}] * 2, ["ack"]) == (received, msg.settled)


# -- c. a null a validator replaced is not counted as sent ---------------------------------------------


class Tiered(BaseModel):
    orderId: str
    customerTier: str | None = None

    @field_validator("customerTier", mode="before")
    @classmethod
    def _basic_for_null(cls, value: Any) -> Any:
        return "BASIC" if value is None else value


def test_a_null_a_validator_replaced_is_not_sent_for_a_later_check() -> None:
    syscontract.contract("tiered.v1")(Tiered)
    # the first consumer needs only orderId: it receives the model, with the validator's 'BASIC'
    order = syscontract.check("tiered.v1", {"orderId": "o", "customerTier": None}, ["orderId"])
    assert ("o", "BASIC") == (order.orderId, order.customerTier)
    # handed on to a stricter check, that 'BASIC' is not a tier the producer sent
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("tiered.v1", order, ["customerTier"])
    assert "customerTier" == caught.value.field
    handler = Handler()
    with pytest.raises(MissingCriticalField):
        requires("tiered.v1", ["customerTier"])(handler)(order)
    assert [] == handler.received
    # the same validator leaves a sent tier alone: that one was sent
    sent = syscontract.check("tiered.v1", {"orderId": "o", "customerTier": "VIP"}, ["orderId"])
    assert "VIP" == syscontract.check("tiered.v1", sent, ["customerTier"]).customerTier


# -- d. observe hands the handler what was sent, never the reader's defaults --------------------------


def test_observe_hands_the_handler_the_writers_datum_without_reader_defaults() -> None:
    tier = {"name": "customerTier", "type": ["null", "string"], "default": None}
    writer = Contract.from_avro("observed.v1", record("Order", [{"name": "orderId", "type": "string"}, tier]))
    reader = Contract.from_avro(
        "observed.v2",
        record(
            "Order",
            [{"name": "orderId", "type": "string"}, tier, {"name": "region", "type": "string", "default": "EU"}],
        ),
    )
    memory((writer, WRITER_ID), (reader, READER_ID))
    syscontract.configure(on_violation="observe")
    handler = Handler()
    guarded = requires("observed.v2", ["customerTier"])(handler)
    message = confluent(WRITER_ID, avro_body(writer.schema, {"orderId": "o", "customerTier": None}))
    assert ["handled"] * 3 == [guarded(message) for _ in range(3)]
    # what the writer wrote, read with its own schema: no 'region' the producer never sent
    assert [{"orderId": "o", "customerTier": None}] * 3 == [dict(event) for event in handler.received]


# -- e. dict headers that name a writer take the precise path -----------------------------------------


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ({CONTRACT_HEADER: "order.v2"}, ("MissingCriticalField", "not-in-writer-schema")),
        ({CONTRACT_HEADER: "order.v3"}, ("DecodeError", "bad-avro")),
        ({confluent_wire.VALUE_HEADER: "\x00\x00\x00\x00\x07"}, ("MissingCriticalField", "not-in-writer-schema")),
        ({confluent_wire.VALUE_HEADER: "\x00\x00\x00\x00\x08"}, ("DecodeError", "bad-avro")),
    ],
)
def test_a_guard_reads_a_body_with_the_avro_writer_its_dict_headers_name(
    registry: syscontract.FileRegistry, order: dict[str, Any], named: dict[str, str], expected: tuple[str, str]
) -> None:
    # the body looks like a JSON order with a tier, but the headers name an Avro writer: the body is
    # that writer's bare Avro, whatever its first byte looks like
    body = json.dumps(order).encode()
    with pytest.raises(syscontract.ContractError) as caught:
        syscontract.check("order.v3", Envelope(body, named), ["customer.customerTier"])
    assert expected == (type(caught.value).__name__, caught.value.reason)
    received, msg = through_guard("order.v3", ["customer.customerTier"], body, named)
    assert ([], ["term"]) == (received, msg.settled)
    # the same body with headers that name no writer is read as JSON
    received, msg = through_guard("order.v3", ["customer.customerTier"], body, {"traceparent": "00-x"})
    assert ["ack"] == msg.settled
    assert [order["customer"]["customerTier"]] * 2 == [event["customer"]["customerTier"] for event in received]


# -- f. check() caches a checker per validate mode ---------------------------------------------------

COUNTED = {
    "type": "object",
    "properties": {"orderId": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["orderId"],
}


def test_check_full_validates_after_a_fields_only_check_of_the_same_declaration() -> None:
    memory((Contract.from_jsonschema("counted.v1", COUNTED), 6))
    message = {"orderId": "o", "n": "not-an-int"}
    assert message == syscontract.check("counted.v1", message, ["orderId"])  # n is not critical
    with pytest.raises(FieldTypeError) as caught:
        syscontract.check("counted.v1", message, ["orderId"], validate="full")
    assert "n" == caught.value.field
    assert message == syscontract.check("counted.v1", message, ["orderId"])  # and the fields-only one stays


# -- g. the last of a repeated header wins ------------------------------------------------------------


def test_the_last_of_a_repeated_header_wins() -> None:
    pairs = [("a", b"1"), ("b", b"x"), ("a", b"2"), ("a", b"3")]
    assert b"3" == wire_module.header(pairs, "a")
    assert b"x" == wire_module.header(pairs, "b")
    assert None is wire_module.header(pairs, "c")


def test_a_repeated_writer_header_names_the_writer_last_given(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    body = avro_body(registry.get(syscontract.ContractRef("order", 3)).schema, order)
    for named in ([b"order.v2", b"order.v3"], [b"order.v3", b"order.v2"]):
        headers = [(CONTRACT_HEADER, name) for name in named]
        if named[-1] == b"order.v3":
            decoded = syscontract.check("order.v3", Envelope(body, headers), ["customer.customerTier"])
            assert order["customer"]["customerTier"] == decoded["customer"]["customerTier"]
        else:  # v3's bytes read as v2's: never v3's tier
            with pytest.raises(syscontract.ContractError) as caught:
                syscontract.check("order.v3", Envelope(body, headers), ["customer.customerTier"])
            assert "order.v2" == caught.value.writer


# -- h. a schema id header is exactly a framing prefix --------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        b"\x00\x00\x00\x00\x08\x00",
        b"\x00\x00\x00\x00\x08\x08",
        b"\x00\x00\x00\x00\x08 ",
        bytes(18),
        bytes([1, *range(17)]),
    ],
)
def test_a_schema_id_header_with_trailing_bytes_is_a_decode_error(value: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        confluent_wire.decode_header(value)
    assert "bad-framing" == caught.value.reason


def test_a_message_whose_schema_id_header_has_trailing_bytes_is_refused(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    body = avro_body(registry.get(syscontract.ContractRef("order", 3)).schema, order)
    assert 8 == confluent_wire.decode_header(b"\x00\x00\x00\x00\x08")
    decoded = syscontract.check("order.v3", Envelope(body, {confluent_wire.VALUE_HEADER: b"\x00\x00\x00\x00\x08"}))
    assert order["orderId"] == decoded["orderId"]
    headers = {confluent_wire.VALUE_HEADER: b"\x00\x00\x00\x00\x08\x00"}
    with pytest.raises(DecodeError) as caught:
        syscontract.check("order.v3", Envelope(body, headers), ["customer.customerTier"])
    assert "bad-framing" == caught.value.reason
    received, msg = through_guard(
        "order.v3", ["customer.customerTier"], body, {k: v.decode() for k, v in headers.items()}
    )
    assert ([], ["term"]) == (received, msg.settled)


# -- decoder.py and fastpath.py under mutmut (docs/mutation.md): the fast Avro path of a resolved writer --
#
# A fast path that raises falls through to the precise path, which gives the same verdict: a mutant
# that breaks the fast path outright changes no verdict, only which path took the message. These pin
# that a planned writer's messages are taken by the fast path, and what it hands on.

DEEP_WRITER = record(
    "Order",
    [
        {"name": "orderId", "type": "string"},
        {"name": "extras", "type": {"type": "map", "values": record("Extra", [{"name": "a", "type": "string"}])}},
    ],
)
DEEP_READER = record(
    "Order",
    [
        {"name": "orderId", "type": "string"},
        {
            "name": "extras",
            "type": {
                "type": "map",
                "values": record(
                    "Extra", [{"name": "a", "type": "string"}, {"name": "b", "type": "string", "default": "B"}]
                ),
            },
        },
        {"name": "region", "type": "string", "default": "EU"},
    ],
)


def test_a_planned_resolved_writer_takes_the_fast_path_without_the_readers_defaults() -> None:
    # records below a map: resolution fills 'b' in every value and 'region', which the writer never
    # wrote; the fast path reads the writer's own datum (after the 5-byte prefix) to strip them
    from syscontract._engine.checker import Checker
    from syscontract._engine.fastpath import NO

    writer = Contract.from_avro("deep.v1", DEEP_WRITER)
    reader = Contract.from_avro("deep.v2", DEEP_READER)
    registry = memory((writer, WRITER_ID), (reader, READER_ID))
    checker = Checker(reader, ["orderId"], registry)
    datum = {"orderId": "o", "extras": {"x": {"a": "1"}, "y": {"a": "2"}}}
    message = confluent(WRITER_ID, avro_body(writer.schema, datum))
    assert (datum, "deep.v1") == checker.run_detailed(message)  # the precise path plans the writer
    assert (datum, "deep.v1") == checker.quick(message, None)  # then the fast path takes its messages
    assert NO is not checker.quick(message, None)


FLAT = record("Order", [{"name": "orderId", "type": "string"}, {"name": "n", "type": ["null", "int"], "default": None}])


@pytest.fixture
def flat() -> Any:
    """A checker of ``flat.v1`` (Avro, ``orderId`` critical) whose writer ``flat.v1`` is planned."""
    from syscontract._engine.checker import Checker

    contract = Contract.from_avro("flat.v1", FLAT)
    checker = Checker(contract, ["orderId"], memory((contract, READER_ID)))
    checker.run(confluent(READER_ID, avro_body(FLAT, {"orderId": "p", "n": None})))
    return checker


@pytest.mark.parametrize(
    "headers",
    [None, {}, {"traceparent": "00-x"}, [], [("traceparent", b"00-x")], [("a", b"1"), ("b", b"2")]],
    ids=["none", "empty-dict", "dict", "empty-list", "pair", "pairs"],
)
def test_every_form_of_a_passing_message_takes_the_fast_path(flat: Any, headers: Any) -> None:
    datum = {"orderId": "o", "n": 3}
    avro = confluent(READER_ID, avro_body(FLAT, datum))
    assert (datum, None) == flat.quick(dict(datum), headers)
    assert (datum, None) == flat.quick(json.dumps(datum).encode(), headers)
    assert (datum, "flat.v1") == flat.quick(avro, headers)
    assert (datum, "flat.v1") == flat.quick(avro, headers)  # and again, from the table


@pytest.mark.parametrize(
    "headers",
    [
        {CONTRACT_HEADER: "flat.v1"},
        {confluent_wire.VALUE_HEADER: "\x00\x00\x00\x00\x02"},
        [(CONTRACT_HEADER, b"flat.v1")],
        [("traceparent", b"00-x"), (confluent_wire.VALUE_HEADER, b"\x00\x00\x00\x00\x02")],
        [("traceparent", b"00-x", b"extra")],
        [[CONTRACT_HEADER, b"flat.v1"]],
        [(b"traceparent", b"00-x")],
        ("traceparent", b"00-x"),
    ],
    ids=["dict-contract", "dict-schema-id", "pair-contract", "pair-schema-id", "triple", "list", "bytes-name", "tuple"],
)
def test_bytes_whose_headers_may_name_a_writer_take_the_precise_path(flat: Any, headers: Any) -> None:
    from syscontract._engine.fastpath import NO

    datum = {"orderId": "o", "n": 3}
    assert NO is flat.quick(confluent(READER_ID, avro_body(FLAT, datum)), headers)
    assert NO is flat.quick(json.dumps(datum).encode(), headers)
    assert (datum, None) == flat.quick(dict(datum), headers)  # a dict has no writer to name


@pytest.mark.parametrize(
    "body",
    [
        b'{"orderId": "o", "n": 3}{}',
        b'{"n": 3}',
        b'{"orderId": null}',
        b'{"orderId": 7}',
        b"[]",
        b" {}",
    ],
)
def test_json_bytes_the_fast_path_cannot_vouch_for_take_the_precise_path(flat: Any, body: bytes) -> None:
    from syscontract._engine.fastpath import NO

    assert NO is flat.quick(body, None)


def test_avro_bytes_the_fast_path_cannot_vouch_for_take_the_precise_path(flat: Any) -> None:
    from syscontract._engine.fastpath import NO

    body = avro_body(FLAT, {"orderId": "o", "n": 3})
    assert NO is flat.quick(confluent(READER_ID, body) + b"\x00", None)  # trailing bytes
    assert NO is flat.quick(confluent(READER_ID, body)[:-1], None)  # cut short
    assert NO is flat.quick(confluent(WRITER_ID, body), None)  # a writer not planned
    assert NO is flat.quick(b"\x01" + confluent(READER_ID, body)[1:], None)  # another magic byte


def test_a_planned_writer_that_may_send_a_critical_field_as_null_is_checked_on_the_fast_path(flat: Any) -> None:
    # the writer is the reader, but 'n' is ["null", "int"]: decoding alone does not vouch for it
    from syscontract._engine.checker import Checker
    from syscontract._engine.fastpath import NO

    checker = Checker(flat.contract, ["orderId", "n"], memory((flat.contract, READER_ID)))
    sent = confluent(READER_ID, avro_body(FLAT, {"orderId": "o", "n": 3}))
    null = confluent(READER_ID, avro_body(FLAT, {"orderId": "o", "n": None}))
    assert {"orderId": "o", "n": 3} == checker.run(sent)
    assert ({"orderId": "o", "n": 3}, "flat.v1") == checker.quick(sent, None)
    assert NO is checker.quick(null, None)
    with pytest.raises(MissingCriticalField) as caught:
        checker.run(null)
    assert ("n", "null") == (caught.value.field, caught.value.reason)


def test_a_planned_writer_whose_array_may_hold_null_elements_is_checked_on_the_fast_path() -> None:
    # the array itself is never null, its elements may be: either one accepting null is a doubt
    tagged = record("Tagged", [{"name": "tags", "type": {"type": "array", "items": ["null", "string"]}}])
    contract = Contract.from_avro("tagged.v1", tagged)
    memory((contract, READER_ID))
    handler = Handler()
    guarded = requires("tagged.v1", ["tags[]"])(handler)
    assert "handled" == guarded(confluent(READER_ID, avro_body(tagged, {"tags": ["a"]})))  # plans the writer
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(confluent(READER_ID, avro_body(tagged, {"tags": ["a", None]})))
        assert "null" == caught.value.reason
    assert [{"tags": ["a"]}] == [dict(event) for event in handler.received]


def test_a_field_some_array_elements_do_not_write_is_dropped_from_those_elements_only() -> None:
    # the writer's items are a union of a line with a sku and a line without; the reader's second
    # record has a sku with a default: resolution fills it in those elements, which the writer never wrote
    def lines(b_fields: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "name": "items",
            "type": {
                "type": "array",
                "items": [
                    record("Line", [{"name": "sku", "type": ["null", "string"]}]),
                    record("Gift", [{"name": "note", "type": "string"}, *b_fields]),
                ],
            },
        }

    writer = record("Order", [{"name": "orderId", "type": "string"}, lines([])])
    reader = record(
        "Order", [{"name": "orderId", "type": "string"}, lines([{"name": "sku", "type": "string", "default": "X"}])]
    )
    memory((Contract.from_avro("gifts.v1", writer), WRITER_ID), (Contract.from_avro("gifts.v2", reader), READER_ID))
    handler = Handler()
    guarded = requires("gifts.v2", ["orderId"])(handler)
    # a sku the writer wrote as null stays null, and the elements after it are judged too
    items = [{"note": "n0"}, {"sku": "s1"}, {"sku": None}, {"note": "n3"}, {"sku": "s4"}]
    datum = {"orderId": "o", "items": items}
    for _ in range(3):
        assert "handled" == guarded(confluent(WRITER_ID, avro_body(writer, datum)))
    assert [datum] * 3 == [json.loads(json.dumps(dict(event))) for event in handler.received]


def test_a_resolved_writer_that_may_send_a_critical_field_as_null_is_checked_on_the_fast_path() -> None:
    # the writer is not the reader: what resolution hands on is checked like any dict
    reader_schema = record("Order", [*FLAT["fields"], {"name": "region", "type": "string", "default": "EU"}])
    writer, reader = Contract.from_avro("flat.v1", FLAT), Contract.from_avro("flat.v2", reader_schema)
    memory((writer, WRITER_ID), (reader, READER_ID))
    handler = Handler()
    guarded = requires("flat.v2", ["orderId", "n"])(handler)
    assert "handled" == guarded(confluent(WRITER_ID, avro_body(FLAT, {"orderId": "o", "n": 3})))  # plans it
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(confluent(WRITER_ID, avro_body(FLAT, {"orderId": "o", "n": None})))
        assert ("n", "null") == (caught.value.field, caught.value.reason)
    assert [{"orderId": "o", "n": 3}] == [dict(event) for event in handler.received]
