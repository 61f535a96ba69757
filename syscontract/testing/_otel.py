"""In-memory implementations of the OpenTelemetry *API* (no SDK): a ``TracerProvider`` that keeps the
spans it starts and a ``MeterProvider`` whose observable instruments are collected on demand, as a
metric reader would. :class:`~syscontract.testing.TelemetryCapture` configures them for syscontract."""

from __future__ import annotations

import contextlib
import inspect
import random
import threading
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.util.types import Attributes

__all__ = [
    "InMemoryMeter",
    "InMemoryMeterProvider",
    "InMemoryObservable",
    "InMemorySpan",
    "InMemoryTracer",
    "InMemoryTracerProvider",
    "Point",
    "SpanEvent",
]


@dataclass(frozen=True)
class SpanEvent:
    """An event added to an :class:`InMemorySpan`: ``name``, ``attributes``, and the span's name."""

    name: str
    attributes: dict[str, Any]
    span: str = ""


@dataclass(frozen=True)
class Point:
    """One observation collected from an observable instrument."""

    instrument: str
    value: float
    attributes: dict[str, Any]


def _attributes(attributes: Attributes | Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in (attributes or {}).items()}


class InMemorySpan(trace.Span):
    """A span that records what it is told: ``name``, ``kind``, ``parent`` (a ``SpanContext`` or
    None), ``attributes``, ``events`` (:class:`SpanEvent`), ``status``, ``exceptions``, ``ended``."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.attributes: dict[str, Any] = _attributes(attributes)
        self.events: list[SpanEvent] = []
        self.links: list[tuple[SpanContext, dict[str, Any]]] = []
        self.status = Status(StatusCode.UNSET)
        self.exceptions: list[BaseException] = []
        self.ended = False
        self._context = context
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemorySpan {self.name!r} {self.status.status_code.name}{' ended' if self.ended else ''}>"

    def end(self, end_time: int | None = None) -> None:
        self.ended = True

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self.ended:
            with self._lock:
                self.attributes.update(_attributes(attributes))

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def add_event(self, name: str, attributes: Attributes = None, timestamp: int | None = None) -> None:
        if not self.ended:
            with self._lock:
                self.events.append(SpanEvent(name, _attributes(attributes), self.name))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if not self.ended:
            self.links.append((context, _attributes(attributes)))

    def update_name(self, name: str) -> None:
        if not self.ended:
            self.name = name

    def is_recording(self) -> bool:
        return not self.ended

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if not self.ended:
            self.status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        if self.ended:
            return
        self.exceptions.append(exception)
        event = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.escaped": escaped,
            **_attributes(attributes),
        }
        self.add_event("exception", event)


class InMemoryTracer(trace.Tracer):
    """Starts :class:`InMemorySpan` objects and records them on its provider."""

    def __init__(self, provider: InMemoryTracerProvider, name: str, version: str | None = None) -> None:
        self.provider = provider
        self.name = name
        self.version = version

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> InMemorySpan:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else random.getrandbits(128) or 1
        span_context = SpanContext(
            trace_id, random.getrandbits(64) or 1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
        span = InMemorySpan(name, span_context, parent if parent.is_valid else None, kind, attributes)
        for link in links or ():
            span.add_link(link.context, link.attributes)
        self.provider._record(span)
        return span

    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[InMemorySpan]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ):
            yield span


class InMemoryTracerProvider(trace.TracerProvider):
    """A ``TracerProvider`` of the OpenTelemetry API that keeps every span it starts in ``spans``."""

    def __init__(self) -> None:
        self._spans: list[InMemorySpan] = []
        self._lock = threading.Lock()

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> InMemoryTracer:
        return InMemoryTracer(self, instrumenting_module_name, instrumenting_library_version)

    def _record(self, span: InMemorySpan) -> None:
        with self._lock:
            self._spans.append(span)

    @property
    def spans(self) -> list[InMemorySpan]:
        """Every span started so far, in order."""
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


class InMemoryObservable(metrics.ObservableCounter, metrics.ObservableGauge, metrics.ObservableUpDownCounter):
    """An observable instrument that keeps its callbacks; :meth:`observe` calls them."""

    def __init__(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = "", kind: str = ""
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.kind = kind
        self.callbacks = list(callbacks or ())
        self._primed: set[int] = set()

    def __repr__(self) -> str:
        return f"<InMemoryObservable {self.kind} {self.name!r}>"

    def observe(self) -> list[Point]:
        """Call every callback once; their observations as :class:`Point` objects."""
        options = CallbackOptions()
        points: list[Point] = []
        for callback in self.callbacks:
            if inspect.isgenerator(callback):
                generator = cast("Generator[Iterable[Observation], CallbackOptions, None]", callback)
                if id(generator) not in self._primed:
                    next(generator)
                    self._primed.add(id(generator))
                observations: Iterable[Observation] = generator.send(options)
            else:
                observations = callback(options)
            points.extend(
                Point(self.name, observation.value, _attributes(observation.attributes)) for observation in observations
            )
        return points


class InMemoryMeter(metrics.Meter):
    """A ``Meter`` of the OpenTelemetry API: observable instruments keep their callbacks (collected
    by :meth:`InMemoryMeterProvider.collect`); synchronous instruments are no-ops."""

    def __init__(self, name: str, version: str | None = None, schema_url: str | None = None) -> None:
        super().__init__(name, version=version, schema_url=schema_url)
        self.observables: list[InMemoryObservable] = []

    def _observable(self, kind: str, name: str, callbacks: Sequence[Any] | None, unit: str, description: str) -> Any:
        instrument = InMemoryObservable(name, callbacks, unit, description, kind)
        self.observables.append(instrument)
        return instrument

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        return metrics.NoOpCounter(name, unit=unit, description=description)

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> metrics.UpDownCounter:
        return metrics.NoOpUpDownCounter(name, unit=unit, description=description)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        return metrics.NoOpHistogram(name, unit=unit, description=description)

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> Any:
        no_op = getattr(metrics, "NoOpGauge", None)  # opentelemetry-api >= 1.23
        return None if no_op is None else no_op(name, unit=unit, description=description)

    def create_observable_counter(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableCounter:
        return self._observable("counter", name, callbacks, unit, description)  # type: ignore[no-any-return]

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableGauge:
        return self._observable("gauge", name, callbacks, unit, description)  # type: ignore[no-any-return]

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[Any] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableUpDownCounter:
        return self._observable("up_down_counter", name, callbacks, unit, description)  # type: ignore[no-any-return]


class InMemoryMeterProvider(metrics.MeterProvider):
    """A ``MeterProvider`` of the OpenTelemetry API; :meth:`collect` calls every observable
    instrument's callbacks, as a metric reader would."""

    def __init__(self) -> None:
        self._meters: dict[tuple[str, str | None, str | None], InMemoryMeter] = {}
        self._lock = threading.Lock()

    def get_meter(
        self, name: str, version: str | None = None, schema_url: str | None = None, attributes: Attributes = None
    ) -> InMemoryMeter:
        with self._lock:
            key = (name, version, schema_url)
            meter = self._meters.get(key)
            if meter is None:
                meter = self._meters[key] = InMemoryMeter(name, version, schema_url)
            return meter

    @property
    def meters(self) -> list[InMemoryMeter]:
        with self._lock:
            return list(self._meters.values())

    def collect(self, instrument: str | None = None) -> list[Point]:
        """Observe every observable instrument (or only those named ``instrument``) now."""
        return [
            point
            for meter in self.meters
            for observable in list(meter.observables)
            if instrument is None or observable.name == instrument
            for point in observable.observe()
        ]
