"""Schemas built from the whole JSON Schema vocabulary (``strategies.jsonschemas``): loading, the field
view, validation and compatibility never crash on them. A schema may be refused (a ``ContractError``
naming why), and nothing else may escape."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import json_values, jsonschemas

from syscontract import Contract, ContractError, ContractViolation
from syscontract.compat import jsonschema as js
from syscontract.contract import parse_path
from syscontract.validation import compile_validator

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load(schema: Any) -> Contract | None:
    try:
        return Contract.from_jsonschema("vocabulary.v1", schema)
    except ContractError:
        return None


@SETTINGS
@given(schema=jsonschemas(), values=st.lists(json_values, max_size=4))
def test_loading_the_field_view_and_validation_never_crash(schema: Any, values: list[Any]) -> None:
    contract = load(schema)
    if contract is None:
        return
    for field in contract.fields.values():
        assert isinstance(field.type, str)
        try:  # a property whose name reads as path syntax ("x.y") cannot be named by a path
            contract.field(field.path)
            contract.walk(parse_path(field.path))
        except ContractError:
            pass
    contract.root.fast_plan()
    validator = compile_validator(contract)
    for value in values:
        verdict = validator.is_valid(value)
        failures = validator.errors(value)
        assert verdict == (failures == [])
        if failures:
            try:
                validator(value)
            except ContractViolation as error:
                assert failures == error.failures
            else:
                raise AssertionError("an invalid value did not raise")
        else:
            assert None is validator(value)


@SETTINGS
@given(old=jsonschemas(), new=jsonschemas())
def test_compatibility_never_crashes(old: Any, new: Any) -> None:
    if load(old) is None or load(new) is None:
        return
    try:
        problems = js.problems(new, old)
    except ContractError:
        return
    assert all(problem.kind for problem in problems)


@SETTINGS
@given(schema=jsonschemas())
def test_a_schema_can_read_itself_or_says_it_could_not_prove_it(schema: Any) -> None:
    if load(schema) is None:
        return
    problems = js.problems(schema, schema)
    assert all(problem.kind == "UNPROVABLE_KEYWORD" for problem in problems), problems


def test_a_schema_whose_allof_narrows_its_additional_properties_reads_itself() -> None:
    # found by the property above in CI: the keyword rules compared the reader's allOf branch with the
    # writer's top-level additionalProperties alone, and called the schema incompatible with itself
    schema = {"additionalProperties": True, "allOf": [{"additionalProperties": {"type": "null"}}]}
    assert [] == js.problems(schema, schema)
