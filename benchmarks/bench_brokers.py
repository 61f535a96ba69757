"""Throughput through a real broker: each guard against the client's own unguarded consumer, same run.

    python benchmarks/bench_brokers.py [--messages N] [--repeats R] [--case CASE ...] [--scenario api|meter ...]
    python benchmarks/bench_brokers.py --profile [--case CASE ...]

Brokers: the servers of this machine (NATS JetStream 127.0.0.1:4222, RabbitMQ 127.0.0.1:5672, Redis
127.0.0.1:6379); a broker that does not answer is reported and skipped. Workload: N copies of the
reference order event (526 bytes of JSON, v3, with ``customerTier``; N scaled by batch size so that a
run lasts a few tenths of a second), published and stored before each run; then consumed to the last
acknowledgement by

- unguarded: the client's idiomatic consumer, whose handler does ``json.loads`` and acknowledges;
- guarded: the syscontract integration with its defaults (``nats.Guard``, ``rabbitmq.Guard`` for
  pika, ``rabbitmq.AsyncGuard`` for aio-pika, ``redis.StreamConsumer``), critical fields ``orderId``,
  ``currency``, ``customer.customerTier``, a dead-letter destination; its handler gets the payload.

Cases (the same connection settings and batch size on both sides): ``nats-push`` (a JetStream push
subscription with a callback), ``nats-fetch-B`` (a pull subscription, ``fetch(B)`` per batch),
``pika-B`` and ``aiopika-B`` (prefetch ``B``), ``redis-B`` (``XREADGROUP COUNT B``), for B in 1, 10,
100. Guards and consumers are built before the clock starts (their first message, which looks at
the OpenTelemetry providers and settles the generated code, is inside it). Runs alternate
(unguarded, guarded; the order flips every repeat) ``R`` times. Each scenario runs in its own
process: ``api``, no OpenTelemetry SDK (it is made unimportable); ``meter``, an SDK MeterProvider set
globally (messages are counted). Reported: messages per second of the best run of each side and
their ratio (the verdict), the median of the ratios of the runs paired in time (less sensitive to one
lucky run on a busy machine), and this process's CPU per message of the best run of each side. No
figure is asserted by a test.

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
import pstats
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from importlib.abc import MetaPathFinder
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent
EVENT = (Path(__file__).parent / "data" / "order_event.json").read_bytes().strip()
FIELDS = ["orderId", "currency", "customer.customerTier"]
CONTRACT = "order.v3"
PORTS = {"nats": 4222, "rabbitmq": 5672, "redis": 6379}
BATCHES = (1, 10, 100)
SCALE: dict[int | None, float] = {None: 4.0, 100: 2.0, 10: 1.0, 1: 0.2}
"""Messages per run, times ``--messages``, by batch size (None: NATS push): a run lasts a few tenths
of a second whatever the batch, long enough that one scheduling hiccup does not decide it."""
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
"""Seconds between the last message stored and the start of the clock: the broker is done with the
publishing (RabbitMQ is first waited for until the queue holds every message)."""


def _settle(stored: Callable[[], int], messages: int) -> None:
    while stored() < messages:
        time.sleep(0.05)
    time.sleep(SETTLE)


PROFILER: cProfile.Profile | None = None
"""Set by ``--profile``: enabled around the consuming phase of each run only."""


def _started() -> tuple[float, float]:
    # a collection of what earlier runs left (hundreds of guards' generated code, in one process)
    # must not land inside this run's clock
    gc.collect()
    if PROFILER is not None:
        PROFILER.enable()
    return time.perf_counter(), time.process_time()


def _elapsed(start: tuple[float, float]) -> tuple[float, float]:
    if PROFILER is not None:
        PROFILER.disable()
    return time.perf_counter() - start[0], time.process_time() - start[1]


class Counter:
    """The user's handler: counts what it gets, and says when the last one came."""

    def __init__(self, messages: int) -> None:
        self.messages = messages
        self.count = 0
        self.done: asyncio.Event | None = None

    def __call__(self, order: Any) -> None:
        self.count += 1
        if self.count == self.messages and self.done is not None:
            self.done.set()


# -- NATS JetStream --------------------------------------------------------------------------------


