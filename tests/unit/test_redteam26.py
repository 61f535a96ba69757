"""Red team, round 26: JSON bodies read inline (orjson, ``wire.json.decode_fast``) and validated by
pydantic-core's JSON parser in strict mode (``wire.json.model_reader``, ``Builder.json_model_body``).

The promise held here: for a body as bytes, bytearray, memoryview or str, ``check()``, a
``@requires`` handler (called twice: the first call probes) and a broker guard's wire check give what
``Checker.precise`` gives: the same error (class, field, reason) or the same value (type-exact at every
depth; for models ``==``, ``model_fields_set`` and the extras at every depth).

Attacks that broke the promise were strict xfails naming the cause until closed (a float past its
range and nesting at the recursion limit go to the precise path; a model with a Literal or
extra='allow' does not take pydantic's JSON path); ``test_holds_*`` are attacks
that held (a representative set). Every test uses contract names of its own.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

import syscontract
from syscontract import Contract, ContractError, MemoryRegistry, requires
from syscontract._engine.checker import Checker
from syscontract.integrations._messaging import GuardCheck

_NAMES = itertools.count()


def shape(value: Any) -> Any:
    """``value`` as plain data that compares type-exactly: models by class, fields-set, fields and
    extras; floats by repr (-0.0 is not 0.0, 1.0 is not 1)."""
    if isinstance(value, BaseModel):
        extra = value.__pydantic_extra__
        return (
            type(value).__qualname__,
            sorted(value.model_fields_set),
            {name: shape(item) for name, item in value.__dict__.items()},
            None if extra is None else {name: shape(item) for name, item in extra.items()},
        )
    if isinstance(value, dict):
        return ("dict", [(shape(key), shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [shape(item) for item in value])
    return (type(value).__name__, repr(value))


def outcome(run: Callable[[], Any], plain: bool = False) -> Any:
    """What a caller sees: ("ok", value) or the error's class, field and reason. ``plain``: the
    verdict alone (for values nested too deep to walk)."""
    try:
        value = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason)
    return ("ok",) if plain else ("ok", shape(value))


def forms(body: bytes) -> list[Any]:
    """``body`` as bytes, bytearray, memoryview and (when it is UTF-8) str."""
    text = body.decode("utf-8", "replace")
    return [body, bytearray(body), memoryview(body), *([text] if text.encode() == body else [])]


def disagreements(contract: Contract, fields: list[str], message: Any, plain: bool = False) -> dict[str, Any]:
    """Each entry point whose outcome differs from the precise path's, with both outcomes."""
    registry = MemoryRegistry([contract])
    syscontract.configure(registry=registry)
    ref = str(contract.ref)
    checker = Checker(registry.get(ref), fields, registry)
    expected = outcome(lambda: checker.precise(message, None)[0], plain)
    handler = requires(ref, fields)(lambda event: event)
    guard = GuardCheck(ref, fields)
    seen = {
        "check": outcome(lambda: syscontract.check(ref, message, fields), plain),
        "requires (probe)": outcome(lambda: handler(message), plain),
        "requires": outcome(lambda: handler(message), plain),
        "guard": outcome(lambda: guard.run(message, None), plain),
    }
    return {name: (got, expected) for name, got in seen.items() if got != expected}


def assert_agrees(contract: Contract, fields: list[str], body: bytes) -> None:
    for message in forms(body):
        assert disagreements(contract, fields, message) == {}, message


def model(cls: type[BaseModel]) -> Contract:
    return Contract.from_model(f"rt26m{next(_NAMES)}.v1", cls)


def schema(document: dict[str, Any]) -> Contract:
    return Contract.from_jsonschema(f"rt26s{next(_NAMES)}.v1", document)


def qualifies(contract: Contract, fields: list[str]) -> bool:
    """Whether JSON bodies for this model contract take pydantic's JSON path (else the attack is moot)."""
    return Checker(contract, fields).description.json_model


# -- findings -------------------------------------------------------------------------------------


class Ratio(BaseModel):
    ratio: float = 0.0


def test_float_field_from_an_integer_past_the_float_range() -> None:
    contract = model(Ratio)
    assert qualifies(contract, ["ratio"])
    assert_agrees(contract, ["ratio"], b'{"ratio":2' + b"0" * 308 + b"}")


