"""Red team against the FastStream guard on a real RabbitMQ: a dead-letter publisher made with
``mandatory=False`` (FastStream's option) must not let an unroutable dead letter vanish while the
original is acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import pytest
from brokers import TIER, make_mix

pytest.importorskip("faststream", reason="the faststream extra: pip install -e '.[faststream]'")

from faststream.rabbit import RabbitQueue
from faststream.rabbit.message import RabbitMessage
from test_faststream_servers import Setup, _count, created, eventually

from syscontract.integrations import faststream as fs
from syscontract.integrations.faststream import guard

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


def test_an_unroutable_dead_letter_without_mandatory_leaves_the_original_in_its_queue(
    rabbitmq_server: str, unique: str
) -> None:
    mix = make_mix(good=0, bad=1)
    setup = Setup("rabbit", rabbitmq_server, unique, RabbitMessage)

    async def scenario() -> None:
        async with created(setup):
            consumer = setup.broker()
            attempts: list[bytes] = []
            acked: list[bytes] = []
            real_decode, real_ack = fs._Guard.decode, RabbitMessage.ack

            async def counting(self: Any, message: Any) -> Any:
                attempts.append(message.body)
                return await real_decode(self, message)

            async def ack(message: Any) -> None:
                acked.append(message.body)
                await real_ack(message)

            async def on_order(order: dict[str, Any]) -> None:
                raise AssertionError("a violating message reached the handler")

            nowhere = consumer.publisher(RabbitQueue(f"{unique}.no-such-queue", declare=False), mandatory=False)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fs._Guard, "decode", counting)
                patch.setattr(RabbitMessage, "ack", ack)
                guard(CONTRACT, [TIER], dead_letter=nowhere)(setup.subscriber(consumer)(on_order))
                producer = setup.broker()
                async with producer, consumer:
                    await consumer.start()
                    await setup.publish(producer, mix)

                    async def settled() -> bool:
                        return len(attempts) >= 2 or bool(acked)  # negatively acknowledged and back, or acked

                    await eventually(settled, "the message to come back or to be acknowledged")
            # the consumer is gone: the message must be back in its queue, not lost
            assert [] == acked  # an acknowledged original whose dead letter went nowhere is lost
            await eventually(lambda: _count(setup, setup.source, 1), "the message to be back in its queue")

    asyncio.run(scenario())


def test_a_rabbitmq_dead_letter_of_a_persistent_message_is_persistent(rabbitmq_server: str, unique: str) -> None:
    mix = make_mix(good=0, bad=1)
    setup = Setup("rabbit", rabbitmq_server, unique, RabbitMessage)

    async def scenario() -> list[Any]:
        async with created(setup):
            consumer = setup.broker()

            @guard(CONTRACT, [TIER], dead_letter=setup.publisher(consumer))
            @setup.subscriber(consumer)
            async def on_order(order: dict[str, Any]) -> None:
                raise AssertionError("a violating message reached the handler")

            producer = setup.broker()
            async with producer, consumer:
                await consumer.start()
                for message in mix.messages:
                    await producer.publish(message.value, queue=setup.source, headers=message.headers, persist=True)
                await eventually(lambda: _count(setup, setup.dead, 1), "the dead letter")
                await eventually(setup.settled, "the original acknowledged")
            return await _delivery_modes(setup)

    # the letter is the only copy once the original is acknowledged: it must survive a broker restart
    assert [aio_pika.DeliveryMode.PERSISTENT] == asyncio.run(scenario())


async def _delivery_modes(setup: Setup) -> list[Any]:
    connection = await aio_pika.connect(setup.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(setup.dead, passive=True)
        found = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            found.append(message.delivery_mode)
        await channel.close()  # nothing acknowledged: the letters stay
        return found
    finally:
        await connection.close()


@pytest.mark.xfail(strict=True, reason="door (open): a Redis list has no redelivery, a failed dead letter loses it")
def test_a_redis_list_message_whose_dead_letter_fails_is_not_lost(redis_server: str, unique: str) -> None:
    import redis.asyncio as aioredis
    from faststream.redis import RedisBroker

    bad = make_mix(good=0, bad=1).messages[0]
    source, dead = f"{unique}.orders", f"{unique}.dead"

    async def scenario() -> tuple[int, int]:
        client = aioredis.Redis.from_url(redis_server)
        await client.set(dead, b"not a list")  # every RPUSH of a dead letter fails (WRONGTYPE)
        consumer = RedisBroker(redis_server, logger=None)
        attempts: list[bytes] = []
        real_settle = fs._Guard._settle

        async def settling(self: Any, message: Any, error: Any) -> None:
            try:
                await real_settle(self, message, error)
            finally:  # settled (or failing to): the message is wherever the guard left it
                attempts.append(message.body)

        @guard(CONTRACT, [TIER], dead_letter=consumer.publisher(list=dead))
        @consumer.subscriber(list=source)
        async def on_order(order: dict[str, Any]) -> None:
            raise AssertionError("a violating message reached the handler")

        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fs._Guard, "_settle", settling)
                async with consumer:
                    await consumer.start()
                    async with RedisBroker(redis_server, logger=None) as producer:
                        await producer.publish(bad.value, list=source, headers=bad.headers)

                    async def tried() -> bool:
                        return bool(attempts)

                    await eventually(tried, "the guard to dead-letter the message")
            return int(await client.llen(source)), len(attempts)
        finally:
            await client.delete(source, dead)
            await client.aclose()

    left, attempts = asyncio.run(scenario())
    assert 1 <= attempts
    assert 1 == left  # today the message is nowhere: popped from its list, its dead letter refused
