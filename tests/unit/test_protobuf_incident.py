"""The incident in protobuf, end to end (issue 24's "done means").

A v2 producer without ``customer_tier`` writes through confluent-kafka's real ``ProtobufSerializer``
to our Schema Registry server (tests/srserver.py), which stores what it registers: base64
``FileDescriptorProto`` s, the imported file as a reference. The stock ``ProtobufDeserializer`` with
the v3 class hands the consumer ``BASIC``; ``@requires(contract="order.v3", fields=["customerTier"])``
raises ``MissingCriticalField`` (``not-in-writer-schema``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import protos
import pytest
from srserver import SchemaRegistryServer, schema_registry_fixture  # noqa: F401 - the fixture

import syscontract
from syscontract import ContractDeclarationError, FieldTypeError, MissingCriticalField, requires
from syscontract.registry.confluent import ConfluentRegistry

pytest.importorskip("google.protobuf")
serde = pytest.importorskip("confluent_kafka.schema_registry.protobuf")
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

V2 = protos.module("acme/order/v2")
V3 = protos.module("acme/order/v3")
V4 = protos.module("acme/order/v4")
COMMON = protos.module("acme/order/common")
CONTEXT = SerializationContext("orders", MessageField.VALUE)


@pytest.fixture
def server(schema_registry: SchemaRegistryServer) -> SchemaRegistryServer:
    """order.v3 (the reader) is version 3 of the subject ``orders-value``, importing common.proto."""
    common = base64.b64encode(COMMON.DESCRIPTOR.serialized_pb).decode()
    schema_registry.add("acme/order/common.proto", common, schema_type="PROTOBUF", schema_id=90, version=1)
    reference = {"name": "acme/order/common.proto", "subject": "acme/order/common.proto", "version": 1}
    v3 = base64.b64encode(V3.DESCRIPTOR.serialized_pb).decode()
    schema_registry.add("orders-value", v3, schema_type="PROTOBUF", references=[reference], schema_id=30, version=3)
    return schema_registry


@pytest.fixture
def client(server: SchemaRegistryServer) -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient({"url": server.url, "max.retries": 0, "timeout": 10})
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def remote(client: SchemaRegistryClient) -> ConfluentRegistry:
    registry = ConfluentRegistry(client, subjects={"order": "orders-value"})
    syscontract.configure(registry=registry)
    return registry


def produced(client: SchemaRegistryClient, message: Any) -> bytes:
    """``message`` as a producer with confluent-kafka's stock serializer sends it (auto-registering)."""
    serializer = serde.ProtobufSerializer(type(message), client, {"use.deprecated.format": False})
    value = serializer(message, CONTEXT)
    assert value is not None
    return bytes(value)


def test_the_stock_deserializer_hands_the_default_where_requires_raises(
    client: SchemaRegistryClient, remote: ConfluentRegistry
) -> None:
    value = produced(client, V2.Order(order_id="o-1", customer=V2.Customer(id="c-1")))
    stock = serde.ProtobufDeserializer(V3.Order, {"use.deprecated.format": False})(value, CONTEXT)
    assert ("BASIC", False) == (V3.Tier.Name(stock.customer_tier), stock.HasField("customer_tier"))  # the trap

    seen: list[Any] = []

    @requires(contract="order.v3", fields=["customerTier"])
    def on_order(event: Any) -> None:
        seen.append(event)

    with pytest.raises(MissingCriticalField) as raised:
        on_order(value)
    assert ("customerTier", "not-in-writer-schema") == (raised.value.field, raised.value.reason)
    assert "no field number 7 (customer_tier)" in str(raised.value)
    assert "the reader's default BASIC was not used" in str(raised.value)
    assert raised.value.payload == value  # kept for a dead-letter sink, unchanged
    assert [] == seen