class Flagged(BaseModel):
    one: Literal[1] = 1
    yes: Literal[True] = True


@pytest.mark.parametrize(("field", "body"), [("one", b'{"one":true}'), ("yes", b'{"yes":1}')])
def test_a_critical_literal_sent_as_the_other_of_bool_and_int(field: str, body: bytes) -> None:
    contract = model(Flagged)
    assert not qualifies(contract, [field])  # closed: a Literal takes the precise path
    assert_agrees(contract, [field], body)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: int = Field(0, alias="Code")
    seen: int = 0


def test_an_extra_named_like_an_aliased_field_is_not_that_field() -> None:
    contract = model(Open)
    assert not qualifies(contract, ["Code"])  # closed: extra='allow' takes the precise path
    assert_agrees(contract, ["Code"], b'{"code":5}')


def test_an_extra_named_like_an_aliased_field_leaves_the_fields_set_alone() -> None:
    contract = model(Open)
    assert_agrees(contract, ["seen"], b'{"code":5,"seen":1}')


class Holder(BaseModel):
    inner: Open
    items: list[Open] = []
    zeros: list[Literal[0]] = []


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("inner.Code", b'{"inner":{"code":5}}'),
        ("items[].Code", b'{"inner":{},"items":[{"code":5}]}'),
        ("zeros[]", b'{"inner":{},"zeros":[false]}'),
    ],
)
def test_the_doors_below_the_top(field: str, body: bytes) -> None:
    contract = model(Holder)
    # closed: a model with a Literal or extra='allow' takes the precise path for JSON bodies
    assert not qualifies(contract, [field])
    assert_agrees(contract, [field], body)


class Loose(BaseModel):
    anything: Any = None
    seen: int = 0


def test_nesting_past_the_recursion_limit_within_pydantics_own() -> None:
    contract = model(Loose)
    assert qualifies(contract, ["seen"])
    body = b'{"seen":1,"anything":' + b"[" * 200 + b"]" * 200 + b"}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        found = disagreements(contract, ["seen"], body, plain=True)
    finally:
        sys.setrecursionlimit(limit)
    assert found == {}


# -- attacks that held ----------------------------------------------------------------------------

ANY_SCHEMA = {"type": "object", "properties": {"seen": {"type": "integer"}, "anything": {}}, "required": ["seen"]}

HARD_VALUES = [
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-123456789012345678",
    b'"1234567890123456789"',
    b"[9223372036854775807, 9223372036854775808]",
    b"1e308",
    b"1.7976931348623159e308",
    b"1e400",
    b"-1e400",
    b"4.9e-324",
    b"2.4703282292062327e-324",
    b"1e-400",
    b"-0",
    b"-0.0",
    b"1E+2",
    b"0.1e1",
    b"123456789012345678.123456789012345678e-300",
    b"NaN",
    b"nan",
    b"-Infinity",
    b'"NaN Infinity"',
    b'"\\u00e9"',
    b'"\\ud83d\\ude00"',
    b'"\\ud83d"',
    b'"\\ude00\\ud83d"',
    b'"\\/"',
    b'"\\u0000"',
    b'"a\tb"',
    b'"\x7f"',
    b'"\xed\xa0\x80"',
    b'"\xc0\x80"',
    b'{"k":1,"k":{"x":1,"y":2,"x":3}}',
    b'"' + b"x" * 70000 + b'"',
]


@pytest.mark.parametrize("value", HARD_VALUES)
def test_holds_hard_values_in_a_dict_contract(value: bytes) -> None:
    contract = schema(ANY_SCHEMA)
    assert_agrees(contract, ["seen"], b'{"seen":1,\t"anything" :\n' + value + b"\r}\n")


@pytest.mark.parametrize("value", HARD_VALUES)
def test_holds_hard_values_in_a_models_any_field(value: bytes) -> None:
    contract = model(Loose)
    assert qualifies(contract, ["seen"])
    assert_agrees(contract, ["seen"], b'{"seen":1,"anything":' + value + b"}")


class Typed(BaseModel):
    count: int = 0
    ratio: float = 0.0
    name: str = ""
    flag: bool = False
    table: dict[int, int] = {}
    many: list[float] = []


