"""Avro bytes on the wire: framings, writer lookup, and the reader-default trap."""

from __future__ import annotations

import copy
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

import syscontract
from syscontract import (
    Contract,
    ContractViolation,
    DecodeError,
    FileRegistry,
    MemoryRegistry,
    MissingCriticalField,
    RegistryError,
    requires,
)
from syscontract.wire import avro, confluent, single_object

TIER = "customer.customerTier"
GUID = uuid.UUID("2f3c1a7e-5b6d-4e8f-9a0b-1c2d3e4f5a6b")
DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def files() -> FileRegistry:
    registry = FileRegistry(DATA / "contracts")
    syscontract.configure(registry=registry)
    return registry


@pytest.fixture
def v2_order(order: dict[str, Any]) -> dict[str, Any]:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    return stale


def body(registry: FileRegistry, ref: str, payload: dict[str, Any]) -> bytes:
    return avro.encode(payload, registry.get(ref).native)


def test_a_confluent_framed_v3_order_is_decoded_once_and_handed_over(
    files: FileRegistry, order: dict[str, Any]
) -> None:
    received = []
    handler = requires("order.v3", [TIER])(received.append)
    handler(confluent.encode(8, body(files, "order.v3", order)))
    assert [order] == received


def test_the_trap_a_v2_writer_raises_even_though_the_reader_has_a_default(
    files: FileRegistry, v2_order: dict[str, Any]
) -> None:
    called = []
    handler = requires("order.v3", [TIER])(called.append)
    with pytest.raises(MissingCriticalField) as caught:
        handler(confluent.encode(7, body(files, "order.v2", v2_order)))
    error = caught.value
    assert [] == called
    assert ("not-in-writer-schema", "order.v2", TIER) == (error.reason, error.writer, error.field)
    assert str(error) == (
        f"order.v3: critical field '{TIER}' was not sent (writer schema order.v2 has no such field; "
        f"the reader default 'BASIC' was not used) in {error.handler}"
    )


