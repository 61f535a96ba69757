"""Gates fail closed, output is the same bytes on every run, and ``check`` tells a finding (exit 1)
from what it could not examine (exit 2): end to end, in a copy of examples/shop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHOP = Path(__file__).parents[2] / "examples" / "shop"


def syscontract(*args: str, cwd: Path, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "syscontract", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False, timeout=120)  # fmt: skip


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shop = Path(shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("__pycache__")))
    (shop / "empty").mkdir()
    return shop


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refusing gate prints: exit 2, nothing on stdout, no traceback."""
    assert (2, "") == (result.returncode, result.stdout), result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 == len(lines), result.stderr
    return lines[0]


SEEN_NOTHING = {
    "a typo": (["--to", "prdo", "--with", "deployments/prod"], "prdo is not an environment", "known: prod)"),
    "another case": (["--to", "Prod", "--with", "deployments/prod"], "Prod is not an environment", "known: prod)"),
    "an empty directory": (["--to", "prod", "--with", "empty"], "empty: no manifest (*.json)", ""),
    "another environment": (["--to", "prod", "--with", "deployments/staging"], "prod is not an", "known: staging)"),
    "every environment": (["--to", "prod", "--with", "deployments"], "describes staging", "known: prod, staging)"),
    "no state": (["--to", "prod"], "no manifests of what runs in prod (--with", ""),
}


@pytest.mark.parametrize("case", sorted(SEEN_NOTHING))
def test_can_deploy_refuses_what_it_cannot_see(shop: Path, case: str) -> None:
    args, expected, known = SEEN_NOTHING[case]
    line = refused(syscontract("can-deploy", "release/checkout.json", *args, cwd=shop))
    assert line.startswith("syscontract can-deploy: error: ")
    assert expected in line and known in line


@pytest.mark.parametrize("case", sorted(SEEN_NOTHING))
def test_plan_refuses_what_it_cannot_see(shop: Path, case: str) -> None:
    args, expected, known = SEEN_NOTHING[case]
    line = refused(syscontract("plan", "release", *args, cwd=shop))
    assert expected in line and known in line


def test_can_deploy_still_judges_what_it_sees(shop: Path) -> None:
    assert 0 == syscontract("can-deploy", "release/checkout.json", "--to", "prod", "--with", "deployments/prod",
                            cwd=shop).returncode  # fmt: skip
    result = syscontract("can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod", cwd=shop)
    assert 1 == result.returncode
    assert "which has no customerTier" in " ".join(result.stdout.split())


def test_drift_refuses_an_empty_directory(shop: Path) -> None:
    assert "empty: no manifest (*.json) in this directory" in refused(syscontract("drift", "empty", cwd=shop))


def test_a_consumer_without_producer_is_an_error_unless_declared_external(shop: Path) -> None:
    (shop / "deployments" / "prod" / "checkout.json").unlink()
    result = syscontract("drift", "deployments/prod", cwd=shop)
    assert 1 == result.returncode
    assert "nothing confirms what it receives" in " ".join(result.stdout.split())
    assert 1 == syscontract("can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod",
                            cwd=shop).returncode  # fmt: skip
    partner = syscontract("drift", "deployments/prod", "--external", "order", "--format", "json", cwd=shop)
    assert 0 == partner.returncode
    assert {"warning"} == {f["severity"] for f in json.loads(partner.stdout)["findings"]}


def test_retiring_the_only_producer_cannot_deploy(shop: Path) -> None:
    retired = json.loads((shop / "release" / "checkout.json").read_text())
    retired["declarations"], retired["contracts"] = [], {}
    (shop / "retired.json").write_text(json.dumps(retired))
    result = syscontract("can-deploy", "retired.json", "--to", "prod", "--with", "deployments/prod", cwd=shop)
    assert 1 == result.returncode
    assert "no service in prod declares a producer of order" in " ".join(result.stdout.split())


def test_manifests_are_the_same_bytes_under_every_hash_seed(shop: Path) -> None:
    written = set()
    for seed in ("0", "1", "2"):
        result = syscontract("inventory", "pricing/pricing.py", "--service", "pricing", "--environment", "prod",
                             "--contracts", "contracts", cwd=shop, seed=seed)  # fmt: skip
        assert 0 == result.returncode, result.stderr
        written.add(result.stdout)
    assert 1 == len(written)
    body = json.loads(written.pop())
    assert list(body) == sorted(body)


@pytest.mark.parametrize(
    "command",
    [
        ("drift", "deployments", "--format", "json"),
        ("plan", "release", "--to", "prod", "--with", "deployments/prod", "--format", "json"),
        ("can-deploy", "release/pricing.json", "--to", "prod", "--with", "deployments/prod", "--format", "json"),
        ("check", "pricing/pricing.py", "checkout/checkout_legacy.py", "--contracts", "contracts", "--format", "json"),
    ],
    ids=lambda command: command[0],
)
def test_json_output_is_the_same_bytes_under_every_hash_seed(shop: Path, command: tuple[str, ...]) -> None:
    outputs = {syscontract(*command, cwd=shop, seed=seed).stdout for seed in ("0", "1", "2")}
    assert 1 == len(outputs)
    json.loads(outputs.pop())


TYPOS = """
from syscontract import produces, requires

@requires("order.v3", ["customerTeir"])
def price(order): ...

@requires("order.v3", ["custmer.id"])
def grant(order): ...

@produces("order.v9")
def send(): ...
"""


def test_check_lists_every_wrong_declaration_and_exits_1(shop: Path) -> None:
    (shop / "typos.py").write_text(TYPOS)
    result = syscontract("check", "typos.py", "--contracts", "contracts", cwd=shop)
    assert (1, "") == (result.returncode, result.stderr)
    assert result.stdout.startswith("3 problems (checked 1 contract (order) and 3 declarations in 1 module)")
    body = json.loads(syscontract("check", "typos.py", "--contracts", "contracts", "--format", "json", cwd=shop).stdout)
    assert [("declaration", "typos.grant"), ("declaration", "typos.price"), ("declaration", "typos.send")] == sorted(
        (p["kind"], p["where"]) for p in body["problems"]
    )
    assert "customerTeir" in " ".join(p["message"] for p in body["problems"])


def test_check_exits_2_for_a_module_it_cannot_import(shop: Path) -> None:
    (shop / "broken.py").write_text("import no_such_package_anywhere\n")
    line = refused(syscontract("check", "broken.py", "--contracts", "contracts", cwd=shop))
    assert "cannot import broken.py: ModuleNotFoundError" in line


def test_check_without_modules_says_what_it_checked(shop: Path) -> None:
    result = syscontract("check", "--contracts", "contracts", cwd=shop)
    assert (0, "no problems: checked 1 contract (order); no MODULE given, so no declaration was checked\n") == (
        result.returncode, result.stdout,
    )  # fmt: skip
    result = syscontract("check", "entitlements/entitlements.py", "--contracts", "contracts", cwd=shop)
    assert "no problems: checked 1 contract (order) and 1 declaration in 1 module\n" == result.stdout
