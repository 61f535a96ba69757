"""Conformance with the official JSON Schema Test Suite (draft 7 and 2020-12).

The suite files are in ``tests/data/jsonschema/`` (origin and licence: ``tests/data/SOURCES.md``).

``Node.accepts`` is the type check for critical fields. It covers kinds, ``enum``/``const`` and the
combinators, but not ``properties``, ``items``, bounds, ``pattern`` and so on. So:

* for suite groups whose schemas use only keywords that ``accepts`` implements, ``accepts(data)``
  must equal the suite's verdict exactly;
* for every group, data the suite calls valid must pass ``accepts``, since the type check is a
  necessary condition of full validity;
* for every group, the fast plan must never accept a value that ``accepts`` refuses;
* every suite schema must parse (references to ``http://localhost:1234/`` are mapped to the
  suite's ``remotes/``).

Exactness is asked only where the view is exact: ``oneOf`` is read as ``anyOf`` (the view only
needs "may this be valid"), and references that leave the document (an ``$id``, a remote) are
followed by jsonschema-rs, which the view trusts with "anything" where it cannot place them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conformance import jsonschema_suite as suite

import syscontract
from syscontract import Contract, FieldTypeError, MissingCriticalField

SUITE = Path(__file__).parent.parent / "data" / "jsonschema"
DRAFTS = ("draft7", "draft2020-12")

# Keywords the type check implements, and annotation keywords that never change a verdict.
TYPE_CHECK_KEYWORDS = frozenset({"type", "enum", "const", "anyOf", "allOf", "$ref", "definitions", "$defs"})
ANNOTATIONS = frozenset(
    {"$schema", "$comment", "title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated"}
)

# Keywords whose value is a map of name -> subschema, one subschema, or an array of subschemas.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas"})
_SCHEMA_ARRAYS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {
        "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties",
    }
)  # fmt: skip


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in ``schema``. Property names and ``enum``/``const`` values are
    not keywords, so they are skipped."""
    found: set[str] = set()
    if not isinstance(schema, dict):
        return found
    for key, value in schema.items():
        found.add(key)
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for sub in value.values():
                found |= keywords(sub)
        elif key == "dependencies" and isinstance(value, dict):
            for sub in value.values():
                found |= keywords(sub)  # an array of names has no keywords
        elif key in _SCHEMA_ARRAYS and isinstance(value, list):
            for sub in value:
                found |= keywords(sub)
        elif key == "items":
            for sub in value if isinstance(value, list) else [value]:
                found |= keywords(sub)
        elif key in _SCHEMA_VALUES:
            found |= keywords(value)
    return found


def suite_files() -> Iterator[tuple[str, str, Path]]:
    """(draft, file name relative to the draft directory, path) for every suite file."""
    for draft in DRAFTS:
        for path in sorted((SUITE / draft).rglob("*.json")):
            yield draft, path.relative_to(SUITE / draft).as_posix(), path


def groups() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for draft, name, path in suite_files():
        for group in json.loads(path.read_text(encoding="utf-8")):
            yield draft, name, group


def type_check_only(group: dict[str, Any]) -> bool:
    """The group's verdicts depend only on keywords that ``accepts`` implements exactly, and its
    references are pointers into the same document."""
    return keywords(group["schema"]) <= TYPE_CHECK_KEYWORDS | ANNOTATIONS and all(
        ref.startswith("#/") or ref == "#" for ref in refs(group["schema"])
    )


def refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        found = [schema["$ref"]] if isinstance(schema.get("$ref"), str) else []
        return found + [r for value in schema.values() for r in refs(value)]
    if isinstance(schema, list):
        return [r for value in schema for r in refs(value)]
    return []


def load(schema: Any) -> Contract:
    return Contract.from_jsonschema("suite.v1", schema, references=suite.remote)


def group_params() -> list[Any]:
    return [
        pytest.param(suite.with_dialect(draft, group["schema"]), id=f"{draft}/{name} | {group['description']}")
        for draft, name, group in groups()
    ]


def case_params(*, type_check_only_groups: bool, valid_only: bool = False, non_null: bool = False) -> list[Any]:
    params = []
    for draft, name, group in groups():
        if type_check_only_groups and not type_check_only(group):
            continue
        for test in group["tests"]:
            if valid_only and not test["valid"]:
                continue
            if non_null and test["data"] is None:
                continue
            params.append(
                pytest.param(
                    suite.with_dialect(draft, group["schema"]),
                    test["data"],
                    test["valid"],
                    id=f"{draft}/{name} | {group['description']} | {test['description']}",
                )
            )
    return params


def plan_admits(plan: tuple[frozenset[type] | None, frozenset[str] | None], value: Any) -> bool:
    """Whether the checker's generated fast test would let ``value`` through with ``plan``. The
    generated code treats an exception (an unhashable value tested against the symbols) as a doubt."""
    classes, symbols = plan
    if value is None:
        return False
    if classes is not None and type(value) not in classes:
        return False
    if symbols is not None:
        try:
            return value in symbols
        except TypeError:
            return False
    return True


