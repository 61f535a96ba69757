"""``syscontract report``: the page's cells, its escaping, its bytes, and the command's exit codes.

The page is read back with the standard library's HTML parser, as markup (what a browser builds from
it is tests/integration/test_report_browser.py's). The system is examples/shop: prod runs the previous
release; the incident is pricing's release in prod before checkout's (prod's pricing requires
order.v3's customerTier, prod's checkout writes order.v2).
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from syscontract._report import CSP, page
from syscontract.cli import main
from syscontract.manifest import Manifest, load_all, parse
from syscontract.system import drift, state
from syscontract.system.plan import plan

SHOP = Path(__file__).parents[2] / "examples" / "shop"


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    """The shop's deployments with pricing's release in prod: the incident."""
    root = tmp_path / "deployments"
    shutil.copytree(SHOP / "deployments", root)
    body = json.loads((SHOP / "release" / "pricing.json").read_text())
    body["environment"] = "prod"
    (root / "prod" / "pricing.json").write_text(json.dumps(body))
    return root


class Markup(HTMLParser):
    """Every element's tag and attributes, the cells by (environment, service), and the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.cells: dict[tuple[str, str], dict[str, Any]] = {}
        self.text: list[str] = []
        self._cell: dict[str, Any] | None = None
        self._depth = 0
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "td" and "data-service" in attributes:
            self._cell = {"state": attributes["data-state"], "classes": [], "text": []}
            self.cells[attributes["data-environment"], attributes["data-service"]] = self._cell
            self._depth = 0
        elif self._cell is not None:
            self._depth += tag not in ("br",)
            self._cell["classes"].append((tag, attributes.get("class", "")))

    def handle_endtag(self, tag: str) -> None:
        if self._cell is not None:
            if tag == "td" and self._depth == 0:
                self._cell = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"].append(data)

    def cell_text(self, environment: str, service: str) -> str:
        return " ".join("".join(self.cells[environment, service]["text"]).split())


class Chips(HTMLParser):
    """The text of every element with a given class."""

    def __init__(self, text: str, css: str) -> None:
        super().__init__(convert_charrefs=True)
        self.css = css
        self.found: list[str] = []
        self._open: list[bool] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hit = dict(attrs).get("class") == self.css
        self._open.append(hit)
        if hit:
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if any(self._open):
            self.found[-1] += data


def cell_markup(text: str, environment: str, service: str) -> str:
    """The markup of one cell (cells hold no nested table, so the first ``</td>`` closes it)."""
    marker = f'data-environment="{environment}" data-service="{service}"'
    start = text.index(marker)
    return text[start : text.index("</td>", start)]


def test_the_incident_is_red_on_the_consumer_and_on_the_producer(incident: Path) -> None:
    manifests = load_all([incident])
    result = page(manifests, drift(manifests).findings)
    markup = Markup(result.html)
    assert {
        ("prod", "checkout"): "error",
        ("prod", "entitlements"): "ok",
        ("prod", "pricing"): "error",
        ("staging", "checkout"): "ok",
        ("staging", "entitlements"): "ok",
        ("staging", "pricing"): "ok",
    } == {key: cell["state"] for key, cell in markup.cells.items()}
    assert ["customerTier"] == Chips(cell_markup(result.html, "prod", "pricing"), "f bad").found
    assert ["order.v2"] == Chips(cell_markup(result.html, "prod", "checkout"), "v bad").found
    assert "needs customerTier: checkout's order.v2 has no customerTier" in markup.cell_text("prod", "pricing")
    assert "writes order.v2, which does not send customerTier: pricing requires it" in markup.cell_text(
        "prod", "checkout"
    )
    assert "error" == dict(next(a for t, a in markup.elements if t == "header"))["data-state"]
    # the drawing: one red arrow in prod, from checkout to pricing, labelled with the field
    edges = [a["class"] for t, a in markup.elements if t == "path" and a.get("class", "").startswith("edge")]
    assert ["edge ok", "edge error", "edge ok", "edge ok"] == edges  # prod's (red drawn last, on top), staging's
    assert ["✖ customerTier"] == Chips(result.html, "edge-label").found
    assert (1, 0) == (result.errors, result.warnings)
    assert ("checkout", "pricing", "entitlements") == result.services  # those in error first
    assert ["checkout", "pricing", "entitlements"] == re.findall(r'<th scope="row">([^<]*)</th>', result.html)


