"""Whole-message validation: the validator's surface, its errors, and JSON Schema contracts."""

from __future__ import annotations

import copy
import decimal
import json
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import StrSubclass, jsonschema_instances, mutated_orders, single_mutations
from threads import run_threads

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
    assert [Failure("schemaVersion", "type", '"3" is not of type "integer"')] == raised.value.failures


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
    assert [("kids[1].kids[1].v", "absent"), ("kids[1].kids[0].v", "type")] == [
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


def test_any_of_is_reported_where_it_fails() -> None:
    customer = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    schema = {"type": "object", "properties": {"customer": {"anyOf": [{"type": "null"}, customer]}}}
    validator = validator_for(schema)
    assert [("customer", "anyOf")] == [(f.path, f.reason) for f in validator.errors({"customer": {"id": 5}})]
    assert [("customer", "anyOf")] == [(f.path, f.reason) for f in validator.errors({"customer": 5})]


def test_one_of_with_two_matches_says_how_many() -> None:
    validator = validator_for({"oneOf": [{"type": "integer"}, {"minimum": 2}]})
    assert [("$", "oneOf")] == [(f.path, f.reason) for f in validator.errors(3)]
    assert "more than one" in validator.errors(3)[0].detail


def test_additional_properties_names_each_extra_key() -> None:
    validator = validator_for({"properties": {"a": {}}, "additionalProperties": False})
    assert [("b", "additionalProperties"), ('["c.d"]', "additionalProperties")] == [
        (f.path, f.reason) for f in validator.errors({"a": 1, "b": 2, "c.d": 3})
    ]


def test_dependent_required_names_the_missing_property() -> None:
    validator = validator_for({"$schema": D2020, "dependentRequired": {"card": ["billing"]}})
    assert [
        Failure("billing", "dependentRequired", "'billing' is required by another property that is present")
    ] == validator.errors({"card": 1})


def test_unique_items_says_which_items_are_equal() -> None:
    validator = validator_for({"uniqueItems": True})
    assert [("$", "uniqueItems")] == [(f.path, f.reason) for f in validator.errors([1, True, 1.0])]
    assert True is validator.is_valid([1, True])


def test_contains_is_the_reason_when_too_few_items_match() -> None:
    validator = validator_for({"$schema": D2020, "contains": {"type": "string"}, "minContains": 2})
    assert [("$", "contains")] == [(f.path, f.reason) for f in validator.errors(["a", 1])]


def test_format_is_an_annotation_in_2020_12_unless_the_contract_asserts_it() -> None:
    schema = {"$schema": D2020, "properties": {"at": {"type": "string", "format": "date-time"}}}
    assert True is validator_for(schema).is_valid({"at": "yesterday"})
    asserted = compile_validator(Contract.from_jsonschema("test.v1", schema, assert_format=True))
    assert [("at", "format")] == [(f.path, f.reason) for f in asserted.errors({"at": "yesterday"})]


def test_format_is_asserted_in_draft7_unless_the_contract_says_annotate() -> None:
    schema = {"$schema": D7, "properties": {"at": {"type": "string", "format": "date-time"}}}
    assert False is validator_for(schema).is_valid({"at": "yesterday"})
    annotated = compile_validator(Contract.from_jsonschema("test.v1", schema, assert_format=False))
    assert True is annotated.is_valid({"at": "yesterday"})


def test_format_assertion_vocabulary_is_honoured() -> None:
    # a meta-schema that asks for format-assertion (the suite's remote of the same name)
    from conformance import jsonschema_suite as suite

    schema = {"$schema": "http://localhost:1234/draft2020-12/format-assertion-true.json", "format": "ipv4"}
    contract = Contract.from_jsonschema("test.v1", schema, references=suite.remote)
    assert False is compile_validator(contract).is_valid("not-an-ip")


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


def test_draft7_ref_siblings_are_ignored_as_the_specification_says() -> None:
    schema = {
        "$schema": D7,
        "definitions": {"a": {"type": "integer"}},
        "properties": {"x": {"$ref": "#/definitions/a", "minimum": 3}},
    }
    validator = validator_for(schema)
    assert [True, False] == [validator.is_valid({"x": 2}), validator.is_valid({"x": "2"})]


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


# -- what used to be refused at load is validated --------------------------------------------------


def test_an_unknown_format_is_an_annotation() -> None:
    assert True is validator_for({"properties": {"host": {"format": "no-such-format"}}}).is_valid({"host": "x"})


def test_a_unicode_property_pattern_is_understood() -> None:
    validator = validator_for({"pattern": "^\\p{Letter}+$"})
    assert [True, False] == [validator.is_valid("\u00e9t\u00e9"), validator.is_valid("a1")]


@pytest.mark.parametrize("pattern", ["^(a+)+$", "(\\w+\\s?)*$", "(a|ab)*c", "^(?:x{1,3})+$"])
def test_a_catastrophic_pattern_runs_in_linear_time_on_hostile_input(pattern: str) -> None:
    validator = validator_for({"type": "string", "pattern": pattern})
    hostile = "a" * 50_000 + "!"
    assert validator.is_valid(hostile) in (True, False)  # returns: no exponential backtracking


def test_a_backtracking_pattern_past_its_budget_fails_the_message_rather_than_hanging() -> None:
    validator = validator_for({"type": "string", "pattern": "^(?=(a+)+$)b"})  # a lookahead needs backtracking
    assert False is validator.is_valid("a" * 5_000 + "!")


def test_dependent_schemas_apply() -> None:
    validator = validator_for({"$schema": D2020, "dependentSchemas": {"a": {"required": ["b"]}}})
    assert [True, False, True] == [validator.is_valid(v) for v in ({"a": 1, "b": 2}, {"a": 1}, {"b": 1})]


def test_unevaluated_properties_name_each_unevaluated_key() -> None:
    validator = validator_for({"$schema": D2020, "properties": {"a": {}}, "unevaluatedProperties": False})
    assert [("b", "unevaluatedProperties")] == [(f.path, f.reason) for f in validator.errors({"a": 1, "b": 2})]


def test_a_remote_ref_is_refused_at_load_and_never_fetched() -> None:
    with pytest.raises(ContractDeclarationError, match="never fetches a reference from the network"):
        validator_for({"$ref": "https://example.com/schema.json"})


def test_a_ref_to_a_mapped_document_is_followed() -> None:
    references = {"https://acme.example/uuid.json": {"$defs": {"id": {"type": "string", "minLength": 3}}}}
    contract = Contract.from_jsonschema(
        "test.v1", {"properties": {"id": {"$ref": "https://acme.example/uuid.json#/$defs/id"}}}, references=references
    )
    validator = compile_validator(contract)
    assert [True, False] == [validator.is_valid({"id": "abc"}), validator.is_valid({"id": "ab"})]
    assert "string" == contract.field("id").type


def test_a_contract_built_without_the_parser_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match=r"Contract\.from_jsonschema"):
        compile_validator(Contract("raw.v1", "jsonschema", Shape(), schema={"type": "object"}))


