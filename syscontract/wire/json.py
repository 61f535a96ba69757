"""JSON text: decode into Python values, or into a pydantic model in one step."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from syscontract.errors import DecodeError

__all__ = ["BOM", "decode", "detect", "encode", "has_bom"]


def detect(data: bytes | str) -> bool:
    """Whether ``data`` looks like a JSON object or array (after leading white space)."""
    head = data.lstrip()[:1]
    return head in (b"{", b"[", "{", "[")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# built once: json.loads builds a decoder per call when given options, and detects encodings we
# do not accept anyway (JSON exchanged between systems is UTF-8, RFC 8259)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
"""The decoder's own scanner, ``SCAN(text, 0) -> (value, end)``, for a generated fast path that has
already seen ``{`` first (so no byte order mark, no leading space): what it does not read to the end
of ``text``, or cannot read, goes to :func:`decode`, which says why. It skips the two Python frames
and the whitespace matching of ``JSONDecoder.decode``."""

BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark: RFC 8259 forbids it in JSON exchanged between systems."""


def has_bom(data: bytes | bytearray | str) -> bool:
    return data[:3] == BOM if not isinstance(data, str) else data[:1] == "\ufeff"


def decode(data: bytes | bytearray | str) -> Any:
    """Parse UTF-8 JSON; :class:`DecodeError` (reason ``not-json``) for anything that is not JSON,
    including ``NaN`` and ``Infinity``, which Python's json would otherwise accept, and a leading
    byte order mark (reason ``bom``)."""
    if has_bom(data):
        raise DecodeError(
            "message starts with a UTF-8 byte order mark (BOM): JSON between systems must not carry one "
            "(RFC 8259 section 8.1); strip it in the producer",
            reason="bom",
            payload=data,
        )
    try:
        return _DECODER.decode(data if isinstance(data, str) else data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DecodeError(f"message is not valid JSON ({exc})", reason="not-json", payload=data) from exc


def encode(payload: Any) -> bytes:
    """Compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
