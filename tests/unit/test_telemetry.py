"""Telemetry through the OpenTelemetry API: span attributes and events, the observable metrics, logs.

Every test gets its own SDK providers, passed through ``syscontract.configure()`` (never the global
ones), with the in-memory span exporter and metric reader; ``tests/conftest.py`` resets syscontract's
settings, and with them its tallies, around each test.
"""

from __future__ import annotations

import asyncio
import copy
import linecache
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel
from threads import run_threads

import syscontract
from syscontract import (
    ContractDeclarationError,
    DeadLetter,
    FileRegistry,
    MissingCriticalField,
    inventory,
    requires,
    telemetry,
)
from syscontract.wire import avro, confluent

pytestmark = pytest.mark.usefixtures("registry")

TIER = "customer.customerTier"
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "telemetry" / "run.py"


# -- fixtures ------------------------------------------------------------------------------------


class Traces:
    """A TracerProvider exporting to memory, and a consumer span to run handlers in."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(shutdown_on_exit=False)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def consume(self, handler: Callable[..., Any], *args: Any) -> Any:
        """Call ``handler`` inside a recording consumer span, as a broker instrumentation would (one
        that leaves exceptions alone, so that what the span holds is syscontract's doing)."""
        with self.span():
            return handler(*args)

    def span(self) -> Any:
        return self.provider.get_tracer("test").start_as_current_span(
            "orders process", kind=SpanKind.CONSUMER, record_exception=False, set_status_on_exception=False
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def consumer(self) -> ReadableSpan:
        (span,) = [span for span in self.spans() if span.name == "orders process"]
        return span


class Meters:
    """A MeterProvider with an in-memory reader."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def collect(self) -> dict[str, Any]:
        """``{metric name: metric}`` of syscontract's meter, collected now."""
        data = self.reader.get_metrics_data()
        found: dict[str, Any] = {}
        for resource_metrics in data.resource_metrics if data is not None else ():
            for scope in resource_metrics.scope_metrics:
                if scope.scope.name == telemetry.METER:
                    found.update({metric.name: metric for metric in scope.metrics})
        return found

    def messages(self, contract: str = "order.v3") -> dict[tuple[tuple[str, str], ...], int]:
        """``syscontract.messages`` points for ``contract``: sorted attribute items -> value (zeros left out)."""
        metric = self.collect()[telemetry.MESSAGES]
        return {
            tuple(sorted(point.attributes.items())): point.value
            for point in metric.data.data_points
            if point.attributes[telemetry.CONTRACT] == contract and point.value
        }


def messages_key(outcome: str, writer: str | None = None, contract: str = "order.v3") -> tuple[tuple[str, str], ...]:
    attributes = {
        "syscontract.contract": contract,
        "syscontract.role": "consumer",
        "syscontract.outcome": outcome,
    }
    if writer is not None:
        attributes["syscontract.writer.version"] = writer
    return tuple(sorted(attributes.items()))


@pytest.fixture
def traces() -> Iterator[Traces]:
    traces = Traces()
    syscontract.configure(tracer_provider=traces.provider)
    yield traces
    traces.provider.shutdown()


@pytest.fixture
def meters() -> Iterator[Meters]:
    meters = Meters()
    syscontract.configure(meter_provider=meters.provider)
    yield meters
    meters.provider.shutdown()


def source_of(handler: Callable[..., Any]) -> str:
    return "".join(linecache.getlines(handler.__code__.co_filename))


def v2_shaped(order: dict[str, Any]) -> dict[str, Any]:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    return stale


def framed(registry: FileRegistry, ref: str, schema_id: int, payload: dict[str, Any]) -> bytes:
    return confluent.encode(schema_id, avro.encode(payload, registry.get(ref).native))


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    email: str


@syscontract.contract("telemetry-order.v1")
class Order(BaseModel):
    orderId: str
    customer: Customer


# -- a good message ------------------------------------------------------------------------------


def test_a_good_message_sets_contract_and_outcome_on_the_consumer_span(traces: Traces, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: "priced")

    assert "priced" == traces.consume(handler, order)
    span = traces.consumer()
    assert {"syscontract.contract": "order.v3", "syscontract.outcome": "ok"} == dict(span.attributes or {})
    assert () == tuple(span.events)
    assert StatusCode.UNSET == span.status.status_code


def test_good_messages_are_counted_without_a_writer_version_on_the_dict_path(
    meters: Meters, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    for _ in range(3):
        handler(order)

    assert {messages_key("ok"): 3} == meters.messages()


def test_the_counter_and_the_gauge_have_their_documented_names_units_and_scope(meters: Meters) -> None:
    requires("order.v3", [TIER])(lambda event: None)
    data = meters.reader.get_metrics_data()
    assert data is not None
    scopes = [scope for rm in data.resource_metrics for scope in rm.scope_metrics if scope.scope.name == "syscontract"]
    (scope,) = scopes
    assert syscontract.__version__ == scope.scope.version
    units = {metric.name: (metric.unit, type(metric.data).__name__) for metric in scope.metrics}
    expected = {"syscontract.messages": ("{message}", "Sum"), "syscontract.declarations": ("{declaration}", "Gauge")}
    assert expected == units
    (messages,) = [metric for metric in scope.metrics if metric.name == "syscontract.messages"]
    assert messages.data.is_monotonic


def test_bytes_from_a_known_writer_report_its_version(
    traces: Traces, meters: Meters, registry: FileRegistry, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER])(lambda event: event["orderId"])
    raw = framed(registry, "order.v3", 8, order)

    assert order["orderId"] == traces.consume(handler, raw)
    assert order["orderId"] == handler(raw)  # once the writer is known, the inline Avro path

    assert {
        "syscontract.contract": "order.v3",
        "syscontract.outcome": "ok",
        "syscontract.writer.version": "order.v3",
    } == dict(traces.consumer().attributes or {})
    assert {messages_key("ok", "order.v3"): 2} == meters.messages()


def test_json_bytes_are_counted_as_ok_without_a_writer(meters: Meters, order: dict[str, Any]) -> None:
    import json

    handler = requires("order.v3", [TIER])(lambda event: None)
    handler(json.dumps(order).encode())

    assert {messages_key("ok"): 1} == meters.messages()


# -- violations ----------------------------------------------------------------------------------


def _absent(order: dict[str, Any], registry: FileRegistry) -> Any:
    return v2_shaped(order)


def _null(order: dict[str, Any], registry: FileRegistry) -> Any:
    order["customer"]["customerTier"] = None
    return order


def _wrong_type(order: dict[str, Any], registry: FileRegistry) -> Any:
    order["customer"]["customerTier"] = 3
    return order


def _not_in_writer_schema(order: dict[str, Any], registry: FileRegistry) -> Any:
    return framed(registry, "order.v2", 7, v2_shaped(order))


VIOLATIONS = {
    # reason: (message, error type, writer version)
    "absent": (_absent, "MissingCriticalField", None),
    "null": (_null, "MissingCriticalField", None),
    "type": (_wrong_type, "FieldTypeError", None),
    "not-in-writer-schema": (_not_in_writer_schema, "MissingCriticalField", "order.v2"),
}


@pytest.mark.parametrize("reason", list(VIOLATIONS))
def test_a_violation_is_recorded_on_the_span_and_counted(
    reason: str, traces: Traces, meters: Meters, registry: FileRegistry, order: dict[str, Any]
) -> None:
    build, error_type, writer = VIOLATIONS[reason]
    handler = requires("order.v3", [TIER])(lambda event: None)

    with pytest.raises(syscontract.ContractViolation):
        traces.consume(handler, build(order, registry))

    span = traces.consumer()
    expected = {
        "syscontract.contract": "order.v3",
        "syscontract.outcome": "violation",
        "error.type": error_type,
    }
    if writer is not None:
        expected["syscontract.writer.version"] = writer
    assert expected == dict(span.attributes or {})
    violation, exception = span.events
    assert "syscontract.violation" == violation.name
    assert {"syscontract.field": TIER, "syscontract.reason": reason, "syscontract.policy": "raise"} == dict(
        violation.attributes or {}
    )
    assert "exception" == exception.name
    assert f"syscontract.errors.{error_type}" == (exception.attributes or {})["exception.type"]
    assert StatusCode.ERROR == span.status.status_code
    assert {messages_key("violation", writer): 1} == meters.messages()


def test_a_pydantic_default_is_a_defaulted_violation(traces: Traces, meters: Meters) -> None:
    handler = requires("telemetry-order.v1", [TIER])(lambda order: None)
    unsent = Order.model_validate({"orderId": "o-1", "customer": {"id": "c-1", "email": "a@b.c"}})

    with pytest.raises(MissingCriticalField):
        traces.consume(handler, unsent)

    violation = traces.consumer().events[0]
    assert {"syscontract.field": TIER, "syscontract.reason": "absent", "syscontract.policy": "raise"} == dict(
        violation.attributes or {}
    )
    assert {messages_key("violation", contract="telemetry-order.v1"): 1} == meters.messages("telemetry-order.v1")


def test_a_decode_error_is_an_error_without_a_violation_event(traces: Traces, meters: Meters) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)

    with pytest.raises(syscontract.DecodeError):
        traces.consume(handler, b"{not json")

    span = traces.consumer()
    assert {
        "syscontract.contract": "order.v3",
        "syscontract.outcome": "decode_error",
        "error.type": "DecodeError",
    } == dict(span.attributes or {})
    assert ["exception"] == [event.name for event in span.events]
    assert StatusCode.ERROR == span.status.status_code
    assert {messages_key("decode_error"): 1} == meters.messages()


def test_observe_mode_reports_the_violation_and_calls_the_handler(
    traces: Traces, meters: Meters, order: dict[str, Any]
) -> None:
    called = []
    handler = requires("order.v3", [TIER], on_violation="observe")(called.append)

    traces.consume(handler, v2_shaped(order))

    assert 1 == len(called)
    span = traces.consumer()
    assert "violation" == (span.attributes or {})["syscontract.outcome"]
    assert "observe" == (span.events[0].attributes or {})["syscontract.policy"]
    assert StatusCode.ERROR == span.status.status_code
    assert {messages_key("violation"): 1} == meters.messages()


def test_dead_letter_mode_reports_the_violation_and_keeps_the_message(
    traces: Traces, meters: Meters, order: dict[str, Any]
) -> None:
    letters: list[DeadLetter] = []
    handler = requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=letters.append)(lambda e: None)
    stale = v2_shaped(order)

    assert traces.consume(handler, stale) is None

    assert [stale] == [letter.payload for letter in letters]
    span = traces.consumer()
    assert "violation" == (span.attributes or {})["syscontract.outcome"]
    assert "dead_letter" == (span.events[0].attributes or {})["syscontract.policy"]
    assert {messages_key("violation"): 1} == meters.messages()