def bench_nats(messages: int, guarded: bool, batch: int | None) -> tuple[float, float]:
    """``batch`` None: a push subscription with a callback; else a pull subscription's fetch(batch)."""
    import nats

    from syscontract.integrations.nats import Guard

    async def run() -> tuple[float, float]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        name = f"bench-{uuid.uuid4().hex[:8]}"
        await js.add_stream(name=name, subjects=[f"{name}.>"])
        try:
            futures = [await js.publish_async(f"{name}.orders", BODY) for _ in range(messages)]
            await asyncio.gather(*futures)  # stored
            await asyncio.sleep(SETTLE)
            on_order = Counter(messages)
            on_order.done = asyncio.Event()
            if guarded:
                callback: Any = Guard(on_order, CONTRACT, FIELDS, js=js, dead_letter=f"{name}.dead")
            else:

                async def callback(msg: Any) -> None:
                    on_order(json.loads(msg.data))
                    await msg.ack()

            start = _started()
            if batch is None:
                await js.subscribe(
                    f"{name}.orders", durable="bench", cb=callback, manual_ack=True, pending_msgs_limit=-1
                )
                await asyncio.wait_for(on_order.done.wait(), 60)
            else:
                subscription = await js.pull_subscribe(f"{name}.orders", durable="bench")
                while on_order.count < messages:
                    for msg in await subscription.fetch(batch, timeout=5):
                        await callback(msg)
            await nc.flush()  # the last acknowledgements are on the wire
            return _elapsed(start)
        finally:
            await js.delete_stream(name)
            await nc.close()

    return asyncio.run(run())


# -- RabbitMQ: pika --------------------------------------------------------------------------------


def bench_pika(messages: int, guarded: bool, batch: int | None) -> tuple[float, float]:
    import pika

    from syscontract.integrations.rabbitmq import Guard

    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = connection.channel()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue)
    channel.queue_declare(f"{queue}.dead")
    try:
        for _ in range(messages):
            channel.basic_publish("", queue, BODY)
        _settle(lambda: channel.queue_declare(queue, passive=True).method.message_count, messages)
        channel.basic_qos(prefetch_count=batch or 0)
        on_order = Counter(messages)
        if guarded:
            callback: Any = Guard(on_order, CONTRACT, FIELDS, dead_letter=f"{queue}.dead")
        else:

            def callback(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                on_order(json.loads(body))
                ch.basic_ack(method.delivery_tag)

        start = _started()
        tag = channel.basic_consume(queue, callback)
        while on_order.count < messages:
            connection.process_data_events(time_limit=0.01)
        elapsed = _elapsed(start)
        channel.basic_cancel(tag)
        return elapsed
    finally:
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dead")
        connection.close()


# -- RabbitMQ: aio-pika ----------------------------------------------------------------------------


def bench_aiopika(messages: int, guarded: bool, batch: int | None) -> tuple[float, float]:
    import aio_pika

    from syscontract.integrations.rabbitmq import AsyncGuard

    async def run() -> tuple[float, float]:
        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/%2F")
        channel = await connection.channel()
        name = f"bench-{uuid.uuid4().hex[:8]}"
        queue = await channel.declare_queue(name)
        dead = await channel.declare_queue(f"{name}.dead")
        try:
            for _ in range(messages):
                await channel.default_exchange.publish(aio_pika.Message(BODY), routing_key=name)
            while (await channel.declare_queue(name, passive=True)).declaration_result.message_count < messages:
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE)
            await channel.set_qos(prefetch_count=batch or 0)
            on_order = Counter(messages)
            on_order.done = asyncio.Event()
            if guarded:
                callback: Any = AsyncGuard(on_order, CONTRACT, FIELDS, dead_letter=f"{name}.dead")
            else:

                async def callback(message: Any) -> None:
                    on_order(json.loads(message.body))
                    await message.ack()

            start = _started()
            tag = await queue.consume(callback)
            await asyncio.wait_for(on_order.done.wait(), 60)
            elapsed = _elapsed(start)
            await queue.cancel(tag)
            return elapsed
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await dead.delete(if_unused=False, if_empty=False)
            await connection.close()

    return asyncio.run(run())


# -- Redis Streams ---------------------------------------------------------------------------------


def bench_redis(messages: int, guarded: bool, batch: int | None) -> tuple[float, float]:
    import redis

    from syscontract.integrations.redis import StreamConsumer

    count = batch or 100
    client = redis.Redis(host="127.0.0.1", port=6379)
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        pipe = client.pipeline(transaction=False)
        for _ in range(messages):
            pipe.xadd(stream, {"value": BODY})
        pipe.execute()
        client.xgroup_create(stream, "bench", id="0")
        time.sleep(SETTLE)
        on_order = Counter(messages)
        consumer = StreamConsumer(
            client, stream, group="bench", consumer="c1", handler=on_order, contract=CONTRACT,
            fields=FIELDS, dead_letter=f"{stream}.dead", count=count, block_ms=100,
        )  # fmt: skip
        start = _started()  # built before the clock starts, as the other guards are
        if guarded:
            while on_order.count < messages:
                consumer.process()
        else:
            while on_order.count < messages:
                reply = client.xreadgroup("bench", "c1", {stream: ">"}, count=count, block=100)
                for _, entries in reply:
                    for entry_id, fields in entries:
                        on_order(json.loads(fields[b"value"]))
                        client.xack(stream, "bench", entry_id)
        return _elapsed(start)
    finally:
        client.delete(stream, f"{stream}.dead")
        client.close()


