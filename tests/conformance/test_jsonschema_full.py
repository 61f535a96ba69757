"""Whole-message validation against the official JSON Schema Test Suite and syscontract's own cases.

* The suite (``tests/data/jsonschema/``, origin and licence in ``tests/data/SOURCES.md``), draft 7 and
  2020-12, required tests and ``optional/format`` with ``format`` asserted, ``$ref``s to
  ``http://localhost:1234/`` mapped to its ``remotes/``: every schema loads, and every case gets the
  suite's verdict through ``check(..., validate="full")`` except those in the one skip list,
  ``conformance/jsonschema_suite.py``'s ``SKIPPED``.
* ``tests/data/jsonschema_full/``: cases written for syscontract in the suite's format; their
  expected verdicts are cross-checked against the ``jsonschema`` reference implementation where it
  is installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import jsonschema_suite as suite
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syscontract import Contract, ContractViolation
from syscontract.validation import compile_validator

DATA = Path(__file__).parent.parent / "data"
OWN = DATA / "jsonschema_full"
DRAFT7 = "http://json-schema.org/draft-07/schema#"

# Own groups on which the jsonschema reference implementation cannot serve as a cross-check.
NO_ORACLE: dict[tuple[str, str, str], str] = {
    (draft, "formats-in-objects.json", "asserted formats"): "jsonschema checks date-time only with rfc3339-validator"
    for draft in ("draft7", "draft2020-12")
}

SUITE_CASES = [pytest.param(case, id=case.id) for case in suite.cases()]


@pytest.mark.parametrize("case", SUITE_CASES)
def test_suite_case_is_loaded_and_gets_the_suite_verdict(case: suite.Case) -> None:
    contract = suite.contract_for(case)  # never refused at load
    expected = not case.valid if case.key in suite.SKIPPED else case.valid
    assert expected == suite.syscontract_verdict(case)
    validator = compile_validator(contract)
    assert expected == validator.is_valid(case.data)
    assert expected == (validator.errors(case.data) == [])


def test_the_skip_list_names_only_cases_of_the_suite() -> None:
    keys = {case.key for case in suite.cases()}
    assert set() == set(suite.SKIPPED) - keys


def groups(root: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for draft in ("draft7", "draft2020-12"):
        for path in sorted((root / draft).rglob("*.json")):
            for group in json.loads(path.read_text(encoding="utf-8")):
                yield draft, path.name, group


def with_dialect(draft: str, schema: Any) -> Any:
    """Draft 7 suite files omit $schema; say it, so draft 7 rules ($ref siblings) apply."""
    if draft == "draft7" and isinstance(schema, dict) and "$schema" not in schema:
        return {"$schema": DRAFT7, **schema}
    return schema


def formats_in(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if isinstance(schema.get("format"), str):
            found.add(schema["format"])
        for value in schema.values():
            found |= formats_in(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= formats_in(value)
    return found


def cases(root: Path) -> list[Any]:
    params = []
    for draft, file, group in groups(root):
        for test in group["tests"]:
            params.append(
                pytest.param(
                    draft, file, group, test, id=f"{draft}/{file}/{group['description']}/{test['description']}"
                )
            )
    return params


def build(draft: str, file: str, group: dict[str, Any]) -> Any:
    """The validator for an own group's schema (formats asserted where the group says so)."""
    schema = with_dialect(draft, group["schema"])
    asserted = True if file == "formats-in-objects.json" else None
    return compile_validator(Contract.from_jsonschema("suite.v1", schema, assert_format=asserted))


@pytest.mark.parametrize(("draft", "file", "group", "test"), cases(OWN))
def test_own_case_verdict(draft: str, file: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    validator = build(draft, file, group)
    assert validator is not None
    assert test["valid"] == validator.is_valid(test["data"])
    assert test["valid"] == (validator.errors(test["data"]) == [])


@pytest.mark.parametrize(("draft", "file", "group", "test"), cases(OWN))
def test_call_raises_exactly_when_invalid_and_names_the_first_failure(
    draft: str, file: str, group: dict[str, Any], test: dict[str, Any]
) -> None:
    validator = build(draft, file, group)
    failures = validator.errors(test["data"])
    if not failures:
        assert validator(test["data"]) is None
        return
    with pytest.raises(ContractViolation) as raised:
        validator(test["data"])
    assert failures == raised.value.failures
    assert failures[0].path == raised.value.field
    assert failures[0].reason == raised.value.reason
    assert "suite.v1" == raised.value.contract


@pytest.mark.parametrize(("draft", "file", "group", "test"), cases(OWN))
def test_own_expectations_agree_with_the_reference_implementation(
    draft: str, file: str, group: dict[str, Any], test: dict[str, Any]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if (draft, file, group["description"]) in NO_ORACLE:
        return
    cls = jsonschema.validators.validator_for(group["schema"])
    oracle = cls(group["schema"], format_checker=jsonschema.FormatChecker())
    assert test["valid"] == oracle.is_valid(test["data"])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 40)
    | st.floats(-10, 40, allow_nan=False, width=32)
    | st.sampled_from(["", "a", "aa", "foo", "bar", "x1", "card", "bank", "fooo", "baz", "aaaa"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["foo", "bar", "baz", "a", "aaaa", "kind", "iban", "x", "b", "value"]), children, max_size=4
        )
    ),
    max_leaves=10,
)
ORACLE_GROUPS = [
    pytest.param(draft, group, id=f"{draft}/{file}/{group['description']}")
    for draft, file, group in groups(OWN)
    if (draft, file, group["description"]) not in NO_ORACLE and not formats_in(group["schema"])
]


@pytest.mark.parametrize(("draft", "group"), ORACLE_GROUPS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_verdicts_on_random_values_agree_with_the_reference_implementation(
    draft: str, group: dict[str, Any], value: Any
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    oracle = jsonschema.validators.validator_for(group["schema"])(group["schema"])
    validator = compile_validator(Contract.from_jsonschema("suite.v1", group["schema"]))
    assert oracle.is_valid(value) == validator.is_valid(value)
    assert validator.is_valid(value) == (validator.errors(value) == [])
