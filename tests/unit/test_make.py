"""``make test``, the README's test command: lint runs whatever the suite said, the run fails when either
fails, and a missing optional server is a line from ``.ci/services``, not make's ``Error 1 (ignored)``.

The Makefile runs here in a scratch directory against stand-ins for pytest, ruff, mypy and
``.ci/services`` that record their calls and exit as each case says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")

STAND_IN = """#!/bin/sh
echo "{name} $*" >> "$CALLS"
exit "${{{variable}:-0}}"
"""


def make_test(tmp_path: Path, **exits: int | str) -> tuple[int, str, list[str]]:
    """``make test`` with each stand-in exiting as ``exits`` says (``PYTEST``, ``RUFF``, ``MYPY``,
    ``SERVICES``; ``CI`` is passed as is): the exit status, the output, the calls in order."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name, variable in [("python", "PYTEST"), ("ruff", "RUFF"), ("mypy", "MYPY")]:
        (bin_ / name).write_text(STAND_IN.format(name=name, variable=variable))
        (bin_ / name).chmod(0o755)
    (tmp_path / ".ci" / "services").write_text(
        'echo "services: prometheus is not installed: the live drift tests skip"\n'
        + STAND_IN.format(name="services", variable="SERVICES").split("\n", 1)[1]
    )
    stamp = tmp_path / ".venv" / ".installed"
    stamp.write_text("")
    os.utime(stamp, (os.path.getmtime(tmp_path / "pyproject.toml") + 10,) * 2)  # installed: nothing to do
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update({"CALLS": str(tmp_path / "calls"), **{k: str(v) for k, v in exits.items()}})
    assert MAKE is not None
    done = subprocess.run([MAKE, "test"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    calls = (tmp_path / "calls").read_text().splitlines()
    return done.returncode, done.stdout + done.stderr, calls


def commands(calls: list[str]) -> list[str]:
    return [" ".join(call.split()[:2]) for call in calls]


def test_a_passing_run_runs_the_servers_the_suite_and_every_lint_check(tmp_path: Path) -> None:
    code, output, calls = make_test(tmp_path)
    assert ["services", "python -m", "ruff check", "ruff format", "mypy"] == commands(calls)
    assert 0 == code, output


def test_lint_runs_after_a_failing_suite_and_the_run_fails(tmp_path: Path) -> None:
    code, output, calls = make_test(tmp_path, PYTEST=1)
    assert ["services", "python -m", "ruff check", "ruff format", "mypy"] == commands(calls)
    assert 0 != code
    assert "make test: failed (pytest exit 1, lint exit 0" in output


def test_every_lint_check_runs_after_a_failing_one_and_the_run_fails(tmp_path: Path) -> None:
    code, output, calls = make_test(tmp_path, RUFF=1)
    assert ["services", "python -m", "ruff check", "ruff format", "mypy"] == commands(calls)
    assert 0 != code
    assert "make test: failed (pytest exit 0, lint exit 2" in output


def test_a_missing_optional_server_is_one_line_without_makes_ignored_error(tmp_path: Path) -> None:
    code, output, _ = make_test(tmp_path, SERVICES=1)
    assert 0 == code, output
    assert ["services: prometheus is not installed: the live drift tests skip"] == [
        line for line in output.splitlines() if "services" in line or "rror" in line or "ignored" in line
    ]


def test_with_ci_a_missing_server_fails_the_run(tmp_path: Path) -> None:
    code, output, calls = make_test(tmp_path, SERVICES=1, CI="true")
    assert ["services", "python -m", "ruff check", "ruff format", "mypy"] == commands(calls)
    assert 0 != code
    assert "services exit 1" in output


def test_ci_runs_the_servers_install_then_exactly_make_test() -> None:
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ["bash .ci/services --install", "make test"] == lines[-2:]
