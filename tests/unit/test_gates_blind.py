"""Issue 21, "gates that say yes blind" (findings 6-11 and 14): the gates' rule is that ``drift`` (from
files and from Prometheus), ``can-deploy`` and ``plan`` exit 0 only when every input was read and judged.
Whatever is skipped, unreadable, non-finite, unknown or unattributed is an error finding (exit 1) or an
input error (exit 2); ``--external CONTRACT`` is the one opt-out. Each test names the finding it pins
and failed before the fix; the properties at the end hold the rule over generated systems."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import small_systems

from syscontract import Contract, FileRegistry
from syscontract.cli import main
from syscontract.errors import PrometheusError
from syscontract.manifest import Entry, Manifest, dumps, manifest_files
from syscontract.system import carried, drift, live, prometheus
from syscontract.system.live import Declared, Flow, Snapshot

SHOP = Path(__file__).parents[2] / "examples" / "shop"
CONTRACTS = Path(__file__).parents[1] / "data" / "contracts"  # order v2 (no customer.customerTier), v3, v4


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def shop_manifest(source: str, environment: str = "prod") -> str:
    """A manifest of examples/shop, as deployed to ``environment``."""
    body = json.loads((SHOP / source).read_text())
    body["environment"] = environment
    return dumps(body)


STALE_CHECKOUT = "previous/checkout.json"  # produces order.v2: no customerTier
CHECKOUT = "release/checkout.json"  # produces order.v3
PRICING = "release/pricing.json"  # consumes order.v3 [customerTier, customer.id]


# -- finding 6: what a manifest directory holds is read, or the gate says it could not ------------------


@pytest.fixture
def prod(tmp_path: Path) -> Path:
    """prod runs checkout's release; pricing's manifest is kept in another directory."""
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "checkout.json").write_text(shop_manifest(CHECKOUT))
    (tmp_path / "pricing-team").mkdir()
    (tmp_path / "pricing-team" / "pricing.json").write_text(shop_manifest(PRICING))
    (tmp_path / "stale-checkout.json").write_text(shop_manifest(STALE_CHECKOUT, "build"))
    return tmp_path / "prod"


def gates(capsys: pytest.CaptureFixture[str], state: Path) -> dict[str, tuple[int, str, str]]:
    """Every file gate on ``state`` (prod): rolling checkout back to order.v2 breaks pricing, if the
    gate sees pricing."""
    stale = str(state.parent / "stale-checkout.json")
    return {
        "can-deploy": run(capsys, "can-deploy", stale, "--to", "prod", "--with", str(state)),
        "plan": run(capsys, "plan", stale, "--to", "prod", "--with", str(state)),
        "drift": run(capsys, "drift", str(state)),
    }


def test_finding6_symlinked_manifest_directory_is_read(prod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.symlink("../pricing-team", prod / "pricing")
    found = gates(capsys, prod)
    assert {"can-deploy": 1, "plan": 1} == {name: found[name][0] for name in ("can-deploy", "plan")}, found
    assert "staging" not in found["can-deploy"][1]
    assert "pricing requires order.v3 customerTier" in " ".join(found["can-deploy"][1].split())
    # drift of prod as it would be after the rollback: the stale checkout beside the linked pricing
    (prod / "checkout.json").write_text(shop_manifest(STALE_CHECKOUT))
    code, out, _ = run(capsys, "drift", str(prod))
    assert 1 == code
    assert "pricing v3" in out


def test_finding6_a_manifest_named_in_upper_case_is_read(prod: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (prod / "pricing.JSON").write_text(shop_manifest(PRICING))
    found = gates(capsys, prod)
    assert (1, 1) == (found["can-deploy"][0], found["plan"][0])
    (prod / "checkout.json").write_text(shop_manifest(STALE_CHECKOUT))
    assert 1 == run(capsys, "drift", str(prod))[0]


@pytest.mark.parametrize("name", ["pricing", "pricing.json", "pricing.Json"])
def test_finding6_a_dangling_link_in_a_manifest_directory_is_exit_2(
    prod: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    os.symlink("../pricing-team-moved", prod / name)  # the directory or file it named is gone
    for gate, (code, out, err) in gates(capsys, prod).items():
        assert (2, "") == (code, out), gate
        (line,) = err.splitlines()
        assert line.startswith(f"syscontract {gate}: error: {prod / name}: "), line
        assert line.endswith(": a dangling symbolic link"), line


def test_finding6_a_link_loop_is_exit_2_and_a_link_back_up_is_read_once(
    prod: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.symlink("../pricing-team", prod / "pricing")
    os.symlink("../prod", prod.parent / "pricing-team" / "back")  # prod/pricing/back is prod again
    assert [prod / "checkout.json", prod / "pricing" / "pricing.json"] == manifest_files(prod)
    found = gates(capsys, prod)
    assert (1, 1) == (found["can-deploy"][0], found["plan"][0]), found  # not "two manifests of checkout"
    os.symlink("self.json", prod / "self.json")
    code, out, err = run(capsys, "drift", str(prod))
    assert (2, "") == (code, out)
    assert f"{prod / 'self.json'}: looks like a manifest, but cannot be read: a symbolic link loop" in err


def test_finding6_a_manifest_name_on_something_that_is_not_a_file_is_exit_2(
    prod: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(prod / "pricing.json")
    code, out, err = run(capsys, "drift", str(prod))
    assert (2, "") == (code, out)
    assert f"{prod / 'pricing.json'}: looks like a manifest, but is not a regular file" in err


def test_finding6_files_that_do_not_look_like_manifests_are_passed_over(
    prod: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented choice: a manifest's name ends in .json (any case); a README, CODEOWNERS or an
    editor's backup beside the manifests is not one, and is not read."""
    for name in ("README.md", "CODEOWNERS", ".gitkeep", "checkout.json~", "checkout.json.bak"):
        (prod / name).write_text("not a manifest\n")
    assert [prod / "checkout.json"] == manifest_files(prod)
    assert 0 == run(capsys, "drift", str(prod))[0]


