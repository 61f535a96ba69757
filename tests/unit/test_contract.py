"""Contracts from each format into one normalized field view."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from syscontract import Contract, ContractDeclarationError, ContractRef, Field, FileRegistry

DATA = Path(__file__).parent.parent / "data"


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [("order.v3", "order", 3), ("com.acme.order.v3", "com.acme.order", 3), ("orders-value.v12", "orders-value", 12)],
)
def test_references_split_at_the_last_version_suffix(text: str, name: str, version: int) -> None:
    ref = ContractRef.parse(text)
    assert (name, version) == (ref.name, ref.version)
    assert text == str(ref)


def test_a_reference_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="must be a string"):
        ContractRef.parse(3)  # type: ignore[arg-type]


class TestAvro:
    @pytest.fixture
    def v3(self) -> Contract:
        return FileRegistry(DATA / "contracts").get("order.v3")

    def test_fields_cover_nested_records_and_array_elements(self, v3: Contract) -> None:
        assert {
            "orderId",
            "customer",
            "customer.id",
            "customer.customerTier",
            "items",
            "items[]",
            "items[].sku",
        } <= set(v3.fields)

    def test_a_field_with_a_reader_default_says_so(self, v3: Contract) -> None:
        expected = Field(
            path="customer.customerTier",
            type="CustomerTier (one of ['BASIC', 'SILVER', 'GOLD', 'VIP'])",
            nullable=False,
            required=False,
            has_default=True,
            default="BASIC",
            critical=True,
        )
        assert expected == v3.field("customer.customerTier")

    def test_a_nullable_union_is_nullable(self, v3: Contract) -> None:
        field = v3.field("couponCode")
        assert (True, "null | string", True, None) == (field.nullable, field.type, field.has_default, field.default)

    def test_the_writer_schema_without_the_field_does_not_have_it(self) -> None:
        v2 = FileRegistry(DATA / "contracts").get("order.v2")
        with pytest.raises(ContractDeclarationError, match="no 'customerTier' at 'customer'"):
            v2.field("customer.customerTier")

    def test_recursive_records_parse_and_their_view_terminates(self) -> None:
        schema = {
            "type": "record",
            "name": "Node",
            "fields": [
                {"name": "value", "type": "int"},
                {"name": "children", "type": {"type": "array", "items": "Node"}},
                {"name": "next", "type": ["null", "Node"], "default": None},
            ],
        }
        contract = Contract.from_avro("tree.v1", schema)
        assert {"value", "children", "children[]", "next"} == set(contract.fields)
        assert "integer" == contract.field("next.next.children[].value").type

    def test_logical_types_accept_their_python_values(self) -> None:
        import datetime

        schema = {
            "type": "record",
            "name": "T",
            "fields": [{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
        }
        node = Contract.from_avro("t.v1", schema).root.child("at")
        assert node is not None
        assert node.node.accepts(datetime.datetime.now(tz=datetime.timezone.utc))
        assert node.node.accepts(1_700_000_000_000)
        assert not node.node.accepts("yesterday")

    def test_an_invalid_avro_schema_is_a_declaration_error(self) -> None:
        with pytest.raises(ContractDeclarationError, match="invalid Avro schema"):
            Contract.from_avro("bad.v1", {"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]})

    def test_an_avro_schema_can_be_given_as_text(self) -> None:
        text = (DATA / "contracts" / "order" / "v2.avsc").read_text()
        assert "orderId" in Contract.from_avro("order.v2", text).fields


class TestJsonSchema:
    @pytest.fixture
    def shipment(self) -> Contract:
        return FileRegistry(DATA / "contracts").get("shipment.v1")

    def test_local_refs_into_defs_are_followed(self, shipment: Contract) -> None:
        assert "one of ['DHL', 'UPS']" == shipment.field("carrier.code").type
        assert shipment.field("parcels[].weight").required

    def test_recursive_refs_are_walked_on_demand(self, shipment: Contract) -> None:
        assert "number" == shipment.field("parcels[].contents[].contents[].weight").type

    def test_prefix_items_are_array_elements_and_later_items_are_unconstrained(self, shipment: Contract) -> None:
        assert "string | any" == shipment.field("route[]").type

    def test_const_and_any_of_are_part_of_the_type(self, shipment: Contract) -> None:
        assert "one of ['shipment']" == shipment.field("kind").type
        priority = shipment.field("priority")
        assert (True, True, None) == (priority.nullable, priority.has_default, priority.default)

    def test_tuple_items_in_draft_7(self) -> None:
        schema = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}},
        }
        contract = Contract.from_jsonschema("pair.v1", schema)
        # items past the tuple are unconstrained in draft 7 (no additionalItems)
        assert "string | integer | any" == contract.field("pair[]").type

    def test_all_of_merges_properties(self) -> None:
        schema = {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}}},
            ]
        }
        contract = Contract.from_jsonschema("merged.v1", schema)
        assert (True, False) == (contract.field("a").required, contract.field("b").required)

    def test_a_property_in_one_branch_of_any_of_exists_but_is_not_required(self) -> None:
        schema = {
            "anyOf": [
                {"type": "object", "properties": {"card": {"type": "string"}}, "required": ["card"]},
                {"type": "object", "properties": {"iban": {"type": "string"}}, "required": ["iban"]},
            ]
        }
        contract = Contract.from_jsonschema("payment.v1", schema)
        assert (False, False) == (contract.field("card").required, contract.field("iban").required)

    @pytest.mark.parametrize(
        ("schema", "message"),
        [
            ({"properties": {"a": {"$ref": "https://example.com/a.json"}}}, "never fetches a reference"),
            ({"properties": {"a": {"$ref": "other.json#/a"}}}, "cannot be resolved"),
            ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "not a valid JSON Schema"),
            ({"$schema": "http://example.com/my-dialect"}, "neither a JSON Schema draft"),
            ({"type": "text"}, "unknown type 'text'"),
            ({"minimum": "3"}, "not a valid JSON Schema"),
            ({"pattern": "["}, "not a valid JSON Schema"),
            ({"required": "a"}, "'required' must be an array"),
            ({"properties": []}, "'properties' must be an object"),
        ],
    )
    def test_an_invalid_schema_or_an_unreachable_reference_is_refused(self, schema: Any, message: str) -> None:
        with pytest.raises(ContractDeclarationError, match=message):
            Contract.from_jsonschema("bad.v1", schema)

    def test_unknown_keywords_are_annotations(self) -> None:
        schema = {"properties": {"a": {"items": {"not": {"x-vendor": 1}}}}, "x-kafka-topic": "orders"}
        assert "any" == Contract.from_jsonschema("ok.v1", schema).field("a").type

    @pytest.mark.parametrize(
        "schema",
        [
            {"type": "object", "unevaluatedProperties": False, "properties": {"a": {"type": "string"}}},
            {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
            {"properties": {"a": {"$id": "https://x/a", "type": "string"}}},
            {"$anchor": "top", "properties": {"a": {"$ref": "#top"}}},
            {"dependentSchemas": {"a": {"required": ["b"]}}, "properties": {"a": {}, "b": {}}},
            {"properties": {"a": {"contentMediaType": "application/json", "contentSchema": {"type": "object"}}}},
        ],
    )
    def test_every_keyword_form_loads(self, schema: Any) -> None:
        assert "jsonschema" == Contract.from_jsonschema("ok.v1", schema).format

    def test_a_dynamic_reference_is_never_assumed_to_give_a_required_field(self) -> None:
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$dynamicAnchor": "node",
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, "child": {"$dynamicRef": "#node"}},
        }
        contract = Contract.from_jsonschema("tree.v1", schema)
        assert (True, False) == (contract.field("id").required, contract.field("child.id").required)
        assert contract.field("child").type.endswith("| any")

    def test_presence_under_a_condition_is_never_required(self) -> None:
        schema = {
            "type": "object",
            "properties": {"kind": {"type": "string"}, "iban": {"type": "string"}},
            "if": {"properties": {"kind": {"const": "bank"}}},
            "then": {"required": ["iban"]},
            "dependentRequired": {"kind": ["iban"]},
        }
        assert False is Contract.from_jsonschema("pay.v1", schema).field("iban").required

    def test_validation_keywords_are_accepted(self) -> None:
        schema = {
            "type": "object",
            "properties": {
                "n": {"type": "number", "minimum": 0, "exclusiveMaximum": 10, "multipleOf": 0.5},
                "s": {"type": "string", "pattern": "^a", "minLength": 1, "format": "email"},
                "l": {"type": "array", "uniqueItems": True, "contains": {"const": 1}, "maxItems": 3},
                "o": {"propertyNames": {"maxLength": 3}, "dependentRequired": {"a": ["b"]}, "not": {"type": "null"}},
                "c": {"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"type": "integer"}},
            },
        }
        assert {"n", "s", "l", "l[]", "o", "c"} == set(Contract.from_jsonschema("ok.v1", schema).fields)

    def test_the_reference_order_schema_matches_its_avro_twin(self) -> None:
        schema = json.loads((DATA / "contracts" / "order" / "v4.schema.json").read_text())
        from_json = Contract.from_jsonschema("order.v4", schema)
        from_avro = FileRegistry(DATA / "contracts").get("order.v3")
        assert set(from_avro.fields) == set(from_json.fields)


class TestPydantic:
    def test_a_model_becomes_a_contract_with_wire_names_and_defaults(self) -> None:
        from pydantic import Field as PydanticField

        class Customer(BaseModel):
            id: str
            tier: Literal["BASIC", "VIP"] = PydanticField("BASIC", alias="customerTier")

        class Order(BaseModel):
            orderId: str
            customer: Customer
            tags: list[str] = []
            note: str | None = None

        contract = Contract.from_model("order.v3", Order)
        assert Order is contract.model
        tier = contract.field("customer.customerTier")
        assert (True, "BASIC", False) == (tier.has_default, tier.default, tier.required)
        assert contract.field("orderId").required
        assert contract.field("note").nullable
        assert "string" == contract.field("tags[]").type

    def test_something_that_is_not_a_model_is_refused(self) -> None:
        with pytest.raises(ContractDeclarationError, match="BaseModel subclass"):
            Contract.from_model("x.v1", dict)  # type: ignore[arg-type]

    def test_the_fingerprint_is_stable_and_changes_with_the_schema(self) -> None:
        class A(BaseModel):
            x: int

        class B(BaseModel):
            x: str

        assert Contract.from_model("a.v1", A).fingerprint == Contract.from_model("a.v1", A).fingerprint
        assert Contract.from_model("a.v1", A).fingerprint != Contract.from_model("a.v1", B).fingerprint
