"""``syscontract compat``: exit codes, text and JSON output, input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syscontract.cli import main


@pytest.fixture
def run(contracts_dir: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def invoke(*argv: str) -> tuple[int, str, str]:
        extra = ["--contracts", str(contracts_dir)] if argv[:1] == ("compat",) else []
        code = main([*argv, *extra])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def write(path: Path, schema: Any) -> str:
    path.write_text(json.dumps(schema), encoding="utf-8")
    return str(path)


def test_compatible_refs_exit_0(run: Any) -> None:
    code, out, err = run("compat", "order.v2", "order.v3")

    assert (0, "") == (code, err)
    assert "order.v3 after order.v2 (BACKWARD): compatible\n" == out


def test_mode_defaults_to_the_contract_toml_compatibility(run: Any) -> None:
    code, out, _ = run("compat", "order.v2", "order.v3")

    assert 0 == code
    assert "(BACKWARD)" in out  # contract.toml says BACKWARD


def test_consumer_requiring_the_new_field_exits_1_with_a_table(run: Any) -> None:
    code, out, err = run("compat", "order.v2", "order.v3", "--consumer", "pricing:customer.customerTier")

    assert (1, "") == (code, err)
    lines = out.splitlines()
    assert "order.v3 after order.v2 (BACKWARD): INCOMPATIBLE, 1 problem" == lines[0]
    assert lines[2].split()[:5] == ["KIND", "FIELD", "READER", "<-", "WRITER"]
    assert lines[3].split()[:6] == [
        "CONSUMER_FIELD_NOT_IN_WRITER",
        "customer.customerTier",
        "order.v3",
        "<-",
        "order.v2",
        "pricing",
    ]


def test_json_output_is_machine_readable(run: Any) -> None:
    code, out, _ = run(
        "compat", "order.v2", "order.v3", "--format", "json", "--consumer", "pricing:customer.customerTier"
    )

    body = json.loads(out)
    assert 1 == code
    assert {"old": "order.v2", "new": "order.v3", "compatible": False, "mode": "BACKWARD"} == {
        k: body[k] for k in ("old", "new", "compatible", "mode")
    }
    assert [
        {
            "kind": "CONSUMER_FIELD_NOT_IN_WRITER",
            "path": "/fields/customer/fields/customerTier",
            "field": "customer.customerTier",
            "reader": "order.v3",
            "writer": "order.v2",
            "consumer": "pricing",
        }
    ] == [{k: v for k, v in p.items() if k != "message"} for p in body["problems"]]


def test_schema_files_are_compared(tmp_path: Path, run: Any) -> None:
    old = write(tmp_path / "old.avsc", {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    new = write(tmp_path / "new.avsc", {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]})

    assert 0 == run("compat", old, new, "--mode", "BACKWARD")[0]
    code, out, _ = run("compat", old, new, "--mode", "forward")
    assert 1 == code
    assert "TYPE_MISMATCH" in out


def test_json_schema_files_are_compared(tmp_path: Path, run: Any) -> None:
    old = write(tmp_path / "old.schema.json", {"type": "object", "properties": {"a": {"type": "string"}}})
    new = write(
        tmp_path / "new.schema.json",
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    )

    code, out, _ = run("compat", old, new, "--format", "json")

    assert 1 == code
    assert ["REQUIRED_PROPERTY_ADDED"] == [p["kind"] for p in json.loads(out)["problems"]]


def test_avro_against_json_schema_is_a_problem(run: Any) -> None:
    code, out, _ = run("compat", "order.v3", "order.v4")

    assert 1 == code
    assert "FORMAT_MISMATCH" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("compat", "order.v2", "order.v9"), "order.v9: not found"),
        (("compat", "nosuch.avsc", "order.v3"), "no such schema file: 'nosuch.avsc'"),
        (("compat", "order", "order.v3"), "neither a schema file"),
        (("compat", "order.v2", "order.v3", "--mode", "SIDEWAYS"), "invalid choice: 'SIDEWAYS'"),
        (("compat", "order.v2", "order.v3", "--consumer", "pricing"), "expected NAME:PATH"),
        (("compat", "order.v2", "order.v3", "--consumer", "pricing:a..b"), "bad field path"),
        (("compat", "order.v2"), "the following arguments are required: NEW"),
        (("nosuchcommand",), "invalid choice: 'nosuchcommand'"),
    ],
    ids=[
        "unknown-ref",
        "missing-file",
        "bad-ref",
        "bad-mode",
        "consumer-without-fields",
        "bad-path",
        "missing-arg",
        "bad-command",
    ],
)
def test_usage_and_input_errors_exit_2_with_a_message(run: Any, argv: tuple[str, ...], message: str) -> None:
    code, out, err = run(*argv)

    assert 2 == code
    assert "" == out
    assert message in err
    assert "Traceback" not in err


def test_invalid_schema_file_exits_2(tmp_path: Path, run: Any) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text("{not json", encoding="utf-8")

    code, _, err = run("compat", str(bad), "order.v3")

    assert 2 == code
    assert "bad.avsc" in err
    assert "not valid JSON" in err


def test_help_exits_0(run: Any) -> None:
    code, out, _ = run("compat", "--help")

    assert 0 == code
    assert "--consumer" in out


def test_python_dash_m_runs_the_command_line(contracts_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syscontract", "compat", "order.v2", "order.v3", "--contracts", str(contracts_dir)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (0, "") == (done.returncode, done.stderr)
    assert "compatible" in done.stdout
