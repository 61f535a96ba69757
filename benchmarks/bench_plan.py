"""``syscontract plan`` at scale: releases of 100 and 1,000 services, with and without a cycle.

    python benchmarks/bench_plan.py [--services 100 1000] [--repeats 3]

The shape is issue 25's: a release of 2N services in N independent producer/consumer pairs. Producer
``p<i>`` goes from ``topic<i>.v1`` to ``topic<i>.v2``, which adds ``tier`` (with a default, so the old
messages stay readable); consumer ``c<i>``'s release requires ``tier``: ``p<i>`` must deploy before
``c<i>``. "with a cycle" adds one loop among them: ``c0``'s release starts producing ``back.v2``, whose
new field ``p0``'s release requires, so ``c0`` must also deploy before ``p0`` and no safe order exists.
"fan-out" is one producer adding ``tier`` and N - 1 consumers whose release requires it; "hubs" is N / 100
contracts, each with 10 producers adding ``tier`` and 90 consumers requiring it (900 pairs each). "pairs-gap" is
the pairs with ``tier`` added without a default and ``--backlog 2``: a new consumer cannot read its
producer's old messages, so it must come at least two steps after it, the one kind of rule (with a
contract's production handed between several services) that the plan searches for.

For each shape it times, median of ``--repeats`` after a warm-up: ``plan()`` on manifests in memory, and
``syscontract plan DIR --to prod --with DIR --format json`` in process (reading the manifests from
files included). The exhaustive search this replaced took 1.4 s for 16 services, 8.8 s for 32 and 475 s
for 100 (33.6 s for 16 with the cycle), per the issue. No figure is asserted by a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syscontract import Contract
from syscontract.cli import main
from syscontract.manifest import Entry, Manifest, dumps
from syscontract.system.plan import Plan, plan


def record(name: str, version: int, *, default: bool = True) -> Contract:
    fields: list[dict[str, object]] = [{"name": "id", "type": "string"}]
    if version > 1:
        fields.append({"name": "tier", "type": "string", **({"default": "BASIC"} if default else {})})
    schema = {"type": "record", "name": name.title(), "fields": fields}
    return Contract.from_avro(f"{name}.v{version}", schema)


def manifest(
    service: str, environment: str, produces: list[Contract], consumes: list[tuple[Contract, str]]
) -> Manifest:
    entries = [Entry("producer", c.ref, f"{service}.send", ()) for c in produces]
    entries += [Entry("consumer", c.ref, f"{service}.handle", (field,)) for c, field in consumes]
    contracts = {c.ref: c for c in [*produces, *(c for c, _ in consumes)]}
    return Manifest(service, environment, tuple(entries), contracts)


def pairs(services: int, cycle: bool, *, default: bool = True) -> tuple[list[Manifest], list[Manifest]]:
    """``services`` // 2 producer/consumer pairs; with ``cycle``, ``c0`` and ``p0`` need each other first."""
    deployed, release = [], []
    back1, back2 = record("back", 1), record("back", 2)
    for i in range(services // 2):
        old, new = record(f"topic{i:04d}", 1), record(f"topic{i:04d}", 2, default=default)
        loop = cycle and i == 0
        deployed.append(manifest(f"p{i:04d}", "prod", [old], [(back1, "id")] if loop else []))
        deployed.append(manifest(f"c{i:04d}", "prod", [back1] if loop else [], [(old, "id")]))
        release.append(manifest(f"p{i:04d}", "build", [new], [(back2, "tier")] if loop else []))
        release.append(manifest(f"c{i:04d}", "build", [back2] if loop else [], [(new, "tier")]))
    return deployed, release


def fan_out(services: int, cycle: bool) -> tuple[list[Manifest], list[Manifest]]:
    """One producer adding ``tier``, ``services`` - 1 consumers whose release requires it."""
    old, new = record("topic", 1), record("topic", 2)
    deployed = [manifest("p", "prod", [old], [])]
    release = [manifest("p", "build", [new], [])]
    for i in range(services - 1):
        deployed.append(manifest(f"c{i:04d}", "prod", [], [(old, "id")]))
        release.append(manifest(f"c{i:04d}", "build", [], [(new, "tier")]))
    return deployed, release


def hubs(services: int, cycle: bool) -> tuple[list[Manifest], list[Manifest]]:
    """``services`` // 100 contracts, each with 10 producers adding ``tier`` and 90 consumers requiring it."""
    deployed, release = [], []
    for k in range(max(1, services // 100)):
        old, new = record(f"hub{k:02d}", 1), record(f"hub{k:02d}", 2)
        for i in range(10):
            deployed.append(manifest(f"p{k:02d}-{i:02d}", "prod", [old], []))
            release.append(manifest(f"p{k:02d}-{i:02d}", "build", [new], []))
        for i in range(90):
            deployed.append(manifest(f"c{k:02d}-{i:02d}", "prod", [], [(old, "id")]))
            release.append(manifest(f"c{k:02d}-{i:02d}", "build", [], [(new, "tier")]))
    return deployed, release


def median(repeats: int, run: Callable[[], object]) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def through_cli(
    work: Path, deployed: list[Manifest], release: list[Manifest], extra: list[str]
) -> Callable[[], object]:
    for folder, manifests in (("state", deployed), ("build", release)):
        (work / folder).mkdir()
        for m in manifests:
            (work / folder / f"{m.service}.json").write_text(dumps(m.to_json()))
    args = ["plan", str(work / "build"), "--to", "prod", "--with", str(work / "state"), "--format", "json", *extra]

    def run() -> object:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            main(args)
        return json.loads(out.getvalue())

    return run


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}; median of {args.repeats} after a warm-up")
    header = f"{'shape':<12} {'services':>8} {'cycle':>6} {'answer':>20} {'plan() s':>9} {'CLI s':>8}"
    print(header)
    print("-" * len(header))
    shapes: list[tuple[str, Callable[[int, bool], Any], bool, int | None]] = [
        ("pairs", pairs, False, None),
        ("pairs", pairs, True, None),
        ("fan-out", fan_out, False, None),
        ("hubs", hubs, False, None),
        ("pairs-gap", lambda n, cycle: pairs(n, cycle, default=False), False, 2),
    ]
    for services in args.services:
        for shape, build, cycle, backlog in shapes:
            deployed, release = build(services, cycle)
            result: Plan = plan(release, "prod", deployed, backlog=backlog)
            answer = f"{len(result.steps)} steps" if result.safe else f"no: cycle of {len(result.cycle)}"
            in_memory = median(args.repeats, lambda: plan(release, "prod", deployed, backlog=backlog))  # noqa: B023
            with tempfile.TemporaryDirectory() as work:
                extra = [] if backlog is None else ["--backlog", str(backlog)]
                cli = median(args.repeats, through_cli(Path(work), deployed, release, extra))
            print(f"{shape:<12} {services:>8} {'yes' if cycle else 'no':>6} {answer:>20} {in_memory:>9.3f} {cli:>8.3f}")


if __name__ == "__main__":
    main_()
