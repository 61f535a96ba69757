"""``syscontract drift --prometheus`` against a real Prometheus scraping real services.

The shop of examples/shop runs as four processes, each with the OpenTelemetry SDK and its Prometheus
exporter (tests/integration/live_service.py): in prod, the stale checkout release (order.v2) feeds
pricing, which requires order.v3's customerTier (the incident); in staging, the current release
(order.v3) feeds pricing. Each checkout sends 8 orders at once (before Prometheus's first scrape,
most likely) and 4 more 3 seconds later. Prometheus scrapes every second, with a temporary TSDB, and
is killed with the services after the module.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_binary
from prometheus_server import PrometheusServer, free_port, stop_all

from syscontract.cli import main
from syscontract.system import live

ROOT = Path(__file__).parents[2]
SHOP = ROOT / "examples" / "shop"
SERVICE = Path(__file__).parent / "live_service.py"
RELEASES = {"prod": "checkout_legacy.py", "staging": "checkout.py"}
ORDERS, MORE = 8, 4
SENT = ORDERS + MORE
# the manifests of the system the test runs: prod has checkout still on order.v2 and pricing already on
# the release (order.v3, customerTier), the incident; staging runs the release
MANIFEST_SOURCES = {
    ("prod", "checkout"): SHOP / "deployments" / "prod" / "checkout.json",
    ("prod", "pricing"): SHOP / "release" / "pricing.json",
    ("staging", "checkout"): SHOP / "deployments" / "staging" / "checkout.json",
    ("staging", "pricing"): SHOP / "deployments" / "staging" / "pricing.json",
}


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("manifests")
    written = []
    for (environment, service), source in MANIFEST_SOURCES.items():
        body = json.loads(source.read_text())
        body["environment"] = environment
        target = root / environment / f"{service}.json"
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        written.append(str(target))
    return written


@dataclass
class System:
    url: str
    ports: dict[tuple[str, str], int]
    logs: Path


def _complete(url: str) -> bool:
    """Whether Prometheus has seen every message of every service."""
    try:
        with live.Prometheus(url, timeout=5) as prometheus:
            snapshot = live.observe(prometheus, "1h")
    except live.PrometheusError:
        return False
    counts = {(f.environment, f.service, f.role, f.outcome): f.count for f in snapshot.flows}
    return all(
        counts.get(key) == SENT
        for key in [
            ("prod", "checkout", "producer", "ok"),
            ("prod", "pricing", "consumer", "violation"),
            ("staging", "checkout", "producer", "ok"),
            ("staging", "pricing", "consumer", "ok"),
        ]
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    binary = require_binary("prometheus")
    work = tmp_path_factory.mktemp("live")
    ports = {(env, svc): free_port() for env in RELEASES for svc in ("checkout", "pricing")}
    server = PrometheusServer(binary, work / "prometheus", targets=[f"127.0.0.1:{p}" for p in ports.values()])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        server.wait_ready()
        for environment, release in RELEASES.items():

            def service(
                name: str, module: Path, *extra: str, environment: str = environment, **streams: Any
            ) -> subprocess.Popen[bytes]:
                command = [sys.executable, str(SERVICE), "--service", name, "--environment", environment,
                           "--port", str(ports[environment, name]), "--module", str(module), *extra]  # fmt: skip
                log = open(work / f"{environment}-{name}.log", "wb")  # noqa: SIM115 - closed with the process
                process = subprocess.Popen(command, stderr=log, **streams)
                log.close()
                processes.append(process)
                return process

            checkout = service("checkout", SHOP / "checkout" / release, "--orders", str(ORDERS), "--more", str(MORE),
                               stdout=subprocess.PIPE)  # fmt: skip
            service("pricing", SHOP / "pricing" / "pricing.py", stdin=checkout.stdout, stdout=subprocess.DEVNULL)
            assert checkout.stdout is not None
            checkout.stdout.close()
        deadline = time.monotonic() + 60
        while not _complete(server.url):
            if time.monotonic() > deadline:
                logs = "\n".join(f"{p.name}:\n{p.read_text()[-1500:]}" for p in sorted(work.glob("*.log")))
                pytest.fail(f"Prometheus did not see every message within 60 s\n{logs}", pytrace=False)
            time.sleep(0.5)
        yield System(server.url, ports, work)
    finally:
        stop_all(processes)
        server.stop()


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_text_form_names_the_incident_in_prod_and_nothing_in_staging(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drift(capsys, "--prometheus", system.url, "--contracts", str(SHOP / "contracts"))
    assert (1, "") == (code, err)
    assert (
        f"""live: {system.url}, the last 1h
