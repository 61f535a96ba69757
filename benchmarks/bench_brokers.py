"""Throughput through a real broker: a guarded handler against an unguarded one, same process, same run.

    python benchmarks/bench_brokers.py [--messages N] [--repeats R] [--broker nats|rabbitmq|redis ...]

Brokers: the servers of this machine (NATS JetStream 127.0.0.1:4222, RabbitMQ 127.0.0.1:5672, Redis
127.0.0.1:6379); a broker that does not answer is reported and skipped. Workload: N copies of the
reference order event (526 bytes of JSON, v3, with ``customerTier``), published once per run; then
consumed to the last acknowledgement by

- unguarded: the client's own idiomatic consumer, whose handler does ``json.loads`` and acknowledges;
- guarded: the syscontract integration (``nats.Guard``, ``rabbitmq.Guard``, ``redis.StreamConsumer``)
  with the critical fields ``orderId``, ``currency``, ``customer.customerTier``; its handler gets the
  decoded payload.

Both use the same connection settings and batch sizes; runs alternate (unguarded, guarded) ``R``
times and the best of each is kept. No OpenTelemetry SDK is installed, as in a service that has
not set one up. Reported: messages per second and guarded/unguarded. No figure is asserted by a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import syscontract

ROOT = Path(__file__).parent.parent
EVENT = (Path(__file__).parent / "data" / "order_event.json").read_bytes().strip()
FIELDS = ["orderId", "currency", "customer.customerTier"]
CONTRACT = "order.v3"
PORTS = {"nats": 4222, "rabbitmq": 5672, "redis": 6379}


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _compact(raw: bytes) -> bytes:
    return json.dumps(json.loads(raw), separators=(",", ":")).encode()


BODY = _compact(EVENT)


# -- NATS ------------------------------------------------------------------------------------------


def bench_nats(messages: int, guarded: bool) -> float:
    import nats

    from syscontract.integrations.nats import Guard

    async def run() -> float:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        name = f"bench-{uuid.uuid4().hex[:8]}"
        await js.add_stream(name=name, subjects=[f"{name}.>"])
        try:
            futures = [await js.publish_async(f"{name}.orders", BODY) for _ in range(messages)]
            await asyncio.gather(*futures)
            done = asyncio.Event()
            count = 0

            def on_order(order: Any) -> None:
                nonlocal count
                count += 1
                if count == messages:
                    done.set()

            if guarded:
                callback: Any = Guard(on_order, CONTRACT, FIELDS, js=js, dead_letter=f"{name}.dead", trace=False)
            else:

                async def callback(msg: Any) -> None:
                    on_order(json.loads(msg.data))
                    await msg.ack()

            start = time.perf_counter()
            await js.subscribe(f"{name}.orders", durable="bench", cb=callback, manual_ack=True, pending_msgs_limit=-1)
            await asyncio.wait_for(done.wait(), 60)
            elapsed = time.perf_counter() - start
            await nc.flush()
            return elapsed
        finally:
            await js.delete_stream(name)
            await nc.close()

    return asyncio.run(run())


# -- RabbitMQ --------------------------------------------------------------------------------------


def bench_rabbitmq(messages: int, guarded: bool) -> float:
    import pika

    from syscontract.integrations.rabbitmq import Guard

    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = connection.channel()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue)
    try:
        for _ in range(messages):
            channel.basic_publish("", queue, BODY)
        channel.basic_qos(prefetch_count=500)
        count = 0

        def on_order(order: Any) -> None:
            nonlocal count
            count += 1

        if guarded:
            callback: Any = Guard(on_order, CONTRACT, FIELDS, dead_letter=f"{queue}.dead", trace=False)
        else:

            def callback(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                on_order(json.loads(body))
                ch.basic_ack(method.delivery_tag)

        start = time.perf_counter()
        tag = channel.basic_consume(queue, callback)
        while count < messages:
            connection.process_data_events(time_limit=0.01)
        elapsed = time.perf_counter() - start
        channel.basic_cancel(tag)
        return elapsed
    finally:
        channel.queue_delete(queue)
        connection.close()


# -- Redis -----------------------------------------------------------------------------------------


def bench_redis(messages: int, guarded: bool) -> float:
    import redis

    from syscontract.integrations.redis import StreamConsumer

    client = redis.Redis(host="127.0.0.1", port=6379)
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        pipe = client.pipeline(transaction=False)
        for _ in range(messages):
            pipe.xadd(stream, {"value": BODY})
        pipe.execute()
        client.xgroup_create(stream, "bench", id="0")
        count = 0

        def on_order(order: Any) -> None:
            nonlocal count
            count += 1

        start = time.perf_counter()
        if guarded:
            consumer = StreamConsumer(
                client, stream, group="bench", consumer="c1", handler=on_order, contract=CONTRACT,
                fields=FIELDS, dead_letter=f"{stream}.dead", count=500, block_ms=100, trace=False,
            )  # fmt: skip
            while count < messages:
                consumer.process()
        else:
            while count < messages:
                reply = client.xreadgroup("bench", "c1", {stream: ">"}, count=500, block=100)
                for _, entries in reply:
                    for entry_id, fields in entries:
                        on_order(json.loads(fields[b"value"]))
                        client.xack(stream, "bench", entry_id)
        return time.perf_counter() - start
    finally:
        client.delete(stream, f"{stream}.dead")
        client.close()


BENCHES: dict[str, Callable[[int, bool], float]] = {
    "nats": bench_nats,
    "rabbitmq": bench_rabbitmq,
    "redis": bench_redis,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--broker", action="append", choices=sorted(BENCHES))
    args = parser.parse_args()
    syscontract.configure(registry=ROOT / "tests" / "data" / "contracts")
    print(f"{args.messages} messages of {len(BODY)} bytes per run, best of {args.repeats} alternating runs")
    print(f"{'broker':<10} {'unguarded msg/s':>16} {'guarded msg/s':>14} {'guarded/unguarded':>18}")
    for name in args.broker or list(BENCHES):
        if not _answers(PORTS[name]):
            print(f"{name:<10} (no server on 127.0.0.1:{PORTS[name]}: skipped)")
            continue
        bench = BENCHES[name]
        bench(min(200, args.messages), True)  # warm-up: connections, the checker's first call
        plain, checked = [], []
        for _ in range(args.repeats):
            plain.append(bench(args.messages, False))
            checked.append(bench(args.messages, True))
        unguarded = args.messages / min(plain)
        guarded = args.messages / min(checked)
        print(f"{name:<10} {unguarded:>16,.0f} {guarded:>14,.0f} {guarded / unguarded:>18.3f}")


if __name__ == "__main__":
    main()
