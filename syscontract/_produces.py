"""``@produces``: the producer declaration. What a function returns is checked before it is sent.

::

    @produces(contract="order.v3")
    def build_order(cart) -> dict: ...             # returns the payload, validated

    @produces(contract="order.v3", format="confluent")
    def order_message(cart) -> dict: ...           # returns Encoded(value, headers), ready to send

The returned payload (a mapping or a pydantic model) must satisfy the whole contract: every field the
contract requires, every type (whole-message validation), and the contract's own ``critical`` fields
set for real (not left to a model default). Otherwise the producer raises
:class:`~syscontract.ContractViolation` and nothing is sent. With ``format``, the result is encoded
by :func:`~syscontract.encode` and carries its version (``syscontract-contract`` header, or Confluent
framing). Producers appear in the inventory, in manifests and in telemetry with role ``producer``.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from syscontract import inventory, telemetry
from syscontract._config import as_registry
from syscontract._engine.checker import Checker
from syscontract._engine.declaration import declared_contract
from syscontract._engine.policy import log_violation
from syscontract.contract import Contract, ContractRef
from syscontract.encoding import FORMATS, encode
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    RegistryError,
)
from syscontract.registry import Registry

__all__ = ["Production", "produces"]

F = TypeVar("F", bound=Callable[..., Any])


class _Resolved:
    """A producer's contract, its critical-field checker and its whole-message validator."""

    __slots__ = ("checker", "contract", "validate")

    def __init__(self, contract: Contract, registry: Registry | None) -> None:
        from syscontract.validation import compile_validator

        self.contract = contract
        self.checker = Checker(contract, (), registry)
        self.validate = compile_validator(contract)


class Production:
    """One ``@produces`` declaration."""

    role = "producer"

    def __init__(
        self,
        function: Callable[..., Any],
        contract: ContractRef | Contract,
        registry: Registry | None,
        format: str | None,
    ) -> None:
        self.handler = function
        self.name = inventory.handler_name(function)
        self.contract = contract
        self.ref = contract.ref if isinstance(contract, Contract) else contract
        self.registry = registry
        self.format = format
        self.resolved_: _Resolved | None = None
        self._lock = threading.RLock()
        self.reporter = telemetry.Reporter(str(self.ref), self.role, None, self._declared)

    def __repr__(self) -> str:
        return f"<Production {self.ref} {self.name}>"

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the producer guarantees beyond the contract's required ones: its critical list."""
        resolved = self.resolved_
        return resolved.contract.critical if resolved is not None else ()

    def _declared(self) -> tuple[str, tuple[str, ...]]:
        return self.name, self.fields

    def resolve(self) -> _Resolved:
        """Resolve the contract and compile its checks (once)."""
        with self._lock:
            if self.resolved_ is not None:
                return self.resolved_
            contract = declared_contract(self.contract, self.registry, self.name)
            self.resolved_ = _Resolved(contract, self.registry)
            return self.resolved_

    def unresolve(self) -> None:
        with self._lock:
            if self.registry is None and not isinstance(self.contract, Contract):
                self.resolved_ = None

    def refresh(self) -> None:
        self.reporter.bind()

    def problems(self) -> list[ContractError]:
        try:
            self.resolve()
        except ContractError as exc:
            return [exc]
        return []

    def emit(self, payload: Any) -> Any:
        """Check ``payload`` as this producer's output; return it, or its encoding with ``format``."""
        resolved = self.resolved_ or self.resolve()
        try:
            protobuf = resolved.contract.format == "protobuf" and hasattr(payload, "SerializeToString")
            if not isinstance(payload, (dict, BaseModel)) and not protobuf:
                payload = dict(payload)  # any other mapping (a protobuf message as it is); anything else refused below
            data = payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel) else payload
            resolved.validate(data)
            resolved.checker.run(payload)  # the contract's critical fields, set for real
        except (ContractViolation, TypeError, ValueError) as exc:
            error = exc if isinstance(exc, ContractViolation) else _not_a_payload(self, payload, exc)
            error.handler = self.name
            error.payload = payload
            log_violation(error, "raise", raised=True)
            self.reporter.failed(error, "raise")
            raise error from (None if error is exc else exc)
        self.reporter.ok(None)
        if self.format is None:
            return payload
        return encode(resolved.contract, payload, format=self.format, registry=self.registry)


def _not_a_payload(production: Production, payload: Any, exc: Exception) -> ContractViolation:
    return ContractViolation(
        f"a producer must return a mapping or a pydantic model, not {type(payload).__name__} ({exc})",
        contract=str(production.ref),
        reason="type",
    )


def produces(
    contract: str | ContractRef | Contract,
    *,
    registry: Registry | str | None = None,
    format: str | None = None,
) -> Callable[[F], F]:
    """Declare that a function produces ``contract``: what it returns is validated against the whole
    contract before anything is sent, and encoded when ``format`` (``json``, ``avro``, ``confluent``)
    is given. Works on sync and async functions and methods, keeping their signature.

    A bad reference, an unknown format or an unknown contract (when the registry can resolve it now)
    raises :class:`~syscontract.ContractDeclarationError` here."""
    target = contract if isinstance(contract, Contract) else ContractRef.parse(contract)
    if format is not None and format not in FORMATS:
        raise ContractDeclarationError(
            f"unknown format {format!r}; expected one of {', '.join(FORMATS)}", reason="bad-option"
        )
    chosen = None if registry is None else as_registry(registry, "registry")

    def decorate(function: F) -> F:
        if isinstance(function, (staticmethod, classmethod)):
            return cast(F, type(function)(decorate(function.__func__)))
        if not callable(function):
            raise ContractDeclarationError(
                f"@produces decorates a function or method, not {type(function).__name__}", reason="bad-handler"
            )
        production = Production(function, target, chosen, format)
        try:
            production.resolve()
        except ContractDeclarationError as exc:
            if not isinstance(exc.__cause__, RegistryError) and not inventory.deferring():
                raise
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
                return production.emit(await function(*args, **kwargs))

            wrapper: Any = wrapper_async
        else:

            @functools.wraps(function)
            def wrapper_sync(*args: Any, **kwargs: Any) -> Any:
                return production.emit(function(*args, **kwargs))

            wrapper = wrapper_sync
        wrapper.__syscontract__ = production
        inventory.add(production)  # type: ignore[arg-type]
        return cast(F, wrapper)

    return decorate