def test_finding6_a_directory_that_cannot_be_listed_is_exit_2(
    prod: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # root lists every directory whatever its mode (CI runs as root), so the refusal is made by the
    # operating system call itself, as a directory without read permission makes it for a user
    locked = prod / "locked"
    locked.mkdir()
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = run(capsys, "drift", str(prod))
    assert (2, "") == (code, out)
    assert "cannot list this directory" in err


def test_the_rule_a_reader_and_writer_that_cannot_be_compared_are_not_judged_readable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """File drift, can-deploy and plan share the findings' rules: a pair whose comparison fails was
    taken as readable before; it is a ``not-judged`` error now, which blocks every plan."""
    from syscontract import system
    from syscontract.errors import ContractDeclarationError
    from syscontract.system import rules
    from syscontract.system.plan import plan

    def cannot(reader: Contract, writer: Contract) -> bool:
        raise ContractDeclarationError("the comparison failed")

    monkeypatch.setattr(rules, "can_read", cannot)
    v2, v3 = record(2, ["id"]), record(3, ["id", "tier"])
    reader = Manifest("pricing", "prod", (Entry("consumer", v3.ref, "pricing.handle", ("id",)),), {v3.ref: v3})
    writer = Manifest("checkout", "prod", (Entry("producer", v2.ref, "checkout.send", ()),), {v2.ref: v2})
    (finding,) = drift([reader, writer]).errors
    assert ("not-judged", "checkout", "event.v2") == (finding.kind, finding.producer, finding.produced)
    assert "whether pricing's event.v3 can read event.v2 produced by checkout cannot be judged" in finding.message
    assert [finding] == system.can_deploy(writer, "prod", [reader])
    result = plan([writer], "prod", [reader])
    assert (False, ["not-judged"]) == (result.safe, [f.kind for f in result.findings])
    assert result.hints == (
        "whether pricing's event.v3 can read checkout's event.v2 cannot be judged: no order can be shown safe until it "
        "can",
    )


# -- a Prometheus of our own on 127.0.0.1 -------------------------------------------------------------------

Answer = Callable[[str], tuple[int, dict[str, str], bytes]]


def vector(*rows: tuple[dict[str, str], str]) -> bytes:
    """A success answer; each value as Prometheus writes it (a string: "12", "NaN", "+Inf")."""
    result = [{"metric": labels, "value": [1.0, value]} for labels, value in rows]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


def canned(declarations: bytes, messages: bytes = b"", unattributed: bytes = b"", status: int = 200) -> Answer:
    def answer(query: str) -> tuple[int, dict[str, str], bytes]:
        if query.startswith("count by"):
            return status, {}, declarations
        if "syscontract_violations_total" in query:
            return status, {}, vector()
        if query.startswith("sum by"):
            return status, {}, messages or vector()
        return status, {}, unattributed or vector()

    return answer


class FakePrometheus:
    def __init__(self) -> None:
        self.url = ""
        self.answer: Answer = canned(vector())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePrometheus]:
    for name in (live.TOKEN_ENV, live.BASIC_USER_ENV, live.BASIC_PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    fake = FakePrometheus()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            from urllib.parse import parse_qs

            status, headers, data = fake.answer(parse_qs(body).get("query", [""])[0])
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError):
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def declaration(service: str, role: str, contract: str, fields: str = "") -> dict[str, str]:
    return {"deployment_environment_name": "prod", "service_name": service, "syscontract_role": role,
            "syscontract_contract": contract, "syscontract_handler": f"{service}.handle",
            "syscontract_fields": fields}  # fmt: skip


