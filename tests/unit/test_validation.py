"""Whole-message validation: the validator's surface, its errors, and JSON Schema contracts."""

from __future__ import annotations

import copy
import decimal
import gc
import json
import linecache
import traceback
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import StrSubclass, jsonschema_instances, mutated_orders, single_mutations

from syscontract import (
    Contract,
    ContractDeclarationError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    FileRegistry,
    MissingCriticalField,
)
from syscontract._types import Shape
from syscontract.validation import CACHE_SIZE, MAX_FAILURES, Failure, cache_info, clear_cache, compile_validator

DATA = Path(__file__).parent.parent / "data"
REGISTRY = FileRegistry(DATA / "contracts")
ORDER = json.loads((DATA / "order_event.json").read_text())
D2020 = "https://json-schema.org/draft/2020-12/schema"
D7 = "http://json-schema.org/draft-07/schema#"


def validator_for(schema: Any, ref: str = "test.v1") -> Any:
    return compile_validator(Contract.from_jsonschema(ref, schema))


@pytest.fixture
def order_v4() -> Any:
    return compile_validator(REGISTRY.get("order.v4"))


def broken_order() -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    del order["orderId"]
    order["customer"]["customerTier"] = "PLATINUM"
    order["items"][1]["qty"] = "2"
    order["couponCode"] = 5
    return order


# -- the verdict and the error ---------------------------------------------------------------------


def test_a_valid_message_returns_none(order_v4: Any) -> None:
    assert None is order_v4(copy.deepcopy(ORDER))


def test_a_valid_message_has_no_failures(order_v4: Any) -> None:
    assert [] == order_v4.errors(ORDER)
    assert True is order_v4.is_valid(ORDER)


def test_every_failing_path_is_named_at_once(order_v4: Any) -> None:
    with pytest.raises(ContractViolation) as raised:
        order_v4(broken_order())
    assert [
        ("orderId", "absent"),
        ("customer.customerTier", "enum"),
        ("items[1].qty", "type"),
        ("couponCode", "type"),
    ] == [(f.path, f.reason) for f in raised.value.failures]
    for path in ("orderId", "customer.customerTier", "items[1].qty", "couponCode"):
        assert path in str(raised.value)


def test_the_first_failure_gives_field_reason_and_class(order_v4: Any) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        order_v4(broken_order())
    assert "orderId" == raised.value.field
    assert "absent" == raised.value.reason
    assert "order.v4" == raised.value.contract


