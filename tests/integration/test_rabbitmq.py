"""RabbitMQ on a real server, through pika and aio-pika: dead letter confirmed, then basic_ack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from brokers import TIER, Crash, Mix, handled_check, letter_check, make_mix

pytest.importorskip("pika", reason="the rabbitmq extra: pip install -e '.[rabbitmq]'")

import pika

from syscontract.integrations.rabbitmq import AsyncGuard, DeadLetterNotConfirmed, Guard, publish

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


class Queues:
    def __init__(self, server: str, name: str) -> None:
        self.server = server
        self.queue = name
        self.dead = f"{name}.dead"
        self.connection = pika.BlockingConnection(pika.URLParameters(server))
        self.channel = self.connection.channel()

    def declare(self, **arguments: Any) -> None:
        self.channel.queue_declare(self.dead)
        self.channel.queue_declare(self.queue, arguments=arguments or None)

    def publish(self, mix: Mix) -> None:
        for message in mix.messages:
            publish(self.channel, "", self.queue, message.value, message.headers)

    def consume(self, guard: Guard, done: Callable[[], bool], timeout: float = 15.0) -> None:
        tag = self.channel.basic_consume(self.queue, guard)
        deadline = time.monotonic() + timeout
        try:
            while not done():
                if time.monotonic() > deadline:
                    raise AssertionError("timed out waiting for the consumer to settle every message")
                self.connection.process_data_events(time_limit=0.05)
        finally:
            if self.channel.is_open:
                self.channel.basic_cancel(tag)

    def count(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def letters(self) -> list[tuple[bytes, dict[str, Any]]]:
        found = []
        while True:
            method, properties, body = self.channel.basic_get(self.dead, auto_ack=True)
            if method is None:
                return found
            found.append((body, dict(properties.headers or {})))

    def reconnect(self) -> None:
        if self.connection.is_open:
            self.connection.close()
        self.connection = pika.BlockingConnection(pika.URLParameters(self.server))
        self.channel = self.connection.channel()

    def close(self) -> None:
        self.reconnect()
        for queue in (self.queue, self.dead):
            self.channel.queue_delete(queue)
        self.connection.close()


@pytest.fixture
def queues(rabbitmq_server: str, unique: str) -> Iterator[Queues]:
    created = Queues(rabbitmq_server, unique)
    yield created
    created.close()


def test_the_handler_sees_the_good_and_the_dead_letter_queue_the_bad(queues: Queues, mix: Mix) -> None:
    queues.declare()
    queues.publish(mix)
    handled: list[dict[str, Any]] = []
    guard = Guard(handled.append, CONTRACT, [TIER], dead_letter=queues.dead)
    queues.consume(guard, lambda: len(handled) == len(mix.good) and queues.count(queues.dead) == len(mix.bad))
    queues.reconnect()  # anything left unacknowledged would be back in the queue now
    assert 0 == queues.count(queues.queue)
    handled_check(mix, handled)
    letter_check(mix, queues.letters())


def test_a_consumer_killed_between_dead_letter_and_ack_gets_the_message_again(queues: Queues, mix: Mix) -> None:
    queues.declare()
    queues.publish(mix)
    victim = mix.bad[0]
    handled: list[dict[str, Any]] = []
    guard = Guard(handled.append, CONTRACT, [TIER], dead_letter=queues.dead)
    channel = queues.channel
    real_publish, real_ack = channel.basic_publish, channel.basic_ack
    published: list[bytes] = []
    crashed: list[int] = []

    def basic_publish(*args: Any, **kwargs: Any) -> None:
        real_publish(*args, **kwargs)
        published.append(args[2])

    def basic_ack(delivery_tag: int = 0, multiple: bool = False) -> None:
        if published and published[-1] == victim.value and not crashed:
            crashed.append(delivery_tag)
            raise Crash  # the dead letter is confirmed; the process dies before the ack
        real_ack(delivery_tag, multiple)

    channel.basic_publish = basic_publish  # type: ignore[method-assign]
    channel.basic_ack = basic_ack  # type: ignore[method-assign]
    with pytest.raises(Crash):
        queues.consume(guard, lambda: False)
    queues.reconnect()  # the dead process's connection is gone: its unacknowledged deliveries requeue
    assert 1 == queues.count(queues.dead)

    def done() -> bool:
        return len(handled) == len(mix.good) and queues.count(queues.dead) == len(mix.bad) + 1

    queues.consume(Guard(handled.append, CONTRACT, [TIER], dead_letter=queues.dead), done)
    queues.reconnect()
    assert 0 == queues.count(queues.queue)
    handled_check(mix, handled)
    found = queues.letters()
    assert [victim.value, victim.value] == [value for value, _ in found if value == victim.value]  # at least once
    letter_check(mix, list({headers["x-test-id"]: (value, headers) for value, headers in found}.values()))


def test_without_dead_letter_violations_are_rejected_into_the_queues_dlx(queues: Queues, mix: Mix) -> None:
    queues.declare(**{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queues.dead})
    queues.publish(mix)
    handled: list[dict[str, Any]] = []
    guard = Guard(handled.append, CONTRACT, [TIER])
    queues.consume(guard, lambda: len(handled) == len(mix.good) and queues.count(queues.dead) == len(mix.bad))
    queues.reconnect()
    assert 0 == queues.count(queues.queue)
    handled_check(mix, handled)
    found = queues.letters()
    assert sorted(m.value for m in mix.bad) == sorted(value for value, _ in found)
    assert all("x-death" in headers for _, headers in found)  # RabbitMQ's own dead-lettering


def test_an_unroutable_dead_letter_requeues_the_message_and_stops_the_consumer(queues: Queues) -> None:
    mix = make_mix(good=0, bad=1)
    queues.declare()
    queues.publish(mix)
    guard = Guard(lambda order: None, CONTRACT, [TIER], dead_letter=f"{queues.queue}.no-such-queue")
    with pytest.raises(DeadLetterNotConfirmed, match="UnroutableError"):
        queues.consume(guard, lambda: False)
    queues.reconnect()
    assert 1 == queues.count(queues.queue)  # still there: never dropped


def test_the_consumer_span_continues_the_producer_trace(queues: Queues, spans: Any) -> None:
    from opentelemetry.trace import SpanKind

    mix = make_mix(good=1, bad=1)
    queues.declare()
    with spans.provider.get_tracer("test").start_as_current_span("checkout"):
        queues.publish(mix)
    seen: list[dict[str, Any]] = []
    guard = Guard(seen.append, CONTRACT, [TIER], dead_letter=queues.dead)
    queues.consume(guard, lambda: len(seen) == 1 and queues.count(queues.dead) == 1)
    finished = spans.get_finished_spans()
    producers = [span for span in finished if span.kind is SpanKind.PRODUCER]
    consumers = [span for span in finished if span.kind is SpanKind.CONSUMER]
    assert 2 == len(producers) == len(consumers)
    for producer, consumed in zip(producers, consumers, strict=True):
        assert producer.context.span_id == consumed.parent.span_id
        assert "rabbitmq" == consumed.attributes["messaging.system"]
        assert queues.queue == consumed.attributes["messaging.destination.name"]
        assert queues.queue == consumed.attributes["messaging.rabbitmq.destination.routing_key"]
    assert ["ok", "violation"] == [span.attributes["syscontract.outcome"] for span in consumers]


def test_aio_pika_hands_on_the_good_and_dead_letters_the_bad(queues: Queues, mix: Mix) -> None:
    aio_pika = pytest.importorskip("aio_pika")
    queues.declare()
    queues.publish(mix)

    async def scenario() -> list[dict[str, Any]]:
        connection = await aio_pika.connect_robust(queues.server)
        handled: list[dict[str, Any]] = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(queues.queue)

            async def on_order(order: dict[str, Any]) -> None:
                handled.append(order)

            tag = await queue.consume(AsyncGuard(on_order, CONTRACT, [TIER], dead_letter=queues.dead))
            deadline = time.monotonic() + 15
            while len(handled) < len(mix.good) or queues.count(queues.dead) < len(mix.bad):
                assert time.monotonic() < deadline, "timed out waiting for the consumer to settle every message"
                await asyncio.sleep(0.05)
            await queue.cancel(tag)
        return handled

    handled = asyncio.run(scenario())
    queues.reconnect()
    assert 0 == queues.count(queues.queue)
    handled_check(mix, handled)
    letter_check(mix, queues.letters())


@pytest.mark.parametrize("traced", [False, True], ids=["no tracer", "traced"])
def test_aio_pika_requeues_what_the_handler_fails_and_leaves_a_message_the_handler_settled(
    queues: Queues, request: pytest.FixtureRequest, traced: bool
) -> None:
    # the guard settles a passing message on two paths (inside a span, or inlined without one):
    # both must requeue on a handler's failure, and not settle twice what pass_message settled
    aio_pika = pytest.importorskip("aio_pika")
    if traced:
        request.getfixturevalue("spans")
    mix = make_mix(good=3, bad=1)
    queues.declare()
    queues.publish(mix)

    async def scenario() -> tuple[list[dict[str, Any]], int, int]:
        connection = await aio_pika.connect_robust(queues.server)
        handled: list[dict[str, Any]] = []
        failures: list[str] = []
        self_settled: list[str] = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(queues.queue)

            async def on_order(order: dict[str, Any], message: Any) -> None:
                if order["orderId"] not in failures:  # each message fails once, then passes
                    failures.append(order["orderId"])
                    raise RuntimeError("the handler failed")
                handled.append(order)
                if len(handled) == 1:
                    await message.ack()  # the handler settles this one itself
                    self_settled.append(order["orderId"])

            guard = AsyncGuard(on_order, CONTRACT, [TIER], dead_letter=queues.dead, pass_message=True)

            async def consumer(message: Any) -> None:
                try:
                    await guard(message)
                except Exception as exc:  # what the guard raises, aio-pika would only log
                    raised.append(exc)

            tag = await queue.consume(consumer)
            deadline = time.monotonic() + 15
            while len(handled) < len(mix.good) or queues.count(queues.dead) < len(mix.bad):
                assert time.monotonic() < deadline, "timed out waiting for the consumer to settle every message"
                await asyncio.sleep(0.05)
            await queue.cancel(tag)
        return handled, len(failures), len(self_settled)

    raised: list[Exception] = []
    handled, failures, self_settled = asyncio.run(scenario())
    # the handler's failures propagate; a second ack of the self-settled message would raise too
    assert ["the handler failed"] * len(mix.good) == [str(exc) for exc in raised]
    queues.reconnect()
    assert 0 == queues.count(queues.queue)  # every message settled, none lost
    assert (len(mix.good), 1) == (failures, self_settled)
    handled_check(mix, handled)
    letter_check(mix, queues.letters())
