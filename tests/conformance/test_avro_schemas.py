"""Conformance with Apache Avro's own schemas and test vectors.

The data is in ``tests/data/avsc/``, ``tests/data/avro_io_vectors.json`` and
``tests/data/avro_compat_pairs.json`` (origin and licence: ``tests/data/SOURCES.md``).

``accepts`` is the type check at the kind and enum level only: a record value passes when it is a
Mapping, and its fields are not looked at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syscontract import Contract, ContractDeclarationError

DATA = Path(__file__).parent.parent / "data"
AVSC = DATA / "avsc"
AVSC_FILES = sorted(AVSC.glob("*.avsc"))
IO_VECTORS = json.loads((DATA / "avro_io_vectors.json").read_text(encoding="utf-8"))
COMPAT_PAIRS = json.loads((DATA / "avro_compat_pairs.json").read_text(encoding="utf-8"))


def avsc(name: str) -> Contract:
    return Contract.from_avro("avro.v1", (AVSC / name).read_text(encoding="utf-8"))


def datum(value: Any) -> Any:
    """A vector datum as Python: ``{"$bytes_hex": ...}`` stands for bytes."""
    if isinstance(value, dict):
        if set(value) == {"$bytes_hex"}:
            return bytes.fromhex(value["$bytes_hex"])
        return {k: datum(v) for k, v in value.items()}
    if isinstance(value, list):
        return [datum(v) for v in value]
    return value


def plan_admits(plan: tuple[frozenset[type] | None, frozenset[str] | None], value: Any) -> bool:
    """Whether the checker's generated fast test would let ``value`` through with ``plan``."""
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


# -- every .avsc -----------------------------------------------------------------------------------


def test_avsc_files_are_present() -> None:
    assert 12 == len(AVSC_FILES)


@pytest.mark.parametrize("path", AVSC_FILES, ids=lambda p: p.name)
def test_avsc_parses(path: Path) -> None:
    contract = Contract.from_avro("avro.v1", path.read_text(encoding="utf-8"))

    assert "avro" == contract.format


@pytest.mark.parametrize("path", AVSC_FILES, ids=lambda p: p.name)
def test_avsc_field_view_agrees_with_field_lookup(path: Path) -> None:
    contract = Contract.from_avro("avro.v1", path.read_text(encoding="utf-8"))

    for field_path, field in contract.fields.items():
        assert field == contract.field(field_path)


@pytest.mark.parametrize("path", AVSC_FILES, ids=lambda p: p.name)
def test_avsc_unknown_field_is_refused(path: Path) -> None:
    contract = Contract.from_avro("avro.v1", path.read_text(encoding="utf-8"))

    with pytest.raises(ContractDeclarationError) as raised:
        contract.field("unknown")
    assert ("unknown-field", "unknown") == (raised.value.reason, raised.value.field)


# -- interop.avsc: the field view --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "type_"),
    [
        ("intField", "integer"),
        ("longField", "integer"),
        ("stringField", "string"),
        ("boolField", "boolean"),
        ("floatField", "number"),
        ("doubleField", "number"),
        ("bytesField", "bytes"),
        ("nullField", "null"),
        ("arrayField", "array<number>"),
        ("arrayField[]", "number"),
        ("mapField", "map<record Foo>"),
        ("unionField", "boolean | number | array<bytes>"),
        ("unionField[]", "bytes"),
        ("enumField", "Kind (one of ['A', 'B', 'C'])"),
        ("fixedField", "bytes"),
        ("recordField", "record Node"),
        ("recordField.label", "string"),
        ("recordField.children", "array<record Node>"),
        ("recordField.children[]", "record Node"),
    ],
)
def test_interop_field_type(path: str, type_: str) -> None:
    assert type_ == avsc("interop.avsc").field(path).type


def test_interop_lists_its_top_level_fields_in_file_order() -> None:
    top = [path for path in avsc("interop.avsc").fields if "." not in path and "[" not in path]

    assert [
        "intField", "longField", "stringField", "boolField", "floatField", "doubleField", "bytesField",
        "nullField", "arrayField", "mapField", "unionField", "enumField", "fixedField", "recordField",
    ] == top  # fmt: skip


