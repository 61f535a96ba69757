"""Protobuf through a real broker: a Redis Streams consumer guarded by ``@requires`` on a protobuf
contract, fed what confluent-kafka's ``ProtobufSerializer`` writes (its mock:// Schema Registry, read
back through ``ConfluentRegistry``): the v3 message reaches the handler as the reader's message, the
stale v2 one goes to the dead-letter stream unchanged, and nothing stays pending."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("redis", reason="the redis extra: pip install -e '.[redis]'")
pytest.importorskip("google.protobuf", reason="the protobuf extra: pip install -e '.[protobuf]'")
serde = pytest.importorskip("confluent_kafka.schema_registry.protobuf", reason="the kafka extra")

import protos  # noqa: E402
import redis  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

import syscontract  # noqa: E402
from syscontract import Contract  # noqa: E402
from syscontract.integrations.redis import StreamConsumer, publish  # noqa: E402
from syscontract.registry.confluent import ConfluentRegistry  # noqa: E402

V2 = protos.module("acme/order/v2")
V3 = protos.module("acme/order/v3")


def test_a_stream_consumer_hands_v3_messages_on_and_dead_letters_the_stale_v2_ones(
    client: redis.Redis, unique: str
) -> None:
    schemas = SchemaRegistryClient.new_client({"url": f"mock://protobuf-{uuid.uuid4().hex}"})
    context = SerializationContext("orders", MessageField.VALUE)
    config = {"use.deprecated.format": False}
    fresh = serde.ProtobufSerializer(V3.Order, schemas, config)(V3.Order(order_id="o-1", customer_tier=V3.VIP), context)
    stale = serde.ProtobufSerializer(V2.Order, schemas, config)(V2.Order(order_id="o-2"), context)
    assert fresh is not None and stale is not None
    reader = Contract.from_protobuf("order.v3", V3.Order)
    syscontract.configure(registry=ConfluentRegistry(schemas))
    handled: list[Any] = []
    guarded = StreamConsumer(
        client,
        unique,
        group="pricing",
        consumer="pricing-1",
        handler=handled.append,
        contract=reader,
        fields=["customerTier"],
        dead_letter=f"{unique}.dead",
        block_ms=100,
    )
    guarded.ensure_group()
    publish(client, unique, bytes(fresh))
    publish(client, unique, bytes(stale))
    while guarded.process():
        pass
    assert [("o-1", V3.VIP)] == [(order.order_id, order.customer_tier) for order in handled]
    dead = client.xrange(f"{unique}.dead")
    assert [bytes(stale)] == [fields[b"value"] for _, fields in dead]
    assert b"not-in-writer-schema" in next(v for k, v in dead[0][1].items() if k.endswith(b"reason"))
    assert 0 == int(client.xpending(unique, "pricing")["pending"])
