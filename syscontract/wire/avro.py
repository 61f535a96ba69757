"""A bare Avro body, read and written with fastavro's parsed schemas.

fastavro is given parsed schemas only (an unparsed one is re-parsed on every message) and no reader
schema when the reader is the writer (a reader equal to but not identical with the writer triggers a
deep comparison per message).
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError

from syscontract.errors import DecodeError

__all__ = ["IncompatibleWriter", "decode", "encode"]


class IncompatibleWriter(Exception):
    """The reader schema cannot read what the writer schema wrote."""


def decode(data: bytes, offset: int, writer: Any, reader: Any = None) -> Any:
    """Read one datum from ``data[offset:]``; every byte must belong to it."""
    stream = io.BytesIO(data)
    stream.seek(offset)
    try:
        value = fastavro.schemaless_reader(stream, writer, reader)
    except SchemaResolutionError as exc:
        raise IncompatibleWriter(str(exc)) from exc
    except Exception as exc:  # EOFError, ValueError, UnicodeDecodeError, IndexError: a corrupt body
        raise DecodeError(
            f"Avro body cannot be read with the writer schema ({type(exc).__name__}: {exc})",
            reason="bad-avro",
            payload=data,
        ) from exc
    left = len(data) - stream.tell()
    if left:
        raise DecodeError(
            f"{left} bytes remain after the Avro datum: the body does not match the writer schema",
            reason="bad-avro",
            payload=data,
        )
    return value


def encode(payload: Any, schema: Any) -> bytes:
    """``payload`` as an Avro body written with ``schema`` (fastavro's parsed form)."""
    stream = io.BytesIO()
    fastavro.schemaless_writer(stream, schema, payload)
    return stream.getvalue()
