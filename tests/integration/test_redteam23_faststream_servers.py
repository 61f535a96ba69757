"""Red team against the FastStream guard on a real RabbitMQ: a dead-letter publisher made with
``mandatory=False`` (FastStream's option) must not let an unroutable dead letter vanish while the
original is acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

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


@pytest.mark.xfail(strict=True, reason="door: mandatory=False drops an unroutable dead letter, the original is acked")
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