def test_without_the_check_fastavro_would_have_filled_basic(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    raw = body(files, "order.v2", v2_order)
    resolved = avro.decode(raw, 0, files.get("order.v2").native, files.get("order.v3").native)
    assert "BASIC" == resolved["customer"]["customerTier"]


def test_a_v2_writer_is_fine_for_a_consumer_that_does_not_need_the_field(
    files: FileRegistry, v2_order: dict[str, Any]
) -> None:
    handler = requires("order.v2", ["orderId"])(lambda event: event["orderId"])
    assert "ord-2024-000123456" == handler(confluent.encode(7, body(files, "order.v2", v2_order)))


def test_a_guid_framing_finds_the_writer(files: FileRegistry, order: dict[str, Any]) -> None:
    raw = confluent.encode(GUID, body(files, "order.v3", order))
    assert order == syscontract.check("order.v3", raw, [TIER])


def test_a_schema_id_in_the_header_frames_a_bare_body(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    headers = [("__value_schema_id", confluent.encode(7, b""))]
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", body(files, "order.v2", v2_order), [TIER], headers=headers)
    assert "order.v2" == caught.value.writer
    assert headers is caught.value.headers


def test_single_object_encoding_finds_the_writer_by_fingerprint(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    fingerprint = files.get("order.v2").avro_fingerprint
    assert fingerprint is not None
    raw = single_object.encode(fingerprint, body(files, "order.v2", v2_order))
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", raw, [TIER])
    assert "not-in-writer-schema" == caught.value.reason


def test_the_contract_header_names_the_writer_of_a_bare_body(files: FileRegistry, order: dict[str, Any]) -> None:
    received = syscontract.check(
        "order.v3", body(files, "order.v3", order), [TIER], headers={"syscontract-contract": b"order.v3"}
    )
    assert order == received


def test_a_bad_contract_header_is_a_decode_error(files: FileRegistry, order: dict[str, Any]) -> None:
    with pytest.raises(DecodeError, match="does not name a contract"):
        syscontract.check("order.v3", b"\x02", [TIER], headers={"syscontract-contract": "order"})


def test_an_unknown_schema_id_is_a_registry_error_keeping_the_bytes(files: FileRegistry) -> None:
    raw = confluent.encode(999, b"\x02")
    with pytest.raises(RegistryError, match="schema id 999") as caught:
        syscontract.check("order.v3", raw, [TIER])
    assert raw is caught.value.payload


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"\x00\x00\x01", "truncated"), (b"\x01" + b"\x00" * 10, "truncated"), (b"\xc3\x01\x00", "truncated")],
)
def test_truncated_framing_is_a_decode_error(files: FileRegistry, raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        syscontract.check("order.v3", raw, [TIER])
    assert (reason, raw) == (caught.value.reason, caught.value.payload)


def test_a_truncated_body_is_a_decode_error(files: FileRegistry, order: dict[str, Any]) -> None:
    raw = confluent.encode(8, body(files, "order.v3", order))[:-20]
    with pytest.raises(DecodeError, match="cannot be read") as caught:
        syscontract.check("order.v3", raw, [TIER])
    assert "bad-avro" == caught.value.reason


def test_trailing_bytes_after_the_datum_are_a_decode_error(files: FileRegistry, order: dict[str, Any]) -> None:
    raw = confluent.encode(8, body(files, "order.v3", order) + b"\x00\x00")
    with pytest.raises(DecodeError, match="2 bytes remain"):
        syscontract.check("order.v3", raw, [TIER])


def test_a_writer_the_reader_cannot_read_is_a_violation(order: dict[str, Any]) -> None:
    writer = Contract.from_avro(
        "thing.v1", {"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}]}
    )
    reader = Contract.from_avro("thing.v2", {"type": "record", "name": "T", "fields": [{"name": "b", "type": "int"}]})
    registry = MemoryRegistry([writer, reader])
    registry.add(writer, schema_id=1)
    raw = confluent.encode(1, avro.encode({"a": "x"}, writer.native))
    with pytest.raises(ContractViolation) as caught:
        syscontract.check("thing.v2", raw, registry=registry)
    assert ("incompatible-writer", "thing.v1") == (caught.value.reason, caught.value.writer)


def test_a_reader_field_alias_matches_the_writers_field() -> None:
    writer = Contract.from_avro(
        "tier.v1", {"type": "record", "name": "T", "fields": [{"name": "tier", "type": "string"}]}
    )
    reader = Contract.from_avro(
        "tier.v2",
        {
            "type": "record",
            "name": "T",
            "fields": [{"name": "customerTier", "type": "string", "default": "BASIC", "aliases": ["tier"]}],
        },
    )
    registry = MemoryRegistry([reader])
    registry.add(writer, schema_id=3)
    raw = confluent.encode(3, avro.encode({"tier": "VIP"}, writer.native))
    assert {"customerTier": "VIP"} == syscontract.check("tier.v2", raw, ["customerTier"], registry=registry)


def test_the_writer_decision_is_made_once_per_writer(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=lambda letter: None)(lambda e: e)
    raw = confluent.encode(7, body(files, "order.v2", v2_order))
    handler(raw)
    decoder = handler.__syscontract__.checker.decoder
    plan = decoder._plans[("confluent", 7)]
    handler(raw)
    assert plan is decoder._plans[("confluent", 7)]
    assert ((TIER, "the reader default 'BASIC' was not used"),) == plan.missing


def test_writer_plans_are_bounded(files: FileRegistry, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract._engine import decoder as decoding

    monkeypatch.setattr(decoding, "MAX_WRITERS", 2)
    checker = requires("order.v3", [TIER])(lambda e: e).__syscontract__.checker
    registry = MemoryRegistry()
    for schema_id in range(5):
        registry.add(files.get("order.v3"), schema_id=schema_id, replace=True)
    checker.decoder.registry = registry
    for schema_id in range(5):
        checker.run(confluent.encode(schema_id, body(files, "order.v3", order)))
    assert [("confluent", 3), ("confluent", 4)] == list(checker.decoder._plans)


def test_observe_hands_on_what_was_sent_without_a_default_and_logs(
    files: FileRegistry, v2_order: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    received = []
    handler = requires("order.v3", [TIER], on_violation="observe")(received.append)
    with caplog.at_level(logging.ERROR, logger="syscontract"):
        handler(confluent.encode(7, body(files, "order.v2", v2_order)))
    assert "customerTier" not in received[0]["customer"]  # what was sent: never the reader's default
    assert "not-in-writer-schema" == getattr(caplog.records[0], "syscontract.reason")


def test_a_pydantic_contract_reads_avro_through_its_writer(files: FileRegistry, order: dict[str, Any]) -> None:
    from typing import Literal

    from pydantic import BaseModel

    class Customer(BaseModel):
        id: str
        customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"

    @syscontract.contract("shop.v1")
    class Order(BaseModel):
        orderId: str
        customer: Customer

    received = []
    requires("shop.v1", [TIER])(received.append)(confluent.encode(8, body(files, "order.v3", order)))
    assert "GOLD" == received[0].customer.customerTier
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.v1", confluent.encode(7, body(files, "order.v2", stale)), [TIER])
    assert ("absent", "order.v2") == (caught.value.reason, caught.value.writer)


def test_confluent_framed_json_is_read_with_a_json_writer(order: dict[str, Any]) -> None:
    import json

    contract = FileRegistry(DATA / "contracts").get("order.v4")
    registry = MemoryRegistry()
    registry.add(contract, schema_id=21)
    raw = confluent.encode(21, json.dumps(order).encode())
    assert order == syscontract.check(contract, raw, [TIER], registry=registry)


def test_a_kafka_message_is_unwrapped_with_its_headers(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka", reason="pip install -e '.[kafka]'")
    message = confluent_kafka.Message(
        topic="orders",
        value=body(files, "order.v2", v2_order),
        headers=[("syscontract-contract", b"order.v2")],
    )
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", message, [TIER])
    assert message is caught.value.payload
    assert "order.v2" == caught.value.writer


@pytest.mark.parametrize("format", ["json", "avro", "confluent"])
def test_what_encode_writes_check_reads_back(files: FileRegistry, order: dict[str, Any], format: str) -> None:
    from syscontract.encoding import encode

    encoded = encode("order.v3", order, format=format)
    assert order == syscontract.check("order.v3", encoded.value, [TIER], headers=encoded.headers)


def test_json_named_by_the_contract_header_reports_its_writer(files: FileRegistry, v2_order: dict[str, Any]) -> None:
    from syscontract.encoding import encode

    encoded = encode("order.v2", v2_order, format="json")
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", encoded.value, [TIER], headers=encoded.headers)
    assert ("absent", "order.v2") == (caught.value.reason, caught.value.writer)


def test_a_writer_that_is_the_contract_and_sends_every_critical_field_needs_no_second_look(
    files: FileRegistry, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER, "orderId"])(lambda event: event)
    handler(confluent.encode(8, body(files, "order.v3", order)))
    assert files.get("order.v3").native is handler.__syscontract__.checker.decoder.fast_avro[b"\x00\x00\x00\x00\x08"][0]
    assert handler.__syscontract__.checker.decoder.fast_avro[b"\x00\x00\x00\x00\x08"][3] is True
    nullable = requires("order.v3", ["couponCode"])(lambda event: event)  # may be null: checked each time
    order["couponCode"] = "WELCOME"
    assert "WELCOME" == nullable(confluent.encode(8, body(files, "order.v3", order)))["couponCode"]
    assert nullable.__syscontract__.checker.decoder.fast_avro[b"\x00\x00\x00\x00\x08"][3] is False
    order["couponCode"] = None
    with pytest.raises(MissingCriticalField):
        nullable(confluent.encode(8, body(files, "order.v3", order)))