@pytest.mark.parametrize(
    "body",
    [
        b'{"count":1.0}',
        b'{"count":true}',
        b'{"count":"5"}',
        b'{"count":1e2}',
        b'{"count":-0}',
        b'{"count":18446744073709551616}',
        b'{"ratio":1}',
        b'{"ratio":"1.5"}',
        b'{"ratio":9007199254740993}',
        b'{"ratio":1' + b"0" * 307 + b"}",
        b'{"name":5}',
        b'{"flag":0}',
        b'{"flag":1}',
        b'{"table":{"1":2,"01":3," 1":4}}',
        b'{"many":[1,2.5,-0.0]}',
    ],
)
@pytest.mark.parametrize("critical", [True, False])
def test_holds_lax_and_strict_reads_of_plain_fields(body: bytes, critical: bool) -> None:
    field = body[2:].split(b'"')[0].decode()
    fields = [field] if critical else []
    contract = model(Typed)
    assert qualifies(contract, fields)
    assert_agrees(contract, fields, body)


class Named(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    code: int = Field(0, alias="Code")


@pytest.mark.parametrize("critical", ["code", "Code"])
@pytest.mark.parametrize("body", [b'{"code":1}', b'{"Code":1}', b'{"Code":1,"code":2}', b'{"code":1,"Code":2}'])
def test_holds_aliases_with_populate_by_name(critical: str, body: bytes) -> None:
    assert_agrees(model(Named), [critical], body)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seen: int = 0


def test_holds_extra_forbid_and_extras_that_name_no_field() -> None:
    assert_agrees(model(Closed), ["seen"], b'{"seen":1,"other":2}')
    assert_agrees(model(Open), ["seen"], b'{"seen":1,"other":2,"other":18446744073709551616}')


def test_holds_nesting_around_the_decoders_limits_at_the_default_recursion_limit() -> None:
    contract = schema(ANY_SCHEMA)
    for depth in (998, 999, 1000, 1023, 1024, 1025):
        body = b'{"seen":1,"anything":' + b"[" * depth + b"]" * depth + b"}"
        assert disagreements(contract, ["seen"], body, plain=True) == {}, depth
        assert disagreements(model(Loose), ["seen"], body, plain=True) == {}, depth


def test_holds_memoryviews_of_every_shape() -> None:
    body = b'{"seen":1}      '  # 16 bytes
    views = [
        memoryview(body).cast("Q"),
        memoryview(body[:8]).cast("Q", ()),  # 0-dim: one 8-byte item, no len()
        memoryview(b'{ "seen" : 1 } ' * 2)[::2],  # not contiguous
        memoryview(bytearray(body)),
    ]
    for contract in (schema(ANY_SCHEMA), model(Loose)):
        for view in views:
            assert disagreements(contract, ["seen"], view) == {}, view.tobytes()


class Text(str):
    pass


class Data(bytes):
    pass


def test_holds_str_and_bytes_subclasses() -> None:
    for contract in (schema(ANY_SCHEMA), model(Loose)):
        for message in (Text('{"seen":1}'), Data(b'{"seen":1}'), Text('{"seen":"1"}')):
            assert disagreements(contract, ["seen"], message) == {}, message


def test_holds_text_with_lone_surrogates() -> None:
    for contract in (schema(ANY_SCHEMA), model(Loose)):
        for message in ('{"seen":1,"anything":"\ud800"}', '{"seen":1,"anything":"\udc80\ud83d"}'):
            assert disagreements(contract, ["seen"], message) == {}, message


def test_holds_an_avro_contract_given_json() -> None:
    contract = Contract.from_avro(
        f"rt26a{next(_NAMES)}.v1",
        {
            "type": "record",
            "name": "Event",
            "namespace": "rt26",
            "fields": [
                {"name": "seen", "type": "int"},
                {"name": "note", "type": ["null", "string"], "default": None},
                {"name": "big", "type": "long", "default": 0},
            ],
        },
    )
    for body in (
        b'{"seen":1}',
        b'{"seen":2147483648}',
        b'{"seen":1.0}',
        b'{"seen":1,"note":{"string":"x"}}',
        b'{"seen":1,"big":9223372036854775808}',
        b'{"seen":1,"big":-9223372036854775808}',
    ):
        assert_agrees(contract, ["seen"], body)
