"""Avro single-object encoding: ``C3 01``, the writer schema's 8-byte CRC-64-AVRO fingerprint
(little-endian), then the Avro body."""

from __future__ import annotations

from syscontract.errors import DecodeError

__all__ = ["MARKER", "decode", "detect", "encode"]

MARKER = b"\xc3\x01"


def detect(data: bytes) -> bool:
    """Whether ``data`` starts with the single-object marker."""
    return data[:2] == MARKER


def decode(data: bytes) -> tuple[bytes, int]:
    """The writer's fingerprint and the offset where the body starts."""
    if data[:2] != MARKER:
        raise DecodeError("not Avro single-object encoding (no C3 01 marker)", reason="bad-framing", payload=data)
    if len(data) < 10:
        raise DecodeError(
            f"single-object message of {len(data)} bytes is shorter than its 10-byte header",
            reason="truncated",
            payload=data,
        )
    return bytes(data[2:10]), 10


def encode(fingerprint: bytes, body: bytes) -> bytes:
    """``body`` framed with the writer's fingerprint."""
    if len(fingerprint) != 8:
        raise ValueError("a CRC-64-AVRO fingerprint has 8 bytes")
    return MARKER + fingerprint + body