def messages(service: str, role: str, contract: str, outcome: str, writer: str = "") -> dict[str, str]:
    return {"deployment_environment_name": "prod", "service_name": service, "syscontract_role": role,
            "syscontract_contract": contract, "syscontract_outcome": outcome,
            "syscontract_writer_version": writer}  # fmt: skip


CONSUMER = declaration("pricing", "consumer", "order.v3", "customer.customerTier,customer.id")
PRODUCER_V3 = declaration("checkout", "producer", "order.v3")
LIVE = ("drift", "--prometheus")


def test_the_clean_live_system_is_exit_0(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    """The baseline the findings below change one thing of: everything is read and judged."""
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")),
                           vector((messages("pricing", "consumer", "order.v3", "ok", "order.v3"), "12")))  # fmt: skip
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS))
    assert (0, "") == (code, err), out
    assert out.endswith("no findings\n")


# -- finding 7: a sample value is a count, or the answer is not data -----------------------------------------


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf"])
def test_finding7_a_non_finite_sample_is_exit_2_not_a_vanished_declaration(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    server.answer = canned(vector((CONSUMER, value), (PRODUCER_V3, "1")))
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS))
    assert (2, "") == (code, out)
    assert f"answered a sample whose value is {value}, not a finite count" in err
    assert 1 == len(err.splitlines())


def test_finding7_a_non_finite_message_count_is_exit_2(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    violated = messages("pricing", "consumer", "order.v3", "violation", "order.v3")
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), vector((violated, "NaN")))
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS))
    assert (2, "") == (code, out)
    assert "value is NaN" in err


def test_finding7_a_fractional_count_is_traffic_never_zero(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    violated = messages("pricing", "consumer", "order.v3", "violation", "order.v3")
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), vector((violated, "0.4")))
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), "--format", "json")
    body = json.loads(out)
    assert (1, "") == (code, err)
    assert [("violations", {"writer": "order.v3", "messages": 1, "violations": 1})] == [
        (f["kind"], f["evidence"]) for f in body["findings"]
    ]


def test_finding7_a_fractional_number_of_unattributed_series_is_not_none(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), unattributed=vector(({}, "0.4")))
    code, out, _ = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), "--format", "json")
    assert 1 == code
    assert [("unattributed", "error", {"series": 1})] == [
        (f["kind"], f["severity"], f["evidence"]) for f in json.loads(out)["findings"]
    ]


