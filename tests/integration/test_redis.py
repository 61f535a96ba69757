"""Redis Streams on a real server: XADD to the dead-letter stream, then XACK; nothing lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from brokers import TIER, Crash, Mix, handled_check, letter_check, make_mix

pytest.importorskip("redis", reason="the redis extra: pip install -e '.[redis]'")

import redis
import redis.asyncio

from syscontract import ContractDeclarationError
from syscontract.integrations.redis import AsyncStreamConsumer, StreamConsumer, publish, publish_async

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


def letters(client: redis.Redis, stream: str) -> list[tuple[bytes, dict[str, Any]]]:
    return [
        (fields.pop(b"value"), {key.decode(): value for key, value in fields.items()})
        for _, fields in client.xrange(stream)
    ]


def pending(client: redis.Redis, stream: str, group: str) -> int:
    return int(client.xpending(stream, group)["pending"])


def consumer(client: Any, stream: str, handler: Any, name: str = "pricing-1", **options: Any) -> Any:
    kind = AsyncStreamConsumer if isinstance(client, redis.asyncio.Redis) else StreamConsumer
    return kind(
        client,
        stream,
        group="pricing",
        consumer=name,
        handler=handler,
        contract=CONTRACT,
        fields=[TIER],
        dead_letter=f"{stream}.dead",
        block_ms=100,
        **options,
    )


def publish_mix(client: redis.Redis, stream: str, mix: Mix) -> None:
    for message in mix.messages:
        publish(client, stream, message.value, message.headers)


def test_the_handler_sees_the_good_and_the_dead_letter_stream_the_bad(
    client: redis.Redis, unique: str, mix: Mix
) -> None:
    handled: list[dict[str, Any]] = []
    guarded = consumer(client, unique, handled.append)
    guarded.ensure_group()
    publish_mix(client, unique, mix)
    while guarded.process():
        pass
    handled_check(mix, handled)
    found = letters(client, f"{unique}.dead")
    letter_check(mix, found)
    assert 0 == pending(client, unique, "pricing")
    ids = [headers["syscontract-error-id"].decode() for _, headers in found]
    assert len(mix.bad) == len(set(ids))


def test_a_consumer_killed_between_xadd_and_xack_dead_letters_again_on_restart(
    client: redis.Redis, unique: str, mix: Mix, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = mix.bad[0]
    handled: list[dict[str, Any]] = []
    first = consumer(client, unique, handled.append)
    first.ensure_group()
    publish_mix(client, unique, mix)
    original_ack = StreamConsumer.ack
    crashed: list[bytes] = []

    def ack(self: StreamConsumer, entry_id: bytes) -> None:
        fields = client.xrange(unique, entry_id, entry_id)[0][1]
        if fields[b"value"] == victim.value and not crashed:
            crashed.append(entry_id)
            raise Crash
        original_ack(self, entry_id)

    monkeypatch.setattr(StreamConsumer, "ack", ack)
    with pytest.raises(Crash):
        while first.process():
            pass
    assert 1 == len(letters(client, f"{unique}.dead"))  # added, not yet acknowledged
    assert pending(client, unique, "pricing") >= 1  # the victim, and whatever the batch had left

    restarted = consumer(client, unique, handled.append)  # same consumer name: its pending entries first
    while restarted.process():
        pass
    handled_check(mix, handled)
    found = letters(client, f"{unique}.dead")
    assert len(mix.bad) + 1 == len(found)  # at least once: the victim twice, nothing lost
    assert [victim.value, victim.value] == [value for value, _ in found if value == victim.value]
    unique_letters = {headers["syscontract-error-id"]: (value, headers) for value, headers in found}
    letter_check(mix, list(unique_letters.values()))
    assert 0 == pending(client, unique, "pricing")


def test_another_consumer_claims_what_a_dead_consumer_left_pending(
    client: redis.Redis, unique: str, mix: Mix, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[dict[str, Any]] = []
    dead = consumer(client, unique, handled.append, name="pricing-dead")
    dead.ensure_group()
    publish_mix(client, unique, mix)
    client.xreadgroup("pricing", "pricing-dead", {unique: ">"}, count=5)  # read, then the process died
    survivor = consumer(client, unique, handled.append, name="pricing-2", claim_idle_ms=0)
    while survivor.process():
        pass
    handled_check(mix, handled)
    letter_check(mix, letters(client, f"{unique}.dead"))
    assert 0 == pending(client, unique, "pricing")


def test_a_failing_handler_leaves_the_entry_pending_and_it_is_retried(client: redis.Redis, unique: str) -> None:
    mix = make_mix(good=2, bad=0)
    calls: list[dict[str, Any]] = []

    def on_order(order: dict[str, Any]) -> None:
        calls.append(order)
        if len(calls) == 1:
            raise RuntimeError("pricing service down")

    guarded = consumer(client, unique, on_order)
    guarded.ensure_group()
    publish_mix(client, unique, mix)
    with pytest.raises(RuntimeError):
        guarded.process()
    assert 2 == pending(client, unique, "pricing")
    while guarded.process():
        pass
    assert [m.order_id for m in mix.good] == [order["orderId"] for order in calls[1:]]
    assert 0 == pending(client, unique, "pricing")


def test_an_entry_without_a_value_field_is_dead_lettered(client: redis.Redis, unique: str) -> None:
    guarded = consumer(client, unique, lambda order: None)
    guarded.ensure_group()
    client.xadd(unique, {"payload": b"{}"})
    guarded.process()
    ((_, fields),) = client.xrange(f"{unique}.dead")
    assert b"DecodeError" == fields[b"syscontract-error"]
    assert b"no-value" == fields[b"syscontract-error-reason"]
    assert b"{}" == fields[b"payload"]
    assert 0 == pending(client, unique, "pricing")


@pytest.mark.parametrize("protocol", [2, 3])
def test_an_entry_deleted_while_pending_is_acknowledged_with_a_warning(
    redis_server: str, client: redis.Redis, unique: str, protocol: int, caplog: pytest.LogCaptureFixture
) -> None:
    mix = make_mix(good=3, bad=0)
    reader = redis.Redis.from_url(redis_server, protocol=protocol)
    handled: list[dict[str, Any]] = []
    guarded = consumer(reader, unique, handled.append)
    guarded.ensure_group()
    publish_mix(client, unique, mix)
    read = client.xreadgroup("pricing", "pricing-1", {unique: ">"}, count=3)  # read, then the process died
    ((_, entries),) = read
    client.xdel(unique, entries[1][0])  # and the stream lost one of them before the restart
    with caplog.at_level("WARNING", logger="syscontract"):
        while guarded.process():
            pass
    reader.close()
    assert [mix.good[0].order_id, mix.good[2].order_id] == [order["orderId"] for order in handled]
    assert 0 == pending(client, unique, "pricing")  # nothing left pending for ever
    assert [] == client.xrange(f"{unique}.dead")  # a deleted entry is no violation
    (warned,) = [record.getMessage() for record in caplog.records if "deleted" in record.getMessage()]
    assert entries[1][0].decode() in warned


def test_a_client_that_decodes_responses_is_refused(redis_server: str, unique: str) -> None:
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    with pytest.raises(ContractDeclarationError, match="decode_responses=False"):
        consumer(client, unique, lambda order: None)
    client.close()


def test_the_asyncio_consumer_does_the_same(redis_server: str, unique: str, mix: Mix, client: redis.Redis) -> None:
    async def scenario() -> list[dict[str, Any]]:
        aclient = redis.asyncio.Redis.from_url(redis_server)
        handled: list[dict[str, Any]] = []

        async def on_order(order: dict[str, Any]) -> None:
            handled.append(order)

        guarded = consumer(aclient, unique, on_order)
        await guarded.ensure_group()
        for message in mix.messages:
            await publish_async(aclient, unique, message.value, message.headers)
        while await guarded.process():
            pass
        await aclient.aclose()
        return handled

    handled_check(mix, asyncio.run(scenario()))
    letter_check(mix, letters(client, f"{unique}.dead"))
    assert 0 == pending(client, unique, "pricing")


def test_the_consumer_span_continues_the_producer_trace(client: redis.Redis, unique: str, spans: Any) -> None:
    from opentelemetry.trace import SpanKind

    mix = make_mix(good=1, bad=1)
    guarded = consumer(client, unique, lambda order: None)
    guarded.ensure_group()
    with spans.provider.get_tracer("test").start_as_current_span("checkout"):
        publish_mix(client, unique, mix)
    while guarded.process():
        pass
    finished = spans.get_finished_spans()
    producers = [span for span in finished if span.kind is SpanKind.PRODUCER]
    consumers = [span for span in finished if span.kind is SpanKind.CONSUMER]
    assert 2 == len(producers) == len(consumers)
    for producer, consumed in zip(producers, consumers, strict=True):
        assert producer.context.span_id == consumed.parent.span_id
        assert "redis" == consumed.attributes["messaging.system"]
        assert unique == consumed.attributes["messaging.destination.name"]
        assert "pricing" == consumed.attributes["messaging.consumer.group.name"]
    assert ["ok", "violation"] == [span.attributes["syscontract.outcome"] for span in consumers]
