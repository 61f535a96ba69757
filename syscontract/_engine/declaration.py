"""A ``@requires`` declaration, resolved once, and the wrapper generated for its handler.

Everything is decided when the decorator is applied: the contract is resolved, the critical paths
are checked against it (:class:`~syscontract._engine.checker.Checker`), and a wrapper is generated
with the handler's own parameters and the checks inlined, so that a passing dict costs one class test
per step and no function calls. When the contract cannot be resolved yet (the registry is configured
later), the wrapper resolves it on its first call; a new process-wide registry re-resolves it.

Telemetry is part of the generated code too (:mod:`syscontract.telemetry` decides what): nothing when
no OpenTelemetry provider could record, one counting step when a MeterProvider may collect, one call
annotating the current span when a TracerProvider may record. The wrapper is regenerated when that
changes, and after the handler's first call, which looks at the providers again, always on a thread
that calls the handler or configures syscontract, never on an exporter's collection thread.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from syscontract import inventory, telemetry, wire
from syscontract._codegen import MESSAGE, Code, compile_function
from syscontract._config import settings
from syscontract._engine.checker import Checker
from syscontract._engine.fastpath import FRAMING_HEADERS, KEY_FRAMING_HEADERS
from syscontract._engine.policy import Policy
from syscontract._engine.protobuf import wants_dict
from syscontract.contract import Contract, ContractRef, FieldPath
from syscontract.errors import ContractDeclarationError, ContractError, RegistryError
from syscontract.registry import Registry, lookup

__all__ = ["FRAMING_HEADERS", "Declaration", "declared_contract"]


def declared_contract(contract: ContractRef | Contract, registry: Registry | None, handler: str) -> Contract:
    """The contract a declaration names: given, or looked up in its registry (the process-wide one by
    default). A contract the registry cannot serve is a :class:`ContractDeclarationError` naming the
    handler, chained from the :class:`RegistryError`."""
    if isinstance(contract, Contract):
        return contract
    try:
        return lookup(contract, registry if registry is not None else settings().registry)
    except RegistryError as exc:
        raise ContractDeclarationError(
            f"cannot resolve the contract: {exc.detail}",
            contract=str(contract),
            reason=exc.reason or "unknown-contract",
            handler=handler,
        ) from exc


class Declaration:
    """One ``@requires`` declaration: what a handler depends on, and the state of its resolution."""

    role = "consumer"

    def __init__(
        self,
        handler: Callable[..., Any],
        contract: ContractRef | Contract,
        fields: tuple[FieldPath, ...],
        *,
        message: str | None,
        policy: Policy,
        registry: Registry | None,
        spans: str | None = None,
        validate: str = "fields",
    ) -> None:
        self.handler = handler
        self.name = inventory.handler_name(handler)
        self.contract = contract
        self.ref = contract.ref if isinstance(contract, Contract) else contract
        self.fields = fields
        self.policy = policy
        self.registry = registry
        self.validate = validate
        self.checker: Checker | None = None
        self.is_async = inspect.iscoroutinefunction(handler)
        self._lock = threading.RLock()
        self.reporter = telemetry.Reporter(str(self.ref), self.role, spans, self._declared)
        self.probed = False  # until the first call, which looks at the OpenTelemetry providers again
        self._wrapper = _Wrapper(self, message)
        # a protobuf contract's handler that declares its message a dict receives one
        self.wants_dict = wants_dict(handler, self._wrapper.message)
        self.wrapper: Callable[..., Any] = self._wrapper.function
        self._wire_checks: list[_WireCheck] = []

    def __repr__(self) -> str:
        fields = ", ".join(str(f) for f in self.fields)
        return f"<Declaration {self.role} {self.ref} [{fields}] {self.name}>"

    def _declared(self) -> tuple[str, tuple[str, ...]]:
        checker = self.checker
        fields = checker.fields if checker is not None else tuple(path.text for path in self.fields)
        return self.name, fields

    @property
    def resolved(self) -> bool:
        return self.checker is not None

    def resolve(self) -> Checker:
        """Resolve the contract and build the checker (once); raise :class:`ContractDeclarationError`."""
        with self._lock:
            if self.checker is not None:
                return self.checker
            contract = declared_contract(self.contract, self.registry, self.name)
            try:
                checker = Checker(contract, self.fields, self.registry, self.validate, as_dict=self.wants_dict)
            except ContractDeclarationError as exc:
                exc.handler = self.name
                raise
            self._wrapper.install(checker)
            for view in self._wire_checks:
                view.install(checker)
            self.checker = checker
            return checker

    def unresolve(self) -> None:
        """Forget the resolved contract (the registry changed): resolve again on the next call."""
        with self._lock:
            if self.registry is None and not isinstance(self.contract, Contract):
                self.checker = None
                self._wrapper.install(None)
                for view in self._wire_checks:
                    view.install(None)

    def refresh(self) -> None:
        """Regenerate the wrapper for what telemetry now wants (called by :func:`telemetry.probe`)."""
        with self._lock:
            self.reporter.bind()
            if self.checker is not None:
                self._wrapper.rebind(self.checker)
                for view in self._wire_checks:
                    view.rebind(self.checker)

    def wire_check(
        self, headers: Callable[[Any], Any] | None = None, *, names: Callable[[str], Any] = str, key: bool = False
    ) -> Callable[[Any, Any], Any]:
        """A check ``(value, raw_headers) -> payload`` for a broker guard, generated like the
        wrapper (the same checker, reporter and precise path) and regenerated with it.

        A message whose raw headers (None, a dict, or a list of ``(name, value)`` pairs as Kafka
        gives them) name no writer (:data:`FRAMING_HEADERS`) and
        whose value is JSON bytes of an object, or Confluent-framed Avro from a writer already
        planned, is decoded and checked inline; anything else goes to the precise path as an
        :class:`~syscontract.wire.Envelope` of the value and ``headers(raw_headers)`` (the headers
        the decoder reads; ``raw_headers`` themselves by default). ``names``: how a header name
        appears in the raw headers (``str``, or ``str.encode`` for Redis fields). The declaration
        must be of a sync function returning its message (the guards' identity), so the precise
        path returns the payload, or under ``observe`` what the violating message sent. ``key``: the
        values are message keys, whose schema id travels in ``__key_schema_id`` (the decoder reads
        that header instead of the value's, and so does the test of the headers)."""
        framing = KEY_FRAMING_HEADERS if key else FRAMING_HEADERS
        with self._lock:
            view = _WireCheck(self, headers, tuple(names(name) for name in framing), key)
            if self.checker is not None:
                view.install(self.checker)
            self._wire_checks.append(view)
            return view.function

    def first_call(self, writer: str | None = None) -> None:
        """The first passing message on a fast path: look at the providers, install the wrapper
        without this call, and report this message as the new wrapper would have."""
        self._probe_once()
        if writer is None:
            self.reporter.first()
        else:
            self.reporter.ok(writer)

    def caught_up(self, writer: str | None = None) -> None:
        """A passing message on a fast path generated while nothing counted, after a metric collection
        noticed a listener: probe (every wrapper is regenerated to count) and report this message as
        the new wrapper would have."""
        telemetry.catch_up()
        if writer is None:
            self.reporter.first()
        else:
            self.reporter.ok(writer)

    def _probe_once(self) -> None:
        if self.probed:
            return
        self.probed = True
        if not telemetry.probe():  # a change regenerated every wrapper already
            self.refresh()

    def problems(self) -> list[ContractError]:
        """Every reason this declaration cannot work, resolving it if needed."""
        found: list[ContractError] = []
        try:
            self.resolve()
        except ContractError as exc:
            found.append(exc)
        policy, sink = self.policy.effective()
        if policy == "dead_letter" and sink is None:
            found.append(
                ContractDeclarationError(
                    "on_violation='dead_letter' but no dead-letter sink is configured",
                    contract=str(self.ref),
                    handler=self.name,
                    reason="bad-option",
                )
            )
        return found

    # -- called from the generated wrapper when the fast checks are unsure -------------------------

    def slow(self, message: Any, call: Callable[[Any], Any]) -> Any:
        if not self.probed:
            self._probe_once()
        telemetry.catch_up()
        if self.reporter.child:
            with self.reporter.child_span():
                return self._precise(message, call)
        return self._precise(message, call)

    def _precise(self, message: Any, call: Callable[[Any], Any]) -> Any:
        checker = self.checker or self.resolve()
        try:
            payload, writer = checker.run_detailed(message)
        except ContractError as exc:
            error = exc
        else:
            self.reporter.ok(writer)
            return call(payload)
        error.handler = self.name
        return self.policy.apply(error, call, self.reporter.failed)

    async def slow_async(self, message: Any, call: Callable[[Any], Any]) -> Any:
        if not self.probed:
            self._probe_once()
        telemetry.catch_up()
        if self.reporter.child:
            with self.reporter.child_span():
                return await self._precise_async(message, call)
        return await self._precise_async(message, call)

    async def _precise_async(self, message: Any, call: Callable[[Any], Any]) -> Any:
        checker = self.checker or self.resolve()
        try:
            payload, writer = checker.run_detailed(message)
        except ContractError as exc:
            error = exc
        else:
            self.reporter.ok(writer)
            return await call(payload)
        error.handler = self.name
        return await self.policy.apply_async(error, call, self.reporter.failed)


class _Wrapper:
    """Generates the handler's wrapper: same parameters, checks inlined, handler called directly."""

    def __init__(self, declaration: Declaration, message: str | None) -> None:
        handler = declaration.handler
        self.declaration = declaration
        try:
            signature = inspect.signature(handler)
        except (TypeError, ValueError) as exc:
            raise ContractDeclarationError(
                f"cannot read the signature of {declaration.name}: {exc}", reason="bad-handler"
            ) from exc
        parameters = list(signature.parameters.values())
        self.message = self._message_parameter(parameters, message, declaration.name)
        if any(p.name.startswith("_sc_") for p in parameters):
            raise ContractDeclarationError(
                f"{declaration.name}: parameter names starting with '_sc_' are reserved by syscontract",
                reason="bad-handler",
            )
        self.namespace: dict[str, Any] = {
            "_sc_h": handler,
            "_sc_slow": declaration.slow_async if declaration.is_async else declaration.slow,
            "_sc_resolve": declaration.resolve,
            "_sc_first": declaration.first_call,
            "_sc_mark": declaration.reporter.mark_ok,
            "_sc_caught_up": declaration.caught_up,
            "_sc_state": telemetry.STATE,
            "_sc_ok": declaration.reporter.ok,
            "_sc_next": next,  # under its own name: a handler parameter may be called ``next``
            "_sc_n": declaration.reporter.ok_counter,
        }
        self.params, self.call = self._signature(parameters)
        name = getattr(handler, "__name__", "handler")
        self.name = name if name.isidentifier() else "handler"
        self.label = f"@requires {declaration.name}"
        self.function: Callable[..., Any] = compile_function(self._source(None), self.name, self.namespace, self.label)
        self.namespace["_sc_self"] = self.function
        self.installed: tuple[Checker | None, tuple[bool, tuple[bool, bool, bool]]] = (None, self._plan())

    @staticmethod
    def _message_parameter(parameters: list[inspect.Parameter], message: str | None, name: str) -> str:
        usable = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                  inspect.Parameter.KEYWORD_ONLY)  # fmt: skip
        if message is not None:
            for parameter in parameters:
                if parameter.name == message and parameter.kind in usable:
                    return message
            raise ContractDeclarationError(
                f"{name} has no parameter {message!r} to take the message from "
                f"(parameters: {', '.join(p.name for p in parameters) or 'none'})",
                reason="bad-handler",
            )
        candidates = parameters[1:] if parameters and parameters[0].name in ("self", "cls") else parameters
        if not candidates or candidates[0].kind not in usable:
            raise ContractDeclarationError(
                f"{name} takes no message parameter: the message is the first parameter after self/cls, "
                "or the one named by message='...'",
                reason="bad-handler",
            )
        return candidates[0].name

    def _signature(self, parameters: list[inspect.Parameter]) -> tuple[str, str]:
        params: list[str] = []
        call: list[str] = []
        kind = inspect.Parameter
        seen_star = False
        for index, parameter in enumerate(parameters):
            text = parameter.name
            if parameter.default is not kind.empty:
                default_name = f"_sc_default{index}"
                self.namespace[default_name] = parameter.default
                text += f"={default_name}"
            if parameter.kind is kind.VAR_POSITIONAL:
                params.append(f"*{parameter.name}")
                call.append(f"*{parameter.name}")
                seen_star = True
                continue
            if parameter.kind is kind.VAR_KEYWORD:
                params.append(f"**{parameter.name}")
                call.append(f"**{parameter.name}")
                continue
            if parameter.kind is kind.KEYWORD_ONLY:
                if not seen_star:
                    params.append("*")
                    seen_star = True
                call.append(f"{parameter.name}={parameter.name}")
            else:
                call.append(parameter.name)
            params.append(text)
            if parameter.kind is kind.POSITIONAL_ONLY and (
                index + 1 == len(parameters) or parameters[index + 1].kind is not kind.POSITIONAL_ONLY
            ):
                params.append("/")
        return ", ".join(params), ", ".join(call)

    def _source(self, checker: Checker | None) -> str:
        is_async = self.declaration.is_async
        wait = "await " if is_async else ""
        code = Code()
        with code.block(f"{'async def' if is_async else 'def'} {self.name}({self.params}):"):
            if checker is None:
                code("_sc_resolve()", f"return {wait}_sc_self({self.call})")
                return code.text()
            if not self.declaration.reporter.child:
                # (a child span per message: the precise path opens it around the check and the handler)
                call = f"{wait}_sc_h({self._replace_message(self.call, MESSAGE)})"
                checker.builder.dispatch(code, self.message, lambda c, writer: c(*self._success(call, writer)))
            slow_call = self._replace_message(self.call, "_sc_x")
            code(f"return {wait}_sc_slow({self.message}, lambda _sc_x: _sc_h({slow_call}))")
        return code.text()

    def _success(self, call: str, writer: str | None) -> list[str]:
        """A passing message: telemetry (nothing unless something may listen, see
        :meth:`telemetry.Reporter.plan`), then the handler. ``writer``: an expression naming the
        writer's version, when this branch knows it."""
        count, mark, _ = self.declaration.reporter.plan()
        if not self.declaration.probed:
            report = [f"_sc_first({writer or ''})"]
        elif writer is not None:
            report = [f"_sc_ok({writer})"] if count or mark else []
        else:
            report = (["_sc_next(_sc_n)"] if count else []) + (["_sc_mark()"] if mark else [])
        if self.declaration.probed and not count:
            # nothing counts passing messages yet: a metric collection since may say something listens
            # (a provider set after the first message), and this wrapper would never look again
            otherwise = ["else:", *(f"    {r}" for r in report)] if report else []
            report = ["if _sc_state.stale:", f"    _sc_caught_up({writer or ''})", *otherwise]
        return [*report, f"return {call}"]

    def _replace_message(self, call: str, name: str) -> str:
        parts = []
        for part in call.split(", "):
            if part == self.message:
                parts.append(name)
            elif part == f"{self.message}={self.message}":
                parts.append(f"{self.message}={name}")
            else:
                parts.append(part)
        return ", ".join(parts)

    def install(self, checker: Checker | None) -> None:
        """Swap the wrapper's code for checks compiled against ``checker`` (or back to resolve-first).

        The function object users hold stays the same; only its code and namespace change."""
        namespace = self.namespace
        namespace["_sc_n"] = self.declaration.reporter.ok_counter
        source = self._source(checker)
        if checker is not None:
            namespace.update(checker.namespace)  # after writing: the builder binds what the code reads
        self.function.__code__ = compile_function(source, self.name, dict(namespace), self.label).__code__
        self.installed = (checker, self._plan())

    def _plan(self) -> tuple[bool, tuple[bool, bool, bool]]:
        return self.declaration.probed, self.declaration.reporter.plan()

    def rebind(self, checker: Checker) -> None:
        """Telemetry changed: rebind the counter, and regenerate the code only if it must change."""
        self.namespace["_sc_n"] = self.declaration.reporter.ok_counter
        if self.installed != (checker, self._plan()):
            self.install(checker)


def _same(payload: Any) -> Any:
    return payload


class _WireCheck(_Wrapper):
    """:meth:`Declaration.wire_check`'s generated function: ``check(value, raw_headers)``."""

    def __init__(
        self,
        declaration: Declaration,
        headers: Callable[[Any], Any] | None,
        framing: tuple[Any, ...],
        key: bool = False,
    ) -> None:
        self.declaration = declaration
        self.message = "_sc_value"
        self.framing = framing
        self.key = key
        self.namespace = {
            "_sc_slow": declaration.slow,
            "_sc_resolve": declaration.resolve,
            "_sc_first": declaration.first_call,
            "_sc_mark": declaration.reporter.mark_ok,
            "_sc_caught_up": declaration.caught_up,
            "_sc_state": telemetry.STATE,
            "_sc_ok": declaration.reporter.ok,
            "_sc_next": next,
            "_sc_n": declaration.reporter.ok_counter,
            "_sc_same": _same,
            "_sc_headers": headers or _same,
            "_sc_Envelope": wire.Envelope,
        }
        self.params = self.call = "_sc_value, _sc_raw"
        self.name = "check"
        self.label = f"guard check {declaration.name}"
        self.function = compile_function(self._source(None), self.name, self.namespace, self.label)
        self.namespace["_sc_self"] = self.function
        self.installed = (None, self._plan())

    def _source(self, checker: Checker | None) -> str:
        code = Code()
        with code.block(f"def check({self.params}):"):
            if checker is None:
                code("_sc_resolve()", "return _sc_self(_sc_value, _sc_raw)")
                return code.text()
            if not self.declaration.reporter.child:
                # (a child span per message: the precise path does it all; so it does for a model contract
                # whose model pydantic's JSON parser may not build as the precise path does: the builder
                # writes no bytes form for it)
                builder = checker.builder
                unframed = builder.unframed("_sc_raw", self.framing)
                success = lambda c, writer: c(*self._success(MESSAGE, writer))  # noqa: E731
                builder.dispatch(code, "_sc_value", success, unframed=unframed, forms=("bytes",))
            key = ", key=True" if self.key else ""
            code(f"return _sc_slow(_sc_Envelope(_sc_value, _sc_headers(_sc_raw){key}), _sc_same)")
        return code.text()
