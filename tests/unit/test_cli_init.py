"""``syscontract init``: a contract, and its next version, from sample messages."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

import syscontract
from syscontract import MissingCriticalField
from syscontract.cli import main

SAMPLES = [
    {"orderId": "o-1", "customer": {"id": "c-1", "customerTier": "VIP"}, "total": 12.5, "coupon": None},
    {"orderId": "o-2", "customer": {"id": "c-2", "customerTier": "BASIC"}, "total": 3.25, "coupon": "X"},
    {"orderId": "o-3", "customer": {"id": "c-3", "customerTier": "GOLD"}, "total": 7.0},
]


@pytest.fixture
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples").mkdir()
    names = []
    for index, sample in enumerate(SAMPLES):
        path = tmp_path / "samples" / f"{index}.json"
        path.write_text(json.dumps(sample))
        names.append(str(path.relative_to(tmp_path)))
    return names


def forward(root: Path) -> None:
    """Make the contract FORWARD compatible: consumers of v1 must read what v2 producers send (adding an
    optional field to an open JSON Schema is FORWARD compatible, and under BACKWARD it is not: v1 data
    may carry any value under that name)."""
    toml = root / "contracts" / "order" / "contract.toml"
    toml.write_text(toml.read_text().replace('compatibility = "BACKWARD"', 'compatibility = "FORWARD"'))


def requires_line(output: str) -> tuple[str, list[str]]:
    match = re.search(r"@requires\(contract=\"(?P<ref>[^\"]+)\", fields=(?P<fields>\[.*\])\)", output)
    assert match is not None, output
    return match["ref"], json.loads(match["fields"])


def test_three_samples_make_a_json_schema_contract_and_a_requires_line(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    output = capsys.readouterr().out
    schema = json.loads(Path("contracts/order/v1.schema.json").read_text())
    assert ["customer", "orderId", "total"] == schema["required"]  # coupon is not in every sample
    assert 'compatibility = "BACKWARD"' in Path("contracts/order/contract.toml").read_text()
    ref, fields = requires_line(output)
    assert ("order.v1", ["orderId", "customer.id", "customer.customerTier", "total"]) == (ref, fields)

    # the printed line works as pasted: every sample passes, a sample without a field is refused
    syscontract.configure(registry="contracts")

    @syscontract.requires(contract=ref, fields=fields)
    def on_order(event: dict[str, object]) -> object:
        return event["customer"]

    assert [] == on_order.__syscontract__.problems()  # type: ignore[attr-defined]  # what verify() checks
    assert [s["customer"] for s in SAMPLES] == [on_order(json.dumps(s).encode()) for s in SAMPLES]
    with pytest.raises(MissingCriticalField):
        on_order({"orderId": "o-4", "customer": {"id": "c-4"}, "total": 1.5})


def test_avro_samples_make_an_avro_contract_that_reads_its_own_encoding(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--avro", "--from", *samples])
    schema = json.loads(Path("contracts/order/v1.avsc").read_text())
    assert "record" == schema["type"]
    coupon = next(f for f in schema["fields"] if f["name"] == "coupon")
    assert (["null", "string"], None) == (coupon["type"], coupon["default"])
    contract = syscontract.Contract.from_avro("order.v1", schema)
    encoded = syscontract.encode(contract, SAMPLES[0], format="avro")
    assert SAMPLES[0]["customer"] == syscontract.check(contract, encoded.value, ["customer.customerTier"],
                                                       headers=encoded.headers)["customer"]  # fmt: skip


def test_json_lines_on_stdin_are_samples(
    samples: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(s) for s in SAMPLES) + "\n"))
    assert 0 == main(["init", "order"])
    assert "from 3 samples" in capsys.readouterr().out


def test_a_compatible_next_version_is_written_with_what_changed(
    samples: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    forward(tmp_path)
    capsys.readouterr()
    newer = [{**s, "channel": "web"} if i == 0 else s for i, s in enumerate(SAMPLES)]  # an optional field
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert 0 == main(["init", "order", "--from", "newer.json"])
    output = capsys.readouterr().out
    assert "+ channel: string (optional)" in output
    assert "order.v2 after order.v1 (FORWARD): compatible" in output
    assert Path("contracts/order/v2.schema.json").is_file()


def test_an_incompatible_next_version_is_refused_unless_forced(
    samples: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    forward(tmp_path)
    (tmp_path / "stale.jsonl").write_text(json.dumps({"orderId": "o-9", "customer": {"id": "c-9"}, "total": 1.5}))
    assert 1 == main(["init", "order", "--from", "stale.jsonl"])
    captured = capsys.readouterr()
    assert "- customer.customerTier" in captured.out
    assert "INCOMPATIBLE" in captured.out and "not written" in captured.err
    assert not Path("contracts/order/v2.schema.json").exists()
    assert 0 == main(["init", "order", "--from", "stale.jsonl", "--force"])
    assert Path("contracts/order/v2.schema.json").is_file()


def test_samples_that_match_the_latest_version_write_nothing(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    assert 0 == main(["init", "order", "--from", *samples])
    assert "order.v1: the samples match it; nothing written" in capsys.readouterr().out
    assert not Path("contracts/order/v2.schema.json").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"a": 1}\nnot json\n', "line 2 is not JSON"),
        ("", "no sample messages"),
    ],
)
def test_bad_samples_are_a_usage_error(
    samples: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (tmp_path / "bad.json").write_text(text)
    assert 2 == main(["init", "order", "--from", "bad.json"])
    assert expected in capsys.readouterr().err
    assert not Path("contracts/order").exists()


def test_a_bad_name_and_an_avro_unfriendly_field_are_usage_errors(
    samples: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == main(["init", "../escape", "--from", *samples])
    (tmp_path / "dashed.json").write_text(json.dumps({"order-id": "o-1"}))
    assert 2 == main(["init", "order", "--avro", "--from", "dashed.json"])
    assert "not a valid Avro field name" in capsys.readouterr().err
