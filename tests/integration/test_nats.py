"""NATS JetStream on a real server: nothing violating reaches the handler, nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from brokers import TIER, Crash, Mix, handled_check, letter_check, make_mix

pytest.importorskip("nats", reason="the nats extra: pip install -e '.[nats]'")

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from syscontract.integrations.nats import Guard, publish

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


class Broker:
    def __init__(self, nc: Any, js: JetStreamContext, name: str) -> None:
        self.nc = nc
        self.js = js
        self.stream = name
        self.subject = f"{name}.orders.placed"
        self.dead_stream = f"{name}-dead"
        self.dead = f"{name}.dead"

    async def publish(self, mix: Mix) -> None:
        for message in mix.messages:
            await publish(self.js, self.subject, message.value, message.headers)

    async def letters(self) -> list[tuple[bytes, dict[str, Any]]]:
        info = await self.js.stream_info(self.dead_stream)
        found: list[tuple[bytes, dict[str, Any]]] = []
        if not info.state.messages:
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            raw = await self.js.get_msg(self.dead_stream, seq)
            found.append((raw.data or b"", dict(raw.headers or {})))
        return found

    async def settled(self, durable: str) -> bool:
        info = await self.js.consumer_info(self.stream, durable)
        return info.num_ack_pending == 0 and info.num_pending == 0


@asynccontextmanager
async def broker(server: str, name: str) -> AsyncIterator[Broker]:
    nc = await nats.connect(server, error_cb=_quiet)
    js = nc.jetstream()
    created = Broker(nc, js, name)
    await js.add_stream(name=created.stream, subjects=[f"{name}.orders.>"])
    await js.add_stream(name=created.dead_stream, subjects=[created.dead])
    try:
        yield created
    finally:
        for stream in (created.stream, created.dead_stream):
            await js.delete_stream(stream)
        await nc.close()


async def _quiet(exc: Exception) -> None:
    pass  # handler errors reach nats-py's error callback; the tests assert on them directly


async def fetch(sub: JetStreamContext.PullSubscription, count: int, timeout: float = 15.0) -> list[Msg]:
    """``count`` messages from a pull subscription, or an AssertionError saying how many came.

    nats-py's ``fetch(batch)`` hands back as many messages as arrived before its deadline (up to the
    batch), and when none did raises a timeout: ``nats.errors.TimeoutError`` (``FetchTimeoutError``)
    or, once the deadline is used up between its steps, plain ``asyncio.TimeoutError``. On a slow
    machine either can happen to messages that are already stored, so a test that needs ``count``
    of them asks again until it has them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[Msg] = []
    while len(got) < count:
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"fetched {len(got)} of {count} messages in {timeout:.0f}s")
        with contextlib.suppress(asyncio.TimeoutError):  # nats.errors.TimeoutError derives from it
            got += await sub.fetch(count - len(got), timeout=max(left, 0.5))
    return got


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the consumer to settle every message")
        await asyncio.sleep(0.05)