def test_unknown_keywords_are_annotations() -> None:
    assert True is validator_for({"properties": {"a": {"nullable": True, "x-kafka": {}}}}).is_valid({"a": None})


def test_a_draft4_boolean_exclusive_minimum_is_understood() -> None:
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 1, "exclusiveMinimum": True}
    assert [False, True] == [validator_for(schema).is_valid(1), validator_for(schema).is_valid(2)]


def test_a_value_that_is_not_json_fails_with_reason_type() -> None:
    import datetime

    validator = validator_for({"type": "object", "properties": {"at": {"type": "string"}}})
    assert [("at", "type")] == [(f.path, f.reason) for f in validator.errors({"at": datetime.date(2024, 1, 1)})]
    assert False is validator.is_valid({"at": datetime.date(2024, 1, 1)})


# -- generated code, cache, linecache ---------------------------------------------------------------


def test_contracts_with_equal_schemas_share_a_validator_but_not_their_ref() -> None:
    schema = {"type": "object", "required": ["a"]}
    first, second = validator_for(schema, "one.v1"), validator_for(schema, "two.v1")
    assert first.is_valid is second.is_valid
    with pytest.raises(MissingCriticalField) as raised:
        second({})
    assert "two.v1" == raised.value.contract


def test_the_compile_cache_is_bounded() -> None:
    clear_cache()
    for n in range(CACHE_SIZE + 20):
        validator_for({"type": "object", "properties": {f"p{n}": {"type": "integer"}}})
    assert (CACHE_SIZE, CACHE_SIZE) == cache_info()


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


def test_a_message_nested_deeper_than_a_recursive_schema_allows_is_a_violation() -> None:
    validator = validator_for({"type": "object", "properties": {"next": {"$ref": "#"}}})
    message: dict[str, Any] = {}
    for _ in range(100_000):
        message = {"next": message}
    assert False is validator.is_valid(message)
    with pytest.raises(FieldTypeError) as raised:
        validator(message)
    assert ("$", "too-deep") == (raised.value.field, raised.value.reason)


def test_a_deep_message_under_a_schema_that_cannot_recurse_is_validated() -> None:
    validator = validator_for({"type": "object", "properties": {"next": {"type": "object"}}})
    message: dict[str, Any] = {}
    for _ in range(100_000):
        message = {"next": message}
    assert True is validator.is_valid(message)


def test_a_thread_with_a_small_stack_validates_a_message_at_the_nesting_limit() -> None:
    import threading

    from syscontract.validation._jsonschema import MAX_NESTING

    validator = validator_for({"type": "object", "properties": {"next": {"$ref": "#"}}})
    message: dict[str, Any] = {}
    for _ in range(MAX_NESTING - 1):
        message = {"next": message}
    verdicts: list[bool] = []
    previous = threading.stack_size(256 * 1024)
    try:
        run_threads(1, lambda number: verdicts.append(validator.is_valid(message)), barrier=False)
    finally:
        threading.stack_size(previous)
    assert [True] == verdicts


def test_a_schema_that_reuses_a_definition_without_recursion_is_not_depth_checked() -> None:
    schema = {"definitions": {"a": {"type": "object"}}, "properties": {"x": {"$ref": "#/definitions/a"}}}
    deep: dict[str, Any] = {}
    for _ in range(10_000):
        deep = {"next": deep}
    assert False is Contract.from_jsonschema("t.v1", schema).native.recursive
    assert True is validator_for(schema).is_valid({"x": deep})


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"next": {"$ref": "#"}}},
        {"$defs": {"a": {"items": {"$ref": "#/$defs/b"}}, "b": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"},
        {"$schema": D2020, "$dynamicAnchor": "n", "items": {"$dynamicRef": "#n"}},
    ],
)
def test_a_schema_that_can_recurse_is_known_as_such(schema: Any) -> None:
    assert True is Contract.from_jsonschema("t.v1", schema).native.recursive
