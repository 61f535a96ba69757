"""The FastStream guard on the real NATS JetStream, RabbitMQ and Redis servers of this machine: a stale
producer publishing through FastStream (v2 writers, a null tier) has its messages dead-lettered with
their original bytes and headers, the handler gets exactly the good ones, and a consumer killed between
the dead letter and the ack loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from brokers import TIER, Crash, Mix, handled_check, letter_check, make_mix

pytest.importorskip("faststream", reason="the faststream extra: pip install -e '.[faststream]'")

import aio_pika
import nats
import redis.asyncio as aioredis
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisStreamMessage
from faststream.redis.parser import BinaryMessageFormatV1
from nats.js.api import ConsumerConfig

from syscontract.integrations import faststream as fs
from syscontract.integrations.faststream import guard

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"
Letters = list[tuple[bytes, dict[str, Any]]]


@dataclass
class Setup:
    """One broker, as a FastStream application sees it: a fresh FastStream broker per process, the
    subscriber's options, the dead-letter publisher's, and the server read directly (letters, pending)."""

    name: str
    url: str
    unique: str
    message_class: type[StreamMessage[Any]]
    made: list[Any] = field(default_factory=list)

    def broker(self) -> Any:
        broker = {"nats": NatsBroker, "rabbit": RabbitBroker, "redis": RedisBroker}[self.name](self.url)
        self.made.append(broker)
        return broker

    # names
    @property
    def source(self) -> str:
        return f"{self.unique}.orders" if self.name != "rabbit" else self.unique

    @property
    def dead(self) -> str:
        return f"{self.unique}.dead"

    def subscriber(self, broker: Any, consumer: str = "p-1", claim: bool = False) -> Any:
        if self.name == "nats":
            return broker.subscriber(
                self.source,
                stream=JStream(self.unique, declare=False),
                pull_sub=PullSub(batch_size=10, timeout=0.5),
                durable="pricing",
                config=ConsumerConfig(ack_wait=1.0),
            )
        if self.name == "rabbit":
            return broker.subscriber(RabbitQueue(self.source, declare=False))
        options: dict[str, Any] = {"min_idle_time": 500} if claim else {}
        return broker.subscriber(stream=StreamSub(self.source, group="pricing", consumer=consumer, **options))

    def publisher(self, broker: Any) -> Any:
        if self.name == "nats":
            return broker.publisher(self.dead, stream=f"{self.unique}-dead")
        if self.name == "rabbit":
            return broker.publisher(RabbitQueue(self.dead, declare=False))
        return broker.publisher(stream=self.dead)

    async def publish(self, producer: Any, mix: Mix) -> None:
        """What checkout's producers sent, through FastStream: stale ones (v2 writers, a null tier) too."""
        for message in mix.messages:
            if self.name == "nats":
                await producer.publish(message.value, self.source, headers=message.headers, stream=self.unique)
            elif self.name == "rabbit":
                await producer.publish(message.value, queue=self.source, headers=message.headers)
            else:
                await producer.publish(message.value, stream=self.source, headers=message.headers)

    async def letters(self) -> Letters:
        """The dead letters as the server stores them."""
        if self.name == "nats":
            nc = await nats.connect(self.url)
            try:
                js = nc.jetstream()
                info = await js.stream_info(f"{self.unique}-dead")
                found: Letters = []
                if info.state.messages:
                    for seq in range(info.state.first_seq, info.state.last_seq + 1):
                        raw = await js.get_msg(f"{self.unique}-dead", seq)
                        found.append((raw.data or b"", dict(raw.headers or {})))
                return found
            finally:
                await nc.close()
        if self.name == "rabbit":
            connection = await aio_pika.connect(self.url)
            try:
                channel = await connection.channel()
                queue = await channel.declare_queue(self.dead, passive=True)
                found = []
                while (message := await queue.get(no_ack=False, fail=False)) is not None:
                    found.append((message.body, dict(message.headers)))
                await channel.close()  # nothing acknowledged: the letters stay
                return found
            finally:
                await connection.close()
        client = aioredis.Redis.from_url(self.url)
        try:
            entries = await client.xrange(self.dead)
            return [BinaryMessageFormatV1.parse(fields[b"__data__"]) for _, fields in entries]
        finally:
            await client.aclose()

    async def settled(self) -> bool:
        """Nothing waiting, nothing unacknowledged."""
        if self.name == "nats":
            nc = await nats.connect(self.url)
            try:
                info = await nc.jetstream().consumer_info(self.unique, "pricing")
                return info.num_ack_pending == 0 and info.num_pending == 0
            finally:
                await nc.close()
        if self.name == "rabbit":
            connection = await aio_pika.connect(self.url)
            try:
                channel = await connection.channel()
                queue = await channel.declare_queue(self.source, passive=True)
                return queue.declaration_result.message_count == 0
            finally:
                await connection.close()
        client = aioredis.Redis.from_url(self.url)
        try:
            pending = await client.xpending(self.source, "pricing")
            return int(pending["pending"]) == 0
        finally:
            await client.aclose()


