"""NATS JetStream (nats-py): a guarded subscription callback, and a publish that carries trace context.

::

    import nats
    from syscontract.integrations.nats import Guard, publish

    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()

    async def on_order(order: dict) -> None:
        price(order["customer"]["customerTier"])        # never reached without a real customerTier

    guarded = Guard(on_order, "order.v3", ["customer.customerTier"], js=js, dead_letter="orders.dead-letter")
    await js.subscribe("orders.>", durable="pricing", cb=guarded, manual_ack=True)

Per message: the producer's trace context is extracted from the headers and a ``process`` span
opened (when a TracerProvider may record); the payload is checked with its headers
(``syscontract-contract`` names the writer of a bare Avro body; ``Nats-Msg-Id`` is kept); then

- it passes: the handler receives the decoded payload, then the message is acknowledged;
- it is the message's fault (a violation, undecodable bytes, an unknown writer): it is published,
  with its original data and headers plus the ``syscontract-error*`` headers, to the ``dead_letter``
  subject through JetStream (which must store it: a stream captures the subject), then acknowledged;
  without ``dead_letter`` it is ``term()``-ed, so JetStream never redelivers it;
- the handler raises, the registry is unreachable, or the dead-letter publish fails: the message is
  ``nak()``-ed (redelivered, up to the consumer's ``max_deliver``) and the error propagates.

The dead-letter publish carries ``Nats-Msg-Id: syscontract-dead-letter:<stream>:<sequence>`` (the
original's own id, if it had one, moves to ``syscontract-original-nats-msg-id``), so a consumer that
dies between dead-lettering and acknowledging leaves one copy in the dead-letter stream, not two, when
the redelivery comes within the stream's duplicate window, and two messages never share an id.
nats-py has no synchronous client, so this module is async; handlers may be sync or async.

Use with the ``nats`` extra: ``pip install 'syscontract[nats]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError
from syscontract.integrations import _messaging as m
from syscontract.registry import Registry

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext
    from nats.js.api import PubAck

__all__ = ["MSG_ID", "SYSTEM", "Guard", "publish"]

SYSTEM: Final = "nats"
"""``messaging.system`` of the spans."""
MSG_ID: Final = m.NATS_MSG_ID
"""JetStream's de-duplication header."""

_TRACING = m.Tracing(SYSTEM)


def _nats() -> Any:
    return m.optional("nats.js", "nats", "syscontract.integrations.nats")


