"""The pytest kit for protobuf (issue 24, item 5): the stale producer plays older protobuf versions at a
handler through confluent-kafka's real ``ProtobufSerializer`` (its mock:// Schema Registry, read back
through ``ConfluentRegistry``) and as bare bodies; payloads are built from descriptors."""

from __future__ import annotations

from typing import Any

import protos
import pytest

pytest.importorskip("google.protobuf")
pytest.importorskip("confluent_kafka.schema_registry.protobuf")

import syscontract
from syscontract import Contract, MemoryRegistry, requires
from syscontract.testing import StaleProducer, StaleProducerError, minimal_payload, project_payload

V2 = protos.module("acme/order/v2")
V3 = protos.module("acme/order/v3")


@pytest.fixture
def registry() -> MemoryRegistry:
    memory = MemoryRegistry()
    memory.add(Contract.from_protobuf("order.v2", V2.Order))
    memory.add(Contract.from_protobuf("order.v3", V3.Order))
    syscontract.configure(registry=memory)
    return memory


def test_the_stale_producer_proves_a_guarded_handler_refuses_the_v2_writer(registry: MemoryRegistry) -> None:
    @requires(contract="order.v3", fields=["customerTier"])
    def on_order(order: Any) -> None:
        order.customer_tier  # noqa: B018 - what a pricing handler reads

    report = StaleProducer()(on_order)
    assert report.ok
    assert [
        ("order.v2", "confluent", "MissingCriticalField"),
        ("order.v2", "protobuf", "MissingCriticalField"),
    ] == sorted((case.version, case.framing, case.expected) for case in report.cases)
    assert not any(case.failed for case in report.cases)
    assert any("ProtobufSerializer" in note for note in report.notes)


def test_the_stale_producer_catches_a_handler_that_does_not_declare_the_field(registry: MemoryRegistry) -> None:
    @requires(contract="order.v3", fields=["orderId"])
    def on_order(order: Any) -> None:
        order.customer_tier  # noqa: B018 - read, never declared: BASIC for every v2 message

    with pytest.raises(StaleProducerError) as raised:
        StaleProducer(critical=["customerTier"])(on_order)
    assert "order.v2 via confluent" in str(raised.value)


def test_payloads_are_built_from_descriptors_in_the_json_mapping() -> None:
    from google.protobuf import json_format

    v3 = Contract.from_protobuf("order.v3", V3.Order)
    v2 = Contract.from_protobuf("order.v2", V2.Order)
    payload = minimal_payload(v3, ["customerTier", "customer.id", "items[].sku", "total.units"])
    assert {"customerTier": "BASIC", "customer": {"id": "x"}, "items": [{"sku": "x"}], "total": {"units": 1}} == payload
    message = json_format.ParseDict(payload, V3.Order())
    assert message.HasField("customer_tier")
    stale = project_payload(payload, v2, ["customerTier"])
    assert "customerTier" not in stale
    assert "x" == json_format.ParseDict(stale, V2.Order()).customer.id