Bench = Callable[[int, bool, int | None], tuple[float, float]]
"""(messages, guarded, batch) -> (wall-clock seconds, this process's CPU seconds) to consume them."""
CLIENTS: dict[str, tuple[str, Bench]] = {
    "nats": ("nats", bench_nats),
    "pika": ("rabbitmq", bench_pika),
    "aiopika": ("rabbitmq", bench_aiopika),
    "redis": ("redis", bench_redis),
}


def cases() -> list[str]:
    found = ["nats-push"]
    for client in CLIENTS:
        found += [f"{client}-{'fetch-' if client == 'nats' else ''}{batch}" for batch in BATCHES]
    return found


def parse_case(case: str) -> tuple[str, Bench, int | None]:
    client, _, rest = case.partition("-")
    server, bench = CLIENTS[client]
    batch = None if rest == "push" else int(rest.rpartition("-")[2])
    return server, bench, batch


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


def measure(case: str, messages: int, repeats: int) -> dict[str, Any]:
    """One case: best of ``repeats`` alternating runs, in messages per second."""
    _, bench, batch = parse_case(case)
    messages = max(200, int(messages * SCALE[batch]))
    bench(min(200, messages), True, batch)  # warm-up: connections, the checker's first call
    bench(min(200, messages), False, batch)
    plain: list[tuple[float, float]] = []
    checked: list[tuple[float, float]] = []
    for repeat in range(repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for guarded in order:
            (checked if guarded else plain).append(bench(messages, guarded, batch))
    pairs = sorted(unguarded / guarded for (unguarded, _), (guarded, _) in zip(plain, checked, strict=True))
    return {
        "case": case,
        "messages": messages,
        "median_pair": pairs[len(pairs) // 2],
        "unguarded": messages / min(wall for wall, _ in plain),
        "guarded": messages / min(wall for wall, _ in checked),
        "cpu_unguarded": min(cpu for _, cpu in plain) / messages,
        "cpu_guarded": min(cpu for _, cpu in checked) / messages,
    }


def profile(case: str, messages: int, guarded: bool) -> str:
    """The consuming phase of one run under cProfile: syscontract's share of the own time, and the
    functions with the most own time."""
    global PROFILER
    _, bench, batch = parse_case(case)
    bench(min(200, messages), guarded, batch)
    PROFILER = cProfile.Profile()
    try:
        bench(messages, guarded, batch)
        stats = pstats.Stats(PROFILER, stream=io.StringIO())
    finally:
        PROFILER = None
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
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
    side = "guarded" if guarded else "unguarded"
    head = (
        f"{case}, {side}, {messages} messages: {total * 1e6 / messages:.1f} us/msg profiled, "
        f"syscontract's own {ours * 1e6 / messages:.2f} us/msg ({ours / total:.1%})"
    )
    own = [
        f"    {seconds * 1e6 / messages:6.2f} us/msg {calls:>7} calls  {where}" for seconds, calls, where in mine[:8]
    ]
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
        print(json.dumps(measure(case, args.messages, args.repeats)), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--case", action="append", choices=cases())
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        setup("api")
        for case in args.case or ["nats-push", "pika-100", "aiopika-100", "redis-100"]:
            print(profile(case, args.messages, True))
            print()
        return 0
    if args.child:
        args.scenario = args.scenario[0]
        return child(args)

    titles = {"api": "no OpenTelemetry SDK", "meter": "an SDK MeterProvider installed (messages counted)"}
    scales = ", ".join(
        f"{'push' if batch is None else batch}: {args.messages * scale:,.0f}" for batch, scale in SCALE.items()
    )
    print(f"messages of {len(BODY)} bytes per run by batch ({scales}); best of {args.repeats} alternating runs")
    for scenario in args.scenario or SCENARIOS:
        command = [sys.executable, __file__, "--child", "--scenario", scenario, "--messages", str(args.messages)]
        command += ["--repeats", str(args.repeats)] + [f"--case={case}" for case in args.case or ()]
        print()
        print(f"({scenario}) {titles[scenario]}")
        print(
            f"  {'case':<14} {'unguarded msg/s':>16} {'guarded msg/s':>14} {'guarded/unguarded':>18}"
            f" {'median of pairs':>16} {'consumer CPU us/msg':>20}"
        )
        worst = None
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            for line in process.stdout:
                row = json.loads(line)
                if "skipped" in row:
                    print(f"  {row['case']:<14} ({row['skipped']}: skipped)")
                    continue
                ratio = row["guarded"] / row["unguarded"]
                worst = ratio if worst is None else min(worst, ratio)
                cpu = f"{row['cpu_unguarded'] * 1e6:.1f} / {row['cpu_guarded'] * 1e6:.1f}"
                print(
                    f"  {row['case']:<14} {row['unguarded']:>16,.0f} {row['guarded']:>14,.0f} {ratio:>18.3f}"
                    f" {row['median_pair']:>16.3f} {cpu:>20}"
                )
        if process.returncode != 0:
            return process.returncode
        if worst is not None:
            print(f"  lowest ratio {worst:.3f} (budget >= 0.95: {'met' if worst >= 0.95 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
