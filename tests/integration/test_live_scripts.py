"""The shop's services run as scripts, as its README runs them (``python checkout/checkout.py | python
pricing/pricing.py``), compared live with the manifests ``syscontract inventory`` wrote from the same
files: no false finding (issue 25, item 2: a script's handler was ``__main__.price`` in telemetry and
``pricing.price`` in the manifest).

Each script runs unchanged as ``__main__``; ``scripts_site/sitecustomize.py`` (on PYTHONPATH) is the
application's OpenTelemetry set-up: the SDK and its Prometheus exporter, the resource from
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``. A real Prometheus scrapes them every second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_binary
from prometheus_server import PrometheusServer, free_port, stop_all

from syscontract.cli import main
from syscontract.system import live

ROOT = Path(__file__).parents[2]
SHOP = ROOT / "examples" / "shop"
SITE = Path(__file__).parent / "scripts_site"
# environment -> (the checkout script, the pricing script), as deploy.py inventories them
RUNS = {
    "prod": ("checkout/checkout_legacy.py", "pricing/pricing_legacy.py"),
    "staging": ("checkout/checkout.py", "pricing/pricing.py"),
}


def _seen_everything(url: str) -> bool:
    """Whether Prometheus has every message: in each environment, pricing received what checkout sent."""
    try:
        with live.Prometheus(url, timeout=5) as prometheus:
            snapshot = live.observe(prometheus, "1h")
    except live.PrometheusError:
        return False
    for environment in RUNS:
        sent = sum(f.count for f in snapshot.flows if (f.environment, f.role) == (environment, "producer"))
        got = sum(f.count for f in snapshot.flows if (f.environment, f.role) == (environment, "consumer"))
        if not sent or sent != got:
            return False
    return True


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus")
    work = tmp_path_factory.mktemp("scripts")
    ports = {(environment, service): free_port() for environment in RUNS for service in ("checkout", "pricing")}
    server = PrometheusServer(binary, work / "prometheus", targets=[f"127.0.0.1:{p}" for p in ports.values()])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        server.wait_ready()
        for environment, (checkout, pricing) in RUNS.items():

            def script(
                service: str, path: str, environment: str = environment, **streams: object
            ) -> subprocess.Popen[bytes]:
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SITE), os.environ.get("PYTHONPATH", "")]),
                       "PYTHONDONTWRITEBYTECODE": "1", "OTEL_SERVICE_NAME": service,
                       "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment.name={environment}",
                       "SYSCONTRACT_TEST_METRICS_PORT": str(ports[environment, service])}  # fmt: skip
                log = open(work / f"{environment}-{service}.log", "wb")  # noqa: SIM115 - closed with the process
                process = subprocess.Popen([sys.executable, path], cwd=SHOP, env=env, stderr=log, **streams)  # type: ignore[call-overload]
                log.close()
                processes.append(process)
                return process

            producer = script("checkout", checkout, stdout=subprocess.PIPE)
            script("pricing", pricing, stdin=producer.stdout, stdout=subprocess.DEVNULL)
            assert producer.stdout is not None
            producer.stdout.close()
        deadline = time.monotonic() + 60
        while not _seen_everything(server.url):
            if time.monotonic() > deadline:
                logs = "\n".join(f"{p.name}:\n{p.read_text()[-1500:]}" for p in sorted(work.glob("*.log")))
                pytest.fail(f"Prometheus did not see every message within 60 s\n{logs}", pytrace=False)
            time.sleep(0.5)
        yield server.url
    finally:
        stop_all(processes)
        server.stop()


def manifests() -> list[str]:
    """The committed manifests of what runs (entitlements does not run here)."""
    return [str(SHOP / "deployments" / e / f"{s}.json") for e in RUNS for s in ("checkout", "pricing")]


def test_scripts_report_the_handler_names_their_manifests_hold(prometheus_url: str) -> None:
    with live.Prometheus(prometheus_url) as prometheus:
        snapshot = live.observe(prometheus, "1h")
    reported = sorted((d.environment, d.handler) for d in snapshot.declared)
    listed = sorted(
        (body["environment"], entry["handler"])
        for body in (json.loads(Path(m).read_text()) for m in manifests())
        for entry in body["declarations"]
    )
    assert listed == reported
    assert "__main__" not in " ".join(handler for _, handler in reported)


def test_live_drift_against_the_manifests_finds_nothing_false(
    prometheus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["drift", *manifests(), "--prometheus", prometheus_url, "--contracts", str(SHOP / "contracts")])
    out, err = capsys.readouterr()
    assert (0, "") == (code, err), out
    assert out.endswith("\nno findings\n")
