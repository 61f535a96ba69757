"""Live drift's client and findings, without a Prometheus: a local HTTP server on 127.0.0.1 answers as
Prometheus's query API does (or as a gateway or a broken server would), and snapshots are built by hand.
The real thing is tests/integration/test_live.py."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from syscontract import FileRegistry
from syscontract.cli import main
from syscontract.errors import ContractError, MissingDependencyError, PrometheusError
from syscontract.system import live
from syscontract.system.live import Declared, Flow, Snapshot

CONTRACTS = Path(__file__).parents[1] / "data" / "contracts"  # order v2 (no customer.customerTier), v3, v4 JSON Schema

Answer = Callable[[str], tuple[int, dict[str, str], bytes]]


def vector(*rows: tuple[dict[str, str], float]) -> bytes:
    result = [{"metric": labels, "value": [1.0, str(value)]} for labels, value in rows]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


EMPTY = vector()
PRICING = {"deployment_environment_name": "prod", "service_name": "pricing", "syscontract_role": "consumer",
           "syscontract_contract": "order.v3", "syscontract_handler": "pricing.price",
           "syscontract_fields": "customer.customerTier,customer.id"}  # fmt: skip


def canned(
    declarations: bytes = EMPTY,
    messages: bytes = EMPTY,
    unattributed: bytes = EMPTY,
    violations: bytes = EMPTY,
    last_seen: bytes = EMPTY,
    covered: bytes = EMPTY,
    reporting: bytes = EMPTY,
) -> Answer:
    def answer(query: str) -> tuple[int, dict[str, str], bytes]:
        if query.startswith("max by"):
            return 200, {}, last_seen
        if query.startswith("min_over_time"):
            return 200, {}, covered
        if query.startswith("count_over_time"):
            return 200, {}, reporting
        if query.startswith("count by"):
            return 200, {}, declarations
        if "syscontract_violations_total" in query:
            return 200, {}, violations
        if query.startswith("sum by"):
            return 200, {}, messages
        return 200, {}, unattributed

    return answer


@dataclass
class FakePrometheus:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    answer: Answer = field(default_factory=canned)


@pytest.fixture
def server() -> Iterator[FakePrometheus]:
    yield from _serve(None)


def _serve(context: ssl.SSLContext | None) -> Iterator[FakePrometheus]:
    fake = FakePrometheus("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
            status, headers, data = fake.answer(form.get("query", ""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError):  # the client gave up waiting (the timeout test)
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context else "http"
    fake.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}/prometheus"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (live.TOKEN_ENV, live.BASIC_USER_ENV, live.BASIC_PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)


# -- the protocol --------------------------------------------------------------------------------------


def test_four_queries_posted_under_the_base_path_at_one_instant(server: FakePrometheus) -> None:
    server.answer = canned(declarations=vector((PRICING, 1)))
    with live.Prometheus(server.url + "/") as prometheus:
        snapshot = live.observe(prometheus, "30m", at=1_700_000_000.0)
    assert ["/prometheus/api/v1/query"] * 4 == [r["path"] for r in server.requests]
    assert {"1700000000.000"} == {r["form"]["time"] for r in server.requests}
    assert {"application/x-www-form-urlencoded"} == {r["headers"]["Content-Type"] for r in server.requests}
    assert list(live.queries("30m").values()) == [r["form"]["query"] for r in server.requests]
    assert (4, 1) == (snapshot.queries, len(snapshot.declared))


def test_queries_aggregate_on_the_server_and_filter_environments() -> None:
    expressions = live.queries("1h", ["prod", "eu.west"])
    assert expressions["declarations"].startswith("count by (deployment_environment_name, service_name, ")
    assert expressions["messages"].startswith("sum by (deployment_environment_name, service_name, ")
    assert 'deployment_environment_name=~"eu\\\\.west|prod"' in expressions["messages"]
    assert "group_left (service_name, deployment_environment_name)" in expressions["declarations"]


@pytest.mark.parametrize("window", ["", "1", "h", "1.5h", "0m", "-1h", "1h;drop", "1h]"])
def test_a_window_that_is_not_a_prometheus_duration_is_a_usage_error(
    window: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drift(capsys, "--prometheus", "http://127.0.0.1:9", f"--window={window}")
    assert (2, "") == (code, out)
    assert "--window must be a Prometheus duration" in err


def test_an_error_answer_is_exit_2_with_prometheus_own_words(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": parse error'}
    server.answer = lambda query: (400, {"Content-Type": "application/json"}, json.dumps(error).encode())
    code, out, err = drift(capsys, "--prometheus", server.url)
    assert (2, "") == (code, out)
    assert [
        f'syscontract drift: error: Prometheus at {server.url} answered HTTP 400: bad_data: invalid parameter "query": '
        "parse error"
    ] == err.splitlines()


def test_a_partial_answer_fails_closed(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    body = json.loads(vector((PRICING, 1)))
    body["warnings"] = ["store 10.0.0.7:10901 unreachable"]
    server.answer = lambda query: (200, {}, json.dumps(body).encode())
    code, out, err = drift(capsys, "--prometheus", server.url)
    assert (2, "") == (code, out)
    assert "answered with warnings, so the data may be incomplete: store 10.0.0.7:10901 unreachable" in err


def test_a_gateway_page_is_exit_2(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    server.answer = lambda query: (401, {"Content-Type": "text/html"}, b"<html>log in</html>")
    code, out, err = drift(capsys, "--prometheus", server.url)
    assert (2, "") == (code, out)
    assert f"Prometheus at {server.url} answered HTTP 401, not with its query API's JSON" in err


def test_redirects_are_not_followed(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    server.answer = lambda query: (302, {"Location": "https://sso.example/login"}, b"")
    code, _, err = drift(capsys, "--prometheus", server.url)
    assert 2 == code
    assert "answered HTTP 302 (redirected to https://sso.example/login)" in err
    assert 1 == len(server.requests)


def test_no_data_at_all_fails_closed(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drift(capsys, "--prometheus", server.url)
    assert (2, "") == (code, out)
    assert "has no syscontract series for any environment in the last 1h" in err


def test_a_slow_prometheus_times_out(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    def slow(query: str) -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.5)
        return 200, {}, EMPTY

    server.answer = slow
    code, _, err = drift(capsys, "--prometheus", server.url, "--timeout", "0.3")
    assert 2 == code
    assert [f"syscontract drift: error: cannot reach Prometheus at {server.url}: no answer in time"] == err.splitlines()


# -- credentials and TLS -----------------------------------------------------------------------------------


def test_a_bearer_token_comes_from_the_environment(
    server: FakePrometheus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(live.TOKEN_ENV, "s3cret")
    server.answer = canned(declarations=vector((PRICING, 1)))
    drift(capsys, "--prometheus", server.url)
    assert {"Bearer s3cret"} == {r["headers"]["Authorization"] for r in server.requests}


def test_basic_auth_comes_from_the_environment(
    server: FakePrometheus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(live.BASIC_USER_ENV, "ops")
    monkeypatch.setenv(live.BASIC_PASSWORD_ENV, "pa:ss")
    server.answer = canned(declarations=vector((PRICING, 1)))
    drift(capsys, "--prometheus", server.url)
    expected = "Basic " + base64.b64encode(b"ops:pa:ss").decode()
    assert {expected} == {r["headers"]["Authorization"] for r in server.requests}


def test_token_and_basic_auth_together_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(live.TOKEN_ENV, "t")
    monkeypatch.setenv(live.BASIC_USER_ENV, "u")
    code, _, err = drift(capsys, "--prometheus", "http://127.0.0.1:9")
    assert 2 == code
    assert "not both" in err


def test_credentials_in_the_url_are_refused_without_echoing_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = drift(capsys, "--prometheus", "http://ops:hunter2@127.0.0.1:9")
    assert 2 == code
    assert "hunter2" not in err
    assert f"put Prometheus credentials in {live.TOKEN_ENV}" in err


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1",
               "-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")]  # fmt: skip
    try:
        subprocess.run(command, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return where / "cert.pem", where / "key.pem"


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[FakePrometheus]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    yield from _serve(context)


def test_tls_is_verified_by_default(tls_server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drift(capsys, "--prometheus", tls_server.url)
    assert (2, "") == (code, out)
    assert "certificate verify failed" in err
    assert [] == tls_server.requests


def test_a_ca_bundle_makes_a_private_ca_trusted(
    tls_server: FakePrometheus, certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tls_server.answer = canned(declarations=vector((PRICING, 1)))
    code, out, err = drift(capsys, "--prometheus", tls_server.url, "--ca-bundle", str(certificate[0]),
                           "--external", "order")  # fmt: skip
    assert (0, "") == (code, err)
    assert f"live: {tls_server.url}, the last 1h" in out


def test_a_missing_http_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "urllib3", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'syscontract\[live\]'"):
        live.Prometheus("http://127.0.0.1:9")


def test_prometheus_errors_are_contract_errors_so_the_cli_exits_2() -> None:
    assert (ContractError,) == PrometheusError.__bases__


# -- findings from a snapshot ------------------------------------------------------------------------------


def snapshot(declared: list[Declared], flows: list[Flow] = (), unattributed: int = 0) -> Snapshot:  # type: ignore[assignment]
    return Snapshot("http://p", "1h", 0.0, (), tuple(declared), tuple(flows), unattributed, 3)


PRICE = Declared("prod", "pricing", "consumer", "order.v3", "pricing.price", ("customer.customerTier",), 2)
CHECKOUT_V2 = Declared("prod", "checkout", "producer", "order.v2", "checkout.place", (), 3)


def kinds(report: live.LiveReport) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.severity, f.field) for f in report.findings]


def test_a_declared_stale_producer_is_found_before_any_message_flows() -> None:
    report = live.drift(snapshot([PRICE, CHECKOUT_V2]), contracts=FileRegistry(CONTRACTS))
    assert [("field-not-sent", "error", "customer.customerTier")] == kinds(report)
    assert report.findings[0].message.endswith("pricing received no message written with order.v2 in the last 1h.")


def test_received_writers_are_checked_even_without_a_declared_producer() -> None:
    flows = [Flow("prod", "pricing", "consumer", "order.v3", "violation", "order.v2", 40)]
    report = live.drift(snapshot([PRICE], flows), contracts=FileRegistry(CONTRACTS))
    # no producer declared: an error of its own (finding 9), and what was received is judged as well
    assert [("field-not-sent", "error", "customer.customerTier"), ("no-producer", "error", None)] == kinds(report)
    finding = report.findings[0]
    assert ("field-not-sent", None, "order.v2") == (finding.kind, finding.producer, finding.produced)
    assert {
        "writer": "order.v2",
        "messages": 40,
        "violations": 40,
        "reason": "not-in-writer-schema",
    } == finding.evidence


def test_a_writer_that_sends_every_critical_field_is_no_finding_whatever_its_format() -> None:
    checkout = Declared("prod", "checkout", "producer", "order.v4", "checkout.place", (), 1)
    flows = [
        Flow("prod", "pricing", "consumer", "order.v3", "ok", "order.v4", 10)
    ]  # JSON Schema, customerTier required
    assert [] == live.drift(snapshot([PRICE, checkout], flows), contracts=FileRegistry(CONTRACTS)).findings


def test_finding9_a_consumer_with_no_producer_is_an_error_as_in_file_drift_unless_external() -> None:
    report = live.drift(snapshot([PRICE]))
    assert [("no-producer", "error", None)] == kinds(report)
    assert "nothing confirms what it receives (a producer that does not report to Prometheus: --external order)" in (
        report.findings[0].message
    )
    outside = live.drift(snapshot([PRICE]), external=["order"])
    assert [("no-producer", "warning", None)] == kinds(outside)
    assert [] == outside.errors


def test_undecodable_messages_are_a_warning_with_counts() -> None:
    flows = [
        Flow("prod", "pricing", "consumer", "order.v3", "decode_error", None, 3),
        Flow("prod", "pricing", "consumer", "order.v3", "ok", None, 97),
    ]
    (finding,) = [f for f in live.drift(snapshot([PRICE], flows)).findings if f.kind == "decode-errors"]
    assert ("decode-errors", "warning") == (finding.kind, finding.severity)
    assert "could not decode 3 messages of 100 for order.v3 whose writer the wire did not name" in finding.message


def test_finding9_series_nobody_can_attribute_are_an_error() -> None:
    report = live.drift(snapshot([PRICE, CHECKOUT_V2], unattributed=4), contracts=FileRegistry(CONTRACTS))
    assert ("unattributed", "error") in {(f.kind, f.severity) for f in report.findings}
    # --external is about producers outside what is seen, not about series nobody can place
    report = live.drift(snapshot([PRICE, CHECKOUT_V2], unattributed=4), external=["order"])
    assert ("unattributed", "error") in {(f.kind, f.severity) for f in report.findings}


def test_findings_are_sorted_whatever_order_prometheus_answers_in() -> None:
    declared = [PRICE, CHECKOUT_V2, Declared("staging", "pricing", "consumer", "order.v3", "pricing.price", (), 1)]
    flows = [Flow("prod", "pricing", "consumer", "order.v3", "violation", "order.v2", 5),
             Flow("staging", "pricing", "consumer", "order.v3", "violation", "order.v3", 1)]  # fmt: skip
    forward = live.drift(snapshot(declared, flows)).to_json()
    backward = live.drift(snapshot(declared[::-1], flows[::-1])).to_json()
    assert json.dumps(forward) == json.dumps(backward)
    assert [("prod", "not-judged"), ("prod", "violations"), ("staging", "no-producer"),
            ("staging", "violations")] == [(f["environment"], f["kind"]) for f in forward["findings"]]  # fmt: skip


def test_a_manifest_that_lists_other_fields_is_a_finding() -> None:
    import dataclasses

    from syscontract.manifest import load

    # pricing's release manifest (order.v3 [customer.id, customerTier]), as if deployed to prod
    release = load(Path(__file__).parents[2] / "examples" / "shop" / "release" / "pricing.json")
    manifest = dataclasses.replace(release, environment="prod")
    running = Declared("prod", "pricing", "consumer", "order.v3", "pricing.price", ("customerTier",), 1)
    report = live.drift(snapshot([running]), manifests=[manifest])
    assert "fields-differ" in [f.kind for f in report.findings]


def test_drift_without_manifests_or_prometheus_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drift(capsys)
    assert (2, "") == (code, out)
    assert ["syscontract drift: error: drift needs MANIFEST files or directories, or --prometheus URL"] == (
        err.splitlines()
    )


def test_live_options_without_prometheus_are_a_usage_error_not_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    manifests = str(Path(__file__).parents[2] / "examples" / "shop" / "deployments")
    code, out, err = drift(capsys, manifests, "--environment", "staging", "--window", "2h")
    assert (2, "") == (code, out)
    assert ["syscontract drift: error: --window, --environment only apply with --prometheus URL"] == err.splitlines()


def test_a_producer_whose_messages_break_its_contract_is_a_finding() -> None:
    flows = [Flow("prod", "checkout", "producer", "order.v2", "ok", None, 40),
             Flow("prod", "checkout", "producer", "order.v2", "violation", None, 2)]  # fmt: skip
    (finding,) = live.drift(snapshot([CHECKOUT_V2], flows)).findings
    assert ("violations", "checkout", "checkout.place", {"messages": 42, "violations": 2}) == (
        finding.kind, finding.producer, finding.handler, finding.evidence)  # fmt: skip


# -- the gates' live evidence (issue 25, item 3) -------------------------------------------------------------

SHOP = Path(__file__).parents[2] / "examples" / "shop"
PROD = {"deployment_environment_name": "prod"}
LEGACY_PRICING = {**PROD, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v2",
                  "syscontract_handler": "pricing_legacy.price", "syscontract_fields": "customer.id"}  # fmt: skip
CHECKOUT = {**PROD, "service_name": "checkout", "syscontract_role": "producer", "syscontract_contract": "order.v2",
            "syscontract_handler": "checkout_legacy.order_placed", "syscontract_fields": ""}  # fmt: skip
RECEIVED_V2 = {**PROD, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v2",
               "syscontract_outcome": "ok", "syscontract_writer_version": "order.v2"}  # fmt: skip


def can_deploy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                 str(SHOP / "deployments" / "prod"), *args])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("option", [["--window", "7d"], ["--unused-after", "30d"], ["--timeout", "3"]])
def test_a_gate_live_option_without_prometheus_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    code, out, err = can_deploy(capsys, *option)
    assert (2, "") == (code, out)
    assert f"{option[0]} only apply with --prometheus URL" in err


def test_a_gate_with_an_unreachable_prometheus_is_exit_2_never_a_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = can_deploy(capsys, "--prometheus", "http://127.0.0.1:9")
    assert (2, "") == (code, out)
    assert "cannot reach Prometheus at http://127.0.0.1:9" in err


def test_the_evidence_counts_the_writer_version_the_consumer_received_and_when(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    server.answer = canned(
        declarations=vector((LEGACY_PRICING, 1), (CHECKOUT, 1)),
        messages=vector((RECEIVED_V2, 1240)),
        last_seen=vector(({k: v for k, v in RECEIVED_V2.items() if k != "syscontract_outcome"}, 1_765_000_000)),
    )
    code, out, _ = can_deploy(capsys, "--prometheus", server.url)
    flat = " ".join(out.split())
    assert 1 == code  # the manifests' verdict stands: evidence changes wording, not safety
    assert (
        "Live in prod: pricing received 1,240 order.v2 messages in the last 7d (last at 2025-12-06 05:46:40 UTC), "
        "none refused." in flat
    )


def test_unused_after_turns_a_proven_silent_pair_into_a_warning_and_a_gap_into_exit_2(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    # pricing reported its consumer of order at every step (a consumer that does not report proves nothing)
    reporting = vector(({**PROD, "service_name": "pricing", "syscontract_role": "consumer",
                         "syscontract_family": "order"}, 0))  # fmt: skip
    answers = {"declarations": vector((LEGACY_PRICING, 1), (CHECKOUT, 1)), "reporting": reporting}
    server.answer = canned(**answers, covered=vector(({}, 0)))  # a step without data
    code, out, err = can_deploy(capsys, "--prometheus", server.url, "--unused-after", "30d")
    assert (2, "") == (code, out)
    assert "has a gap in prod's syscontract series within the last 30d (a step of 44m" in err

    server.answer = canned(**answers, covered=vector(({}, 2)))
    code, out, err = can_deploy(capsys, "--prometheus", server.url, "--unused-after", "30d")
    flat = " ".join(out.split())
    assert (0, "") == (code, err)
    assert flat.startswith("pricing can deploy to prod, with warnings")
    assert "Unused: nothing written with order.v2 reached pricing in prod in the last 30d, with data for every 44m" in (
        flat
    )

    server.answer = canned(**answers, messages=vector((RECEIVED_V2, 3)), covered=vector(({}, 2)))
    code, out, _ = can_deploy(capsys, "--prometheus", server.url, "--unused-after", "30d")
    assert 1 == code
    assert "It is in use: pricing received 3 in the last 30d." in " ".join(out.split())


# -- --contracts defaults as the library's registry does (issue 25, item 1) ----------------------------------


def test_drift_prometheus_looks_contracts_up_in_dot_contracts_by_default(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil

    server.answer = canned(declarations=vector((PRICING, 1), (CHECKOUT_V2_SERIES, 1)))
    monkeypatch.chdir(tmp_path)
    code, out, _ = drift(capsys, "--prometheus", server.url, "--format", "json")
    assert [("not-judged", None)] == [(f["kind"], f["field"]) for f in json.loads(out)["findings"]]  # nothing at hand

    shutil.copytree(CONTRACTS, tmp_path / "contracts")
    code, out, _ = drift(capsys, "--prometheus", server.url, "--format", "json")
    assert (1, [("field-not-sent", "customer.customerTier")]) == (
        code,
        [(f["kind"], f["field"]) for f in json.loads(out)["findings"]],
    )


def test_drift_prometheus_takes_syscontract_contracts_and_refuses_a_missing_directory(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server.answer = canned(declarations=vector((PRICING, 1), (CHECKOUT_V2_SERIES, 1)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYSCONTRACT_CONTRACTS", str(CONTRACTS))
    code, out, _ = drift(capsys, "--prometheus", server.url, "--format", "json")
    assert (1, ["field-not-sent"]) == (code, [f["kind"] for f in json.loads(out)["findings"]])

    monkeypatch.setenv("SYSCONTRACT_CONTRACTS", str(tmp_path / "nowhere"))
    code, out, err = drift(capsys, "--prometheus", server.url)
    assert (2, "") == (code, out)
    assert "SYSCONTRACT_CONTRACTS names" in err and "which is not a directory" in err


CHECKOUT_V2_SERIES = {"deployment_environment_name": "prod", "service_name": "checkout", "syscontract_role": "producer",
                      "syscontract_contract": "order.v2", "syscontract_handler": "checkout.place",
                      "syscontract_fields": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("window", "step"), [("5s", "1s"), ("1m", "6s"), ("1h", "1m"), ("7d", "11m"), ("30d", "44m"), ("1d12h", "3m")]
)
def test_the_gates_steps_are_a_thousandth_of_the_window_at_least_a_minute_a_tenth_under_ten(
    window: str, step: str
) -> None:
    from syscontract.system import queries

    assert step == queries.step(window)
    covered = queries.gate_queries("prod", window)["covered"]
    assert covered.startswith("min_over_time((count(") and covered.endswith(f") or vector(0))[{window}:{step}])")