def test_a_system_without_findings_is_green(tmp_path: Path) -> None:
    manifests = load_all([SHOP / "deployments"])
    markup = Markup(page(manifests, drift(manifests).findings).html)
    assert {"ok"} == {cell["state"] for cell in markup.cells.values()}
    assert "ok" == dict(next(a for t, a in markup.elements if t == "header"))["data-state"]


FIELD = "<b onmouseover=alert(2)>"
HOSTILE_ENVIRONMENT = 'lab"><img src=x onerror=alert(1)>'
HOSTILE_PRODUCER = "<script>alert('p')</script>"
HOSTILE_CONSUMER = "</td></tr></table><script>alert(3)</script>"
HOSTILE_HANDLER = "h<svg onload=alert(4)>"


def hostile() -> list[Manifest]:
    """A producer and a consumer whose names, environment, handler and field are markup: the consumer requires
    a field the producer's JSON Schema does not require (a finding, so the strings reach every part of the page)."""
    schema = {"type": "object", "properties": {FIELD: {"type": "string"}, "id": {"type": "string"}}, "required": ["id"]}

    def manifest(service: str, role: str, handler: str, fields: list[str]) -> Manifest:
        return parse({
            "manifest": "syscontract/1", "service": service, "environment": HOSTILE_ENVIRONMENT,
            "declarations": [{"role": role, "contract": "order.v1", "handler": handler, "fields": fields}],
            "contracts": {"order.v1": {"format": "jsonschema", "schema": schema}},
        })  # fmt: skip

    return [manifest(HOSTILE_PRODUCER, "producer", "p", []), manifest(HOSTILE_CONSUMER, "consumer", HOSTILE_HANDLER,
                                                                       [FIELD])]  # fmt: skip


ELEMENTS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "section", "div", "figure",
            "figcaption", "svg", "defs", "marker", "path", "g", "rect", "text", "table", "thead", "tbody", "tr", "th",
            "td", "ul", "ol", "li", "span", "strong", "small", "a", "footer"}  # fmt: skip


def test_strings_from_manifests_are_text_never_markup() -> None:
    manifests = hostile()
    findings = drift(manifests).findings
    assert findings  # the strings are in a finding's message, its cells and the drawing
    result = page(manifests, findings, title="<script>alert('title')</script>")
    markup = Markup(result.html)
    assert [] == sorted({tag for tag, _ in markup.elements} - ELEMENTS)
    assert [] == [(tag, name) for tag, attributes in markup.elements for name in attributes if name.startswith("on")]
    hrefs = {a["href"] for tag, a in markup.elements if tag == "a"}
    assert all(href.startswith("#finding-") or href.startswith("#step-") for href in hrefs)
    assert CSP == next(a["content"] for t, a in markup.elements if t == "meta" and "http-equiv" in a)
    text = "".join(markup.text)
    for hostile_text in (FIELD, HOSTILE_ENVIRONMENT, HOSTILE_PRODUCER, HOSTILE_CONSUMER, HOSTILE_HANDLER):
        assert hostile_text in text  # shown, as text
    assert {(HOSTILE_ENVIRONMENT, HOSTILE_CONSUMER), (HOSTILE_ENVIRONMENT, HOSTILE_PRODUCER)} == set(markup.cells)
    ids = [a["id"] for _, a in markup.elements if "id" in a]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[0-9a-z]+)*", i) for i in ids)  # numbers and our own words, never a name


def test_the_same_inputs_give_the_same_bytes_in_any_order(incident: Path) -> None:
    manifests = load_all([incident])
    first = page(manifests, drift(manifests).findings).html
    again = list(reversed(manifests))
    assert first == page(again, list(reversed(drift(again).findings))).html


def test_the_plan_is_a_row_of_steps_and_marks_its_cells(incident: Path) -> None:
    manifests = load_all([SHOP / "deployments"])
    deployed = state("prod", [m for m in manifests if m.environment == "prod"])
    result = page(manifests, drift(manifests).findings, plan=plan(load_all([SHOP / "release"]), "prod", deployed))
    steps = Chips(result.html, "n").found
    assert ["1", "2"] == steps
    assert "plan step 1: produces order.v3" in Markup(result.html).cell_text("prod", "checkout")
    assert "Plan for prod: 2 steps, one service at a time (unchanged: entitlements)" in result.html


# -- the command ------------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_writes_the_page_and_exits_1_on_the_incident(
    incident: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    code, out, err = run(capsys, str(incident), "--html", str(target))
    assert (1, f"wrote {target}: 2 environments, 3 services, 1 error, 0 warnings\n", "") == (code, out, err)
    manifests = load_all([incident])
    assert page(manifests, drift(manifests).findings).html == target.read_text(encoding="utf-8")


