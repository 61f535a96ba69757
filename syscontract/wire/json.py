"""JSON text: decode into Python values, or into a pydantic model in one step."""

from __future__ import annotations

import json
from typing import Any

from syscontract.errors import DecodeError

__all__ = ["decode", "detect", "encode"]


def detect(data: bytes | str) -> bool:
    """Whether ``data`` looks like a JSON object or array (after leading white space)."""
    head = data.lstrip()[:1]
    return head in (b"{", b"[", "{", "[")


def decode(data: bytes | bytearray | str) -> Any:
    """Parse JSON; :class:`DecodeError` (reason ``not-json``) for anything that is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DecodeError(f"message is not valid JSON ({exc})", reason="not-json", payload=data) from exc


def encode(payload: Any) -> bytes:
    """Compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