def test_async_handlers_report_like_sync_ones(traces: Traces, meters: Meters, order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER])
    async def on_order(event: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        return "priced"

    async def consume(message: dict[str, Any]) -> Any:
        with traces.span():
            return await on_order(message)

    assert "priced" == asyncio.run(consume(order))
    assert "priced" == asyncio.run(consume(order))
    with pytest.raises(MissingCriticalField):
        asyncio.run(consume(v2_shaped(order)))

    outcomes = [(span.attributes or {})["syscontract.outcome"] for span in traces.spans()]
    assert ["ok", "ok", "violation"] == outcomes
    assert {messages_key("ok"): 2, messages_key("violation"): 1} == meters.messages()


def test_a_violation_is_logged_at_error_with_the_same_fields(
    caplog: pytest.LogCaptureFixture, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER], on_violation="observe")(lambda event: None)
    with caplog.at_level(logging.ERROR, logger="syscontract"):
        handler(v2_shaped(order))

    (record,) = caplog.records
    assert logging.ERROR == record.levelno
    fields = {key: getattr(record, key) for key in ("syscontract.contract", "syscontract.outcome",
              "syscontract.field", "syscontract.reason", "syscontract.policy", "error.type")}  # fmt: skip
    assert {
        "syscontract.contract": "order.v3",
        "syscontract.outcome": "violation",
        "syscontract.field": TIER,
        "syscontract.reason": "absent",
        "syscontract.policy": "observe",
        "error.type": "MissingCriticalField",
    } == fields


