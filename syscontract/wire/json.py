"""JSON text: decode into Python values, or into a pydantic model in one step.

Two decoders read the same bytes. :func:`decode` is the precise one (the standard library's, which
says why it refuses). :func:`decode_fast` is orjson's, for the fast paths: about a quarter of the
cost, and held to :func:`decode` by one rule: it returns a value only when :func:`decode` would return
the very same one (type for type), and raises :class:`ValueError` for anything else, so that the
precise path decides (tests/unit/test_fast_paths_agree.py holds it to that on generated bodies)."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable
from typing import Any, Final

import orjson

from syscontract.errors import DecodeError

__all__ = ["BOM", "decode", "decode_fast", "detect", "encode", "has_bom", "model_reader"]


def detect(data: bytes | str) -> bool:
    """Whether ``data`` looks like a JSON object or array (after leading white space)."""
    head = data.lstrip()[:1]
    return head in (b"{", b"[", "{", "[")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


# built once: json.loads builds a decoder per call when given options, and detects encodings we
# do not accept anyway (JSON exchanged between systems is UTF-8, RFC 8259)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


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
        text = data if isinstance(data, str) else data.decode("utf-8")
        try:
            return _DECODER.decode(text)
        except RecursionError:
            return _decode_deep(text, data)
    except DecodeError:
        raise
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DecodeError(f"message is not valid JSON ({exc})", reason="not-json", payload=data) from exc


# -- the fast decoder -----------------------------------------------------------------------------
#
# Where orjson reads a body differently from decode() (found by the differential test, not assumed):
# - an integer past 64 bits (below -2**63 or above 2**64 - 1) becomes a float; decode() keeps the int.
#   Such an integer is at least 19 digits long: a body holding 19 digits in a row (in a number or in a
#   string: the test is on bytes) is decode()'s;
# - nesting: orjson reads 1024 levels; decode() refuses as too-deep from the recursion limit (1000 by
#   default). Where the limit is at most 1024, a body with as many brackets as the limit is decode()'s.
# Everything else that differs is refused by orjson (raises), so decode() decides: NaN and Infinity
# (refused by both), '1e400' (inf for json, an error for orjson), escaped lone surrogates (json reads
# them, orjson refuses), a byte order mark, invalid UTF-8, trailing data, control characters. Both read
# duplicate keys last-wins, keeping the first key's place; '-0' as the int 0, '-0.0' as -0.0.

# Searches are written data.find(x) >= 0, not x in data: bytes.__contains__ first tries its argument
# as an integer, and the TypeError it raises and clears cost more than the search (measured: 0.2-0.3 us
# a test on the reference event, a third of the guards' cost).
_ZEROS: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG: Final = 19
"""Digits in a row from which a number may not fit 64 bits (2**63 has 19 digits)."""
_RUN = b"0" * _LONG  # what _ZEROS makes of them (not Final: a test drops the guard by replacing it)
_FLOAT_RUN = b"0" * 309
"""The long-number test of pydantic's reader for a model without a float field. pydantic's parser reads
every integer exactly, as :func:`decode` does, up to its own limit of 4300 digits, where the
interpreter's (``sys.set_int_max_str_digits``, at least 640) may be lower: :func:`decode` refuses
such an integer. Below 309 digits the two agree on every integer, so such a reader is spared the
19-digit test. A model with a float field anywhere is tested for 19 digits (:data:`_RUN`), as
:func:`decode_fast` is: pydantic's parser converts an integer past 64 bits to a float without rounding
it correctly (946307210227624370763000000000000000000 becomes 9.463072102276243e+38, Python's float()
gives ...244e+38; red team 26b), and one past a float's range becomes inf, where the precise path
refuses the int."""
_ORJSON_DEPTH: Final = 1024
_recursion_limit: Final = sys.getrecursionlimit


def _doubtful(data: bytes | bytearray, depth: int | None = None, run: bytes | None = None) -> bool:
    """Whether a fast reader whose own nesting limit is ``depth`` may read ``data`` differently from
    :func:`decode` though it reads it: ``run`` digits in a row (by default 19: an integer past 64
    bits), or as many brackets as the recursion limit, where that limit is within the reader's own."""
    return data.translate(_ZEROS).find(_RUN if run is None else run) >= 0 or _deep(
        data, _ORJSON_DEPTH if depth is None else depth
    )


def _deep(data: bytes | bytearray, depth: int) -> bool:
    """As many brackets in ``data`` as the recursion limit, where that limit is within ``depth``."""
    limit = _recursion_limit()
    if len(data) < limit:
        return False  # as many brackets as the limit take as many bytes: a shorter body is not counted
    return limit <= depth and data.count(b"{") + data.count(b"[") >= limit


