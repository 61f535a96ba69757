"""The shop's own tests (examples/shop/tests), run with ``--syscontract-reads``: the report lists what
each shop handler read, the committed examples/shop/reads.json is exactly what a run writes, and
``syscontract lint --reads`` merges it (issue 22: "the recorder report of the shop's tests lists what
each handler read")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syscontract.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reads report of one run of the shop's tests, in their own process (their handlers stay there)."""
    report = tmp_path_factory.mktemp("shop") / "reads.json"
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("PYTEST_", "SYSCONTRACT_"))}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SHOP / "tests"),
         f"--syscontract-reads={report}"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stdout + result.stderr
    assert f"syscontract: what 4 handlers read: {report}" in result.stdout.splitlines()
    return report


def _handlers(report: Path) -> dict[str, dict[str, Any]]:
    return {entry["handler"]: entry for entry in json.loads(report.read_text(encoding="utf-8"))["handlers"]}


def test_the_report_lists_every_shop_handler_the_tests_called(recorded: Path) -> None:
    assert ["entitlements.grant", "loyalty.award", "pricing.price", "pricing_legacy.price"] == sorted(
        _handlers(recorded)
    )


def test_loyalty_award_read_the_tier_with_a_fallback_it_does_not_declare(recorded: Path) -> None:
    award = _handlers(recorded)["loyalty.award"]
    assert ("order.v3", ["customer.id", "items[].qty", "items[].unitPrice"]) == (award["contract"], award["declared"])
    assert ["customer.id", "customerTier", "items[].qty", "items[].unitPrice"] == award["read"]
    assert ["customerTier"] == award["read_with_fallback"]


def test_pricing_price_read_the_tier_directly_and_declares_it(recorded: Path) -> None:
    price = _handlers(recorded)["pricing.price"]
    assert ("order.v3", ["customer.id", "customerTier"]) == (price["contract"], price["declared"])
    assert ["customerTier", "items[].qty", "items[].unitPrice"] == price["read"]
    assert [] == price["read_with_fallback"]


def test_entitlements_grant_read_the_customer_and_the_skus_it_declares(recorded: Path) -> None:
    grant = _handlers(recorded)["entitlements.grant"]
    assert ("order.v2", ["customer.id", "items[].sku"]) == (grant["contract"], grant["declared"])
    assert (["customer.id", "items[].sku"], []) == (grant["read"], grant["read_with_fallback"])


def test_pricing_legacy_price_read_the_line_items(recorded: Path) -> None:
    legacy = _handlers(recorded)["pricing_legacy.price"]
    assert ("order.v2", ["customer.id", "items[].unitPrice"]) == (legacy["contract"], legacy["declared"])
    assert (["items[].qty", "items[].unitPrice"], []) == (legacy["read"], legacy["read_with_fallback"])


def test_the_committed_report_is_what_a_run_writes_byte_for_byte(recorded: Path) -> None:
    assert (SHOP / "reads.json").read_bytes() == recorded.read_bytes()


def test_lint_with_the_report_fails_on_the_loyalty_fallback_seen_in_tests(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 1 == main(["lint", str(SHOP), "--reads", str(recorded), "--format", "json"])
    handlers = {entry["handler"]: entry for entry in json.loads(capsys.readouterr().out)["handlers"]}
    assert ["entitlements.grant", "loyalty.award", "pricing.price", "pricing_legacy.price"] == sorted(handlers)
    (error,) = [f for entry in handlers.values() for f in entry["findings"] if f["severity"] == "error"]
    assert ("undeclared-fallback", "customerTier") == (error["kind"], error["field"])
    assert error["file"].endswith("pricing/loyalty.py")
    assert error["message"].endswith("; seen in tests too")
    assert error in handlers["loyalty.award"]["findings"]