@contextlib.asynccontextmanager
async def created(setup: Setup) -> AsyncIterator[None]:
    """The streams or queues of one test, deleted after it."""
    if setup.name == "nats":
        nc = await nats.connect(setup.url)
        js = nc.jetstream()
        await js.add_stream(name=setup.unique, subjects=[f"{setup.unique}.orders"])
        await js.add_stream(name=f"{setup.unique}-dead", subjects=[setup.dead])
        try:
            yield
        finally:
            for stream in (setup.unique, f"{setup.unique}-dead"):
                await js.delete_stream(stream)
            await nc.close()
    elif setup.name == "rabbit":
        connection = await aio_pika.connect(setup.url)
        channel = await connection.channel()
        for queue in (setup.source, setup.dead):
            await channel.declare_queue(queue)
        try:
            yield
        finally:
            for queue in (setup.source, setup.dead):
                await channel.queue_delete(queue)
            await connection.close()
    else:
        client = aioredis.Redis.from_url(setup.url)
        try:
            yield
        finally:
            await client.delete(setup.source, setup.dead)
            await client.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["nats", "rabbit", "redis"])
def setup(request: pytest.FixtureRequest, unique: str) -> Setup:
    name = request.param
    url = request.getfixturevalue({"nats": "nats_server", "rabbit": "rabbitmq_server", "redis": "redis_server"}[name])
    classes = {"nats": NatsMessage, "rabbit": RabbitMessage, "redis": RedisStreamMessage}
    return Setup(name, url, unique, classes[name])


def test_a_stale_producer_s_messages_are_dead_lettered_with_their_original_bytes(setup: Setup, mix: Mix) -> None:
    async def scenario() -> Letters:
        async with created(setup):
            consumer = setup.broker()
            handled: list[dict[str, Any]] = []

            @guard(CONTRACT, [TIER], dead_letter=setup.publisher(consumer))
            @setup.subscriber(consumer)
            async def on_order(order: dict[str, Any]) -> None:
                handled.append(order)

            producer = setup.broker()
            async with producer, consumer:
                await consumer.start()
                await setup.publish(producer, mix)

                async def done() -> bool:
                    return len(handled) == len(mix.good) and len(await setup.letters()) == len(mix.bad)

                await eventually(done, "every message handled or dead-lettered")
            await eventually(setup.settled, "every message acknowledged")
            handled_check(mix, handled)
            return await setup.letters()

    letters = asyncio.run(scenario())
    letter_check(mix, letters)  # exactly the bad ones: the same bytes, every original header, the error
    for value, headers in letters:
        assert setup.source == headers["syscontract-error-source"]
        assert headers["syscontract-error-handler"].endswith("<locals>.on_order")
        if setup.name == "nats":  # the original's stream position: a duplicate is recognisable
            assert headers["syscontract-error-id"].startswith(f"{setup.unique}:")
            assert headers[fs.MSG_ID] == f"syscontract-dead-letter:{headers['syscontract-error-id']}"
        assert value == mix.by_value(value).value


