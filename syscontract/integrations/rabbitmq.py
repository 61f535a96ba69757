"""RabbitMQ: a guarded ``basic_consume`` callback for pika, and a guarded consumer for aio-pika.

::

    import pika
    from syscontract.integrations.rabbitmq import Guard

    channel = pika.BlockingConnection().channel()
    guarded = Guard(on_order, "order.v3", ["customer.customerTier"], dead_letter="orders.dead-letter")
    channel.basic_consume("orders", guarded)               # auto_ack=False, the default
    channel.start_consuming()

    # aio-pika
    from syscontract.integrations.rabbitmq import AsyncGuard
    await queue.consume(AsyncGuard(on_order, "order.v3", ["customer.customerTier"], dead_letter="orders.dead-letter"))

Per delivery: the producer's trace context is extracted from the headers and a ``process`` span
opened (when a TracerProvider may record); the body is checked with its headers; then

- it passes: the handler receives the decoded payload, then ``basic_ack``;
- it is the message's fault (a violation, undecodable bytes, an unknown writer): with
  ``dead_letter``, the body byte for byte is published, with the original properties and headers
  plus the ``syscontract-error*`` headers, to ``dead_letter_exchange`` (default: the default exchange,
  so ``dead_letter`` is a queue name) with ``mandatory`` set and publisher confirms, *then*
  ``basic_ack``: a consumer that dies in between has its delivery requeued and dead-letters it again
  (at least once, never lost); without ``dead_letter``, ``basic_reject(requeue=False)``, which
  RabbitMQ routes to the queue's own dead-letter exchange (``x-dead-letter-exchange``; a queue without
  one discards the message, so declare one, or use ``dead_letter``);
- the handler raises, the registry is unreachable, or the dead-letter publish is not confirmed
  (no such queue, a broker nack): ``basic_nack(requeue=True)`` and the error propagates, which stops
  ``start_consuming()`` (pika) or is logged by the consumer (aio-pika): never a silent loss.

The pika channel is switched to publisher-confirm mode (``confirm_delivery()``) at the first dead
letter if it is not already; aio-pika channels confirm by default and are required to.

Use with the ``rabbitmq`` extra: ``pip install 'syscontract[rabbitmq]'`` (pika and aio-pika).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError, DeadLetterNotConfirmed
from syscontract.integrations import _messaging as m
from syscontract.registry import Registry

__all__ = ["SYSTEM", "AsyncGuard", "DeadLetterNotConfirmed", "Guard", "publish", "publish_async"]

SYSTEM: Final = "rabbitmq"
"""``messaging.system`` of the spans."""

_TRACING = m.Tracing(SYSTEM)


def _pika() -> Any:
    return m.optional("pika", "rabbitmq", "syscontract.integrations.rabbitmq.Guard")


def _aio_pika() -> Any:
    return m.optional("aio_pika", "rabbitmq", "syscontract.integrations.rabbitmq.AsyncGuard")


class _Base:
    def __init__(
        self,
        handler: Callable[..., Any],
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        *,
        dead_letter: str | None = None,
        dead_letter_exchange: str = "",
        registry: Registry | str | None = None,
        on_violation: str = "dead_letter",
        cloudevents: bool = False,
        pass_message: bool = False,
        trace: bool = True,
    ) -> None:
        if not callable(handler):
            raise ContractDeclarationError(f"{type(self).__name__} needs a callable handler", reason="bad-handler")
        if dead_letter_exchange and dead_letter is None:
            raise ContractDeclarationError("dead_letter_exchange needs dead_letter=<routing key>", reason="bad-option")
        observe = m.guard_observes(on_violation)
        self.handler = handler
        self.dead_letter = dead_letter
        self.dead_letter_exchange = dead_letter_exchange
        self.pass_message = pass_message
        self.check = m.make_guard_check(contract, fields, registry, observe, handler, cloudevents=cloudevents)
        self.contract = self.check.contract
        self._run = self.check.run
        self._tracing = m.Tracing(SYSTEM, trace)

    def __repr__(self) -> str:
        target = f"{self.dead_letter_exchange}/{self.dead_letter}" if self.dead_letter else "reject"
        return f"<rabbitmq.{type(self).__name__} {self.contract} {m.handler_name(self.handler)} dead_letter={target}>"

    @property
    def _destination(self) -> str:
        return self.dead_letter_exchange or self.dead_letter or ""

    def _not_confirmed(self, error: ContractError, why: str) -> DeadLetterNotConfirmed:
        return DeadLetterNotConfirmed.of(
            error,
            f"the dead letter to exchange {self.dead_letter_exchange!r} routing key {self.dead_letter!r} was not "
            f"confirmed ({why}); the message was requeued",
        )


class Guard(_Base):
    """A pika ``on_message_callback`` ``(channel, method, properties, body)`` that checks every
    delivery before ``handler`` sees its decoded payload (``handler(payload)``, or
    ``handler(payload, channel, method, properties)`` with ``pass_message``: a handler that settles
    the delivery itself, before it returns, through that ``channel``, is not settled again).

    ``dead_letter``: routing key (a queue name on the default exchange) violating messages are
    published to, on ``dead_letter_exchange``; None: ``basic_reject(requeue=False)`` into the queue's
    own DLX. ``on_violation``: ``"dead_letter"`` (default) or ``"observe"``. ``cloudevents``: the
    bodies are CloudEvents (binary mode ``cloudEvents:*`` headers, or structured JSON). ``trace``:
    extract the producer's context and open a ``process`` span (turn it off where
    opentelemetry-instrumentation-pika already does this).
    """

    def __init__(self, handler: Callable[..., Any], contract: str | ContractRef | Contract, *args: Any, **kwargs: Any):
        _pika()
        super().__init__(handler, contract, *args, **kwargs)

    def __call__(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._tracing.enabled and (m.LISTENING.tracing or m.LISTENING.stale):
            tracer = self._tracing.tracer()
            if tracer is not None:
                attributes = {
                    m.MESSAGING_MESSAGE_ID: properties.message_id,
                    m.MESSAGING_RABBITMQ_ROUTING_KEY: method.routing_key,
                    m.MESSAGING_BODY_SIZE: len(body),
                }
                destination = method.exchange or method.routing_key
                with self._tracing.consume(tracer, destination, properties.headers, attributes) as span:
                    self._settle(channel, method, properties, body, span)
                return
        self._settle(channel, method, properties, body, None)

    def _settle(self, channel: Any, method: Any, properties: Any, body: bytes, span: Any) -> None:
        try:
            payload = self._run(body, properties.headers)
        except ContractError as error:
            if not m.is_message_fault(error):
                channel.basic_nack(method.delivery_tag, requeue=True)
                raise
            self._reject(channel, method, properties, body, error, span)
            return
        if self.pass_message:
            self._hand_over(payload, channel, method, properties)
            return
        try:
            self.handler(payload)
        except Exception:
            channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        channel.basic_ack(method.delivery_tag)

    def _hand_over(self, payload: Any, channel: Any, method: Any, properties: Any) -> None:
        """``handler(payload, channel, method, properties)``, which may settle the delivery itself:
        pika keeps no record of that, so the handler gets the channel through :class:`_Settling`."""
        settling = _Settling(channel, method.delivery_tag)
        try:
            self.handler(payload, settling, method, properties)
        except Exception:
            if not settling.settled:
                channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        if not settling.settled:
            channel.basic_ack(method.delivery_tag)

    def _reject(self, channel: Any, method: Any, properties: Any, body: bytes, error: ContractError, span: Any) -> None:
        if self.dead_letter is None:
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        pika = _pika()
        letter = _copy_properties(
            pika.BasicProperties,
            properties,
            m.dead_letter_headers(
                properties.headers,
                error,
                contract=self.contract,
                source=method.routing_key,
                message_id=properties.message_id,
            ),
        )
        # pika has no public accessor for the confirm mode of a BlockingChannel
        if not getattr(channel, "_delivery_confirmation", False):
            channel.confirm_delivery()
        try:
            channel.basic_publish(self.dead_letter_exchange, self.dead_letter, body, properties=letter, mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            channel.basic_nack(method.delivery_tag, requeue=True)
            raise self._not_confirmed(error, type(exc).__name__) from exc
        except Exception:
            channel.basic_nack(method.delivery_tag, requeue=True)
            raise
        m.dead_lettered(span, self._destination, error)
        channel.basic_ack(method.delivery_tag)


class _Settling:
    """A pika channel as a ``pass_message`` handler gets it: every attribute is the channel's own;
    ``basic_ack``/``basic_nack``/``basic_reject`` also note whether they settled this delivery, so
    that the guard does not settle it again (RabbitMQ closes a channel on an unknown delivery tag)."""

    __slots__ = ("_channel", "_tag", "settled")

    def __init__(self, channel: Any, delivery_tag: int) -> None:
        self._channel = channel
        self._tag = delivery_tag
        self.settled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    def __repr__(self) -> str:
        return repr(self._channel)

    def _note(self, delivery_tag: int, multiple: bool) -> None:
        if delivery_tag == self._tag or (multiple and (delivery_tag == 0 or delivery_tag >= self._tag)):
            self.settled = True

    def basic_ack(self, delivery_tag: int = 0, multiple: bool = False) -> Any:
        self._note(delivery_tag, multiple)
        return self._channel.basic_ack(delivery_tag, multiple)

    def basic_nack(self, delivery_tag: int = 0, multiple: bool = False, requeue: bool = True) -> Any:
        self._note(delivery_tag, multiple)
        return self._channel.basic_nack(delivery_tag, multiple, requeue)

    def basic_reject(self, delivery_tag: int = 0, requeue: bool = True) -> Any:
        self._note(delivery_tag, False)
        return self._channel.basic_reject(delivery_tag, requeue)


_PROPERTIES = (
    "content_type",
    "content_encoding",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "timestamp",
    "type",
    "user_id",
    "app_id",
    "cluster_id",
)


def _copy_properties(cls: Any, properties: Any, headers: dict[str, Any]) -> Any:
    return cls(headers=headers, **{name: getattr(properties, name, None) for name in _PROPERTIES})


class AsyncGuard(_Base):
    """An aio-pika consumer callback (``await queue.consume(guard)``) that checks every message
    before ``handler`` sees its decoded payload (``handler(payload)``, or ``handler(payload, message)``
    with ``pass_message``); handlers may be sync or async. Options as in :class:`Guard`; the channel
    must have publisher confirms (aio-pika's default) for ``dead_letter``.
    """

    def __init__(self, handler: Callable[..., Any], contract: str | ContractRef | Contract, *args: Any, **kwargs: Any):
        _aio_pika()
        super().__init__(handler, contract, *args, **kwargs)

    async def __call__(self, message: Any) -> None:
        if self._tracing.enabled and (m.LISTENING.tracing or m.LISTENING.stale):
            tracer = self._tracing.tracer()
            if tracer is not None:
                attributes = {
                    m.MESSAGING_MESSAGE_ID: message.message_id,
                    m.MESSAGING_RABBITMQ_ROUTING_KEY: message.routing_key,
                    m.MESSAGING_BODY_SIZE: len(message.body),
                }
                destination = message.exchange or message.routing_key or ""
                with self._tracing.consume(tracer, destination, message.headers, attributes) as span:
                    await self._settle(message, span)
                return
        await self._settle(message, None)

    async def _settle(self, message: Any, span: Any) -> None:
        try:
            payload = self._run(message.body, message.headers)
        except ContractError as error:
            if not m.is_message_fault(error):
                await message.nack(requeue=True)
                raise
            await self._reject(message, error, span)
            return
        try:
            result = self.handler(payload, message) if self.pass_message else self.handler(payload)
            if result is not None and m.awaitable(result):
                await result
        except Exception:
            if not message.processed:
                await message.nack(requeue=True)
            raise
        if not message.processed:  # the handler may have settled it (pass_message), or no_ack=True did
            await message.ack()

    async def _reject(self, message: Any, error: ContractError, span: Any) -> None:
        if self.dead_letter is None:
            await message.reject(requeue=False)
            return
        aiormq = m.optional("aiormq", "rabbitmq", "syscontract.integrations.rabbitmq.AsyncGuard")
        properties = message.properties
        properties.headers = m.dead_letter_headers(
            message.headers,
            error,
            contract=self.contract,
            source=message.routing_key or "",
            message_id=message.message_id,
        )
        try:
            confirmation = await message.channel.basic_publish(
                message.body,
                exchange=self.dead_letter_exchange,
                routing_key=self.dead_letter,
                properties=properties,
                mandatory=True,
            )
        except Exception:
            await message.nack(requeue=True)
            raise
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            await message.nack(requeue=True)
            why = "no publisher confirms on the channel" if confirmation is None else type(confirmation).__name__
            raise self._not_confirmed(error, why)
        m.dead_lettered(span, self._destination, error)
        await message.ack()


def publish(
    channel: Any,
    exchange: str,
    routing_key: str,
    body: bytes,
    headers: Mapping[str, Any] | None = None,
    *,
    properties: Any = None,
    mandatory: bool = False,
) -> None:
    """``basic_publish`` on a pika channel with ``headers`` (added to ``properties``' own) plus the
    current trace context, in a ``send`` span.

    ::

        encoded = encode("order.v3", order, format="avro")
        publish(channel, "", "orders", encoded.value, encoded.headers)
    """
    pika = _pika()
    sent: dict[str, Any] = {**(getattr(properties, "headers", None) or {}), **(headers or {})}
    attributes = {m.MESSAGING_RABBITMQ_ROUTING_KEY: routing_key, m.MESSAGING_BODY_SIZE: len(body)}
    with _TRACING.publish(exchange or routing_key, sent, attributes):
        if properties is None:
            properties = pika.BasicProperties(headers=sent)
        else:
            properties = _copy_properties(pika.BasicProperties, properties, sent)
        channel.basic_publish(exchange, routing_key, body, properties=properties, mandatory=mandatory)


async def publish_async(exchange: Any, message: Any, routing_key: str, *, mandatory: bool = True) -> Any:
    """``exchange.publish(message, routing_key)`` on aio-pika with the current trace context added to
    ``message.headers``, in a ``send`` span."""
    _aio_pika()
    # AMQP field tables (pamqp) take no ``bytes``: text headers such as ``syscontract-contract`` go as
    # strings, binary ones (a schema id prefix) as byte arrays
    sent: dict[str, Any] = {name: _amqp_value(value) for name, value in (message.headers or {}).items()}
    attributes = {
        m.MESSAGING_MESSAGE_ID: message.message_id,
        m.MESSAGING_RABBITMQ_ROUTING_KEY: routing_key,
        m.MESSAGING_BODY_SIZE: len(message.body),
    }
    with _TRACING.publish(exchange.name or routing_key, sent, attributes):
        message.headers = sent
        return await exchange.publish(message, routing_key, mandatory=mandatory)


def _amqp_value(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return bytearray(value)
    return value