ENVIRONMENT  CONTRACT  PRODUCED BY            CONSUMED BY  RECEIVED (WRITER MESSAGES)
prod         order     checkout v2 (12 sent)  pricing v3   pricing: v2 12 (12 violations)
staging      order     checkout v3 (12 sent)  pricing v3   pricing: v3 12

1 error, 0 warnings
       ENV   FIELD         FINDING
ERROR  prod  customerTier  prod: pricing requires order.v3 customerTier; checkout in prod produces
                           order.v2, which has no customerTier. In the last 1h pricing received 12
                           messages written with order.v2: 12 violations of customerTier (not-in-
                           writer-schema).
"""
        == out
    )


def test_without_contracts_nothing_is_judged_and_the_violations_are_counted(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = drift(capsys, "--prometheus", system.url, "--format", "json")
    body = json.loads(out)
    assert 1 == code
    # the gates' rule (issue 21, finding 8): without the writers' contracts no consumer can be judged, in
    # staging either, so each is an error, never "no findings"
    assert [("prod", "not-judged", "order.v2"), ("staging", "not-judged", "order.v3")] == [
        (f["environment"], f["kind"], f["produced"]) for f in body["findings"] if f["kind"] != "violations"
    ]
    assert [
        {
            "environment": "prod",
            "severity": "error",
            "kind": "violations",
            "consumer": "pricing",
            "handler": "pricing.price",
            "contract": "order.v3",
            "field": "customerTier",  # named by the series themselves (issue 25): no contract needed
            "producer": None,
            "produced": "order.v2",
            "message": "prod: in the last 1h pricing received 12 messages of order.v3 written with order.v2: "
            "12 violations of customerTier (not-in-writer-schema).",
            "evidence": {
                "writer": "order.v2",
                "messages": 12,
                "violations": 12,
                "by_field": [{"field": "customerTier", "reason": "not-in-writer-schema", "violations": 12}],
            },
        }
    ] == [f for f in body["findings"] if f["kind"] == "violations"]
    assert {"order.v2": {"violation": SENT}} == body["matrix"]["prod"]["order"]["received"]["pricing"]
    assert {"order.v3": {"ok": SENT}} == body["matrix"]["staging"]["order"]["received"]["pricing"]
    assert {"checkout": {"v2": SENT}} == body["matrix"]["prod"]["order"]["produced"]


def test_with_the_manifests_the_finding_names_field_producer_and_evidence(
    system: System, manifests: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = drift(capsys, *manifests, "--prometheus", system.url, "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert 1 == code
    assert {
        "environment": "prod",
        "severity": "error",
        "kind": "field-not-sent",
        "consumer": "pricing",
        "handler": "pricing.price",
        "contract": "order.v3",
        "field": "customerTier",
        "producer": "checkout",
        "produced": "order.v2",
        "message": "prod: pricing requires order.v3 customerTier; checkout in prod produces order.v2, which has no "
        "customerTier. In the last 1h pricing received 12 messages written with order.v2: 12 violations of "
        "customerTier (not-in-writer-schema).",
        "evidence": {
            "writer": "order.v2",
            "messages": 12,
            "violations": 12,
            "by_field": [{"field": "customerTier", "reason": "not-in-writer-schema", "violations": 12}],
            "reason": "not-in-writer-schema",
        },
    } == finding


def test_staging_is_clean_with_and_without_its_manifests(
    system: System, manifests: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    staging = [m for m in manifests if "/staging/" in m]
    for given in ([], staging):
        code, out, err = drift(capsys, *given, "--prometheus", system.url, "--environment", "staging",
                               "--contracts", str(SHOP / "contracts"))  # fmt: skip
        assert (0, "") == (code, err)
        assert "prod" not in out
        assert out.endswith(
            "staging      order     checkout v3 (12 sent)  pricing v3   pricing: v3 12\n\nno findings\n"
        )


def test_a_manifest_that_is_not_what_runs_is_a_finding(
    system: System, manifests: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a prod manifest for checkout that says it runs the current release: it runs the stale one
    stale = json.loads((SHOP / "deployments" / "staging" / "checkout.json").read_text())
    stale["environment"] = "prod"
    (tmp_path / "checkout.json").write_text(json.dumps(stale))
    pricing = next(m for m in manifests if m.endswith("prod/pricing.json"))  # what prod's pricing runs
    code, out, _ = drift(capsys, str(tmp_path / "checkout.json"), pricing, "--prometheus", system.url,
                         "--environment", "prod", "--format", "json")  # fmt: skip
    found = {(f["kind"], f["consumer"], f["contract"], f["handler"]): f for f in json.loads(out)["findings"]}
    assert 1 == code
    assert {
        ("violations", "pricing", "order.v3", "pricing.price"),  # order.v2 is in no manifest given: no schema,
        ("not-judged", "pricing", "order.v3", "pricing.price"),  # so whether it sends customerTier is not judged
        ("not-observed", "checkout", "order.v3", "checkout.order_placed"),
        ("not-in-manifest", "checkout", "order.v2", "checkout_legacy.order_placed"),
        ("writer-not-in-manifests", "pricing", "order.v3", ""),
    } == set(found)
    assert {"instances": 1, "produced": SENT} == found[
        ("not-in-manifest", "checkout", "order.v2", "checkout_legacy.order_placed")
    ]["evidence"]


def test_the_same_state_gives_the_same_bytes(
    system: System, manifests: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    first = drift(capsys, *manifests, "--prometheus", system.url, "--format", "json")
    assert first == drift(capsys, *manifests, "--prometheus", system.url, "--format", "json")


def test_four_aggregated_queries_whatever_the_number_of_series(system: System) -> None:
    with live.Prometheus(system.url) as prometheus:
        snapshot = live.observe(prometheus, "1h")
    assert 4 == snapshot.queries == prometheus.queries
    assert [("prod", "pricing", "order.v3", "order.v2", "customerTier", "not-in-writer-schema", SENT)] == [
        (v.environment, v.service, v.contract, v.writer, v.field, v.reason, v.count) for v in snapshot.violations
    ]
    assert [(d.environment, d.service, d.role, d.contract, d.instances) for d in snapshot.declared] == [
        ("prod", "checkout", "producer", "order.v2", 1),
        ("prod", "pricing", "consumer", "order.v3", 1),
        ("staging", "checkout", "producer", "order.v3", 1),
        ("staging", "pricing", "consumer", "order.v3", 1),
    ]


# -- failing closed ----------------------------------------------------------------------------------


def test_an_environment_without_data_is_exit_2_with_one_line(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drift(capsys, "--prometheus", system.url, "--environment", "dev")
    assert (2, "") == (code, out)
    assert [
        f"syscontract drift: error: Prometheus at {system.url} has no syscontract series for environment 'dev' in "
        "the last 1h: are the services exporting syscontract.declarations with deployment.environment.name set, "
        "and is Prometheus scraping them?"
    ] == err.splitlines()


def test_manifests_of_an_environment_without_data_are_exit_2(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    qa = json.loads((SHOP / "deployments" / "staging" / "pricing.json").read_text())
    qa["environment"] = "qa"
    (tmp_path / "pricing.json").write_text(json.dumps(qa))
    code, out, err = drift(capsys, str(tmp_path / "pricing.json"), "--prometheus", system.url)
    assert (2, "") == (code, out)
    assert 1 == len(err.splitlines())
    assert "no syscontract series for environment 'qa'" in err


def test_an_unreachable_prometheus_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    code, out, err = drift(capsys, "--prometheus", f"http://127.0.0.1:{port}")
    assert (2, "") == (code, out)
    assert [f"syscontract drift: error: cannot reach Prometheus at http://127.0.0.1:{port}: connection refused"] == (
        err.splitlines()
    )


def test_something_that_is_not_prometheus_is_exit_2(system: System, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = f"http://127.0.0.1:{system.ports['prod', 'pricing']}"  # the exporter, not a query API
    code, out, err = drift(capsys, "--prometheus", metrics)
    assert (2, "") == (code, out)
    assert [
        f"syscontract drift: error: Prometheus at {metrics} answered HTTP 405, not with its query API's JSON: is "
        "this the right URL, and are the credentials right?"
    ] == err.splitlines()


# -- usage-aware gates (issue 25, item 3) --------------------------------------------------------------------


def gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def prod_with(tmp_path: Path, **replaced: Path) -> str:
    """deployments/prod (checkout on order.v2, pricing on the previous release), with ``replaced``
    services' manifests taken from elsewhere (rewritten to describe prod)."""
    target = tmp_path / "prod"
    target.mkdir()
    for source in sorted((SHOP / "deployments" / "prod").glob("*.json")):
        body = json.loads(replaced.get(source.stem, source).read_text())
        body["environment"] = "prod"
        (target / source.name).write_text(json.dumps(body))
    return str(target)


