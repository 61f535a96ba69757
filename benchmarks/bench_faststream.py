"""Throughput of a guarded FastStream subscriber against the same subscriber unguarded, interleaved.

    python benchmarks/bench_faststream.py [--messages N] [--repeats R] [--case CASE ...] [--scenario api|meter ...]
    python benchmarks/bench_faststream.py --control [...]

The method is bench_brokers.py's (its trials, pairs, turns and verdict are reused from it): both sides
get their own FastStream broker, connection, event loop and stream or queue, loaded with the N
reference order events (526 bytes of JSON) before the clock starts, then consume in alternating turns,
each timed on its own; a pair of trials builds the sides in both orders and its ratio is the geometric
mean of the two (guarded throughput / unguarded throughput). Each scenario runs in its own process:
``api`` (no OpenTelemetry SDK) and ``meter`` (an SDK MeterProvider, messages counted).

- unguarded: ``@broker.subscriber(...)`` over ``async def on_order(order: dict)``: FastStream decodes
  the JSON and validates the ``dict`` annotation, the handler counts, FastStream acknowledges;
- guarded: the same subscriber under ``guard("order.v3", ["orderId", "currency",
  "customer.customerTier"], dead_letter=broker.publisher(...))``: syscontract decodes and checks the
  original bytes, the handler gets the payload.

Cases: ``fsnats-B`` (a JetStream pull subscriber, ``PullSub(batch_size=B)``), ``fsrabbit-B`` (a queue
consumed with ``Channel(prefetch_count=B)``), ``fsredis-B`` (a stream's consumer group,
``StreamSub(max_records=B)``), for B in 1, 10, 100. No figure is asserted by a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_brokers as bb

CONTRACT, FIELDS, BODY = bb.CONTRACT, bb.FIELDS, bb.BODY


class FastStreamSide(bb.AsyncSide):
    """One side: a FastStream broker whose only subscriber consumes this side's stream or queue."""

    async def open(self) -> None:
        from syscontract.integrations.faststream import guard

        await self.load()
        self.broker = self.make_broker()
        counter = self.on_order

        async def on_order(order: dict[str, Any]) -> None:
            counter(order)

        subscribed = self.subscriber()(on_order)
        if self.guarded:
            guard(CONTRACT, FIELDS, dead_letter=self.dead_letters())(subscribed)
        await self.broker.start()  # the last step: its consumers run only in this side's turns

    async def consume(self, goal: int) -> None:
        await self.on_order.wait(goal)

    async def aclose(self) -> None:
        try:
            await self.broker.stop()
        finally:
            await self.clean()

    def make_broker(self) -> Any:
        raise NotImplementedError

    async def load(self) -> None:
        raise NotImplementedError

    def subscriber(self) -> Any:
        raise NotImplementedError

    def dead_letters(self) -> Any:
        raise NotImplementedError

    async def clean(self) -> None:
        raise NotImplementedError


class NatsSide(FastStreamSide):
    async def load(self) -> None:
        import nats

        self.nc = await nats.connect("nats://127.0.0.1:4222")
        self.js = self.nc.jetstream()
        await self.js.add_stream(name=self.name, subjects=[f"{self.name}.>"])
        futures = [await self.js.publish_async(f"{self.name}.orders", BODY) for _ in range(self.messages)]
        await asyncio.gather(*futures)
        await asyncio.sleep(bb.SETTLE)

    def make_broker(self) -> Any:
        from faststream.nats import NatsBroker

        return NatsBroker("nats://127.0.0.1:4222", logger=None)

    def subscriber(self) -> Any:
        from faststream.nats import JStream, PullSub

        return self.broker.subscriber(
            f"{self.name}.orders",
            stream=JStream(self.name, declare=False),
            pull_sub=PullSub(batch_size=self.batch or 1, timeout=0.1),
            durable="bench",
        )

    def dead_letters(self) -> Any:
        return self.broker.publisher(f"{self.name}.dead", stream=self.name)

    async def clean(self) -> None:
        try:
            await self.js.delete_stream(self.name)
        finally:
            await self.nc.close()


