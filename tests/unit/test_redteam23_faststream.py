"""Red team against the FastStream guard (syscontract.integrations.faststream), with FastStream's
in-memory test brokers: FastStream features that let a violating message reach the handler, or a
violating message be lost, or a bad option be accepted. tests/integration/test_redteam23_faststream_servers.py
holds the door that needs a real RabbitMQ."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("faststream", reason="the faststream extra: pip install -e '.[faststream]'")

from faststream.message import StreamMessage
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from integration.brokers import TIER, make_mix

from syscontract import ContractDeclarationError, MissingCriticalField
from syscontract.integrations.faststream import guard

pytestmark = pytest.mark.usefixtures("registry")


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Every ack / nack / reject of a guarded message (not of a dead letter), with its body, in order."""
    found: list[tuple[str, bytes]] = []
    for name in ("ack", "nack", "reject"):
        real = getattr(StreamMessage, name)

        def spy(self: StreamMessage[Any], *args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            if self.committed is None and "syscontract-error" not in self.headers:
                found.append((_name, self.body))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(StreamMessage, name, spy)
    return found


CONTRACT = "order.v3"


def _bad() -> Any:
    """A v2 JSON order without customerTier."""
    bad = make_mix(good=0, bad=2).messages[1]
    assert b"customerTier" not in bad.value
    return bad


def test_a_second_subscriber_above_the_guard_never_hands_a_violating_message() -> None:
    bad = _bad()
    broker = RabbitBroker()
    handled: list[dict[str, Any]] = []

    async def scenario() -> None:
        @broker.subscriber("orders-b")
        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders-a")
        async def on_order(order: dict[str, Any]) -> None:
            handled.append(order)

        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, "orders-b", headers=bad.headers)

    with pytest.raises(ContractDeclarationError, match="'orders-b' is not guarded"):  # when the broker starts
        asyncio.run(scenario())
    assert [] == handled


def test_every_subscriber_below_the_guard_is_guarded() -> None:
    bad = _bad()
    broker = RabbitBroker()
    handled: list[dict[str, Any]] = []

    @guard(CONTRACT, [TIER], on_violation="raise")
    @broker.subscriber("orders-b")
    @broker.subscriber("orders-a")
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    async def scenario(queue: str) -> None:
        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, queue, headers=bad.headers)

    for queue in ("orders-a", "orders-b"):
        with pytest.raises(MissingCriticalField):
            asyncio.run(scenario(queue))
    assert [] == handled


async def _fill_tier(message: Any, original: Any) -> Any:
    """A parser that fills the tier the writer did not send."""
    parsed = await original(message)
    body = json.loads(parsed.body)
    body["customer"].setdefault("customerTier", "BASIC")
    parsed.body = json.dumps(body).encode()
    return parsed


@pytest.mark.parametrize("where", ["subscriber", "broker", "router"])
def test_a_parser_never_fills_what_the_writer_did_not_send(where: str) -> None:
    from faststream.rabbit import RabbitRouter

    bad = _bad()
    broker = RabbitBroker(parser=_fill_tier) if where == "broker" else RabbitBroker()
    router = RabbitRouter(parser=_fill_tier)  # its parser reaches the subscriber once it is included
    handled: list[dict[str, Any]] = []

    async def scenario() -> None:
        registrar = router if where == "router" else broker

        @guard(CONTRACT, [TIER], on_violation="raise")
        @registrar.subscriber("orders", **({"parser": _fill_tier} if where == "subscriber" else {}))
        async def on_order(order: dict[str, Any]) -> None:
            handled.append(order)

        if where == "router":
            broker.include_router(router)
        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, "orders", headers=bad.headers)

    with pytest.raises(ContractDeclarationError, match="parser"):  # at decoration, or when the broker starts
        asyncio.run(scenario())
    assert [] == handled


def test_a_broker_is_not_a_dead_letter_publisher() -> None:
    broker = RabbitBroker()
    with pytest.raises(ContractDeclarationError, match=r"broker\.publisher"):

        @guard(CONTRACT, [TIER], dead_letter=broker)
        @broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...


def _loops() -> list[Any]:
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker
    from faststream.nats import NatsBroker, PullSub
    from faststream.redis import RedisBroker, StreamSub

    rabbit, nats, redis, kafka = RabbitBroker(), NatsBroker(), RedisBroker(), KafkaBroker()
    return [
        (rabbit.subscriber("orders"), rabbit.publisher("orders")),
        (
            nats.subscriber("orders.>", stream="ORDERS", pull_sub=PullSub(), durable="pricing"),
            nats.publisher("orders.dead", stream="ORDERS"),
        ),
        (
            redis.subscriber(stream=StreamSub("orders", group="pricing", consumer="p-1")),
            redis.publisher(stream="orders"),
        ),
        (redis.subscriber(list="orders"), redis.publisher(list="orders")),
        (
            kafka.subscriber("orders", "returns", group_id="pricing", ack_policy=AckPolicy.ACK),
            kafka.publisher("returns"),
        ),
    ]


@pytest.mark.parametrize("which", range(5), ids=["rabbit", "nats-wildcard", "redis-stream", "redis-list", "kafka"])
def test_dead_letters_to_the_guarded_source_itself_are_refused(which: int) -> None:
    subscriber, publisher = _loops()[which]
    with pytest.raises(ContractDeclarationError, match="which this guarded subscriber consumes"):

        @guard(CONTRACT, [TIER], dead_letter=publisher)
        @subscriber
        async def on_order(order: dict[str, Any]) -> None: ...


def test_a_kafka_dead_letter_nobody_acknowledged_is_not_confirmed(
    settled: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiokafka.structs import RecordMetadata, TopicPartition
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker, TestKafkaBroker
    from faststream.kafka.publisher.usecase import DefaultPublisher

    from syscontract.errors import DeadLetterNotConfirmed

    bad = _bad()
    broker = KafkaBroker()  # as KafkaBroker(acks=0): aiokafka answers without the broker, offset -1
    partition = TopicPartition("orders.dead-letter", 0)

    async def unacknowledged(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        return RecordMetadata("orders.dead-letter", 0, partition, -1, -1, 0, None)

    monkeypatch.setattr(DefaultPublisher, "publish", unacknowledged)

    @guard(CONTRACT, [TIER], dead_letter=broker.publisher("orders.dead-letter"))
    @broker.subscriber("orders", group_id="pricing", ack_policy=AckPolicy.ACK)
    async def on_order(order: dict[str, Any]) -> None:
        raise AssertionError("a violating message reached the handler")

    async def scenario() -> None:
        async with TestKafkaBroker(broker) as tester:
            await tester.publish(bad.value, "orders", headers=bad.headers)

    with pytest.raises(DeadLetterNotConfirmed, match="acks"):
        asyncio.run(scenario())
    assert [("nack", bad.value)] == settled  # the original comes back: the letter may not exist
