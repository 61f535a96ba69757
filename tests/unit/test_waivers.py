"""Waivers (issue 25, item 4): an owner's exception to one finding, with a reason and an expiry, for
``can-deploy`` and ``plan``. Dates are injected (``Ledger(on=...)``, or ``waivers.today`` patched for the
command line): nothing here depends on the clock."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from syscontract.cli import main
from syscontract.manifest import ManifestError
from syscontract.system import Finding, waivers
from syscontract.system.waivers import Ledger, Waiver

SHOP = Path(__file__).parents[2] / "examples" / "shop"
DAY = datetime.date(2026, 3, 1)

WAIVER = """\
[[waiver]]
consumer = "pricing"
contract = "order.v3"
field = "customerTier"
environment = "{environment}"
owner = "pricing-team@example.com"
reason = "VIP prices wait for PRICE-123"
expires = {expires}
"""


def waiver_text(environment: str = "prod", expires: str = "2026-03-31") -> str:
    return WAIVER.format(environment=environment, expires=expires)


def finding(kind: str = "field-not-sent", environment: str = "prod", field: str | None = "customerTier") -> Finding:
    return Finding(environment=environment, severity="error", kind=kind, consumer="pricing", handler="pricing.price",
                   contract="order.v3", message=f"{environment}: pricing requires order.v3 customerTier.", field=field,
                   producer="checkout", produced="order.v2")  # fmt: skip


def written(tmp_path: Path, text: str, name: str = "waivers.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- the file ------------------------------------------------------------------------------------------


def test_a_waiver_file_is_read_with_every_key(tmp_path: Path) -> None:
    path = written(tmp_path, waiver_text())
    assert (
        Waiver("pricing", "order.v3", "customerTier", "prod", "pricing-team@example.com",
               "VIP prices wait for PRICE-123", datetime.date(2026, 3, 31), f"{path}:1"),
    ) == waivers.load(path)  # fmt: skip


@pytest.mark.parametrize("key", waivers.KEYS)
def test_a_waiver_without_one_of_its_keys_is_malformed(tmp_path: Path, key: str) -> None:
    text = "\n".join(line for line in waiver_text().splitlines() if not line.startswith(f"{key} ="))
    with pytest.raises(ManifestError, match=rf"waivers.toml:1: a waiver needs {key} \(every one of"):
        waivers.load(written(tmp_path, text))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("expires = 2026-03-31", 'expires = "31/03/2026"'),
            "expires must be a date such as 2026-03-31, not '31/03/2026'",
        ),
        (("expires = 2026-03-31", "expires = 2026-03-31T12:00:00Z"), "expires must be a date"),
        (("expires = 2026-03-31", "expires = 20260331"), "expires must be a date"),
        (('owner = "pricing-team@example.com"', 'owner = "  "'), "owner must be a non-empty string"),
        (('field = "customerTier"', "field = 3"), "field must be a non-empty string, not 3"),
        (('contract = "order.v3"', 'contract = "order"'), "contract 'order' is not a contract version"),
        (('reason = "VIP prices wait for PRICE-123"', 'reason = "x"\nticket = "PRICE-123"'), "unknown key 'ticket'"),
    ],
)
def test_a_malformed_waiver_names_its_file_and_position(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = waiver_text().replace(*change)
    assert text != waiver_text()
    with pytest.raises(ManifestError, match="waivers.toml:1: " + message.replace("(", r"\(").replace(")", r"\)")):
        waivers.load(written(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[waiver]\n", "not a TOML waiver file"),
        ("waiver = 3\n", "'waiver' must be an array of tables"),
        ("[owner]\nname = 'x'\n", "unknown table 'owner'"),
        (waiver_text() + waiver_text(), r"waivers.toml:2: waives what .*waivers.toml:1 waives already"),
        (b"\xff\xfe".decode("latin-1"), "not a TOML waiver file"),
    ],
)
def test_a_file_that_is_not_a_waiver_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        waivers.load(written(tmp_path, text))


def test_a_missing_or_huge_waiver_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read this waiver file"):
        waivers.load(tmp_path / "absent.toml")
    with pytest.raises(ManifestError, match="a waiver file larger than"):
        waivers.load(written(tmp_path, "#" * (waivers.MAX_BYTES + 1)))


def test_waiver_files_are_found_beside_the_manifests(tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    prod.mkdir()
    written(prod, waiver_text())
    (prod / "pricing.json").write_text("{}")
    assert 1 == len(waivers.discover([prod]))
    assert 1 == len(waivers.discover([prod / "pricing.json", prod]))  # one file, read once
    assert () == waivers.discover([tmp_path])


def test_today_is_the_date_in_utc() -> None:
    before = datetime.datetime.now(datetime.timezone.utc).date()
    found = waivers.today()
    assert found in {before, datetime.datetime.now(datetime.timezone.utc).date()}


# -- the ledger: one environment, one day ------------------------------------------------------------------


def ledger(tmp_path: Path, on: datetime.date, text: str | None = None, environment: str = "prod") -> Ledger:
    return Ledger(waivers.load(written(tmp_path, text or waiver_text())), environment, on=on)


def test_an_unexpired_waiver_turns_its_error_into_a_warning_that_says_who_why_and_until_when(
    tmp_path: Path,
) -> None:
    (judged,) = ledger(tmp_path, DAY).judge([finding()])
    assert ("warning", "field-not-sent") == (judged.severity, judged.kind)
    assert judged.message.startswith("prod: pricing requires order.v3 customerTier. Waived by pricing-team@example.com")
    assert "until 2026-03-31: VIP prices wait for PRICE-123 (" in judged.message


def test_a_waiver_holds_through_its_expiry_day_and_not_after(tmp_path: Path) -> None:
    last = ledger(tmp_path, datetime.date(2026, 3, 31)).judge([finding()])
    assert ["warning"] == [f.severity for f in last]
    after = ledger(tmp_path, datetime.date(2026, 4, 1))
    judged = after.judge([finding()])
    assert [("error", "field-not-sent"), ("error", "waiver-expired")] == [(f.severity, f.kind) for f in judged]
    assert "expired on 2026-03-31 (by pricing-team@example.com: VIP prices wait for PRICE-123)" in judged[1].message
    assert after.failed()
    assert ["expired"] == [row["status"] for row in after.to_json()]


def test_an_unused_waiver_is_a_warning_to_remove_it(tmp_path: Path) -> None:
    book = ledger(tmp_path, DAY)
    (unused,) = book.judge([])
    assert ("warning", "waiver-unused") == (unused.severity, unused.kind)
    assert unused.message.endswith("matches no finding: remove it (" + str(tmp_path / "waivers.toml") + ":1).")
    assert not book.failed()


def test_a_finding_seen_elsewhere_in_the_environment_keeps_a_waiver_in_use(tmp_path: Path) -> None:
    book = ledger(tmp_path, DAY)
    assert [] == book.judge([], seen=[finding()])
    assert ["in-use"] == [row["status"] for row in book.to_json()]


def test_a_waiver_matches_its_consumer_contract_field_and_environment_only(tmp_path: Path) -> None:
    book = ledger(tmp_path, DAY)
    other = [
        finding(environment="staging"),
        finding(field="customer.id"),
        finding(kind="unreadable", field=None),
        Finding(**{**finding().__dict__, "consumer": "entitlements"}),
        Finding(**{**finding().__dict__, "contract": "order.v2"}),
    ]
    judged = book.judge(other)
    assert ["error"] * 5 + ["warning"] == [f.severity for f in judged]
    assert "waiver-unused" == judged[-1].kind


def test_waivers_of_other_environments_are_not_judged(tmp_path: Path) -> None:
    book = ledger(tmp_path, datetime.date(2030, 1, 1), waiver_text(environment="staging"))
    assert ([], [], False) == (book.judge([]), book.to_json(), book.failed())


def test_the_ledger_in_json_carries_every_waiver_with_its_status_and_what_it_matched(tmp_path: Path) -> None:
    text = waiver_text() + waiver_text().replace("customerTier", "customer.id")
    book = ledger(tmp_path, DAY, text)
    book.judge([finding()])
    rows = book.to_json()
    assert [("applied", ["prod: pricing requires order.v3 customerTier."]), ("unused", [])] == [
        (row["status"], row["matched"]) for row in rows
    ]
    assert {"consumer", "contract", "field", "environment", "owner", "reason", "expires", "source"} < set(rows[0])


# -- can-deploy and plan -------------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(waivers, "today", lambda: DAY)
    copy = Path(shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("__pycache__")))
    monkeypatch.chdir(copy)
    return copy


def gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, out, err = gate(capsys, *args, "--format", "json")
    assert "" == err
    return code, json.loads(out)


def test_can_deploy_lets_the_waived_deploy_through_and_says_who_waived_it(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written(shop, waiver_text(), "pricing-tier.toml")
    args = ("can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod")
    code, out, _ = gate(capsys, *args, "--waivers", "pricing-tier.toml")
    text = " ".join(out.split()).replace("- ", "-")  # the table wraps after a hyphen
    assert 0 == code
    assert text.startswith("pricing can deploy to prod, with warnings: 0 errors, 1 warning")
    assert "Waived by pricing-team@example.com until 2026-03-31: VIP prices wait for PRICE-123" in text
    code, body = as_json(capsys, *args, "--waivers", "pricing-tier.toml")
    assert (0, True, ["warning"], ["applied"]) == (
        code, body["can_deploy"], [f["severity"] for f in body["findings"]], [w["status"] for w in body["waivers"]],
    )  # fmt: skip
    code, body = as_json(capsys, *args)  # no waiver file beside deployments/prod: the error stands
    assert (1, False, [], ["error"]) == (code, body["can_deploy"], body["waivers"],
                                         [f["severity"] for f in body["findings"]])  # fmt: skip


def test_a_waiver_file_beside_the_environments_manifests_is_read_without_the_flag(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written(shop / "deployments" / "prod", waiver_text())
    code, body = as_json(capsys, "can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod")
    assert (0, "deployments/prod/waivers.toml:1") == (code, body["waivers"][0]["source"])


def test_an_expired_waiver_fails_can_deploy(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written(shop / "deployments" / "prod", waiver_text(expires="2026-02-28"))
    code, body = as_json(capsys, "can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod")
    assert (1, False) == (code, body["can_deploy"])
    assert [("error", "field-not-sent"), ("error", "waiver-expired")] == [
        (f["severity"], f["kind"]) for f in body["findings"]
    ]


def test_a_malformed_waiver_file_is_an_input_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written(shop / "deployments" / "prod", waiver_text().replace('owner = "pricing-team@example.com"\n', ""))
    code, out, err = gate(capsys, "can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod")
    assert (2, "") == (code, out)
    assert "deployments/prod/waivers.toml:1: a waiver needs owner" in err


def test_a_deploy_the_waiver_does_not_concern_reports_it_unused(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written(shop / "deployments" / "prod", waiver_text())
    code, body = as_json(
        capsys, "can-deploy", "release/entitlements.json", "--to", "prod", "--with", "deployments/prod"
    )
    assert (0, True, ["waiver-unused"], ["unused"]) == (
        code, body["can_deploy"], [f["kind"] for f in body["findings"]], [w["status"] for w in body["waivers"]],
    )  # fmt: skip


def test_a_waiver_unblocks_a_plan_and_is_listed_with_it(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rolling checkout back alone in staging has no safe order (pricing requires customerTier); with
    pricing's owner waiving that in staging, it has one, and the plan lists the waived finding."""
    args = ("plan", "previous/checkout.json", "--to", "staging", "--with", "deployments/staging")
    assert 1 == gate(capsys, *args)[0]
    written(shop / "deployments" / "staging", waiver_text(environment="staging"))
    code, out, _ = gate(capsys, *args)
    assert 0 == code
    assert out.startswith("plan for staging: 1 step, one service at a time\n\n1. checkout: produces order.v3 -> ")
    assert "\nwaivers:\n0 errors, 1 warning\n" in out
    assert "Waived by pricing-team@example.com until 2026-03-31" in " ".join(out.split()).replace("- ", "-")
    code, body = as_json(capsys, *args)
    assert (0, True, ["applied"]) == (code, body["safe"], [w["status"] for w in body["waivers"]])


def test_an_expired_waiver_fails_a_plan_that_is_otherwise_safe(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written(shop / "deployments" / "prod", waiver_text(expires="2026-01-31"))
    code, body = as_json(capsys, "plan", "release", "--to", "prod", "--with", "deployments/prod")
    assert (1, True, ["expired"]) == (code, body["safe"], [w["status"] for w in body["waivers"]])


def test_a_waiver_of_what_the_environment_shows_is_applied_when_nothing_is_left_to_deploy(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """prod runs pricing's release already (and checkout's previous one): the plan of the release for
    pricing has nothing to do, and the waiver of the finding prod shows is in use, not 'remove it'."""
    shutil.copy(shop / "release" / "pricing.json", shop / "deployments" / "prod" / "pricing.json")
    body = json.loads((shop / "deployments" / "prod" / "pricing.json").read_text())
    body["environment"] = "prod"
    (shop / "deployments" / "prod" / "pricing.json").write_text(json.dumps(body))
    written(shop / "deployments" / "prod", waiver_text())
    code, body = as_json(capsys, "plan", "release/pricing.json", "--to", "prod", "--with", "deployments/prod")
    assert (0, [], ["applied"]) == (code, body["steps"], [w["status"] for w in body["waivers"]])
