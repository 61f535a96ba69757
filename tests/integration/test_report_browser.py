"""``syscontract report``'s page in a real browser: Debian's chromium, headless, over the DevTools protocol.

One page holds the incident (examples/shop with pricing's release in prod before checkout's), a plan,
and a third environment whose service names, environment, handler and field are markup (an attacker's
manifest). The browser loads it from a file: it must render with no console error, no exception, no
refused load (the page's Content-Security-Policy would report one) and no request but the page itself;
the incident's cells must be marked, and red, as the browser computed them; the hostile strings must be
text, no script may have run; and a screenshot of the whole page is written (its path is printed).

Needs chromium (``apt-get install chromium``; ``bash .ci/services --install`` installs it): skipped
without it, a failure under ``CI=true``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Chromium, Loaded, require_chromium

from syscontract.cli import main

ROOT = Path(__file__).parents[2]
SHOP = ROOT / "examples" / "shop"
FIELD = "<b onmouseover=pwned=2>"
HOSTILE = {
    "environment": 'lab"><img src=x onerror="pwned=1">',
    "producer": "<script>pwned=3</script>",
    "consumer": "</td></tr></table><script>pwned=4</script>",
    "handler": "h<svg onload=pwned=5>",
}
RED = "rgb(198, 40, 40)"  # --red: #c62828


def _hostile(root: Path) -> None:
    schema = {"type": "object", "properties": {FIELD: {"type": "string"}}}
    for index, (service, role, fields) in enumerate(
        [(HOSTILE["producer"], "producer", []), (HOSTILE["consumer"], "consumer", [FIELD])]
    ):
        body = {
            "manifest": "syscontract/1", "service": service, "environment": HOSTILE["environment"],
            "declarations": [{"role": role, "contract": "order.v1", "handler": HOSTILE["handler"], "fields": fields}],
            "contracts": {"order.v1": {"format": "jsonschema", "schema": schema}},
        }  # fmt: skip
        (root / "lab").mkdir(exist_ok=True)
        (root / "lab" / f"{index}.json").write_text(json.dumps(body))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    deployments = root / "deployments"
    shutil.copytree(SHOP / "deployments", deployments)
    pricing = json.loads((SHOP / "release" / "pricing.json").read_text())
    pricing["environment"] = "prod"
    (deployments / "prod" / "pricing.json").write_text(json.dumps(pricing))
    _hostile(deployments)
    target = root / "report.html"
    code = main(["report", str(deployments), "--to", "prod", "--with", str(SHOP / "release" / "checkout.json"),
                 "--html", str(target)])  # fmt: skip
    assert 1 == code  # the incident, and the lab's finding
    return target


@pytest.fixture(scope="module")
def loaded(report: Path) -> Iterator[Loaded]:
    with Chromium(require_chromium()) as browser:
        yield browser.open(report)


def cell(environment: str, service: str) -> str:
    """A JavaScript expression for the cell of ``service`` in ``environment``."""
    selector = f"td.cell[data-environment={json.dumps(environment)}][data-service={json.dumps(service)}]"
    return f"document.querySelector({json.dumps(selector)})"


def style(loaded: Loaded, element: str, *properties: str) -> list[Any]:
    return [loaded.evaluate(f"getComputedStyle({element}).{name}") for name in properties]


def test_the_page_renders_with_no_console_error_and_loads_nothing(report: Path, loaded: Loaded) -> None:
    assert [] == loaded.errors
    assert [report.resolve().as_uri()] == loaded.requests
    assert "syscontract report: 2 errors, 0 warnings" == loaded.evaluate("document.title")


def test_the_incident_cells_are_marked_and_red(loaded: Loaded) -> None:
    for service in ("pricing", "checkout"):
        assert ["error", "cell error"] == [
            loaded.evaluate(f"{cell('prod', service)}.dataset.state"),
            loaded.evaluate(f"{cell('prod', service)}.className"),
        ]
        assert [RED, "3px"] == style(loaded, cell("prod", service), "borderTopColor", "borderTopWidth")
    assert "ok" == loaded.evaluate(f"{cell('staging', 'pricing')}.dataset.state")
    field = f"{cell('prod', 'pricing')}.querySelector('.f.bad')"
    assert ["customerTier", "rgb(255, 255, 255)", RED] == [
        loaded.evaluate(f"{field}.textContent"),
        *style(loaded, field, "color", "backgroundColor"),
    ]
    version = f"{cell('prod', 'checkout')}.querySelector('.v.bad')"
    assert ["order.v2", RED] == [loaded.evaluate(f"{version}.textContent"), *style(loaded, version, "backgroundColor")]
    # the drawing of prod: the arrow from checkout to pricing is red
    arrow = "document.querySelector('figure.flow[data-environment=\"prod\"] path.edge.error')"
    assert [RED] == style(loaded, arrow, "stroke")
    assert ["error", RED] == [
        loaded.evaluate("document.getElementById('verdict').dataset.state"),
        *style(loaded, "document.getElementById('verdict')", "color"),
    ]


def test_hostile_names_are_text_and_nothing_ran(loaded: Loaded) -> None:
    assert None is loaded.evaluate("window.pwned === undefined ? null : window.pwned")
    assert 0 == loaded.evaluate("document.scripts.length")
    assert 0 == loaded.evaluate("document.querySelectorAll('img, iframe, object, embed, link, b').length")
    consumer = cell(HOSTILE["environment"], HOSTILE["consumer"])
    assert "error" == loaded.evaluate(f"{consumer}.dataset.state")
    names = loaded.evaluate("[...document.querySelectorAll('th[scope=row]')].map(th => th.textContent)")
    assert sorted([HOSTILE["consumer"], HOSTILE["producer"], "checkout", "entitlements", "pricing"]) == sorted(names)
    body = loaded.evaluate("document.body.textContent")
    assert all(text in body for text in [*HOSTILE.values(), FIELD])


def test_the_plan_is_drawn_as_steps(loaded: Loaded) -> None:
    assert ["1"] == loaded.evaluate("[...document.querySelectorAll('ol.steps .n')].map(n => n.textContent)")
    assert "checkout" == loaded.evaluate("document.querySelector('#step-1 strong').textContent")


def test_a_screenshot_of_the_whole_page(loaded: Loaded, tmp_path_factory: pytest.TempPathFactory) -> None:
    target = tmp_path_factory.mktemp("screenshot") / "report.png"
    width, height = loaded.screenshot(target)
    page_height = loaded.evaluate("document.documentElement.scrollHeight")
    assert (1400, page_height) == (width, height)
    assert height > 900  # the whole page, beyond the window
    print(f"screenshot: {target}")
