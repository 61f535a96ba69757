"""Manifests: written, read back, and refused with one clear line when malformed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from syscontract import ContractDeclarationError, FileRegistry
from syscontract.contract import ContractRef
from syscontract.manifest import FORMAT, Entry, Manifest, ManifestError, load, load_all, parse

DATA = Path(__file__).parent.parent / "data" / "contracts"


@pytest.fixture
def manifest() -> Manifest:
    registry = FileRegistry(DATA)
    v3 = registry.get("order.v3")
    entry = Entry("consumer", v3.ref, "pricing.handlers.on_order", ("orderId",))
    return Manifest("pricing", "prod", (entry,), {v3.ref: v3})


def test_a_manifest_round_trips_through_json(manifest: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    path.write_text(json.dumps(manifest.to_json()))
    loaded = load(path)
    assert ("pricing", "prod", manifest.declarations) == (loaded.service, loaded.environment, loaded.declarations)
    v3 = ContractRef("order", 3)
    assert manifest.contracts[v3].fingerprint == loaded.contracts[v3].fingerprint
    assert ("customer.customerTier",) == loaded.contracts[v3].critical


def test_the_critical_fields_of_a_consumer_include_its_contracts_own(manifest: Manifest) -> None:
    assert ("orderId", "customer.customerTier") == manifest.critical(manifest.declarations[0])


def test_the_written_form_is_versioned_and_names_everything(manifest: Manifest) -> None:
    body = manifest.to_json()
    assert FORMAT == body["manifest"]
    assert {"role", "contract", "handler", "fields"} == set(body["declarations"][0])
    assert {"format", "fingerprint", "critical", "compatibility", "schema"} == set(body["contracts"]["order.v3"])


def test_the_manifest_json_schema_accepts_a_written_manifest(manifest: Manifest) -> None:
    import syscontract

    schema = json.loads((Path(__file__).parents[2] / "docs" / "manifest.schema.json").read_text())
    contract = syscontract.Contract.from_jsonschema("manifest.v1", schema)
    body = manifest.to_json()
    assert body is syscontract.check(contract, body, ["manifest", "service", "environment", "declarations"])


def test_a_directory_is_read_recursively(manifest: Manifest, tmp_path: Path) -> None:
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "pricing.json").write_text(json.dumps(manifest.to_json()))
    (tmp_path / "prod" / "notes.txt").write_text("not a manifest")
    assert ["pricing"] == [m.service for m in load_all([tmp_path])]


def _broken(body: dict[str, Any], change: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    change(copy)
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(manifest="syscontract/9"), "this syscontract reads manifest format 1"),
        (lambda b: b.update(owner="team-a"), "unknown key 'owner'"),
        (lambda b: b["declarations"][0].update(topic="orders"), "declarations[0] has unknown key 'topic'"),
        (lambda b: b.pop("service"), "'service' must be a non-empty string"),
        (lambda b: b.update(declarations={}), "'declarations' must be a list"),
        (lambda b: b["declarations"][0].update(role="observer"), "role must be 'consumer' or 'producer'"),
        (lambda b: b["declarations"][0].update(contract="order"), "bad contract reference 'order'"),
        (lambda b: b["declarations"][0].update(contract="order.v9"), "which 'contracts' does not describe"),
        (lambda b: b["declarations"][0].update(fields=["customer.tier"]), "has no field 'customer.tier'"),
        (lambda b: b["contracts"]["order.v3"].update(format="thrift"), "format must be 'avro'"),
        (lambda b: b["contracts"]["order.v3"].update(schema={"type": "nope"}), "invalid Avro schema"),
    ],
)
def test_a_malformed_manifest_is_one_clear_error(manifest: Manifest, change: Any, message: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(message)) as caught:
        parse(_broken(manifest.to_json(), change), "deployments/prod/pricing.json")
    assert str(caught.value).startswith("deployments/prod/pricing.json: ")
    assert isinstance(caught.value, ContractDeclarationError)


@pytest.mark.parametrize("text", ["", "[]", "{", '"manifest"', "\xff"])
def test_a_file_that_is_not_a_manifest_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="latin-1")
    with pytest.raises(ManifestError, match=r"bad\.json"):
        load(path)


def test_a_huge_manifest_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract import manifest as module

    monkeypatch.setattr(module, "MAX_MANIFEST_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text("{" + " " * 100 + "}")
    with pytest.raises(ManifestError, match="more than the 10"):
        load(path)
