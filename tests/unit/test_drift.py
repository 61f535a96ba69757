"""drift and can-deploy over manifests: the incident found from files, and its variations."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from syscontract import Contract
from syscontract.cli import main
from syscontract.manifest import Entry, Manifest
from syscontract.system import can_deploy, drift

BASE = [
    {"name": "orderId", "type": "string"},
    {"name": "customerId", "type": "string"},
    {"name": "currency", "type": "string"},
]
TIER = {
    "name": "customerTier",
    "type": {"type": "enum", "name": "Tier", "symbols": ["BASIC", "VIP"]},
    "default": "BASIC",
}


def avro(version: int, fields: list[dict[str, Any]]) -> Contract:
    return Contract.from_avro(f"order.v{version}", {"type": "record", "name": "Order", "fields": fields})


V2 = avro(2, BASE)
V3 = avro(3, [*BASE, TIER])


def service(name: str, environment: str, role: str, contract: Contract, fields: tuple[str, ...] = ()) -> Manifest:
    entry = Entry(role, contract.ref, f"{name}.handlers.on_order", fields)
    return Manifest(name, environment, (entry,), {contract.ref: contract})


def test_the_incident_found_from_files() -> None:
    report = drift(
        [
            service("checkout", "prod", "producer", V2),
            service("pricing", "prod", "consumer", V3, ("customerTier",)),
            service("checkout", "staging", "producer", V3),
            service("pricing", "staging", "consumer", V3, ("customerTier",)),
        ]
    )
    (finding,) = report.errors
    assert (
        "prod: pricing requires order.v3 customerTier; checkout in prod produces order.v2, which has no customerTier."
        == finding.message
    )
    assert ("prod", "field-not-sent", "customerTier", "checkout", "order.v2") == (
        finding.environment,
        finding.kind,
        finding.field,
        finding.producer,
        finding.produced,
    )
    assert {"producer": {"checkout": ["v2"]}, "consumer": {"pricing": ["v3"]}} == report.matrix["prod"]["order"]


def test_a_clean_system_has_no_findings() -> None:
    report = drift(
        [service("checkout", "prod", "producer", V3), service("pricing", "prod", "consumer", V3, ("customerTier",))]
    )
    assert [] == report.findings


def test_a_consumer_that_does_not_need_the_field_is_fine_with_v2() -> None:
    report = drift(
        [service("checkout", "prod", "producer", V2), service("audit", "prod", "consumer", V2, ("orderId",))]
    )
    assert [] == report.findings


def test_a_field_made_optional_is_a_finding() -> None:
    nullable = avro(
        4,
        [
            {"name": "orderId", "type": "string"},
            {"name": "customerId", "type": ["null", "string"], "default": None},
            BASE[2],
            TIER,
        ],
    )
    report = drift(
        [service("checkout", "prod", "producer", nullable), service("crm", "prod", "consumer", V3, ("customerId",))]
    )
    finding, unreadable = report.errors
    assert ("field-nullable", "unreadable") == (finding.kind, unreadable.kind)
    assert "which may send customerId as null" in finding.message


def test_a_removed_field_is_a_finding() -> None:
    removed = avro(4, [BASE[0], BASE[2], TIER])
    report = drift(
        [service("checkout", "prod", "producer", removed), service("crm", "prod", "consumer", V3, ("customerId",))]
    )
    # and v3 cannot read v4 at all: customerId has no default in v3
    assert ["field-not-sent", "unreadable"] == [f.kind for f in report.errors]


def test_an_avro_writer_default_is_still_sent_on_the_wire() -> None:
    report = drift(
        [service("checkout", "prod", "producer", V3), service("pricing", "prod", "consumer", V3, ("customerTier",))]
    )
    assert [] == report.findings  # every v3 datum carries customerTier; @produces guards what the producer puts in


def test_a_json_writer_that_does_not_require_the_field_is_a_finding() -> None:
    schema = {
        "type": "object",
        "required": ["orderId"],
        "properties": {"orderId": {"type": "string"}, "customerTier": {"type": "string"}},
    }
    loose = Contract.from_jsonschema("order.v4", schema)
    report = drift(
        [
            service("checkout", "prod", "producer", loose),
            service("pricing", "prod", "consumer", loose, ("customerTier",)),
        ]
    )
    (finding,) = report.errors
    assert ("field-optional", "which does not require customerTier.") == (
        finding.kind,
        finding.message.split(", ", 1)[1],
    )


def test_a_version_the_consumer_cannot_read_is_a_finding() -> None:
    retyped = avro(4, [{"name": "orderId", "type": "long"}, *BASE[1:], TIER])
    report = drift([service("checkout", "prod", "producer", retyped), service("pricing", "prod", "consumer", V3, ())])
    assert ["unreadable"] == [f.kind for f in report.errors]


def test_a_consumer_without_producer_is_an_error() -> None:
    report = drift([service("pricing", "prod", "consumer", V3, ("customerTier",))])
    assert [("no-producer", "error")] == [(f.kind, f.severity) for f in report.errors]
    assert "nothing confirms what it receives" in report.errors[0].message


def test_a_consumer_of_an_external_contract_without_producer_is_a_warning() -> None:
    report = drift([service("pricing", "prod", "consumer", V3, ("customerTier",))], external={"order"})
    assert ([("no-producer", "warning")], []) == ([(f.kind, f.severity) for f in report.findings], report.errors)


def test_can_deploy_reports_only_what_the_deploy_breaks() -> None:
    deployed = [service("checkout", "prod", "producer", V2), service("audit", "prod", "consumer", V2, ("orderId",))]
    assert [] == can_deploy(service("pricing", "build", "consumer", V2, ("orderId",)), "prod", deployed)
    (finding,) = can_deploy(service("pricing", "build", "consumer", V3, ("customerTier",)), "prod", deployed)
    assert "prod: pricing requires order.v3 customerTier" in finding.message


def test_can_deploy_replaces_the_deployed_version_of_the_same_service() -> None:
    deployed = [
        service("checkout", "prod", "producer", V2),
        service("pricing", "prod", "consumer", V3, ("customerTier",)),
    ]
    assert [] == can_deploy(service("checkout", "build", "producer", V3), "prod", deployed)


class TestCommandLine:
    @pytest.fixture
    def deployments(self, tmp_path: Path) -> Path:
        for manifest in (
            service("checkout", "prod", "producer", V2),
            service("pricing", "prod", "consumer", V3, ("customerTier",)),
            service("checkout", "staging", "producer", V3),
            service("pricing", "staging", "consumer", V3, ("customerTier",)),
        ):
            path = tmp_path / manifest.environment / f"{manifest.service}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(manifest.to_json()))
        return tmp_path

    def test_drift_prints_the_matrix_and_the_incident(
        self, deployments: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert 1 == main(["drift", str(deployments)])
        out = capsys.readouterr().out
        assert "prod         order     checkout v2  pricing v3" in out
        assert "staging      order     checkout v3  pricing v3" in out
        assert "checkout in prod produces order.v2, which has no customerTier." in " ".join(out.split())
        assert all(len(line) <= 100 for line in out.splitlines())

    def test_drift_as_json(self, deployments: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert 1 == main(["drift", str(deployments), "--format", "json"])
        body = json.loads(capsys.readouterr().out)
        assert ["field-not-sent"] == [f["kind"] for f in body["findings"]]
        assert {"checkout": ["v3"]} == body["matrix"]["staging"]["order"]["producer"]

    def test_can_deploy_exit_codes(self, deployments: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        fixed = tmp_path / "checkout-v3.json"
        fixed.write_text(json.dumps(service("checkout", "build", "producer", V3).to_json()))
        assert 0 == main(["can-deploy", str(fixed), "--to", "prod", "--with", str(deployments / "prod")])
        assert "checkout can deploy to prod" in capsys.readouterr().out
        stale = tmp_path / "checkout-v2.json"
        stale.write_text(json.dumps(service("checkout", "build", "producer", V2).to_json()))
        assert 1 == main(["can-deploy", str(stale), "--to", "staging", "--with", str(deployments / "staging")])
        assert "checkout cannot deploy to staging" in capsys.readouterr().out

    def test_a_malformed_manifest_is_exit_2_with_one_line(
        self, deployments: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        broken = copy.deepcopy(json.loads((deployments / "prod" / "pricing.json").read_text()))
        broken["declarations"][0]["role"] = "observer"
        (deployments / "prod" / "pricing.json").write_text(json.dumps(broken))
        assert 2 == main(["drift", str(deployments)])
        err = capsys.readouterr().err.strip().splitlines()
        assert 1 == len(err)
        assert "pricing.json: declarations[0].role" in err[0]