def test_the_command_exits_0_on_a_clean_system_with_a_safe_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    args = (str(SHOP / "deployments"), "--to", "prod", "--with", str(SHOP / "release"), "--html", str(target))
    code, out, _ = run(capsys, *args)
    assert (0, f"wrote {target}: 2 environments, 3 services, no findings; plan for prod: 2 steps\n") == (code, out)
    first = target.read_bytes()
    assert 0 == run(capsys, *args)[0]
    assert first == target.read_bytes()


def test_no_safe_order_is_exit_1_and_says_so_on_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.html"
    code, out, _ = run(capsys, str(SHOP / "deployments"), "--to", "staging", "--with",
                       str(SHOP / "previous" / "checkout.json"), "--html", str(target))  # fmt: skip
    assert (1, f"wrote {target}: 2 environments, 3 services, no findings; plan for staging: no safe order\n") == (
        code,
        out,
    )
    text = target.read_text()
    assert "Plan for staging: no safe order" in text
    assert '<header class="verdict error" id="verdict" data-state="error">' in text
    assert "<h1>syscontract report: ✖ no safe order to deploy into staging</h1>" in text


def test_html_dash_writes_the_page_to_standard_output(incident: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(incident), "--html", "-")
    assert (1, "wrote standard output: 2 environments, 3 services, 1 error, 0 warnings\n") == (code, err)
    assert out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "qa", "--with", str(SHOP / "release")], "qa is not an environment the MANIFESTs describe"),
        (["--to", "prod"], "--to ENV and --with MANIFEST... go together"),
        (["--backlog", "1"], "--backlog only applies with --to ENV"),
        (["--window", "2h"], "--window only apply with --prometheus URL"),
    ],
)
def test_usage_errors_are_exit_2_and_write_nothing(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    code, out, err = run(capsys, str(SHOP / "deployments"), *args, "--html", str(target))
    assert (2, "") == (code, out)
    assert message in err
    assert not target.exists()
    assert [] == list(tmp_path.iterdir())


def test_a_directory_that_cannot_take_the_page_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(SHOP / "deployments"), "--html", str(tmp_path / "missing" / "report.html"))
    assert (2, "") == (code, out)
    assert "syscontract report: error:" in err


# -- live evidence: a local server answers as Prometheus's query API does --------------------------------

LABELS = {"deployment_environment_name": "prod"}
DECLARED = [
    {**LABELS, "service_name": "checkout", "syscontract_role": "producer", "syscontract_contract": "order.v2",
     "syscontract_handler": "checkout_legacy.order_placed", "syscontract_fields": ""},
    {**LABELS, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v3",
     "syscontract_handler": "pricing.price", "syscontract_fields": "customer.id,customerTier"},
    {**LABELS, "service_name": "entitlements", "syscontract_role": "consumer", "syscontract_contract": "order.v2",
     "syscontract_handler": "entitlements.grant", "syscontract_fields": "customer.id,items[].sku"},
]  # fmt: skip
FLOWED = [
    ({**LABELS, "service_name": "checkout", "syscontract_role": "producer", "syscontract_contract": "order.v2",
      "syscontract_outcome": "ok", "syscontract_writer_version": "order.v2"}, 1240),
    ({**LABELS, "service_name": "pricing", "syscontract_role": "consumer", "syscontract_contract": "order.v3",
      "syscontract_outcome": "violation", "syscontract_writer_version": "order.v2"}, 1240),
]  # fmt: skip


def vector(rows: list[tuple[dict[str, str], float]]) -> bytes:
    result = [{"metric": labels, "value": [1.0, str(value)]} for labels, value in rows]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()


