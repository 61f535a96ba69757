"""Throughput through a real broker: each guard against the client's own unguarded consumer, interleaved.

    python benchmarks/bench_brokers.py [--messages N] [--repeats R] [--case CASE ...] [--scenario api|meter ...]
    python benchmarks/bench_brokers.py --control [...]
    python benchmarks/bench_brokers.py --profile [--case CASE ...]

Brokers: the servers of this machine (NATS JetStream 127.0.0.1:4222, RabbitMQ 127.0.0.1:5672, Redis
127.0.0.1:6379); a broker that does not answer is reported and skipped. Workload: N copies of the
reference order event (526 bytes of JSON, v3, with ``customerTier``; N scaled by batch size so that a
side's share of a trial lasts a few tenths of a second), consumed to the last acknowledgement by

- unguarded: the client's idiomatic consumer, whose handler does ``json.loads`` and acknowledges;
- guarded: the syscontract integration with its defaults (``nats.Guard``, ``rabbitmq.Guard`` for
  pika, ``rabbitmq.AsyncGuard`` for aio-pika, ``redis.StreamConsumer``), critical fields ``orderId``,
  ``currency``, ``customer.customerTier``, a dead-letter destination; its handler gets the payload.

Cases (the same connection settings and batch size on both sides): ``nats-push`` (a JetStream push
subscription with a callback), ``nats-fetch-B`` (a pull subscription, ``fetch(B)`` per batch),
``pika-B`` and ``aiopika-B`` (prefetch ``B``), ``redis-B`` (``XREADGROUP COUNT B``), for B in 1, 10,
100.

How a trial runs: both sides get their own connection and their own stream or queue, each loaded with
the N messages and subscribed before the clock starts (an asyncio client gets its own event loop, so
that one side's loop stands still while the other runs). Then the two consume in turns of N/20
messages (unguarded then guarded, the order flipping every turn), each turn timed on its own: a
drift of the machine's speed over a trial (other tenants, frequency, the servers' own work) falls
on both sides alike, which whole runs one after the other cannot promise on a shared 2-core
machine. The guard's first message, which looks at the OpenTelemetry providers and settles the
generated code, is inside the clock. A trial's ratio is the unguarded side's time over the guarded
side's (guarded throughput / unguarded throughput). Trials come in pairs that build the two sides in
both orders (the side built second ran 5-7% slower in A/A trials of aio-pika at prefetch 10, whatever
it ran); a pair's ratio is the geometric mean of its two, in which such a bias cancels. ``R`` pairs,
fresh sides each trial. Each scenario runs in its own process: ``api``, no OpenTelemetry SDK (it is
made unimportable); ``meter``, an SDK MeterProvider set globally (messages are counted). Reported per
case: both sides' messages per second over all trials, the median of the pairs' ratios (the verdict)
and the lowest, and this process's CPU per message on each side. ``--control`` runs the same
trials with both sides unguarded (A/A): the ratios it prints are the harness's own spread.
No figure is asserted by a test.

``--profile``: the guarded consumer of each case under cProfile (no SDK), the functions with the
most own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import math
import pstats
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
EVENT = (Path(__file__).parent / "data" / "order_event.json").read_bytes().strip()
FIELDS = ["orderId", "currency", "customer.customerTier"]
CONTRACT = "order.v3"
PORTS = {"nats": 4222, "rabbitmq": 5672, "redis": 6379}
BATCHES = (1, 10, 100)
SCALE: dict[int | None, float] = {None: 4.0, 100: 2.0, 10: 1.0, 1: 0.4}
"""Messages per trial, times ``--messages``, by batch size (None: NATS push): a side's share lasts a
few tenths of a second whatever the batch."""
TURNS = 20
"""Turns per side and trial: each turn consumes N/TURNS messages (a multiple of the batch)."""
SCENARIOS = ("api", "meter")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _compact(raw: bytes) -> bytes:
    return json.dumps(json.loads(raw), separators=(",", ":")).encode()


BODY = _compact(EVENT)


SETTLE = 0.2
"""Seconds between the last message stored and the first turn: the broker is done with the
publishing (RabbitMQ is first waited for until the queue holds every message)."""


class Counter:
    """The user's handler: counts what it gets, and says when a goal is reached."""

    def __init__(self) -> None:
        self.count = 0
        self.goal = 0
        self.reached: asyncio.Event | None = None

    def __call__(self, order: Any) -> None:
        self.count += 1
        if self.count >= self.goal and self.reached is not None:
            self.reached.set()

    async def wait(self, goal: int) -> None:
        """Until ``goal`` messages have been handled (they arrive through the client's own tasks)."""
        self.goal = goal
        if self.count < goal:
            self.reached = asyncio.Event()
            await asyncio.wait_for(self.reached.wait(), 60)
            self.reached = None


