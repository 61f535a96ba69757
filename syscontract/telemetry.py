"""OpenTelemetry reporting, through the API only: names, in-process tallies, observable instruments.

What is reported (``docs/telemetry.md`` has every name with its type, unit and meaning):

- the current span, when it is recording: ``syscontract.contract``, ``syscontract.outcome`` and, when
  the wire said it, ``syscontract.writer.version``, in one ``set_attributes`` call; on a violation the
  event ``syscontract.violation``, the exception, status ERROR and ``error.type``. A child span per
  message is opt-in (``configure(spans="child")`` or ``@requires(..., spans="child")``);
- meter ``syscontract``: the counters ``syscontract.messages`` and ``syscontract.violations`` (by
  critical field and reason: bounded by the declared critical fields and the fixed :data:`REASONS`,
  never a value) and the gauge ``syscontract.declarations``, all *observable*: messages are tallied
  in-process and reported when a metric reader collects, so a MeterProvider costs per collection, not per message;
- logs: violations at ERROR on logger ``syscontract`` (:mod:`syscontract._engine.policy`).

The cost model. A handler's wrapper is generated code (:mod:`syscontract._requires`), and what it does
per message is decided here, ahead of time, from what could possibly listen:

- nothing can record (no TracerProvider and no MeterProvider but the API's proxies): the wrapper is
  exactly the check, no telemetry instruction at all;
- a MeterProvider may collect: one ``next()`` on a per-contract ``itertools.repeat`` counting down
  (C code, no allocation, atomic under the GIL, so 8 threads on one handler lose nothing);
- a TracerProvider may record: one call that reads the current span and, only if it is recording,
  sets the prebuilt attributes.

"Could listen" is re-examined (:func:`probe`) when a handler is decorated, on each handler's first
call, on ``syscontract.configure()`` and ``verify()``, and on every metric collection, never per
message. So providers set up before the first message (the usual order: import handlers, set up the
SDK, consume) are seen from that message on; a global TracerProvider set after traffic started is
seen at the next metric collection or ``configure()`` call. Violations, decode errors and anything
else on the precise path are counted whatever the providers, since that path is not the cheap one.

Telemetry never raises into a handler: a failing span, provider or callback is logged once on
logger ``syscontract`` and the message is handled as it would be without telemetry.
"""

from __future__ import annotations

import itertools
import logging
import operator
import sys
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, NoOpMeterProvider, Observation
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, SpanKind, Status, StatusCode, TracerProvider

from syscontract import _semconv, inventory
from syscontract._config import on_telemetry_change, settings
from syscontract._version import __version__
from syscontract.errors import ContractError, ContractViolation

if TYPE_CHECKING:
    from types import TracebackType

    from opentelemetry.trace import Tracer

__all__ = [
    "CONTRACT",
    "DECLARATIONS",
    "DECODE_ERROR",
    "FIELD",
    "FIELDS",
    "HANDLER",
    "MESSAGES",
    "METER",
    "OK",
    "OTHER_REASON",
    "OUTCOME",
    "POLICY",
    "REASON",
    "REASONS",
    "ROLE",
    "STATE",
    "VIOLATION",
    "VIOLATIONS",
    "VIOLATION_EVENT",
    "WRITER_VERSION",
    "Reporter",
    "catch_up",
    "counts",
    "probe",
    "violation_counts",
]

logger = logging.getLogger("syscontract")

# -- names ---------------------------------------------------------------------------------------

METER: Final = "syscontract"
"""The meter's (and the tracer's) instrumentation scope name; its version is syscontract's."""
MESSAGES: Final = "syscontract.messages"
"""ObservableCounter, unit ``{message}``: messages checked, by contract, role, outcome, writer version."""
VIOLATIONS: Final = "syscontract.violations"
"""ObservableCounter, unit ``{violation}``: violations by contract, role, writer version, critical field, reason."""
DECLARATIONS: Final = "syscontract.declarations"
"""ObservableGauge, unit ``{declaration}``: one point per declaration (contract, role, handler, fields)."""
VIOLATION_EVENT: Final = "syscontract.violation"
"""Span event added on a violation, with ``syscontract.field``, ``syscontract.reason``, ``syscontract.policy``."""

