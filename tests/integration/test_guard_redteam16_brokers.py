"""Red team of the broker guards on real servers (Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672).

Promise under attack: no message is lost or settled twice (a dead letter is stored before the
acknowledgement; a handler's failure leaves the entry pending / requeues the message; a
``pass_message`` handler that settles a message itself is not settled again), and RESP3 replies
(dict-shaped) work as RESP2 ones do.

The red team of issue 16's second pass found the defects under "defects" (each comment says which
promise the code broke, and how); they are fixed, and the tests stay as regression tests beside the
strongest probes that held.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from brokers import TIER, handled_check, letter_check, make_mix

pytest.importorskip("redis", reason="the redis extra: pip install -e '.[redis]'")

import redis
import redis.asyncio
from test_redis import letters, pending

from syscontract.integrations.redis import AsyncStreamConsumer, StreamConsumer, publish

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"

# redis-py's XREADGROUP reply shapes: RESP3 with the default legacy_responses=True is
# {stream: [[(id, fields), ...]]} (entries wrapped in one more list, parse_xread_resp3);
# legacy_responses=False is {stream: [(id, fields), ...]} (parse_xread_unified)
RESP3 = {
    "resp3": {"protocol": 3},
    "resp3 unified": {"protocol": 3, "legacy_responses": False},
}


def _pending(client: redis.Redis, stream: str) -> int:
    return pending(client, stream, "pricing")


def _consumer(kind: type, client: Any, stream: str, handler: Any) -> Any:
    return kind(
        client,
        stream,
        group="pricing",
        consumer="pricing-1",
        handler=handler,
        contract=CONTRACT,
        fields=[TIER],
        dead_letter=f"{stream}.dead",
        block_ms=50,
    )


class _FailsOnce:
    """A handler that fails on the first good message it sees, then takes every one."""

    def __init__(self) -> None:
        self.handled: list[dict[str, Any]] = []
        self.failed = False

    def __call__(self, order: dict[str, Any]) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("pricing service down")
        self.handled.append(order)


@pytest.mark.parametrize("shape", list(RESP3))
def test_a_resp3_client_consumes_like_a_resp2_one(
    redis_server: str, client: redis.Redis, unique: str, shape: str
) -> None:
    # "resp3" BROKE promise (c) ("RESP3 replies (dict-shaped) still work"): with
    # redis.Redis(protocol=3), redis-py answers XREADGROUP as {stream: [[entries]]}; _entries
    # iterates the outer list as if it were the entries and unpacks the entry list itself into
    # (entry_id, fields): the very first process() raises ValueError ("not enough values to unpack
    # (expected 2, got 0)" on an empty pending list, or too many / a tuple as fields), so the
    # consumer never handles or dead-letters anything. (Pre-existing: the Mapping branch of
    # _entries was not changed by 383efcb.) "resp3 unified" (legacy_responses=False) holds.
    mix = make_mix(good=4, bad=4)
    handler = _FailsOnce()
    resp3 = redis.Redis.from_url(redis_server, **RESP3[shape])
    try:
        guarded = _consumer(StreamConsumer, resp3, unique, handler)
        guarded.ensure_group()
        for message in mix.messages:
            publish(client, unique, message.value, message.headers)
        with pytest.raises(RuntimeError, match="pricing service down"):
            while guarded.process():
                pass
        assert _pending(client, unique) >= 1  # the failed entry is left pending, not acknowledged
        while guarded.process():
            pass
    finally:
        resp3.close()
    handled_check(mix, handler.handled)
    letter_check(mix, letters(client, f"{unique}.dead"))
    assert 0 == _pending(client, unique)


@pytest.mark.parametrize("shape", list(RESP3))
def test_a_resp3_asyncio_client_consumes_like_a_resp2_one(
    redis_server: str, client: redis.Redis, unique: str, shape: str
) -> None:
    # "resp3" BROKE promise (c), as for the sync consumer: AsyncStreamConsumer shares _entries
    mix = make_mix(good=4, bad=4)
    handler = _FailsOnce()

    async def on_order(order: dict[str, Any]) -> None:
        handler(order)

    async def scenario() -> None:
        resp3 = redis.asyncio.Redis.from_url(redis_server, **RESP3[shape])
        try:
            guarded = _consumer(AsyncStreamConsumer, resp3, unique, on_order)
            await guarded.ensure_group()
            for message in mix.messages:
                publish(client, unique, message.value, message.headers)
            with pytest.raises(RuntimeError, match="pricing service down"):
                while await guarded.process():
                    pass
            assert _pending(client, unique) >= 1
            while await guarded.process():
                pass
        finally:
            await resp3.aclose()

    asyncio.run(scenario())
    handled_check(mix, handler.handled)
    letter_check(mix, letters(client, f"{unique}.dead"))
    assert 0 == _pending(client, unique)


# -- RabbitMQ, pika ---------------------------------------------------------------------------------


def test_a_pika_handler_that_acks_itself_is_not_acked_again(rabbitmq_server: str, unique: str) -> None:
    # BROKE promise (c) ("pass_message handlers that settle themselves are not settled twice"),
    # on the sync pika Guard (the aio-pika AsyncGuard checks message.processed; Guard does not):
    # a pass_message handler gets (payload, channel, method, properties) and acks the delivery;
    # Guard._settle then basic_acks the same tag again, RabbitMQ closes the channel (406
    # PRECONDITION_FAILED - unknown delivery tag) and every other unacked delivery is requeued:
    # 3 messages handled (and acked by the handler), 2 of them back in the queue to be handled again.
    pika = pytest.importorskip("pika")
    from syscontract.integrations.rabbitmq import Guard

    mix = make_mix(good=3, bad=0)
    queue = unique
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server))
    channel = connection.channel()
    channel.queue_declare(queue)
    channel.queue_declare(f"{queue}.dead")
    handled: list[dict[str, Any]] = []

    def on_order(order: dict[str, Any], channel: Any, method: Any, properties: Any) -> None:
        channel.basic_ack(method.delivery_tag)  # the handler settles the delivery itself
        handled.append(order)

    try:
        for message in mix.messages:
            channel.basic_publish("", queue, message.value, pika.BasicProperties(headers=message.headers))
        channel.basic_consume(queue, Guard(on_order, CONTRACT, [TIER], dead_letter=f"{queue}.dead", pass_message=True))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and channel.is_open:
            connection.process_data_events(time_limit=0.05)
        was_open = channel.is_open
    finally:
        check = pika.BlockingConnection(pika.URLParameters(rabbitmq_server))
        left = check.channel()
        requeued = int(left.queue_declare(queue, passive=True).method.message_count)
        left.queue_delete(queue)
        left.queue_delete(f"{queue}.dead")
        check.close()
        if connection.is_open:
            connection.close()
    handled_check(mix, handled)
    assert (True, 0) == (was_open, requeued), "the guard acked a delivery its handler had acked already"
