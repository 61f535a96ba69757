"""Interop with confluent-kafka: its own serializers write, syscontract reads; where its
AvroDeserializer silently returns the reader default, syscontract raises."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.schema_registry.json_schema import JSONSerializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

import syscontract  # noqa: E402
from syscontract import MissingCriticalField, RegistryError, requires  # noqa: E402
from syscontract.integrations.kafka import Deserializer  # noqa: E402
from syscontract.registry.confluent import ConfluentRegistry  # noqa: E402

DATA = Path(__file__).parent.parent / "data" / "contracts" / "order"
TIER = "customer.customerTier"
VALUE = SerializationContext("orders", MessageField.VALUE)


@pytest.fixture
def client(request: pytest.FixtureRequest) -> SchemaRegistryClient:
    client = SchemaRegistryClient.new_client({"url": f"mock://{request.node.name}"})
    first = {
        "type": "record",
        "name": "Order",
        "namespace": "com.example.orders",
        "fields": [{"name": "orderId", "type": "string"}],
    }
    client.register_schema("orders-value", Schema(json.dumps(first), "AVRO"))  # so versions line up: v2, v3
    client.register_schema("orders-value", Schema((DATA / "v2.avsc").read_text(), "AVRO"))
    client.register_schema("orders-value", Schema((DATA / "v3.avsc").read_text(), "AVRO"))
    return client


@pytest.fixture
def registry(client: SchemaRegistryClient) -> ConfluentRegistry:
    registry = ConfluentRegistry(client, subjects={"order": "orders-value"})
    syscontract.configure(registry=registry)
    return registry


def serialize(client: SchemaRegistryClient, version: int, payload: dict[str, Any], **conf: Any) -> bytes:
    schema_id = client.get_version("orders-value", version).schema_id
    serializer = AvroSerializer(
        client,
        (DATA / f"v{version}.avsc").read_text(),
        conf={"auto.register.schemas": False, "use.schema.id": schema_id, **conf},
    )
    return serializer(payload, VALUE)


@pytest.fixture
def stale(order: dict[str, Any]) -> dict[str, Any]:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    return stale


def test_confluents_own_deserializer_silently_fills_basic(client: SchemaRegistryClient, stale: dict[str, Any]) -> None:
    raw = serialize(client, 2, stale)
    reader = AvroDeserializer(client, (DATA / "v3.avsc").read_text())
    assert "BASIC" == reader(raw, VALUE)["customer"]["customerTier"]


def test_syscontract_raises_on_the_same_bytes(
    registry: ConfluentRegistry, client: SchemaRegistryClient, stale: dict[str, Any]
) -> None:
    raw = serialize(client, 2, stale)
    handler = requires("order.v3", [TIER])(lambda event: event)
    with pytest.raises(MissingCriticalField) as caught:
        handler(raw)
    assert ("not-in-writer-schema", "order.v2") == (caught.value.reason, caught.value.writer)


def test_a_v3_message_from_confluents_serializer_passes(
    registry: ConfluentRegistry, client: SchemaRegistryClient, order: dict[str, Any]
) -> None:
    raw = serialize(client, 3, order)
    assert order == requires("order.v3", [TIER])(lambda event: event)(raw)


def test_the_deserializer_enforces_the_declaration(
    registry: ConfluentRegistry, client: SchemaRegistryClient, order: dict[str, Any], stale: dict[str, Any]
) -> None:
    deserializer = Deserializer("order.v3", [TIER])
    assert order == deserializer(serialize(client, 3, order), VALUE)
    with pytest.raises(MissingCriticalField):
        deserializer(serialize(client, 2, stale), VALUE)
    assert deserializer(None, VALUE) is None


def test_the_deserializer_reads_a_schema_guid_from_the_header(
    registry: ConfluentRegistry, client: SchemaRegistryClient, stale: dict[str, Any]
) -> None:
    from confluent_kafka.schema_registry import header_schema_id_serializer

    headers: list[tuple[str, bytes]] = []
    context = SerializationContext("orders", MessageField.VALUE, headers)
    schema_id = client.get_version("orders-value", 2).schema_id
    serializer = AvroSerializer(
        client,
        (DATA / "v2.avsc").read_text(),
        conf={
            "auto.register.schemas": False,
            "use.schema.id": schema_id,
            "schema.id.serializer": header_schema_id_serializer,
        },
    )
    raw = serializer(stale, context)
    assert "__value_schema_id" == headers[0][0]
    with pytest.raises(MissingCriticalField) as caught:
        Deserializer("order.v3", [TIER])(raw, context)
    assert "order.v2" == caught.value.writer


def test_a_kafka_message_reaches_the_handler_decoded(
    registry: ConfluentRegistry, client: SchemaRegistryClient, order: dict[str, Any]
) -> None:
    message = confluent_kafka.Message(topic="orders", value=serialize(client, 3, order))
    assert "GOLD" == requires("order.v3", [TIER])(lambda event: event["customer"]["customerTier"])(message)


def test_json_schema_messages_from_confluents_serializer_are_read(
    client: SchemaRegistryClient, order: dict[str, Any]
) -> None:
    schema_text = (DATA / "v4.schema.json").read_text()
    client.register_schema("orders-json-value", Schema(schema_text, "JSON"))
    serializer = JSONSerializer(schema_text, client, conf={"auto.register.schemas": False, "use.latest.version": True})
    raw = serializer(order, SerializationContext("orders-json", MessageField.VALUE))
    registry = ConfluentRegistry(client, subjects={"order-json": "orders-json-value"})
    assert order == syscontract.check("order-json.v1", raw, [TIER], registry=registry)
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    lenient = JSONSerializer(
        json.dumps({"type": "object"}), client, conf={"auto.register.schemas": True, "use.latest.version": False}
    )
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order-json.v1", lenient(stale, VALUE), [TIER], registry=registry)
    assert "absent" == caught.value.reason


def test_the_confluent_registry_names_contracts_by_subject_and_version(registry: ConfluentRegistry) -> None:
    assert [1, 2, 3] == registry.versions("order")
    assert ["order"] == registry.names()
    assert ["orderId"] == list(registry.get("order.v1").fields)
    assert "order.v2" == str(registry.by_id(registry.client.get_version("orders-value", 2).schema_id).ref)


def test_an_unknown_id_is_a_registry_error(registry: ConfluentRegistry) -> None:
    with pytest.raises(RegistryError) as caught:
        registry.by_id(12345)
    assert "unknown-schema" == caught.value.reason
