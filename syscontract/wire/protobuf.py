"""Protobuf on the wire: Confluent's message-index array, and a bare body read with a message class.

After Confluent's prefix (``0x00`` + schema id, or ``0x01`` + GUID, :mod:`syscontract.wire.confluent`)
a protobuf message carries the path of its message type in the schema's file: a count, then that
many indexes, each a zigzag varint; the common ``[0]`` (the file's first message) is the single byte
``0x00``. The body follows. A bare body (no prefix) is named by the ``syscontract-contract`` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syscontract.errors import DecodeError

__all__ = ["MAX_INDEXES", "decode", "decode_indexes", "encode", "encode_indexes"]

MAX_INDEXES = 64
"""A message-index array longer than this (nesting that deep) is refused as bad framing."""


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if offset >= len(data):
            raise DecodeError("the protobuf message-index array is cut short", reason="truncated", payload=data)
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7
        if shift > 63:
            raise DecodeError("a varint of the message-index array is too long", reason="bad-framing", payload=data)


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def decode_indexes(data: bytes, offset: int) -> tuple[tuple[int, ...], int]:
    """The message-index array at ``data[offset:]`` and the offset of the body after it."""
    if offset < len(data) and data[offset] == 0:
        return (0,), offset + 1
    count, offset = _varint(data, offset)
    count = _zigzag(count)
    if not 0 < count <= MAX_INDEXES:
        raise DecodeError(
            f"the protobuf message-index array claims {count} entries (expected 1 to {MAX_INDEXES})",
            reason="bad-framing",
            payload=data,
        )
    indexes = []
    for _ in range(count):
        raw, offset = _varint(data, offset)
        index = _zigzag(raw)
        if index < 0:
            raise DecodeError(f"negative message index {index}", reason="bad-framing", payload=data)
        indexes.append(index)
    return tuple(indexes), offset


def _put_varint(value: int, out: bytearray) -> None:
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return


def encode_indexes(indexes: Sequence[int]) -> bytes:
    """The message-index array Confluent's serializers write: ``b"\\x00"`` for ``[0]``."""
    if tuple(indexes) == (0,):
        return b"\x00"
    out = bytearray()
    _put_varint(len(indexes) << 1, out)
    for index in indexes:
        _put_varint(index << 1, out)  # zigzag of a non-negative number
    return bytes(out)


def decode(data: bytes, offset: int, message_class: type[Any]) -> Any:
    """The message of class ``message_class`` in ``data[offset:]``."""
    from google.protobuf.message import DecodeError as ProtoDecodeError

    try:
        return message_class.FromString(data[offset:] if offset else data)
    except (ProtoDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(
            f"the protobuf body cannot be read as {message_class.DESCRIPTOR.full_name} ({exc})",
            reason="bad-protobuf",
            payload=data,
        ) from exc


def encode(message: Any) -> bytes:
    """The message's body, deterministic (map entries in key order)."""
    return bytes(message.SerializeToString(deterministic=True))
