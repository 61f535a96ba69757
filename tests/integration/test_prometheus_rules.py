"""The alerting rules and scrape configuration shipped in examples/prometheus, checked and unit-tested by
promtool (Prometheus's own rule test runner: alerts_test.yml holds the input series and the expected alerts)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import require_binary

EXAMPLES = Path(__file__).parents[2] / "examples" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), *args], cwd=EXAMPLES, capture_output=True, text=True, check=False, timeout=120
    )


def test_the_alerting_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerting_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert 0 == result.returncode, result.stdout + result.stderr


def test_the_scrape_configuration_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert 0 == result.returncode, result.stdout + result.stderr