def test_a_wrong_type_first_raises_field_type_error(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["schemaVersion"] = "3"
    with pytest.raises(FieldTypeError) as raised:
        order_v4(order)
    assert ("schemaVersion", "type") == (raised.value.field, raised.value.reason)
    assert [Failure("schemaVersion", "type", 'expected integer, got string "3"')] == raised.value.failures


def test_the_error_keeps_the_payload_as_it_arrived(order_v4: Any) -> None:
    order = broken_order()
    with pytest.raises(ContractViolation) as raised:
        order_v4(order)
    assert order is raised.value.payload


def test_failures_are_bounded_and_the_message_says_so() -> None:
    schema = {"type": "object", "properties": {f"f{i}": {"type": "integer"} for i in range(50)}}
    validator = validator_for(schema)
    with pytest.raises(FieldTypeError) as raised:
        validator({f"f{i}": "x" for i in range(50)})
    assert MAX_FAILURES == len(raised.value.failures)
    assert f"stopped after the first {MAX_FAILURES}" in str(raised.value)


def test_a_root_failure_is_reported_at_dollar(order_v4: Any) -> None:
    with pytest.raises(FieldTypeError) as raised:
        order_v4(["not", "an", "object"])
    assert ("$", "type") == (raised.value.field, raised.value.reason)


def test_is_valid_never_raises_for_an_invalid_message(order_v4: Any) -> None:
    assert False is order_v4.is_valid(broken_order())


def test_errors_does_not_raise_and_lists_the_same_failures_as_the_error(order_v4: Any) -> None:
    with pytest.raises(ContractViolation) as raised:
        order_v4(broken_order())
    assert raised.value.failures == order_v4.errors(broken_order())


@settings(max_examples=300, deadline=None)
@given(message=mutated_orders(ORDER))
def test_call_is_valid_and_errors_agree_on_mutated_orders(message: dict[str, Any]) -> None:
    validator = compile_validator(REGISTRY.get("order.v4"))
    failures = validator.errors(message)
    assert (failures == []) == validator.is_valid(message)
    if failures:
        with pytest.raises(ContractViolation):
            validator(message)
    else:
        assert None is validator(message)


# -- exact classes first, precise checks on doubt --------------------------------------------------


def test_a_str_subclass_is_a_string(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["currency"] = StrSubclass("EUR")
    order["customer"]["customerTier"] = StrSubclass("GOLD")
    assert None is order_v4(order)


def test_an_integral_float_is_an_integer(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["schemaVersion"] = 3.0
    assert None is order_v4(order)


def test_a_bool_is_not_a_number_nor_an_integer(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["total"] = True
    order["schemaVersion"] = False
    assert [("schemaVersion", "type"), ("total", "type")] == [(f.path, f.reason) for f in order_v4.errors(order)]


def test_decimal_numbers_are_numbers(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["total"] = decimal.Decimal("423.24")
    order["schemaVersion"] = decimal.Decimal("3")
    assert None is order_v4(order)


def test_a_mapping_that_is_not_a_dict_is_an_object(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["customer"] = types.MappingProxyType(order["customer"])
    assert None is order_v4(types.MappingProxyType(order))


def test_a_defaultdict_is_never_asked_for_a_key_it_lacks(order_v4: Any) -> None:
    customer: defaultdict[str, Any] = defaultdict(lambda: "BASIC", {"id": "c1", "email": "e@x.io"})
    order = {**copy.deepcopy(ORDER), "customer": customer}
    assert [("customer.customerTier", "absent")] == [(f.path, f.reason) for f in order_v4.errors(order)]
    assert False is order_v4.is_valid(order)
    assert "customerTier" not in customer


def test_a_tuple_is_an_array(order_v4: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["items"] = tuple(order["items"])
    assert None is order_v4(order)


# -- keywords, through contracts as users write them ------------------------------------------------


def test_multiple_of_uses_the_decimal_values_written() -> None:
    validator = validator_for({"multipleOf": 0.01})
    assert [True, True, False] == [validator.is_valid(v) for v in (19.99, 0.3, 0.075)]
    assert True is validator_for({"multipleOf": 0.1}).is_valid(0.3)


def test_multiple_of_on_huge_values_does_not_raise() -> None:
    validator = validator_for({"multipleOf": 0.123456789})
    assert False is validator.is_valid(1e308)
    assert True is validator_for({"multipleOf": 0.5}).is_valid(10**400)


def test_nested_failures_are_reported_at_their_paths() -> None:
    node = {
        "type": "object",
        "required": ["v"],
        "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
    }
    schema = {"$schema": D2020, "$defs": {"node": node}, "$ref": "#/$defs/node"}
    validator = validator_for(schema)
    tree = {"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": "x"}, {}]}]}
    assert [("kids[1].kids[0].v", "type"), ("kids[1].kids[1].v", "absent")] == [
        (f.path, f.reason) for f in validator.errors(tree)
    ]


def test_recursive_refs_validate_deep_messages() -> None:
    schema = {"type": "object", "properties": {"next": {"$ref": "#"}, "n": {"type": "integer"}}}
    validator = validator_for(schema)
    message: dict[str, Any] = {"n": 0}
    for n in range(1, 200):
        message = {"n": n, "next": message}
    assert True is validator.is_valid(message)
    message["next"]["next"]["n"] = "x"
    assert ["next.next.n"] == [f.path for f in validator.errors(message)]


def test_any_of_reports_inside_the_only_alternative_that_could_apply() -> None:
    customer = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    schema = {"type": "object", "properties": {"customer": {"anyOf": [{"type": "null"}, customer]}}}
    validator = validator_for(schema)
    assert [("customer.id", "type")] == [(f.path, f.reason) for f in validator.errors({"customer": {"id": 5}})]
    assert [("customer", "anyOf")] == [(f.path, f.reason) for f in validator.errors({"customer": 5})]


def test_one_of_with_two_matches_says_how_many() -> None:
    validator = validator_for({"oneOf": [{"type": "integer"}, {"minimum": 2}]})
    assert [Failure("$", "oneOf", "integer 3 matches 2 of the alternatives, expected exactly one")] == validator.errors(
        3
    )


def test_additional_properties_names_each_extra_key() -> None:
    validator = validator_for({"properties": {"a": {}}, "additionalProperties": False})
    assert [("b", "additionalProperties"), ('["c.d"]', "additionalProperties")] == [
        (f.path, f.reason) for f in validator.errors({"a": 1, "b": 2, "c.d": 3})
    ]


def test_dependent_required_names_the_missing_property() -> None:
    validator = validator_for({"$schema": D2020, "dependentRequired": {"card": ["billing"]}})
    assert [
        Failure("billing", "dependentRequired", "required when 'card' is present, but missing")
    ] == validator.errors({"card": 1})


def test_unique_items_says_which_items_are_equal() -> None:
    validator = validator_for({"uniqueItems": True})
    assert [Failure("$", "uniqueItems", "items are not unique (items 0 and 2 are equal)")] == validator.errors(
        [1, True, 1.0]
    )


def test_contains_says_how_many_items_match() -> None:
    validator = validator_for({"$schema": D2020, "contains": {"type": "string"}, "minContains": 2})
    assert [Failure("$", "contains", "1 items match 'contains', expected at least 2")] == validator.errors(["a", 1])


def test_formats_are_asserted_where_declared() -> None:
    validator = validator_for({"properties": {"at": {"type": "string", "format": "date-time"}}})
    assert [Failure("at", "format", '"yesterday" is not a valid date-time')] == validator.errors({"at": "yesterday"})


def test_patterns_follow_ecma_262_at_the_end_of_a_string() -> None:
    validator = validator_for({"pattern": "^[A-Z]{3}$"})
    assert [True, False] == [validator.is_valid("EUR"), validator.is_valid("EUR\n")]


def test_patterns_use_ascii_digits_like_ecma_262() -> None:
    assert False is validator_for({"pattern": "^\\d+$"}).is_valid("\u0661\u0662")


def test_schema_names_are_escaped_in_generated_code() -> None:
    hostile = "x'] or __import__('os').system('false') or x['"
    validator = validator_for(
        {"type": "object", "required": [hostile, 'a"\n\\b'], "properties": {hostile: {"type": "integer"}}}
    )
    assert True is validator.is_valid({hostile: 1, 'a"\n\\b': None})
    assert [(hostile, "type")] == [
        (f.path[2:-2].replace('\\"', '"'), f.reason) for f in validator.errors({hostile: "1", 'a"\n\\b': 0})
    ]


def test_draft7_ref_siblings_are_refused_rather_than_ignored() -> None:
    schema = {
        "$schema": D7,
        "definitions": {"a": {"type": "integer"}},
        "properties": {"x": {"$ref": "#/definitions/a", "minimum": 3}},
    }
    with pytest.raises(ContractDeclarationError, match="draft 7 ignores keywords beside '\\$ref' \\(minimum\\)"):
        validator_for(schema)


def test_2020_12_ref_siblings_apply() -> None:
    schema = {
        "$schema": D2020,
        "$defs": {"a": {"type": "integer"}},
        "properties": {"x": {"$ref": "#/$defs/a", "minimum": 3}},
    }
    validator = validator_for(schema)
    assert [False, True, False] == [validator.is_valid({"x": v}) for v in (2, 3, "3")]


def test_ref_siblings_that_are_annotations_are_fine_in_draft7() -> None:
    schema = {
        "$schema": D7,
        "definitions": {"a": {"type": "integer"}},
        "properties": {"x": {"$ref": "#/definitions/a", "description": "x"}},
    }
    assert False is validator_for(schema).is_valid({"x": "1"})


# -- refused at load, naming what is refused --------------------------------------------------------


def test_an_unsupported_format_is_refused_naming_it() -> None:
    with pytest.raises(ContractDeclarationError, match="format 'hostname' is not asserted"):
        validator_for({"properties": {"host": {"format": "hostname"}}})


def test_a_unicode_property_pattern_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="Unicode property escape"):
        validator_for({"pattern": "^\\p{Letter}+$"})


@pytest.mark.parametrize("pattern", ["^(a+)+$", "(\\w+\\s?)*$", "(a|ab)*c", "^(?:x{1,3})+$"])
def test_a_catastrophic_pattern_is_refused(pattern: str) -> None:
    with pytest.raises(ContractDeclarationError, match="exponential time"):
        validator_for({"type": "string", "pattern": pattern})


@pytest.mark.parametrize(
    "pattern", ["^([a-z0-9-]+\\.)*[a-z]{2,}$", "^(\\d{1,3}\\.){3}\\d{1,3}$", "^(foo|bar)+$", "^[A-Z]{3}$"]
)
def test_a_delimited_repetition_is_accepted(pattern: str) -> None:
    assert None is not validator_for({"type": "string", "pattern": pattern})


def test_a_catastrophic_pattern_in_pattern_properties_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="patternProperties"):
        validator_for({"patternProperties": {"^(a*)*$": {}}})


def test_dependent_schemas_is_refused_by_the_contract_parser() -> None:
    with pytest.raises(ContractDeclarationError, match="dependentSchemas"):
        validator_for({"$schema": D2020, "dependentSchemas": {"a": {"required": ["b"]}}})


def test_a_remote_ref_is_refused_by_the_contract_parser() -> None:
    with pytest.raises(ContractDeclarationError, match="remote references are refused"):
        validator_for({"$ref": "https://example.com/schema.json"})


def contract_without_parser(schema: Any) -> Contract:
    """A JSON Schema contract built without the contract parser, to test the compiler's own refusals."""
    return Contract("raw.v1", "jsonschema", Shape(), schema=schema)


def test_the_compiler_refuses_a_remote_ref_by_itself() -> None:
    with pytest.raises(ContractDeclarationError, match="remote references are refused"):
        compile_validator(contract_without_parser({"properties": {"a": {"$ref": "other.json#/a"}}}))


@pytest.mark.parametrize("keyword", ["unevaluatedProperties", "$dynamicRef", "nullable", "dependentSchemas"])
def test_the_compiler_refuses_an_unknown_keyword_by_itself(keyword: str) -> None:
    with pytest.raises(
        ContractDeclarationError, match=f"keyword '\\{keyword}'" if keyword.startswith("$") else f"keyword '{keyword}'"
    ):
        compile_validator(contract_without_parser({"properties": {"a": {keyword: {}}}}))


def test_an_unused_definition_is_checked_too() -> None:
    with pytest.raises(ContractDeclarationError, match="format 'uri'"):
        validator_for({"$schema": D2020, "$defs": {"unused": {"format": "uri"}}})


def test_a_draft4_exclusive_minimum_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="draft 4 boolean form"):
        compile_validator(contract_without_parser({"minimum": 1, "exclusiveMinimum": True}))