CONTRACT: Final = "syscontract.contract"
ROLE: Final = "syscontract.role"
OUTCOME: Final = "syscontract.outcome"
WRITER_VERSION: Final = "syscontract.writer.version"
HANDLER: Final = "syscontract.handler"
FIELDS: Final = "syscontract.fields"
FIELD: Final = "syscontract.field"
REASON: Final = "syscontract.reason"
POLICY: Final = "syscontract.policy"

REASONS: Final = frozenset(
    {"absent", "null", "defaulted", "not-in-writer-schema", "unknown-symbol", "unverifiable", "type"}
)
"""The reasons ``syscontract.violations`` names; any other (a keyword of ``validate="full"``) is ``other``."""
OTHER_REASON: Final = "other"

OK: Final = "ok"
VIOLATION: Final = "violation"
DECODE_ERROR: Final = "decode_error"

# -- failures are logged once, never raised --------------------------------------------------------

_failures: set[str] = set()


def _failed(where: str, exc: BaseException) -> None:
    if where not in _failures:
        _failures.add(where)
        logger.warning(
            "syscontract telemetry: %s failed (%s: %s); messages are handled as without telemetry, "
            "further failures of this kind are not logged",
            where,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )


# -- in-process tallies --------------------------------------------------------------------------

# A counter is an itertools.repeat(None, N) that counts *down*: next() on it is C code that allocates
# nothing (itertools.count allocates an int per step: ~21 ns against ~13 ns measured) and cannot be
# interrupted by another thread, so concurrent increments are never lost; length_hint() reads what
# is left. N = sys.maxsize lasts 290 years at a billion messages per second.
_START: Final = sys.maxsize
_MAX_SERIES: Final = 4096  # writer versions come from the wire: past this, new ones are counted without
_MAX_WRITERS_PER_REPORTER: Final = 64

_Key = tuple[str, str, str, str | None]  # contract, role, outcome, writer version
_ViolationKey = tuple[str, str, str | None, str | None, str]  # contract, role, writer version, field, reason


def _new_counter() -> itertools.repeat[None]:
    return itertools.repeat(None, _START)


def _read(counter: itertools.repeat[None]) -> int:
    return _START - operator.length_hint(counter)


class _Tallies:
    """Message counts since start (or :func:`syscontract._config.reset`), one counter per series."""

    def __init__(self) -> None:
        self._counters: dict[_Key, itertools.repeat[None]] = {}
        self._violations: dict[_ViolationKey, int] = {}
        self._lock = threading.Lock()

    def counter(self, contract: str, role: str, outcome: str, writer: str | None) -> itertools.repeat[None]:
        key = (contract, role, outcome, writer)
        counter = self._counters.get(key)
        if counter is None:
            with self._lock:
                if writer is not None and key not in self._counters and len(self._counters) >= _MAX_SERIES:
                    key = (contract, role, outcome, None)
                counter = self._counters.setdefault(key, _new_counter())
        return counter

    def snapshot(self) -> list[tuple[_Key, int]]:
        with self._lock:
            items = list(self._counters.items())
        return [(key, _read(counter)) for key, counter in items]

    def violated(self, key: _ViolationKey) -> None:
        """Count one violation (the precise path only: a lock is cheap there)."""
        with self._lock:
            if key not in self._violations and len(self._violations) >= _MAX_SERIES:
                key = (key[0], key[1], None, key[3], key[4])  # writer versions come from the wire
            self._violations[key] = self._violations.get(key, 0) + 1

    def violations(self) -> list[tuple[_ViolationKey, int]]:
        with self._lock:
            return list(self._violations.items())


_tallies = _Tallies()


def counts() -> list[tuple[str, str, str, str | None, int]]:
    """What ``syscontract.messages`` reports now, read in-process: ``(contract, role, outcome,
    writer version, count)`` per series, counted since start. Passing messages on a fast path are
    counted only while a MeterProvider may collect; the precise path always counts."""
    return [(*key, count) for key, count in _tallies.snapshot() if count]


def violation_counts() -> list[tuple[str, str, str | None, str | None, str, int]]:
    """What ``syscontract.violations`` reports now: ``(contract, role, writer version, field, reason,
    count)`` per series, counted since start. ``field`` is None when the failing field is not one of
    the declaration's critical fields; ``reason`` is one of :data:`REASONS` or ``other``."""
    return [(*key, count) for key, count in _tallies.violations()]


# -- what could listen ---------------------------------------------------------------------------


