"""Red team, round 26b: the bytes fast path after issue 26 (JSON bodies read inline by orjson,
``wire.json.decode_fast``; pydantic contracts validated by pydantic-core's strict JSON parser,
``wire.json.model_reader``, whose long-number guard now triggers at 309 digits instead of 19).

The promise held here: for a body as bytes, bytearray, memoryview or str, ``check()``, a
``@requires`` handler (called twice: the first call probes) and a broker guard's wire check give what
``Checker.precise`` gives: the same error (class, field, reason) or the same value (type-exact at every
depth; floats by repr). The fast path may refuse anything (the precise path then decides); what it
accepts must be what the precise path accepts, with the same value.

Doors found are strict xfails naming the cause until closed; ``test_holds_*`` are attacks that held
(a representative set). Every test uses contract names of its own.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import syscontract
from syscontract import Contract, ContractError, MemoryRegistry, requires
from syscontract._engine.checker import Checker
from syscontract.integrations._messaging import GuardCheck
from syscontract.wire.json import model_reader

_NAMES = itertools.count()


def shape(value: Any) -> Any:
    """``value`` as plain data that compares type-exactly: models by class, fields-set and fields;
    floats by repr (-0.0 is not 0.0, 1.0 is not 1), ints by hex."""
    if isinstance(value, BaseModel):
        return (
            type(value).__qualname__,
            sorted(value.model_fields_set),
            {name: shape(item) for name, item in value.__dict__.items()},
        )
    if isinstance(value, dict):
        return ("dict", [(shape(key), shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [shape(item) for item in value])
    # an int by hex: repr of one past the interpreter's digit limit raises
    return (type(value).__name__, hex(value) if type(value) is int else repr(value))


def outcome(run: Callable[[], Any]) -> Any:
    try:
        value = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason)
    return ("ok", shape(value))


def forms(body: bytes) -> list[Any]:
    return [body, bytearray(body), memoryview(body), body.decode()]


def disagreements(contract: Contract, fields: list[str], message: Any) -> dict[str, Any]:
    """Each entry point whose outcome differs from the precise path's, with both outcomes."""
    registry = MemoryRegistry([contract])
    syscontract.configure(registry=registry)
    ref = str(contract.ref)
    checker = Checker(registry.get(ref), fields, registry)
    expected = outcome(lambda: checker.precise(message, None)[0])
    handler = requires(ref, fields)(lambda event: event)
    guard = GuardCheck(ref, fields)
    seen = {
        "check": outcome(lambda: syscontract.check(ref, message, fields)),
        "requires (probe)": outcome(lambda: handler(message)),
        "requires": outcome(lambda: handler(message)),
        "guard": outcome(lambda: guard.run(message, None)),
    }
    return {name: (got, expected) for name, got in seen.items() if got != expected}


def model(cls: type[BaseModel]) -> Contract:
    return Contract.from_model(f"rt26b{next(_NAMES)}.v1", cls)


def qualifies(contract: Contract, fields: list[str]) -> bool:
    """Whether JSON bodies for this model contract take pydantic's JSON path (else the attack is moot)."""
    return Checker(contract, fields).description.json_model


# -- door 1: an integer of 20+ digits in a float field --------------------------------------------
#
# pydantic-core's JSON parser reads an integer past 64 bits as a big integer and converts it to a float
# for a float field without rounding it correctly: near a halfway point between two floats it lands on
# the wrong one (found by a differential fuzz of halfway integers of 19-44 significant digits: about 1%
# of them). The precise path reads the int exactly (json) and pydantic's Python mode converts it with
# Python's float(), which rounds correctly. The 309-digit guard let such integers through; closed: a
# model with a float anywhere is tested for 19 digits in a row, as orjson's reader is.

# float(MISROUNDED) is 9.463072102276244e+38; pydantic's JSON parser makes it 9.463072102276243e+38
MISROUNDED = b"946307210227624370763000000000000000000"


class Ratio(BaseModel):
    ratio: float = 0.0


class Ratios(BaseModel):
    ratios: list[float] = []
    table: dict[str, float] = {}


def test_pydantic_json_misrounds_a_long_integer_for_a_float_field() -> None:
    """The cause, pinned on pydantic-core itself (if this starts failing, pydantic rounds correctly now
    and the guard could be relaxed again for float fields)."""
    strict = Ratio.model_validate_json(b'{"ratio":' + MISROUNDED + b"}", strict=True).ratio
    assert strict != float(int(MISROUNDED))
    assert Ratio.model_validate(json.loads(b'{"ratio":' + MISROUNDED + b"}")).ratio == float(int(MISROUNDED))


