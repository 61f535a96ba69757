"""`syscontract demo`: the README's main job tells the incident and its three catches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from syscontract.cli import main


@pytest.fixture(autouse=True)
def _temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo writes its page into a new temporary directory: under one of this test's own, with a path
    as short as a user's (pytest's own are too long for the story's 100 columns), removed afterwards.
    (``tmp_path`` is asked for first so that pytest makes it before ``tempfile.tempdir`` moves.)"""
    own = tempfile.mkdtemp(prefix="sc-")
    monkeypatch.setattr(tempfile, "tempdir", own)
    yield
    shutil.rmtree(own)


def test_the_demo_tells_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["demo"])
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "prod ord-1 VIP pays 100.00 EUR <- priced as BASIC, no error, no alert" in lines
    assert "staging ord-1 VIP pays 80.00 EUR ok" in lines
    assert "prod ord-1 refused, dead-lettered (50 bytes, unchanged: True)" in lines
    assert "staging order.v3 order.v3 ok 3" in lines
    assert "prod order.v3 order.v2 violation 3" in lines
    assert "not-in-writer-schema" not in out  # the story speaks in words, not reason codes
    assert "ERROR prod: pricing requires order.v3 customerTier; checkout in prod produces order.v2, which" in lines
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "\033[" not in out  # no colour when stdout is not a terminal


def test_the_demo_gives_the_same_facts_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["demo", "--format", "json"])
    facts = json.loads(capsys.readouterr().out)
    assert facts["story_held"] is True
    refused = [g for g in facts["guarded"] if g["outcome"] == "refused"]
    assert {"prod"} == {g["environment"] for g in refused}
    assert {"not-in-writer-schema"} == {g["reason"] for g in refused}
    assert [("prod", "field-not-sent", "customerTier")] == [
        (f["environment"], f["kind"], f["field"]) for f in facts["findings"]
    ]


def test_the_demo_runs_as_a_command_with_its_shipped_contracts(tmp_path: object) -> None:
    environ = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "syscontract", "demo"], cwd=str(tmp_path), capture_output=True,
                            text=True, check=False, env=environ)  # fmt: skip
    assert (0, "") == (result.returncode, result.stderr)
    (written,) = Path(str(tmp_path)).glob("syscontract-demo-*/report.html")
    assert f"   wrote {written}" in result.stdout.splitlines()
    assert [] == [p.name for p in Path(str(tmp_path)).iterdir() if not p.name.startswith("syscontract-demo-")]


def test_the_demo_ends_with_its_page_and_where_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "demo.html"
    assert 0 == main(["demo", "--html", str(target)])
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    at = lines.index("6. The system as a picture: syscontract report")
    assert [
        f"wrote {target}",
        "open it in a browser: in red, checkout in prod, pricing in prod",
        "with the plan that fixes prod: 1. checkout -> produces order.v3",
    ] == lines[at + 1 : at + 4]
    text = target.read_text()
    assert 'data-environment="prod" data-service="pricing" data-state="error"' in text
    assert 'data-environment="staging" data-service="pricing" data-state="ok"' in text
    assert "received 3 written with order.v2: 3 violations" in text  # step 4's counts, as live evidence


def test_the_demo_says_where_its_page_is_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["demo", "--format", "json", "--html", str(tmp_path / "demo.html")])
    report = json.loads(capsys.readouterr().out)["report"]
    assert {"path": str(tmp_path / "demo.html"), "red": [["prod", "checkout"], ["prod", "pricing"]],
            "plan": ["1. checkout -> produces order.v3"], "errors": 1} == report  # fmt: skip