def test_push_subscription_hands_on_the_good_and_dead_letters_the_bad(nats_server: str, unique: str, mix: Mix) -> None:
    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            handled: list[dict[str, Any]] = []

            async def on_order(order: dict[str, Any]) -> None:
                handled.append(order)

            guard = Guard(on_order, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
            sub = await b.js.subscribe(b.subject, durable="pricing", cb=guard, manual_ack=True)

            async def done() -> bool:
                return len(handled) == len(mix.good) and await b.settled("pricing")

            await eventually(done)
            await sub.unsubscribe()
            handled_check(mix, handled)
            letters = await b.letters()
            letter_check(mix, letters)
            info = await b.js.consumer_info(b.stream, "pricing")
            assert (0, 0, 0) == (info.num_ack_pending, info.num_pending, info.num_redelivered)
            for _, headers in letters:
                assert headers["syscontract-error-id"].startswith(f"{b.stream}:")

    asyncio.run(scenario())


def slow_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other ``fetch()`` raises plain ``asyncio.TimeoutError`` before asking the server, as
    nats-py's does on a slow machine when its deadline is used up between two of its steps."""
    real = JetStreamContext.PullSubscription.fetch
    calls = itertools.count()

    async def fetch(self: Any, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> Any:
        if next(calls) % 2 == 0:
            raise asyncio.TimeoutError
        return await real(self, batch, timeout, heartbeat)

    monkeypatch.setattr(JetStreamContext.PullSubscription, "fetch", fetch)


@pytest.mark.parametrize("machine", ["quiet", "slow"])
def test_a_consumer_killed_between_dead_letter_and_ack_gets_the_message_again(
    nats_server: str, unique: str, mix: Mix, monkeypatch: pytest.MonkeyPatch, machine: str
) -> None:
    if machine == "slow":
        slow_fetches(monkeypatch)
    victim = mix.bad[0]
    crashed: list[Msg] = []
    original_ack = Msg.ack

    async def ack(self: Msg) -> None:
        if self.data == victim.value and not crashed:
            crashed.append(self)
            raise Crash  # the process dies after the dead letter was stored, before the ack
        await original_ack(self)

    monkeypatch.setattr(Msg, "ack", ack)

    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            handled: list[dict[str, Any]] = []
            deliveries: dict[bytes, int] = {}

            def on_order(order: dict[str, Any]) -> None:
                handled.append(order)

            config = ConsumerConfig(ack_wait=1.0)
            guard = Guard(on_order, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
            first = await b.js.pull_subscribe(b.subject, durable="pricing", config=config)
            with pytest.raises(Crash):
                for msg in await fetch(first, len(mix.messages)):
                    deliveries[msg.data] = msg.metadata.num_delivered
                    await guard(msg)
            assert 1 == len(crashed)
            assert 1 == len(await b.letters())  # stored, not yet acknowledged
            await first.unsubscribe()

            # a new process binds to the same durable consumer: the victim (and whatever the dead
            # process had fetched but not settled) is redelivered after ack_wait
            restarted = await b.js.pull_subscribe(b.subject, durable="pricing", config=config)

            async def drain() -> bool:
                try:
                    for msg in await restarted.fetch(len(mix.messages), timeout=0.5):
                        deliveries[msg.data] = msg.metadata.num_delivered
                        await guard(msg)
                except asyncio.TimeoutError:  # nothing redelivered yet: nats-py raises its own or asyncio's
                    pass
                return len(handled) == len(mix.good) and await b.settled("pricing")

            await eventually(drain)
            assert 2 == deliveries[victim.value]  # redelivered, not lost
            handled_check(mix, handled)
            letter_check(mix, await b.letters())  # one copy: Nats-Msg-Id de-duplicated the second

    asyncio.run(scenario())


def test_without_a_dead_letter_subject_violations_are_terminated_not_redelivered(
    nats_server: str, unique: str, mix: Mix
) -> None:
    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            handled: list[dict[str, Any]] = []
            guard = Guard(handled.append, CONTRACT, [TIER])
            sub = await b.js.subscribe(
                b.subject, durable="pricing", cb=guard, manual_ack=True, config=ConsumerConfig(ack_wait=1.0)
            )

            async def done() -> bool:
                return len(handled) == len(mix.good) and await b.settled("pricing")

            await eventually(done)
            await asyncio.sleep(1.5)  # past ack_wait: a message left unacknowledged would be back
            await sub.unsubscribe()
            handled_check(mix, handled)
            info = await b.js.consumer_info(b.stream, "pricing")
            assert (0, 0, 0) == (info.num_ack_pending, info.num_pending, info.num_redelivered)
            assert [] == await b.letters()

    asyncio.run(scenario())


def test_a_failing_handler_naks_for_redelivery_and_the_error_propagates(nats_server: str, unique: str) -> None:
    mix = make_mix(good=1, bad=0)

    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            calls: list[dict[str, Any]] = []

            def on_order(order: dict[str, Any]) -> None:
                calls.append(order)
                if len(calls) == 1:
                    raise RuntimeError("pricing service down")

            guard = Guard(on_order, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            (msg,) = await fetch(sub, 1)
            with pytest.raises(RuntimeError, match="pricing service down"):
                await guard(msg)
            (again,) = await fetch(sub, 1)  # nak: redelivered at once, not after ack_wait
            assert 2 == again.metadata.num_delivered
            await guard(again)
            assert 2 == len(calls)
            await eventually(lambda: b.settled("pricing"))
            assert [] == await b.letters()

    asyncio.run(scenario())


def test_undecodable_bytes_are_dead_lettered_with_a_decode_error(nats_server: str, unique: str) -> None:
    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await publish(b.js, b.subject, b"\x00\x00\x00\x00\x08garbage", {"x-test-id": "garbage"})
            await publish(b.js, b.subject, b"{not json", {"x-test-id": "not-json"})
            guard = Guard(lambda order: None, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            for msg in await fetch(sub, 2):
                await guard(msg)
            letters = await b.letters()
            assert [b"\x00\x00\x00\x00\x08garbage", b"{not json"] == [value for value, _ in letters]
            assert ["DecodeError", "DecodeError"] == [headers["syscontract-error"] for _, headers in letters]
            await eventually(lambda: b.settled("pricing"))

    asyncio.run(scenario())


def test_observe_hands_violating_payloads_on_and_acknowledges(nats_server: str, unique: str) -> None:
    mix = make_mix(good=2, bad=3)

    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            handled: list[dict[str, Any]] = []
            guard = Guard(handled.append, CONTRACT, [TIER], js=b.js, dead_letter=b.dead, on_violation="observe")
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            for msg in await fetch(sub, len(mix.messages)):
                await guard(msg)
            assert len(mix.messages) == len(handled)
            assert [] == await b.letters()
            await eventually(lambda: b.settled("pricing"))

    asyncio.run(scenario())


def test_the_consumer_span_continues_the_producer_trace(nats_server: str, unique: str, spans: Any) -> None:
    from opentelemetry.trace import SpanKind

    mix = make_mix(good=1, bad=1)
    tracer = spans.provider.get_tracer("test")

    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            with tracer.start_as_current_span("checkout"):
                await b.publish(mix)
            guard = Guard(lambda order: None, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            for msg in await fetch(sub, 2):
                await guard(msg)

    asyncio.run(scenario())
    finished = spans.get_finished_spans()
    producers = [span for span in finished if span.kind is SpanKind.PRODUCER]
    consumers = [span for span in finished if span.kind is SpanKind.CONSUMER]
    assert 2 == len(producers) == len(consumers)
    for producer, consumer in zip(producers, consumers, strict=True):
        assert f"send {unique}.orders.placed" == producer.name
        assert f"process {unique}.orders.placed" == consumer.name
        assert producer.context.trace_id == consumer.context.trace_id
        assert producer.context.span_id == consumer.parent.span_id
        assert [producer.context.span_id] == [link.context.span_id for link in consumer.links]
        assert "nats" == consumer.attributes["messaging.system"]
        assert f"{unique}.orders.placed" == consumer.attributes["messaging.destination.name"]
        assert "process" == consumer.attributes["messaging.operation.type"]
        assert "pricing" == consumer.attributes["messaging.consumer.group.name"]
        assert CONTRACT == consumer.attributes["syscontract.contract"]
    good, bad = consumers
    assert "ok" == good.attributes["syscontract.outcome"]
    assert "violation" == bad.attributes["syscontract.outcome"]
    assert ["syscontract.violation", "syscontract.dead_letter"] == [
        event.name for event in bad.events if event.name.startswith("syscontract")
    ]


def test_cloudevents_in_binary_mode_are_checked_against_their_dataschema(nats_server: str, unique: str) -> None:
    mix = make_mix(good=3, bad=4)

    def as_cloudevent(message: Any) -> tuple[bytes, dict[str, str]]:
        version = "v3" if message.good or message.kind == "null json" else "v2"
        headers = {key: value for key, value in message.headers.items() if key != "syscontract-contract"}
        avro = message.kind.endswith("avro+header")
        headers.update(
            {
                "ce-specversion": "1.0",
                "ce-id": message.order_id,
                "ce-source": "/checkout",
                "ce-type": "com.example.order.placed",
                "ce-dataschema": f"https://schemas.example.com/order/{version}",
                "content-type": "application/avro" if avro else headers.get("content-type", "application/json"),
            }
        )
        return message.value, headers

    async def scenario() -> None:
        async with broker(nats_server, unique) as b:
            sent = [as_cloudevent(message) for message in mix.messages]
            for value, headers in sent:
                await publish(b.js, b.subject, value, headers)
            handled: list[dict[str, Any]] = []
            guard = Guard(handled.append, CONTRACT, [TIER], js=b.js, dead_letter=b.dead, cloudevents=True)
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            for msg in await fetch(sub, len(sent)):
                await guard(msg)
            handled_check(mix, handled)
            letters = await b.letters()
            assert sorted(m.order_id for m in mix.bad) == sorted(h["ce-id"] for _, h in letters)
            for value, headers in letters:
                assert value == mix.by_id(headers["ce-id"]).value
            await eventually(lambda: b.settled("pricing"))

    asyncio.run(scenario())


def test_the_dead_letter_headers_name_the_failure(nats_server: str, unique: str) -> None:
    mix = make_mix(good=0, bad=1)

    async def scenario() -> dict[str, Any]:
        async with broker(nats_server, unique) as b:
            await b.publish(mix)
            sub = await b.js.pull_subscribe(b.subject, durable="pricing")
            (msg,) = await fetch(sub, 1)
            await Guard(lambda order: None, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)(msg)
            ((_, headers),) = await b.letters()
            return headers

    headers = asyncio.run(scenario())
    assert "order.v2" == headers["syscontract-contract"]  # the original header, untouched
    assert "order.v2" == headers["syscontract-error-writer"]
    assert "not-in-writer-schema" == headers["syscontract-error-reason"]
    assert f"{unique}.orders.placed" == headers["syscontract-error-source"]
    assert "\n" not in headers["syscontract-error-message"]
    assert json.loads(json.dumps(headers))  # plain strings throughout


def test_two_violating_messages_with_one_producer_id_are_both_dead_lettered(nats_server: str, unique: str) -> None:
    """A producer's own Nats-Msg-Id is no key for a dead letter: the same id on two messages (two
    source streams, or one stream after its duplicate window) made the dead-letter stream drop the
    second letter as a duplicate while its message was acknowledged: lost. Dead letters are keyed on
    the original's stream position, and the producer's id is kept beside it."""
    (bad,) = make_mix(good=0, bad=1).messages

    async def scenario() -> list[tuple[bytes, dict[str, Any]]]:
        async with broker(nats_server, unique) as b:
            other = f"{unique}-other"
            await b.js.add_stream(name=other, subjects=[f"{other}.orders.>"])
            try:
                headers = {**bad.headers, "Nats-Msg-Id": "order-7"}
                await publish(b.js, b.subject, bad.value, headers)
                await publish(b.js, f"{other}.orders.placed", bad.value, headers)
                guard = Guard(lambda order: None, CONTRACT, [TIER], js=b.js, dead_letter=b.dead)
                for stream, subject in ((b.stream, b.subject), (other, f"{other}.orders.placed")):
                    sub = await b.js.pull_subscribe(subject, durable="pricing", stream=stream)
                    for msg in await fetch(sub, 1):
                        await guard(msg)
                await eventually(lambda: b.settled("pricing"))
                return await b.letters()
            finally:
                await b.js.delete_stream(other)

    letters = asyncio.run(scenario())
    assert [bad.value, bad.value] == [value for value, _ in letters]  # two messages, two letters
    assert [f"syscontract-dead-letter:{unique}:1", f"syscontract-dead-letter:{unique}-other:1"] == [
        headers["Nats-Msg-Id"] for _, headers in letters
    ]
    assert ["order-7", "order-7"] == [headers["syscontract-original-nats-msg-id"] for _, headers in letters]