def wrap_as_property(schema: Any) -> dict[str, Any]:
    """An object schema with ``schema`` as its required property ``x``. ``$schema`` moves to the root."""
    inner = dict(schema) if isinstance(schema, dict) else schema
    wrapper: dict[str, Any] = {"type": "object", "properties": {"x": inner}, "required": ["x"]}
    if isinstance(inner, dict) and "$schema" in inner:
        wrapper["$schema"] = inner.pop("$schema")
    return wrapper


# -- the suite's own data ------------------------------------------------------------------------


def test_suite_data_is_present() -> None:
    found = {(draft, name) for draft, name, _ in suite_files()}
    for draft in DRAFTS:
        for name in ("type.json", "enum.json", "const.json", "properties.json", "items.json", "required.json"):
            assert (draft, name) in found


def test_keyword_scan_skips_property_names() -> None:
    schema = {"properties": {"enum": {"type": "string"}, "foo": {"pattern": "x"}}, "required": ["enum"]}
    assert {"properties", "required", "type", "pattern"} == keywords(schema)


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", group_params())
def test_suite_schema_parses(schema: Any) -> None:
    contract = load(schema)

    assert "jsonschema" == contract.format


# -- the type check ------------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "data", "valid"), case_params(type_check_only_groups=True))
def test_accepts_matches_suite_verdict(schema: Any, data: Any, valid: bool) -> None:
    root = load(schema).root

    assert valid == root.accepts(data)


@pytest.mark.parametrize(("schema", "data", "valid"), case_params(type_check_only_groups=False, valid_only=True))
def test_accepts_every_suite_valid_instance(schema: Any, data: Any, valid: bool) -> None:
    root = load(schema).root

    assert root.accepts(data) is True


@pytest.mark.parametrize(("schema", "data", "valid"), case_params(type_check_only_groups=False))
def test_fast_plan_never_accepts_what_accepts_refuses(schema: Any, data: Any, valid: bool) -> None:
    root = load(schema).root
    plan = root.fast_plan()

    if plan is not None and plan_admits(plan, data):
        assert root.accepts(data) is True


# -- end to end through syscontract.check ----------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "valid"),
    [p for p in case_params(type_check_only_groups=True, non_null=True) if p.values[2] and not refs(p.values[0])],
)
def test_check_passes_suite_valid_critical_field(schema: Any, data: Any, valid: bool) -> None:
    contract = load(wrap_as_property(schema))
    message = {"x": data}

    assert message is syscontract.check(contract, message, fields=["x"])


@pytest.mark.parametrize(
    ("schema", "data", "valid"),
    [p for p in case_params(type_check_only_groups=True, non_null=True) if not p.values[2] and not refs(p.values[0])],
)
def test_check_refuses_suite_invalid_critical_field(schema: Any, data: Any, valid: bool) -> None:
    contract = load(wrap_as_property(schema))

    with pytest.raises(FieldTypeError) as raised:
        syscontract.check(contract, {"x": data}, fields=["x"])
    assert "x" == raised.value.field


def test_check_reports_critical_null_as_missing_even_when_schema_allows_null() -> None:
    # draft7/type.json "type: array, object or null": null is valid there, but a critical field must
    # carry a value
    schema = {"type": ["array", "object", "null"]}
    contract = load(wrap_as_property(schema))

    with pytest.raises(MissingCriticalField):
        syscontract.check(contract, {"x": None}, fields=["x"])


# -- beyond the suite: enum and const together -----------------------------------------------------
# The suite never puts "enum" and "const" in one schema. When both are present, each applies on its
# own with JSON equality (1 == 1.0, but true != 1 and [false] != [0]), so a value is valid only if it
# is equal to the const and to some enum member. These cases were written for syscontract.

ENUM_AND_CONST = [
    pytest.param({"enum": [1, True], "const": True}, True, True, id="enum [1, true] const true | true is valid"),
    pytest.param({"enum": [1, True], "const": True}, 1, False, id="enum [1, true] const true | 1 is invalid"),
    pytest.param({"enum": [0, False], "const": False}, 0, False, id="enum [0, false] const false | 0 is invalid"),
    pytest.param({"enum": [[0]], "const": [False]}, [0], False, id="enum [[0]] const [false] | [0] is invalid"),
    pytest.param({"enum": [1.0, "a"], "const": 1}, 1, True, id="enum [1.0, 'a'] const 1 | 1 is valid"),
    pytest.param({"enum": ["a", "b"], "const": "b"}, "a", False, id="enum ['a', 'b'] const 'b' | 'a' is invalid"),
]


@pytest.mark.parametrize(("schema", "data", "valid"), ENUM_AND_CONST)
def test_accepts_enum_and_const_together(schema: Any, data: Any, valid: bool) -> None:
    root = load(schema).root

    assert valid == root.accepts(data)
