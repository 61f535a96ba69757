"""Every fast path gives the precise verdict (issue 21, finding 18).

The fast paths of every entry point (the ``@requires`` wrapper, ``check()``, a broker guard's wire
check) are written by one builder (:mod:`syscontract._engine.fastpath`) from one description of the
declaration. This file holds each of them to :meth:`Checker.precise`, the path without any fast one,
on the same inputs: dicts, JSON bytes, Confluent-framed Avro from the contract's own writer and from
an older one, bodies named by headers, headers in every shape a client gives them, and a body past
the size bound. Each entry point is called twice per input: the first call plans the writer, the
second meets it planned (the inline Avro path).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import mutated_orders

import syscontract
from syscontract import ContractError, FileRegistry, requires
from syscontract._engine.checker import Checker
from syscontract._engine.decoder import MAX_MESSAGE_BYTES
from syscontract.integrations import _messaging as m
from syscontract.wire import CONTRACT_HEADER, ENCODING_HEADER, Envelope, confluent

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())
FIELDS = ["orderId", "currency", "customer.customerTier", "items[].qty"]
REGISTRY = FileRegistry(DATA / "contracts")
SCHEMA_IDS = {2: 7, 3: 8}


@pytest.fixture(autouse=True)
def _registry() -> None:
    syscontract.configure(registry=REGISTRY)  # tests/conftest.py resets the settings after each test


def _avro(version: int, payload: dict[str, Any]) -> bytes | None:
    schema = fastavro.parse_schema(REGISTRY.get(syscontract.ContractRef("order", version)).schema)
    out = io.BytesIO()
    try:
        fastavro.schemaless_writer(out, schema, payload)
    except Exception:
        return None  # a mutation Avro cannot carry
    return out.getvalue()


def _stale(order: dict[str, Any]) -> dict[str, Any]:
    older = copy.deepcopy(order)
    if isinstance(older.get("customer"), dict):
        older["customer"].pop("customerTier", None)
    return older


@st.composite
def bodies(draw: st.DrawFn) -> bytes | dict[str, Any]:
    """A message in one of the forms an entry point meets."""
    order = draw(mutated_orders(ORDER))
    form = draw(st.sampled_from(["dict", "json", "json, spaced", "confluent v3", "confluent v2", "bare v3"]))
    if form == "dict":
        return order
    if form == "json":
        return json.dumps(order).encode()
    if form == "json, spaced":
        return json.dumps(order, indent=1).encode() + b"\n"
    version = 2 if form == "confluent v2" else 3
    body = _avro(version, _stale(order) if version == 2 else order)
    if body is None:
        return json.dumps(order).encode()
    return body if form == "bare v3" else confluent.encode(SCHEMA_IDS[version], body)


HEADERS = st.sampled_from(
    [
        None,
        {},
        {"traceparent": "00-x"},
        {CONTRACT_HEADER: "order.v2"},
        {CONTRACT_HEADER: "order.v3"},
        {CONTRACT_HEADER: "order.v2", ENCODING_HEADER: "json"},
        {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x07"},
        {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x08"},
        [("traceparent", b"00-x")],
        [("x", b"y"), (CONTRACT_HEADER, b"order.v2")],
        [(CONTRACT_HEADER, b"order.v3"), (ENCODING_HEADER, b"json")],
        [("traceparent",)],
        [["syscontract-contract", "order.v2"]],
        [(b"syscontract-contract", b"order.v2")],
    ]
)


def verdict(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What a caller sees: the payload as plain data, or the error's kind, field, reason and writer."""
    try:
        payload = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason, error.writer)
    return ("ok", json.loads(json.dumps(payload, default=str)))


def precise(message: Any, headers: Any) -> tuple[Any, ...]:
    checker = Checker(REGISTRY.get("order.v3"), FIELDS, REGISTRY)
    return verdict(lambda: checker.precise(message, headers)[0])


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies(), headers=HEADERS)
def test_check_takes_the_precise_verdict_in_every_form(message: Any, headers: Any) -> None:
    expected = precise(message, headers)
    for _ in range(2):
        assert expected == verdict(lambda: syscontract.check("order.v3", message, FIELDS, headers=headers))


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies(), headers=HEADERS)
def test_the_wire_check_takes_the_precise_verdict_in_every_form(message: Any, headers: Any) -> None:
    if not isinstance(message, bytes):
        message = json.dumps(message).encode()
    expected = precise(Envelope(message, headers), None)
    check = m.GuardCheck("order.v3", FIELDS)
    for _ in range(2):
        assert expected == verdict(lambda: check.run(message, headers))


