"""Framings on the wire, one module each, with the same verbs: ``detect``, ``decode``, ``encode``.

- ``confluent``: Confluent's framing (magic byte ``0x00`` + 4-byte big-endian schema id, or ``0x01`` +
  16-byte schema GUID), and the same id carried in the ``__value_schema_id``/``__key_schema_id`` header.
- ``single_object``: Avro single-object encoding (``C3 01`` + 8-byte little-endian CRC-64-AVRO
  fingerprint of the writer schema's canonical form).
- ``json``: JSON text.
- ``avro``: a bare Avro body, read with a writer (and reader) schema.

``headers`` may be a mapping or a list of ``(name, value)`` pairs, as Kafka clients give them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syscontract.errors import DecodeError

__all__ = ["CONTRACT_HEADER", "ENCODING_HEADER", "Envelope", "header", "open_envelope"]

CONTRACT_HEADER = "syscontract-contract"
"""The header naming the writer's contract (``order.v2``): a bare Avro body is read with it."""

ENCODING_HEADER = "syscontract-encoding"
"""``json`` when the body named by :data:`CONTRACT_HEADER` is JSON rather than an Avro body."""


def header(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None, name: str) -> Any:
    """The value of header ``name`` (the last one when repeated), or None. Headers that are neither
    a mapping nor ``(name, value)`` pairs are a :class:`DecodeError` (reason ``bad-headers``)."""
    if headers is None:
        return None
    try:
        if isinstance(headers, Mapping):
            return headers.get(name)
        found = None
        for pair in headers:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"a header is {type(pair).__name__}, not a (name, value) pair")
            if pair[0] == name:
                found = pair[1]
        return found
    except (TypeError, ValueError) as exc:
        raise DecodeError(
            f"malformed headers ({exc}): expected a mapping or a list of (name, value) pairs", reason="bad-headers"
        ) from exc


@dataclass(frozen=True)
class Envelope:
    """Bytes with the headers they arrived with, for a checker to decode (``key``: the bytes are a
    message key, whose schema id travels in ``__key_schema_id``)."""

    value: Any
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None
    key: bool = False


def open_envelope(message: Any) -> tuple[Any, Any, bool] | None:
    """``(value, headers, key)`` of bytes that arrived with headers: an :class:`Envelope`, or a
    confluent-kafka ``Message`` (recognised by its module, never imported); None for anything else.
    Every client's envelope is recognised here, not in the engine."""
    if type(message) is Envelope:
        return message.value, message.headers, message.key
    module = type(message).__module__ or ""  # a class made at run time (protobuf's message factory) has None
    if module.startswith(("confluent_kafka", "cimpl")) and callable(getattr(message, "value", None)):
        return message.value(), message.headers(), False
    return None
