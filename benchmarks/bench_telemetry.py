"""What telemetry costs per message: @requires with OpenTelemetry reporting on, against its budgets.

    python benchmarks/bench_telemetry.py [--quick]

Three scenarios, each in its own process (OpenTelemetry's global providers can be set once per
process, and "only the API installed" must really mean the SDK cannot be imported):

(a) API only: the SDK is made unimportable; nothing can record, so the wrapper is the bare check.
(b) an SDK MeterProvider set globally after the handler was decorated (the usual start-up order):
    passing messages are counted in-process, the SDK reads the tallies when its reader collects.
(c) inside a recording SDK span (a TracerProvider whose processor exports to a no-op exporter, and
    the MeterProvider of (b)): syscontract sets its attributes on the current span. The span is the
    consumer span a broker instrumentation opens (kind CONSUMER, six ``messaging.*`` attributes); the
    table also shows what the SDK itself charges for setting the same two attributes without
    syscontract, the floor of any implementation that annotates the span.

Workload as in bench_requires.py: the reference order event (benchmarks/data), a dict, critical
fields ``orderId``, ``currency``, ``customer.customerTier``, against the same handler without
syscontract and ``json.loads`` of the event. Medians of several repeats; no figure is asserted by a
test. Budgets: (a) overhead <= 0.03 x json.loads, (b) <= 0.05 x json.loads, (c) syscontract's
own addition inside the span <= 0.10 x the cost of the span itself (issue 16: what the SDK charges
for setting the attributes is the SDK's cost, shown beside it).
"""

from __future__ import annotations

import argparse
import gc
import json
import linecache
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable, Sequence
from importlib.abc import MetaPathFinder
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
FIELDS = ["orderId", "currency", "customer.customerTier"]
SCENARIOS = ("api", "meter", "span")
# what a broker instrumentation puts on the consumer span it opens around each message
CONSUMER_SPAN = {
    "messaging.system": "kafka",
    "messaging.operation.type": "process",
    "messaging.destination.name": "orders",
    "messaging.destination.partition.id": "3",
    "messaging.kafka.offset": 123456,
    "messaging.consumer.group.name": "pricing",
}