def test_interop_fields_without_default_are_required() -> None:
    field = avsc("interop.avsc").field("intField")

    assert (True, False, None) == (field.required, field.has_default, field.default)


def test_interop_null_field_is_nullable() -> None:
    assert avsc("interop.avsc").field("nullField").nullable is True


def test_interop_int_field_is_not_nullable() -> None:
    assert avsc("interop.avsc").field("intField").nullable is False


def test_interop_enum_accepts_its_symbols_only() -> None:
    node = avsc("interop.avsc").root.child("enumField")
    assert node is not None

    assert [True, True, True, False, False] == [node.node.accepts(v) for v in ("A", "B", "C", "D", "a")]


def test_interop_no_field_is_critical_by_default() -> None:
    assert [] == [path for path, field in avsc("interop.avsc").fields.items() if field.critical]


# -- other files: defaults, nullability, names, docs -------------------------------------------------


def test_nullable_union_field_with_null_default() -> None:
    field = avsc("FooBarSpecificRecord.avsc").field("typeEnum")

    assert (True, False, True, None) == (field.nullable, field.required, field.has_default, field.default)


def test_nullable_union_field_without_default_is_required() -> None:
    field = avsc("HandshakeRequest.avsc").field("clientProtocol")

    assert (True, True, False) == (field.nullable, field.required, field.has_default)


def test_named_fixed_reused_by_name_is_bytes() -> None:
    contract = avsc("HandshakeRequest.avsc")

    assert ("bytes", "bytes") == (contract.field("clientHash").type, contract.field("serverHash").type)


def test_logical_type_is_shown_in_field_type() -> None:
    field = avsc("fooBar.avsc").field("created_at")

    assert ("null | integer (timestamp-millis)", True) == (field.type, field.nullable)


def test_record_doc_becomes_contract_doc() -> None:
    assert "A weather reading." == avsc("weather.avsc").doc


def test_weather_fields() -> None:
    contract = avsc("weather.avsc")

    assert {"station": "string", "time": "integer", "temp": "integer"} == {
        path: field.type for path, field in contract.fields.items()
    }


def test_enum_schema_root_has_no_fields() -> None:
    contract = avsc("reserved.avsc")

    assert {} == dict(contract.fields)


def test_enum_schema_root_accepts_reserved_word_symbols() -> None:
    root = avsc("reserved.avsc").root

    assert [True, True, True, False] == [root.accepts(v) for v in ("default", "class", "int", "long")]


def test_nested_record_under_nullable_union_is_walked() -> None:
    contract = avsc("RecordWithRequiredFields.avsc")

    assert "map<record MapRecord>" == contract.field("unionField.arrayField[].mapField").type


# -- recursive schemas ----------------------------------------------------------------------------------


def test_recursive_array_of_self_lists_each_level_once() -> None:
    # Json.avsc: value is a union that holds arrays and maps of Json
    assert ["value", "value[]"] == list(avsc("Json.avsc").fields)


def test_recursive_record_field_view_terminates() -> None:
    paths = list(avsc("interop.avsc").fields)

    assert ["recordField.label", "recordField.children", "recordField.children[]"] == [
        p for p in paths if p.startswith("recordField.")
    ]


def test_recursive_record_resolves_paths_deeper_than_the_field_view() -> None:
    field = avsc("interop.avsc").field("recordField.children[].children[].label")

    assert ("string", True) == (field.type, field.required)


LISP = {
    "type": "record",
    "name": "Lisp",
    "fields": [
        {
            "name": "value",
            "type": [
                "null",
                "string",
                {
                    "type": "record",
                    "name": "Cons",
                    "fields": [{"name": "car", "type": "Lisp"}, {"name": "cdr", "type": "Lisp"}],
                },
            ],
        }
    ],
}  # from avro_io_vectors.json: mutual recursion through a union


def test_mutually_recursive_records_field_view_terminates() -> None:
    contract = Contract.from_avro("lisp.v1", LISP)

    assert ["value", "value.car", "value.cdr"] == list(contract.fields)


def test_mutually_recursive_records_resolve_deep_paths() -> None:
    contract = Contract.from_avro("lisp.v1", LISP)

    assert "null | string | record Cons" == contract.field("value.car.value.cdr.value").type


