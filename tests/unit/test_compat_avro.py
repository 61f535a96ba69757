"""Avro resolution beyond the upstream pairs: recursion, aliases, inputs, nested paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syscontract import Contract, ContractDeclarationError
from syscontract.compat import avro, can_read


def linked_list(value: str, *, name: str = "Node", extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": "com.acme",
        "fields": [
            {"name": "value", "type": value},
            {"name": "next", "type": ["null", name]},
            *(extra or []),
        ],
    }


def test_recursive_record_reads_itself() -> None:
    assert avro.can_read(linked_list("long"), linked_list("long"))


def test_recursive_record_with_promoted_field_is_readable() -> None:
    assert avro.can_read(linked_list("long"), linked_list("int"))


def test_recursive_record_with_narrowed_field_is_found_at_the_top() -> None:
    kinds_and_paths = [(p.kind, p.path) for p in avro.problems(linked_list("int"), linked_list("long"))]

    assert [("TYPE_MISMATCH", "/fields/value")] == kinds_and_paths


def test_recursive_record_missing_default_is_found() -> None:
    reader = linked_list("int", extra=[{"name": "label", "type": "string"}])

    assert ["READER_FIELD_MISSING_DEFAULT_VALUE"] == [p.kind for p in avro.problems(reader, linked_list("int"))]


def test_mutually_recursive_records_terminate() -> None:
    def tree(leaf: str) -> dict[str, Any]:
        return {
            "type": "record",
            "name": "Tree",
            "fields": [
                {
                    "name": "children",
                    "type": {
                        "type": "array",
                        "items": {
                            "type": "record",
                            "name": "Branch",
                            "fields": [{"name": "leaf", "type": leaf}, {"name": "sub", "type": "Tree"}],
                        },
                    },
                }
            ],
        }

    assert avro.can_read(tree("double"), tree("float"))
    (problem,) = avro.problems(tree("float"), tree("double"))
    assert ("/fields/children/items/fields/leaf", "children[].leaf") == (problem.path, problem.field)


def test_reader_record_alias_matches_the_writers_full_name() -> None:
    reader = {"type": "record", "name": "New", "namespace": "a", "aliases": ["Old"], "fields": []}
    writer = {"type": "record", "name": "Old", "namespace": "a", "fields": []}

    assert avro.can_read(reader, writer)
    assert not avro.can_read(writer, reader)  # aliases belong to the reader only


def test_unqualified_names_match_across_namespaces() -> None:
    reader = {"type": "enum", "name": "Tier", "namespace": "x", "symbols": ["A"]}
    writer = {"type": "enum", "name": "Tier", "namespace": "y", "symbols": ["A"]}

    assert avro.can_read(reader, writer)


def test_reader_field_alias_finds_the_writer_field() -> None:
    reader = {"type": "record", "name": "R", "fields": [{"name": "tier", "aliases": ["level"], "type": "string"}]}
    writer = {"type": "record", "name": "R", "fields": [{"name": "level", "type": "bytes"}]}

    assert avro.can_read(reader, writer)


def test_enum_with_reader_default_reads_unknown_symbols() -> None:
    reader = {"type": "enum", "name": "E", "symbols": ["A"], "default": "A"}
    writer = {"type": "enum", "name": "E", "symbols": ["A", "B"]}

    assert avro.can_read(reader, writer)


def test_nested_enum_problem_names_the_missing_symbols() -> None:
    def order(symbols: list[str]) -> dict[str, Any]:
        tier = {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": symbols}}
        customer = {"type": "record", "name": "Customer", "fields": [tier]}
        return {"type": "record", "name": "Order", "fields": [{"name": "customer", "type": customer}]}

    (problem,) = avro.problems(order(["BASIC"]), order(["BASIC", "VIP"]))

    assert "MISSING_ENUM_SYMBOLS" == problem.kind
    assert "/fields/customer/fields/tier/symbols" == problem.path
    assert "customer.tier" == problem.field
    assert "VIP" in problem.message


def test_writer_union_into_reader_union_needs_every_branch() -> None:
    assert avro.can_read(["null", "long", "string"], ["string", "int"])
    assert ["MISSING_UNION_BRANCH"] == [p.kind for p in avro.problems(["null", "long"], ["null", "string"])]


def test_map_values_are_compared() -> None:
    (problem,) = avro.problems({"type": "map", "values": "int"}, {"type": "map", "values": "string"})

    assert ("TYPE_MISMATCH", "/values") == (problem.kind, problem.path)


def test_logical_types_resolve_on_their_underlying_type() -> None:
    assert avro.can_read({"type": "long", "logicalType": "timestamp-millis"}, {"type": "int", "logicalType": "date"})


def test_accepts_contracts_json_text_and_parsed_schemas(contracts_dir: Any) -> None:
    v2_text = (contracts_dir / "order" / "v2.avsc").read_text(encoding="utf-8")
    v3 = Contract.from_avro("order.v3", (contracts_dir / "order" / "v3.avsc").read_text(encoding="utf-8"))

    assert avro.can_read(v3, v2_text)
    assert avro.can_read(json.loads(v2_text), v3)
    assert can_read('"long"', "int")


def test_invalid_schema_is_a_declaration_error() -> None:
    with pytest.raises(ContractDeclarationError, match="not a valid Avro schema"):
        avro.can_read("NoSuchType", "int")


def test_json_schema_contract_is_refused_as_avro(contracts_dir: Any) -> None:
    v4 = Contract.from_jsonschema("order.v4", (contracts_dir / "order" / "v4.schema.json").read_text(encoding="utf-8"))

    with pytest.raises(ContractDeclarationError, match="not Avro"):
        avro.can_read(v4, "int")
