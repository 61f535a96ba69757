"""`syscontract demo`: the README's main job tells the incident and its three catches."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from syscontract.cli import main


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
    result = subprocess.run(
        [sys.executable, "-m", "syscontract", "demo"], cwd=str(tmp_path), capture_output=True, text=True, check=False
    )
    assert (0, "") == (result.returncode, result.stderr)