# -- avro_io_vectors.json -----------------------------------------------------------------------------------

VALIDATE_CASES = [
    pytest.param(case["schema"], datum(case["datum"]), id=f"{index:02d} {json.dumps(case['schema'])[:60]}")
    for index, case in enumerate(IO_VECTORS["validate_valid"]["cases"])
    if case["valid"]
]


def test_io_vectors_have_validate_cases() -> None:
    assert 23 == len(VALIDATE_CASES)


@pytest.mark.parametrize(("schema", "value"), VALIDATE_CASES)
def test_io_vector_schema_parses(schema: Any, value: Any) -> None:
    assert "avro" == Contract.from_avro("io.v1", schema).format


@pytest.mark.parametrize(("schema", "value"), VALIDATE_CASES)
def test_io_vector_valid_datum_is_accepted(schema: Any, value: Any) -> None:
    assert Contract.from_avro("io.v1", schema).root.accepts(value) is True


@pytest.mark.parametrize(("schema", "value"), VALIDATE_CASES)
def test_io_vector_fast_plan_never_accepts_what_accepts_refuses(schema: Any, value: Any) -> None:
    root = Contract.from_avro("io.v1", schema).root
    plan = root.fast_plan()

    if plan is not None and plan_admits(plan, value):
        assert root.accepts(value) is True


DEFAULT_CASES = [
    pytest.param(case["field_type"], case["default"], id=f"{index:02d} {json.dumps(case['field_type'])[:50]}")
    for index, case in enumerate(IO_VECTORS["default_values"]["cases"])
]


def reader_with_default(field_type: Any, default: Any) -> Contract:
    """The vectors' reader schema: record Test with one field H of ``field_type`` defaulting to ``default``."""
    schema = {"type": "record", "name": "Test", "fields": [{"name": "H", "type": field_type, "default": default}]}
    return Contract.from_avro("defaults.v1", schema)


@pytest.mark.parametrize(("field_type", "default"), DEFAULT_CASES)
def test_default_value_is_exposed(field_type: Any, default: Any) -> None:
    field = reader_with_default(field_type, default).field("H")

    assert (True, False, default) == (field.has_default, field.required, field.default)


@pytest.mark.parametrize(("field_type", "default"), DEFAULT_CASES)
def test_default_value_has_the_field_type(field_type: Any, default: Any) -> None:
    prop = reader_with_default(field_type, default).root.child("H")
    assert prop is not None

    assert prop.node.accepts(default) is True


# -- avro_compat_pairs.json: every reader and writer schema -------------------------------------------


def _compat_schemas() -> list[Any]:
    seen: dict[str, Any] = {}
    for pair in COMPAT_PAIRS:
        for side in ("reader", "writer"):
            key = json.dumps(pair[side], sort_keys=True)
            if key not in seen:
                seen[key] = pytest.param(pair[side], pair["strict_avro_valid"], id=f"{pair['id']} {side}")
    return list(seen.values())


COMPAT_SCHEMAS = _compat_schemas()


@pytest.mark.parametrize(("schema", "strict_valid"), [p for p in COMPAT_SCHEMAS if p.values[1]])
def test_compat_pair_schema_parses_and_lists_fields(schema: Any, strict_valid: bool) -> None:
    contract = Contract.from_avro("compat.v1", schema)

    assert all(path == field.path for path, field in contract.fields.items())


def test_anonymous_record_is_refused() -> None:
    # the README's reason for strict_avro_valid: false (no pair in this copy of the data has it)
    schema = {"type": "record", "fields": [{"name": "a", "type": "int"}]}

    with pytest.raises(ContractDeclarationError, match="name"):
        Contract.from_avro("anon.v1", schema)


def test_anonymous_record_nested_in_a_field_is_refused() -> None:
    schema = {
        "type": "record",
        "name": "Outer",
        "fields": [{"name": "inner", "type": {"type": "record", "fields": [{"name": "a", "type": "int"}]}}],
    }

    with pytest.raises(ContractDeclarationError, match="name"):
        Contract.from_avro("anon.v1", schema)