def per_call_ns(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Median time of one call, in nanoseconds."""
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


def interleaved_ns(rows: dict[str, Callable[[], Any]], number: int, repeat: int) -> dict[str, float]:
    """Median time of one call of each row, the rows measured in turn ``repeat`` times, with the
    garbage collector on: spans allocate (and leave cycles) enough that timing them with it off
    drifts by microseconds from one row to the next."""
    runs: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeat):
        for name, fn in rows.items():
            timer = timeit.Timer(fn, setup="gc.enable()", globals={"gc": gc})
            runs[name].append(timer.timeit(number) / number * 1e9)
    return {name: statistics.median(times) for name, times in runs.items()}


class _NoSdk(MetaPathFinder):
    """Makes ``opentelemetry.sdk`` unimportable, as if only opentelemetry-api were installed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> None:
        if fullname == "opentelemetry.sdk" or fullname.startswith("opentelemetry.sdk."):
            raise ImportError(f"{fullname} is blocked: this scenario has the OpenTelemetry API only")
        return None


def scenario(name: str, number: int, repeat: int) -> dict[str, float]:
    """Run one scenario in this process; return ns per message for each row."""
    if name == "api":
        sys.meta_path.insert(0, _NoSdk())
    import syscontract
    from syscontract import Contract, MemoryRegistry, requires

    event = json.loads((DATA / "order_event.json").read_text())
    raw = json.dumps(event, separators=(",", ":")).encode()
    schema = json.loads((DATA / "order.v3.schema.json").read_text())
    registry = MemoryRegistry([Contract.from_jsonschema("order.v3", schema)])

    def bare(message: dict[str, Any]) -> None:
        return None

    guarded = requires("order.v3", FIELDS, registry=registry)(bare)
    child = requires("order.v3", FIELDS, registry=registry, spans="child")(bare)
    rows: dict[str, float] = {}

    if name == "api":
        try:
            import opentelemetry.sdk  # noqa: F401
        except ImportError:
            pass
        else:  # pragma: no cover - the finder above is broken
            raise SystemExit("the SDK is importable in the API-only scenario")
    else:
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    tracer = None
    if name == "span":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
        from opentelemetry.trace import SpanKind

        class NullExporter(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(NullExporter()))
        trace.set_tracer_provider(provider)
        tracer = trace.get_tracer("bench.consumer")

    guarded(event)  # the first call looks at the providers and settles the wrapper's code
    child(event)
    rows["bare handler call"] = per_call_ns(lambda: bare(event), number, repeat)
    rows["@requires, dict, 3 critical fields"] = per_call_ns(lambda: guarded(event), number, repeat)
    rows["json.loads of the event"] = per_call_ns(lambda: json.loads(raw), number, repeat)
    if name != "api":
        collect = reader.collect  # what the SDK pays per collection, for every series
        rows["one metric collection (per export, not per message)"] = per_call_ns(collect, 200, repeat)
    if tracer is not None:
        few = max(number // 30, 500)
        start = tracer.start_as_current_span
        attributes = {"syscontract.contract": "order.v3", "syscontract.outcome": "ok"}

        def in_span(handler: Callable[[Any], Any], annotate: bool = False) -> Callable[[], None]:
            def run() -> None:
                with start("orders process", kind=SpanKind.CONSUMER, attributes=CONSUMER_SPAN) as span:
                    if annotate:
                        span.set_attributes(attributes)
                    handler(event)

            return run

        # spans allocate a lot and drift with the allocator's state: measure the rows interleaved
        rows.update(
            interleaved_ns(
                {
                    "consumer span around the bare handler": in_span(bare),
                    "consumer span around @requires": in_span(guarded),
                    "consumer span, bare handler + the same 2 attributes": in_span(bare, True),
                    "consumer span around @requires, spans='child'": in_span(child),
                },
                few,
                repeat * 3,
            )
        )
    generated = linecache.getlines(guarded.__code__.co_filename)
    telemetry_lines = {line.strip() for line in generated if "_sc_next" in line or "_sc_mark" in line}
    rows["telemetry instructions on the fast path"] = float(len(telemetry_lines))
    print(json.dumps({"rows": rows, "python": sys.version.split()[0], "version": syscontract.__version__}))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run, noisier figures)")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)  # one child process
    args = parser.parse_args()
    number, repeat = (20_000, 5) if args.quick else (200_000, 9)
    if args.scenario:
        scenario(args.scenario, number, repeat)
        return 0

    results: dict[str, dict[str, Any]] = {}
    for name in SCENARIOS:
        command = [sys.executable, __file__, "--scenario", name] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"scenario {name} failed:\n{done.stdout}{done.stderr}", file=sys.stderr)
            return 1
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])

    titles = {
        "api": "(a) OpenTelemetry API only (SDK unimportable)",
        "meter": "(b) SDK MeterProvider installed",
        "span": "(c) SDK TracerProvider + MeterProvider, in a recording span",
    }
    first = results["api"]
    print(f"Python {first['python']}, syscontract {first['version']}; median of {repeat} x {number}")
    print(f"(span rows: median of {repeat * 3} x {max(number // 30, 500)}, rows interleaved, gc on)")
    verdicts = []
    for name in SCENARIOS:
        rows = results[name]["rows"]
        loads = rows["json.loads of the event"]
        print()
        print(titles[name])
        shown = [(k, v) for k, v in rows.items() if k != "telemetry instructions on the fast path"]
        width = max(len(k) for k, _ in shown)
        print(f"  {'path':<{width}}  {'ns/msg':>9}  {'x json.loads':>12}")
        for key, value in shown:
            print(f"  {key:<{width}}  {value:>9.0f}  {value / loads:>12.3f}")
        instructions = rows["telemetry instructions on the fast path"]
        print(f"  telemetry instructions generated on the fast path: {instructions:.0f}")
        overhead = rows["@requires, dict, 3 critical fields"] - rows["bare handler call"]
        if name == "api":
            verdicts.append(("(a) overhead, API only / json.loads", overhead / loads, 0.03, f"{overhead:.0f} ns"))
        elif name == "meter":
            verdicts.append(
                ("(b) overhead, SDK MeterProvider / json.loads", overhead / loads, 0.05, f"{overhead:.0f} ns")
            )
        else:
            span = rows["consumer span around the bare handler"] - rows["bare handler call"]
            addition = rows["consumer span around @requires"] - rows["consumer span around the bare handler"]
            floor = (
                rows["consumer span, bare handler + the same 2 attributes"]
                - rows["consumer span around the bare handler"]
            )
            own = addition - floor
            verdicts.append(
                (
                    "(c) syscontract's own addition / the span",
                    own / span,
                    0.10,
                    f"{own:.0f} of {span:.0f} ns; with the SDK's attributes {addition:.0f} ns, {addition / span:.3f}",
                )
            )
            print(
                f"  of which the SDK's own cost of the two attributes: {floor:.0f} ns ({floor / span:.3f} x the span), "
                f"syscontract's code: {own:.0f} ns ({own / span:.3f} x the span)"
            )
    print()
    print(f"{'budget':<46}  {'measured':>8}  {'budget':>6}  verdict  (absolute)")
    for label, ratio, budget, absolute in verdicts:
        verdict = "met" if ratio <= budget else "MISSED"
        print(f"{label:<46}  {ratio:>8.3f}  {budget:>6.2f}  {verdict:<7}  ({absolute})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