def test_a_v3_producer_that_sets_the_tier_reaches_the_handler_as_the_v3_message(
    client: SchemaRegistryClient, remote: ConfluentRegistry
) -> None:
    value = produced(client, V3.Order(order_id="o-2", customer_tier=V3.VIP))
    seen: list[Any] = []

    @requires(contract="order.v3", fields=["customerTier"])
    def on_order(event: Any) -> None:
        seen.append(event)

    on_order(value)
    assert [V3.Order(order_id="o-2", customer_tier=V3.VIP)] == [
        V3.Order.FromString(m.SerializeToString()) for m in seen
    ]
    assert "acme.order.v3.Order" == seen[0].DESCRIPTOR.full_name  # the reader's class, not the writer's


def test_a_v3_producer_that_leaves_the_optional_tier_unset_is_absent(
    client: SchemaRegistryClient, remote: ConfluentRegistry
) -> None:
    value = produced(client, V3.Order(order_id="o-3"))
    with pytest.raises(MissingCriticalField) as raised:
        syscontract.check("order.v3", value, ["customerTier"])
    assert "absent" == raised.value.reason
    assert raised.value.writer is not None  # the writer the framing named
    assert "no tag 7" in str(raised.value)


def test_observe_hands_the_handler_what_was_sent_the_writers_message(
    client: SchemaRegistryClient, remote: ConfluentRegistry
) -> None:
    value = produced(client, V2.Order(order_id="o-4"))
    seen: list[Any] = []

    @requires(contract="order.v3", fields=["customerTier"], on_violation="observe")
    def on_order(event: Any) -> None:
        seen.append(event)

    on_order(value)
    assert 1 == len(seen)
    assert "acme.order.v2.Order" == seen[0].DESCRIPTOR.full_name  # no customer_tier to read a default from
    assert "o-4" == seen[0].order_id


def test_a_newer_writers_tier_this_reader_does_not_know_is_its_own_violation(
    client: SchemaRegistryClient, remote: ConfluentRegistry
) -> None:
    value = produced(client, V4.Order(order_id="o-5", customer_tier=V4.PLATINUM))
    with pytest.raises(FieldTypeError) as raised:
        syscontract.check("order.v3", value, ["customerTier"])
    assert "unknown-enum-value" == raised.value.reason
    assert "enum number 3" in str(raised.value)


def test_a_critical_field_without_presence_is_refused_at_declaration_with_the_fix(remote: ConfluentRegistry) -> None:
    with pytest.raises(ContractDeclarationError) as raised:

        @requires(contract="order.v3", fields=["plainTier"])
        def on_order(event: Any) -> None:  # pragma: no cover - never decorated
            pass

    assert "no-presence" == raised.value.reason
    assert "'optional Tier plain_tier = 8;'" in str(raised.value)


def test_proto_source_registered_by_a_java_client_is_compiled_with_its_references(
    schema_registry: SchemaRegistryServer,
) -> None:
    pytest.importorskip("grpc_tools")
    source = (protos.ROOT / "acme/order/v2.proto").read_text()
    common = (protos.ROOT / "acme/order/common.proto").read_text()
    schema_registry.add("acme/order/common.proto", common, schema_type="PROTOBUF", schema_id=91, version=1)
    reference = {"name": "acme/order/common.proto", "subject": "acme/order/common.proto", "version": 1}
    schema_registry.add("java-orders", source, schema_type="PROTOBUF", references=[reference], schema_id=42)
    client = SchemaRegistryClient({"url": schema_registry.url, "max.retries": 0, "timeout": 10})
    try:
        registry = ConfluentRegistry(client)
        writer = registry.by_id(42)
        assert "integer | string" == writer.field("total.units").type  # from the referenced source
        reader = syscontract.Contract.from_protobuf("order.v3", V3.Order)
        from syscontract.wire import confluent
        from syscontract.wire import protobuf as protobuf_wire

        framed = confluent.encode(42, protobuf_wire.encode_indexes((2,)) + V2.Order(order_id="o").SerializeToString())
        with pytest.raises(MissingCriticalField) as raised:
            syscontract.check(reader, framed, ["customerTier"], registry=registry)
        assert "not-in-writer-schema" == raised.value.reason
    finally:
        client.close()