def test_finding7_a_negative_count_is_exit_2(server: FakePrometheus, capsys: pytest.CaptureFixture[str]) -> None:
    violated = messages("pricing", "consumer", "order.v3", "violation", "order.v3")
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), vector((violated, "-3")))
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS))
    assert (2, "") == (code, out)
    assert "answered a negative message count (-3)" in err


def test_finding7_a_negative_difference_falls_back_to_increase_in_the_query() -> None:
    """A counter reset between the window's start and its first sample makes last minus first negative:
    the query then uses increase(), as for a reset inside the window, so Prometheus never answers one."""
    assert "- syscontract_messages_total{" in live.queries("1h")["messages"]
    assert "offset 1h >= 0)" in live.queries("1h")["messages"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian's prometheus)")
def test_finding7_a_reset_before_the_first_sample_in_the_window_is_counted_not_dropped(tmp_path: Path) -> None:
    """Prometheus's own engine on a counter that restarted between the window's start (580) and its
    first sample in the window (1, then up to 60): the count is positive (increase()), where last minus
    first was -520, which an older syscontract dropped as no traffic."""
    counter = ('syscontract_messages_total{job="shop", instance="a:1", service_name="pricing", '
               'deployment_environment_name="prod", syscontract_contract="order.v3", syscontract_role="consumer", '
               'syscontract_outcome="violation", syscontract_writer_version="order.v2"}')  # fmt: skip
    query = live.queries("1h")["messages"]
    test = {"interval": "1m", "input_series": [{"series": counter, "values": "0+10x58 _x2 1+1x59"}],
            "promql_expr_test": [{"expr": f"count(({query}) > 0)", "eval_time": "120m",
                                  "exp_samples": [{"labels": "{}", "value": 1}]}]}  # fmt: skip
    (tmp_path / "reset.yml").write_text(json.dumps({"rule_files": [], "evaluation_interval": "1m", "tests": [test]}))
    result = subprocess.run([shutil.which("promtool") or "promtool", "test", "rules", "reset.yml"], cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert 0 == result.returncode, result.stdout + result.stderr


# -- finding 8: a writer version whose contract is not at hand cannot be judged ---------------------------


def test_finding8_an_unknown_writer_version_is_an_error(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    v9 = declaration("checkout", "producer", "order.v9")
    server.answer = canned(vector((CONSUMER, "1"), (v9, "1")),
                           vector((messages("pricing", "consumer", "order.v3", "ok", "order.v9"), "12")))  # fmt: skip
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), "--format", "json")
    assert (1, "") == (code, err)
    (finding,) = json.loads(out)["findings"]
    assert ("not-judged", "error", "checkout", "order.v9") == (
        finding["kind"], finding["severity"], finding["producer"], finding["produced"])  # fmt: skip
    assert (
        "prod: pricing requires order.v3 customer.customerTier, customer.id; checkout in prod produces order.v9, but "
        "order.v9 is in neither --contracts nor a manifest given, so whether order.v9 sends customer.customerTier, "
        "customer.id and whether order.v3 can read order.v9 cannot be judged. In the last 1h pricing received 12 "
        "messages written with order.v9: 0 violations." == finding["message"]
    )
    assert {"writer": "order.v9", "messages": 12, "violations": 0, "unknown": ["order.v9"]} == finding["evidence"]


def test_finding8_without_contracts_a_declared_older_producer_is_an_error_with_no_traffic(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    server.answer = canned(vector((CONSUMER, "1"), (declaration("checkout", "producer", "order.v2"), "1")))
    code, out, err = run(capsys, *LIVE, server.url, "--format", "json")
    assert (1, "") == (code, err)
    (finding,) = json.loads(out)["findings"]
    assert ("not-judged", ["order.v2", "order.v3"]) == (finding["kind"], finding["evidence"]["unknown"])
    # with the contracts, the same system is judged: order.v2 has no customerTier
    code, out, _ = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), "--format", "json")
    assert ["field-not-sent"] == [f["kind"] for f in json.loads(out)["findings"]]