# -- generated code, cache, linecache ---------------------------------------------------------------


def test_the_generated_source_is_registered_with_linecache(order_v4: Any) -> None:
    filename = order_v4.__code__.co_filename
    assert order_v4.source.splitlines(True) == linecache.getlines(filename)


def test_a_traceback_through_generated_code_shows_its_source() -> None:
    class Exploding(str):
        def __len__(self) -> int:
            raise RuntimeError("boom")

    validator = validator_for({"type": "object", "properties": {"name": {"type": "string", "minLength": 2}}})
    with pytest.raises(RuntimeError) as raised:
        validator({"name": Exploding("ab")})
    rendered = "".join(traceback.format_exception(raised.value))
    assert "if len(x1) < 2:" in rendered


def test_contracts_with_equal_schemas_share_compiled_code_but_not_their_ref() -> None:
    schema = {"type": "object", "required": ["a"]}
    first, second = validator_for(schema, "one.v1"), validator_for(schema, "two.v1")
    assert first.__code__ is second.__code__
    with pytest.raises(MissingCriticalField) as raised:
        second({})
    assert "two.v1" == raised.value.contract


def test_the_compile_cache_is_bounded() -> None:
    clear_cache()
    for n in range(CACHE_SIZE + 20):
        validator_for({"type": "object", "properties": {f"p{n}": {"type": "integer"}}})
    assert (CACHE_SIZE, CACHE_SIZE) == cache_info()