def decode_fast(data: bytes | bytearray | memoryview | str) -> Any:
    """:func:`decode`'s value, read by orjson, or :class:`ValueError` when orjson refuses ``data`` or
    may read it differently (then :func:`decode` decides, and says why)."""
    if isinstance(data, str):
        # the tests on bytes are a tenth of the cost of str.translate; text that is not UTF-8 (lone
        # surrogates, which orjson refuses too) raises UnicodeEncodeError, a ValueError. A subclass
        # too: the byte tests on one raised TypeError, which callers do not catch (red team 26b)
        data = data.encode("utf-8")
    elif type(data) is memoryview:
        data = data.tobytes()  # orjson reads a view's buffer; decode() reads bytes(view): the same bytes
    # _doubtful(data) inlined (a call costs a tenth of what the test does): a body shorter than the
    # recursion limit is tested for long numbers only
    raw = data
    if raw.translate(_ZEROS).find(_RUN) >= 0 or (len(raw) >= _recursion_limit() and _deep(raw, _ORJSON_DEPTH)):
        raise ValueError("decode() decides")
    return orjson.loads(raw)


def model_reader(model: Any) -> Callable[[bytes | bytearray | str], Any]:
    """``read(data)``: an instance of the pydantic ``model`` validated by pydantic-core's own JSON
    parser in strict mode, or an exception where that may differ from validating :func:`decode`'s
    value (what the precise path does). pydantic's parser reads NaN and Infinity, which :func:`decode`
    refuses: a body holding either word is the precise path's. Strict mode takes each JSON value only
    as its own type (no ``"5"`` for an int), so a critical field's value has the JSON type it was sent
    with; what strict mode refuses and lax mode takes is the precise path's too. Escaped lone
    surrogates, a byte order mark, trailing data and deep nesting are refused by pydantic's parser;
    duplicate keys are read last-wins by both (the differential test holds it to that)."""
    validate = model.__pydantic_validator__.validate_json
    run = None if _reads_floats(model.__pydantic_core_schema__) else _FLOAT_RUN  # None: _RUN, read per call

    def read(data: bytes | bytearray | str) -> Any:
        if isinstance(data, str):
            data = data.encode("utf-8")  # text that is not UTF-8 raises: a ValueError, decode() decides
        # a one-character search first: most events hold no 'N' (the three-letter search alone cost
        # twice as much on the reference event); 'Infinity' is found by its tail, whose rare letters
        # let the search skip ahead (events hold capital I's: 'VIP', 'ID'; 0.7 x the cost measured)
        if (data.find(b"N") >= 0 and data.find(b"NaN") >= 0) or data.find(b"nfinity") >= 0:
            raise ValueError("decode() decides")
        # a long integer (past 64 bits where a float field may read it: pydantic may round it to
        # another float, past a float's range to inf; else past the interpreter's digit limit) and
        # nesting at the recursion limit (decode() refuses it as too deep, where pydantic's parser
        # reads up to its own limit, about 250 levels)
        if _doubtful(data, sys.maxsize, run):
            raise ValueError("decode() decides")
        return validate(data, strict=True)

    return read


def _reads_floats(schema: Any) -> bool:
    """Whether a pydantic core schema validates a float anywhere (a field, an item, a value, a key)."""
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            if node.get("type") == "float":
                return True
            pending.extend(value for key, value in node.items() if key not in ("metadata", "cls", "ref"))
    return False


# -- JSON nested deeper than the caller's stack leaves room for -----------------------------------
#
# Python's JSON scanner counts each level of nesting against the interpreter's recursion limit,
# on top of the caller's own frames: the same bytes would decode from a short stack and fail from
# a deeper one (a guard's inline read, check(), the precise path are a few frames apart). The
# verdict is made a property of the bytes: nesting below the recursion limit decodes, on a fresh
# thread if the caller's stack is too deep for it; nesting at or beyond it is ``too-deep``. Only a
# message the scanner could not finish comes here.

_TOKENS: Final = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
"""Strings, skipped whole (a bracket inside one does not nest), and brackets. A string left open runs
to the end of the text, so that no quote is scanned twice: linear in the text, whatever it holds."""
_DEEP: Final = threading.Lock()
_ROOM: Final = 32
"""Frames a fresh thread may use beyond the recursion limit: its own bootstrap and the decoder's."""


def nesting(text: str) -> int:
    """How deep ``text``'s arrays and objects nest, counted without recursion."""
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in "]}":
            depth -= 1
    return deepest


def _decode_deep(text: str, data: bytes | bytearray | str) -> Any:
    depth, limit = nesting(text), sys.getrecursionlimit()
    if depth >= limit:
        raise DecodeError(
            f"message nests {depth} levels deep: JSON is decoded up to the interpreter's recursion limit "
            f"({limit}) levels",
            reason="too-deep",
            payload=data,
        )
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, _DECODER.decode(text)))
        except BaseException as exc:  # handed back to the caller's thread, raised there
            outcome.append((False, exc))

    with _DEEP:  # the recursion limit is the interpreter's: one such decode at a time raises it
        sys.setrecursionlimit(limit + _ROOM)
        try:
            worker = threading.Thread(target=run, name="syscontract-deep-json", daemon=True)
            worker.start()
            worker.join()
        finally:
            sys.setrecursionlimit(limit)
    decoded, value = outcome[0]
    if decoded:
        return value
    if isinstance(value, RecursionError):  # pragma: no cover - the fresh stack has room for `depth`
        raise DecodeError(f"message nests {depth} levels deep: too deep to decode", reason="too-deep", payload=data)
    raise value


def encode(payload: Any) -> bytes:
    """Compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
