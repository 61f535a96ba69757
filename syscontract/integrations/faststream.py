"""FastStream: guard a subscriber on any broker FastStream supports (NATS JetStream, RabbitMQ, Redis,
Kafka, ...), on the original bytes and headers, with FastStream's acknowledgement.

::

    from faststream import Logger
    from faststream.nats import NatsBroker, PullSub
    from syscontract.integrations.faststream import guard

    broker = NatsBroker("nats://127.0.0.1:4222")
    dead_letters = broker.publisher("orders-dead", stream="ORDERS_DEAD")

    @guard("order.v3", ["customer.customerTier"], dead_letter=dead_letters)
    @broker.subscriber("orders.>", stream="ORDERS", pull_sub=PullSub(), durable="pricing")
    async def on_order(order: dict, logger: Logger) -> None:   # FastStream's injection as usual
        ...

``guard`` goes **above** ``@broker.subscriber`` (it configures the subscriber FastStream made): it
becomes the handler's decoder, so syscontract reads the message's body as the broker delivered it
(Confluent-framed Avro, single-object Avro, a bare Avro body named by ``syscontract-contract``, JSON)
with its headers, before FastStream decodes anything, and the handler receives what ``@requires``
hands (the dict, or the contract's pydantic model), through FastStream's dependency injection.

Per message:

- it passes: the handler runs; FastStream acknowledges it by the subscriber's ``ack_policy``;
- it is the message's fault (a violation, undecodable bytes, an unknown writer) and
  ``on_violation="dead_letter"`` (the default): the body, byte for byte, with every original header
  plus the ``syscontract-error*`` headers is published with ``dead_letter`` (a publisher of the same
  broker), which waits for the broker's confirmation (JetStream's ack, RabbitMQ's publisher confirm,
  Redis ``XADD``'s reply, Kafka's ``send_and_wait``); *then* the message is acknowledged and the
  handler is not called. A consumer that dies in between gets the message again and dead-letters it
  again: at least once, never lost. If the publish fails, the message is negatively acknowledged
  (redelivered; on core NATS, Redis channels and lists nothing redelivers it, so it is lost) and the
  error propagates;
- ``on_violation="raise"``: the message is negatively acknowledged (redelivered: NATS ``nak``,
  RabbitMQ ``nack(requeue=True)``, Kafka a seek back to it, a Redis stream entry stays pending) and
  the error propagates into FastStream's log. It is never rejected, whatever the ``ack_policy``;
- ``on_violation="observe"``: the violation is reported and logged, and the handler receives what
  was sent (never a default);
- not the message's fault (the registry is unreachable): negatively acknowledged, the error propagates.

Refused when the guard is built (``ContractDeclarationError`` saying what to change):
``AckPolicy.ACK_FIRST`` (FastStream's default on Kafka: the message would be acknowledged before it
is checked), ``"raise"`` where nothing redelivers (core NATS subjects, Redis channels and lists, a
Redis stream without a group), batch and key-value/object-store subscribers, a subscriber with its
own decoder or codec, a parser (the handler's, the subscriber's, a router's or the broker's: it would
change the body before the guard reads it), a ``dead_letter`` that is a broker rather than a publisher
or that publishes to what the guarded subscriber consumes (each letter would come back, for ever), a
handler already wrapped by ``@requires``, and the guard placed below ``@broker.subscriber``. When the
broker starts, a subscriber of the handler that no guard decodes (a ``@broker.subscriber`` written
above the guard) or that a router's or broker's parser reaches is refused the same way.

A RabbitMQ dead letter is published ``mandatory`` and persistent whatever its publisher says: an
unroutable letter comes back (the original is then redelivered), and a stored one survives a restart.
A Kafka dead letter answered without an offset (``acks=0``) is not confirmed: the original is
negatively acknowledged and ``DeadLetterNotConfirmed`` raised.

Use with the ``faststream`` extra: ``pip install 'syscontract[faststream]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from opentelemetry import trace

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError, DeadLetterNotConfirmed
from syscontract.integrations import _messaging as m
from syscontract.registry import Registry

__all__ = ["EXTENSION", "MSG_ID", "guard"]

EXTENSION: Final = "x-syscontract"
"""The key, in the payload schema of a guarded subscriber's message in FastStream's AsyncAPI
document, of what it requires: ``{"contract": "order.v3", "fields": [...], "onViolation": ...,
"deadLetter": ...}``."""
MSG_ID: Final = "Nats-Msg-Id"
"""NATS: a dead letter of a JetStream message carries ``Nats-Msg-Id:
syscontract-dead-letter:<stream>:<sequence>`` (the original's own id moves to
``syscontract-original-nats-msg-id``), so that the dead-letter stream de-duplicates the second copy a
crash between publish and ack makes, and two messages never share an id."""

_POLICIES = ("dead_letter", "raise", "observe")
W = TypeVar("W")


def _faststream() -> Any:
    return m.optional("faststream", "faststream", "syscontract.integrations.faststream")


def guard(
    contract: str | ContractRef | Contract,
    fields: Iterable[str] | str = (),
    *,
    dead_letter: Any = None,
    on_violation: str = "dead_letter",
    registry: Registry | str | None = None,
) -> Callable[[W], W]:
    """Check every message of the FastStream subscriber(s) below it against ``contract``.

    ``fields``: the critical field paths (the contract's own ``critical`` list adds to them).
    ``dead_letter``: a publisher of the same broker (``broker.publisher("orders-dead", ...)``) that
    violating messages are published with; required by ``on_violation="dead_letter"`` (the default).
    ``on_violation``: ``"dead_letter"``, ``"raise"`` (negatively acknowledge for redelivery, the error
    propagates) or ``"observe"`` (report, then hand the payload on). ``registry``: as for ``@requires``.
    """
    if on_violation not in _POLICIES:
        raise ContractDeclarationError(
            f"on_violation={on_violation!r}: a FastStream guard takes 'dead_letter' (the default), 'raise' or "
            "'observe'",
            reason="bad-option",
        )
    if on_violation == "dead_letter" and dead_letter is None:
        raise ContractDeclarationError(
            "on_violation='dead_letter' needs dead_letter=broker.publisher(...) to publish violating messages "
            "with; or on_violation='raise' (negatively acknowledged: redelivered) or 'observe'",
            reason="bad-option",
        )
    if dead_letter is not None and (
        not callable(getattr(dead_letter, "publish", None)) or callable(getattr(dead_letter, "subscriber", None))
    ):  # a broker publishes too, but to no destination: its publish fails on every violating message
        raise ContractDeclarationError(
            f"dead_letter must be a publisher of the subscriber's broker (broker.publisher(...)), not "
            f"{type(dead_letter).__name__}",
            reason="bad-option",
        )

    def decorate(wrapper: W) -> W:
        _faststream()
        if dead_letter is not None and on_violation != "raise":  # observe dead-letters undecodable bytes
            _refuse_unconfirmed(dead_letter)
        subscribers = getattr(wrapper, "_subscribers", None)
        if not subscribers:
            shown = m.handler_name(wrapper) if callable(wrapper) else repr(wrapper)
            raise ContractDeclarationError(
                f"guard(...) goes above @broker.subscriber(...), not below it: {shown} is not a "
                "FastStream subscriber yet (write @guard(...) on the line above @broker.subscriber(...))",
                reason="bad-handler",
            )
        handler = wrapper._original_call  # type: ignore[attr-defined]
        if hasattr(handler, "__syscontract__"):
            raise ContractDeclarationError(
                f"{m.handler_name(handler)} is already wrapped by @requires: remove it, the guard checks the "
                "original bytes and hands the handler what @requires would",
                reason="bad-handler",
            )
        for subscriber in subscribers:
            _Guard(subscriber, wrapper, handler, contract, fields, registry, on_violation, dead_letter)
        _recheck_when_built(wrapper)
        return wrapper

    return decorate


class _Guard:
    """The decoder of one guarded handler on one subscriber."""

    def __init__(
        self,
        subscriber: Any,
        wrapper: Any,
        handler: Callable[..., Any],
        contract: Any,
        fields: Any,
        registry: Any,
        on_violation: str,
        dead_letter: Any,
    ) -> None:
        item = _refuse_unsupported(subscriber, wrapper, on_violation)
        self.check = m.GuardCheck(
            contract, fields, registry=registry, observe=on_violation == "observe", handler=handler
        )
        self.contract = self.check.contract
        self.dead_letter = None if on_violation == "raise" else dead_letter
        if self.dead_letter is not None and _feeds(self.dead_letter, subscriber):
            raise ContractDeclarationError(
                f"{m.handler_name(handler)}: the dead letters would be published to {_source(subscriber)!r}, which "
                "this guarded subscriber consumes: each would be checked, fail and be published again, for ever; "
                "give dead_letter a destination of its own",
                reason="bad-option",
            )
        self.destination = _destination(dead_letter)
        declaration = self.check._check.__syscontract__  # type: ignore[attr-defined]
        _describe(
            subscriber,
            {
                "contract": self.contract,
                "fields": sorted(_critical(declaration)),
                "onViolation": on_violation,
                **({"deadLetter": self.destination} if self.dead_letter is not None else {}),
            },
        )
        item.item_decoder = self.decode

    async def decode(self, message: Any) -> Any:
        """FastStream's decoder: the checked payload, or the message settled and the handler skipped."""
        try:
            return self.check.run(message.body, message.headers)
        except ContractError as error:
            await self._settle(message, error)
            raise  # _settle raised already; for the type checker

    async def _settle(self, message: Any, error: ContractError) -> None:
        if self.dead_letter is None or not m.is_message_fault(error):
            await message.nack()  # redelivered, never rejected: the error propagates into FastStream's log
            raise error
        source, message_id, position = _origin(message.raw_message)
        headers = m.dead_letter_headers(
            message.headers, error, contract=self.contract, source=source, message_id=message_id
        )
        if position is not None:
            m.keyed_by_position(headers, position)
        try:
            result = await self.dead_letter.publish(
                message.body, headers=headers, correlation_id=message.correlation_id, **_kept(message.raw_message)
            )
        except Exception:
            await message.nack()  # the dead letter was not stored: the original must come back
            raise
        why = _not_stored(result)
        if why is not None:
            await message.nack()
            raise DeadLetterNotConfirmed.of(
                error,
                f"the dead letter to {self.destination!r} was not stored ({why}); the message was negatively "
                "acknowledged for redelivery",
            )
        m.dead_lettered(trace.get_current_span(), self.destination, error)
        await message.ack()
        raise _faststream().exceptions.AckMessage()  # the handler is skipped; FastStream logs nothing


def _critical(declaration: Any) -> list[str]:
    """The critical paths a declaration checks: the consumer's and the contract's own ``critical`` list
    (known once the contract resolved; until then the consumer's)."""
    checker = declaration.checker
    return [str(path) for path in (declaration.fields if checker is None else checker.fields)]


def _refuse_unsupported(subscriber: Any, wrapper: Any, on_violation: str) -> Any:
    """The handler's item on ``subscriber``, after refusing what the guard cannot keep safe."""
    kind = type(subscriber).__name__
    name = m.handler_name(wrapper._original_call)
    if "Batch" in kind or "Watch" in kind:
        raise ContractDeclarationError(
            f"{name}: a {kind} hands the handler several messages or a store's entries; guard a subscriber that "
            "delivers one message at a time",
            reason="bad-handler",
        )
    policy = subscriber.ack_policy
    if getattr(policy, "value", policy) == "ack_first":
        raise ContractDeclarationError(
            f"{name}: ack_policy=AckPolicy.ACK_FIRST (FastStream's default on Kafka) acknowledges a message before "
            "it is checked, so a violating one could not be dead-lettered or redelivered; pass "
            "ack_policy=AckPolicy.REJECT_ON_ERROR, NACK_ON_ERROR, ACK or MANUAL to @broker.subscriber",
            reason="bad-option",
        )
    if on_violation == "raise" and not _redelivers(subscriber):
        raise ContractDeclarationError(
            f"{name}: on_violation='raise' on a {kind} would drop a violating message (nothing redelivers it: "
            "core NATS subjects, Redis channels and lists, a Redis stream without a group); use "
            "on_violation='dead_letter' with dead_letter=broker.publisher(...)",
            reason="bad-option",
        )
    options = subscriber._call_options
    for item in subscriber.calls:
        if item.handler is wrapper:
            if item.item_decoder is not None or options.decoder is not None or options.codec is not None:
                raise ContractDeclarationError(
                    f"{name}: the subscriber has its own decoder or codec; syscontract decodes the body itself "
                    "(JSON, Avro, Confluent framing), so remove it",
                    reason="bad-option",
                )
            _refuse_parser(subscriber, item, name)
            return item
    raise ContractDeclarationError(f"{name} is not a handler of {kind}", reason="bad-handler")  # pragma: no cover


def _refuse_parser(subscriber: Any, item: Any, name: str) -> None:
    """A parser (the handler's, the subscriber's, a broker's or a router's) runs before the guard and may
    change the body or headers it checks: the guard must see what the writer sent."""
    outer = getattr(subscriber, "_outer_config", None)
    if (
        item.item_parser is not None
        or subscriber._call_options.parser is not None
        or (getattr(outer, "broker_parser", None) is not None)
    ):
        raise ContractDeclarationError(
            f"{name}: a parser= (of the handler, the subscriber, a router or the broker) runs before the guard and "
            "may change the body or headers it checks; syscontract reads the message as the broker delivered it, "
            "so remove the parser",
            reason="bad-option",
        )


def _recheck_when_built(wrapper: Any) -> None:
    """Make FastStream's building of the handler (at the broker's start, once every subscriber decorator,
    router and broker option is known) refuse a subscriber of it that no guard decodes (a
    ``@broker.subscriber`` written above the guard) or that a parser reaches first (a router's or a
    broker's given later): such a subscriber would hand the handler what the writer did not send."""
    base = type(wrapper)
    if getattr(base, "_syscontract_guarded", False):
        return

    def set_wrapped(self: Any, **options: Any) -> Any:
        name = m.handler_name(self._original_call)
        for subscriber in self._subscribers:
            for item in subscriber.calls:
                if item.handler is not self:
                    continue
                if not isinstance(getattr(item.item_decoder, "__self__", None), _Guard):
                    raise ContractDeclarationError(
                        f"{name}: the {type(subscriber).__name__} of {_source(subscriber)!r} is not guarded: a "
                        "@broker.subscriber(...) written above @guard(...) hands the handler unchecked messages; "
                        "write every @broker.subscriber(...) of a guarded handler below the guard",
                        reason="bad-handler",
                    )
                _refuse_parser(subscriber, item, name)
        return base.set_wrapped(self, **options)

    wrapper.__class__ = type(
        base.__name__, (base,), {"__slots__": (), "_syscontract_guarded": True, "set_wrapped": set_wrapped}
    )


def _feeds(publisher: Any, subscriber: Any) -> bool:
    """Whether what ``publisher`` publishes is consumed by ``subscriber`` (a NATS subject its subject
    pattern matches, RabbitMQ's default exchange routing to its queue, the same Redis stream or list,
    a Kafka topic among its topics)."""
    module = type(publisher).__module__
    if module.startswith("faststream.nats."):
        pattern = getattr(subscriber, "subject", None)
        return pattern is not None and _nats_matches(_text(pattern), _text(publisher.subject))
    if module.startswith("faststream.rabbit."):
        queue = getattr(subscriber, "queue", None)
        return queue is not None and not publisher.exchange.name and publisher.routing() == queue.name
    if module.startswith("faststream.redis."):
        for ours, theirs in (("stream_sub", "stream"), ("list_sub", "list")):
            consumed, published = getattr(subscriber, ours, None), getattr(publisher, theirs, None)
            if consumed is not None and published is not None and consumed.name == published.name:
                return True
        return False
    if module.startswith("faststream.kafka.") or module.startswith("faststream.confluent."):
        topics = {_text(topic) for topic in getattr(subscriber, "topics", None) or ()}
        return _text(getattr(publisher, "topic", "")) in topics
    return False


def _text(name: Any) -> str:
    """A subject, queue or topic as the broker sees it (FastStream keeps some as objects)."""
    found = getattr(name, "broker_address", None) or getattr(name, "name", None) or name
    return str(found)


def _nats_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(wanted)


def _source(subscriber: Any) -> str:
    """What a subscriber consumes (subject, queue, stream, list, channel or topics), as text."""
    for name in ("subject", "queue", "stream_sub", "list_sub", "channel"):
        found = getattr(subscriber, name, None)
        if found is not None:
            found = getattr(found, "broker_address", None) or getattr(found, "name", found)
            return str(found)
    topics = getattr(subscriber, "topics", None)
    if topics:
        return ",".join(str(getattr(topic, "name", topic)) for topic in topics)
    return type(subscriber).__name__


def _refuse_unconfirmed(publisher: Any) -> None:
    """A dead letter must be stored before the original is acknowledged: a publisher whose publish
    nothing confirms (a core NATS subject, a Redis channel) cannot say that it was."""
    module, kind = type(publisher).__module__, type(publisher).__name__
    if module.startswith("faststream.nats.") and getattr(publisher, "stream", None) is None:
        why = "a NATS publisher without stream= publishes to core NATS, which confirms nothing: pass stream= naming "
        why += "the JetStream stream that stores the dead-letter subject"
    elif module.startswith("faststream.redis.") and kind == "ChannelPublisher":
        why = "a Redis channel keeps nothing: publish dead letters to a stream (stream=) or a list (list=)"
    else:
        return
    raise ContractDeclarationError(f"dead_letter: {why}", reason="bad-option")


def _not_stored(result: Any) -> str | None:
    """Why a publish's result says the dead letter was not stored (RabbitMQ: returned as unroutable,
    or nacked; Kafka: no offset, what aiokafka answers under ``acks=0`` without asking the broker),
    or None."""
    delivery = getattr(result, "delivery", None)  # aiormq: a returned message (mandatory, unroutable)
    if delivery is not None and type(delivery).__name__ == "Return":
        return "returned unroutable"
    if type(result).__name__ in ("Nack", "Reject"):
        return type(result).__name__
    if type(result).__name__ == "RecordMetadata" and result.offset < 0:
        return "Kafka gave it no offset: the producer runs with acks=0, give the broker acks=1 or 'all'"
    return None


def _redelivers(subscriber: Any) -> bool:
    module = type(subscriber).__module__
    kind = type(subscriber).__name__
    if module.startswith("faststream.nats."):
        return "Stream" in kind  # JetStream; core NATS has no acknowledgement
    if module.startswith("faststream.redis."):
        stream = getattr(subscriber, "stream_sub", None)
        return stream is not None and bool(stream.group) and not stream.no_ack
    return True


def _destination(publisher: Any) -> str:
    """A dead-letter publisher's destination (subject, stream, routing key, topic), for the span event
    and the AsyncAPI extension."""
    if publisher is None:
        return ""
    specification = getattr(publisher, "specification", None)
    for name in ("subject", "topic", "address", "routing"):
        try:
            found = getattr(specification, name, None)
        except Exception:  # a specification property that needs a broker
            found = None
        found = getattr(found, "broker_address", found)  # NATS: an Address template
        if isinstance(found, str) and found:
            return found
    return type(publisher).__name__


def _origin(raw: Any) -> tuple[str, str | None, str | None]:
    """Where a message was consumed from, the broker's id of it, and (NATS JetStream) its stream
    position, from the client's own message (what FastStream's test brokers build included)."""
    subject = getattr(raw, "subject", None)
    if isinstance(subject, str):  # nats-py
        try:
            metadata = raw.metadata
        except Exception:  # a core NATS message has no JetStream metadata
            return subject, None, None
        position = f"{metadata.stream}:{metadata.sequence.stream}"
        return subject, position, position
    routing_key = getattr(raw, "routing_key", None)
    if isinstance(routing_key, str):  # aio-pika
        return routing_key, getattr(raw, "message_id", None), None
    topic = getattr(raw, "topic", None)
    if isinstance(topic, str):  # aiokafka
        return topic, f"{topic}:{raw.partition}:{raw.offset}", None
    if isinstance(raw, Mapping):  # redis: a channel, list or stream message
        ids = raw.get("message_ids") or ()
        return m.text(raw.get("channel", "")), m.text(ids[0]) if ids else None, None
    return type(raw).__name__, None, None


_PROPERTIES: Final = {
    "message_id": "message_id",
    "content_type": "content_type",
    "content_encoding": "content_encoding",
    "priority": "priority",
    "timestamp": "timestamp",
    "type": "message_type",
    "app_id": "app_id",
}
"""aio-pika message properties a RabbitMQ dead letter keeps, by the name FastStream's publish takes them."""


def _kept(raw: Any) -> dict[str, Any]:
    """What the dead letter keeps of the original beside its body and headers: a RabbitMQ message's
    properties (``message_id``, ``content_type``, ...), a Kafka record's key."""
    if isinstance(getattr(raw, "routing_key", None), str):  # aio-pika
        found = ((name, getattr(raw, attribute, None)) for attribute, name in _PROPERTIES.items())
        kept = {name: value for name, value in found if value is not None}
        # whatever the publisher says: an unroutable letter must come back (mandatory) to be seen, and
        # the letter is the only copy once the original is acknowledged (persistent)
        return {**kept, "mandatory": True, "persist": True}
    if isinstance(getattr(raw, "topic", None), str) and getattr(raw, "key", None) is not None:  # aiokafka
        return {"key": raw.key}
    return {}


def _describe(subscriber: Any, requirement: dict[str, Any]) -> None:
    """Put ``requirement`` under :data:`EXTENSION` in the payload schema of the subscriber's messages
    in FastStream's AsyncAPI document (its specification object gets a subclass of its own class whose
    ``get_payloads`` adds it)."""
    specification = subscriber.specification
    base = type(specification)
    found = getattr(base, "_syscontract", None)
    if found is not None:  # a second guard on a subscriber that has one: both requirements are listed
        base = base.__mro__[1]
        requirements = [*found, requirement]
    else:
        requirements = [requirement]

    def get_payloads(self: Any) -> list[tuple[dict[str, Any], str]]:
        payloads = base.get_payloads(self)
        shown = requirements[0] if len(requirements) == 1 else requirements
        return [({**body, EXTENSION: shown}, name) for body, name in payloads]

    specification.__class__ = type(
        base.__name__, (base,), {"__slots__": (), "_syscontract": requirements, "get_payloads": get_payloads}
    )