@settings(max_examples=250, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies())
def test_the_wrapper_takes_the_precise_verdict_in_every_form(message: Any) -> None:
    expected = precise(message, None)
    handler = requires("order.v3", FIELDS)(lambda event: event)
    for _ in range(2):
        assert expected == verdict(lambda: handler(message))


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=bodies())
def test_the_async_wrapper_takes_the_precise_verdict_in_every_form(message: Any) -> None:
    import asyncio

    async def on_order(event: Any) -> Any:
        return event

    handler = requires("order.v3", FIELDS)(on_order)
    expected = precise(message, None)
    for _ in range(2):
        assert expected == verdict(lambda: asyncio.run(handler(message)))


# -- the size bound, once for every form read from bytes ------------------------------------------


def _oversize_confluent() -> bytes:
    order = copy.deepcopy(ORDER)
    order["notes"] = "x" * (MAX_MESSAGE_BYTES + 1_000_000)
    body = _avro(3, order)
    assert body is not None
    return confluent.encode(SCHEMA_IDS[3], body)


@pytest.fixture(scope="module")
def oversize() -> bytes:
    return _oversize_confluent()


def test_finding18_requires_refuses_an_oversize_message_from_a_planned_writer(oversize: bytes) -> None:
    # the inline Avro path of @requires lacked the bound that check() applied: a 17.8 MB message from
    # an already planned writer was handled by @requires and refused by check() as too-large
    handler = requires("order.v3", FIELDS)(lambda event: "handled")
    planned = confluent.encode(SCHEMA_IDS[3], _avro(3, ORDER) or b"")
    assert "handled" == handler(planned)  # the writer is planned now
    expected = ("DecodeError", None, "too-large", None)
    assert expected == verdict(lambda: handler(oversize))
    assert expected == verdict(lambda: syscontract.check("order.v3", oversize, FIELDS))
    check = m.GuardCheck("order.v3", FIELDS)
    check.run(planned, None)
    assert expected == verdict(lambda: check.run(oversize, None))


def test_an_oversize_json_body_is_refused_by_every_entry_point() -> None:
    order = copy.deepcopy(ORDER)
    order["notes"] = "x" * (MAX_MESSAGE_BYTES + 10)
    body = json.dumps(order).encode()
    expected = ("DecodeError", None, "too-large", None)
    handler = requires("order.v3", FIELDS)(lambda event: "handled")
    assert expected == verdict(lambda: handler(body))
    assert expected == verdict(lambda: syscontract.check("order.v3", body, FIELDS))
    assert expected == verdict(lambda: m.GuardCheck("order.v3", FIELDS).run(body, None))


def test_check_reads_the_writer_from_headers_before_the_prefix() -> None:
    # check() used to decode Confluent-framed bytes by their prefix whatever the headers said; the
    # decoder reads a header naming the writer first, and so does every fast path now
    v3 = confluent.encode(SCHEMA_IDS[3], _avro(3, ORDER) or b"")
    syscontract.check("order.v3", v3, FIELDS)  # plans the writer of id 8
    named = {confluent.VALUE_HEADER: b"\x00\x00\x00\x00\x07"}  # the header says v2's id
    assert precise(v3, named) == verdict(lambda: syscontract.check("order.v3", v3, FIELDS, headers=named))


def test_every_entry_point_uses_the_one_builder() -> None:
    # the generated sources read their forms through the same statements: a bound added once holds everywhere
    import linecache

    handler = requires("order.v3", FIELDS)(lambda event: event)
    handler(dict(ORDER))
    check = m.GuardCheck("order.v3", FIELDS)
    checker = Checker(REGISTRY.get("order.v3"), FIELDS, REGISTRY)
    sources = [
        "".join(linecache.getlines(handler.__code__.co_filename)),
        "".join(linecache.getlines(check.wire.__code__.co_filename)),
        "".join(linecache.getlines(checker.quick.__code__.co_filename)),
    ]
    for source in sources:
        assert "_sc_len(_sc_m) <= _sc_MAX" in source
        assert "_sc_e = _sc_fastavro.get(_sc_body[:5])" in source
        assert "_sc_m, _sc_end = _sc_scan(_sc_text, 0)" in source
