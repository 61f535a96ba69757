"""Confluent's wire format: a magic byte, the writer's schema id or GUID, then the body.

``0x00`` + 4-byte big-endian schema id, or ``0x01`` + 16-byte schema GUID. The same prefix may travel
in the ``__value_schema_id`` (``__key_schema_id``) header instead, with the bare body as the value.
"""

from __future__ import annotations

import uuid

from syscontract.errors import DecodeError

__all__ = ["KEY_HEADER", "VALUE_HEADER", "SchemaKey", "decode", "decode_header", "detect", "encode"]

VALUE_HEADER = "__value_schema_id"
KEY_HEADER = "__key_schema_id"
_MAGIC_ID = 0
_MAGIC_GUID = 1

SchemaKey = int | uuid.UUID
"""A schema id (int) or a schema GUID."""


def detect(data: bytes) -> bool:
    """Whether ``data`` starts like a Confluent-framed message."""
    return bool(data) and data[0] in (_MAGIC_ID, _MAGIC_GUID)


def decode(data: bytes) -> tuple[SchemaKey, int]:
    """The writer's schema id or GUID, and the offset where the body starts."""
    if not data:
        raise DecodeError("empty message: no Confluent framing", reason="bad-framing", payload=data)
    magic = data[0]
    if magic == _MAGIC_ID:
        if len(data) < 5:
            raise DecodeError(
                f"Confluent-framed message of {len(data)} bytes is shorter than its 5-byte header",
                reason="truncated",
                payload=data,
            )
        return int.from_bytes(data[1:5], "big"), 5
    if magic == _MAGIC_GUID:
        if len(data) < 17:
            raise DecodeError(
                f"Confluent-framed message of {len(data)} bytes is shorter than its 17-byte GUID header",
                reason="truncated",
                payload=data,
            )
        return uuid.UUID(bytes=bytes(data[1:17])), 17
    raise DecodeError(
        f"unknown Confluent magic byte 0x{magic:02x} (expected 0x00 for a schema id or 0x01 for a GUID)",
        reason="bad-framing",
        payload=data,
    )


def decode_header(value: bytes | str) -> SchemaKey:
    """The schema id or GUID carried in a ``__value_schema_id``/``__key_schema_id`` header."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    key, end = decode(raw)
    if end != len(raw):
        raise DecodeError(
            f"schema id header has {len(raw) - end} unexpected trailing bytes", reason="bad-framing", payload=raw
        )
    return key


def encode(key: SchemaKey, body: bytes) -> bytes:
    """``body`` framed with the schema id (int) or GUID."""
    if isinstance(key, uuid.UUID):
        return bytes([_MAGIC_GUID]) + key.bytes + body
    return bytes([_MAGIC_ID]) + key.to_bytes(4, "big") + body
