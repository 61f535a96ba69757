"""syscontract's telemetry captured in memory for a block: :class:`TelemetryCapture` configures the
in-memory providers of :mod:`syscontract.testing._otel` and reads syscontract's spans, violation
events, message counts and declarations back."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from syscontract import _config
from syscontract import telemetry as _telemetry
from syscontract.testing._otel import InMemoryMeterProvider, InMemorySpan, InMemoryTracerProvider, Point, SpanEvent

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["TelemetryCapture"]

_SeriesKey = frozenset[tuple[str, Any]]


class TelemetryCapture:
    """syscontract's telemetry in memory, for a block: no OpenTelemetry SDK needed.

    Starting it configures syscontract with an :class:`InMemoryTracerProvider` and an
    :class:`InMemoryMeterProvider` (``syscontract.configure(tracer_provider=..., meter_provider=...)``;
    handlers decorated before it started report through them too); stopping it restores the
    providers configured before. Message counts are those since the capture started.

    ::

        with TelemetryCapture() as capture:
            with capture.span("consume"):          # a recording span, current for the block
                on_order(stale_order)               # raises MissingCriticalField
            assert 1 == capture.messages(contract="order.v3", outcome="violation")
            assert "customer.customerTier" == capture.violations()[0].attributes["syscontract.field"]

    syscontract annotates the *current* span: run handlers inside :meth:`span` (or use
    ``spans="child"``) to see span attributes and violation events.
    """

    def __init__(self) -> None:
        self.tracer_provider = InMemoryTracerProvider()
        self.meter_provider = InMemoryMeterProvider()
        self.tracer = self.tracer_provider.get_tracer("syscontract.testing")
        self._saved: tuple[Any, Any] | None = None
        self._baseline: Counter[_SeriesKey] = Counter()

    def __repr__(self) -> str:
        return f"<TelemetryCapture {'started' if self._saved is not None else 'stopped'}>"

    def start(self) -> TelemetryCapture:
        """Configure the in-memory providers (restored by :meth:`stop`)."""
        if self._saved is not None:
            raise RuntimeError("this TelemetryCapture is already started")
        current = _config.settings()
        self._saved = (current.tracer_provider, current.meter_provider)
        _config.configure(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)
        self._baseline = self._counts()
        return self

    def stop(self) -> None:
        """Restore the providers configured before :meth:`start`."""
        if self._saved is None:
            return
        tracer_provider, meter_provider = self._saved
        self._saved = None
        _config.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)

    def __enter__(self) -> TelemetryCapture:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- spans -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def span(self, name: str = "test", attributes: Mapping[str, Any] | None = None) -> Iterator[InMemorySpan]:
        """A recording span, current for the block (a consumer span, as a broker instrumentation opens);
        an exception leaving the block is recorded on it and propagates."""
        with self.tracer.start_as_current_span(name, kind=SpanKind.CONSUMER, attributes=dict(attributes or {})) as span:
            yield span

    @property
    def spans(self) -> list[InMemorySpan]:
        """Every span started through the capture's tracer provider (yours and syscontract's child spans)."""
        return self.tracer_provider.spans

    def violations(self, contract: str | None = None) -> list[SpanEvent]:
        """The ``syscontract.violation`` span events, in order (of one contract, if given)."""
        found = []
        for span in self.spans:
            for event in list(span.events):
                if event.name != _telemetry.VIOLATION_EVENT:
                    continue
                if contract is None or span.attributes.get(_telemetry.CONTRACT) == contract:
                    found.append(event)
        return found

    # -- metrics -----------------------------------------------------------------------------------

    def collect(self) -> list[Point]:
        """Every point of syscontract's observable instruments now (cumulative since start-up)."""
        return self.meter_provider.collect()

    def _counts(self) -> Counter[_SeriesKey]:
        counts: Counter[_SeriesKey] = Counter()
        for point in self.meter_provider.collect(_telemetry.MESSAGES):
            counts[frozenset(point.attributes.items())] += int(point.value)
        return counts

    def messages(
        self,
        contract: str | None = None,
        outcome: str | None = None,
        writer: str | None = None,
        role: str | None = None,
    ) -> int:
        """Messages syscontract counted since the capture started (``syscontract.messages``), summed
        over the series that match every filter given: ``contract`` (``order.v3``), ``outcome``
        (``ok``, ``violation``, ``decode_error``), ``writer`` (``order.v2``), ``role`` (``consumer``)."""
        wanted = {
            _telemetry.CONTRACT: contract,
            _telemetry.OUTCOME: outcome,
            _telemetry.WRITER_VERSION: writer,
            _telemetry.ROLE: role,
        }
        total = 0
        for key, count in self._counts().items():
            attributes = dict(key)
            if all(value is None or attributes.get(name) == value for name, value in wanted.items()):
                total += max(0, count - self._baseline.get(key, 0))
        return total

    def declarations(self, contract: str | None = None, role: str | None = None) -> list[Point]:
        """The points of ``syscontract.declarations`` (one per contract, role, handler and fields),
        of one contract or role if given."""
        return [
            point
            for point in self.meter_provider.collect(_telemetry.DECLARATIONS)
            if (contract is None or point.attributes.get(_telemetry.CONTRACT) == contract)
            and (role is None or point.attributes.get(_telemetry.ROLE) == role)
        ]

    def clear(self) -> None:
        """Forget the spans recorded and count messages from now on."""
        self.tracer_provider.clear()
        self._baseline = self._counts()
