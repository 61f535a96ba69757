"""The system view end to end, on a small system built in a temporary directory: contracts v1..v3, a
producer (two releases) and two consumers, staging and prod manifests written by `syscontract
inventory` from the services' own code, then `check`, `drift` and `can-deploy` as a pipeline runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHOP = Path(__file__).parents[2] / "examples" / "shop"


def syscontract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syscontract", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def inventory(shop: Path, module: str, service: str, environment: str) -> Path:
    output = shop / "deployments" / environment / f"{service}.json"
    result = syscontract(
        "inventory", module, "--service", service, "--environment", environment,
        "--contracts", "contracts", "-o", str(output), cwd=shop,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    return output


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop with staging and prod manifests written from its code (built once per module)."""
    shop = tmp_path_factory.mktemp("deployed") / "shop"
    shutil.copytree(SHOP, shop, ignore=shutil.ignore_patterns("deployments", "__pycache__"))
    for environment, checkout in (("staging", "checkout/checkout.py"), ("prod", "checkout/checkout_legacy.py")):
        inventory(shop, checkout, "checkout", environment)
        inventory(shop, "pricing/pricing.py", "pricing", environment)
        inventory(shop, "entitlements/entitlements.py", "entitlements", environment)
    return shop


@pytest.fixture
def shop(deployed: Path, tmp_path: Path) -> Path:
    """A copy of the deployed shop that a test may change."""
    return Path(shutil.copytree(deployed, tmp_path / "shop"))


def findings(shop: Path, *manifests: str) -> list[dict[str, str]]:
    result = syscontract("drift", *(manifests or ("deployments",)), "--format", "json", cwd=shop)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def test_the_incident_is_found_in_prod_and_only_there(shop: Path) -> None:
    result = syscontract("drift", "deployments", cwd=shop)
    assert 1 == result.returncode
    (finding,) = findings(shop)
    assert {
        "environment": "prod",
        "severity": "error",
        "kind": "field-not-sent",
        "consumer": "pricing",
        "handler": "pricing.price",
        "contract": "order.v3",
        "field": "customerTier",
        "producer": "checkout",
        "produced": "order.v2",
        "message": "prod: pricing requires order.v3 customerTier; checkout in prod produces order.v2, "
        "which has no customerTier.",
    } == finding


def test_the_manifests_in_the_repository_are_what_deploy_py_writes(tmp_path: Path) -> None:
    shop = Path(shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("__pycache__")))
    for directory in ("deployments", "release", "previous"):
        shutil.rmtree(shop / directory)
    result = subprocess.run([sys.executable, str(shop / "deploy.py")], capture_output=True, text=True, timeout=300)
    assert 0 == result.returncode, result.stderr
    written = sorted(
        p.relative_to(shop) for d in ("deployments", "release", "previous") for p in (shop / d).rglob("*.json")
    )
    committed = sorted(
        p.relative_to(SHOP) for d in ("deployments", "release", "previous") for p in (SHOP / d).rglob("*.json")
    )
    assert committed == written
    for path in written:
        assert (SHOP / path).read_bytes() == (shop / path).read_bytes(), path


def test_a_clean_system_has_no_findings(shop: Path) -> None:
    inventory(shop, "checkout/checkout.py", "checkout", "prod")
    assert [] == findings(shop)
    assert 0 == syscontract("drift", "deployments", cwd=shop).returncode


def test_can_deploy_says_whether_a_release_breaks_a_consumer(shop: Path) -> None:
    current = inventory(shop, "checkout/checkout.py", "checkout", "build")
    legacy = inventory(shop, "checkout/checkout_legacy.py", "checkout", "build-legacy")
    assert (
        0 == syscontract("can-deploy", str(current), "--to", "prod", "--with", "deployments/prod", cwd=shop).returncode
    )
    refused = syscontract("can-deploy", str(legacy), "--to", "staging", "--with", "deployments/staging", cwd=shop)
    assert 1 == refused.returncode
    assert "checkout cannot deploy to staging" in refused.stdout
    assert "which has no customerTier" in " ".join(refused.stdout.split())


def test_check_passes_on_the_current_code(shop: Path) -> None:
    modules = ("checkout/checkout.py", "pricing/pricing.py", "entitlements/entitlements.py")
    result = syscontract("check", *modules, "--contracts", "contracts", cwd=shop)
    assert (0, "") == (result.returncode, result.stderr)
    assert "no problems" in result.stdout


def test_check_finds_a_consumer_field_the_producers_release_does_not_send(shop: Path) -> None:
    result = syscontract(
        "check", "checkout/checkout_legacy.py", "pricing/pricing.py", "--contracts", "contracts", "--format", "json",
        cwd=shop,
    )  # fmt: skip
    assert 1 == result.returncode
    (problem,) = json.loads(result.stdout)["problems"]
    assert ("field-removed", "pricing.price") == (problem["kind"], problem["where"])
    assert "requires order.v3 customerTier, but order.v2" in problem["message"]


def _v4(shop: Path, customer_id: object) -> None:
    schema = json.loads((shop / "contracts" / "order" / "v3.avsc").read_text())
    customer = schema["fields"][1]["type"]
    customer["fields"] = [f for f in customer["fields"] if f["name"] != "id"]
    if customer_id is not None:
        customer["fields"].insert(0, {"name": "id", **customer_id})  # type: ignore[dict-item]
    (shop / "contracts" / "order" / "v4.avsc").write_text(json.dumps(schema))
    source = (shop / "checkout" / "checkout.py").read_text().replace('"order.v3"', '"order.v4"')
    if customer_id is None:
        source = source.replace('"customer": {"id": customer_id, "name": name}', '"customer": {"name": name}')
    (shop / "checkout" / "checkout_v4.py").write_text(source)
    inventory(shop, "checkout/checkout_v4.py", "checkout", "prod")


def test_a_removed_field_is_found(shop: Path) -> None:
    _v4(shop, None)
    found = findings(shop, "deployments/prod")
    assert [("entitlements", "customer.id", "field-not-sent"), ("pricing", "customer.id", "field-not-sent")] == sorted(
        (f["consumer"], f["field"], f["kind"]) for f in found if f["kind"] != "unreadable"
    )


def test_a_field_made_optional_is_found(shop: Path) -> None:
    _v4(shop, {"type": ["null", "string"], "default": None})
    found = findings(shop, "deployments/prod")
    assert {("entitlements", "field-nullable"), ("pricing", "field-nullable")} <= {
        (f["consumer"], f["kind"]) for f in found
    }
    assert all("which may send customer.id as null" in f["message"] for f in found if f["kind"] == "field-nullable")


def test_a_version_gap_is_found(shop: Path) -> None:
    (shop / "contracts" / "order" / "v2.avsc").unlink()
    result = syscontract("check", "--contracts", "contracts", "--format", "json", cwd=shop)
    assert 1 == result.returncode
    problems = json.loads(result.stdout)["problems"]
    assert {"kind": "version-gap", "where": "order", "message": "order has no v2 between v1 and v3"} in problems


def test_a_malformed_manifest_or_contract_is_one_line_and_exit_2(shop: Path) -> None:
    (shop / "deployments" / "prod" / "pricing.json").write_text('{"manifest": "syscontract/1"')
    result = syscontract("drift", "deployments", cwd=shop)
    assert (2, 1) == (result.returncode, len(result.stderr.strip().splitlines()))
    assert "pricing.json: not valid JSON" in result.stderr
    (shop / "contracts" / "order" / "contract.toml").write_text("compatibility = 3\n")
    result = syscontract("check", "--contracts", "contracts", cwd=shop)
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