def test_linecache_forgets_a_validator_nobody_holds() -> None:
    validator = validator_for({"type": "object", "properties": {"forgotten": {"const": 1}}})
    filename = validator.__code__.co_filename
    del validator
    clear_cache()
    gc.collect()
    assert filename not in linecache.cache


def test_generated_module_filenames_are_reused_once_their_validators_are_gone() -> None:
    clear_cache()
    gc.collect()
    seen = set()
    every = 32  # gc.collect() is slow in a long test run: collect in batches
    for n in range(3 * CACHE_SIZE):
        validator = validator_for({"type": "object", "properties": {f"q{n}": {"type": "integer"}}})
        seen.add(validator.__code__.co_filename)
        del validator
        if n % every == every - 1:
            gc.collect()
    assert len(seen) <= CACHE_SIZE + every + 1  # unbounded would be 3 x CACHE_SIZE


# -- decode_json ----------------------------------------------------------------------------------


def test_decode_json_returns_what_json_loads_returns(order_v4: Any) -> None:
    raw = json.dumps(ORDER).encode()
    assert json.loads(raw) == order_v4.decode_json(raw)


def test_decode_json_refuses_bytes_that_are_not_json(order_v4: Any) -> None:
    with pytest.raises(DecodeError) as raised:
        order_v4.decode_json(b'{"orderId": ')
    assert ("not-json", b'{"orderId": ') == (raised.value.reason, raised.value.payload)