class Side:
    """One consumer of a trial, on its own connection and stream or queue, loaded and subscribed:
    ``until(goal)`` consumes until its handler has had ``goal`` messages in all."""

    def __init__(self, messages: int, guarded: bool, batch: int | None) -> None:
        self.messages = messages
        self.guarded = guarded
        self.batch = batch
        self.on_order = Counter()
        self.name = f"bench-{uuid.uuid4().hex[:8]}"

    def until(self, goal: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class AsyncSide(Side):
    """A side on an asyncio client: its own event loop, which runs only during its turns."""

    def __init__(self, messages: int, guarded: bool, batch: int | None) -> None:
        super().__init__(messages, guarded, batch)
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self.open())
        except BaseException:
            self.loop.close()
            raise

    async def open(self) -> None:
        raise NotImplementedError

    async def consume(self, goal: int) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def until(self, goal: int) -> None:
        self.loop.run_until_complete(self.consume(goal))

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.aclose())
        finally:
            self.loop.close()


# -- NATS JetStream --------------------------------------------------------------------------------


class NatsSide(AsyncSide):
    """``batch`` None: a push subscription with a callback; else a pull subscription's fetch(batch)."""

    async def open(self) -> None:
        import nats

        from syscontract.integrations.nats import Guard

        self.nc = await nats.connect("nats://127.0.0.1:4222")
        self.js = self.nc.jetstream()
        await self.js.add_stream(name=self.name, subjects=[f"{self.name}.>"])
        futures = [await self.js.publish_async(f"{self.name}.orders", BODY) for _ in range(self.messages)]
        await asyncio.gather(*futures)  # stored
        await asyncio.sleep(SETTLE)
        if self.guarded:
            self.callback: Any = Guard(self.on_order, CONTRACT, FIELDS, js=self.js, dead_letter=f"{self.name}.dead")
        else:
            on_order = self.on_order

            async def callback(msg: Any) -> None:
                on_order(json.loads(msg.data))
                await msg.ack()

            self.callback = callback
        if self.batch is None:
            await self.js.subscribe(
                f"{self.name}.orders", durable="bench", cb=self.callback, manual_ack=True, pending_msgs_limit=-1
            )
        else:
            self.subscription = await self.js.pull_subscribe(f"{self.name}.orders", durable="bench")

    async def consume(self, goal: int) -> None:
        if self.batch is None:
            await self.on_order.wait(goal)
        else:
            while self.on_order.count < goal:
                for msg in await self.subscription.fetch(self.batch, timeout=5):
                    await self.callback(msg)
        if goal >= self.messages:
            await self.nc.flush()  # the last acknowledgements are on the wire

    async def aclose(self) -> None:
        try:
            await self.js.delete_stream(self.name)
        finally:
            await self.nc.close()


# -- RabbitMQ: pika --------------------------------------------------------------------------------


