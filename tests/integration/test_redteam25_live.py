"""Red team against issue 25, evaluated by Prometheus's own engine (``promtool test rules``): counter
resets the message counts read as no traffic, so ``--unused-after`` (which proves a pair silent from
those counts) would call a pair unused that carried messages. Series are written minute by minute; the
queries are evaluated at 120m over the last hour, so the window's start is 60m and Prometheus's
``offset 1h`` finds the sample at 58m (its five-minute look-back)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import require_binary

from syscontract.system import live


def target_info(instance: str) -> str:
    return (
        f'target_info{{job="shop", instance="{instance}", service_name="pricing", '
        'deployment_environment_name="prod", service_instance_id="p1"}'
    )


def messages(instance: str, writer: str) -> str:
    return (
        f'syscontract_messages_total{{job="shop", instance="{instance}", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_outcome="ok", syscontract_writer_version="{writer}"}}'
    )


def group(writer: str) -> str:
    return (
        '{deployment_environment_name="prod", service_name="pricing", syscontract_contract="order.v3", '
        f'syscontract_role="consumer", syscontract_outcome="ok", syscontract_writer_version="{writer}"}}'
    )


# (writer label, values from minute 0, the messages counted in the window (60m, 120m])
RESETS = [
    # the process restarted on the same address between 58m and 61m, counted 7 messages before its first
    # scrape at 61m and died: one sample in the window, below the one before it
    ("order.v1", "0+1x58 _x2 7", 7),
    # the same, then it lived on idle: a flat counter in the window, below the one before it
    ("order.v2", "0+1x58 _x2 7 7 7", 7),
    # 2 messages (58 -> 60) counted before a restart inside the window, none after it
    ("order.v4", "0+1x58 _x2 60 0 0", 2),
    # restarted before the window (7 counted by 61m), and again inside it
    ("order.v5", "100x58 _x2 7 0", 7),
]


def evaluate(tmp_path: Path, series: list[dict[str, str]], expression: str, expected: list[dict[str, object]]) -> str:
    body = {"rule_files": [], "evaluation_interval": "1m", "tests": [{"interval": "1m", "input_series": series,
            "promql_expr_test": [{"expr": expression, "eval_time": "120m", "exp_samples": expected}]}]}  # fmt: skip
    (tmp_path / "redteam25.yml").write_text(json.dumps(body, indent=1))  # JSON is YAML
    command = [require_binary("promtool"), "test", "rules", "redteam25.yml"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120)
    return "" if done.returncode == 0 else done.stdout + done.stderr


@pytest.mark.parametrize(("writer", "values", "counted"), RESETS, ids=[r[0] for r in RESETS])
def test_door3_traffic_around_a_counter_reset_is_never_counted_as_none(
    tmp_path: Path, writer: str, values: str, counted: int
) -> None:
    """What the gates count is at least what flowed: a count of 0 (or none) is what ``--unused-after``
    takes for silence. Across a reset the count may be an estimate (Prometheus's ``increase()``), never
    zero for a window that carried messages."""
    series = [{"series": target_info(f"{writer}:9464"), "values": "1x121"},
              {"series": messages(f"{writer}:9464", writer), "values": values}]  # fmt: skip
    query = live.queries("1h", ["prod"])["messages"]
    assert "" == evaluate(tmp_path, series, f"round({query})", [{"labels": group(writer), "value": counted}])


def declaration(instance: str, contract: str) -> str:
    return (
        f'syscontract_declarations{{job="shop", instance="{instance}", syscontract_contract="{contract}", '
        'syscontract_role="consumer", syscontract_handler="h.price", syscontract_fields="customerTier"}'
    )


def counter(instance: str, contract: str) -> str:
    """The zero series a declaration's message counter is exported as before any message."""
    return (
        f'syscontract_messages_total{{job="shop", instance="{instance}", syscontract_contract="{contract}", '
        'syscontract_role="consumer", syscontract_outcome="ok"}'
    )


def test_door2_a_consumer_is_proven_reporting_only_when_it_reported_at_every_step(tmp_path: Path) -> None:
    """The gates' ``reporting`` query, by Prometheus's engine: pricing reported its consumer of order at
    every step (across a rollout from order.v2 to order.v3: one contract name); search stopped for ten
    minutes; audit declared order only in the first half of the window. Only pricing is proven."""
    reported = [  # (instance, service, contract, when it reported: its declaration and its message counter)
        ("a:9464", "pricing", "order.v2", "1x90"),
        ("a:9464", "pricing", "order.v3", "_x90 1x31"),
        ("b:9464", "search", "order.v3", "1x80 _x10 1x31"),
        ("c:9464", "audit", "order.v2", "1x90"),
    ]
    series = [{"series": target_info(i).replace("pricing", s), "values": "1x121"} for i, s, _, _ in reported]
    for instance, _, contract, values in reported:
        series.append({"series": declaration(instance, contract), "values": values})
        series.append({"series": counter(instance, contract), "values": values.replace("1x", "0x")})
    query = live.gate_queries("prod", "1h")["reporting"]
    proven = '{deployment_environment_name="prod", service_name="pricing", syscontract_role="consumer", '
    proven += 'syscontract_family="order"}'
    assert "" == evaluate(tmp_path, series, f"({query}) >= 0", [{"labels": proven, "value": 0}])


def test_door8_a_consumer_whose_message_series_are_missing_is_not_proven_reporting(tmp_path: Path) -> None:
    """A declaration's message counter is exported from the start (a zero series per declaration, until
    messages come), so a consumer whose declarations reach Prometheus and whose message series do not
    (a relabelling rule that drops them, a sample limit, a failing callback) has counts nobody can see:
    its silence is not proven. pricing's message series stop at 100m; search's never existed."""
    series = [
        {"series": target_info("a:9464"), "values": "1x121"},
        {"series": declaration("a:9464", "order.v3"), "values": "1x121"},
        {"series": counter("a:9464", "order.v3"), "values": "0x100"},
        {"series": target_info("b:9464").replace("pricing", "search"), "values": "1x121"},
        {"series": declaration("b:9464", "order.v3"), "values": "1x121"},
        {"series": target_info("c:9464").replace("pricing", "audit"), "values": "1x121"},
        {"series": declaration("c:9464", "order.v3"), "values": "1x121"},
        {"series": counter("c:9464", "order.v3"), "values": "0x121"},
    ]  # fmt: skip
    query = live.gate_queries("prod", "1h")["reporting"]
    proven = '{deployment_environment_name="prod", service_name="audit", syscontract_role="consumer", '
    proven += 'syscontract_family="order"}'
    assert "" == evaluate(tmp_path, series, f"({query}) >= 0", [{"labels": proven, "value": 0}])


def test_a_declaration_exports_its_message_counter_before_any_message() -> None:
    """What door 8's proof stands on: a consumer's message counter is a series (of zero) from the moment
    it is declared, so a consumer that reports and has no message series is one whose counts are lost."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    import syscontract
    from syscontract import FileRegistry, requires, telemetry

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        contracts = FileRegistry(Path(__file__).parents[1] / "data" / "contracts")
        syscontract.configure(meter_provider=provider, registry=contracts)
        requires("order.v3", ["customer.id"])(lambda event: None)
        data = reader.get_metrics_data()
        points = [
            (dict(point.attributes), point.value)
            for resource in (data.resource_metrics if data is not None else ())
            for scope in resource.scope_metrics
            if scope.scope.name == telemetry.METER
            for metric in scope.metrics
            if metric.name == telemetry.MESSAGES
            for point in metric.data.data_points
        ]
    finally:
        provider.shutdown()
    expected = {telemetry.CONTRACT: "order.v3", telemetry.ROLE: "consumer", telemetry.OUTCOME: "ok"}
    assert [(expected, 0)] == points
