"""Memory over a long run: caches keyed by wire data stay within their bounds.

    python benchmarks/bench_memory.py [--messages 1000000] [--writers 100000] [--checks 1000000]

Sends MESSAGES Confluent-framed order events through one ``@requires`` handler, the writer schema id
rotating over WRITERS distinct ids (all registered, so every id is a valid writer the checker has to
plan for), and prints the memory tracemalloc sees at intervals, with the sizes of the per-writer
tables. The run passes when memory after the first interval stays flat (within 1 MiB) and no table
exceeds its bound (``syscontract._engine.decoder.MAX_WRITERS``).

Then the broker's body as a consumer hands it over (issue 26): MESSAGES // 4 JSON bodies (``bytes``,
``bytearray``, ``memoryview``, ``str`` in turn) through a ``@requires`` handler of a JSON Schema
contract and of a pydantic one, read on the fast path: memory must stay flat, and what one message
allocates while it is read (tracemalloc's peak above the memory held before the call; the handler
keeps nothing) is set beside what the unguarded consumer allocates, ``handler(json.loads(body))`` and
``handler(Model.model_validate_json(body))``: the decoded message, plus at most a transient copy of
the body's size (the guards' digit test, text encoded to UTF-8, a view's bytes), freed before the
handler returns.

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
from typing import Any

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
    bodies_ok = bodies(max(1, args.messages // 4)) if args.messages else True
    checks_ok = checks(args.checks) if args.checks else True
    return 0 if writers_ok and bodies_ok and checks_ok else 1


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


def bodies(count: int) -> bool:
    from typing import Literal

    from pydantic import BaseModel

    class Customer(BaseModel):
        id: str
        customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
        email: str

    class Item(BaseModel):
        sku: str
        qty: int
        price: float

    class Order(BaseModel):
        orderId: str
        customer: Customer
        items: list[Item]
        currency: str
        total: float

    event = json.loads((DATA / "order_event.json").read_text())
    raw = json.dumps(event, separators=(",", ":")).encode()
    forms = [raw, bytearray(raw), memoryview(raw), raw.decode()]
    fields = ["orderId", "currency", "customer.customerTier"]
    schema = json.loads((DATA / "order.v3.schema.json").read_text())
    registry = MemoryRegistry([syscontract.Contract.from_jsonschema("order.v3", schema),
                               syscontract.Contract.from_model("order.v9", Order)])  # fmt: skip
    kept: list[object] = []  # the handler keeps the message it is given (until the next measurement)

    def handler(message: object) -> None:
        kept.append(message)

    def plain(body: object) -> object:
        return bytes(body) if isinstance(body, memoryview) else body  # json.loads takes no view

    consumers = {
        "JSON Schema contract": (requires("order.v3", fields, registry=registry)(handler),
                                 lambda body: handler(json.loads(plain(body)))),
        "pydantic contract": (requires("order.v9", fields, registry=registry)(handler),
                              lambda body: handler(Order.model_validate_json(plain(body)))),
    }  # fmt: skip
    ok = True
    print(f"\n{count} JSON bodies of {len(raw)} bytes per contract, in four forms, through @requires")
    print("per message, bytes: held after the call (the handler keeps the message) and the peak during it")
    print(f"{'contract':<21} {'traced MiB':>10} {'growth KiB':>10} {'form':>10}"
          f" {'held':>6} {'unguarded':>9} {'peak':>6} {'unguarded':>9}")  # fmt: skip
    for name, (guarded, unguarded) in consumers.items():
        for body in forms:
            guarded(body)  # resolved, telemetry probed, the fast path installed
        kept.clear()
        tracemalloc.start()
        samples = []
        interval = max(1, count // 10)
        for index in range(count):
            guarded(forms[index % 4])
            kept.clear()
            if (index + 1) % interval == 0:
                samples.append(tracemalloc.get_traced_memory()[0])
        growth = samples[-1] - samples[0]
        flat = abs(growth) < 2**20
        ok = ok and flat
        rows = [(type(body).__name__, _cost(guarded, body, kept), _cost(unguarded, body, kept)) for body in forms]
        tracemalloc.stop()
        for index, (form, (held, peak), (held_bare, peak_bare)) in enumerate(rows):
            head = f"{name:<21} {samples[-1] / 2**20:>10.2f} {growth / 2**10:>10.1f}" if index == 0 else " " * 43
            print(f"{head} {form:>10} {held:>6} {held_bare:>9} {peak:>6} {peak_bare:>9}")
        print(f"{'':<21} memory {'flat' if flat else 'GROWING'} over {count} messages")
    return ok


def _cost(consumer: Any, body: object, kept: list[object]) -> tuple[int, int]:
    """What one call of ``consumer`` leaves held (the message its handler kept) and the most it held
    above that while it ran, in bytes; the least of five calls (tracemalloc is running)."""
    import gc

    best: tuple[int, int] | None = None
    for _ in range(5):  # a collection or a cache filled inside one call is not the message's
        kept.clear()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        consumer(body)
        after, peak = tracemalloc.get_traced_memory()
        found = (after - before, peak - before)
        best = found if best is None else min(best, found)
    kept.clear()
    assert best is not None
    return best


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
