"""Process-wide settings: ``syscontract.configure()`` and the environment variables it reads.

Environment: ``SYSCONTRACT_CONTRACTS`` (the default registry's directory, ``./contracts`` otherwise),
``SYSCONTRACT_ON_VIOLATION`` (``raise``, ``dead_letter`` or ``observe``), ``SYSCONTRACT_ENVIRONMENT``,
and OpenTelemetry's ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
(``deployment.environment.name``). Telemetry uses the global OpenTelemetry providers unless
``configure(tracer_provider=..., meter_provider=...)`` names others.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from syscontract import _semconv
from syscontract.errors import ContractDeclarationError
from syscontract.registry import FileRegistry, Registry

if TYPE_CHECKING:
    from syscontract._engine.policy import DeadLetterSink

__all__ = ["POLICIES", "SPANS", "configure", "settings"]

POLICIES: Final = ("raise", "dead_letter", "observe")
SPANS: Final = ("current", "child")


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()


def parse_policy(value: object, source: str) -> str:
    if value not in POLICIES:
        raise ContractDeclarationError(
            f"{source}: unknown violation policy {value!r}; expected one of {', '.join(map(repr, POLICIES))}",
            reason="bad-option",
        )
    return str(value)


LOG_VIOLATIONS = ("handled", "all", "none")


def parse_log_violations(value: object, source: str) -> str:
    if value not in LOG_VIOLATIONS:
        raise ContractDeclarationError(
            f"{source}={value!r}: expected 'handled' (log the violations that do not propagate: dead_letter, "
            "observe), 'all' (raised ones too) or 'none'",
            reason="bad-option",
        )
    return str(value)


def parse_spans(value: object, source: str) -> str:
    if value not in SPANS:
        raise ContractDeclarationError(
            f"{source}: unknown span mode {value!r}; expected 'current' (annotate the current span) or "
            "'child' (a child span per message)",
            reason="bad-option",
        )
    return str(value)


def _resource_attribute(key: str) -> str | None:
    for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        name, _, value = pair.partition("=")
        if name.strip() == key and value.strip():
            return value.strip()
    return None


class Settings:
    """The current process-wide settings (read them through :func:`settings`)."""

    def __init__(self) -> None:
        self.explicit_registry: Registry | None = None
        self._default_registry: Registry | None = None
        self.service: str | None = os.environ.get("OTEL_SERVICE_NAME") or None
        self.environment: str | None = (
            os.environ.get("SYSCONTRACT_ENVIRONMENT")
            or _resource_attribute(_semconv.DEPLOYMENT_ENVIRONMENT_NAME)
            or _resource_attribute(_semconv.DEPLOYMENT_ENVIRONMENT)
        )
        policy = os.environ.get("SYSCONTRACT_ON_VIOLATION")
        self.on_violation = parse_policy(policy, "SYSCONTRACT_ON_VIOLATION") if policy else "raise"
        self.dead_letter: DeadLetterSink | None = None
        self.tracer_provider: TracerProvider | None = None  # None: the global one
        self.meter_provider: MeterProvider | None = None  # None: the global one
        self.spans = "current"
        logged = os.environ.get("SYSCONTRACT_LOG_VIOLATIONS")
        self.log_violations = parse_log_violations(logged, "SYSCONTRACT_LOG_VIOLATIONS") if logged else "handled"

    @property
    def registry(self) -> Registry:
        """The configured registry, or the default ``FileRegistry`` (``SYSCONTRACT_CONTRACTS`` or
        ``./contracts``, relative to the working directory when first used)."""
        if self.explicit_registry is not None:
            return self.explicit_registry
        if self._default_registry is None:
            self._default_registry = FileRegistry(os.environ.get("SYSCONTRACT_CONTRACTS") or "contracts")
        return self._default_registry


_settings: Settings | None = None
_lock = threading.Lock()
_listeners: list[Callable[[], None]] = []
_telemetry: list[tuple[Callable[[], object], Callable[[], object]]] = []


def settings() -> Settings:
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = Settings()
    return _settings


def on_registry_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever the process-wide registry changes."""
    _listeners.append(listener)


def on_telemetry_change(on_configure: Callable[[], object], on_reset: Callable[[], object]) -> None:
    """Call ``on_configure`` after every ``configure()``, ``on_reset`` after :func:`reset`."""
    _telemetry.append((on_configure, on_reset))


def as_registry(value: object, source: str) -> Registry:
    if isinstance(value, (str, os.PathLike)):
        return FileRegistry(value)
    if isinstance(value, Registry):
        return value
    raise ContractDeclarationError(
        f"{source}: a registry is a path to a contracts directory or an object with get(), versions() and "
        f"names() (FileRegistry, MemoryRegistry), not {type(value).__name__}",
        reason="bad-option",
    )