# -- what is built when nothing can record -------------------------------------------------------


def test_without_providers_the_wrapper_has_no_telemetry_at_all(order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    handler(order)

    source = source_of(handler)
    assert "_sc_next" not in source
    assert "_sc_mark" not in source
    assert "_sc_first" not in source


def test_a_meter_provider_adds_one_counting_step_and_no_span_work(meters: Meters, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    handler(order)

    source = source_of(handler)
    assert "            _sc_next(_sc_n)\n            return _sc_h(_sc_m)\n" in source
    assert "_sc_mark" not in source


def test_a_tracer_provider_adds_the_span_mark(traces: Traces, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    handler(order)

    assert "            _sc_mark()\n            return _sc_h(_sc_m)\n" in source_of(handler)


def test_no_recording_span_means_nothing_is_built(traces: Traces, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: "priced")
    assert not trace.get_current_span().is_recording()

    assert "priced" == handler(order)
    with pytest.raises(MissingCriticalField):
        handler(v2_shaped(order))
    assert [] == traces.spans()


def test_a_global_tracer_provider_set_after_decoration_is_seen_at_the_first_call(
    monkeypatch: pytest.MonkeyPatch, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    traces = Traces()  # set up after the handler was decorated, as main() usually does
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: traces.provider)

    traces.consume(handler, order)

    assert "ok" == (traces.consumer().attributes or {})["syscontract.outcome"]


def test_a_collection_never_regenerates_a_handler_on_the_exporters_thread(
    monkeypatch: pytest.MonkeyPatch, meters: Meters, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER], on_violation="observe")(lambda event: None)
    handler(order)
    traces = Traces()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: traces.provider)
    code = handler.__code__
    run_threads(1, lambda number: meters.collect(), barrier=False)  # as a periodic reader's thread would
    assert code is handler.__code__  # the collection only took note
    traces.consume(handler, order)
    assert {} == dict(traces.consumer().attributes or {})  # the fast path does not look at providers
    traces.exporter.clear()

    traces.consume(handler, v2_shaped(order))  # the next precise check, on the application's thread, probes
    traces.exporter.clear()
    traces.consume(handler, order)

    assert code is not handler.__code__
    assert "ok" == (traces.consumer().attributes or {})["syscontract.outcome"]


def test_before_a_meter_provider_only_the_precise_path_counts(order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER], on_violation="observe")(lambda event: None)
    handler(order)  # the fast path: nothing could collect, so nothing counted
    handler(v2_shaped(order))  # the precise path counts whatever the providers
    meters = Meters()
    syscontract.configure(meter_provider=meters.provider)
    handler(order)

    assert {messages_key("ok"): 1, messages_key("violation"): 1} == meters.messages()


