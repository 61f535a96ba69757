"""What a new user meets first (issue 23, item 4): each of these was a rough edge on a fresh clone."""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from pathlib import Path

import pytest

from syscontract import Contract, ContractDeclarationError, FileRegistry, RegistryError
from syscontract.cli import main, parser

ROOT = Path(__file__).parents[2]

TIER_ENUM = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "VIP"]}
PAIR = {  # draft 7's tuple form of `items`: an array of schemas, and additionalItems
    "type": "object",
    "required": ["pair"],
    "properties": {
        "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    },
}


def order(*fields: dict[str, object]) -> dict[str, object]:
    return {"type": "record", "name": "Order", "fields": [{"name": "orderId", "type": "string"}, *fields]}


# -- syscontract check MODULE: the module sees its own argv ------------------------------------------


def test_check_imports_a_module_with_sys_argv_set_to_that_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "contracts" / "order").mkdir(parents=True)
    (tmp_path / "contracts" / "order" / "v1.avsc").write_text(json.dumps(order()))
    (tmp_path / "consumer.py").write_text(
        "import argparse, json, sys\n"
        "with open('argv.json', 'w') as out:\n"
        "    json.dump(sys.argv, out)\n"
        "argparse.ArgumentParser().parse_args()  # a consumer that reads its command line at import\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["syscontract", "check", "consumer.py", "--contracts", "contracts"])
    # check judges every declaration alive in this process, and the inventory holds them weakly: an earlier
    # test's handler caught in a reference cycle (a Kafka Deserializer's) lives until the collector runs
    gc.collect()

    assert 0 == main(["check", "consumer.py", "--contracts", "contracts"]), capsys.readouterr()
    assert ["consumer.py"] == json.loads((tmp_path / "argv.json").read_text())
    assert ["syscontract", "check", "consumer.py", "--contracts", "contracts"] == sys.argv  # given back


def test_a_module_that_exits_while_imported_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "consumer.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["syscontract"])
    assert 2 == main(["check", "consumer.py", "--contracts", "contracts"])  # it could not be examined
    assert "cannot import consumer.py: it exited while imported (SystemExit: 3)" in capsys.readouterr().err
    assert ["syscontract"] == sys.argv


# -- docs/cli.md documents every command -------------------------------------------------------------


def commands() -> list[str]:
    (action,) = [a for a in parser()._subparsers._group_actions]  # type: ignore[union-attr]
    return list(action.choices)


def test_docs_cli_documents_every_command_of_help() -> None:
    page = (ROOT / "docs" / "cli.md").read_text()
    sections = re.findall(r"^## syscontract ([a-z-]+)$", page, flags=re.MULTILINE)
    rows = re.findall(r"^\| \[`([a-z-]+)`\]\(#syscontract-\1\) \|", page, flags=re.MULTILINE)
    assert {"init", "demo", "lint"} <= set(commands())
    assert sorted(commands()) == sorted(sections)
    assert commands() == rows  # the table lists them in --help's order


# -- Avro errors name the field ----------------------------------------------------------------------


def test_an_enum_default_outside_its_symbols_names_the_field() -> None:
    schema = order({"name": "customerTier", "type": {**TIER_ENUM, "default": "GOLD"}, "default": "BASIC"})
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_avro("order.v1", schema)
    assert ("customerTier", "bad-schema") == (caught.value.field, caught.value.reason)
    assert "field 'customerTier': enum 'Tier' has default 'GOLD', which is not one of its symbols (BASIC, VIP)" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"name": "note", "type": "strng"}, "note"),
        ({"name": "customer", "type": {"type": "record", "name": "C", "fields": [
            {"name": "id", "type": "strng"}]}}, "customer.id"),
        ({"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "L", "fields": [
            {"name": "sku", "type": ["null", "strng"]}]}}}, "items[].sku"),
        ({"name": "tags", "type": {"type": "map", "values": "strng"}}, "tags"),
    ],
)  # fmt: skip
def test_an_unknown_type_names_the_field(field: dict[str, object], expected: str) -> None:
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_avro("order.v1", order(field))
    assert expected == caught.value.field
    assert f"field {expected!r}: unknown type 'strng'" in str(caught.value)


def test_named_types_defined_earlier_are_not_unknown() -> None:
    customer = {"type": "record", "name": "Customer", "namespace": "shop", "fields": [{"name": "id", "type": "string"}]}
    schema = order({"name": "buyer", "type": customer}, {"name": "payer", "type": "shop.Customer"})
    assert {"buyer.id", "payer.id"} <= set(Contract.from_avro("order.v1", schema).fields)


def test_check_reports_the_enum_default_with_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "contracts" / "order").mkdir(parents=True)
    schema = order({"name": "customerTier", "type": {**TIER_ENUM, "default": "GOLD"}})
    (tmp_path / "contracts" / "order" / "v1.avsc").write_text(json.dumps(schema))
    monkeypatch.chdir(tmp_path)
    assert 1 == main(["check", "--contracts", "contracts"])
    assert "field 'customerTier': enum 'Tier' has default 'GOLD'" in " ".join(capsys.readouterr().out.split())


# -- the contracts directory error shows where it looked ---------------------------------------------


