"""The test command tells the truth: integration tests skipped for a missing server are counted on the
last line, with how to start them (the hook in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

HOOK = Path(__file__).parents[1] / "conftest.py"


def hook_source() -> str:
    text = HOOK.read_text()
    return "from typing import Any\n\n\n" + text[text.index("def pytest_terminal_summary") :]


def test_skipped_integration_tests_are_counted_on_the_last_line(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(hook_source())
    integration = pytester.mkdir("integration")
    (integration / "test_broker.py").write_text(
        "import pytest\n\n"
        "def test_one():\n    pytest.skip('redis does not answer')\n\n"
        "def test_two():\n    pytest.skip('nats does not answer')\n"
    )
    (pytester.path / "test_unit.py").write_text("def test_fine():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        ["2 integration tests skipped: start Redis, NATS, RabbitMQ (and Prometheus) with `make services`"]
    )


def test_nothing_is_said_when_no_integration_test_skipped(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(hook_source())
    (pytester.path / "test_unit.py").write_text("def test_fine():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "integration test" not in result.stdout.str()