class Guard:
    """A JetStream subscription callback (``cb=``, or call it on each message a pull subscription
    fetches) that checks every message before ``handler`` sees its decoded payload.

    ``contract``/``fields``: as in ``@requires``. ``js``: the JetStream context dead letters are
    published with (required with ``dead_letter``). ``dead_letter``: the subject violating messages
    go to; None: they are ``term()``-ed. ``on_violation``: ``"dead_letter"`` (default) or
    ``"observe"`` (report the violation and hand the payload on; undecodable bytes are still
    dead-lettered). ``cloudevents``: messages are CloudEvents (binary mode ``ce-*`` headers or
    structured JSON), see :mod:`syscontract.integrations.cloudevents`. ``pass_message``: call
    ``handler(payload, msg)``. ``trace``: extract the producer's context and open a ``process`` span.
    """

    def __init__(
        self,
        handler: Callable[..., Any],
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        *,
        js: JetStreamContext | None = None,
        dead_letter: str | None = None,
        registry: Registry | str | None = None,
        on_violation: str = "dead_letter",
        cloudevents: bool = False,
        pass_message: bool = False,
        trace: bool = True,
    ) -> None:
        _nats()
        if not callable(handler):
            raise ContractDeclarationError("Guard needs a callable handler", reason="bad-handler")
        if dead_letter is not None and js is None:
            raise ContractDeclarationError(
                "dead_letter needs js=<JetStreamContext>: the dead letter is published through JetStream so "
                "that it is stored before the message is acknowledged",
                reason="bad-option",
            )
        observe = m.guard_observes(on_violation)
        self.handler = handler
        self.js = js
        self.dead_letter = dead_letter
        self.pass_message = pass_message
        self.check = m.make_guard_check(contract, fields, registry, observe, handler, cloudevents=cloudevents)
        self.contract = self.check.contract
        self._run = self.check.run
        self._tracing = m.Tracing(SYSTEM, trace)
        # nats-py accepts a callback that is a coroutine function or has one as ``func`` (as
        # functools.partial does); an object with an async __call__ is neither on Python < 3.12
        self.func = self.__call__

    def __repr__(self) -> str:
        return f"<nats.Guard {self.contract} {m.handler_name(self.handler)} dead_letter={self.dead_letter!r}>"

    async def __call__(self, msg: Msg) -> None:
        if self._tracing.enabled and (m.LISTENING.tracing or m.LISTENING.stale):
            tracer = self._tracing.tracer()
            if tracer is not None:
                with self._tracing.consume(tracer, msg.subject, msg.headers, self._attributes(msg)) as span:
                    await self._settle(msg, span)
                return
        # what _settle does, inlined: a coroutine call per message costs about 0.1 us
        try:
            payload = self._run(msg.data, msg.headers)
        except ContractError as error:
            await self._failed(msg, error, None)
            return
        try:
            result = self.handler(payload, msg) if self.pass_message else self.handler(payload)
            if result is not None and m.awaitable(result):
                await result
        except Exception:
            if not msg.is_acked:
                await msg.nak()
            raise
        if not (self.pass_message and msg.is_acked):  # the handler may have settled it itself
            await msg.ack()

    async def _settle(self, msg: Msg, span: Any) -> None:
        try:
            payload = self._run(msg.data, msg.headers)
        except ContractError as error:
            await self._failed(msg, error, span)
            return
        try:
            result = self.handler(payload, msg) if self.pass_message else self.handler(payload)
            if result is not None and m.awaitable(result):
                await result
        except Exception:
            if not msg.is_acked:
                await msg.nak()
            raise
        if not (self.pass_message and msg.is_acked):
            await msg.ack()

    @staticmethod
    def _attributes(msg: Msg) -> dict[str, Any]:
        headers = msg.headers
        return {
            m.MESSAGING_MESSAGE_ID: headers.get(MSG_ID) if headers else None,
            m.MESSAGING_CONSUMER_GROUP_NAME: msg.metadata.consumer,
            m.MESSAGING_BODY_SIZE: len(msg.data),
        }

    async def _failed(self, msg: Msg, error: ContractError, span: Any) -> None:
        if not m.is_message_fault(error):
            await msg.nak()
            raise error
        await self._reject(msg, error, span)

    async def _reject(self, msg: Msg, error: ContractError, span: Any) -> None:
        if self.dead_letter is None:
            await msg.term()
            return
        assert self.js is not None
        metadata = msg.metadata
        position = f"{metadata.stream}:{metadata.sequence.stream}"
        headers = m.dead_letter_headers(
            msg.headers, error, contract=self.contract, source=msg.subject, message_id=position
        )
        m.keyed_by_position(headers, position)
        try:
            await self.js.publish(self.dead_letter, msg.data, headers=headers)
        except Exception:
            await msg.nak()  # not stored: redelivered and tried again, never dropped
            raise
        m.dead_lettered(span, self.dead_letter, error)
        await msg.ack()


async def publish(
    js: JetStreamContext,
    subject: str,
    value: bytes,
    headers: Mapping[str, str | bytes] | None = None,
    *,
    timeout: float | None = None,
    stream: str | None = None,
) -> PubAck:
    """Publish ``value`` through JetStream with ``headers`` (``bytes`` values are decoded as UTF-8,
    as ``syscontract.encoding.encode()`` gives them) plus the current trace context, in a ``send`` span.

    ::

        encoded = encode("order.v3", order, format="avro")
        await publish(js, "orders.placed", encoded.value, encoded.headers)
    """
    _nats()
    sent = {key: value.decode() if isinstance(value, bytes) else value for key, value in (headers or {}).items()}
    attributes = {m.MESSAGING_MESSAGE_ID: sent.get(MSG_ID), m.MESSAGING_BODY_SIZE: len(value)}
    with _TRACING.publish(subject, sent, attributes):
        return await js.publish(subject, value, timeout=timeout, stream=stream, headers=sent or None)
