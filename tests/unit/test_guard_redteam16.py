"""Red team of the guards' inline JSON read (``_WireCheck`` reads a body opening with ``{`` by the
decoder's own scanner, ``SCAN(text, 0)``, and keeps it only when read to the end).

Promise under attack: a guard's verdict (pass, or which error class, field, reason, writer, payload
bytes) is the precise path's (``syscontract.check(contract, Envelope(value, headers), fields)``)
for any body bytes and headers.

The red team of issue 16's second pass found the defects under "defects" (each comment says which
promise the code broke, and how); they are fixed, and the tests stay as regression tests beside the
strongest probes that held.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from threads import run_threads

import syscontract
from syscontract import ContractError
from syscontract._engine.decoder import MAX_MESSAGE_BYTES
from syscontract.integrations import _messaging as m
from syscontract.wire import Envelope

pytestmark = pytest.mark.usefixtures("registry")

FIELDS = ["orderId", "currency", "customer.customerTier"]


def verdict(run: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        return "ok", run(*args)
    except ContractError as error:
        payload = error.payload.value if isinstance(error.payload, Envelope) else error.payload
        if isinstance(payload, (bytearray, memoryview)):
            payload = bytes(payload)
        return type(error).__name__, error.field, error.reason, error.writer, payload


def _nested(order: dict[str, Any], depth: int) -> bytes:
    """A valid order whose extra, non-critical field holds ``depth`` nested arrays."""
    return json.dumps(order).encode()[:-1] + b', "extra": ' + b"[" * depth + b"]" * depth + b"}"


# -- defects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", ["order.v3", "order.v4"])
def test_a_deeply_nested_body_gets_one_verdict_whatever_the_route(contract: str, order: dict[str, Any]) -> None:
    # BROKE promise (a), and the guard's own consistency: a valid order whose non-critical "extra"
    # field nests about (recursion limit - stack depth) arrays PASSES the guard when the body is
    # ``bytes`` (the inline path: SCAN called straight from the generated check, few frames deep),
    # but is a DecodeError "not-json" (RecursionError inside json) for the very same bytes as a
    # ``bytearray`` (the precise path, some frames deeper) and for syscontract.check at the same
    # caller depth. The verdict depends on the call stack, not the bytes. Observed on CPython 3.11
    # with the default recursion limit: depths 987..994 from a plain script (8 depths; before
    # 383efcb, which removed the json.decode/raw_decode frames from the inline path, it was 5).
    check = m.GuardCheck(contract, FIELDS)
    check.run(json.dumps(order).encode(), None)  # planned and probed
    limit = sys.getrecursionlimit()
    differ: dict[int, str] = {}
    for depth in range(max(1, limit - 400), limit + 20):
        body = _nested(order, depth)
        inline = verdict(check.run, body, None)
        precise = verdict(check.run, bytearray(body), None)
        checked = verdict(syscontract.check, contract, Envelope(body, None), FIELDS)
        if not inline[0] == precise[0] == checked[0]:
            differ[depth] = f"bytes {inline[0]}, bytearray {precise[0]} {precise[2:3]}, check {checked[0]}"
    assert not differ, "depths the routes disagree on:\n" + "\n".join(f"{d}: {v}" for d, v in differ.items())


# -- held: regression tests ------------------------------------------------------------------------

_VALUES = [
    b"1e400", b"-1e400", b"-0", b"-0.0", b"1" * 5000, b'"\\ud800"', b'"\\ud83d\\ude00"', b'"GOLD\\u0000"',
    b'"GOLD"', b'"\\u0047OLD"', b"true", b"1", b"1.0", b"null", b"[]", b"{}", b"NaN", b"-Infinity",
    b'"GOLD\xed\xa0\x80"',  # a surrogate encoded in UTF-8 (not UTF-8)
    b'"GOLD\xc0\xaf"',  # an overlong encoding
    b'"GOLD\x00"',  # a raw control character in a string
    b'"\xe2\x80\xa8"',
]  # fmt: skip
_TAILS = [b"", b" ", b"\r\n\t", b"\xc2\xa0", b"\x0b", b"\x0c", b"\x00", b"\xef\xbb\xbf", b"}", b" {}"]


@pytest.mark.parametrize("contract", ["order.v3", "order.v4"])
@pytest.mark.parametrize("where", ["orderId", "tier", "nested extra", "duplicate tier before", "duplicate tier after"])
def test_odd_values_and_tails_get_the_precise_verdict_in_every_body_type(
    contract: str, where: str, order: dict[str, Any]
) -> None:
    # numbers (1e400, -0, 5000 digits), escapes and raw bytes (surrogates, overlong UTF-8, NUL),
    # duplicate keys, and tails that are not JSON white space (NBSP, VT, FF, NUL, a BOM): each in a
    # critical field, beside it, or deep in a non-critical one; as bytes (inline path), bytearray,
    # memoryview and str (precise path); the check called twice (first call probes)
    check = m.GuardCheck(contract, FIELDS)
    text = json.dumps(order)
    for value in _VALUES:
        if where == "orderId":
            body = text.replace(json.dumps(order["orderId"]), "@@", 1).encode().replace(b"@@", value)
        elif where == "tier":
            body = text.replace('"GOLD"', "@@").encode().replace(b"@@", value)
        elif where == "nested extra":
            body = text[:-1].encode() + b', "extra": {"x": [' + value + b"]}}"
        elif where == "duplicate tier before":
            body = text.replace('"customer": {', '"customer": {"customerTier": @@, ', 1).encode().replace(b"@@", value)
        else:
            body = text.replace('"GOLD"', '"GOLD", "customerTier": @@').encode().replace(b"@@", value)
        for tail in _TAILS:
            raw = body + tail
            expected = verdict(syscontract.check, contract, Envelope(raw, None), FIELDS)
            forms: list[Any] = [raw, bytearray(raw), memoryview(raw)]
            with contextlib.suppress(UnicodeDecodeError):
                forms.append(raw.decode("utf-8"))
            for form in forms:
                for _ in range(2):
                    got = verdict(check.run, form, None)
                    if isinstance(form, str) and got[0] != "ok":
                        got = (*got[:4], raw)  # a str body's payload is the str itself
                    assert expected == got, (value, tail, type(form).__name__)


def test_a_body_over_the_limit_is_too_large_on_the_inline_path(order: dict[str, Any]) -> None:
    # valid JSON of an object, one byte over MAX_MESSAGE_BYTES: refused before it is read, as precisely
    body = json.dumps(order).encode()[:-1] + b', "pad": "'
    body += b"x" * (MAX_MESSAGE_BYTES + 1 - len(body) - 2) + b'"}'
    assert MAX_MESSAGE_BYTES + 1 == len(body)
    json.loads(body)
    check = m.GuardCheck("order.v3", FIELDS)
    expected = verdict(syscontract.check, "order.v3", Envelope(body, None), FIELDS)
    assert ("DecodeError", None, "too-large") == expected[:3]
    for _ in range(2):
        assert expected == verdict(check.run, body, None)
    at_limit = body[:-3] + b'"}'  # MAX_MESSAGE_BYTES exactly: read, and passes
    assert ["ok", "ok"] == [verdict(check.run, at_limit, None)[0] for _ in range(2)]


def test_threads_sharing_one_fresh_check_get_the_precise_verdicts(order: dict[str, Any]) -> None:
    # the scanner (one decoder, one key memo) and the generated check, shared by threads from the
    # first call on (resolution, probing and regeneration happen under them)
    missing, null = copy.deepcopy(order), copy.deepcopy(order)
    del missing["customer"]["customerTier"]
    null["customer"]["customerTier"] = None
    good = json.dumps(order).encode()
    bodies = [good, json.dumps(missing).encode(), json.dumps(null).encode(), good + b" ", b"{", good[:-1] + b",}"]
    expected = [verdict(syscontract.check, "order.v3", Envelope(body, None), FIELDS) for body in bodies]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    wrong: list[Any] = []
    try:
        for _ in range(5):
            check = m.GuardCheck("order.v3", FIELDS)
            stop = threading.Event()

            def work(offset: int, check: Any = check, stop: threading.Event = stop) -> None:
                for index in range(200):
                    if stop.is_set():
                        return
                    at = (offset + index) % len(bodies)
                    got = verdict(check.run, bodies[at], None)
                    if got != expected[at]:
                        wrong.append((at, got[:3]))

            run_threads(6, work, stop=stop)
    finally:
        sys.setswitchinterval(interval)
    assert [] == wrong
