"""Redis Streams (redis-py): a consumer-group consumer that checks every entry, sync and asyncio.

::

    import redis
    from syscontract.integrations.redis import StreamConsumer, publish

    client = redis.Redis()                                  # decode_responses=False: bytes as sent
    consumer = StreamConsumer(
        client, "orders", group="pricing", consumer="pricing-1",
        handler=on_order, contract="order.v3", fields=["customer.customerTier"],
        dead_letter="orders.dead-letter",
    )
    consumer.run()                                          # or consumer.process() in your own loop

An entry carries the message body in its ``value`` field (``value_field``); every other field is a
header (``syscontract-contract``, ``traceparent``, ...). Per entry:

- it passes: the handler receives the decoded payload, then ``XACK``;
- it is the entry's fault (a violation, undecodable bytes, an unknown writer): ``XADD`` of the same
  fields (the body byte for byte, every original field) plus the ``syscontract-error*`` fields to
  the ``dead_letter`` stream, *then* ``XACK``: a consumer that dies between the two finds the entry
  still pending and dead-letters it again (at least once, never lost); the dead letter's
  ``syscontract-error-id`` is the original entry id, so a duplicate is recognisable;
- the handler raises, or the registry is unreachable: no ``XACK``; the entry stays pending and the
  error propagates. Pending entries are read again by this consumer name when it (re)starts, and
  with ``claim_idle_ms`` entries idle that long (a dead consumer's, or this one's failures) are
  claimed with ``XAUTOCLAIM`` and retried;
- it was deleted from the stream while pending (``XDEL``, or ``MAXLEN`` trimming faster than the
  group reads): nothing is left of it to check; it is ``XACK``-ed, with a warning on the
  ``syscontract`` logger.

RESP2 and RESP3 clients alike (``protocol=3``, with or without redis-py's ``legacy_responses``).

Use with the ``redis`` extra: ``pip install 'syscontract[redis]'``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError, DecodeError
from syscontract.integrations import _messaging as m
from syscontract.registry import Registry

__all__ = ["SYSTEM", "VALUE_FIELD", "AsyncStreamConsumer", "StreamConsumer", "publish", "publish_async"]

SYSTEM: Final = "redis"
"""``messaging.system`` of the spans."""
VALUE_FIELD: Final = "value"
"""The entry field that carries the message body, by default."""

_TRACING = m.Tracing(SYSTEM)
logger = logging.getLogger("syscontract")

Entry = tuple[bytes, dict[bytes, bytes]]


def _redis() -> Any:
    return m.optional("redis", "redis", "syscontract.integrations.redis")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _check_client(client: Any) -> None:
    pool = getattr(client, "connection_pool", None)
    if pool is not None and getattr(pool, "connection_kwargs", {}).get("decode_responses"):
        raise ContractDeclarationError(
            "the Redis client decodes responses into str: create it with decode_responses=False so that "
            "message bodies (Avro is binary) reach the check and the dead-letter stream byte for byte",
            reason="bad-option",
        )


def _entries(reply: Any) -> tuple[list[Entry], list[bytes]]:
    """The entries of an XREADGROUP reply for one stream, and the ids of entries deleted from the
    stream while pending (nothing left to check: Redis answers them without fields)."""
    if not reply:
        return [], []
    # RESP2, redis-py's default: [[stream, entries]]; RESP3: {stream: entries}, or {stream: [entries]}
    # with redis-py's legacy_responses (its default)
    streams = reply if type(reply) is list else [(name, _unwrapped(entries)) for name, entries in reply.items()]
    found: list[Entry] = []
    gone: list[bytes] = []
    for _, entries in streams:
        for entry_id, fields in entries:
            if fields:
                found.append((entry_id, fields))
            else:  # None (RESP2) or {} (RESP3): XADD takes at least one field, so the entry was deleted
                gone.append(entry_id)
    return found, gone


def _unwrapped(entries: list[Any]) -> list[Any]:
    first = entries[0] if entries else None
    if type(first) is list and not (first and isinstance(first[0], (bytes, str))):  # a list of entries
        return [entry for group in entries for entry in group]
    return entries


def _warn_gone(stream: str, gone: list[bytes]) -> None:
    logger.warning(
        "%d pending entries of stream %r were deleted from it before they were checked (XDEL, or MAXLEN "
        "trimming faster than the group reads): acknowledged, nothing is left of them to check (ids %s)",
        len(gone),
        stream,
        ", ".join(_text(entry_id) for entry_id in gone[:5]) + (", ..." if len(gone) > 5 else ""),
    )


class _Base:
    """What the sync and asyncio consumers share: options, the check, and one entry's decision."""

    def __init__(
        self,
        client: Any,
        stream: str,
        *,
        group: str,
        consumer: str,
        handler: Callable[..., Any],
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        dead_letter: str,
        registry: Registry | str | None = None,
        on_violation: str = "dead_letter",
        value_field: str = VALUE_FIELD,
        count: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int | None = None,
        create_group: bool = True,
        group_start: str = "0",
        cloudevents: bool = False,
        pass_message: bool = False,
        trace: bool = True,
    ) -> None:
        _redis()
        _check_client(client)
        if not callable(handler):
            raise ContractDeclarationError("StreamConsumer needs a callable handler", reason="bad-handler")
        if not dead_letter or dead_letter == stream:
            raise ContractDeclarationError(
                "dead_letter must name a stream other than the consumed one", reason="bad-option"
            )
        observe = m.guard_observes(on_violation)
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.dead_letter = dead_letter
        self.value_field = value_field.encode()
        self.count = count
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.create_group = create_group
        self.group_start = group_start
        self.pass_message = pass_message
        # the entry's fields are the raw headers: the text headers the decoder reads are built from them
        # only when it needs them (a writer named by a field, a message off the inline path)
        self.check = m.make_guard_check(
            contract,
            fields,
            registry,
            observe,
            handler,
            cloudevents=cloudevents,
            headers=self._headers,
            names=str.encode,
        )
        self.contract = self.check.contract
        self._run = self.check.run
        self._tracing = m.Tracing(SYSTEM, trace)
        self._ready = False
        self._backlog = True  # this consumer name's pending entries come first (a restart after a crash)
        self._claim_from = "0-0"

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.stream} group={self.group} consumer={self.consumer} "
            f"{self.contract} dead_letter={self.dead_letter!r}>"
        )

    def _headers(self, fields: dict[bytes, bytes]) -> dict[str, bytes]:
        """An entry's fields but the body, as headers with text names."""
        return {_text(key): found for key, found in fields.items() if key != self.value_field}

    def _no_value(self, fields: dict[bytes, bytes]) -> Any:
        """An entry without a body: the entry's fault, as a violation is."""
        raise DecodeError(
            f"the stream entry has no {_text(self.value_field)!r} field to read the message from",
            contract=self.contract,
            reason="no-value",
            payload=fields,
        )

    def _letter(self, entry_id: bytes, fields: dict[bytes, bytes], error: ContractError) -> dict[Any, Any]:
        added = m.dead_letter_headers(
            None, error, contract=self.contract, source=self.stream, message_id=_text(entry_id)
        )
        letter: dict[Any, Any] = dict(fields)  # the original fields, body included, byte for byte
        letter.update((key.encode(), value.encode()) for key, value in added.items())
        return letter

    def _attributes(self, entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:
        value = fields.get(self.value_field)
        return {
            m.MESSAGING_MESSAGE_ID: _text(entry_id),
            m.MESSAGING_CONSUMER_GROUP_NAME: self.group,
            m.MESSAGING_BODY_SIZE: None if value is None else len(value),
        }

    def _is_busy_group(self, exc: Exception) -> bool:
        return "BUSYGROUP" in str(exc)


class StreamConsumer(_Base):
    """A consumer-group consumer on a ``redis.Redis`` client (``decode_responses=False``).

    ``handler(payload)`` (or ``handler(payload, entry_id, fields)`` with ``pass_message``) is called
    for every entry that passes. ``dead_letter``: the stream violating entries are copied to.
    ``on_violation``: ``"dead_letter"`` (default) or ``"observe"``. ``count``/``block_ms``: one
    ``XREADGROUP``'s size and wait. ``claim_idle_ms``: also claim entries pending that long.
    ``create_group``: create the group (and stream) if missing, at ``group_start`` (``"0"``: nothing
    already in the stream is skipped). ``cloudevents``: entries are CloudEvents (``ce-*`` fields, or
    a structured JSON body). ``trace``: extract the producer's context, open a ``process`` span.
    """

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if it does not exist yet."""
        if self._ready:
            return
        if self.create_group:
            try:
                self.client.xgroup_create(self.stream, self.group, id=self.group_start, mkstream=True)
            except Exception as exc:
                if not self._is_busy_group(exc):
                    raise
        self._ready = True

    def process(self, *, block_ms: int | None = None) -> int:
        """Read one batch (this consumer's pending entries first, then idle ones to claim, then new
        ones, waiting up to ``block_ms``) and settle each entry; return how many were read."""
        if not self._ready:
            self.ensure_group()
        entries = self._read(self.block_ms if block_ms is None else block_ms)
        handle = self.handle
        try:
            for entry_id, fields in entries:
                handle(entry_id, fields)
        except BaseException:
            self._backlog = True  # the rest of the batch is pending on this consumer: read it first next time
            raise
        return len(entries)

    def run(self, stop: threading.Event | None = None) -> None:
        """Process until ``stop`` is set (checked between batches; at most ``block_ms`` later)."""
        while stop is None or not stop.is_set():
            self.process()

    def _read(self, block_ms: int) -> list[Entry]:
        if self._backlog:
            reply = self.client.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.count)
            entries = self._kept(reply)
            if entries:
                return entries
            self._backlog = False
        if self.claim_idle_ms is not None:
            claimed = self.client.xautoclaim(
                self.stream, self.group, self.consumer, self.claim_idle_ms, self._claim_from, count=self.count
            )
            self._claim_from = _text(claimed[0]) if claimed[0] else "0-0"
            entries = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]  # XAUTOCLAIM drops deleted ones
            if entries:
                return entries
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.count, block=block_ms or None
        )
        return self._kept(reply)

    def _kept(self, reply: Any) -> list[Entry]:
        entries, gone = _entries(reply)
        if gone:
            _warn_gone(self.stream, gone)
            self.client.xack(self.stream, self.group, *gone)
        return entries

    def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        """Check one entry read by this consumer, then hand it on and ``XACK`` it, or dead-letter it."""
        if self._tracing.enabled and (m.LISTENING.tracing or m.LISTENING.stale):
            tracer = self._tracing.tracer()
            if tracer is not None:
                headers = self._headers(fields)
                with self._tracing.consume(tracer, self.stream, headers, self._attributes(entry_id, fields)) as span:
                    self._settle(entry_id, fields, span)
                return
        self._settle(entry_id, fields, None)

    def _settle(self, entry_id: bytes, fields: dict[bytes, bytes], span: Any) -> None:
        value = fields.get(self.value_field)
        try:
            payload = self._no_value(fields) if value is None else self._run(value, fields)
        except ContractError as error:
            if not m.is_message_fault(error):
                raise
            self.client.xadd(self.dead_letter, self._letter(entry_id, fields, error))
            m.dead_lettered(span, self.dead_letter, error)
            self.ack(entry_id)
            return
        if self.pass_message:
            self.handler(payload, entry_id, fields)
        else:
            self.handler(payload)
        self.ack(entry_id)

    def ack(self, entry_id: bytes) -> None:
        """``XACK`` one entry (a separate step so that a test can stop between dead-letter and ack)."""
        self.client.xack(self.stream, self.group, entry_id)


class AsyncStreamConsumer(_Base):
    """:class:`StreamConsumer` on a ``redis.asyncio.Redis`` client; handlers may be sync or async."""

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if it does not exist yet."""
        if self._ready:
            return
        if self.create_group:
            try:
                await self.client.xgroup_create(self.stream, self.group, id=self.group_start, mkstream=True)
            except Exception as exc:
                if not self._is_busy_group(exc):
                    raise
        self._ready = True

    async def process(self, *, block_ms: int | None = None) -> int:
        """Read one batch and settle each entry; return how many were read (see
        :meth:`StreamConsumer.process`)."""
        if not self._ready:
            await self.ensure_group()
        entries = await self._read(self.block_ms if block_ms is None else block_ms)
        try:
            for entry_id, fields in entries:
                await self.handle(entry_id, fields)
        except BaseException:
            self._backlog = True  # the rest of the batch is pending on this consumer: read it first next time
            raise
        return len(entries)

    async def run(self, stop: Any = None) -> None:
        """Process until ``stop`` (an ``asyncio.Event``) is set, or the task is cancelled."""
        while stop is None or not stop.is_set():
            await self.process()

    async def _read(self, block_ms: int) -> list[Entry]:
        if self._backlog:
            reply = await self.client.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.count)
            entries = await self._kept(reply)
            if entries:
                return entries
            self._backlog = False
        if self.claim_idle_ms is not None:
            claimed = await self.client.xautoclaim(
                self.stream, self.group, self.consumer, self.claim_idle_ms, self._claim_from, count=self.count
            )
            self._claim_from = _text(claimed[0]) if claimed[0] else "0-0"
            entries = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]  # XAUTOCLAIM drops deleted ones
            if entries:
                return entries
        reply = await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.count, block=block_ms or None
        )
        return await self._kept(reply)

    async def _kept(self, reply: Any) -> list[Entry]:
        entries, gone = _entries(reply)
        if gone:
            _warn_gone(self.stream, gone)
            await self.client.xack(self.stream, self.group, *gone)
        return entries

    async def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        """Check one entry, then hand it on and ``XACK`` it, or dead-letter it (``XADD`` then ``XACK``)."""
        if self._tracing.enabled and (m.LISTENING.tracing or m.LISTENING.stale):
            tracer = self._tracing.tracer()
            if tracer is not None:
                headers = self._headers(fields)
                with self._tracing.consume(tracer, self.stream, headers, self._attributes(entry_id, fields)) as span:
                    await self._settle(entry_id, fields, span)
                return
        await self._settle(entry_id, fields, None)

    async def _settle(self, entry_id: bytes, fields: dict[bytes, bytes], span: Any) -> None:
        value = fields.get(self.value_field)
        try:
            payload = self._no_value(fields) if value is None else self._run(value, fields)
        except ContractError as error:
            if not m.is_message_fault(error):
                raise
            await self.client.xadd(self.dead_letter, self._letter(entry_id, fields, error))
            m.dead_lettered(span, self.dead_letter, error)
            await self.ack(entry_id)
            return
        result = self.handler(payload, entry_id, fields) if self.pass_message else self.handler(payload)
        if m.awaitable(result):
            await result
        await self.ack(entry_id)

    async def ack(self, entry_id: bytes) -> None:
        """``XACK`` one entry."""
        await self.client.xack(self.stream, self.group, entry_id)


