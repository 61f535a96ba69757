"""Issue 21, red team (round 21): the one-builder fast paths, the union trace and ``written_only``.

Attacks on the engine after ``92f7ada``/``87734dd``: each door found was first recorded here as a
strict xfail (a value the producer never wrote reaching the caller, two forms or entry points
disagreeing, a fast path accepting what ``Checker.precise`` refuses), then closed at its cause; the
tests stay as regression tests. ``test_holds_*``: attacks that held from the start.

Bytes are built as producers build them (``tests/producers.py``: fastavro from the producer's own
schema JSON). Every test uses contract names of its own, so no cached checker is shared.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pytest
from producers import avro_body, confluent
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic.dataclasses import dataclass as pydantic_dataclass

import syscontract
from syscontract import Contract, ContractError, MemoryRegistry, requires
from syscontract._engine.checker import Checker
from syscontract.integrations._messaging import GuardCheck

WRITER_ID, READER_ID = 1, 2


def record(name: str, fields: list[dict[str, Any]], namespace: str = "rt21") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


def pair(name: str, writer: dict[str, Any], reader: dict[str, Any]) -> MemoryRegistry:
    """Writer ``name.v1`` (schema id 1) and reader ``name.v2`` (id 2), configured process-wide."""
    registry = MemoryRegistry()
    registry.add(Contract.from_avro(f"{name}.v1", writer), schema_id=WRITER_ID)
    registry.add(Contract.from_avro(f"{name}.v2", reader), schema_id=READER_ID)
    syscontract.configure(registry=registry)
    return registry


def outcome(call: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """What a caller sees of ``call(*args, **options)``: ("ok", value), or (error class, reason, field)."""
    try:
        return ("ok", call(*args, **options))
    except ContractError as error:
        return (type(error).__name__, error.reason, error.field)


def entry_points(contract: Any, fields: list[str]) -> dict[str, Callable[[Any], Any]]:
    """Every entry point for one declaration, each taking the message alone."""
    handler = requires(contract, fields)(lambda event: event)
    guard = GuardCheck(contract, fields)
    return {
        "check": lambda message: syscontract.check(contract, message, fields),
        "requires": handler,
        "guard": lambda message: guard.run(message, None),
    }


def has_value(value: Any, target: Any) -> bool:
    """Whether ``target`` appears anywhere in ``value`` (dicts and lists walked)."""
    if value == target and type(value) is type(target):
        return True
    if isinstance(value, dict):
        return any(has_value(v, target) for v in value.values())
    if isinstance(value, list):
        return any(has_value(v, target) for v in value)
    return False


# -- written_only: reader defaults where Contract.fields does not reach ---------------------------------
#
# decoder.Decoder._make_plan strips the reader paths listed by Contract.fields; that list does not enter
# map values, expands a recursive record once, and stops at four array levels. Resolution fills reader
# defaults below those too, and they reach every caller.

DEFAULTED = {"name": "note", "type": "string", "default": "READER-DEFAULT"}


def _array(node: Any, depth: int) -> Any:
    for _ in range(depth):
        node = {"type": "array", "items": node}
    return node


WRITTEN_ONLY_CASES = {
    "map of records": (
        record("T", [{"name": "id", "type": "string"},
                     {"name": "m", "type": {"type": "map", "values": record("V", [{"name": "a", "type": "int"}])}}]),
        record("T", [{"name": "id", "type": "string"},
                     {"name": "m", "type": {"type": "map", "values": record("V", [{"name": "a", "type": "int"},
                                                                                  DEFAULTED])}}]),
        {"id": "o-1", "m": {"k": {"a": 1}}},
    ),
    "recursive record, second level": (
        record("N", [{"name": "id", "type": "string"}, {"name": "next", "type": ["null", "N"], "default": None}]),
        record("N", [{"name": "id", "type": "string"}, DEFAULTED,
                     {"name": "next", "type": ["null", "N"], "default": None}]),
        {"id": "o-1", "next": {"id": "o-2", "next": None}},
    ),
    "arrays five deep": (
        record("T", [{"name": "id", "type": "string"},
                     {"name": "a", "type": _array(record("E", [{"name": "x", "type": "int"}]), 5)}]),
        record("T", [{"name": "id", "type": "string"},
                     {"name": "a", "type": _array(record("E", [{"name": "x", "type": "int"}, DEFAULTED]), 5)}]),
        {"id": "o-1", "a": [[[[[{"x": 1}]]]]]},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(WRITTEN_ONLY_CASES))
def test_written_only_misses_defaults_below_what_contract_fields_lists(case: str) -> None:
    writer, reader, datum = WRITTEN_ONLY_CASES[case]
    name = "wo" + str(list(WRITTEN_ONLY_CASES).index(case))
    pair(name, writer, reader)
    message = confluent(WRITER_ID, avro_body(writer, datum))
    for label, entry in entry_points(f"{name}.v2", ["id"]).items():
        for _ in range(2):  # the first call plans the writer, the second meets it planned
            found = outcome(entry, message)
            assert found[0] == "ok", (label, found)
            assert not has_value(found[1], "READER-DEFAULT"), (label, found[1])


def test_holds_written_only_strips_a_non_critical_sibling_of_a_critical_field() -> None:
    """A critical path and a non-critical one under the same record: the critical one passes, the
    reader default of the other is removed on every entry point, planned or not."""
    writer = record("T", [{"name": "c", "type": record("C", [{"name": "id", "type": "string"}])}])
    reader = record("T", [{"name": "c", "type": record("C", [{"name": "id", "type": "string"}, DEFAULTED])}])
    pair("sib", writer, reader)
    message = confluent(WRITER_ID, avro_body(writer, {"c": {"id": "c-1"}}))
    for label, entry in entry_points("sib.v2", ["c.id"]).items():
        for _ in range(2):
            assert outcome(entry, message) == ("ok", {"c": {"id": "c-1"}}), label


# -- the inline Avro path: "the writer is the reader" by fingerprint ---------------------------------------
#
# decoder.Decoder._sound calls a writer sound (its messages skip the dict checks on the inline path) when
# its Parsing Canonical Form fingerprint equals the reader's. That form drops logicalType: a writer whose
# field is a date (fastavro decodes a datetime.date) has the fingerprint of a reader whose field is an int.
# The precise path checks the decoded dict and refuses it; once the writer is planned, the inline path
# hands it on.

LOGICAL_CASES = {
    "date as int": ({"type": "int", "logicalType": "date"}, "int", datetime.date(2024, 1, 2)),
    "timestamp-millis as long": (
        {"type": "long", "logicalType": "timestamp-millis"},
        "long",
        datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    ),
}


@pytest.mark.parametrize("case", list(LOGICAL_CASES))
def test_inline_avro_accepts_a_logical_type_precise_refuses(case: str) -> None:
    written, read, value = LOGICAL_CASES[case]
    name = "lt" + str(list(LOGICAL_CASES).index(case))
    writer = record("T", [{"name": "f", "type": written}])
    reader = record("T", [{"name": "f", "type": read}])
    registry = pair(name, writer, reader)
    message = confluent(WRITER_ID, avro_body(writer, {"f": value}))
    precise = Checker(registry.get(syscontract.ContractRef(name, 2)), ["f"], registry)
    expected = outcome(lambda: precise.precise(message, None)[0])
    assert expected[0] == "FieldTypeError"  # the contract's int is not a date
    for label, entry in entry_points(f"{name}.v2", ["f"]).items():
        verdicts = [outcome(entry, message) for _ in range(3)]
        assert verdicts == [expected] * 3, (label, verdicts)


# -- the model fast path: nested instances are not of the classes the trie was judged on -----------------
#
# Checker._model_trie judges the classes named by the contract model's annotations (_models_in); the
# generated model_checks (fastpath.Builder.model_checks/_model_elements) then trust the fields-set of
# whatever instance sits at a nested attribute. Pydantic keeps an instance of a subclass as it is, so a
# subclass whose model_post_init writes the critical field passes the fast path; precise finds the
# post-init and refuses it as unverifiable.


class _Customer(BaseModel):
    tier: str = "BASIC"


class _FilledCustomer(_Customer):
    def model_post_init(self, context: Any, /) -> None:
        if "tier" not in self.model_fields_set:
            self.tier = "VIP"  # nobody sent it: assignment puts it in the fields-set


class _Order(BaseModel):
    id: str
    customer: _Customer


class _Item(BaseModel):
    sku: str
    qty: int = 0


class _FilledItem(_Item):
    def model_post_init(self, context: Any, /) -> None:
        if "qty" not in self.model_fields_set:
            self.qty = 5


class _Cart(BaseModel):
    id: str
    items: list[_Item]


@pytest.mark.parametrize("shape", ["nested model", "list of models"])
def test_model_fast_path_trusts_a_nested_subclass_with_post_init(shape: str) -> None:
    if shape == "nested model":
        contract = Contract.from_model("rt21nested.v1", _Order)
        fields, message = ["customer.tier"], _Order(id="o-1", customer=_FilledCustomer())
    else:
        contract = Contract.from_model("rt21list.v1", _Cart)
        fields, message = ["items[].qty"], _Cart(id="o-1", items=[_FilledItem(sku="a")])
    expected = outcome(lambda: Checker(contract, fields).precise(message, None)[0])
    assert expected == ("MissingCriticalField", "unverifiable", fields[0])
    handler = requires(contract, fields)(lambda event: event)
    for label, entry in {"check": lambda m: syscontract.check(contract, m, fields), "requires": handler}.items():
        verdicts = [outcome(entry, message) for _ in range(2)]
        assert verdicts == [expected] * 2, (label, verdicts)


# -- the union trace: a dataclass field the constructor does not take --------------------------------------
#
# Checker._trace judges a dataclass container by the raw message alone: the raw dict carries 'tier', so the
# value counts as sent. But a field(init=False) is never read from the input: the handler's instance holds
# the dataclass default, not what was sent. The same message as an instance is refused (unverifiable,
# _dataclass_writer), so the two forms disagree as well.


@pydantic_dataclass
class _PydanticLine:
    sku: str
    tier: str = dataclasses.field(default="BASIC", init=False)


@dataclasses.dataclass
class _PlainLine:
    sku: str
    tier: str = dataclasses.field(default="BASIC", init=False)


class _WithPydanticLine(BaseModel):
    line: _PydanticLine


class _WithPlainLine(BaseModel):
    line: _PlainLine


@pytest.mark.parametrize("model", [_WithPydanticLine, _WithPlainLine], ids=["pydantic dataclass", "dataclass"])
def test_dataclass_init_false_hands_on_its_default(model: type[BaseModel]) -> None:
    contract = Contract.from_model(f"rt21dc{model.__name__.lower()}.v1", model)
    received: list[Any] = []
    handler = requires(contract, ["line.tier"])(received.append)
    sent = {"line": {"sku": "a", "tier": "VIP"}}
    for form in (sent, json.dumps(sent).encode()):
        found = outcome(handler, form)
        assert found[0] == "MissingCriticalField" or received[-1].line.tier == "VIP", (found, received)


# -- aliases: one wire key counted as two critical fields ---------------------------------------------------
#
# Field 'a' has alias 'tier'; field 'tier' has alias 't2' and populate_by_name. The contract (the model's JSON
# Schema, by alias) names them 'tier' and 't2'. A producer sending only {"tier": "VIP"} sent the contract's
# 'tier'; pydantic also fills field 'tier' by its attribute name, and the critical 't2' passes though the
# producer never sent 't2'. Declaring both, one key satisfies two critical fields.


class _Colliding(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    a: str = Field("A-DEFAULT", alias="tier")
    tier: str = Field("BASIC", alias="t2")


def test_one_key_is_alias_of_one_field_and_name_of_another() -> None:
    contract = Contract.from_model("rt21collide.v1", _Colliding)
    assert set(contract.fields) == {"tier", "t2"}
    found = outcome(syscontract.check, contract, {"tier": "VIP"}, ["t2"])
    assert found[0] == "MissingCriticalField", found


# -- holds: unions traced on the branch pydantic chose ------------------------------------------------------


class _X(BaseModel):
    x: int = 0
    tier: str


class _Y(BaseModel):
    tier: str = "BASIC"


def _pick(value: Any) -> str:
    if isinstance(value, dict):
        return "x" if "x" in value else "y"
    return "x" if isinstance(value, _X) else "y"


class _Picked(BaseModel):
    c: Annotated[Annotated[_X, Tag("x")] | Annotated[_Y, Tag("y")], Discriminator(_pick)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["a"]
    tier: str


class _Aliased(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    tier: str = Field("BASIC", alias="level")


class _Lines(BaseModel):
    items: list[_Strict | _Aliased | None]


@pytest.mark.parametrize(
    ("model", "fields", "message", "expected"),
    [
        (_Picked, ["c.tier"], {"c": {"y": 1}}, ("MissingCriticalField", "absent", "c.tier")),
        (_Picked, ["c.tier"], {"c": {"x": 1, "tier": "VIP"}}, "ok"),
        (_Lines, ["items[].tier"], {"items": [{"kind": "a", "tier": "T"}, {}]}, ("MissingCriticalField", "absent")),
        (_Lines, ["items[].tier"], {"items": [{"kind": "a", "tier": "T"}, None]}, ("MissingCriticalField", "null")),
        (_Lines, ["items[].tier"], {"items": [{"kind": "a", "tier": "T"}, {"level": "L"}]}, "ok"),
    ],
    ids=["callable discriminator, default branch", "callable discriminator, sent", "optional union list, absent",
         "optional union list, null", "optional union list, alias"],
)  # fmt: skip
def test_holds_unions_of_models_traced_on_the_chosen_branch(
    model: type[BaseModel], fields: list[str], message: dict[str, Any], expected: Any
) -> None:
    contract = Contract.from_model(f"rt21u{model.__name__.lower()}{len(message)}.v1", model)
    handler = requires(contract, fields)(lambda event: event)
    forms = [message, json.dumps(message).encode(), json.dumps(message)]
    if expected == "ok":
        forms.append(model.model_validate(message))
    for form in forms:
        for _ in range(2):
            found = outcome(handler, form)
            assert found[0] == expected if expected == "ok" else found[: len(expected)] == expected, (form, found)


# -- the size bound: one bound for every form --------------------------------------------------------------


def test_a_memoryview_cast_to_wide_items_slips_past_the_size_bound() -> None:
    from syscontract._engine.decoder import MAX_MESSAGE_BYTES

    contract = Contract.from_jsonschema(
        "rt21big.v1", {"type": "object", "properties": {"id": {"type": "string"}, "pad": {"type": "string"}}}
    )
    body = json.dumps({"id": "a", "pad": "x" * (MAX_MESSAGE_BYTES + 64)}).encode()
    body += b" " * (-len(body) % 8)
    assert outcome(syscontract.check, contract, memoryview(body), ["id"])[:2] == ("DecodeError", "too-large")
    wide = memoryview(body).cast("Q")  # the same bytes, len() counts 8-byte items
    assert outcome(syscontract.check, contract, wide, ["id"])[:2] == ("DecodeError", "too-large")


# -- holds: headers in every shape give one verdict on every entry point -----------------------------------

HEADER_SHAPES: dict[str, Any] = {
    "none": None,
    "empty dict": {},
    "dict naming the writer": {"syscontract-contract": b"hdr.v1"},
    "dict with a bytes name": {b"syscontract-contract": b"hdr.v1"},
    "list of pairs": [("syscontract-contract", b"hdr.v1")],
    "list of lists": [["syscontract-contract", b"hdr.v2"]],
    "list with a triple": [("syscontract-contract", b"hdr.v1", b"x")],
    "tuple of pairs": (("syscontract-contract", b"hdr.v2"),),
    "schema id header": {"__value_schema_id": b"\x00\x00\x00\x00\x01"},
    "encoding alone": {"syscontract-encoding": b"json"},
    "a string": "syscontract-contract",
}


def test_holds_every_header_shape_gets_one_verdict_everywhere() -> None:
    import types

    from syscontract.integrations.kafka import Deserializer
    from syscontract.wire import Envelope

    writer = record("T", [{"name": "id", "type": "string"}])
    reader = record("T", [{"name": "id", "type": "string"}, {"name": "tier", "type": "string", "default": "BASIC"}])
    registry = pair("hdr", writer, reader)
    precise = Checker(registry.get(syscontract.ContractRef("hdr", 2)), ["tier"], registry)
    guard = GuardCheck("hdr.v2", ["tier"])
    deserializer = Deserializer("hdr.v2", ["tier"])
    values = {
        "confluent v1": confluent(WRITER_ID, avro_body(writer, {"id": "a"})),
        "confluent v2": confluent(READER_ID, avro_body(reader, {"id": "a", "tier": "VIP"})),
        "bare v1": avro_body(writer, {"id": "a"}),
        "json": b'{"id": "a", "tier": "VIP"}',
    }
    seen = set()
    for value_name, value in values.items():
        for shape, headers in HEADER_SHAPES.items():
            expected = outcome(lambda v, h: precise.precise(Envelope(v, h), None)[0], value, headers)
            seen.add(expected[0])
            context = types.SimpleNamespace(headers=headers, field="value")
            for _ in range(2):
                assert outcome(syscontract.check, "hdr.v2", value, ["tier"], headers=headers) == expected, shape
                assert outcome(guard.run, value, headers) == expected, (value_name, shape)
                assert outcome(deserializer, value, context) == expected, (value_name, shape)
    assert seen >= {"ok", "MissingCriticalField", "DecodeError"}


# -- holds: the policies lose nothing and substitute nothing ----------------------------------------------


def test_holds_observe_and_dead_letter_hand_on_only_what_was_written() -> None:
    writer = record("T", [{"name": "id", "type": "string"}])
    reader = record("T", [{"name": "id", "type": "string"}, {"name": "tier", "type": "string", "default": "BASIC"}])
    pair("pol", writer, reader)
    message = confluent(WRITER_ID, avro_body(writer, {"id": "a"}))
    letters: list[Any] = []
    syscontract.configure(on_violation="dead_letter", dead_letter=letters.append)
    received: list[Any] = []
    handler = requires("pol.v2", ["tier"])(received.append)
    for _ in range(2):
        assert handler(message) is None
    assert received == [] and [letter.payload for letter in letters] == [message, message]
    assert all(type(letter.payload) is bytes for letter in letters)

    def failing(letter: Any) -> None:
        raise OSError("sink down")

    syscontract.configure(dead_letter=failing)
    with pytest.raises(OSError) as raised:
        handler(message)
    assert isinstance(raised.value.__context__, ContractError)  # the violation is not lost either

    syscontract.configure(on_violation="observe")
    observed = requires("pol.v2", ["tier"])(received.append)
    for _ in range(2):
        observed(message)
    assert received == [{"id": "a"}, {"id": "a"}]  # the writer's datum: no 'BASIC'


# -- holds: a union branch without the field, and a schema id re-mapped after it was planned ---------------


def test_holds_a_union_branch_whose_reader_record_defaults_the_critical_field() -> None:
    first = record("A", [{"name": "x", "type": "string"}])
    other_w = record("B", [{"name": "y", "type": "string"}])
    other_r = record("B", [{"name": "y", "type": "string"}, {"name": "x", "type": "string", "default": "DEF"}])
    writer = record("T", [{"name": "u", "type": [first, other_w]}])
    reader = record("T", [{"name": "u", "type": [first, other_r]}])
    pair("ub", writer, reader)
    sent = confluent(WRITER_ID, avro_body(writer, {"u": {"x": "X"}}))
    other = confluent(WRITER_ID, avro_body(writer, {"u": ("rt21.B", {"y": "Y"})}))
    for label, entry in entry_points("ub.v2", ["u.x"]).items():
        for _ in range(2):
            assert outcome(entry, sent) == ("ok", {"u": {"x": "X"}}), label
            assert outcome(entry, other) == ("MissingCriticalField", "absent", "u.x"), label
    for _ in range(2):  # not critical: handed on without the default
        assert outcome(syscontract.check, "ub.v2", other, []) == ("ok", {"u": {"y": "Y"}})


def test_holds_a_planned_writer_forgotten_when_its_schema_id_is_re_mapped() -> None:
    writer = record("T", [{"name": "id", "type": "string"}])
    reader = record("T", [{"name": "id", "type": "string"}, {"name": "tier", "type": "string", "default": "BASIC"}])
    registry = pair("remap", writer, reader)
    handler = requires("remap.v2", ["id"])(lambda event: event)
    stale = confluent(WRITER_ID, avro_body(writer, {"id": "a"}))
    for _ in range(2):  # planned, then read inline: the reader default removed
        assert outcome(handler, stale) == ("ok", {"id": "a"})
        assert outcome(syscontract.check, "remap.v2", stale, ["id"]) == ("ok", {"id": "a"})
    newer = record("T", [{"name": "id", "type": "string"}, {"name": "tier", "type": "string"}])
    registry.add(Contract.from_avro("remap.v3", newer), schema_id=WRITER_ID, replace=True)
    fresh = confluent(WRITER_ID, avro_body(newer, {"id": "a", "tier": "VIP"}))
    for _ in range(2):
        assert outcome(handler, fresh) == ("ok", {"id": "a", "tier": "VIP"})
        assert outcome(syscontract.check, "remap.v2", fresh, ["id", "tier"]) == ("ok", {"id": "a", "tier": "VIP"})
