"""JSON nested deep: the verdict is the bytes', not the caller's stack's (``wire/json.py``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syscontract
from syscontract import DecodeError
from syscontract.integrations import _messaging as m
from syscontract.wire import Envelope
from syscontract.wire.json import decode, nesting

pytestmark = pytest.mark.usefixtures("registry")

FIELDS = ["orderId", "currency", "customer.customerTier"]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ,:ab\n\u2028'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\ab'), inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON, indent=st.sampled_from([None, 2]))
def test_nesting_counts_what_json_nests_and_ignores_brackets_in_strings(value: Any, indent: int | None) -> None:
    assert _depth(value) == nesting(json.dumps(value, indent=indent))


def test_nesting_reads_an_open_string_to_the_end_and_stays_linear() -> None:
    assert 0 == nesting('"' + '\\"' * 300_000)  # every quote escaped, the string never closed
    assert 1 == nesting('["a\\')  # a lone backslash last
    assert 2 == nesting('[{"]": "\\n]"}]')


def _at_depth(frames: int, run: Callable[[], Any]) -> Any:
    """``run()`` called ``frames`` Python frames deeper than here."""
    if frames <= 0:
        try:
            return "ok", run()
        except DecodeError as error:
            return "DecodeError", error.reason
    return _at_depth(frames - 1, run)


def _order_nesting(order: dict[str, Any], depth: int) -> bytes:
    return json.dumps(order).encode()[:-1] + b', "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("offset", [-40, -8, -3, -1, 0, 1, 50])
def test_one_verdict_for_deep_json_whatever_the_stack_and_the_route(order: dict[str, Any], offset: int) -> None:
    limit = sys.getrecursionlimit()
    depth = limit + offset - 1  # the order object adds one level
    body = _order_nesting(order, depth)
    check = m.GuardCheck("order.v3", FIELDS)
    routes: dict[str, Callable[[], Any]] = {
        "guard, bytes": lambda: check.run(body, None) is not None,
        "guard, bytearray": lambda: check.run(bytearray(body), None) is not None,
        "check()": lambda: syscontract.check("order.v3", Envelope(body, None), FIELDS) is not None,
        "decode": lambda: decode(body) is not None,
    }
    verdicts = {
        (name, frames): _at_depth(frames, route) for name, route in routes.items() for frames in (0, 100, limit // 2)
    }
    expected = ("ok", True) if depth + 1 < limit else ("DecodeError", "too-deep")
    assert {expected} == set(verdicts.values()), verdicts
