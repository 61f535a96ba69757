"""The PromQL live drift sends, evaluated by Prometheus's own engine (``promtool test rules``) on series
written out minute by minute: attribution through ``target_info`` and through labels on the series,
exact counts for counters that existed before the window, were born inside it, or were reset in it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conftest import require_binary

from syscontract.system import live


def target_info(instance: str, service: str, environment: str, process: str = "p1") -> str:
    return (
        f'target_info{{job="shop", instance="{instance}", service_name="{service}", '
        f'deployment_environment_name="{environment}", service_instance_id="{process}"}}'
    )


def messages(instance: str, outcome: str, writer: str, extra: str = "") -> str:
    return (
        f'syscontract_messages_total{{job="shop", instance="{instance}", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_outcome="{outcome}", syscontract_writer_version="{writer}"{extra}}}'
    )


def declaration(instance: str, handler: str) -> str:
    return (
        f'syscontract_declarations{{job="shop", instance="{instance}", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_handler="{handler}", syscontract_fields="customerTier"}}'
    )


def group(environment: str, service: str, outcome: str, writer: str) -> str:
    return (
        f'{{deployment_environment_name="{environment}", service_name="{service}", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_outcome="{outcome}", syscontract_writer_version="{writer}"}}'
    )


def declared(environment: str, handler: str) -> str:
    return (
        f'{{deployment_environment_name="{environment}", service_name="pricing", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_handler="{handler}", syscontract_fields="customerTier"}}'
    )


EU = ', service_name="pricing", deployment_environment_name="eu"'

# one sample a minute from 0 to 121 minutes; the queries are evaluated at 120m over the last hour
SERIES = [
    # prod, exporter style (resource labels on target_info only), one process restarted at 100m on the
    # same address with a new service.instance.id: still one match for the join
    {"series": target_info("a:9464", "pricing", "prod"), "values": "1x100"},
    {"series": target_info("a:9464", "pricing", "prod", "p2"), "values": "_x100 1x21"},
    # counting before the window: 60 messages in it, exactly
    {"series": messages("a:9464", "ok", "order.v3"), "values": "0+1x121"},
    # born inside the window with 8 already counted (before the first scrape), 12 by the end: 12
    {"series": messages("a:9464", "violation", "order.v2"), "values": "_x90 8x4 12x26"},
    {"series": declaration("a:9464", "pricing.price"), "values": "1x121"},
    # a declaration whose process stopped 30 minutes ago is in the window; one that stopped before it is not
    {"series": declaration("a:9464", "pricing.price_v2"), "values": "1x90"},
    {"series": declaration("a:9464", "pricing.old"), "values": "1x50"},
    # staging: a counter reset at 81m (the process restarted): 200 before it, 390 after it
    {"series": target_info("b:9464", "pricing", "staging"), "values": "1x121"},
    {"series": messages("b:9464", "ok", "order.v3"), "values": "0+10x80 0+10x40"},
    {"series": declaration("b:9464", "pricing.price"), "values": "1x121"},
    # eu, through a Collector: resource labels on the series, no target_info for this job and instance
    {"series": messages("collector:8889", "violation", "order.v2", EU), "values": "0+2x121"},
    # nobody can say whose: no labels, no target_info
    {"series": declaration("lost:9464", "lost.handler"), "values": "1x121"},
]


def run(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    body = {"rule_files": [], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": SERIES, "promql_expr_test": tests}]}  # fmt: skip
    (tmp_path / "live_test.yml").write_text(json.dumps(body, indent=1))  # JSON is YAML
    command = [require_binary("promtool"), "test", "rules", "live_test.yml"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120)


def test_message_counts_are_exact_and_attributed_both_ways(tmp_path: Path) -> None:
    query = live.queries("1h")["messages"]
    # round(): a reset falls back to increase(), whose extrapolation depends on the Prometheus version
    expected = [
        {"labels": group("prod", "pricing", "ok", "order.v3"), "value": 60},
        {"labels": group("prod", "pricing", "violation", "order.v2"), "value": 12},
        {"labels": group("staging", "pricing", "ok", "order.v3"), "value": 590},
        {"labels": group("eu", "pricing", "violation", "order.v2"), "value": 120},
    ]
    result = run(tmp_path, [{"expr": f"round({query})", "eval_time": "120m", "exp_samples": expected}])
    assert 0 == result.returncode, result.stdout + result.stderr


def test_declarations_are_those_reported_in_the_window(tmp_path: Path) -> None:
    query = live.queries("1h")["declarations"]
    expected = [
        {"labels": declared("prod", "pricing.price"), "value": 1},
        {"labels": declared("prod", "pricing.price_v2"), "value": 1},
        {"labels": declared("staging", "pricing.price"), "value": 1},
    ]
    result = run(tmp_path, [{"expr": query, "eval_time": "120m", "exp_samples": expected}])
    assert 0 == result.returncode, result.stdout + result.stderr


def test_series_without_a_service_are_counted_as_unattributed(tmp_path: Path) -> None:
    query = live.queries("1h")["unattributed"]
    result = run(tmp_path, [{"expr": query, "eval_time": "120m", "exp_samples": [{"labels": "{}", "value": 1}]}])
    assert 0 == result.returncode, result.stdout + result.stderr


def test_environments_are_filtered_on_the_server(tmp_path: Path) -> None:
    query = live.queries("1h", ["staging"])["messages"]
    expected = [{"labels": group("staging", "pricing", "ok", "order.v3"), "value": 590}]
    result = run(tmp_path, [{"expr": f"round({query})", "eval_time": "120m", "exp_samples": expected}])
    assert 0 == result.returncode, result.stdout + result.stderr