class Death:
    """A consumer process that dies at one moment: afterwards it starts nothing (no decode, no handler,
    no dead-letter publish, no ack, nack or reject). Work it had started runs on to its next step, as
    bytes already on the wire do: FastStream handles a NATS pull batch's messages concurrently, so
    another message's dead letter may be stored after (or just before) the one the process dies on,
    and a good message may have been handled without being acknowledged. What the broker saw
    acknowledged, and which dead letters were started while alive, is recorded to check that."""

    def __init__(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dead = False
        self.deaths = 0
        self.acked: set[bytes] = set()  # bodies whose ack reached the broker
        self.started: set[bytes] = set()  # bodies whose dead-letter publish was started
        self.seen: list[bytes] = []  # bodies the guard decoded while alive
        self.published: list[tuple[bytes, Any]] = []  # dead letters and what the broker answered
        self.wrapped: set[type] = set()
        real_decode = fs._Guard.decode

        async def decode(guard: Any, message: Any) -> Any:
            self.alive()
            self.seen.append(message.body)
            return await real_decode(guard, message)

        monkeypatch.setattr(fs._Guard, "decode", decode)
        for name in ("ack", "nack", "reject"):
            monkeypatch.setattr(setup.message_class, name, self._settle(setup.message_class, name))
        self.monkeypatch = monkeypatch

    def alive(self) -> None:
        if self.dead:
            raise Crash  # a dead process does nothing more

    async def dies_at_ack(self, message: StreamMessage[Any]) -> bool:
        """Whether the process dies instead of this ack (the test decides)."""
        return False

    def publishing(self, publisher: Any) -> Any:
        """``publisher``, whose publish starts nothing once the process is dead (its class's publish
        is wrapped once; every result is kept in ``published``)."""
        kind = type(publisher)
        if kind in self.wrapped:
            return publisher
        self.wrapped.add(kind)
        real = kind.publish

        async def publish(this: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
            self.alive()
            self.started.add(message)
            result = await real(this, message, *args, **kwargs)
            self.published.append((message, result))
            return result

        self.monkeypatch.setattr(kind, "publish", publish)
        return publisher

    def _settle(self, kind: type[StreamMessage[Any]], name: str) -> Callable[..., Any]:
        real = getattr(kind, name)

        async def settle(message: StreamMessage[Any], *args: Any, **kwargs: Any) -> None:
            self.alive()
            if name == "ack" and await self.dies_at_ack(message):
                self.dead, self.deaths = True, self.deaths + 1
                raise Crash  # the dead letter is stored; the process dies before the ack
            await real(message, *args, **kwargs)
            if name == "ack":
                self.acked.add(message.body)

        return settle


def test_a_consumer_killed_between_dead_letter_and_ack_gets_the_message_again(
    setup: Setup, mix: Mix, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = mix.bad[0]

    class DiesOnTheVictim(Death):
        async def dies_at_ack(self, message: StreamMessage[Any]) -> bool:
            return message.body == victim.value and not self.deaths

    death = DiesOnTheVictim(setup, monkeypatch)
    handled: list[list[dict[str, Any]]] = [[], []]  # by the first process, by the second

    async def scenario() -> Letters:
        async with created(setup):
            first = setup.broker()
            process = {"handled": handled[0]}

            async def on_order(order: dict[str, Any]) -> None:
                death.alive()
                process["handled"].append(order)

            guard(CONTRACT, [TIER], dead_letter=death.publishing(setup.publisher(first)))(
                setup.subscriber(first)(on_order)
            )
            producer = setup.broker()
            async with producer:
                async with first:
                    await first.start()
                    await setup.publish(producer, mix)

                    async def crashed() -> bool:
                        return death.dead

                    await eventually(crashed, "the consumer to die after the victim's dead letter")
                letters = await setup.letters()  # stored, not yet acknowledged
                assert [victim.value] == [value for value, _ in letters if value == victim.value]
                # others: only dead letters the process had started while alive (in flight at its death)
                assert {value for value, _ in letters} <= death.started
                assert {value for value, _ in letters} <= {message.value for message in mix.bad}

                # a new process with the same durable consumer / queue / group: the victim comes back
                death.dead, process["handled"] = False, handled[1]
                del death.seen[:]
                second = setup.broker()
                if setup.name == "redis":  # a pending entry is claimed by a consumer of the group
                    wrapped = setup.subscriber(second, "p-2", claim=True)(setup.subscriber(second)(on_order))
                else:
                    wrapped = setup.subscriber(second)(on_order)
                guard(CONTRACT, [TIER], dead_letter=death.publishing(setup.publisher(second)))(wrapped)
                async with second:
                    await second.start()

                    async def done() -> bool:
                        letters = {headers["x-test-id"] for _, headers in await setup.letters()}
                        redone = {order["orderId"] for order in handled[1]}
                        return redone >= unacknowledged() and len(letters) == len(mix.bad)

                    await eventually(done, "every message handled or dead-lettered after the restart")
                await eventually(setup.settled, "every message acknowledged after the restart")
            return await setup.letters()

    def unacknowledged() -> set[str]:
        """The good messages the first process did not get acknowledged: the second one handles them."""
        return {message.order_id for message in mix.good if message.value not in death.acked}

    letters = asyncio.run(scenario())
    assert victim.value in death.seen  # the second process got the victim again and dead-lettered it again
    # each good one handled once, counting the first process's handling only where its ack reached the broker
    kept = [order for order in handled[0] if mix.by_id(order["orderId"]).value in death.acked]
    handled_check(mix, kept + handled[1])
    copies = [value for value, _ in letters if value == victim.value]
    if setup.name == "nats":  # Nats-Msg-Id: one copy of every dead letter kept, the victim's too
        assert [victim.value] == copies, [h for v, h in letters if v == victim.value]
        assert sorted(message.value for message in mix.bad) == sorted(value for value, _ in letters)
    else:
        assert [victim.value, victim.value] == copies  # at least once, never lost
    letter_check(mix, list({headers["x-test-id"]: (value, headers) for value, headers in letters}.values()))


def test_a_nats_consumer_killed_with_two_dead_letters_unacknowledged_keeps_one_copy_of_each(
    nats_server: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastStream handles the messages of a NATS pull batch concurrently, so a process can die with the
    dead letters of two messages stored and neither message acknowledged (what the kill test above met,
    at random, on a busy machine). Both come back; each is dead-lettered again under the same
    ``Nats-Msg-Id``, which JetStream answers as a duplicate: one copy of each is kept."""
    mix = make_mix(good=0, bad=2)
    setup = Setup("nats", nats_server, unique, NatsMessage)
    bodies = {message.value for message in mix.bad}

    reached: set[bytes] = set()  # bodies whose ack was reached: their dead letter is stored

    class DiesWithBothStored(Death):
        async def dies_at_ack(self, message: StreamMessage[Any]) -> bool:
            if self.deaths or message.body not in bodies:
                return False
            reached.add(message.body)

            async def both() -> bool:
                return reached == bodies

            await eventually(both, "both dead letters stored, both messages in one batch")
            return True

    death = DiesWithBothStored(setup, monkeypatch)

    async def consumer_info() -> Any:
        nc = await nats.connect(nats_server)
        try:
            return await nc.jetstream().consumer_info(unique, "pricing")
        finally:
            await nc.close()

    async def on_order(order: dict[str, Any]) -> None:
        raise AssertionError("a violating message reached the handler")

    async def scenario() -> Letters:
        async with created(setup):
            producer = setup.broker()
            async with producer:
                await setup.publish(producer, mix)  # both stored before the consumer's first fetch
            first = setup.broker()
            guard(CONTRACT, [TIER], dead_letter=death.publishing(setup.publisher(first)))(
                setup.subscriber(first)(on_order)
            )
            async with first:
                await first.start()

                async def crashed() -> bool:
                    return death.dead

                await eventually(crashed, "the consumer to die with both dead letters stored")
            assert bodies == {value for value, _ in await setup.letters()}  # both stored ...
            assert 2 == (await consumer_info()).num_ack_pending  # ... and neither message acknowledged
            assert not any(result.duplicate for _, result in death.published)

            death.dead = False
            del death.published[:], death.seen[:]
            second = setup.broker()
            guard(CONTRACT, [TIER], dead_letter=death.publishing(setup.publisher(second)))(
                setup.subscriber(second)(on_order)
            )
            async with second:
                await second.start()
                await eventually(setup.settled, "both messages dead-lettered again and acknowledged")
            return await setup.letters()

    letters = asyncio.run(scenario())
    assert bodies == set(death.seen)  # the second process got each back
    assert bodies == {message for message, _ in death.published}  # and dead-lettered it again
    assert all(result.duplicate for _, result in death.published)  # which JetStream recognised
    assert sorted(bodies) == sorted(value for value, _ in letters)  # one copy of each kept
    letter_check(mix, letters)
    for _, headers in letters:
        assert headers[fs.MSG_ID] == f"syscontract-dead-letter:{headers['syscontract-error-id']}"


def test_raise_redelivers_a_violating_message_instead_of_dropping_it(setup: Setup) -> None:
    mix = make_mix(good=1, bad=1)
    bad = mix.bad[0]

    async def scenario() -> int:
        async with created(setup):
            consumer = setup.broker()
            handled: list[dict[str, Any]] = []
            seen: list[bytes] = []
            real_decode = fs._Guard.decode

            async def counting(self: Any, message: Any) -> Any:
                seen.append(message.body)
                return await real_decode(self, message)

            async def on_order(order: dict[str, Any]) -> None:
                handled.append(order)

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fs._Guard, "decode", counting)
                if setup.name == "redis":  # a pending entry is retried by a claiming consumer of the group
                    wrapped = setup.subscriber(consumer, "p-2", claim=True)(setup.subscriber(consumer)(on_order))
                else:
                    wrapped = setup.subscriber(consumer)(on_order)
                guard(CONTRACT, [TIER], on_violation="raise")(wrapped)
                producer = setup.broker()
                async with producer, consumer:
                    await consumer.start()
                    await setup.publish(producer, mix)

                    async def redelivered() -> bool:
                        return len(handled) == 1 and seen.count(bad.value) >= 2

                    await eventually(redelivered, "the violating message to come back")
            return len(await setup.letters())

    assert 0 == asyncio.run(scenario())  # raised, redelivered, never dead-lettered nor dropped


def test_an_unroutable_rabbitmq_dead_letter_leaves_the_original_in_its_queue(rabbitmq_server: str, unique: str) -> None:
    mix = make_mix(good=0, bad=1)
    setup = Setup("rabbit", rabbitmq_server, unique, RabbitMessage)

    async def scenario() -> None:
        async with created(setup):
            consumer = setup.broker()
            attempts: list[bytes] = []
            real_decode = fs._Guard.decode

            async def counting(self: Any, message: Any) -> Any:
                attempts.append(message.body)
                return await real_decode(self, message)

            async def on_order(order: dict[str, Any]) -> None:
                raise AssertionError("a violating message reached the handler")

            nowhere = consumer.publisher(RabbitQueue(f"{unique}.no-such-queue", declare=False))
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fs._Guard, "decode", counting)
                guard(CONTRACT, [TIER], dead_letter=nowhere)(setup.subscriber(consumer)(on_order))
                producer = setup.broker()
                async with producer, consumer:
                    await consumer.start()
                    await setup.publish(producer, mix)

                    async def retried() -> bool:
                        return len(attempts) >= 2  # not confirmed: negatively acknowledged, delivered again

                    await eventually(retried, "the message to come back after its unroutable dead letter")
            # the consumer is gone: the message is back in its queue, not lost and not dead-lettered
            await eventually(lambda: _count(setup, setup.source, 1), "the message to be back in its queue")
            assert [] == await setup.letters()

    asyncio.run(scenario())


async def _count(setup: Setup, queue: str, expected: int) -> bool:
    connection = await aio_pika.connect(setup.url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count == expected
    finally:
        await connection.close()
