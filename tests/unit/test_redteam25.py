"""Red team against issue 25 (the system package, the violations counter, one handler name and the
usage-aware gates). Each test is a door: a way a gate said yes, or a name differed, where the product
promises otherwise. ``--unused-after`` may turn an error into a warning only when Prometheus *proves*
that the (writer version, consumer) pair carried nothing over the whole window; whatever it cannot see
is never "silent". A local HTTP server on 127.0.0.1 answers as Prometheus's query API does."""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syscontract.cli import main
from syscontract.system import live

ROOT = Path(__file__).parents[2]
SHOP = ROOT / "examples" / "shop"

Answer = Callable[[str], bytes]


def vector(*rows: tuple[dict[str, str], float]) -> bytes:
    result = [{"metric": labels, "value": [1.0, str(value)]} for labels, value in rows]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


EMPTY = vector()
PROD = {"deployment_environment_name": "prod"}
# prod as examples/shop/deployments/prod describes it: pricing on order.v2, checkout producing order.v2
PRICING_V2 = {**PROD, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v2",
              "syscontract_handler": "pricing_legacy.price",
              "syscontract_fields": "customer.id,items[].unitPrice"}  # fmt: skip
CHECKOUT_V2 = {**PROD, "service_name": "checkout", "syscontract_role": "producer", "syscontract_contract": "order.v2",
               "syscontract_handler": "checkout_legacy.order_placed", "syscontract_fields": ""}  # fmt: skip
RECEIVED = {**PROD, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v2",
            "syscontract_outcome": "ok"}  # fmt: skip
EVERY_STEP = vector(({}, 2))  # covered: the environment reported at every step


def reports(service: str, family: str, missed: int = 0) -> bytes:
    """The consumers' coverage: ``service`` reported a consumer of ``family`` at every step but ``missed``."""
    return vector(({**PROD, "service_name": service, "syscontract_role": "consumer", "syscontract_family": family},
                   -missed))  # fmt: skip


PRICING_REPORTS = reports("pricing", "order")


def prometheus(
    declarations: bytes = EMPTY,
    messages: bytes = EMPTY,
    covered: bytes = EVERY_STEP,
    reporting: bytes = PRICING_REPORTS,
    unattributed: bytes = EMPTY,
) -> Answer:
    """Answers by query; what the gates ask (declarations, messages, violations, unattributed,
    last_seen, covered, and which consumers reported at every step)."""

    def answer(query: str) -> bytes:
        if query.startswith("max by"):
            return EMPTY  # last_seen
        if query.startswith("min_over_time"):
            return covered
        if query.startswith("count_over_time"):
            return reporting
        if query.startswith("count by"):
            return declarations
        if "syscontract_violations_total" in query:
            return EMPTY
        if query.startswith("sum by"):
            return messages
        return unattributed

    return answer