@pytest.mark.parametrize(
    ("cls", "field", "body"),
    [
        (Ratio, "ratio", b'{"ratio":' + MISROUNDED + b"}"),
        (Ratio, "ratio", b'{"ratio":-' + MISROUNDED + b"}"),
        (Ratios, "ratios", b'{"ratios":[1.5,' + MISROUNDED + b"]}"),
        (Ratios, "table", b'{"table":{"k":' + MISROUNDED + b"}}"),
    ],
)
def test_a_long_integer_in_a_float_field(cls: type[BaseModel], field: str, body: bytes) -> None:
    contract = model(cls)
    assert qualifies(contract, [field])
    for message in forms(body):
        assert disagreements(contract, [field], message) == {}, message


def test_model_reader_refuses_a_long_integer_for_a_float_field() -> None:
    """What the reader gives, it gives right: a misrounded float is never handed on."""
    read = model_reader(Ratio)
    body = b'{"ratio":' + MISROUNDED + b"}"
    try:
        value = read(body).ratio
    except ValueError:
        return  # the precise path decides
    assert repr(value) == repr(float(int(MISROUNDED)))


@settings(max_examples=100, deadline=None)
@given(
    mantissa=st.integers(2**52, 2**53 - 64),
    exponent=st.integers(12, 970),
    significant=st.integers(17, 44),
    nudge=st.sampled_from([-1, 0, 1]),
)
def test_model_reader_gives_integers_near_a_halfway_point_their_float(
    mantissa: int, exponent: int, significant: int, nudge: int
) -> None:
    """Integers near the points halfway between 64 neighbouring floats (where a conversion that drops
    digits may land on the wrong one; about 1 in 100 did), cut to ``significant`` digits: the reader
    refuses them or gives float()'s value, in a list and in a dict."""
    numbers = []
    for step in range(64):
        halfway = str(((mantissa + step) << exponent) + (1 << (exponent - 1)))
        cut = max(0, len(halfway) - significant)
        numbers.append((int(halfway[: len(halfway) - cut]) + nudge) * 10**cut)
    body = json.dumps({"ratios": numbers, "table": {str(i): -n for i, n in enumerate(numbers)}}).encode()
    try:
        value = model_reader(Ratios)(body)
    except ValueError:
        return
    assert [repr(item) for item in value.ratios] == [repr(float(n)) for n in numbers]
    assert [repr(item) for item in value.table.values()] == [repr(float(-n)) for n in numbers]


class Count(BaseModel):
    count: int = 0
    anything: Any = None


@pytest.mark.parametrize("field", ["count", "anything"])
def test_holds_a_model_without_floats_under_a_lowered_digit_limit(field: str) -> None:
    """The 309-digit test still guards a model without a float field: the interpreter's integer
    digit limit may be as low as 640 digits, where pydantic's parser reads 4300: decode() refuses."""
    body = b'{"' + field.encode() + b'":' + b"7" * 700 + b"}"
    contract = model(Count)
    assert qualifies(contract, [field])
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert disagreements(contract, [field], body) == {}
    finally:
        sys.set_int_max_str_digits(limit)


def test_the_lowered_digit_limit_test_catches_a_dropped_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract.wire import json as json_wire

    monkeypatch.setattr(json_wire, "_FLOAT_RUN", b"0" * 10**6)
    with pytest.raises(AssertionError):
        test_holds_a_model_without_floats_under_a_lowered_digit_limit("count")


# -- door 2: a str subclass in decode_fast (CloudEvents structured mode) --------------------------
#
# decode_fast encodes text only when its type is exactly str: a str subclass reached the byte tests
# (str.translate with a bytes table, then str.find of bytes), which raise TypeError, not the
# ValueError its callers catch to let the precise decoder decide. A structured CloudEvent given as a
# str subclass (a framework's text type) crashed the guard with TypeError, where check() and the
# same event as str read it. Closed: any str is encoded (a bytes subclass orjson refuses: ValueError).


class Text(str):
    pass


def test_decode_fast_reads_or_refuses_a_str_subclass() -> None:
    from syscontract.wire.json import decode, decode_fast

    for body in (Text('{"a":[1,2.5,"x"]}'), Text('{"a":' + "9" * 25 + "}"), Text('{"a":"\\ud800"}')):
        try:
            value = decode_fast(body)
        except ValueError:
            continue  # the precise decoder decides
        assert shape(value) == shape(decode(body))


def test_a_structured_cloudevent_as_a_str_subclass() -> None:
    from syscontract.integrations.cloudevents import CloudEventCheck

    class Order(BaseModel):
        tier: str = ""

    contract = model(Order)
    syscontract.configure(registry=MemoryRegistry([contract]))
    event = {"specversion": "1.0", "id": "1", "source": "/s", "type": str(contract.ref), "data": {"tier": "GOLD"}}
    body = json.dumps(event)
    check = CloudEventCheck(contract.ref, ["tier"])
    headers = {"content-type": "application/cloudevents+json"}
    assert shape(check(Text(body), headers)) == shape(check(body, headers))