def _fields(value: bytes, headers: Mapping[str, str | bytes] | None, value_field: str) -> dict[str, Any]:
    fields: dict[str, Any] = {value_field: value}
    for key, found in (headers or {}).items():
        if key == value_field:
            raise ContractDeclarationError(f"a header may not be called {value_field!r}", reason="bad-option")
        fields[key] = found
    return fields


def publish(
    client: Any,
    stream: str,
    value: bytes,
    headers: Mapping[str, str | bytes] | None = None,
    *,
    value_field: str = VALUE_FIELD,
    maxlen: int | None = None,
) -> bytes:
    """``XADD`` ``value`` to ``stream`` with ``headers`` as fields plus the current trace context,
    in a ``send`` span; returns the entry id.

    ::

        encoded = encode("order.v3", order, format="avro")
        publish(client, "orders", encoded.value, encoded.headers)
    """
    _redis()
    sent: dict[str, Any] = dict(headers or {})
    with _TRACING.publish(stream, sent, {m.MESSAGING_BODY_SIZE: len(value)}):
        entry_id: bytes = client.xadd(stream, _fields(value, sent, value_field), maxlen=maxlen, approximate=True)
    return entry_id


async def publish_async(
    client: Any,
    stream: str,
    value: bytes,
    headers: Mapping[str, str | bytes] | None = None,
    *,
    value_field: str = VALUE_FIELD,
    maxlen: int | None = None,
) -> bytes:
    """:func:`publish` on a ``redis.asyncio.Redis`` client."""
    _redis()
    sent: dict[str, Any] = dict(headers or {})
    with _TRACING.publish(stream, sent, {m.MESSAGING_BODY_SIZE: len(value)}):
        entry_id: bytes = await client.xadd(stream, _fields(value, sent, value_field), maxlen=maxlen, approximate=True)
    return entry_id