# -- exact counts under concurrency --------------------------------------------------------------


def test_eight_threads_on_one_handler_lose_no_count(meters: Meters, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    stale = v2_shaped(order)
    observed = requires("order.v3", [TIER], on_violation="observe")(lambda event: None)
    calls, violations = 20_000, 500
    stop = threading.Event()

    def hammer(number: int) -> None:
        for _ in range(calls):
            if stop.is_set():
                return
            handler(order)
        for _ in range(violations):
            observed(stale)

    run_threads(8, hammer, stop=stop)

    assert {messages_key("ok"): 8 * calls, messages_key("violation"): 8 * violations} == meters.messages()


# -- the declarations gauge ----------------------------------------------------------------------


def test_the_declarations_gauge_lists_every_decorated_handler(meters: Meters) -> None:
    @requires("order.v3", [TIER, "customer.id"])
    def on_order(event: dict[str, Any]) -> None: ...

    @requires("telemetry-order.v1", ["orderId"])
    def on_model(order: Order) -> None: ...

    gauge = meters.collect()[telemetry.DECLARATIONS]
    points = {point.attributes["syscontract.handler"]: point for point in gauge.data.data_points}
    assert {
        "syscontract.contract": "order.v3",
        "syscontract.role": "consumer",
        "syscontract.handler": f"{__name__}.{on_order.__qualname__}",
        "syscontract.fields": f"{TIER},customer.id",
    } == dict(points[f"{__name__}.{on_order.__qualname__}"].attributes)
    assert 1 == points[f"{__name__}.{on_order.__qualname__}"].value
    assert "orderId" == points[f"{__name__}.{on_model.__qualname__}"].attributes["syscontract.fields"]
    assert {d.name for d in inventory.declarations()} == set(points)


# -- child spans ---------------------------------------------------------------------------------


def test_configure_spans_child_opens_one_span_per_message(traces: Traces, order: dict[str, Any]) -> None:
    syscontract.configure(spans="child")
    handler = requires("order.v3", [TIER])(lambda event: trace.get_current_span())

    inner = traces.consume(handler, order)
    with pytest.raises(MissingCriticalField):
        traces.consume(handler, v2_shaped(order))

    children = [span for span in traces.spans() if span.name == "syscontract order.v3"]
    good, bad = children
    assert inner.get_span_context().span_id == good.context.span_id  # the handler runs inside it
    assert {"syscontract.contract": "order.v3", "syscontract.outcome": "ok"} == dict(good.attributes or {})
    assert SpanKind.INTERNAL == good.kind
    parents = {span.context.span_id for span in traces.spans() if span.name == "orders process"}
    assert {good.parent.span_id, bad.parent.span_id} <= parents  # type: ignore[union-attr]
    assert StatusCode.ERROR == bad.status.status_code
    assert ["syscontract.violation", "exception"] == [event.name for event in bad.events]
    for span in traces.spans():
        if span.name == "orders process":
            assert "syscontract.outcome" not in (span.attributes or {})


def test_a_declaration_can_ask_for_child_spans_alone(traces: Traces, order: dict[str, Any]) -> None:
    child = requires("order.v3", [TIER], spans="child")(lambda event: None)
    current = requires("order.v3", [TIER])(lambda event: None)

    traces.consume(child, order)
    traces.consume(current, order)

    assert ["syscontract order.v3", "orders process", "orders process"] == [span.name for span in traces.spans()]


def test_child_spans_need_a_tracer_provider_that_may_record(order: dict[str, Any]) -> None:
    syscontract.configure(spans="child")
    handler = requires("order.v3", [TIER])(lambda event: None)
    handler(order)

    assert "_sc_slow" in source_of(handler)
    assert "_sc_type(_sc_m) is _sc_dict" in source_of(handler)  # the fast path stays


# -- telemetry never raises into a handler -------------------------------------------------------


class _BrokenSpan(trace.NonRecordingSpan):
    def is_recording(self) -> bool:
        return True

    def set_attributes(self, attributes: Any) -> None:
        raise RuntimeError("exporter down")

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("exporter down")


class _BrokenTracer(trace.NoOpTracer):
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("tracer down")


class _BrokenProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _BrokenTracer()


def test_a_failing_span_is_logged_once_and_the_message_handled(
    caplog: pytest.LogCaptureFixture, order: dict[str, Any]
) -> None:
    syscontract.configure(tracer_provider=_BrokenProvider())
    handler = requires("order.v3", [TIER], on_violation="observe")(lambda event: "priced")
    broken = _BrokenSpan(trace.INVALID_SPAN_CONTEXT)

    with caplog.at_level(logging.WARNING, logger="syscontract"), trace.use_span(broken):
        results = [handler(order) for _ in range(3)] + [handler(v2_shaped(order)) for _ in range(2)]

    assert ["priced"] * 5 == results
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 2 == len(warnings)  # once for passing messages, once for failed ones
    assert all("exporter down" in message for message in warnings)


def test_a_failing_child_span_still_handles_the_message(
    caplog: pytest.LogCaptureFixture, order: dict[str, Any]
) -> None:
    syscontract.configure(tracer_provider=_BrokenProvider(), spans="child")
    handler = requires("order.v3", [TIER])(lambda event: "priced")

    with caplog.at_level(logging.WARNING, logger="syscontract"):
        assert ["priced", "priced"] == [handler(order), handler(order)]

    assert ["tracer down"] == [str(r.exc_info[1]) for r in caplog.records if r.exc_info]


def test_a_failing_metrics_callback_is_logged_once_and_reports_nothing(
    monkeypatch: pytest.MonkeyPatch, meters: Meters, caplog: pytest.LogCaptureFixture, order: dict[str, Any]
) -> None:
    handler = requires("order.v3", [TIER])(lambda event: "priced")

    def broken() -> Any:
        raise RuntimeError("tally lost")

    monkeypatch.setattr(telemetry._tallies, "snapshot", broken)
    with caplog.at_level(logging.WARNING, logger="syscontract"):
        meters.collect()
        meters.collect()

    assert "priced" == handler(order)
    assert 1 == sum("tally lost" in r.getMessage() for r in caplog.records)


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{"tracer_provider": "jaeger"}, {"meter_provider": object()}, {"spans": "sometimes"}],
)
def test_bad_telemetry_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ContractDeclarationError):
        syscontract.configure(**options)