def test_finding8_a_writer_label_that_is_no_contract_reference_is_an_error() -> None:
    flows = [Flow("prod", "pricing", "consumer", "order.v3", "ok", "orders-value:7", 3)]
    checkout = Declared("prod", "checkout", "producer", "order.v3", "checkout.send", (), 1)
    pricing = Declared("prod", "pricing", "consumer", "order.v3", "pricing.handle", ("customer.id",), 1)
    report = live.drift(Snapshot("http://p", "1h", 0.0, (), (checkout, pricing), tuple(flows), 0, 3),
                        contracts=FileRegistry(CONTRACTS))  # fmt: skip
    assert [("not-judged", "error")] == [(f.kind, f.severity) for f in report.findings]
    assert "'orders-value:7' is not a contract reference" in report.findings[0].message


def test_finding8_an_unknown_writer_of_an_external_contract_is_accepted_as_not_judged(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    v9 = declaration("checkout", "producer", "order.v9")
    server.answer = canned(vector((CONSUMER, "1"), (v9, "1")))
    code, out, _ = run(
        capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), "--external", "order", "--format", "json"
    )
    assert 0 == code
    assert [("not-judged", "warning")] == [(f["kind"], f["severity"]) for f in json.loads(out)["findings"]]


def test_finding8_a_contracts_directory_that_cannot_be_read_is_exit_2(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v3.avsc").write_text("{not avro")
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")))
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(tmp_path))
    assert (2, "") == (code, out)
    assert "v3.avsc" in err


# -- finding 9: one rule for file and live drift ------------------------------------------------------------


def test_finding9_no_producer_is_an_error_in_file_and_live_drift_alike(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pricing.json").write_text(shop_manifest(PRICING))
    server.answer = canned(vector((CONSUMER, "1")))
    for extra in ([], ["--external", "order"]):
        file_code, file_out, _ = run(capsys, "drift", str(tmp_path), *extra, "--format", "json")
        live_code, live_out, _ = run(
            capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), *extra, "--format", "json"
        )
        severity = "warning" if extra else "error"
        assert (int(not extra), int(not extra)) == (file_code, live_code)
        for out in (file_out, live_out):
            assert [("no-producer", severity)] == [(f["kind"], f["severity"]) for f in json.loads(out)["findings"]]


def test_finding9_unattributed_series_are_an_error_with_or_without_external(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), unattributed=vector(({}, "2")))
    for extra in ([], ["--external", "order"]):
        code, out, _ = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS), *extra)
        assert 1 == code
        assert "2 syscontract_declarations series have no service_name label" in " ".join(out.split())