def test_decode_json_validates_what_it_decoded(order_v4: Any) -> None:
    with pytest.raises(ContractViolation) as raised:
        order_v4.decode_json(json.dumps(broken_order()))
    assert "orderId" == raised.value.field


def test_decode_json_accepts_what_json_loads_accepts() -> None:
    validator = validator_for({"type": "string"})
    assert "\ud800" == validator.decode_json('"\\ud800"')


# -- generated messages and single-field mutations ---------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_messages_generated_from_the_contract_validate(data: st.DataObject) -> None:
    contract = REGISTRY.get("order.v4")
    message = data.draw(jsonschema_instances(contract.schema))
    assert [] == compile_validator(contract).errors(message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_single_field_mutation_fails_at_the_path_of_that_field(data: st.DataObject) -> None:
    contract = REGISTRY.get("order.v4")
    message = data.draw(jsonschema_instances(contract.schema))
    mutated, path, reason = data.draw(single_mutations(contract, message))
    with pytest.raises(ContractViolation) as raised:
        compile_validator(contract)(mutated)
    assert [(path, reason)] == [(f.path, f.reason) for f in raised.value.failures]
    assert isinstance(raised.value, MissingCriticalField if reason == "absent" else FieldTypeError)


def test_a_message_nested_deeper_than_python_recurses_is_a_violation() -> None:
    validator = validator_for({"type": "object", "properties": {"next": {"$ref": "#"}}})
    message: dict[str, Any] = {}
    for _ in range(5000):
        message = {"next": message}
    assert False is validator.is_valid(message)
    with pytest.raises(FieldTypeError) as raised:
        validator(message)
    assert ("$", "too-deep") == (raised.value.field, raised.value.reason)