class _State:
    """What the providers allow, as last probed. Wrappers are generated from it."""

    def __init__(self) -> None:
        self.tracer_provider: TracerProvider | None = None
        self.tracer: Tracer | None = None
        self.tracing = False  # a span could be recording: worth looking at the current one
        self.counting = False  # a metric reader could collect: worth counting passing messages
        self.collected = False  # a metric reader did collect our instruments
        self.spans = "current"  # the process-wide span mode
        self.stale = False  # a collection saw what the last probe did not: probe on the next chance


STATE: Final = _State()
"""What the providers allow, as last probed. Updated in place (never replaced), so the broker
guards hold it and read ``tracing`` and ``stale`` per message instead of asking the providers."""
_lock = threading.RLock()
_global_instruments = False
_instrumented: weakref.WeakSet[MeterProvider] = weakref.WeakSet()
_instrumented_strongly: list[MeterProvider] = []


def _may_record(provider: TracerProvider) -> bool:
    # the API's proxy (no provider set yet) and no-op providers never record; anything else may
    return not isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider))


def _may_collect(provider: MeterProvider) -> bool:
    # the API's proxy for an unset global is a private class: recognised by name, not imported
    return not isinstance(provider, NoOpMeterProvider) and type(provider).__name__ != "_ProxyMeterProvider"


def probe() -> bool:
    """Look at the configured (or global) providers now; if what may record changed, regenerate the
    wrappers of every declaration so that each message does exactly what is worth doing (and
    return True).

    Called on decoration, on each handler's first call, by ``configure()`` and ``verify()``, and by
    the next precise check after a metric collection noticed a change (a collection itself never
    regenerates code: it runs on the exporter's thread). Call ``syscontract.configure()`` after
    setting a global provider late, once traffic already runs."""
    try:
        current = settings()
        tracer_provider = current.tracer_provider
        if tracer_provider is None:
            tracer_provider = trace.get_tracer_provider()
        meter_provider = current.meter_provider
        if meter_provider is None:
            meter_provider = metrics.get_meter_provider()
        with _lock:
            _instrument(meter_provider, explicit=current.meter_provider is not None)
            before = (STATE.tracing, STATE.counting, STATE.spans)
            if tracer_provider is not STATE.tracer_provider:
                STATE.tracer_provider = tracer_provider
                STATE.tracer = tracer_provider.get_tracer(METER, __version__, _semconv.SCHEMA_URL)
            STATE.tracing = _may_record(tracer_provider)
            STATE.counting = STATE.collected or _may_collect(meter_provider)
            STATE.spans = current.spans
            changed = before != (STATE.tracing, STATE.counting, STATE.spans)
    except ContractError:
        return False  # bad settings (an environment variable): configure() and the first violation say so
    except Exception as exc:
        _failed("probing the OpenTelemetry providers", exc)
        return False
    if changed:
        _refresh()
    return changed


def _refresh() -> None:
    for declaration in inventory.declarations():
        declaration.refresh()


def _instrument(provider: MeterProvider, *, explicit: bool) -> None:
    """Register the observable instruments once per provider. On the global meter they are created
    once: before a global provider is set, the API's proxy hands them over when it is."""
    global _global_instruments
    if not _global_instruments:
        _global_instruments = True
        _create_instruments(metrics.get_meter(METER, __version__, schema_url=_semconv.SCHEMA_URL))
    if explicit and not _seen(provider) and provider is not metrics.get_meter_provider():
        _create_instruments(provider.get_meter(METER, __version__, _semconv.SCHEMA_URL))


def _seen(provider: MeterProvider) -> bool:
    """Whether ``provider`` already has our instruments; remember it (weakly when it allows)."""
    try:
        if provider in _instrumented:
            return True
        _instrumented.add(provider)
    except TypeError:  # not weakly referenceable: keep it, providers are few
        if any(known is provider for known in _instrumented_strongly):
            return True
        _instrumented_strongly.append(provider)
    return False


def _create_instruments(meter: metrics.Meter) -> None:
    meter.create_observable_counter(
        MESSAGES,
        callbacks=[_observe_messages],
        unit="{message}",
        description="Messages checked by syscontract, by contract, role, outcome and writer version",
    )
    meter.create_observable_counter(
        VIOLATIONS,
        callbacks=[_observe_violations],
        unit="{violation}",
        description="Violations found by syscontract, by contract, role, writer version, critical field and reason",
    )
    meter.create_observable_gauge(
        DECLARATIONS,
        callbacks=[_observe_declarations],
        unit="{declaration}",
        description="Contract declarations in this process: contract, role, handler and critical fields",
    )


