"""Memory over a long run: caches keyed by wire data stay within their bounds.

    python benchmarks/bench_memory.py [--messages 1000000] [--writers 100000] [--checks 1000000]

Sends MESSAGES Confluent-framed order events through one ``@requires`` handler, the writer schema id
rotating over WRITERS distinct ids (all registered, so every id is a valid writer the checker has to
plan for), and prints the memory tracemalloc sees at intervals, with the sizes of the per-writer
tables. The run passes when memory after the first interval stays flat (within 1 MiB) and no table
exceeds its bound (``syscontract._engine.decoder.MAX_WRITERS``).

Then CHECKS ``syscontract.check()`` calls with rotating field lists (nine in ten from 500 hot lists, one
in ten from 10,126 cold ones, so the bounded cache of checkers keeps evicting), printing memory, the
cache's size and the generated sources linecache holds: they must stay flat too (an evicted checker
releases its source).
"""

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import syscontract
from syscontract import MemoryRegistry, requires
from syscontract._engine.decoder import MAX_WRITERS
from syscontract.wire import avro, confluent

DATA = Path(__file__).parent / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=1_000_000)
    args = parser.parse_args()
    writers_ok = writers(args)
    checks_ok = checks(args.checks) if args.checks else True
    return 0 if writers_ok and checks_ok else 1


def writers(args: argparse.Namespace) -> bool:

    event = json.loads((DATA / "order_event.json").read_text())
    contract = syscontract.Contract.from_avro("order.v3", (DATA / "order.v3.avsc").read_text())
    registry = MemoryRegistry()
    for schema_id in range(args.writers):
        registry.add(contract, schema_id=schema_id, replace=True)
    body = avro.encode(event, contract.native)
    frames = [confluent.encode(schema_id, body) for schema_id in range(args.writers)]
    received = 0

    def handler(order: dict) -> None:
        nonlocal received
        received += 1

    guarded = requires(contract, ["orderId", "currency", "customer.customerTier"], registry=registry)(handler)
    decoder = guarded.__syscontract__.checker.decoder
    interval = max(1, args.messages // 10)
    tracemalloc.start()
    samples = []
    started = time.perf_counter()
    for index in range(args.messages):
        guarded(frames[index % args.writers])
        if (index + 1) % interval == 0:
            current, _ = tracemalloc.get_traced_memory()
            samples.append((index + 1, current, len(decoder._plans), len(decoder.fast_avro)))
    elapsed = time.perf_counter() - started
    tracemalloc.stop()

    python = sys.version.split()[0]
    print(f"Python {python}; {args.messages} messages over {args.writers} writer ids in {elapsed:.1f} s")
    print(f"{'messages':>10}  {'traced MiB':>10}  {'writer plans':>12}  {'fast table':>10}")
    for count, current, plans, fast in samples:
        print(f"{count:>10}  {current / 2**20:>10.2f}  {plans:>12}  {fast:>10}")
    growth = samples[-1][1] - samples[0][1]
    bounded = all(plans <= MAX_WRITERS and fast <= MAX_WRITERS for _, _, plans, fast in samples)
    flat = abs(growth) < 2**20
    print(f"growth after the first interval: {growth / 2**10:.1f} KiB ({'flat' if flat else 'GROWING'}); "
          f"tables within {MAX_WRITERS}: {'yes' if bounded else 'NO'}; handled {received}")  # fmt: skip
    return flat and bounded and received == args.messages


def checks(count: int) -> bool:
    import gc
    import importlib
    import itertools
    import random

    from syscontract._codegen import live_sources

    requires_module = importlib.import_module("syscontract._requires")
    names = [f"f{i:02d}" for i in range(24)]
    contract = syscontract.Contract.from_jsonschema(
        "wide.v1", {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    )
    message = dict.fromkeys(names, "x")
    lists = [list(c) for c in itertools.islice(itertools.combinations(names, 4), 20_500)]
    hot, cold = lists[:500], lists[500:]
    pick = random.Random(7)
    interval = max(1, count // 10)
    tracemalloc.start()
    samples = []
    started = time.perf_counter()
    for index in range(count):
        fields = hot[index % 500] if pick.random() < 0.9 else cold[pick.randrange(len(cold))]
        syscontract.check(contract, message, fields)
        if (index + 1) % interval == 0:
            gc.collect()
            current, _ = tracemalloc.get_traced_memory()
            samples.append((index + 1, current, len(requires_module._checkers), live_sources()))
    elapsed = time.perf_counter() - started
    tracemalloc.stop()
    limit = requires_module._CHECKERS_MAX
    print(f"\n{count} check() calls over {len(lists)} field lists in {elapsed:.1f} s")
    print(f"{'calls':>10}  {'traced MiB':>10}  {'checkers':>8}  {'sources':>8}")
    for calls, current, cached, sources in samples:
        print(f"{calls:>10}  {current / 2**20:>10.2f}  {cached:>8}  {sources:>8}")
    growth = samples[-1][1] - samples[0][1]
    flat = abs(growth) < 2**20
    bounded = all(cached <= limit and sources <= 2 * limit for _, _, cached, sources in samples)
    print(f"growth after the first interval: {growth / 2**10:.1f} KiB ({'flat' if flat else 'GROWING'}); "
          f"checkers within {limit} and sources within {2 * limit}: {'yes' if bounded else 'NO'}")  # fmt: skip
    return flat and bounded


if __name__ == "__main__":
    raise SystemExit(main())