def test_a_missing_contracts_directory_names_its_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RegistryError) as caught:
        FileRegistry("contracts").get("order.v1")
    assert "no-registry" == caught.value.reason
    assert f"contracts directory 'contracts' ({tmp_path / 'contracts'}) does not exist" in str(caught.value)
    absolute = str(tmp_path / "elsewhere")
    with pytest.raises(RegistryError) as caught:
        FileRegistry(absolute).names()
    assert f"contracts directory {absolute!r} does not exist" in str(caught.value)  # said once
    assert os.path.isabs(absolute)


# -- JSON Schemas without $schema: a documented, settable default draft --------------------------------


def test_without_schema_a_json_schema_is_read_as_2020_12_by_default() -> None:
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_jsonschema("pair.v1", PAIR)  # 2020-12's items is one schema, not an array
    assert "bad-schema" == caught.value.reason
    assert (
        "Draft202012Validator"
        == type(Contract.from_jsonschema("pair.v1", {"type": "object"}).native.validator).__name__
    )


def test_default_draft_reads_draft_7_tuples() -> None:
    contract = Contract.from_jsonschema("pair.v1", PAIR, default_draft="draft7")
    assert "draft7" == contract.native.draft
    assert contract.native.validator.is_valid({"pair": ["a", 1]})
    assert not contract.native.validator.is_valid({"pair": ["a", 1, 2]})  # additionalItems: false
    assert not contract.native.validator.is_valid({"pair": [1, "a"]})


def test_the_documents_own_schema_wins_over_the_default() -> None:
    declared = {"$schema": "https://json-schema.org/draft/2020-12/schema", **PAIR}
    with pytest.raises(ContractDeclarationError):
        Contract.from_jsonschema("pair.v1", declared, default_draft="draft7")
    uri = "http://json-schema.org/draft-07/schema#"
    assert "draft7" == Contract.from_jsonschema("pair.v1", PAIR, default_draft=uri).native.draft


def test_an_unknown_default_draft_is_refused() -> None:
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_jsonschema("pair.v1", PAIR, default_draft="draft8")
    assert ("bad-option", "pair.v1") == (caught.value.reason, caught.value.contract)
    with pytest.raises(ContractDeclarationError):
        FileRegistry("contracts", default_draft="7")


def test_default_draft_per_contract_and_per_registry(tmp_path: Path) -> None:
    for name in ("pair", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "v1.schema.json").write_text(json.dumps(PAIR))
    (tmp_path / "pair" / "contract.toml").write_text('default_draft = "draft7"\n')

    files = FileRegistry(tmp_path)
    assert "draft7" == files.get("pair.v1").native.draft
    with pytest.raises(RegistryError) as caught:
        files.get("other.v1")
    assert "bad-schema" == caught.value.reason
    assert "draft7" == FileRegistry(tmp_path, default_draft="draft7").get("other.v1").native.draft
    (tmp_path / "other" / "contract.toml").write_text('default_draft = "draft2020-12"\n')  # the contract's wins
    with pytest.raises(RegistryError):
        FileRegistry(tmp_path, default_draft="draft7").get("other.v1")


def test_a_bad_default_draft_in_contract_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pair").mkdir()
    (tmp_path / "pair" / "v1.schema.json").write_text(json.dumps(PAIR))
    (tmp_path / "pair" / "contract.toml").write_text("default_draft = 7\n")
    with pytest.raises(RegistryError) as caught:
        FileRegistry(tmp_path).get("pair.v1")
    assert "bad-file" == caught.value.reason
    assert "contract.toml" in str(caught.value) and "default_draft" in str(caught.value)


def test_a_confluent_registrys_schemas_default_to_draft_7(tmp_path: Path) -> None:
    pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from srserver import serving

    from syscontract.registry.confluent import ConfluentRegistry

    with serving() as server:
        client = SchemaRegistryClient({"url": server.url, "max.retries": 0, "timeout": 10})
        try:
            schema_id = client.register_schema("pairs-value", Schema(json.dumps(PAIR), "JSON"))
            writer = ConfluentRegistry(client).by_id(schema_id)
            assert ("draft7", "pairs-value.v1") == (writer.native.draft, str(writer.ref))
            with pytest.raises(RegistryError) as caught:
                ConfluentRegistry(client, default_draft="draft2020-12").by_id(schema_id)
            assert "bad-schema" == caught.value.reason
        finally:
            client.close()


# -- the README installs what exists ------------------------------------------------------------------


def test_the_readmes_first_command_installs_from_a_clone_and_says_why() -> None:
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```shell\n(.*)\n", readme)
    assert first is not None
    command, _, comment = first.group(1).partition("#")
    assert command.split()[:2] == ["pip", "install"] and command.split()[2:] != ["syscontract"]
    assert "not on PyPI" in comment


def test_the_quick_starts_catch_the_base_class() -> None:
    for page in (ROOT / "README.md", ROOT / "docs" / "quickstart.md"):
        first_python = re.search(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
        assert first_python is not None
        assert "except ContractViolation as error:" in first_python.group(1), page
        assert "except MissingCriticalField" not in first_python.group(1), page
