"""What every broker integration shares: the check step, what a failure means for the message, the
dead-letter headers, and the OpenTelemetry spans and context propagation.

A guarded consumer does, per message: extract the producer's trace context from the headers and open
a ``process`` span (unless tracing is off or nothing could record), run the :class:`GuardCheck` (the
message's bytes and headers through a ``@requires``-wrapped identity function, so decoding, telemetry,
logging and error messages are exactly those of ``@requires``), then either call the user's handler
with the decoded payload and acknowledge, or dead-letter and acknowledge. Which errors are the
message's fault (dead-letter it) and which are the consumer's (redeliver it) is decided by
:func:`is_message_fault`, once, for every broker.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import CoroutineType, ModuleType
from typing import Any, Final

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, NoOpTracerProvider, ProxyTracerProvider, SpanKind, Tracer, TracerProvider

from syscontract import telemetry
from syscontract._config import settings
from syscontract._engine.declaration import Declaration
from syscontract._requires import requires
from syscontract._version import __version__
from syscontract.contract import Contract, ContractRef
from syscontract.errors import (
    ContractDeclarationError,
    ContractError,
    ContractViolation,
    DecodeError,
    MissingDependencyError,
    RegistryError,
)
from syscontract.registry import Registry

__all__ = [
    "DEAD_LETTER_EVENT",
    "ERROR",
    "ERROR_CONTRACT",
    "ERROR_FIELD",
    "ERROR_HANDLER",
    "ERROR_ID",
    "ERROR_MESSAGE",
    "ERROR_REASON",
    "ERROR_SOURCE",
    "ERROR_WRITER",
    "LISTENING",
    "NATS_MSG_ID",
    "ORIGINAL_NATS_MSG_ID",
    "GuardCheck",
    "Tracing",
    "awaitable",
    "call_handler",
    "dead_letter_headers",
    "dead_lettered",
    "guard_observes",
    "handler_name",
    "is_message_fault",
    "optional",
    "text",
]

# -- dead-letter headers ---------------------------------------------------------------------------
# Added next to the message's own headers, never in place of one: a dead letter keeps every original
# header (``syscontract-contract`` names the *writer* there, so the required contract has its own key).

ERROR: Final = "syscontract-error"
"""The error's class: ``MissingCriticalField``, ``FieldTypeError``, ``DecodeError``, ``RegistryError``."""
ERROR_MESSAGE: Final = "syscontract-error-message"
"""The error's text (contract, field, reason, writer, handler), at most 2,000 characters."""
ERROR_CONTRACT: Final = "syscontract-error-contract"
"""The contract the consumer required (``order.v3``)."""
ERROR_FIELD: Final = "syscontract-error-field"
"""The critical field path that failed (``customer.customerTier``), when one did."""
ERROR_REASON: Final = "syscontract-error-reason"
"""``absent``, ``null``, ``not-in-writer-schema``, ``type``, ``not-json``, ``unknown-contract``..."""
ERROR_WRITER: Final = "syscontract-error-writer"
"""The writer's version or schema id, when the wire said it (``order.v2``)."""
ERROR_HANDLER: Final = "syscontract-error-handler"
"""The guarded handler's qualified name."""
ERROR_SOURCE: Final = "syscontract-error-source"
"""Where the message was consumed from: NATS subject, RabbitMQ queue, Redis stream."""
ERROR_ID: Final = "syscontract-error-id"
"""The broker's id of the original message: JetStream ``stream:sequence``, Redis entry id,
RabbitMQ ``message_id`` (when the producer set one)."""

DEAD_LETTER_EVENT: Final = "syscontract.dead_letter"
"""Span event added when a message is dead-lettered, with ``messaging.destination.name`` of the
dead-letter destination."""

_MESSAGE_MAX = 2000

# -- OpenTelemetry semantic conventions for messaging, v1.27.0 ---------------------------------------
# https://opentelemetry.io/docs/specs/semconv/messaging/ ; kept here until syscontract._semconv has them

MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_DESTINATION_NAME: Final = "messaging.destination.name"
MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
MESSAGING_OPERATION_NAME: Final = "messaging.operation.name"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"
MESSAGING_CONSUMER_GROUP_NAME: Final = "messaging.consumer.group.name"
MESSAGING_BODY_SIZE: Final = "messaging.message.body.size"
MESSAGING_RABBITMQ_ROUTING_KEY: Final = "messaging.rabbitmq.destination.routing_key"

PROCESS: Final = "process"
SEND: Final = "send"


def optional(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the {module.split('.')[0]!r} package: pip install 'syscontract[{extra}]'",
            reason="missing-dependency",
        ) from exc


def handler_names(handler: Callable[..., Any]) -> tuple[str, str]:
    """A handler's module and qualified name: a function's own, a ``functools.partial``'s function's,
    a callable object's class's."""
    while isinstance(handler, functools.partial):
        handler = handler.func
    qualname = getattr(handler, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = type(handler).__qualname__
    return getattr(handler, "__module__", None) or "?", qualname


def handler_name(handler: Callable[..., Any]) -> str:
    return ".".join(handler_names(handler))


def is_message_fault(error: BaseException) -> bool:
    """Whether ``error`` is the message's own fault, so that redelivering it can never help: a
    violation, bytes that cannot be decoded, a writer the registry does not know. A registry that
    cannot be reached, a declaration that cannot be resolved, or anything else is the consumer's
    problem: the message is redelivered, not dead-lettered."""
    if isinstance(error, (ContractViolation, DecodeError)):
        return True
    return isinstance(error, RegistryError) and error.reason != "unreachable"


NATS_MSG_ID: Final = "Nats-Msg-Id"
"""JetStream's de-duplication header."""
ORIGINAL_NATS_MSG_ID: Final = "syscontract-original-nats-msg-id"
"""A dead letter's copy of the original's own ``Nats-Msg-Id`` (see :func:`keyed_by_position`)."""


def keyed_by_position(headers: dict[str, str], position: str) -> None:
    """Give a JetStream dead letter the ``Nats-Msg-Id`` ``syscontract-dead-letter:<stream>:<sequence>``
    of the original's position: a redelivery of the same message is de-duplicated by the dead-letter
    stream (one copy after a crash between publish and ack), and two messages never share an id,
    whatever ids their producers chose (a producer's id reused in another stream, or after the source
    stream's duplicate window, would make the dead-letter stream drop the second letter as a duplicate
    while its message is acknowledged: lost). The producer's own id is kept in
    ``syscontract-original-nats-msg-id``."""
    own = headers.get(NATS_MSG_ID)
    if own is not None:
        headers[ORIGINAL_NATS_MSG_ID] = own
    headers[NATS_MSG_ID] = f"syscontract-dead-letter:{position}"


def dead_letter_headers(
    headers: Mapping[str, Any] | None,
    error: ContractError,
    *,
    contract: str,
    source: str,
    message_id: str | None,
) -> dict[str, Any]:
    """The message's own headers, unchanged, plus the error's (``syscontract-error*``) as strings."""
    found = {
        ERROR: type(error).__name__,
        ERROR_MESSAGE: _one_line(str(error))[:_MESSAGE_MAX],
        ERROR_CONTRACT: error.contract or contract,
        ERROR_FIELD: error.field,
        ERROR_REASON: error.reason,
        ERROR_WRITER: None if error.writer is None else str(error.writer),
        ERROR_HANDLER: error.handler,
        ERROR_SOURCE: source,
        ERROR_ID: message_id,
    }
    letter: dict[str, Any] = dict(headers or {})
    letter.update((key, value) for key, value in found.items() if value is not None)
    return letter


def _one_line(text: str) -> str:
    # header values carry no line breaks (NATS and HTTP-style headers reject them)
    return " ".join(text.split())


async def call_handler(handler: Callable[..., Any], *args: Any) -> Any:
    """Call a sync or async handler from async code."""
    result = handler(*args)
    if awaitable(result):
        result = await result
    return result


def awaitable(result: Any) -> bool:
    """Whether a handler's result must be awaited (a coroutine is tested first: the usual case)."""
    return type(result) is CoroutineType or (result is not None and inspect.isawaitable(result))


class GuardCheck:
    """The contract check of a guarded consumer: ``(value, headers) -> payload``.

    A ``@requires`` declaration of an identity function, named after the user's handler so that
    errors, logs and the declarations inventory say which handler depends on what, checked through
    the declaration's wire check (:meth:`~syscontract._engine.declaration.Declaration.wire_check`):
    JSON objects and Confluent-framed Avro from known writers are decoded and checked inline,
    everything else takes the precise path with its headers. ``observe=True``: a violating message
    is logged and reported but handed on (a staged roll-out); undecodable bytes still fail.

    ``headers``: turns the raw headers a guard passes into the headers the decoder reads, only when
    it needs them (Redis builds them from an entry's fields); ``names``: how a header name looks in
    the raw headers (``str.encode`` for Redis fields).
    """

    def __init__(
        self,
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        *,
        registry: Registry | str | None = None,
        observe: bool = False,
        handler: Callable[..., Any] | None = None,
        headers: Callable[[Any], Any] | None = None,
        names: Callable[[str], Any] = str,
    ) -> None:
        def check(message: Any) -> Any:
            return message

        if handler is not None:
            check.__module__, check.__qualname__ = handler_names(handler)
        self.contract = str(contract.ref if isinstance(contract, Contract) else contract)
        self._check = requires(contract, fields, registry=registry, on_violation="observe" if observe else "raise")(
            check
        )
        declaration: Declaration = self._check.__syscontract__  # type: ignore[attr-defined]
        self.wire: Callable[[Any, Any], Any] = declaration.wire_check(headers, names=names)
        self.run: Callable[[bytes, Any], Any] = self.wire
        """``(value, raw headers) -> payload``: what a guard calls per message."""

    def __call__(
        self, value: bytes | bytearray | memoryview | str, headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None
    ) -> Any:
        """The decoded payload; raises :class:`ContractError` (the message's own bytes unchanged in
        its ``payload`` envelope)."""
        return self.wire(value, headers)


def guard_observes(on_violation: str) -> bool:
    """``"dead_letter"`` (default) or ``"observe"``; returns whether to observe."""
    if on_violation not in ("dead_letter", "observe"):
        raise ContractDeclarationError(
            f"on_violation={on_violation!r}: a guarded consumer dead-letters a violating message "
            "('dead_letter', the default) or hands it on after reporting it ('observe'); raising would "
            "redeliver it forever",
            reason="bad-option",
        )
    return on_violation == "observe"


# -- tracing ------------------------------------------------------------------------------------------


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Reads propagation headers whose values may be ``str`` or ``bytes``, in any letter case."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            for name, found in carrier.items():
                if isinstance(name, (str, bytes)) and text(name).lower() == key:
                    value = found
                    break
        if value is None:
            return None
        return [text(value)]

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [text(key) for key in carrier]


def text(value: Any) -> str:
    """A header name or value as text (bytes decoded as UTF-8)."""
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


_GETTER = _HeaderGetter()

LISTENING: Final = telemetry.STATE
"""What may record, as telemetry last probed it: a guard reads ``LISTENING.tracing`` (a span may
record) and ``LISTENING.stale`` (a metric collection saw something new) per message, instead of
asking the providers; :meth:`Tracing.tracer` asks them only when one of the two is set."""


class Tracing:
    """Consumer and producer spans for one messaging system, through the OpenTelemetry API only.

    Spans are started only when a provider could record (the one given to
    ``syscontract.configure(tracer_provider=...)`` or the global one); context is injected and
    extracted with the global propagator. Failures of telemetry are never raised into a handler.

    A guard asks :meth:`tracer` per message only when ``enabled`` and telemetry's probe found a
    provider that may record (:data:`LISTENING`): providers set up before the first message are seen
    from that message on, a global one set later from the next ``syscontract.configure()`` call or
    metric collection, as for ``@requires``."""

    def __init__(self, system: str, enabled: bool = True) -> None:
        self.system = system
        self.enabled = enabled
        self._provider: TracerProvider | None = None
        self._tracer: Tracer | None = None
        self._names: dict[str, str] = {}  # destination -> span name, bounded
        self._process = {MESSAGING_SYSTEM: system, MESSAGING_OPERATION_TYPE: PROCESS, MESSAGING_OPERATION_NAME: PROCESS}

    def tracer(self) -> Tracer | None:
        if not self.enabled:
            return None
        if LISTENING.stale:
            telemetry.catch_up()
        provider = settings().tracer_provider or trace.get_tracer_provider()
        if provider is not self._provider:
            self._provider = provider
            recording = not isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider))
            self._tracer = provider.get_tracer(__name__, __version__) if recording else None
        return self._tracer

    def _span_name(self, operation: str, destination: str) -> str:
        name = self._names.get(destination)
        if name is None:
            name = f"{operation} {destination}"
            if len(self._names) < _NAMES_MAX:
                self._names[destination] = name
        return name

    @contextmanager
    def consume(
        self, tracer: Tracer, destination: str, headers: Mapping[str, Any] | None, attributes: Mapping[str, Any]
    ) -> Iterator[trace.Span]:
        """A ``process`` span (kind CONSUMER) around one message, current meanwhile, whose parent is
        the producer's context found in ``headers`` and which links to it (semantic conventions)."""
        parent = propagate.extract(headers or {}, getter=_GETTER)
        producer = trace.get_current_span(parent).get_span_context()
        links = [Link(producer)] if producer.is_valid else None
        span_attributes = {**self._process, MESSAGING_DESTINATION_NAME: destination}
        span_attributes.update((key, value) for key, value in attributes.items() if value is not None)
        with tracer.start_as_current_span(
            self._span_name(PROCESS, destination),
            context=parent if producer.is_valid else None,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=span_attributes,
        ) as span:
            yield span

    @contextmanager
    def publish(self, destination: str, headers: dict[str, Any], attributes: Mapping[str, Any]) -> Iterator[None]:
        """A ``send`` span (kind PRODUCER), whose context is injected into ``headers`` (a dict the
        caller sends); without a span, the current context is injected as it is."""
        tracer = self.tracer()
        if tracer is None:
            propagate.inject(headers)
            yield
            return
        span_attributes = {
            MESSAGING_SYSTEM: self.system,
            MESSAGING_DESTINATION_NAME: destination,
            MESSAGING_OPERATION_TYPE: SEND,
            MESSAGING_OPERATION_NAME: SEND,
            **{key: value for key, value in attributes.items() if value is not None},
        }
        with tracer.start_as_current_span(f"{SEND} {destination}", kind=SpanKind.PRODUCER, attributes=span_attributes):
            propagate.inject(headers)
            yield


_NAMES_MAX = 256


def dead_lettered(span: trace.Span | None, destination: str, error: ContractError) -> None:
    """Record on the consumer span that the message went to ``destination``."""
    if span is not None and span.is_recording():
        span.add_event(DEAD_LETTER_EVENT, {MESSAGING_DESTINATION_NAME: destination, ERROR: type(error).__name__})


def make_guard_check(
    contract: Any,
    fields: Any,
    registry: Any,
    observe: bool,
    handler: Any,
    *,
    cloudevents: bool = False,
    headers: Callable[[Any], Any] | None = None,
    names: Callable[[str], Any] = str,
) -> GuardCheck:
    """The check a guard runs: a plain :class:`GuardCheck`, or one that first unwraps a CloudEvent (whose
    attributes are in the headers: ``headers`` turns raw headers into them first)."""
    if cloudevents:
        from syscontract.integrations.cloudevents import CloudEventCheck

        check: GuardCheck = CloudEventCheck(contract, fields, registry=registry, observe=observe, handler=handler)
        if headers is not None:
            convert, event = headers, check.run
            check.run = lambda value, raw: event(value, convert(raw))
        return check
    return GuardCheck(
        contract, fields, registry=registry, observe=observe, handler=handler, headers=headers, names=names
    )
