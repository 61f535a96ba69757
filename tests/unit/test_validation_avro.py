"""Whole-message validation of Avro contracts: payloads as fastavro decodes them or as JSON gives them."""

from __future__ import annotations

import copy
import datetime
import decimal
import io
import json
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import avro_datums, single_mutations

from syscontract import Contract, ContractViolation, FieldTypeError, FileRegistry, MissingCriticalField
from syscontract.validation import compile_validator

DATA = Path(__file__).parent.parent / "data"
REGISTRY = FileRegistry(DATA / "contracts")
ORDER = json.loads((DATA / "order_event.json").read_text())
VECTORS = json.loads((DATA / "avro_io_vectors.json").read_text())


def validator_for(schema: Any, ref: str = "test.v1") -> Any:
    return compile_validator(Contract.from_avro(ref, schema))


def record(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def paths(validator: Any, payload: Any) -> list[tuple[str, str]]:
    return [(f.path, f.reason) for f in validator.errors(payload)]


@pytest.fixture
def order_v3() -> Any:
    return compile_validator(REGISTRY.get("order.v3"))


def test_the_reference_order_is_valid(order_v3: Any) -> None:
    assert None is order_v3(copy.deepcopy(ORDER))


def test_a_field_with_a_default_may_be_absent(order_v3: Any) -> None:
    order = copy.deepcopy(ORDER)
    del order["customer"]["customerTier"], order["couponCode"]
    assert None is order_v3(order)


def test_a_field_without_a_default_must_be_present(order_v3: Any) -> None:
    order = copy.deepcopy(ORDER)
    del order["customer"]["email"]
    with pytest.raises(MissingCriticalField) as raised:
        order_v3(order)
    assert ("customer.email", "absent") == (raised.value.field, raised.value.reason)


def test_a_nullable_field_without_a_default_must_be_present_too() -> None:
    validator = validator_for(record({"name": "note", "type": ["null", "string"]}))
    assert [("note", "absent")] == paths(validator, {})
    assert [] == paths(validator, {"note": None})


def test_every_failing_field_is_named(order_v3: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["customer"]["customerTier"] = "PLATINUM"
    order["items"][2]["qty"] = 2**31
    order["couponCode"] = 10
    order["total"] = "423.24"
    assert [
        ("customer.customerTier", "enum"),
        ("items[2].qty", "range"),
        ("total", "type"),
        ("couponCode", "union"),
    ] == paths(order_v3, order)


def test_keys_the_schema_does_not_name_are_allowed(order_v3: Any) -> None:
    assert None is order_v3({**copy.deepcopy(ORDER), "extra": object()})


@pytest.mark.parametrize(
    ("kind", "valid", "invalid"),
    [
        ("int", [0, -(2**31), 2**31 - 1], [2**31, -(2**31) - 1, 1.0, True, "1"]),
        ("long", [2**63 - 1, -(2**63)], [2**63, 1.5, False]),
        ("float", [1.5, 1, float("inf")], [True, "1.5", None]),
        ("double", [1e308, 0], [False, decimal.Decimal("1")]),
        ("string", ["x", ""], [b"x", 1]),
        ("bytes", [b"\x00\xff", bytearray(b"x"), "\u00ff"], ["\u0100", 1, None]),
        ("boolean", [True, False], [0, 1, "true"]),
        ("null", [None], [0, "", False]),
    ],
)
def test_primitive_types(kind: str, valid: list[Any], invalid: list[Any]) -> None:
    validator = validator_for(record({"name": "f", "type": kind}))
    assert [True] * len(valid) == [validator.is_valid({"f": v}) for v in valid]
    assert [False] * len(invalid) == [validator.is_valid({"f": v}) for v in invalid]


def test_an_int_out_of_range_says_which_range() -> None:
    validator = validator_for(record({"name": "n", "type": "int"}))
    assert "2147483648 is outside the int (32-bit) range" == validator.errors({"n": 2**31})[0].detail


def test_fixed_needs_its_exact_size() -> None:
    validator = validator_for(record({"name": "h", "type": {"type": "fixed", "name": "H", "size": 4}}))
    assert [("h", "size")] == paths(validator, {"h": b"abc"})
    assert [("h", "type")] == paths(validator, {"h": 1234})
    assert [] == paths(validator, {"h": b"abcd"})


def test_maps_need_string_keys_and_valid_values() -> None:
    validator = validator_for(record({"name": "m", "type": {"type": "map", "values": "long"}}))
    assert [('m["a b"]', "type"), ('m["1"]', "key")] == paths(validator, {"m": {"a b": "x", 1: 2}})


def test_a_union_reports_inside_the_record_branch_it_must_have_meant() -> None:
    inner = record({"name": "id", "type": "string"}, name="Customer")
    validator = validator_for(record({"name": "customer", "type": ["null", inner]}))
    assert [("customer.id", "type")] == paths(validator, {"customer": {"id": 5}})
    assert [("customer", "union")] == paths(validator, {"customer": 5})


def test_a_named_type_is_checked_wherever_its_name_is_used() -> None:
    point = record({"name": "x", "type": "int"}, name="com.acme.Point")
    validator = validator_for(record({"name": "a", "type": point}, {"name": "b", "type": "com.acme.Point"}))
    assert [("b.x", "type")] == paths(validator, {"a": {"x": 1}, "b": {"x": "1"}})


def test_recursive_records_validate_deep_messages() -> None:
    validator = validator_for(
        record({"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}, name="Node")
    )
    message: dict[str, Any] = {"value": 0, "next": None}
    for n in range(1, 200):
        message = {"value": n, "next": message}
    assert True is validator.is_valid(message)
    message["next"]["next"]["value"] = "x"
    assert [("next.next.value", "type")] == paths(validator, message)


@pytest.mark.parametrize(
    ("schema", "valid", "invalid"),
    [
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 4},
            [decimal.Decimal("3.1415"), decimal.Decimal("-3.1415"), b"\x01"],
            [decimal.Decimal("31.415"), decimal.Decimal("3.14159"), decimal.Decimal("NaN"), 3.1415],
        ),
        (
            {"type": "fixed", "name": "D", "size": 2, "logicalType": "decimal", "precision": 4, "scale": 1},
            [decimal.Decimal("999.9"), decimal.Decimal("-999.9"), decimal.Decimal("5"), b"\x00\x01"],
            [decimal.Decimal("1000.0"), decimal.Decimal("0.01"), b"\x00"],
        ),
        (
            {"type": "string", "logicalType": "uuid"},
            [uuid.uuid4(), "570feebe-2bbc-4937-98df-285944e1dbbd"],
            ["not-a-uuid", 1],
        ),
        ({"type": "int", "logicalType": "date"}, [datetime.date(2000, 1, 1), 10957], ["2000-01-01", 2**31]),
        ({"type": "int", "logicalType": "time-millis"}, [datetime.time(23, 59, 59, 999000), 0], ["23:59"]),
        ({"type": "long", "logicalType": "time-micros"}, [datetime.time(0, 0), 2**40], [1.5]),
        (
            {"type": "long", "logicalType": "timestamp-millis"},
            [datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=datetime.timezone.utc), 0],
            [datetime.date(2000, 1, 1), "2000-01-01T00:00:00Z"],
        ),
        ({"type": "long", "logicalType": "local-timestamp-micros"}, [datetime.datetime(2000, 1, 1)], [None]),
        ({"type": "string", "logicalType": "timestamp-millis"}, ["not a timestamp: the base type decides"], [0]),
    ],
)
def test_logical_types(schema: dict[str, Any], valid: list[Any], invalid: list[Any]) -> None:
    validator = validator_for(record({"name": "f", "type": schema}))
    assert [True] * len(valid) == [validator.is_valid({"f": v}) for v in valid]
    assert [False] * len(invalid) == [validator.is_valid({"f": v}) for v in invalid]


def datum(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes_hex"}:
        return bytes.fromhex(value["$bytes_hex"])
    if isinstance(value, dict):
        return {k: datum(v) for k, v in value.items()}
    if isinstance(value, list):
        return [datum(v) for v in value]
    return value


@pytest.mark.parametrize("case", VECTORS["validate_valid"]["cases"], ids=lambda c: json.dumps(c["schema"])[:60])
def test_every_datum_the_avro_vectors_call_valid_validates(case: dict[str, Any]) -> None:
    assert case["valid"] is True
    assert [] == validator_for(case["schema"]).errors(datum(case["datum"]))


@pytest.mark.parametrize("case", VECTORS["default_values"]["cases"], ids=lambda c: json.dumps(c["field_type"])[:40])
def test_a_field_with_a_default_validates_absent_or_set_to_its_default(case: dict[str, Any]) -> None:
    validator = validator_for(record({"name": "H", "type": case["field_type"], "default": case["default"]}))
    assert [] == validator.errors({})
    assert [] == validator.errors(
        {"H": datum(case["default"]) if not isinstance(case["default"], str) else case["default"]}
    )


def test_what_fastavro_decodes_validates(order_v3: Any) -> None:
    contract = REGISTRY.get("order.v3")
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, contract.native, ORDER)
    decoded = fastavro.schemaless_reader(io.BytesIO(buffer.getvalue()), contract.native, None)
    assert None is order_v3(decoded)


LOGICAL = record(
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "on", "type": {"type": "int", "logicalType": "date"}},
    {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}], "default": None},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    {"name": "tags", "type": {"type": "map", "values": {"type": "array", "items": "string"}}},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "next", "type": ["null", "com.acme.Event"], "default": None},
    name="com.acme.Event",
)