def _collected() -> None:
    # A reader collects us: counting pays off, and the tracer provider may have been set meanwhile.
    # This runs on the exporter's thread: it only takes note. Handlers' code is regenerated by the
    # next probe on a thread of the application's own (a precise check, configure(), verify()).
    if not STATE.collected:
        STATE.collected = True
        STATE.stale = True


def catch_up() -> None:
    """Probe now if a metric collection noticed something since the last probe (called from the
    precise path, on the application's thread)."""
    if STATE.stale:
        STATE.stale = False
        probe()


def _observe_messages(options: CallbackOptions) -> Iterable[Observation]:
    try:
        _collected()
        return [Observation(value, _message_attributes(key)) for key, value in _tallies.snapshot()]
    except Exception as exc:
        _failed(f"the {MESSAGES} callback", exc)
        return []


def _message_attributes(key: _Key) -> dict[str, str]:
    contract, role, outcome, writer = key
    attributes = {CONTRACT: contract, ROLE: role, OUTCOME: outcome}
    if writer is not None:
        attributes[WRITER_VERSION] = writer
    return attributes


def _observe_violations(options: CallbackOptions) -> Iterable[Observation]:
    try:
        _collected()
        points = []
        for (contract, role, writer, field, reason), value in _tallies.violations():
            attributes = {CONTRACT: contract, ROLE: role, REASON: reason}
            if writer is not None:
                attributes[WRITER_VERSION] = writer
            if field is not None:
                attributes[FIELD] = field
            points.append(Observation(value, attributes))
        return points
    except Exception as exc:
        _failed(f"the {VIOLATIONS} callback", exc)
        return []


def _observe_declarations(options: CallbackOptions) -> Iterable[Observation]:
    try:
        _collected()
        points: Counter[tuple[str, str, str, str]] = Counter()
        for declaration in inventory.declarations():
            points[declaration.reporter.declared()] += 1
        return [
            Observation(count, {CONTRACT: contract, ROLE: role, HANDLER: handler, FIELDS: fields})
            for (contract, role, handler, fields), count in points.items()
        ]
    except Exception as exc:
        _failed(f"the {DECLARATIONS} callback", exc)
        return []


def _reset() -> None:
    """Back to the start (``syscontract._config.reset()``, for tests): no tallies, nothing probed."""
    global _tallies
    with _lock:
        _tallies = _Tallies()
        STATE.__init__()  # type: ignore[misc]
        _failures.clear()
    # settings are not read here (they are read again lazily, maybe from a changed environment):
    # nothing may listen until the next probe; every wrapper counts into the new tallies
    _refresh()


on_telemetry_change(probe, _reset)

# -- one declaration's reporting -------------------------------------------------------------------