class PikaSide(Side):
    def __init__(self, messages: int, guarded: bool, batch: int | None) -> None:
        super().__init__(messages, guarded, batch)
        import pika

        from syscontract.integrations.rabbitmq import Guard

        self.connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        self.channel = self.connection.channel()
        self.channel.queue_declare(self.name)
        self.channel.queue_declare(f"{self.name}.dead")
        for _ in range(messages):
            self.channel.basic_publish("", self.name, BODY)
        while self.channel.queue_declare(self.name, passive=True).method.message_count < messages:
            time.sleep(0.05)
        time.sleep(SETTLE)
        self.channel.basic_qos(prefetch_count=batch or 0)
        on_order = self.on_order
        if guarded:
            callback: Any = Guard(on_order, CONTRACT, FIELDS, dead_letter=f"{self.name}.dead")
        else:

            def callback(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                on_order(json.loads(body))
                ch.basic_ack(method.delivery_tag)

        self.tag = self.channel.basic_consume(self.name, callback)

    def until(self, goal: int) -> None:
        while self.on_order.count < goal:
            self.connection.process_data_events(time_limit=0.01)

    def close(self) -> None:
        try:
            self.channel.basic_cancel(self.tag)
            self.channel.queue_delete(self.name)
            self.channel.queue_delete(f"{self.name}.dead")
        finally:
            self.connection.close()


# -- RabbitMQ: aio-pika ----------------------------------------------------------------------------


class AioPikaSide(AsyncSide):
    async def open(self) -> None:
        import aio_pika

        from syscontract.integrations.rabbitmq import AsyncGuard

        self.connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/%2F")
        channel = await self.connection.channel()
        self.queue = await channel.declare_queue(self.name)
        self.dead = await channel.declare_queue(f"{self.name}.dead")
        for _ in range(self.messages):
            await channel.default_exchange.publish(aio_pika.Message(BODY), routing_key=self.name)
        while (await channel.declare_queue(self.name, passive=True)).declaration_result.message_count < self.messages:
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE)
        await channel.set_qos(prefetch_count=self.batch or 0)
        on_order = self.on_order
        if self.guarded:
            callback: Any = AsyncGuard(on_order, CONTRACT, FIELDS, dead_letter=f"{self.name}.dead")
        else:

            async def callback(message: Any) -> None:
                on_order(json.loads(message.body))
                await message.ack()

        self.tag = await self.queue.consume(callback)

    async def consume(self, goal: int) -> None:
        await self.on_order.wait(goal)

    async def aclose(self) -> None:
        try:
            await self.queue.cancel(self.tag)
            await self.queue.delete(if_unused=False, if_empty=False)
            await self.dead.delete(if_unused=False, if_empty=False)
        finally:
            await self.connection.close()


# -- Redis Streams ---------------------------------------------------------------------------------


class RedisSide(Side):
    def __init__(self, messages: int, guarded: bool, batch: int | None) -> None:
        super().__init__(messages, guarded, batch)
        import redis

        from syscontract.integrations.redis import StreamConsumer

        self.count = batch or 100
        self.client = redis.Redis(host="127.0.0.1", port=6379)
        pipe = self.client.pipeline(transaction=False)
        for _ in range(messages):
            pipe.xadd(self.name, {"value": BODY})
        pipe.execute()
        self.client.xgroup_create(self.name, "bench", id="0")
        time.sleep(SETTLE)
        self.consumer = StreamConsumer(
            self.client, self.name, group="bench", consumer="c1", handler=self.on_order, contract=CONTRACT,
            fields=FIELDS, dead_letter=f"{self.name}.dead", count=self.count, block_ms=100,
        ) if guarded else None  # fmt: skip

    def until(self, goal: int) -> None:
        on_order = self.on_order
        if self.consumer is not None:
            while on_order.count < goal:
                self.consumer.process()
            return
        client, stream, count = self.client, self.name, self.count
        while on_order.count < goal:
            reply = client.xreadgroup("bench", "c1", {stream: ">"}, count=count, block=100)
            for _, entries in reply:
                for entry_id, fields in entries:
                    on_order(json.loads(fields[b"value"]))
                    client.xack(stream, "bench", entry_id)

    def close(self) -> None:
        try:
            self.client.delete(self.name, f"{self.name}.dead")
        finally:
            self.client.close()


CLIENTS: dict[str, tuple[str, type[Side]]] = {
    "nats": ("nats", NatsSide),
    "pika": ("rabbitmq", PikaSide),
    "aiopika": ("rabbitmq", AioPikaSide),
    "redis": ("redis", RedisSide),
}


def cases() -> list[str]:
    found = ["nats-push"]
    for client in CLIENTS:
        found += [f"{client}-{'fetch-' if client == 'nats' else ''}{batch}" for batch in BATCHES]
    return found


