"""``syscontract report``'s page at fleet scale, against ``drift`` on the same manifests in the same run.

    python benchmarks/bench_report.py [--services 100 1000] [--environments 3] [--repeats 3]

Services come in producer/consumer pairs, each pair on its own contract (JSON Schema); in the last
environment one producer in 10 does not send the field its consumer requires (the incident). For each
size: the median seconds of ``drift`` (the findings) and of the page built from them, the ratio, the
page's size, and that the page is the same bytes from the manifests in reverse order. Nothing is
asserted by a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from syscontract._report import page
from syscontract.manifest import Manifest, parse
from syscontract.system import drift


def manifest(service: str, environment: str, role: str, contract: str, fields: list[str], sends: bool) -> Manifest:
    properties: dict[str, Any] = {"id": {"type": "string"}, **({"tier": {"type": "string"}} if sends else {})}
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    return parse({
        "manifest": "syscontract/1", "service": service, "environment": environment,
        "declarations": [{"role": role, "contract": f"{contract}.v1", "handler": f"{service}.h", "fields": fields}],
        "contracts": {f"{contract}.v1": {"format": "jsonschema", "schema": schema}},
    })  # fmt: skip


def system(services: int, environments: int) -> list[Manifest]:
    found = []
    for number in range(environments):
        environment = f"env{number}"
        for pair in range(services // 2):
            broken = number == environments - 1 and pair % 10 == 0
            found.append(manifest(f"producer-{pair:04d}", environment, "producer", f"topic{pair}", [], not broken))
            found.append(manifest(f"consumer-{pair:04d}", environment, "consumer", f"topic{pair}", ["tier"], True))
    return found


def median(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    work()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--services", type=int, nargs="+", default=[100, 1000])
    options.add_argument("--environments", type=int, default=3)
    options.add_argument("--repeats", type=int, default=3)
    args = options.parse_args()
    header = ("services", "envs", "drift s", "page s", "page/drift", "page MB", "errors")
    widths = (8, 4, 8, 8, 10, 8, 6)
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)) + "  same bytes")
    for count in args.services:
        manifests = system(count, args.environments)
        seconds_drift, findings = median(args.repeats, lambda m=manifests: drift(m).findings)
        seconds_page, result = median(args.repeats, lambda m=manifests, f=findings: page(m, f))
        same = result.html == page(list(reversed(manifests)), list(reversed(findings))).html
        ratio = seconds_page / seconds_drift
        print(f"{count:>8} {args.environments:>4} {seconds_drift:>8.3f} {seconds_page:>8.3f} {ratio:>10.2f} "
              f"{len(result.html) / 1e6:>8.2f} {result.errors:>6}  {same}")  # fmt: skip


if __name__ == "__main__":
    main()