def test_can_deploy_prints_the_prod_evidence_of_the_incident(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = gate(capsys, "can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                          prod_with(tmp_path), "--prometheus", system.url, "--window", "1h")  # fmt: skip
    assert (1, "") == (code, err)
    flat = " ".join(out.split())
    assert flat.startswith(f"pricing cannot deploy to prod (live evidence: {system.url}, the last 1h): 1 error,")
    assert re.search(
        r"Live in prod: pricing received 12 order\.v2 messages in the last 1h \(last at \d{4}-\d\d-\d\d "
        r"\d\d:\d\d:\d\d UTC\): 12 violations of customerTier \(not-in- ?writer-schema\)\.",
        flat,
    ), out


def test_a_waiver_lets_the_incident_deploy_with_its_evidence_and_who_waived_it(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's done-means: can-deploy --prometheus prints the prod evidence and a waiver's effect
    (the waiver beside the prod manifests; the date injected, so no clock decides the test)."""
    from syscontract.system import waivers

    monkeypatch.setattr(waivers, "today", lambda: datetime.date(2026, 3, 1))
    prod = prod_with(tmp_path)
    (Path(prod) / "waivers.toml").write_text(
        '[[waiver]]\nconsumer = "pricing"\ncontract = "order.v3"\nfield = "customerTier"\nenvironment = "prod"\n'
        'owner = "pricing-team"\nreason = "PRICE-123"\nexpires = 2026-03-31\n'
    )
    code, out, err = gate(capsys, "can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                          prod, "--prometheus", system.url, "--window", "1h")  # fmt: skip
    assert (0, "") == (code, err)
    flat = " ".join(out.split()).replace("- ", "-")  # the table wraps after a hyphen
    assert flat.startswith(f"pricing can deploy to prod, with warnings (live evidence: {system.url}, the last 1h): ")
    assert re.search(
        r"WARNING prod customerTier .* Live in prod: pricing received 12 order\.v2 messages in the last 1h .* "
        r"Waived by pricing-team until 2026-03-31: PRICE-123 \(.*waivers\.toml:1\)\.",
        flat,
    ), out


def test_the_evidence_is_in_the_json_and_changes_no_verdict(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = gate(capsys, "can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                        prod_with(tmp_path), "--prometheus", system.url, "--window", "1h",
                        "--format", "json")  # fmt: skip
    body = json.loads(out)
    (finding,) = body["findings"]
    assert (1, False, "error", "field-not-sent") == (code, body["can_deploy"], finding["severity"], finding["kind"])
    live_evidence = finding["evidence"]["live"]
    assert {"window": "1h", "consumer": "pricing", "writer": "order.v2", "messages": SENT, "violations": SENT} == {
        k: live_evidence[k] for k in ("window", "consumer", "writer", "messages", "violations")
    }
    assert [{"field": "customerTier", "reason": "not-in-writer-schema", "violations": SENT}] == live_evidence[
        "by_field"
    ]


def test_a_gap_in_the_data_is_exit_2_never_unused(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Prometheus has run for seconds: most of the last hour has no data, so silence proves nothing
    code, out, err = gate(capsys, "can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                          prod_with(tmp_path), "--prometheus", system.url, "--window", "1h",
                          "--unused-after", "1h")  # fmt: skip
    assert (2, "") == (code, out)
    assert "has a gap in prod's syscontract series within the last 1h" in err


def _covered(url: str, window: str) -> bool:
    """Whether staging, and pricing's consumer of order in it, reported at every step of ``window``."""
    with live.Prometheus(url, timeout=5) as prometheus:
        seen = live.usage(prometheus, "staging", "1h", unused_after=window)
        return seen.covered and ("pricing", "order") in seen.reporting


def test_a_deployed_writer_proven_silent_is_a_warning_with_unused_after(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # staging's manifests name a second producer, legacy, on order.v2: it never sent anything there
    staging = tmp_path / "staging"
    staging.mkdir()
    for service in ("checkout", "pricing"):
        (staging / f"{service}.json").write_text((SHOP / "deployments" / "staging" / f"{service}.json").read_text())
    legacy = json.loads((SHOP / "deployments" / "prod" / "checkout.json").read_text())
    legacy.update(service="legacy", environment="staging")
    (staging / "legacy.json").write_text(json.dumps(legacy))
    args = ["can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "staging", "--with", str(staging),
            "--prometheus", system.url, "--window", "1h"]  # fmt: skip

    code, out, _ = gate(capsys, *args)
    assert 1 == code
    assert "Live in staging: pricing received no order.v2 message in the last 1h." in " ".join(out.split())

    deadline = time.monotonic() + 60  # until Prometheus holds data for every step of the last 5 s
    while not _covered(system.url, "5s"):
        assert time.monotonic() < deadline, "Prometheus never covered 5 s of staging"
        time.sleep(0.5)
    code, out, err = gate(capsys, *args, "--unused-after", "5s")
    flat = " ".join(out.split())
    assert (0, "") == (code, err), out
    assert flat.startswith("pricing can deploy to staging, with warnings")
    assert "Unused: nothing written with order.v2 reached pricing in staging in the last 5s" in flat


def test_a_manifest_that_traffic_contradicts_is_its_own_finding(
    system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # prod's checkout manifest says order.v3; prod's checkout reported order.v2 only
    with_v3 = prod_with(tmp_path, checkout=SHOP / "deployments" / "staging" / "checkout.json")
    code, out, _ = gate(capsys, "can-deploy", str(SHOP / "release" / "entitlements.json"),
                        "--to", "prod", "--with", with_v3, "--prometheus", system.url, "--window", "1h",
                        "--format", "json")  # fmt: skip
    found = [f for f in json.loads(out)["findings"] if f["kind"] == "manifest-disagrees"]
    assert 1 == code
    assert [
        # the manifest says checkout sends order.v3; it sent order.v2
        ("", "checkout", "order.v3", {"manifest": "order.v3", "live": ["order.v2"], "sent": {"order.v2": SENT}}),
        # deployments/prod says pricing still runs the previous release; prod's pricing declares order.v3
        ("pricing", None, "order.v2", {"manifest": "order.v2", "live": ["order.v3"], "sent": {}}),
    ] == [(f["consumer"], f["producer"], f["contract"], f["evidence"]) for f in found]


def test_plan_findings_carry_the_evidence(system: System, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # pricing's release alone cannot go to prod (checkout still sends order.v2): the plan says why, with traffic
    code, out, _ = gate(capsys, "plan", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                        prod_with(tmp_path), "--prometheus", system.url, "--window", "1h")  # fmt: skip
    assert 1 == code
    assert "Live in prod: pricing received 12 order.v2 messages in the last 1h" in " ".join(out.split())


def _exported(port: int) -> str:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://127.0.0.1:{port}/metrics", timeout=5
        ) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_traffic_that_all_came_before_the_first_scrape_still_has_a_last_seen(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The services send everything before Prometheus even starts: no increase() is ever visible, only
    the series' birth with its final count (what a busy machine made of the module's system at times)."""
    binary = require_binary("prometheus")
    ports = {name: free_port() for name in ("checkout", "pricing")}
    processes: list[subprocess.Popen[bytes]] = []
    server = None
    try:
        command = [sys.executable, str(SERVICE), "--environment", "prod", "--orders", "5"]
        log = open(tmp_path / "services.log", "wb")  # noqa: SIM115 - closed with the processes
        checkout = subprocess.Popen([*command, "--service", "checkout", "--port", str(ports["checkout"]),
                                     "--module", str(SHOP / "checkout" / RELEASES["prod"])],
                                    stdout=subprocess.PIPE, stderr=log)  # fmt: skip
        processes.append(checkout)
        processes.append(subprocess.Popen([*command, "--service", "pricing", "--port", str(ports["pricing"]),
                                           "--module", str(SHOP / "pricing" / "pricing.py")],
                                          stdin=checkout.stdout, stdout=subprocess.DEVNULL, stderr=log))  # fmt: skip
        log.close()
        assert checkout.stdout is not None
        checkout.stdout.close()
        counted = re.compile(r'^syscontract_messages_total\{[^}]*outcome="violation"[^}]*\} 5(\.0)?$', re.M)
        deadline = time.monotonic() + 60
        while not counted.search(_exported(ports["pricing"])):  # every message handled, before any scrape
            assert time.monotonic() < deadline, (tmp_path / "services.log").read_text()[-1500:]
            time.sleep(0.2)
        server = PrometheusServer(binary, tmp_path / "prometheus", targets=[f"127.0.0.1:{p}" for p in ports.values()])
        server.wait_ready()
        while not any(f.count == 5 and f.outcome == "violation" for f in _snapshot(server.url)):
            assert time.monotonic() < deadline + 60, "Prometheus did not scrape the services"
            time.sleep(0.5)
        code, out, _ = gate(capsys, "can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                            prod_with(tmp_path), "--prometheus", server.url, "--window", "1h")  # fmt: skip
        assert 1 == code
        assert re.search(
            r"pricing received 5 order\.v2 messages in the last 1h \(last at \d{4}-", " ".join(out.split())
        )
    finally:
        for process in processes:
            process.kill()
            process.wait()
        if server is not None:
            server.stop()


def _snapshot(url: str) -> list[live.Flow]:
    try:
        with live.Prometheus(url, timeout=5) as prometheus:
            return list(live.observe(prometheus, "1h").flows)
    except live.PrometheusError:
        return []