def test_a_bad_span_mode_is_refused_at_decoration() -> None:
    with pytest.raises(ContractDeclarationError, match="unknown span mode 'always'"):
        requires("order.v3", [TIER], spans="always")


def test_spans_none_goes_back_to_the_current_span(traces: Traces, order: dict[str, Any]) -> None:
    syscontract.configure(spans="child")
    syscontract.configure(spans=None)
    handler = requires("order.v3", [TIER])(lambda event: None)
    traces.consume(handler, order)

    assert ["orders process"] == [span.name for span in traces.spans()]


# -- the example ---------------------------------------------------------------------------------


def test_the_telemetry_example_prints_spans_and_metrics() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=False, timeout=60)
    assert 0 == result.returncode, result.stdout + result.stderr
    for name in ('"syscontract.outcome": "violation"', '"name": "syscontract.violation"',
                 '"name": "syscontract.messages"', '"name": "syscontract.declarations"',
                 '"syscontract.writer.version": "order.v2"'):  # fmt: skip
        assert name in result.stdout


# -- violations by field and reason (issue 25) ---------------------------------------------------------


def violations_of(meters: Meters) -> dict[tuple[tuple[str, str], ...], int]:
    metric = meters.collect()[telemetry.VIOLATIONS]
    return {tuple(sorted(point.attributes.items())): point.value for point in metric.data.data_points}


