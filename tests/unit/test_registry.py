"""FileRegistry over the layout on disk, and MemoryRegistry."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from syscontract import Contract, ContractRef, FileRegistry, MemoryRegistry, RegistryError
from syscontract.validation import compile_validator

SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}}}


@pytest.fixture
def tree(tmp_path: Path, contracts_dir: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(contracts_dir, root)
    return root


def test_contracts_load_lazily_and_once(tree: Path) -> None:
    registry = FileRegistry(tree)
    assert {} == registry._contracts
    first = registry.get("order.v3")
    assert first is registry.get(ContractRef("order", 3))
    assert [ContractRef("order", 3)] == list(registry._contracts)


def test_versions_and_names_list_what_is_on_disk(tree: Path) -> None:
    registry = FileRegistry(tree)
    assert [2, 3, 4] == registry.versions("order")
    assert ["order", "shipment"] == registry.names()
    assert [] == registry.versions("missing")


def test_formats_follow_the_file_extension(tree: Path) -> None:
    registry = FileRegistry(tree)
    assert ("avro", "jsonschema") == (registry.get("order.v3").format, registry.get("order.v4").format)
    assert str(tree / "order" / "v3.avsc") == registry.get("order.v3").source


def test_contract_toml_sets_compatibility_owner_doc_and_critical(tree: Path) -> None:
    contract = FileRegistry(tree).get("order.v3")
    assert ("BACKWARD", "checkout", "An order placed in the shop.") == (
        contract.compatibility,
        contract.owner,
        contract.doc,
    )
    assert ("customer.customerTier",) == contract.critical
    assert contract.field("customer.customerTier").critical


def test_a_critical_field_applies_from_the_version_that_introduced_it(tree: Path) -> None:
    assert () == FileRegistry(tree).get("order.v2").critical


def test_a_critical_field_no_version_has_is_refused(tree: Path) -> None:
    (tree / "order" / "contract.toml").write_text('critical = ["customer.vipSince"]\n')
    with pytest.raises(RegistryError, match="no version of 'order' has it"):
        FileRegistry(tree).get("order.v3")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"\n', "unknown key 'colour'"),
        ('compatibility = "SOMETIMES"\n', "compatibility 'SOMETIMES' is not one of"),
        ('critical = "customerTier"\n', "'critical' must be a list"),
        ('critical = ["items[0]"]\n', "bad field path"),
        ("owner = 3\n", "'owner' must be a string"),
        ("critical = [\n", "not valid TOML"),
    ],
)
def test_a_bad_contract_toml_is_one_clear_error(tree: Path, toml: str, message: str) -> None:
    (tree / "order" / "contract.toml").write_text(toml)
    with pytest.raises(RegistryError, match=message.replace("[", r"\[").replace("(", r"\(")):
        FileRegistry(tree).get("order.v3")


def test_an_unknown_version_lists_the_known_ones(tree: Path) -> None:
    with pytest.raises(RegistryError, match="known versions: v2, v3, v4") as caught:
        FileRegistry(tree).get("order.v9")
    assert ("order.v9", "unknown-contract") == (caught.value.contract, caught.value.reason)


def test_an_unknown_contract_says_so(tree: Path) -> None:
    with pytest.raises(RegistryError, match="no contract named 'invoice'"):
        FileRegistry(tree).get("invoice.v1")


def test_a_missing_directory_says_how_to_configure_one(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="SYSCONTRACT_CONTRACTS"):
        FileRegistry(tmp_path / "nowhere").get("order.v1")


def test_an_invalid_schema_file_names_the_file(tree: Path) -> None:
    (tree / "order" / "v5.avsc").write_text('{"type": "record", "name": "X", "fields": [{"name": "a"}]}')
    with pytest.raises(RegistryError, match=r"v5\.avsc"):
        FileRegistry(tree).get("order.v5")


def test_an_unknown_json_schema_keyword_is_an_annotation(tree: Path) -> None:
    (tree / "order" / "v5.schema.json").write_text(json.dumps({"type": "object", "x-kafka-topic": "orders"}))
    assert "jsonschema" == FileRegistry(tree).get("order.v5").format


def test_a_json_schema_may_ref_another_file_of_the_registry(tree: Path) -> None:
    (tree / "common").mkdir()
    (tree / "common" / "uuid.v1.schema.json").write_text(json.dumps({"definitions": {"UUID": {"type": "string"}}}))
    schema = {"type": "object", "properties": {"id": {"$ref": "../common/uuid.v1.schema.json#/definitions/UUID"}}}
    (tree / "order" / "v5.schema.json").write_text(json.dumps(schema))
    contract = FileRegistry(tree).get("order.v5")
    assert "string" == contract.field("id").type
    validator = compile_validator(contract)
    assert [True, False] == [validator.is_valid({"id": "a"}), validator.is_valid({"id": 1})]


def test_a_file_uri_naming_a_sibling_file_is_read_from_the_registry(tree: Path) -> None:
    (tree / "order" / "other.v1.schema.json").write_text(json.dumps({"definitions": {"UUID": {"type": "string"}}}))
    schema = {"properties": {"id": {"$ref": "file://other.v1.schema.json#/definitions/UUID"}}}
    (tree / "order" / "v5.schema.json").write_text(json.dumps(schema))
    assert False is compile_validator(FileRegistry(tree).get("order.v5")).is_valid({"id": 1})


def test_a_json_schema_may_ref_the_id_of_another_contract(tree: Path) -> None:
    (tree / "customer").mkdir()
    customer = {"$id": "https://acme.example/customer.json", "type": "object", "required": ["id"]}
    (tree / "customer" / "v1.schema.json").write_text(json.dumps(customer))
    schema = {"type": "object", "properties": {"customer": {"$ref": "https://acme.example/customer.json"}}}
    (tree / "order" / "v5.schema.json").write_text(json.dumps(schema))
    contract = FileRegistry(tree).get("order.v5")
    assert True is contract.field("customer.id").required
    assert False is compile_validator(contract).is_valid({"customer": {}})


@pytest.mark.parametrize("target", ["../../outside.json", "/etc/passwd", "https://example.com/x.json"])
def test_a_ref_that_leaves_the_registry_is_refused(tree: Path, target: str) -> None:
    (tree.parent / "outside.json").write_text(json.dumps({"type": "string"}))
    (tree / "order" / "v5.schema.json").write_text(json.dumps({"properties": {"a": {"$ref": target}}}))
    with pytest.raises(RegistryError, match=r"outside the registry root|never fetches"):
        FileRegistry(tree).get("order.v5")


def test_contract_toml_format_assert_makes_format_an_assertion(tree: Path) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "format": "date"}
    (tree / "order" / "v5.schema.json").write_text(json.dumps(schema))
    assert True is compile_validator(FileRegistry(tree).get("order.v5")).is_valid("yesterday")
    toml = tree / "order" / "contract.toml"
    toml.write_text('format = "assert"\n' + (toml.read_text() if toml.exists() else ""))
    assert False is compile_validator(FileRegistry(tree).get("order.v5")).is_valid("yesterday")


def test_two_files_for_one_version_are_refused(tree: Path) -> None:
    (tree / "order" / "v3.schema.json").write_text(json.dumps(SCHEMA))
    with pytest.raises(RegistryError, match="two files define version 3"):
        FileRegistry(tree).get("order.v3")


def test_a_version_file_with_an_unknown_extension_is_refused(tree: Path) -> None:
    (tree / "order" / "v5.json").write_text(json.dumps(SCHEMA))
    with pytest.raises(RegistryError, match=r"must end in \.avsc"):
        FileRegistry(tree).get("order.v3")


def test_other_files_in_a_contract_directory_are_ignored(tree: Path) -> None:
    (tree / "order" / "README.md").write_text("notes")
    assert [2, 3, 4] == FileRegistry(tree).versions("order")


def test_an_oversized_file_is_refused_unread(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract.registry import files

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(RegistryError, match="more than the 100"):
        FileRegistry(tree).get("order.v3")


@pytest.mark.parametrize("name", ["..", "../contracts/order", "/etc/passwd", "a/b", ".hidden", "a\\b"])
def test_a_name_that_leaves_the_registry_is_refused(tree: Path, name: str) -> None:
    with pytest.raises(RegistryError) as caught:
        FileRegistry(tree).get(ContractRef(name, 1))
    assert "outside-registry" == caught.value.reason


def test_the_path_traversal_reference_from_the_issue_is_refused(tree: Path) -> None:
    with pytest.raises(RegistryError, match="refused"):
        FileRegistry(tree).get("../../etc/passwd.v1")


def test_a_symlinked_directory_leading_out_is_refused(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "v1.schema.json").write_text(json.dumps(SCHEMA))
    os.symlink(outside, tree / "escape")
    with pytest.raises(RegistryError, match="outside the registry"):
        FileRegistry(tree).get("escape.v1")
    assert "escape" not in FileRegistry(tree).names()


def test_a_symlinked_file_leading_out_is_refused(tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.schema.json"
    secret.write_text(json.dumps(SCHEMA))
    os.symlink(secret, tree / "shipment" / "v2.schema.json")
    with pytest.raises(RegistryError, match="outside the registry"):
        FileRegistry(tree).get("shipment.v2")


def test_a_symlink_inside_the_registry_is_fine(tree: Path) -> None:
    os.symlink(tree / "order", tree / "orders")
    assert [2, 3, 4] == FileRegistry(tree).versions("orders")


def test_memory_registry_serves_what_it_holds() -> None:
    contract = Contract.from_jsonschema("thing.v2", SCHEMA)
    registry = MemoryRegistry([contract])
    assert contract is registry.get("thing.v2")
    assert ([2], ["thing"]) == (registry.versions("thing"), registry.names())
    with pytest.raises(RegistryError, match="known versions: v2"):
        registry.get("thing.v1")


def test_memory_registry_refuses_a_different_contract_under_a_taken_reference() -> None:
    registry = MemoryRegistry([Contract.from_jsonschema("thing.v1", SCHEMA)])
    registry.add(Contract.from_jsonschema("thing.v1", SCHEMA))  # the same schema again is fine
    other = Contract.from_jsonschema("thing.v1", {"type": "object"})
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(other)
    assert other is registry.add(other, replace=True)


def test_contracts_registered_in_code_are_found_whatever_registry_is_configured(tree: Path) -> None:
    from pydantic import BaseModel

    import syscontract

    @syscontract.contract("invoice.v1")
    class Invoice(BaseModel):
        total: float

    syscontract.configure(registry=tree)
    assert Invoice is syscontract.check("invoice.v1", Invoice(total=1.0), ["total"]).__class__


def test_a_top_level_key_written_after_a_table_says_why_it_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "order"
    directory.mkdir()
    (directory / "v1.avsc").write_text(
        json.dumps({"type": "record", "name": "Order", "fields": [{"name": "orderId", "type": "string"}]})
    )
    (directory / "contract.toml").write_text('[ids]\nv1 = 7\ncritical = ["orderId"]\n')
    with pytest.raises(RegistryError, match=r"move 'critical' above the \[ids\] line"):
        FileRegistry(tmp_path).get("order.v1")
