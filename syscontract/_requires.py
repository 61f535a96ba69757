"""``@requires``, ``verify()`` and ``check()``: thin front ends over the engine.

``requires`` builds a :class:`~syscontract._engine.declaration.Declaration` (resolved once, its
wrapper generated); ``check`` runs the same :class:`~syscontract._engine.checker.Checker` as a
function, from a bounded cache of checkers per (contract, fields, validate, registry). A new
process-wide registry makes every declaration and cached checker forget what it resolved, and every
decoder forget its writer plans.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from syscontract import inventory, telemetry
from syscontract._config import as_registry, on_registry_change, parse_policy, parse_spans, settings
from syscontract._engine.checker import Checker
from syscontract._engine.declaration import Declaration
from syscontract._engine.decoder import forget_writers
from syscontract._engine.policy import DeadLetterSink, Policy
from syscontract.contract import Contract, ContractRef, FieldPath, parse_path
from syscontract.errors import ContractDeclarationError, RegistryError
from syscontract.registry import Registry, lookup

__all__ = ["check", "requires", "verify"]

F = TypeVar("F", bound=Callable[..., Any])

_VALIDATE = ("fields", "full")


def _contract_arg(contract: object) -> ContractRef | Contract:
    if isinstance(contract, Contract):
        return contract
    return ContractRef.parse(cast("str | ContractRef", contract))


def _fields_arg(fields: Iterable[str] | str) -> tuple[FieldPath, ...]:
    if isinstance(fields, str):
        fields = (fields,)
    return tuple(parse_path(path) for path in fields)


def _validate_arg(validate: str) -> str:
    if validate not in _VALIDATE:
        raise ContractDeclarationError(
            f"validate={validate!r}: expected 'fields' (the critical fields) or 'full' (the whole message too)",
            reason="bad-option",
        )
    return validate


def requires(
    contract: str | ContractRef | Contract,
    fields: Iterable[str] | str = (),
    *,
    on_violation: str | None = None,
    message: str | None = None,
    validate: str = "fields",
    registry: Registry | str | None = None,
    dead_letter: DeadLetterSink | None = None,
    spans: str | None = None,
) -> Callable[[F], F]:
    """Declare that a handler requires ``fields`` of ``contract`` to have been sent.

    ::

        @requires(contract="order.v3", fields=["customerTier", "customer.id"])
        def on_order(event: dict) -> None: ...

    Each message (a mapping, a pydantic model, or JSON bytes/str, which are decoded once and handed
    to the handler decoded) must carry every critical field (``fields`` plus the contract's own
    ``critical`` list): present, not null, of the contract's type, and not filled by a model default.
    Otherwise :class:`~syscontract.MissingCriticalField` or :class:`~syscontract.FieldTypeError`,
    handled by ``on_violation`` (``"raise"``, ``"dead_letter"``, ``"observe"``; default: the
    process-wide setting). The message is the first parameter after ``self``/``cls``, or the one
    named by ``message``. Works on sync and async functions and methods and keeps their signature.

    ``spans``: ``"child"`` starts a child span per message (when a TracerProvider may record),
    ``"current"`` annotates the current span only; default: ``configure(spans=...)``.

    An unknown field, a bad path or a bad option raises :class:`~syscontract.ContractDeclarationError`
    here; an unknown contract too, unless the registry cannot resolve it yet, in which case the first
    call and ``syscontract.verify()`` report it.
    """
    target = _contract_arg(contract)
    paths = _fields_arg(fields)
    _validate_arg(validate)
    policy = Policy(None if on_violation is None else parse_policy(on_violation, "on_violation"), dead_letter)
    if dead_letter is not None and not callable(dead_letter):
        raise ContractDeclarationError("dead_letter must be a callable sink", reason="bad-option")
    chosen = None if registry is None else as_registry(registry, "registry")
    span_mode = None if spans is None else parse_spans(spans, "spans")

    def decorate(handler: F) -> F:
        if isinstance(handler, (staticmethod, classmethod)):
            return cast(F, type(handler)(decorate(handler.__func__)))
        if not callable(handler):
            raise ContractDeclarationError(
                f"@requires decorates a function or method, not {type(handler).__name__}", reason="bad-handler"
            )
        if type(handler).__module__.startswith("faststream."):  # issue 23: the decorators in the wrong order
            raise ContractDeclarationError(
                f"@requires is above @broker.subscriber(...): it got FastStream's {type(handler).__name__}, not "
                "your handler. Use syscontract.integrations.faststream.guard(...) above @broker.subscriber "
                "instead: it checks the original bytes and headers, and dead-letters or redelivers a violating "
                "message (@requires below @broker.subscriber sees only what FastStream decoded, and a violation "
                "then follows the subscriber's ack_policy: REJECT_ON_ERROR drops it)",
                reason="bad-handler",
            )
        telemetry.probe()  # cheap; creates the instruments, and the wrapper is generated for what may listen
        declaration = Declaration(
            handler, target, paths, message=message, policy=policy, registry=chosen, spans=span_mode, validate=validate
        )
        try:
            declaration.resolve()
        except ContractDeclarationError as exc:
            if not isinstance(exc.__cause__, RegistryError) and not inventory.deferring():
                raise
            # the contract cannot be resolved yet: the first call (and verify()) will say so
        wrapper = functools.wraps(handler)(declaration.wrapper)
        wrapper.__syscontract__ = declaration  # type: ignore[attr-defined]
        inventory.add(declaration)
        if _router is not None:  # issue 22: reads are being recorded (see reroute() below)
            _route(declaration)
        return cast(F, wrapper)

    return decorate


def verify() -> None:
    """Resolve every declaration in this process now; raise one :class:`ContractDeclarationError`
    listing all problems (unknown contracts and fields, a dead-letter policy without a sink).

    Call it at start-up, after ``configure()``, so a bad declaration fails the deploy, not a message.
    It also looks at the OpenTelemetry providers again (set them up before calling it)."""
    telemetry.probe()
    problems = [problem for declaration in inventory.declarations() for problem in declaration.problems()]
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        error = ContractDeclarationError(
            f"{len(problems)} declaration problem{'s' if len(problems) != 1 else ''}:\n{listing}",
            reason="verify",
        )
        error.problems = tuple(problems)
        raise error


# -- issue 22: the read recorder's one hook into the engine (syscontract/lint/recorder.py) ----------
# The generated wrapper calls the user's function by the name ``_sc_h`` in the wrapper's namespace,
# which is the wrapper function's globals (``_Wrapper.install`` swaps only ``__code__``, so the name
# is looked up there on every call). While reads are recorded, ``reroute`` binds ``_sc_h`` to a
# recording function; afterwards to the user's function again. Nothing here runs per message, and
# not recording, the wrapper's code and namespace are exactly what they were.

Router = Callable[[Declaration, str], Callable[..., Any] | None]
"""``router(declaration, message_parameter)``: the function the wrapper should call instead of the
handler (with the handler's own arguments), or None for the handler itself."""

_router: Router | None = None
_route_lock = threading.Lock()


def reroute(router: Router | None) -> None:
    """Route the handler call of every declaration of this process, and of those made until the
    next call, through ``router``; ``reroute(None)``: every wrapper calls its handler directly again."""
    global _router
    with _route_lock:
        _router = router
        for declaration in inventory.declarations():
            _route_locked(declaration)


def _route(declaration: Declaration) -> None:
    # made after inventory.add: a reroute() running now either lists it or ran before the test
    with _route_lock:
        _route_locked(declaration)


def _route_locked(declaration: Declaration) -> None:
    if not isinstance(declaration, Declaration):
        return  # a @produces declaration: it calls no handler with a message
    wrapper = declaration._wrapper
    target = None if _router is None else _router(declaration, wrapper.message)
    with declaration._lock:
        wrapper.namespace["_sc_h"] = declaration.handler if target is None else target


# -- end of the read recorder's hook ----------------------------------------------------------------


_CHECKERS_MAX = 1024
_checkers: dict[tuple[Any, ...], Checker] = {}  # read without a lock (a dict read is atomic); bounded
_checkers_lock = threading.Lock()


def check(
    contract: str | ContractRef | Contract,
    message: Any,
    fields: Iterable[str] | str = (),
    *,
    validate: str = "fields",
    registry: Registry | str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> Any:
    """Check ``message`` as ``@requires`` would, and return the payload (decoded when it was bytes).

    ::

        order = syscontract.check("order.v3", raw_bytes, ["customerTier"])

    Raises :class:`~syscontract.DecodeError`, :class:`~syscontract.MissingCriticalField`,
    :class:`~syscontract.FieldTypeError`, or :class:`~syscontract.ContractDeclarationError` for a
    declaration no contract satisfies. Checkers are cached (bounded) per contract and fields.
    """
    if not isinstance(fields, (str, tuple)):
        fields = tuple(fields)  # once: an iterator is used up by reading it
    key = (contract, fields, validate, registry)
    checker = _checkers.get(key)
    if checker is None:
        checker = _build_checker(contract, fields, validate, registry)
        with _checkers_lock:
            while len(_checkers) >= _CHECKERS_MAX:
                del _checkers[next(iter(_checkers))]  # the oldest entry
            _checkers[key] = checker
    return checker.run(message, headers)


def _build_checker(
    contract: str | ContractRef | Contract, fields: Iterable[str] | str, validate: str, registry: Registry | str | None
) -> Checker:
    target = _contract_arg(contract)
    paths = _fields_arg(fields)
    _validate_arg(validate)
    chosen = None if registry is None else as_registry(registry, "registry")
    if isinstance(target, Contract):
        return Checker(target, paths, chosen, validate)
    chosen = settings().registry if chosen is None else chosen
    try:
        resolved = lookup(target, chosen)
    except RegistryError as exc:
        raise ContractDeclarationError(
            f"cannot resolve the contract: {exc.detail}", contract=str(target), reason=exc.reason
        ) from exc
    return Checker(resolved, paths, chosen, validate)


def _forget_resolutions() -> None:
    # a new process-wide registry: writer ids may mean other writers now, for every declaration
    # (those given a Contract object included)
    forget_writers()
    with _checkers_lock:
        _checkers.clear()
    for declaration in inventory.declarations():
        declaration.unresolve()


on_registry_change(_forget_resolutions)