def test_finding9_a_writer_no_manifest_produces_is_a_warning_only_for_an_external_contract(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pricing.json").write_text(shop_manifest(PRICING))
    consumer = declaration("pricing", "consumer", "order.v3", "customerTier,customer.id")
    consumer["syscontract_handler"] = "pricing.price"
    received = messages("pricing", "consumer", "order.v3", "ok", "order.v3")
    server.answer = canned(vector((consumer, "1")), vector((received, "4")))
    code, out, _ = run(capsys, "drift", str(tmp_path), "--prometheus", server.url, "--external", "order",
                       "--format", "json")  # fmt: skip
    assert 0 == code, out
    assert {("no-producer", "warning"), ("writer-not-in-manifests", "warning")} == {
        (f["kind"], f["severity"]) for f in json.loads(out)["findings"]
    }


# -- finding 10: only a 2xx answer is data ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [302, 500, 503])
def test_finding10_a_non_2xx_answer_that_says_success_is_exit_2(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    server.answer = canned(vector((CONSUMER, "1"), (PRODUCER_V3, "1")), status=status)
    code, out, err = run(capsys, *LIVE, server.url, "--contracts", str(CONTRACTS))
    assert (2, "") == (code, out)
    assert [
        f"syscontract drift: error: Prometheus at {server.url} answered HTTP {status} with a body that says success: "
        "only a 2xx answer is data (is something in front of Prometheus answering for it?)"
    ] == err.splitlines()


# -- finding 11: a malformed answer is one clear line, never a traceback ----------------------------------------


@pytest.mark.parametrize("warnings", [[1, 2], [{"store": "down"}], "store down", {"w": 1}, [None]])
def test_finding11_warnings_that_are_not_strings_are_a_clear_error(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], warnings: Any
) -> None:
    body = json.loads(vector((CONSUMER, "1"), (PRODUCER_V3, "1")))
    body["warnings"] = warnings
    server.answer = lambda query: (200, {}, json.dumps(body).encode())
    code, out, err = run(capsys, *LIVE, server.url)
    assert (2, "") == (code, out)
    assert [
        f"syscontract drift: error: Prometheus at {server.url} answered with warnings that are not a list of strings "
        f"({warnings!r}), so the data may be incomplete"
    ] == err.splitlines()


@pytest.mark.parametrize(
    "item",
    [
        {"metric": {"service_name": 7}, "value": [1.0, "1"]},
        {"metric": {}, "value": [1.0, 1]},
        {"metric": {}, "value": "1"},
        {"metric": {}, "value": [1.0, "one"]},
        ["not", "a", "sample"],
    ],
)
def test_finding11_a_malformed_sample_is_a_clear_error(
    server: FakePrometheus, capsys: pytest.CaptureFixture[str], item: Any
) -> None:
    body = {"status": "success", "data": {"resultType": "vector", "result": [item]}}
    server.answer = lambda query: (200, {}, json.dumps(body).encode())
    code, out, err = run(capsys, *LIVE, server.url)
    assert (2, "") == (code, out)
    assert 1 == len(err.splitlines())
    assert f"Prometheus at {server.url} answered a " in err


# -- finding 14: JSON Schema's default fills nothing -------------------------------------------------------------


def jsonschema(version: int, tier: dict[str, Any], required: list[str]) -> Contract:
    schema = {"type": "object", "properties": {"orderId": {"type": "string"}, "customerTier": tier},
              "required": required}  # fmt: skip
    return Contract.from_jsonschema(f"order.v{version}", schema)


def consumer_and_producer(writer: Contract) -> list[Manifest]:
    reader = jsonschema(3, {"type": "string"}, ["orderId"])  # reads every writer below; pricing requires the tier
    return [
        Manifest("pricing", "prod", (Entry("consumer", reader.ref, "pricing.price", ("customerTier",)),),
                 {reader.ref: reader}),
        Manifest("checkout", "prod", (Entry("producer", writer.ref, "checkout.send", ()),), {writer.ref: writer}),
    ]  # fmt: skip


def test_finding14_a_required_json_schema_property_with_a_default_is_sent() -> None:
    writer = jsonschema(4, {"type": "string", "default": "BASIC"}, ["orderId", "customerTier"])
    assert "sent" == carried(writer, "customerTier")
    assert [] == drift(consumer_and_producer(writer)).findings


def test_finding14_an_optional_json_schema_property_is_still_not_sent_with_or_without_a_default() -> None:
    defaulted = jsonschema(4, {"type": "string", "default": "BASIC"}, ["orderId"])
    optional = jsonschema(4, {"type": "string"}, ["orderId"])
    assert ("defaulted", "optional") == (carried(defaulted, "customerTier"), carried(optional, "customerTier"))
    assert ["field-defaulted"] == [f.kind for f in drift(consumer_and_producer(defaulted)).errors]
    assert ["field-optional"] == [f.kind for f in drift(consumer_and_producer(optional)).errors]


def test_finding14_a_required_property_below_an_optional_parent_is_not_sent() -> None:
    schema = {"type": "object", "required": ["orderId"], "properties": {
        "orderId": {"type": "string"},
        "customer": {"type": "object", "required": ["tier"],
                     "properties": {"tier": {"type": "string", "default": "B"}}},
    }}  # fmt: skip
    writer = Contract.from_jsonschema("order.v4", schema)
    assert "optional" == carried(writer, "customer.tier")
    schema["required"] = ["orderId", "customer"]
    assert "sent" == carried(Contract.from_jsonschema("order.v4", schema), "customer.tier")


# -- the rule, over generated systems ----------------------------------------------------------------------------


def record(version: int, fields: list[str]) -> Contract:
    body = {"type": "record", "name": "Event", "fields": [{"name": f, "type": "string"} for f in fields]}
    return Contract.from_avro(f"event.v{version}", body)


def deployed(system: dict[str, Any]) -> tuple[dict[int, Contract], list[Manifest]]:
    contracts = {v: record(v, fields) for v, fields in system["versions"].items()}
    manifests = []
    for service, spec in sorted(system["deployed"].items()):
        if spec is None or (spec["produces"] is None and spec["consumes"] is None):
            continue
        entries, used = [], {}
        if spec["produces"] is not None:
            entries.append(Entry("producer", contracts[spec["produces"]].ref, f"{service}.send", ()))
            used[contracts[spec["produces"]].ref] = contracts[spec["produces"]]
        if spec["consumes"] is not None:
            version, fields = spec["consumes"]
            entries.append(Entry("consumer", contracts[version].ref, f"{service}.handle", tuple(fields)))
            used[contracts[version].ref] = contracts[version]
        manifests.append(Manifest(service, "prod", tuple(entries), used))
    # every generated system has a consumer and a producer, so that each blinding has something to blind
    first = contracts[min(contracts)]
    if not any(e.role == "consumer" for m in manifests for e in m.declarations):
        fields = tuple(system["versions"][min(contracts)][:1])
        manifests.append(Manifest("zz-consumer", "prod", (Entry("consumer", first.ref, "zz.handle", fields),),
                                  {first.ref: first}))  # fmt: skip
    if not any(e.role == "producer" for m in manifests for e in m.declarations):
        manifests.append(Manifest("zz-producer", "prod", (Entry("producer", first.ref, "zz.send", ()),),
                                  {first.ref: first}))  # fmt: skip
    return contracts, manifests


BLINDINGS = ("dangling-link", "dangling-link-no-suffix", "link-loop", "fifo", "not-json", "unknown-key",
             "not-a-manifest")  # fmt: skip


def blind(state: Path, victim: str, how: str) -> None:
    """Make one input of ``state`` unreadable or unknown, in the way ``how`` names."""
    path = state / f"{victim}.json"
    if how == "dangling-link":
        path.unlink()
        os.symlink("gone.json", path)
    elif how == "dangling-link-no-suffix":
        os.symlink("../gone", state / victim)
    elif how == "link-loop":
        path.unlink()
        os.symlink(path.name, path)
    elif how == "fifo":
        os.mkfifo(state / f"{victim}.fifo.JSON")
    elif how == "not-json":
        path.write_text(path.read_text()[: len(path.read_text()) // 2])
    elif how == "unknown-key":
        body = json.loads(path.read_text())
        body["declarations_v2"] = []
        path.write_text(json.dumps(body))
    else:  # a JSON file that is not a manifest, beside them
        (state / f"{victim}-notes.Json").write_text('{"note": "deployed on a Friday"}')


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_systems(max_services=4), st.sampled_from(BLINDINGS), st.data())
def test_the_file_gates_never_say_yes_blind(system: dict[str, Any], how: str, data: st.DataObject) -> None:
    _, manifests = deployed(system)
    victim = data.draw(st.sampled_from([m.service for m in manifests]), label="victim")
    candidate = data.draw(st.sampled_from(manifests), label="candidate")
    with tempfile.TemporaryDirectory() as root:
        state = Path(root) / "prod"
        state.mkdir()
        for manifest in manifests:
            (state / f"{manifest.service}.json").write_text(dumps(manifest.to_json()))
        build = Path(root) / "candidate.json"
        build.write_text(dumps(candidate.to_json()))
        blind(state, victim, how)
        codes = {
            "drift": _quiet(["drift", str(state)]),
            "can-deploy": _quiet(["can-deploy", str(build), "--to", "prod", "--with", str(state)]),
            "plan": _quiet(["plan", str(build), "--to", "prod", "--with", str(state)]),
        }
    event(f"blinded: {how}")
    assert {"drift": 2, "can-deploy": 2, "plan": 2} == codes, how


def _quiet(args: list[str]) -> int:
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return main(args)


class Answers:
    """Prometheus as :func:`live.observe` sees it: three canned answers, by query."""

    url = "http://prometheus.test"

    def __init__(self, declarations: list[Any], flows: list[Any], unattributed: float) -> None:
        self.answers: dict[str, list[tuple[dict[str, str], Any]]] = {
            "count by": declarations,
            "sum by (deployment_environment_name, service_name, syscontract_role, syscontract_contract, "
            "syscontract_writer_version": [],  # the violations by field: none here
            "sum by": flows,
            "count(": [({}, unattributed)] if unattributed else [],
        }
        self.queries = 0

    def query(self, expression: str, at: float) -> list[tuple[dict[str, str], float]]:
        self.queries += 1
        rows = next(rows for prefix, rows in self.answers.items() if expression.startswith(prefix))
        result = [{"metric": labels, "value": [at, value if isinstance(value, str) else repr(value)]}
                  for labels, value in rows]  # fmt: skip
        encoded = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})
        return prometheus._vector(self.url, 200, {}, encoded.encode())


