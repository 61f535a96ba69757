"""What happens to a message that fails its check: raise, dead-letter, or observe.

- ``"raise"`` (default): the handler is not called and the error propagates, so the broker
  redelivers or the framework reports it.
- ``"dead_letter"``: the sink receives a :class:`DeadLetter` (the original payload unchanged, its
  headers and the error) and the handler is not called. If the sink fails, its error propagates: a
  message is never dropped.
- ``"observe"``: the violation is logged and the handler is called anyway (a staged roll-out).
  Bytes that cannot be decoded, or whose writer is unknown, still raise: there is nothing
  meaningful to hand the handler.

One report per violation: every violation is reported to telemetry (the ``report`` hook: span event,
counter) before the policy acts, and logged at ERROR on the ``syscontract`` logger when it does not
propagate (``dead_letter``, ``observe``): a raised error is reported by whoever handles it, and a log
line as well would print it twice. ``configure(log_violations="all")`` logs raised ones too,
``"none"`` logs none. Nothing ever substitutes a default.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from syscontract import _semconv, telemetry
from syscontract._config import settings
from syscontract.errors import ContractDeclarationError, ContractError, ContractViolation

__all__ = ["DeadLetter", "DeadLetterSink", "log_violation"]

logger = logging.getLogger("syscontract")


@dataclass(frozen=True)
class DeadLetter:
    """A message that failed its contract, as handed to a dead-letter sink.

    ``payload`` is the message exactly as it arrived (bytes unchanged); ``headers`` are the headers it
    came with, if any; ``error`` says why it failed (its text names contract, field, reason, handler).
    """

    payload: Any
    headers: Mapping[str, Any] | None
    error: ContractError
    contract: str | None
    handler: str | None


DeadLetterSink: TypeAlias = Callable[[DeadLetter], Any]
Report: TypeAlias = Callable[[ContractError, str], None]


def log_violation(error: ContractError, policy: str, *, raised: bool = False) -> None:
    """Log ``error`` at ERROR on logger ``syscontract``, its attributes as structured ``extra``
    (the names of the span attributes and event, see :mod:`syscontract.telemetry`). ``raised``: the
    error propagates to the caller; logged only under ``configure(log_violations="all")``."""
    wanted = settings().log_violations
    if wanted == "none" or (raised and wanted != "all"):
        return
    logger.error(
        "%s [policy %s]",
        error,
        policy,
        extra={
            telemetry.CONTRACT: error.contract,
            telemetry.OUTCOME: telemetry.VIOLATION if isinstance(error, ContractViolation) else telemetry.DECODE_ERROR,
            telemetry.FIELD: error.field,
            telemetry.REASON: error.reason,
            telemetry.HANDLER: error.handler,
            telemetry.WRITER_VERSION: error.writer,
            telemetry.POLICY: policy,
            _semconv.ERROR_TYPE: type(error).__name__,
        },
    )


class Policy:
    """A declaration's violation policy: its own setting, or the process-wide one when it has none."""

    __slots__ = ("dead_letter", "on_violation")

    def __init__(self, on_violation: str | None, dead_letter: DeadLetterSink | None) -> None:
        self.on_violation = on_violation
        self.dead_letter = dead_letter

    def effective(self) -> tuple[str, DeadLetterSink | None]:
        current = settings()
        policy = self.on_violation or current.on_violation
        return policy, (self.dead_letter or current.dead_letter)

    def _decide(self, error: ContractError, report: Report | None) -> tuple[str, DeadLetterSink | None]:
        policy, sink = self.effective()
        if report is not None:
            report(error, policy)  # never raises: telemetry failures are logged, not propagated
        if policy == "dead_letter" and sink is None:
            log_violation(error, policy, raised=True)
            raise ContractDeclarationError(
                "on_violation='dead_letter' but no dead-letter sink is configured (pass dead_letter= to the "
                "decorator or to syscontract.configure()); the message was not handled",
                contract=error.contract,
                handler=error.handler,
                reason="bad-option",
                payload=error.payload,
                headers=error.headers,
            ) from error
        if policy == "observe" and not isinstance(error, ContractViolation):
            log_violation(error, policy, raised=True)
            return "raise", sink  # undecodable bytes or an unknown writer: nothing to hand the handler
        log_violation(error, policy, raised=policy == "raise")
        return policy, sink

    def apply(self, error: ContractError, call: Callable[[Any], Any], report: Report | None = None) -> Any:
        """Act on ``error``: raise it, hand it to the dead-letter sink, or ``call`` the handler with
        the decoded payload (observe). ``report(error, policy)`` is told first."""
        policy, sink = self._decide(error, report)
        if policy == "raise":
            raise error
        if policy == "dead_letter":
            assert sink is not None
            try:
                raise error  # the sink runs while the violation is handled: its failure chains to it
            except ContractError:
                sink(_letter(error))
            return None
        return call(error.decoded)

    async def apply_async(
        self, error: ContractError, call: Callable[[Any], Awaitable[Any]], report: Report | None = None
    ) -> Any:
        """:meth:`apply` for async handlers (the sink may be a coroutine function)."""
        policy, sink = self._decide(error, report)
        if policy == "raise":
            raise error
        if policy == "dead_letter":
            assert sink is not None
            try:
                raise error  # the sink runs while the violation is handled: its failure chains to it
            except ContractError:
                result = sink(_letter(error))
                if inspect.isawaitable(result):
                    await result
            return None
        return await call(error.decoded)


def _letter(error: ContractError) -> DeadLetter:
    return DeadLetter(
        payload=error.payload, headers=error.headers, error=error, contract=error.contract, handler=error.handler
    )