def test_violations_are_counted_by_critical_field_and_reason(meters: Meters, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: None)
    for _ in range(2):
        with pytest.raises(MissingCriticalField):
            handler(v2_shaped(order))

    expected = {("syscontract.contract", "order.v3"), ("syscontract.field", TIER), ("syscontract.reason", "absent"),
                ("syscontract.role", "consumer")}  # fmt: skip
    assert {tuple(sorted(expected)): 2} == violations_of(meters)
    assert [("order.v3", "consumer", None, TIER, "absent", 2)] == telemetry.violation_counts()


def test_a_violation_names_no_field_outside_the_declared_ones_and_no_reason_outside_the_fixed_set() -> None:
    # bounded attributes: a path the declaration does not name critical (validate="full" reports any
    # path, items[7].qty) and a keyword's reason are never labels
    reporter = telemetry.Reporter("order.v3", "consumer", None, lambda: ("pricing.price", (TIER,)))
    reporter.failed(MissingCriticalField("x", field="items[7].qty", reason="minimum"), "raise")
    reporter.failed(MissingCriticalField("x", field=TIER, reason="null", writer="order.v2"), "raise")

    assert {
        ("order.v3", "consumer", None, None, "other", 1),
        ("order.v3", "consumer", "order.v2", TIER, "null", 1),
    } == (set(telemetry.violation_counts()))