class Reporter:
    """What one declaration reports: its counters, its prebuilt span attributes, its child spans.

    ``spans``: ``"child"`` or ``"current"`` for this declaration, or None for the process-wide
    setting (``configure(spans=...)``)."""

    __slots__ = ("_declared", "_writers", "contract", "ok_attributes", "ok_counter", "role", "spans")

    def __init__(
        self, contract: str, role: str, spans: str | None, declared: Callable[[], tuple[str, Iterable[str]]]
    ) -> None:
        self.contract = contract
        self.role = role
        self.spans = spans
        self._declared = declared  # () -> (handler, fields): read at collection time, after resolution
        self.ok_attributes: dict[str, str] = {CONTRACT: contract, OUTCOME: OK}
        self.ok_counter = _tallies.counter(contract, role, OK, None)
        self._writers: dict[str, itertools.repeat[None]] = {}

    def bind(self) -> None:
        """Count into the current tallies (they are replaced by ``_config.reset()``)."""
        self.ok_counter = _tallies.counter(self.contract, self.role, OK, None)
        self._writers = {}

    def declared(self) -> tuple[str, str, str, str]:
        handler, fields = self._declared()
        return self.contract, self.role, handler, ",".join(fields)

    def plan(self) -> tuple[bool, bool, bool]:
        """What the generated wrapper does on a passing message: ``(count, mark, child)``; with a
        child span every message takes the precise path, which reports itself."""
        child = self.child
        return STATE.counting, STATE.tracing and not child, child

    @property
    def child(self) -> bool:
        """Whether each message gets a child span (one may record, and the mode says so)."""
        return STATE.tracing and (self.spans or STATE.spans) == "child"

    # -- the fast path (generated code calls these only when they may pay off) ----------------------

    def first(self) -> None:
        """Report a passing message on the handler's first call, when the wrapper did not yet know
        what to report."""
        count, mark, _ = self.plan()
        if count:
            next(self.ok_counter)
        if mark:
            self.mark_ok()

    def mark_ok(self) -> None:
        """Set the passing attributes on the current span, if it is recording."""
        try:
            span = trace.get_current_span()
            if span.is_recording():
                span.set_attributes(self.ok_attributes)
        except Exception as exc:
            _failed("annotating the current span", exc)

    # -- the precise path ----------------------------------------------------------------------------

    def ok(self, writer: str | None) -> None:
        """A message passed the precise check; ``writer`` is the writer's version when the wire said it."""
        try:
            if writer is None:
                next(self.ok_counter)
            else:
                writer = str(writer)
                counter = self._writers.get(writer)
                if counter is None:
                    counter = _tallies.counter(self.contract, self.role, OK, writer)
                    if len(self._writers) < _MAX_WRITERS_PER_REPORTER:
                        self._writers[writer] = counter
                next(counter)
            if STATE.tracing:
                span = trace.get_current_span()
                if span.is_recording():
                    span.set_attributes(
                        self.ok_attributes if writer is None else {**self.ok_attributes, WRITER_VERSION: writer}
                    )
        except Exception as exc:
            _failed("reporting a message", exc)

    def failed(self, error: ContractError, policy: str) -> None:
        """A message failed its check (a violation, or bytes that could not be decoded)."""
        try:
            outcome = VIOLATION if isinstance(error, ContractViolation) else DECODE_ERROR
            writer = None if error.writer is None else str(error.writer)
            next(_tallies.counter(self.contract, self.role, outcome, writer))
            if outcome == VIOLATION:
                _tallies.violated(self._violation_key(error, writer))
            if not STATE.tracing:
                return
            span = trace.get_current_span()
            if not span.is_recording():
                return
            error_type = type(error).__qualname__
            attributes = {CONTRACT: self.contract, OUTCOME: outcome, _semconv.ERROR_TYPE: error_type}
            if writer is not None:
                attributes[WRITER_VERSION] = writer
            span.set_attributes(attributes)
            if outcome == VIOLATION:
                event = {FIELD: error.field, REASON: error.reason, POLICY: policy}
                span.add_event(VIOLATION_EVENT, {key: value for key, value in event.items() if value is not None})
            span.record_exception(error)
            where = f" {error.field!r}" if error.field else ""
            span.set_status(Status(StatusCode.ERROR, f"{error_type}: {self.contract}{where} {error.reason or outcome}"))
        except Exception as exc:
            _failed("reporting a failed message", exc)

    def _violation_key(self, error: ContractError, writer: str | None) -> _ViolationKey:
        """Bounded attributes: a field only when it is one of the declaration's critical fields, a
        reason only from :data:`REASONS` (never a value, a free-form path or a message)."""
        _, fields = self._declared()
        field = error.field if error.field is not None and str(error.field) in set(fields) else None
        reason = error.reason if error.reason in REASONS else OTHER_REASON
        return (self.contract, self.role, writer, None if field is None else str(field), reason)

    def child_span(self) -> _ChildSpan:
        """A context manager around one message: a child span of the current one, current meanwhile."""
        return _ChildSpan(self.contract)


class _ChildSpan:
    """``start_as_current_span`` that never raises into the handler: if the tracer fails, no span."""

    __slots__ = ("_manager", "_name")

    def __init__(self, contract: str) -> None:
        self._name = f"syscontract {contract}"
        self._manager: Any = None

    def __enter__(self) -> None:
        tracer = STATE.tracer
        if tracer is None:
            return
        try:
            # the violation is recorded by Reporter.failed; the status still follows the handler
            manager = tracer.start_as_current_span(self._name, kind=SpanKind.INTERNAL, record_exception=False)
            manager.__enter__()
        except Exception as exc:
            _failed("starting a child span", exc)
        else:
            self._manager = manager

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._manager is None:
            return
        try:
            self._manager.__exit__(kind, error, traceback)
        except Exception as exc:
            if exc is not error:
                _failed("ending a child span", exc)