class Fake:
    url = ""
    answer: Answer = staticmethod(prometheus())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    for name in (live.TOKEN_ENV, live.BASIC_USER_ENV, live.BASIC_PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    fake = Fake()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            data = fake.answer(urllib.parse.parse_qs(body).get("query", [""])[0])
            self.send_response(200)
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


def can_deploy_pricing(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str, str]:
    """Deploy pricing's release (order.v3, requires customerTier) into prod, where checkout still
    produces order.v2 (no customerTier): an error by the manifests, unless proven unused."""
    code = main(["can-deploy", str(SHOP / "release" / "pricing.json"), "--to", "prod", "--with",
                 str(SHOP / "deployments" / "prod"), "--prometheus", url, "--unused-after", "30d"])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def test_the_proven_silent_pair_is_still_a_warning(server: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    """The baseline the doors below are measured against: pricing reports at every step, and received
    only order.v3 messages in the window: the order.v2 finding is a warning, can-deploy says yes."""
    server.answer = prometheus(
        declarations=vector((PRICING_V2, 1), (CHECKOUT_V2, 1)),
        messages=vector(({**RECEIVED, "syscontract_writer_version": "order.v3"}, 40)),
    )
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (0, "") == (code, err), out
    assert "Unused: nothing written with order.v2 reached pricing in prod in the last 30d" in " ".join(out.split())


# -- door 1: messages whose writer the wire did not name ---------------------------------------------------


def test_door1_messages_whose_writer_the_wire_did_not_name_are_not_silence(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """pricing received 5,000 order messages whose writer the wire did not name (plain JSON without a
    syscontract-contract header, a dict handed over in process, or a writer past the telemetry's
    series cap): any of them may have been written with order.v2. Nothing proves the pair silent."""
    server.answer = prometheus(
        declarations=vector((PRICING_V2, 1), (CHECKOUT_V2, 1)),
        messages=vector((RECEIVED, 5000)),  # no syscontract_writer_version label
    )
    code, out, err = can_deploy_pricing(capsys, server.url)
    flat = " ".join(out.split())
    assert (1, "") == (code, err), out
    assert "Unused:" not in flat
    assert "It may be in use: pricing received 5,000 messages of order whose writer the wire did not name" in flat


def test_door1_a_writer_label_spelled_otherwise_is_not_silence(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """The writer label is what the wire named (a registry subject, a fully qualified name): one that is
    not a version of the consumer's contract cannot be told apart from order.v2."""
    server.answer = prometheus(
        declarations=vector((PRICING_V2, 1), (CHECKOUT_V2, 1)),
        messages=vector(({**RECEIVED, "syscontract_writer_version": "com.example.shop.order.v2"}, 7)),
    )
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (1, "") == (code, err), out
    assert "Unused:" not in out


# -- door 2: a consumer that does not report --------------------------------------------------------------


def test_door2_a_consumer_that_reports_nothing_is_not_proven_silent(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """checkout reports at every step; pricing exports no telemetry at all (no SDK, a broken exporter,
    another service.name). Its silence in Prometheus proves nothing about what it receives."""
    server.answer = prometheus(declarations=vector((CHECKOUT_V2, 1)), reporting=EMPTY)
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (2, "") == (code, out)
    assert "pricing did not report its consumer of order in prod at every step" in err


def test_door2_a_consumer_that_stopped_reporting_within_the_window_is_a_gap(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """pricing declared order.v2 at some time in the window (so it is in the declarations), but was
    absent for 300 of its steps: what it received then is unknown."""
    server.answer = prometheus(
        declarations=vector((PRICING_V2, 1), (CHECKOUT_V2, 1)),
        reporting=reports("pricing", "order", missed=300),
    )
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (2, "") == (code, out)
    assert "pricing did not report its consumer of order in prod at every step" in err


def test_door2_a_consumer_that_reports_only_other_contracts_is_not_proven_silent(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """pricing reports at every step, but not a consumer of order (its telemetry names the contract
    com.example.shop.order): nothing it reports says what reached its order handler."""
    other = {**PRICING_V2, "syscontract_contract": "com.example.shop.order.v2"}
    server.answer = prometheus(
        declarations=vector((other, 1), (CHECKOUT_V2, 1)),
        reporting=reports("pricing", "com.example.shop.order"),
    )
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (2, "") == (code, out)
    assert "pricing did not report its consumer of order in prod at every step" in err


# -- door 4: a package directory run as a script ----------------------------------------------------------


def _named(tmp_path: Path, *argv: str) -> str:
    """What ``handler_name`` says of ``price`` in ``pricing/__main__.py`` run as ``python *argv``."""
    done = subprocess.run([sys.executable, *argv], cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    package = tmp_path / "pricing"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "from syscontract.inventory import handler_name\n\ndef price(event):\n    pass\n\nprint(handler_name(price))\n"
    )
    return package


def test_door4_a_package_run_as_a_directory_names_its_handler_as_inventory_does(package: Path) -> None:
    """``python pricing`` (a package directory with ``__main__.py``) sets ``__main__.__spec__.name`` to
    ``__main__``, which the handler name took for the name ``-m`` was given: telemetry said
    ``__main__.price`` where ``syscontract inventory pricing/__main__.py`` and ``python -m pricing``
    say ``pricing.__main__.price``."""
    from syscontract.inventory import module_name

    root = package.parent
    inventoried = f"{module_name((package / '__main__.py').resolve())}.price"
    assert "pricing.__main__.price" == inventoried == _named(root, "-m", "pricing")
    assert inventoried == _named(root, "pricing/__main__.py")
    assert inventoried == _named(root, "pricing")


def test_a_zipapp_names_its_handler_by_its_file(package: Path) -> None:
    """An attack that held: a zip archive has no package directory around its ``__main__.py`` (and
    ``syscontract inventory`` cannot import from one), so its handlers are ``__main__.*``, never a
    name ``-m`` was not given."""
    root = package.parent
    subprocess.run([sys.executable, "-m", "zipapp", "pricing", "-o", "pricing.pyz"], cwd=root, check=True, timeout=120)
    assert "__main__.price" == _named(root, "pricing.pyz")


# -- door 5: file drift and live drift judge other fields ------------------------------------------------


def test_door5_live_drift_judges_the_contracts_own_critical_fields_as_file_drift_does() -> None:
    """A declaration reports its fields with the contract's own ``critical`` list only once resolved:
    ``configure(registry=...)`` after the handlers were imported (or a registry unreachable at import)
    leaves it reporting ``customer.id`` alone until its first message. File drift judges the contract's
    ``critical`` (``customer.customerTier``, which order.v2 lacks); live drift judged the telemetry's
    fields only, and said nothing of an idle consumer that file drift fails."""
    import syscontract
    from syscontract import FileRegistry, requires
    from syscontract.manifest import Entry, Manifest
    from syscontract.system import drift
    from syscontract.system.live import Declared, Snapshot

    contracts = FileRegistry(ROOT / "tests" / "data" / "contracts")
    syscontract.configure(registry=contracts)
    price = requires("order.v3", ["customer.id"])(lambda event: None)
    syscontract.configure(registry=FileRegistry(ROOT / "tests" / "data" / "contracts"))  # at start-up, after imports
    _, _, _, reported = price.__syscontract__.reporter.declared()
    assert "customer.id" == reported  # what the gauge says until the first message

    v2, v3 = contracts.get("order.v2"), contracts.get("order.v3")
    manifests = [
        Manifest("pricing", "prod", (Entry("consumer", v3.ref, "pricing.price", ("customer.id",)),), {v3.ref: v3}),
        Manifest("checkout", "prod", (Entry("producer", v2.ref, "checkout.send", ()),), {v2.ref: v2}),
    ]
    files = drift(manifests)
    snapshot = Snapshot("http://prometheus:9090", "1h", 0.0, ("prod",), (
        Declared("prod", "checkout", "producer", "order.v2", "checkout.send", (), 1),
        Declared("prod", "pricing", "consumer", "order.v3", "pricing.price", tuple(reported.split(",")), 1),
    ), (), 0, 4)  # fmt: skip
    found = live.drift(snapshot, contracts=contracts)
    assert [("field-not-sent", "customer.customerTier")] == [(f.kind, f.field) for f in files.errors]
    assert [(f.kind, f.field) for f in files.errors] == [(f.kind, f.field) for f in found.errors]
    # and against the manifests, the same declaration before its first message is not "fields-differ"
    compared = live.drift(snapshot, contracts=contracts, manifests=manifests)
    assert [("field-not-sent", "customer.customerTier")] == [(f.kind, f.field) for f in compared.errors]


# -- door 6: an answer trickled byte by byte -----------------------------------------------------------------


def test_door6_an_answer_trickled_slower_than_the_timeout_is_no_answer_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--timeout`` is seconds per query. A proxy (or a stuck Prometheus) that sends the answer a few
    bytes at a time, each well within the timeout, held the gate for as long as it liked: the socket's
    timeout bounds the wait for each read, not the query (a body trickled forever is a hang)."""
    for name in (live.TOKEN_ENV, live.BASIC_USER_ENV, live.BASIC_PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    body = vector((PRICING_V2, 1))
    chunks = [body[i : i + 8] for i in range(0, len(body), 8)]
    stop = threading.Event()

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                for chunk in chunks:  # 8 bytes every 0.2 s: each read waits far less than the timeout
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if stop.wait(0.2):
                        return

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    assert len(chunks) * 0.2 > 4  # the whole answer takes longer than the timeout below
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with (
            live.Prometheus(url, timeout=2) as prometheus,
            pytest.raises(live.PrometheusError, match="no answer in time"),
        ):
            prometheus.query("syscontract_declarations", 0.0)
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# -- door 7: a service name with a comma ------------------------------------------------------------------


def test_door7_the_writer_being_deployed_is_never_weighed_whatever_its_service_is_called(
    server: Fake, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A finding of the writer being deployed is never turned into a warning: nothing has received it
    yet. Which finding that is was decided by splitting the finding's producers on commas, so a service
    named ``checkout, eu`` (a name is any string) was not the service being deployed, and its order.v2,
    which no one has received yet, was "unused": can-deploy said yes to a release that breaks pricing."""
    state = tmp_path / "prod"
    state.mkdir()
    for service in ("pricing", "checkout"):
        body = json.loads((SHOP / "release" / f"{service}.json").read_text())
        body["environment"] = "prod"
        (state / f"{service}.json").write_text(json.dumps(body))
    candidate = json.loads((SHOP / "previous" / "checkout.json").read_text())  # order.v2: no customerTier
    candidate.update(service="checkout, eu", environment="prod")
    (tmp_path / "candidate.json").write_text(json.dumps(candidate))
    pricing_v3 = {**PRICING_V2, "syscontract_contract": "order.v3", "syscontract_handler": "pricing.price",
                  "syscontract_fields": "customerTier,customer.id"}  # fmt: skip
    checkout_v3 = {**CHECKOUT_V2, "syscontract_contract": "order.v3", "syscontract_handler": "checkout.order_placed"}
    received_v3 = {**RECEIVED, "syscontract_contract": "order.v3", "syscontract_writer_version": "order.v3"}
    server.answer = prometheus(
        declarations=vector((pricing_v3, 1), (checkout_v3, 1)), messages=vector((received_v3, 40))
    )
    code = main(["can-deploy", str(tmp_path / "candidate.json"), "--to", "prod", "--with", str(state),
                 "--prometheus", server.url, "--unused-after", "30d"])  # fmt: skip
    out, err = capsys.readouterr()
    assert (1, "") == (code, err), out
    assert "checkout, eu cannot deploy to prod" in out
    assert "Unused:" not in out


# -- door 9: passing messages never counted after a late MeterProvider ----------------------------------------

_LATE_PROVIDER = """
import json, syscontract
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from syscontract import FileRegistry, requires, telemetry

syscontract.configure(registry=FileRegistry("tests/data/contracts"))

@requires("order.v3", ["customer.id"])
def price(event):
    pass

order = json.load(open("tests/data/order_event.json"))
price(order)  # a first message (a warm-up, a self-check) before the application sets OpenTelemetry up
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

def received():
    data = reader.get_metrics_data()
    return sum(point.value for resource in data.resource_metrics for scope in resource.scope_metrics
               for metric in scope.metrics if metric.name == telemetry.MESSAGES for point in metric.data.data_points)

received()  # the exporter collects: syscontract is being read from now on
for _ in range(5):
    price(order)
print(received())
"""


def test_door9_passing_messages_are_counted_once_a_late_meter_provider_collects() -> None:
    """Door closed: the wrapper counts passing messages only while a MeterProvider may collect, and
    learned that one does on its first call, on configure(), or on the precise path. A global provider
    set after the first message (a warm-up, or OpenTelemetry set up in a post-fork hook) was noticed by
    the exporter's collection, but a consumer whose messages all pass took only the fast path, which
    never looked again: it reported 0 messages for ever, and --unused-after read its traffic as
    silence. A wrapper generated while nothing counts now looks at the collection's note per message."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", _LATE_PROVIDER], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    assert int(done.stdout.strip()) >= 5


# -- door 10: series nobody can attribute ---------------------------------------------------------------------


def test_door10_series_nobody_can_attribute_are_never_proof_of_silence(
    server: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    """pricing's first process reports at every step and received no order.v2; a second one (a new
    deployment whose target_info lacks service_name, or a scrape job that drops it) cannot be given a
    service or an environment: what it received is in no count. Drift calls such series an error
    (``unattributed``); the gates' proof of silence left them out."""
    server.answer = prometheus(declarations=vector((PRICING_V2, 1), (CHECKOUT_V2, 1)), unattributed=vector(({}, 3)))
    code, out, err = can_deploy_pricing(capsys, server.url)
    assert (2, "") == (code, out)
    assert "3 syscontract_declarations series" in err and "cannot prove that nothing reached" in err