@pytest.fixture(params=["order", "logical", "interop"])
def contract(request: pytest.FixtureRequest) -> Contract:
    if request.param == "order":
        return REGISTRY.get("order.v3")
    if request.param == "logical":
        return Contract.from_avro("logical.v1", LOGICAL)
    return Contract.from_avro("interop.v1", (DATA / "avsc" / "interop.avsc").read_text())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_datums_generated_from_the_contract_validate(contract: Contract, data: st.DataObject) -> None:
    message = data.draw(avro_datums(contract.schema))
    assert [] == compile_validator(contract).errors(message)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_generated_datums_are_datums_fastavro_can_write(contract: Contract, data: st.DataObject) -> None:
    message = data.draw(avro_datums(contract.schema))
    fastavro.schemaless_writer(io.BytesIO(), contract.native, message)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_a_single_field_mutation_fails_at_the_path_of_that_field(contract: Contract, data: st.DataObject) -> None:
    message = data.draw(avro_datums(contract.schema))
    mutated, path, reason = data.draw(single_mutations(contract, message))
    with pytest.raises(ContractViolation) as raised:
        compile_validator(contract)(mutated)
    assert [(path, reason)] == [(f.path, f.reason) for f in raised.value.failures]
    assert isinstance(raised.value, MissingCriticalField if reason == "absent" else FieldTypeError)
