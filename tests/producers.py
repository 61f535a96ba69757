"""Bytes as producers build them: fastavro from the producer's own schema JSON, then a framing."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

__all__ = ["avro_body", "confluent", "single_object"]


def _parsed(schema: Mapping[str, Any]) -> Any:
    return fastavro.parse_schema(json.loads(json.dumps(schema)))  # a copy: parse_schema annotates it


def avro_body(schema: Mapping[str, Any], datum: Mapping[str, Any]) -> bytes:
    """The schemaless Avro body of ``datum`` written with ``schema``."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, _parsed(schema), datum)
    return out.getvalue()


def confluent(schema_id: int, body: bytes) -> bytes:
    """Confluent framing: magic byte 0 and the 4-byte big-endian schema id."""
    return b"\x00" + struct.pack(">I", schema_id) + body


def single_object(schema: Mapping[str, Any], body: bytes) -> bytes:
    """Avro single-object encoding: C3 01 and the CRC-64-AVRO fingerprint of the writer schema."""
    canonical = to_parsing_canonical_form(_parsed(schema))
    return b"\xc3\x01" + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")) + body