class RabbitSide(FastStreamSide):
    async def load(self) -> None:
        import aio_pika

        self.connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/%2F")
        channel = await self.connection.channel()
        self.queue = await channel.declare_queue(self.name)
        self.dead = await channel.declare_queue(f"{self.name}.dead")
        for _ in range(self.messages):
            await channel.default_exchange.publish(aio_pika.Message(BODY), routing_key=self.name)
        while (await channel.declare_queue(self.name, passive=True)).declaration_result.message_count < self.messages:
            await asyncio.sleep(0.05)
        await asyncio.sleep(bb.SETTLE)

    def make_broker(self) -> Any:
        from faststream.rabbit import RabbitBroker

        return RabbitBroker("amqp://guest:guest@127.0.0.1:5672/%2F", logger=None)

    def subscriber(self) -> Any:
        from faststream.rabbit import Channel, RabbitQueue

        return self.broker.subscriber(
            RabbitQueue(self.name, declare=False), channel=Channel(prefetch_count=self.batch or 0)
        )

    def dead_letters(self) -> Any:
        from faststream.rabbit import RabbitQueue

        return self.broker.publisher(RabbitQueue(f"{self.name}.dead", declare=False))

    async def clean(self) -> None:
        try:
            await self.queue.delete(if_unused=False, if_empty=False)
            await self.dead.delete(if_unused=False, if_empty=False)
        finally:
            await self.connection.close()


class RedisSide(FastStreamSide):
    async def load(self) -> None:
        import redis.asyncio as aioredis
        from faststream.redis.parser import BinaryMessageFormatV1

        self.client = aioredis.Redis(host="127.0.0.1", port=6379)
        envelope = await BinaryMessageFormatV1.encode(
            message=BODY, reply_to=None, headers={}, correlation_id="bench"
        )  # what a FastStream producer writes
        pipe = self.client.pipeline(transaction=False)
        for _ in range(self.messages):
            pipe.xadd(self.name, {"__data__": envelope})
        await pipe.execute()
        await self.client.xgroup_create(self.name, "bench", id="0")
        await asyncio.sleep(bb.SETTLE)

    def make_broker(self) -> Any:
        from faststream.redis import RedisBroker

        return RedisBroker("redis://127.0.0.1:6379", logger=None)

    def subscriber(self) -> Any:
        from faststream.redis import StreamSub

        return self.broker.subscriber(
            stream=StreamSub(self.name, group="bench", consumer="c1", max_records=self.batch or 1)
        )

    def dead_letters(self) -> Any:
        return self.broker.publisher(stream=f"{self.name}.dead")

    async def clean(self) -> None:
        try:
            await self.client.delete(self.name, f"{self.name}.dead")
        finally:
            await self.client.aclose()


bb.CLIENTS.clear()
bb.CLIENTS.update({"fsnats": ("nats", NatsSide), "fsrabbit": ("rabbitmq", RabbitSide), "fsredis": ("redis", RedisSide)})


def cases() -> list[str]:
    return [f"{client}-{batch}" for client in bb.CLIENTS for batch in bb.BATCHES]


def child(args: argparse.Namespace) -> int:
    bb.setup(args.scenario)
    for case in args.case or cases():
        server = bb.parse_case(case)[0]
        if not bb._answers(bb.PORTS[server]):
            print(json.dumps({"case": case, "skipped": f"no server on 127.0.0.1:{bb.PORTS[server]}"}), flush=True)
            continue
        print(json.dumps(bb.measure(case, args.messages, args.repeats, args.control)), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--case", action="append", choices=cases())
    parser.add_argument("--scenario", action="append", choices=bb.SCENARIOS)
    parser.add_argument("--control", action="store_true", help="A/A: both sides unguarded (the harness's spread)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.scenario = args.scenario[0]
        return child(args)
    titles = {"api": "no OpenTelemetry SDK", "meter": "an SDK MeterProvider installed (messages counted)"}
    sizes = ", ".join(f"{batch}: {bb.trial_size(args.messages, batch)[0]:,}" for batch in bb.BATCHES)
    print(
        f"FastStream subscribers, messages of {len(BODY)} bytes per side and trial by batch ({sizes}), in "
        f"{bb.TURNS} alternating turns a side; {args.repeats} pairs of trials"
    )
    worst = None
    for scenario in args.scenario or bb.SCENARIOS:
        command = [sys.executable, __file__, "--child", "--scenario", scenario, "--messages", str(args.messages)]
        command += ["--repeats", str(args.repeats)] + [f"--case={case}" for case in args.case or ()]
        command += ["--control"] if args.control else []
        print()
        print(f"({scenario}) {titles[scenario]}{'; CONTROL: both sides unguarded' if args.control else ''}")
        started = time.perf_counter()
        returncode, lowest = bb.print_rows(command)
        if returncode != 0:
            return returncode
        if lowest is not None:
            worst = lowest if worst is None else min(worst, lowest)
        print(f"  ({time.perf_counter() - started:.0f} s)")
    if worst is not None:
        print(f"lowest ratio {worst:.3f} (budget >= 0.95: {'met' if worst >= 0.95 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