def configure(
    *,
    registry: Registry | str | os.PathLike[str] | _Unset | None = UNSET,
    service: str | _Unset | None = UNSET,
    environment: str | _Unset | None = UNSET,
    on_violation: str | _Unset = UNSET,
    dead_letter: DeadLetterSink | _Unset | None = UNSET,
    tracer_provider: TracerProvider | _Unset | None = UNSET,
    meter_provider: MeterProvider | _Unset | None = UNSET,
    spans: str | _Unset | None = UNSET,
    log_violations: str | _Unset = UNSET,
) -> None:
    """Set process-wide defaults; options not passed keep their current value.

    ``registry``: a registry or a contracts directory (``None`` goes back to the default
    ``./contracts`` or ``SYSCONTRACT_CONTRACTS``). ``service``/``environment``: the names this process
    reports (default ``OTEL_SERVICE_NAME``, ``SYSCONTRACT_ENVIRONMENT``). ``on_violation``:
    ``"raise"`` (default), ``"dead_letter"`` or ``"observe"``, for every declaration that does not set
    its own. ``dead_letter``: the sink that receives violating messages under ``"dead_letter"``, a
    callable taking one :class:`~syscontract.DeadLetter` (a coroutine function for async handlers).

    Telemetry (OpenTelemetry API; see ``docs/telemetry.md``): ``tracer_provider`` replaces the
    global TracerProvider for syscontract; ``meter_provider`` gets syscontract's instruments too
    (``None``: back to the global ones only). ``spans``: ``"current"`` (default, or ``None``) sets
    syscontract's attributes on the current span, ``"child"`` starts a child span per message (it
    costs more than the check).

    ``log_violations`` (env ``SYSCONTRACT_LOG_VIOLATIONS``): ``"handled"`` (default) logs a violation at
    ERROR on logger ``syscontract`` when it does not propagate (``dead_letter``, ``observe``): a raised
    one is reported once, by the exception (and the span and metrics record it); ``"all"`` logs raised
    ones too; ``"none"`` logs none.
    Every call also looks at the global providers again, so calling ``configure()`` after
    ``set_tracer_provider()`` is enough for syscontract to see it.

    Declarations that use the process-wide registry are resolved again against a new one.

    ::

        syscontract.configure(service="pricing", on_violation="dead_letter", dead_letter=sink)
        syscontract.configure(tracer_provider=provider, meter_provider=meters, spans="child")
    """
    current = settings()
    changes: dict[str, Any] = {}
    if not isinstance(registry, _Unset):
        changes["explicit_registry"] = None if registry is None else as_registry(registry, "configure(registry=...)")
    if not isinstance(on_violation, _Unset):
        changes["on_violation"] = parse_policy(on_violation, "configure(on_violation=...)")
    if not isinstance(dead_letter, _Unset):
        if dead_letter is not None and not callable(dead_letter):
            raise ContractDeclarationError(
                "configure(dead_letter=...): a dead-letter sink must be callable", reason="bad-option"
            )
        changes["dead_letter"] = dead_letter
    if not isinstance(tracer_provider, _Unset):
        if tracer_provider is not None and not isinstance(tracer_provider, TracerProvider):
            raise ContractDeclarationError(
                "configure(tracer_provider=...) must be an opentelemetry.trace.TracerProvider, not "
                f"{type(tracer_provider).__name__}",
                reason="bad-option",
            )
        changes["tracer_provider"] = tracer_provider
    if not isinstance(meter_provider, _Unset):
        if meter_provider is not None and not isinstance(meter_provider, MeterProvider):
            raise ContractDeclarationError(
                "configure(meter_provider=...) must be an opentelemetry.metrics.MeterProvider, not "
                f"{type(meter_provider).__name__}",
                reason="bad-option",
            )
        changes["meter_provider"] = meter_provider
    if not isinstance(log_violations, _Unset):
        changes["log_violations"] = parse_log_violations(log_violations, "configure(log_violations=...)")
    if not isinstance(spans, _Unset):
        changes["spans"] = "current" if spans is None else parse_spans(spans, "configure(spans=...)")
    for name, value in (("service", service), ("environment", environment)):
        if not isinstance(value, _Unset):
            if value is not None and not isinstance(value, str):
                raise ContractDeclarationError(f"configure({name}=...) must be a string", reason="bad-option")
            changes[name] = value
    for name, value in changes.items():
        setattr(current, name, value)
    if "explicit_registry" in changes:
        for listener in list(_listeners):
            listener()
    for on_configure, _ in list(_telemetry):
        on_configure()


def reset() -> None:
    """Forget every setting (tests): the next read starts again from the environment."""
    global _settings
    with _lock:
        _settings = None
    for listener in list(_listeners):
        listener()
    for _, on_reset in list(_telemetry):
        on_reset()