LIVE_BLINDINGS = ("nan", "inf", "-inf", "negative", "unknown-writer", "unknown-reader", "unattributed", "no-producer",
                  "fractional-violations")  # fmt: skip


def live_rows(contracts: dict[int, Contract], manifests: list[Manifest]) -> tuple[list[Any], list[Any]]:
    declarations, flows = [], []
    for manifest in manifests:
        for entry in manifest.declarations:
            fields = ",".join(manifest.critical(entry))
            declarations.append((declaration(manifest.service, entry.role, str(entry.contract), fields), 1.0))
            if entry.role == "producer":
                flows.append((messages(manifest.service, "producer", str(entry.contract), "ok"), 5.0))
    return declarations, flows


def live_code(answers: Answers, contracts: dict[int, Contract]) -> int:
    try:
        snapshot = live.observe(answers, "1h", at=1_700_000_000.0)  # type: ignore[arg-type]
    except PrometheusError:
        return 2
    report = live.drift(snapshot, contracts={c.ref: c for c in contracts.values()})
    return 1 if report.errors else 0


@settings(max_examples=200, deadline=None)
@given(small_systems(max_services=4), st.sampled_from(LIVE_BLINDINGS), st.data())
def test_live_drift_never_says_yes_blind(system: dict[str, Any], how: str, data: st.DataObject) -> None:
    contracts, manifests = deployed(system)
    declarations, flows = live_rows(contracts, manifests)
    unattributed = 0.0
    consumers = [labels for labels, _ in declarations if labels["syscontract_role"] == "consumer"]
    if how in ("nan", "inf", "-inf", "negative"):
        rows = data.draw(st.sampled_from([r for r in (declarations, flows) if r]), label="answer")
        index = data.draw(st.integers(0, len(rows) - 1), label="row")
        rows[index] = (rows[index][0], {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf", "negative": -1.0}[how])
        expected = {2}
    elif how == "unattributed":
        unattributed = data.draw(st.sampled_from([0.4, 1.0, 3.0]), label="unattributed")
        expected = {1}
    else:
        consumer = data.draw(st.sampled_from(consumers), label="consumer")
        if how == "unknown-writer":  # a writer version no contract at hand describes
            flows.append((messages(consumer["service_name"], "consumer", consumer["syscontract_contract"], "ok",
                                   "event.v9"), 3.0))  # fmt: skip
        elif how == "unknown-reader":  # the consumer's own version is not at hand (every producer's differs)
            consumer["syscontract_contract"] = "event.v8"
        elif how == "no-producer":
            declarations[:] = [
                (labels, value) for labels, value in declarations if labels["syscontract_role"] != "producer"
            ]
        else:
            flows.append((messages(consumer["service_name"], "consumer", consumer["syscontract_contract"], "violation",
                                   consumer["syscontract_contract"]), 0.25))  # fmt: skip
        expected = {1}
    code = live_code(Answers(declarations, flows, unattributed), contracts)
    event(f"blinded: {how}")
    assert code in expected, (how, code)