@pytest.fixture
def prometheus() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            query = urllib.parse.parse_qs(body).get("query", [""])[0]
            if query.startswith("count by"):
                data = vector([(labels, 1) for labels in DECLARED])
            elif query.startswith("sum by"):
                data = vector(FLOWED)
            else:
                data = vector([])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_live_evidence_is_on_the_cells_and_in_the_findings(
    incident: Path, prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SYSCONTRACT_PROMETHEUS_TOKEN", "SYSCONTRACT_PROMETHEUS_USER", "SYSCONTRACT_PROMETHEUS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    target = tmp_path / "report.html"
    code, out, err = run(capsys, str(incident / "prod"), "--prometheus", prometheus, "--window", "7d",
                         "--html", str(target))  # fmt: skip
    assert (1, "") == (code, err), out
    text = target.read_text()
    markup = Markup(text)
    assert "error" == markup.cells["prod", "pricing"]["state"]
    assert ["received 1,240 written with order.v2: 1,240 violations"] == Chips(
        cell_markup(text, "prod", "pricing"), "bad"
    ).found
    assert "sent 1,240 as order.v2" in markup.cell_text("prod", "checkout")
    assert f"live evidence: Prometheus {prometheus}, the last 7d" in "".join(markup.text)
    # the file finding and the live one say the same: the page shows one, with its evidence
    evidence = Chips(text, "evidence").found
    assert 1 == sum("customerTier" in line or "writer: order.v2" in line for line in evidence), evidence


def test_live_options_need_prometheus(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, str(SHOP / "deployments"), "--contracts", str(SHOP / "contracts"), "--html",
                       str(tmp_path / "r.html"))  # fmt: skip
    assert 2 == code
    assert "--contracts only apply with --prometheus URL" in err


def pairs(count: int, broken: set[int]) -> list[Manifest]:
    """``count`` producer/consumer pairs in prod, each on its own contract; the consumers of ``broken`` pairs
    require a field their producer does not send."""
    found = []
    for index in range(count):
        for role in ("producer", "consumer"):
            sends = role == "consumer" or index not in broken
            schema = {"type": "object", "properties": {"id": {"type": "string"}, "tier": {"type": "string"}},
                      "required": ["id", "tier"] if sends else ["id"]}  # fmt: skip
            found.append(parse({
                "manifest": "syscontract/1", "service": f"{role}-{index:03d}", "environment": "prod",
                "declarations": [{"role": role, "contract": f"topic{index}.v1", "handler": "h",
                                  "fields": ["tier"] if role == "consumer" else []}],
                "contracts": {f"topic{index}.v1": {"format": "jsonschema", "schema": schema}},
            }))  # fmt: skip
    return found


def test_a_crowded_environment_is_drawn_with_only_its_arrows_with_a_finding() -> None:
    manifests = pairs(70, broken={3, 41})
    text = page(manifests, drift(manifests).findings).html
    assert ["prod: the 2 of 70 arrows with a finding"] == re.findall(r"<figcaption>([^<]*)</figcaption>", text)
    assert ["edge error", "edge error"] == re.findall(r'<path class="(edge [a-z]+)"', text)
    assert ["consumer-003", "consumer-041", "producer-003", "producer-041"] == sorted(
        re.findall(r'<g class="node error"><title>([^:]*):', text)
    )


def test_a_crowded_environment_without_findings_is_left_to_the_grid() -> None:
    manifests = pairs(70, broken=set())
    text = page(manifests, drift(manifests).findings).html
    assert "<figure" not in text
    assert 140 == len(re.findall(r'<th scope="row">', text))


def test_a_consumer_with_no_producer_is_red_and_amber_when_external(incident: Path) -> None:
    pricing = [m for m in load_all([incident]) if m.service == "pricing" and m.environment == "prod"]
    for external, expected in (((), "error"), (("order",), "warning")):
        text = page(pricing, drift(pricing, external=external).findings).html
        assert expected == Markup(text).cells["prod", "pricing"]["state"]
        assert "consumes order.v3: nothing here produces it" in Markup(text).cell_text("prod", "pricing")


def test_no_safe_order_shows_the_cycle_that_proves_it() -> None:
    from test_plan import record, side

    from syscontract.system.plan import plan

    old = {n: record(n, 1, ["id"]) for n in "xyz"}
    new = {n: record(n, 2, ["id", "f"], defaults=("f",)) for n in "xyz"}
    deployed = [side("a", "prod", produces=old["x"], consumes=(old["z"], ["id"])),
                side("b", "prod", produces=old["y"], consumes=(old["x"], ["id"])),
                side("c", "prod", produces=old["z"], consumes=(old["y"], ["id"]))]  # fmt: skip
    release = [side("a", "build", produces=new["x"], consumes=(new["z"], ["f"])),
               side("b", "build", produces=new["y"], consumes=(new["x"], ["f"])),
               side("c", "build", produces=new["z"], consumes=(new["y"], ["f"]))]  # fmt: skip
    planned = plan(release, "prod", deployed)
    assert ("a", "b", "c") == planned.cycle
    html = page(deployed, drift(deployed).findings, plan=planned).html
    assert '<p class="cycle" data-cycle="a b c">' in html
    assert "<strong>a → b → c → a</strong>" in html