def parse_case(case: str) -> tuple[str, type[Side], int | None]:
    client, _, rest = case.partition("-")
    server, side = CLIENTS[client]
    batch = None if rest == "push" else int(rest.rpartition("-")[2])
    return server, side, batch


class _NoSdk(MetaPathFinder):
    """Makes ``opentelemetry.sdk`` unimportable, as if only opentelemetry-api were installed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> None:
        if fullname == "opentelemetry.sdk" or fullname.startswith("opentelemetry.sdk."):
            raise ImportError(f"{fullname} is blocked: this scenario has the OpenTelemetry API only")
        return None


def setup(scenario: str) -> None:
    import syscontract

    if scenario == "api":
        sys.meta_path.insert(0, _NoSdk())
    else:
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    syscontract.configure(registry=ROOT / "tests" / "data" / "contracts")


def trial_size(messages: int, batch: int | None) -> tuple[int, int]:
    """(messages per side, messages per turn) for one trial: whole batches, TURNS turns a side."""
    step = batch or 1
    turn = max(step, round(messages * SCALE[batch] / TURNS / step) * step)
    return turn * TURNS, turn


def trial(case: str, messages: int, first: bool = False, control: bool = False) -> dict[bool, tuple[float, float]]:
    """Both sides of one trial, in alternating turns: each side's total (wall, CPU) seconds. ``first``:
    the side built first. ``control``: the guarded side is unguarded too (an A/A trial)."""
    _, side, batch = parse_case(case)
    total, turn = trial_size(messages, batch)
    sides: dict[bool, Side] = {}
    try:
        for guarded in (first, not first):
            sides[guarded] = side(total, guarded and not control, batch)
        spent = {False: [0.0, 0.0], True: [0.0, 0.0]}
        gc.collect()  # what earlier trials left must not be collected inside this one's clock
        goal = 0
        while goal < total:
            goal += turn
            for guarded in (False, True) if goal // turn % 2 else (True, False):
                wall, cpu = time.perf_counter(), time.process_time()
                sides[guarded].until(goal)
                spent[guarded][0] += time.perf_counter() - wall
                spent[guarded][1] += time.process_time() - cpu
        for guarded, consumer in sides.items():
            if consumer.on_order.count != total:  # pragma: no cover - a broker that lost or doubled messages
                raise RuntimeError(f"{case}: the {'guarded' if guarded else 'unguarded'} side handled "
                                   f"{consumer.on_order.count} of {total} messages")  # fmt: skip
        return {guarded: (wall, cpu) for guarded, (wall, cpu) in spent.items()}
    finally:
        for consumer in sides.values():
            consumer.close()


def measure(case: str, messages: int, repeats: int, control: bool = False) -> dict[str, Any]:
    """One case: ``repeats`` pairs of interleaved trials after a warm-up trial. The two trials of a
    pair build the sides in both orders (the side built second can be the slower one whatever it
    runs: aio-pika at prefetch 10 showed 0.93-0.95 in A/A trials), and the pair's ratio is the
    geometric mean of its two, in which such a bias cancels."""
    _, _, batch = parse_case(case)
    total, _ = trial_size(messages, batch)
    trial(case, max(1, messages // 10))  # warm-up: imports, connections, the first guard's code
    runs = [trial(case, messages, first, control) for _ in range(repeats) for first in (False, True)]
    ratios = sorted(
        math.sqrt(one[False][0] / one[True][0] * other[False][0] / other[True][0])
        for one, other in zip(runs[::2], runs[1::2], strict=True)
    )
    consumed = total * len(runs)
    return {
        "case": case,
        "messages": total,
        "ratio": statistics.median(ratios),
        "lowest": ratios[0],
        "unguarded": consumed / sum(run[False][0] for run in runs),
        "guarded": consumed / sum(run[True][0] for run in runs),
        "cpu_unguarded": sum(run[False][1] for run in runs) / consumed,
        "cpu_guarded": sum(run[True][1] for run in runs) / consumed,
    }


def profile(case: str, messages: int) -> str:
    """The guarded side of one trial under cProfile: syscontract's share of the own time, and the
    functions with the most own time."""
    _, side, batch = parse_case(case)
    total, _ = trial_size(messages, batch)
    consumer = side(total, True, batch)
    profiler = cProfile.Profile()
    try:
        gc.collect()
        profiler.enable()
        consumer.until(total)
        profiler.disable()
    finally:
        consumer.close()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    spent = sum(entry[2] for entry in table.values())
    ours = sum(entry[2] for (path, _, _), entry in table.items() if "syscontract" in path)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(12)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(index for index, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    mine = sorted(
        ((entry[2], entry[1], f"{Path(path).name}:{line}({name})") for (path, line, name), entry in table.items()
         if "syscontract" in path),
        reverse=True,
    )  # fmt: skip
    head = (
        f"{case}, guarded, {total} messages: {spent * 1e6 / total:.1f} us/msg profiled, "
        f"syscontract's own {ours * 1e6 / total:.2f} us/msg ({ours / spent:.1%})"
    )
    own = [f"    {seconds * 1e6 / total:6.2f} us/msg {calls:>7} calls  {where}" for seconds, calls, where in mine[:8]]
    return "\n".join(
        [head, *(line.replace(str(ROOT) + "/", "") for line in lines[start:]), "  syscontract's own time:", *own]
    )


def child(args: argparse.Namespace) -> int:
    setup(args.scenario)
    for case in args.case or cases():
        server = parse_case(case)[0]
        if not _answers(PORTS[server]):
            print(json.dumps({"case": case, "skipped": f"no server on 127.0.0.1:{PORTS[server]}"}), flush=True)
            continue
        print(json.dumps(measure(case, args.messages, args.repeats, args.control)), flush=True)
    return 0


def print_rows(command: list[str]) -> tuple[int, float | None]:
    """Run a scenario's child (``command``) and print its table as its rows arrive; its exit code and
    the lowest guarded/unguarded ratio (None: every case skipped)."""
    print(
        f"  {'case':<14} {'unguarded msg/s':>16} {'guarded msg/s':>14} {'guarded/unguarded':>18}"
        f" {'lowest pair':>13} {'consumer CPU us/msg':>20}"
    )
    worst = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            row = json.loads(line)
            if "skipped" in row:
                print(f"  {row['case']:<14} ({row['skipped']}: skipped)")
                continue
            worst = row["ratio"] if worst is None else min(worst, row["ratio"])
            cpu = f"{row['cpu_unguarded'] * 1e6:.1f} / {row['cpu_guarded'] * 1e6:.1f}"
            print(
                f"  {row['case']:<14} {row['unguarded']:>16,.0f} {row['guarded']:>14,.0f} {row['ratio']:>18.3f}"
                f" {row['lowest']:>13.3f} {cpu:>20}"
            )
    return process.returncode, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--case", action="append", choices=cases())
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--control", action="store_true", help="A/A: both sides unguarded, to show the harness's own spread"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        setup("api")
        for case in args.case or ["nats-push", "pika-100", "aiopika-100", "redis-100"]:
            print(profile(case, args.messages))
            print()
        return 0
    if args.child:
        args.scenario = args.scenario[0]
        return child(args)

    titles = {"api": "no OpenTelemetry SDK", "meter": "an SDK MeterProvider installed (messages counted)"}
    sizes = ", ".join(
        f"{'push' if batch is None else batch}: {trial_size(args.messages, batch)[0]:,}" for batch in SCALE
    )
    print(
        f"messages of {len(BODY)} bytes per side and trial by batch ({sizes}), in {TURNS} alternating turns "
        f"a side; {args.repeats} pairs of trials"
    )
    for scenario in args.scenario or SCENARIOS:
        command = [sys.executable, __file__, "--child", "--scenario", scenario, "--messages", str(args.messages)]
        command += ["--repeats", str(args.repeats)] + [f"--case={case}" for case in args.case or ()]
        command += ["--control"] if args.control else []
        print()
        print(f"({scenario}) {titles[scenario]}{'; CONTROL: both sides unguarded' if args.control else ''}")
        returncode, worst = print_rows(command)
        if returncode != 0:
            return returncode
        if worst is not None:
            verdict = "met" if worst >= 0.95 else "MISSED"
            print(f"  lowest ratio {worst:.3f} (budget >= 0.95: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
