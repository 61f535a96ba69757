"""Process-wide settings: ``syscontract.configure()`` and the environment variables it reads.

Environment: ``SYSCONTRACT_CONTRACTS`` (the default registry's directory, ``./contracts`` otherwise),
``SYSCONTRACT_ON_VIOLATION`` (``raise``, ``dead_letter`` or ``observe``), ``SYSCONTRACT_ENVIRONMENT``,
and OpenTelemetry's ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
(``deployment.environment.name``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from syscontract.errors import ContractDeclarationError
from syscontract.registry import FileRegistry, Registry

if TYPE_CHECKING:
    from syscontract.policy import DeadLetterSink

__all__ = ["POLICIES", "configure", "settings"]

POLICIES: Final = ("raise", "dead_letter", "observe")


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()


def check_policy(value: object, source: str) -> str:
    if value not in POLICIES:
        raise ContractDeclarationError(
            f"{source}: unknown violation policy {value!r}; expected one of {', '.join(map(repr, POLICIES))}",
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
            or _resource_attribute("deployment.environment.name")
            or _resource_attribute("deployment.environment")
        )
        policy = os.environ.get("SYSCONTRACT_ON_VIOLATION")
        self.on_violation = check_policy(policy, "SYSCONTRACT_ON_VIOLATION") if policy else "raise"
        self.dead_letter: DeadLetterSink | None = None

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
) -> None:
    """Set process-wide defaults; options not passed keep their current value.

    ``registry``: a registry or a contracts directory (``None`` goes back to the default
    ``./contracts`` or ``SYSCONTRACT_CONTRACTS``). ``service``/``environment``: the names this process
    reports (default ``OTEL_SERVICE_NAME``, ``SYSCONTRACT_ENVIRONMENT``). ``on_violation``:
    ``"raise"`` (default), ``"dead_letter"`` or ``"observe"``, for every declaration that does not set
    its own. ``dead_letter``: the sink that receives violating messages under ``"dead_letter"``, a
    callable taking one :class:`~syscontract.DeadLetter` (a coroutine function for async handlers).

    Declarations that use the process-wide registry are resolved again against a new one.
    """
    current = settings()
    changes: dict[str, Any] = {}
    if not isinstance(registry, _Unset):
        changes["explicit_registry"] = None if registry is None else as_registry(registry, "configure(registry=...)")
    if not isinstance(on_violation, _Unset):
        changes["on_violation"] = check_policy(on_violation, "configure(on_violation=...)")
    if not isinstance(dead_letter, _Unset):
        if dead_letter is not None and not callable(dead_letter):
            raise ContractDeclarationError(
                "configure(dead_letter=...): a dead-letter sink must be callable", reason="bad-option"
            )
        changes["dead_letter"] = dead_letter
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


def reset() -> None:
    """Forget every setting (tests): the next read starts again from the environment."""
    global _settings
    with _lock:
        _settings = None
    for listener in list(_listeners):
        listener()
