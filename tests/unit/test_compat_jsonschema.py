"""JSON Schema compatibility: the reader accepts every document the writer accepts (W ⊆ R)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from syscontract import Contract, ContractDeclarationError
from syscontract.compat import compare
from syscontract.compat import jsonschema as js


def obj(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **more}


STRING = {"type": "string"}


@pytest.fixture
def v4(contracts_dir: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((contracts_dir / "order" / "v4.schema.json").read_text(encoding="utf-8"))
    return document


def kinds(reader: Any, writer: Any) -> list[tuple[str, str]]:
    return [(p.kind, p.field) for p in js.problems(reader, writer)]


def test_a_schema_reads_itself(v4: dict[str, Any]) -> None:
    assert js.can_read(v4, v4)


def test_narrowed_type_is_a_type_mismatch() -> None:
    assert [("TYPE_MISMATCH", "n")] == kinds(obj({"n": {"type": "integer"}}), obj({"n": {"type": "number"}}))
    assert js.can_read(obj({"n": {"type": "number"}}), obj({"n": {"type": "integer"}}))


def test_a_writer_that_becomes_nullable_is_a_type_mismatch() -> None:
    assert [("TYPE_MISMATCH", "s")] == kinds(obj({"s": STRING}), obj({"s": {"type": ["string", "null"]}}))


def test_a_required_property_added_breaks_old_documents(v4: dict[str, Any]) -> None:
    old = copy.deepcopy(v4)
    old["properties"]["customer"]["required"].remove("customerTier")

    found = kinds(v4, old)

    assert ("REQUIRED_PROPERTY_ADDED", "customer.customerTier") in found


def test_a_removed_enum_value_is_missing_enum_symbols(v4: dict[str, Any]) -> None:
    new = copy.deepcopy(v4)
    new["properties"]["customer"]["properties"]["customerTier"]["enum"] = ["BASIC", "VIP"]

    (problem,) = js.problems(new, v4)

    assert ("MISSING_ENUM_SYMBOLS", "customer.customerTier") == (problem.kind, problem.field)
    assert "/properties/customer/properties/customerTier" == problem.path
    assert '"SILVER"' in problem.message


def test_an_added_enum_value_is_readable() -> None:
    assert js.can_read({"enum": ["A", "B"]}, {"const": "A"})


def test_a_property_removed_from_a_closed_model_refuses_old_documents() -> None:
    old = obj({"a": STRING, "b": STRING}, additionalProperties=False)
    new = obj({"a": STRING}, additionalProperties=False)

    assert [("PROPERTY_NOT_ALLOWED", "b")] == kinds(new, old)


def test_a_property_removed_from_an_open_model_is_readable() -> None:
    assert js.can_read(obj({"a": STRING}), obj({"a": STRING, "b": STRING}))


def test_an_optional_property_added_to_a_closed_writer_is_readable() -> None:
    old = obj({"a": STRING}, additionalProperties=False)

    assert js.can_read(obj({"a": STRING, "b": STRING}), old)


def test_an_optional_property_added_after_an_open_writer_may_meet_any_value() -> None:
    assert [("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "b")] == kinds(obj({"a": STRING, "b": STRING}), obj({"a": STRING}))


def test_an_open_writer_cannot_be_read_by_a_closed_reader() -> None:
    found = kinds(obj({"a": STRING}, additionalProperties=False), obj({"a": STRING}))

    assert [("PROPERTY_NOT_ALLOWED", "")] == found


def test_pattern_properties_accept_writer_properties_that_match() -> None:
    reader = obj({}, patternProperties={"^x-": STRING}, additionalProperties=False)
    writer = obj({"x-trace": STRING}, additionalProperties=False)

    assert js.can_read(reader, writer)
    assert not js.can_read(reader, obj({"x-trace": {"type": "integer"}}, additionalProperties=False))


def test_array_items_and_prefix_items_are_compared_by_position() -> None:
    reader = {"type": "array", "prefixItems": [STRING, {"type": "number"}], "items": False}
    writer = {"type": "array", "prefixItems": [STRING, {"type": "integer"}], "items": False}

    assert js.can_read(reader, writer)
    assert [("TYPE_MISMATCH", "/prefixItems/1")] == [(p.kind, p.path) for p in js.problems(writer, reader)]


def test_items_problem_is_located_in_the_element(v4: dict[str, Any]) -> None:
    new = copy.deepcopy(v4)
    new["properties"]["items"]["items"]["properties"]["qty"]["minimum"] = 1

    (problem,) = js.problems(new, v4)

    assert ("CONSTRAINT_NARROWED", "items[].qty") == (problem.kind, problem.field)


def test_any_of_in_the_writer_needs_every_branch_readable() -> None:
    writer = {"anyOf": [STRING, {"type": "null"}]}

    assert js.can_read({"type": ["string", "null"]}, writer)
    assert [("TYPE_MISMATCH", "")] == kinds(STRING, writer)


def test_any_of_in_the_reader_accepts_the_writer_type_by_type() -> None:
    reader = {"oneOf": [STRING, {"type": "integer"}]}

    assert js.can_read(reader, {"type": ["string", "integer"]})
    assert [("MISSING_UNION_BRANCH", "")] == kinds(reader, {"type": ["string", "boolean"]})


def test_all_of_parts_combine_in_the_writer_and_each_holds_in_the_reader() -> None:
    writer = {"allOf": [obj({"a": STRING}), {"required": ["a"]}]}
    reader = {"allOf": [obj({"a": STRING}, ["a"]), {"type": "object"}]}

    assert js.can_read(reader, writer)
    assert not js.can_read(reader, obj({"a": STRING}))


def test_recursive_refs_terminate() -> None:
    def tree(value: str) -> dict[str, Any]:
        node = obj({"v": {"type": value}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, ["v"])
        return {"$defs": {"node": node}, "$ref": "#/$defs/node"}

    assert js.can_read(tree("number"), tree("integer"))
    assert "TYPE_MISMATCH" in [p.kind for p in js.problems(tree("integer"), tree("number"))]


def test_value_bounds_may_widen_but_not_narrow() -> None:
    assert js.can_read({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5})
    assert [("CONSTRAINT_NARROWED", "")] == kinds(
        {"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 10}
    )
    assert js.can_read({"type": "number", "minimum": 0}, {"type": "number", "exclusiveMinimum": 0})
    assert not js.can_read({"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0})


def test_keywords_that_cannot_be_compared_must_be_unchanged() -> None:
    reader = {"type": "string", "not": {"const": "x"}}

    assert js.can_read(reader, reader)
    assert [("UNPROVABLE_KEYWORD", "")] == kinds(reader, STRING)


def test_invalid_document_is_a_declaration_error() -> None:
    with pytest.raises(ContractDeclarationError, match="not a valid JSON Schema"):
        js.can_read({"type": "object", "minimum": "x"}, True)


def test_json_schema_contracts_use_these_rules(v4: dict[str, Any]) -> None:
    new = copy.deepcopy(v4)
    new["properties"]["total"] = {"type": "integer"}

    result = compare(Contract.from_jsonschema("order.v5", new), Contract.from_jsonschema("order.v4", v4), "BACKWARD")

    assert [("TYPE_MISMATCH", "total", "order.v5", "order.v4")] == [
        (p.kind, p.field, p.reader, p.writer) for p in result.problems
    ]


class OrderV1(BaseModel):
    order_id: str
    tier: str


class OrderV2(BaseModel):
    order_id: str
    tier: str | None = None
    channel: str = "web"


class OpenOrder(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: str


def test_pydantic_writers_write_only_their_declared_fields() -> None:
    old, new = Contract.from_model("order.v1", OrderV1), Contract.from_model("order.v2", OrderV2)

    assert compare(new, old, "BACKWARD").compatible  # v1 never wrote 'channel'
    forward = compare(new, old, "FORWARD")
    assert {("REQUIRED_PROPERTY_ADDED", "tier"), ("TYPE_MISMATCH", "tier")} == {
        (p.kind, p.field) for p in forward.problems
    }


def test_pydantic_writer_allowing_extra_fields_is_open() -> None:
    old, new = Contract.from_model("order.v1", OpenOrder), Contract.from_model("order.v2", OrderV2)

    assert ["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"] == sorted({p.kind for p in compare(new, old).problems})


# -- every keyword, by the inclusion rule: new (reader) accepts every document old (writer) accepts ------

D2020 = "https://json-schema.org/draft/2020-12/schema"
D7 = "http://json-schema.org/draft-07/schema#"
ARRAY = {"type": "array"}
OBJECT = {"type": "object"}


def d2020(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": D2020, **schema}


# (keyword, old, new, compatible): a proof (True) or a conservative or real refusal (False)
KEYWORD_CASES = [
    ("not", {"not": {"type": "number"}}, {"not": {"type": "integer"}}, True),
    ("not", {"not": {"type": "integer"}}, {"not": {"type": "number"}}, False),
    ("not", STRING, {"not": {"type": "null"}}, True),
    ("not", STRING, {"not": {"const": "x"}}, False),
    ("dependencies", {"dependencies": {"a": ["b"]}}, {}, True),
    ("dependencies", {}, {"dependencies": {"a": ["b"]}}, False),
    ("dependencies", {"dependencies": {"a": ["b", "c"]}}, {"dependencies": {"a": ["b"]}}, True),
    ("dependencies", {"dependencies": {"a": {"required": ["b"]}}}, {}, True),
    ("dependencies", {"dependencies": {"a": {"required": ["b"]}}}, {"dependencies": {"a": {"required": ["b"]}}}, True),
    ("dependentRequired", d2020({"dependentRequired": {"a": ["b"]}}), d2020({}), True),
    ("dependentRequired", d2020({"required": ["b"]}), d2020({"dependentRequired": {"a": ["b"]}}), True),
    ("dependentRequired", d2020({}), d2020({"dependentRequired": {"a": ["b"]}}), False),
    ("dependentSchemas", d2020({"dependentSchemas": {"a": {"required": ["b"]}}}), d2020({}), True),
    ("dependentSchemas", d2020({}), d2020({"dependentSchemas": {"a": {"required": ["b"]}}}), False),
    ("dependentSchemas", d2020({"required": ["b"]}), d2020({"dependentSchemas": {"a": {"required": ["b"]}}}), True),
    ("minContains", d2020({"contains": STRING, "minContains": 3}), d2020({"contains": STRING, "minContains": 2}), True),
    (
        "minContains",
        d2020({"contains": STRING, "minContains": 2}),
        d2020({"contains": STRING, "minContains": 3}),
        False,
    ),
    ("maxContains", d2020({"contains": STRING, "maxContains": 2}), d2020({"contains": STRING, "maxContains": 3}), True),
    ("maxContains", d2020({"contains": STRING}), d2020({"contains": STRING, "maxContains": 3}), False),
    ("contains", {"contains": {"const": "a"}}, {"contains": STRING}, True),
    ("contains", {"contains": STRING}, {"contains": {"const": "a"}}, False),
    ("contains", {}, d2020({"contains": STRING, "minContains": 0}), True),
    (
        "additionalItems",
        {"$schema": D7, "items": STRING, "additionalItems": False},
        {"$schema": D7, "items": STRING},
        True,
    ),
    (
        "additionalItems",
        {"$schema": D7, "items": STRING},
        {"$schema": D7, "items": STRING, "additionalItems": False},
        True,
    ),
    (
        "additionalItems",
        {"$schema": D7, "items": [STRING]},
        {"$schema": D7, "items": [STRING], "additionalItems": False},
        False,
    ),
    ("uniqueItems", {"uniqueItems": True}, {}, True),
    ("uniqueItems", {}, {"uniqueItems": True}, False),
    ("uniqueItems", {"maxItems": 1}, {"uniqueItems": True}, True),
    ("propertyNames", {"propertyNames": {"maxLength": 3}}, {"propertyNames": {"maxLength": 3}}, True),
    ("propertyNames", {}, {"propertyNames": {"maxLength": 3}}, False),
    ("if", {"if": STRING, "then": {"minLength": 1}}, {"if": STRING, "then": {"minLength": 1}}, True),
    ("if", {}, {"if": STRING, "then": {"minLength": 1}}, False),
    ("if", {}, {"if": STRING}, True),
    ("then", {}, {"then": {"minLength": 1}}, True),
    (
        "unevaluatedProperties",
        d2020({"properties": {"a": {}}}),
        d2020({"properties": {"a": {}}, "unevaluatedProperties": False}),
        False,
    ),
    (
        "unevaluatedProperties",
        d2020({"properties": {"a": {}}, "additionalProperties": False}),
        d2020({"properties": {"a": {}}, "unevaluatedProperties": False}),
        True,
    ),
    (
        "unevaluatedProperties",
        d2020({"properties": {"a": {}}, "unevaluatedProperties": False}),
        d2020({"properties": {"a": {}}}),
        True,
    ),
    (
        "unevaluatedItems",
        d2020({"prefixItems": [STRING], "items": False}),
        d2020({"prefixItems": [STRING], "unevaluatedItems": False}),
        True,
    ),
    (
        "unevaluatedItems",
        d2020({"prefixItems": [STRING]}),
        d2020({"prefixItems": [STRING], "unevaluatedItems": False}),
        False,
    ),
    (
        "$anchor",
        d2020({"$defs": {"s": {"$anchor": "s", "type": "string"}}, "$ref": "#s"}),
        d2020({"type": "string"}),
        True,
    ),
    (
        "$anchor",
        d2020({"type": "string"}),
        d2020({"$defs": {"s": {"$anchor": "s", "maxLength": 2}}, "$ref": "#s"}),
        False,
    ),
    ("$id", d2020({"$defs": {"s": {"$id": "s.json", "type": "string"}}, "$ref": "s.json"}), STRING, True),
    (
        "$dynamicRef",
        d2020({"$dynamicAnchor": "n", "items": {"$dynamicRef": "#n"}}),
        d2020({"$dynamicAnchor": "n", "items": {"$dynamicRef": "#n"}}),
        True,
    ),
    ("$dynamicRef", d2020({}), d2020({"$dynamicAnchor": "n", "items": {"$dynamicRef": "#n"}}), False),
    (
        "$ref (draft 7 siblings ignored)",
        {"$schema": D7, "definitions": {"a": {}}, "$ref": "#/definitions/a", "maxLength": 2},
        {"$schema": D7, "maxLength": 2},
        False,
    ),
    ("content*", {"contentMediaType": "application/json", "contentEncoding": "base64"}, {}, True),
    ("content* (draft 7 assertion)", {"$schema": D7}, {"$schema": D7, "contentMediaType": "application/json"}, False),
    ("content* (2020-12 annotation)", d2020({}), d2020({"contentMediaType": "application/json"}), True),
    ("content*", {}, {"contentMediaType": "application/json", "contentSchema": OBJECT}, True),
    ("format (2020-12 annotation)", d2020({}), d2020({"format": "email"}), True),
    ("format (draft 7 assertion)", {"$schema": D7}, {"$schema": D7, "format": "email"}, False),
    ("format (draft 7 assertion)", {"$schema": D7, "format": "email"}, {"$schema": D7, "format": "email"}, True),
    ("unknown keyword", {}, {"x-vendor": {"type": "integer"}}, True),
    ("minProperties", {"minProperties": 2}, {"minProperties": 1}, True),
    ("maxProperties", {"maxProperties": 3}, {"maxProperties": 2}, False),
]


@pytest.mark.parametrize(
    ("old", "new", "compatible"),
    [
        pytest.param(old, new, ok, id=f"{keyword}-{index}")
        for index, (keyword, old, new, ok) in enumerate(KEYWORD_CASES)
    ],
)
def test_every_keyword_is_compared_by_the_inclusion_rule(old: Any, new: Any, compatible: bool) -> None:
    assert compatible is js.can_read(new, old)


def test_a_refusal_that_could_not_be_proven_says_so() -> None:
    problems = js.problems({"not": {"const": "x"}}, STRING)
    assert ["UNPROVABLE_KEYWORD"] == [p.kind for p in problems]
    assert "could not be proven" in problems[0].message


def test_references_to_other_documents_are_compared_through_the_contracts_registry() -> None:
    references = {"https://acme.example/s.json": {"type": "string", "maxLength": 5}}
    old = Contract.from_jsonschema(
        "t.v1", {"properties": {"a": {"$ref": "https://acme.example/s.json"}}}, references=references
    )
    new = Contract.from_jsonschema("t.v2", {"properties": {"a": {"type": "string"}}})
    assert True is js.can_read(new, old)
    assert False is js.can_read(old, new)
