"""``syscontract report``: the system as a picture, one self-contained HTML page.

The page is a grid, environments across and services down, under a drawing per environment of
what flows where (producers to consumers, a red dashed arrow labelled with the field a consumer
loses). Each cell says what that service produces and consumes there (contract versions, and the
critical fields a consumer depends on), what live traffic showed when it was read (messages
received by writer version, violations), and the findings that concern it: a cell whose consumer
loses a field, or whose producer writes the version that loses it, is red, with the field and the
version marked red in it. A banner on top counts the errors; the findings follow in full, with
their evidence; the plan, when one was asked for, is a row of numbered steps.

The page stands alone: inline CSS, no script, no image, no font, nothing fetched (its
Content-Security-Policy says so, so a browser refuses anything else). Every string that came from
a manifest, a contract or Prometheus is escaped; element ids are numbers, never names. The same
inputs give the same bytes: everything is sorted, and the page carries no time of its own.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syscontract.manifest import Manifest
from syscontract.system import Finding
from syscontract.system.plan import Plan, Step

__all__ = ["Live", "Page", "page"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
"""What the page may load: its own inline style, nothing else (no script, image, font or request)."""


@dataclass(frozen=True)
class Live:
    """Live evidence for the page: ``matrix`` as live drift's (environment -> contract name -> ``producer``,
    ``consumer``: {service: [versions]}, ``received``: {service: {writer: {outcome: count}}}, ``produced``:
    {service: {version: count}}), its ``findings`` (with their ``evidence``), and where it was read
    (``source``: a Prometheus URL and window, or this process's telemetry)."""

    source: str
    matrix: Mapping[str, Mapping[str, Mapping[str, Any]]]
    findings: Sequence[Finding] = ()


@dataclass(frozen=True)
class Page:
    """The page and what it shows, counted."""

    html: str
    environments: tuple[str, ...]
    services: tuple[str, ...]
    findings: tuple[Finding, ...]
    plan: Plan | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors


def page(
    manifests: Sequence[Manifest],
    findings: Iterable[Finding],
    *,
    live: Live | None = None,
    plan: Plan | None = None,
    title: str = "syscontract report",
) -> Page:
    """The page for ``manifests`` (what runs where) and their ``findings`` (drift's), with ``live``
    evidence and a ``plan`` when given. A live finding that says what a file finding says (same
    environment, kind, consumer, contract, field, producer and version) replaces it: it carries the evidence."""
    merged = _merge(findings, live.findings if live is not None else ())
    cells = _Cells(manifests, live, plan)
    for finding in merged:
        cells.add(finding)
    cells.rank()
    body = _Writer(cells, merged, live, plan)
    text = body.document(title)
    return Page(text, tuple(cells.environments), tuple(cells.services), tuple(merged), plan)


def _identity(f: Finding) -> tuple[str, ...]:
    return (f.environment, f.kind, f.consumer, f.handler, f.contract, f.field or "", f.producer or "",
            f.produced or "")  # fmt: skip


def _merge(files: Iterable[Finding], live: Iterable[Finding]) -> list[Finding]:
    by_identity: dict[tuple[str, ...], Finding] = {}
    for finding in files:
        by_identity.setdefault(_identity(finding), finding)
    for finding in live:
        by_identity[_identity(finding)] = finding
    return sorted(by_identity.values(), key=_order)


_SEVERITY = {"error": 0, "warning": 1}


def _order(f: Finding) -> tuple[Any, ...]:
    return (_SEVERITY.get(f.severity, 2), f.environment, f.consumer, f.contract, f.field or "", f.kind,
            f.producer or "", f.produced or "", f.handler, f.message)  # fmt: skip


# -- what each cell holds -------------------------------------------------------------------------------


@dataclass
class _Cell:
    produces: set[str] = field(default_factory=set)
    consumes: dict[str, set[str]] = field(default_factory=dict)  # contract -> critical fields
    declared: bool = False  # a manifest says what it runs here
    live_declared: dict[str, set[str]] = field(default_factory=dict)  # role -> versions (name.vN)
    received: dict[str, dict[str, int]] = field(default_factory=dict)  # writer -> outcome -> count
    sent: dict[str, int] = field(default_factory=dict)  # version -> count
    problems: list[tuple[int, Finding, str]] = field(default_factory=list)  # (finding number, finding, side)
    bad_fields: set[tuple[str, str]] = field(default_factory=set)  # (contract, field) a finding concerns
    bad_versions: set[str] = field(default_factory=set)  # versions it produces that a finding concerns
    step: Step | None = None  # the plan's step for it

    @property
    def state(self) -> str:
        severities = {f.severity for _, f, _ in self.problems}
        if "error" in severities:
            return "error"
        if "warning" in severities:
            return "warning"
        if not (self.declared or self.live_declared or self.received or self.sent):
            return "absent"
        return "ok"


class _Cells:
    def __init__(self, manifests: Sequence[Manifest], live: Live | None, plan: Plan | None) -> None:
        self.grid: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
        self.numbers: dict[int, int] = {}
        for manifest in manifests:
            cell = self.grid[manifest.environment, manifest.service]
            cell.declared = True
            for entry in manifest.declarations:
                if entry.role == "producer":
                    cell.produces.add(str(entry.contract))
                else:
                    cell.consumes.setdefault(str(entry.contract), set()).update(manifest.critical(entry))
        if live is not None:
            self._live(live)
        if plan is not None:
            for step in plan.steps:
                self.grid[plan.environment, step.service].step = step
        self.environments = sorted({e for e, _ in self.grid} | ({plan.environment} if plan else set()))
        self.services = sorted({s for _, s in self.grid})

    def _live(self, live: Live) -> None:
        for environment, contracts in live.matrix.items():
            if not environment:
                continue
            for name, roles in contracts.items():
                for role in ("producer", "consumer"):
                    for service, versions in roles.get(role, {}).items():
                        known = self.grid[environment, service].live_declared.setdefault(role, set())
                        known.update(f"{name}.{v}" for v in versions)
                for service, writers in roles.get("received", {}).items():
                    received = self.grid[environment, service].received
                    for writer, outcomes in writers.items():
                        counts = received.setdefault(writer, {})
                        for outcome, count in outcomes.items():
                            counts[outcome] = counts.get(outcome, 0) + int(count)
                for service, versions in roles.get("produced", {}).items():
                    sent = self.grid[environment, service].sent
                    for version, count in versions.items():
                        sent[f"{name}.{version}"] = sent.get(f"{name}.{version}", 0) + int(count)

    def rank(self) -> None:
        """The columns and rows, once every finding is in its cells: environments by name; services with an
        error somewhere first, then those with a warning, then the rest, by name within."""
        worst: dict[str, int] = {}
        for (_, service), cell in self.grid.items():
            worst[service] = min(worst.get(service, 2), _SEVERITY.get(cell.state, 2))
        self.environments = sorted({e for e, _ in self.grid} | set(self.environments))
        self.services = sorted(worst, key=lambda s: (worst[s], s))

    def add(self, finding: Finding) -> None:
        number = len(self.numbers) + 1
        self.numbers[id(finding)] = number
        if finding.environment and finding.consumer:
            cell = self.grid[finding.environment, finding.consumer]
            cell.problems.append((number, finding, "consumer"))
            if finding.field:
                cell.bad_fields.add((finding.contract, finding.field))
        if finding.environment and finding.producer and finding.producer != finding.consumer:
            cell = self.grid[finding.environment, finding.producer]
            cell.problems.append((number, finding, "producer"))
            if finding.produced:
                cell.bad_versions.add(finding.produced)
        # a finding of no one cell (live series nobody can attribute) is in the banner and the list only


# -- the words on a cell ------------------------------------------------------------------------------

_LACKS = {  # field-* kinds: what the producer's version does to the field
    "field-not-sent": ("has no {field}", "does not send"),
    "field-nullable": ("may send {field} as null", "may send as null"),
    "field-defaulted": ("may leave {field} out (it has a default)", "may leave out"),
    "field-optional": ("may leave {field} out", "may leave out"),
}


def _short(finding: Finding, side: str) -> str:
    """One line for a cell: what this finding means for this service."""
    kind, f = finding.kind, finding.field
    if kind in _LACKS and f:
        if side == "consumer":
            return f"needs {f}: {finding.producer}'s {finding.produced} {_LACKS[kind][0].format(field=f)}"
        return f"writes {finding.produced}, which {_LACKS[kind][1]} {f}: {finding.consumer} requires it"
    if kind == "unreadable":
        if side == "consumer":
            return f"its {finding.contract} cannot read {finding.producer}'s {finding.produced}"
        return f"writes {finding.produced}: {finding.consumer}'s {finding.contract} cannot read it"
    if kind == "no-producer":
        return f"consumes {finding.contract}: nothing here produces it"
    words = kind.replace("-", " ")
    return words + (f" {f}" if f else "") + (f" ({finding.contract})" if finding.contract else "")


def _ref_key(text: str) -> tuple[str, int, str, str]:
    """Versions of a name in numeric order; anything else (a writer label from Prometheus may be any
    text) after, by its text. Never ``int()``: a label's "digits" may be ``²`` or thousands long."""
    name, _, version = text.rpartition(".v")
    if name and version.isascii() and version.isdigit():
        number = version.lstrip("0")
        return (name, len(number), number, text)
    return (text, -1, "", text)


# -- the document ---------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_STYLE = """
:root { --red: #c62828; --red-bg: #fdecea; --amber: #8a5a00; --amber-bg: #fff4d6; --green: #2e7d32;
  --green-bg: #eef7ee; --grey: #6b7280; --line: #d7dbe0; --blue: #1d4ed8; --blue-bg: #e8efff; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
  "DejaVu Sans", sans-serif; color: #1f2328; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 32px 0 10px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.verdict { border-radius: 10px; padding: 16px 20px; border: 2px solid; }
.verdict.error { background: var(--red-bg); border-color: var(--red); color: var(--red); }
.verdict.warning { background: var(--amber-bg); border-color: var(--amber); color: var(--amber); }
.verdict.ok { background: var(--green-bg); border-color: var(--green); color: var(--green); }
.verdict p { margin: 4px 0 0; color: #1f2328; }
.source { color: var(--grey); margin: 8px 0 0; }
table.grid { border-collapse: separate; border-spacing: 8px; margin-left: -8px; }
table.grid th { text-align: left; vertical-align: bottom; font-size: 15px; padding: 4px 6px; }
table.grid th.env.error { color: var(--red); }
table.grid th.env.warning { color: var(--amber); }
table.grid th.env small { display: block; font-weight: normal; font-size: 12px; }
table.grid th[scope=row] { vertical-align: top; padding-top: 14px; white-space: nowrap; }
td.cell { vertical-align: top; width: 320px; min-width: 240px; padding: 10px 12px; border-radius: 10px;
  background: #fff; border: 2px solid var(--line); }
td.cell.ok { border-color: #9ccc9f; }
td.cell.warning { border-color: var(--amber); background: var(--amber-bg); }
td.cell.error { border: 3px solid var(--red); background: var(--red-bg); box-shadow: 0 0 0 3px #f5b8b3; }
td.cell.absent { background: transparent; border-style: dashed; color: var(--grey); }
.mark { font-weight: 700; font-size: 13px; margin-bottom: 4px; }
td.error .mark { color: var(--red); }
td.warning .mark { color: var(--amber); }
td.ok .mark { color: var(--green); }
ul { margin: 0; padding: 0; list-style: none; }
.decl li, .traffic li, .problems li { margin: 3px 0; }
.role { color: var(--grey); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.v { font-weight: 700; }
.v.bad, .f.bad { color: #fff; background: var(--red); border-radius: 4px; padding: 0 5px; }
.f { display: inline-block; border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; margin: 1px 0;
  background: #fff; }
.f.bad { border-color: var(--red); text-decoration: line-through; }
.traffic { margin-top: 6px; padding-top: 6px; border-top: 1px dashed var(--line); }
.traffic .bad { color: var(--red); font-weight: 700; }
.problems { margin-top: 6px; }
.problems li.error a { color: var(--red); font-weight: 600; }
.problems li.warning a { color: var(--amber); }
.steptag { display: inline-block; margin-top: 6px; background: var(--blue-bg); color: var(--blue);
  border: 1px solid var(--blue); border-radius: 12px; padding: 0 8px; font-size: 12px; }
ol.steps { display: flex; flex-wrap: wrap; gap: 12px; padding: 0; margin: 0; list-style: none; }
ol.steps > li { background: #fff; border: 2px solid var(--blue); border-radius: 10px; padding: 10px 12px;
  width: 340px; }
ol.steps .n { display: inline-block; width: 24px; height: 24px; border-radius: 12px; background: var(--blue);
  color: #fff; text-align: center; font-weight: 700; margin-right: 6px; }
ol.steps p { margin: 6px 0 0; font-size: 13px; }
ol.steps .wait { color: var(--amber); }
ol.findings { padding-left: 0; list-style: none; }
ol.findings > li { background: #fff; border-left: 5px solid var(--line); border-radius: 6px; padding: 8px 12px;
  margin: 6px 0; }
ol.findings > li.error { border-left-color: var(--red); }
ol.findings > li.warning { border-left-color: var(--amber); }
.sev { font-weight: 700; text-transform: uppercase; font-size: 12px; margin-right: 6px; }
li.error > .sev { color: var(--red); }
li.warning > .sev { color: var(--amber); }
.evidence { color: var(--grey); font-size: 12.5px; margin-top: 2px; }
.hints li { margin: 4px 0; }
.flows { display: flex; flex-wrap: wrap; gap: 16px; }
figure.flow { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; }
figure.flow figcaption { font-weight: 700; font-size: 15px; }
figure.flow svg { display: block; font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 13px; }
footer { margin-top: 36px; color: var(--grey); font-size: 12px; }
"""


class _Writer:
    def __init__(self, cells: _Cells, findings: list[Finding], live: Live | None, plan: Plan | None) -> None:
        self.cells = cells
        self.findings = findings
        self.live = live
        self.plan = plan

    def document(self, title: str) -> str:
        errors = sum(1 for f in self.findings if f.severity == "error")
        warnings = len(self.findings) - errors
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}: {_e(_count(errors, 'error'))}, {_e(_count(warnings, 'warning'))}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            self.verdict(title, errors, warnings),
            self.flows(),
            self.grid(),
        ]
        if self.plan is not None:
            parts.append(self.plan_section(self.plan))
        parts.append(self.findings_section())
        parts.append(
            "<footer>Written by syscontract report. Manifests are what each service declares; live evidence is "
            "what its telemetry counted. Red: a consumer does not get a field it requires, or cannot read what "
            "is written, or what cannot be judged.</footer>"
        )
        parts += ["</body>", "</html>", ""]
        return "\n".join(parts)

    def verdict(self, title: str, errors: int, warnings: int) -> str:
        plan = self.plan
        unsafe = plan is not None and not plan.safe
        state = "error" if errors or unsafe else "warning" if warnings else "ok"
        if errors:
            heading = f"✖ {_count(errors, 'error')}" + (f", {_count(warnings, 'warning')}" if warnings else "")
        elif warnings:
            heading = f"! {_count(warnings, 'warning')}, no error"
        else:
            heading = "✓ no findings: every consumer gets every field it requires"
        if plan is not None and not plan.safe:
            heading = ("✖ " if not errors else heading + "; ") + f"no safe order to deploy into {plan.environment}"
        out = [f'<header class="verdict {state}" id="verdict" data-state="{state}">',
               f"<h1>{_e(title)}: {_e(heading)}</h1>"]  # fmt: skip
        for finding in [f for f in self.findings if f.severity == "error"][:3]:
            out.append(f"<p>{_e(finding.message)}</p>")
        if errors > 3:
            out.append(f"<p>and {errors - 3} more below.</p>")
        if self.live is not None:
            out.append(f'<p class="source">live evidence: {_e(self.live.source)}</p>')
        out.append("</header>")
        return "\n".join(out)

    def flows(self) -> str:
        """Per environment, a drawing: producers on the left, consumers on the right, an arrow for each
        contract that flows between them, red where a finding concerns that pair."""
        drawings = []
        for index, environment in enumerate(self.cells.environments):
            drawing = _flow(index, environment, self.cells)
            if drawing:
                drawings.append(drawing)
        if not drawings:
            return ""
        return (
            '<section id="flows"><h2>What flows where</h2><div class="flows">' + "".join(drawings) + "</div></section>"
        )

    def grid(self) -> str:
        environments, services = self.cells.environments, self.cells.services
        out = [
            '<section id="system">',
            "<h2>Environments \N{MULTIPLICATION SIGN} services</h2>",
            '<p class="source">Services with an error first, then those with a warning, then the rest.</p>',
        ]
        if not services:
            out += ["<p>No service declares anything.</p>", "</section>"]
            return "\n".join(out)
        out.append('<table class="grid">')
        head = ["<thead><tr><th>service</th>"]
        for environment in environments:
            column = [self.cells.grid.get((environment, s)) for s in services]
            states = {c.state for c in column if c is not None}
            state = "error" if "error" in states else "warning" if "warning" in states else "ok"
            errors = sum(1 for c in column if c is not None and c.state == "error")
            note = f"<small>{_e(_count(errors, 'service'))} in error</small>" if errors else ""
            head.append(f'<th class="env {state}" data-environment="{_e(environment)}">{_e(environment)}{note}</th>')
        head.append("</tr></thead>")
        out.append("".join(head))
        out.append("<tbody>")
        for service in services:
            row = [f'<tr><th scope="row">{_e(service)}</th>']
            for environment in environments:
                row.append(self.cell(environment, service, self.cells.grid.get((environment, service), _Cell())))
            row.append("</tr>")
            out.append("".join(row))
        out += ["</tbody>", "</table>", "</section>"]
        return "\n".join(out)

    def cell(self, environment: str, service: str, cell: _Cell) -> str:
        state = cell.state
        attributes = f'class="cell {state}" data-environment="{_e(environment)}" data-service="{_e(service)}" '
        attributes += f'data-state="{state}"'
        parts = [f"<td {attributes}>"]
        errors = sum(1 for _, f, _ in cell.problems if f.severity == "error")
        warnings = len(cell.problems) - errors
        mark = {
            "error": f"✖ {_count(errors, 'error')}",
            "warning": f"! {_count(warnings, 'warning')}",
            "ok": "✓ ok",
            "absent": "not running here",
        }[state]
        parts.append(f'<div class="mark">{_e(mark)}</div>')
        declarations = []
        for ref in sorted(cell.produces, key=_ref_key):
            bad = " bad" if ref in cell.bad_versions else ""
            declarations.append(f'<li><span class="role">produces</span> <span class="v{bad}">{_e(ref)}</span></li>')
        for ref in sorted(cell.consumes, key=_ref_key):
            fields = "".join(
                f' <span class="f{" bad" if (ref, name) in cell.bad_fields else ""}">{_e(name)}</span>'
                for name in sorted(cell.consumes[ref])
            )
            declarations.append(f'<li><span class="role">consumes</span> <span class="v">{_e(ref)}</span>{fields}</li>')
        if not cell.declared:
            for role in ("producer", "consumer"):
                for ref in sorted(cell.live_declared.get(role, ()), key=_ref_key):
                    word = "produces" if role == "producer" else "consumes"
                    bad = " bad" if role == "producer" and ref in cell.bad_versions else ""
                    role_span = f'<span class="role">{word} (live, no manifest)</span>'
                    declarations.append(f'<li>{role_span} <span class="v{bad}">{_e(ref)}</span></li>')
        if declarations:
            parts.append('<ul class="decl">' + "".join(declarations) + "</ul>")
        traffic = []
        for writer in sorted(cell.received, key=_ref_key):
            outcomes = cell.received[writer]
            total = sum(outcomes.values())
            troubles = [f"{_count(n, o.replace('_', ' '))}" for o, n in sorted(outcomes.items()) if o != "ok" and n]
            text = f"received {total:,} written with {writer}" + (f": {', '.join(troubles)}" if troubles else "")
            bad = ' class="bad"' if troubles else ""
            traffic.append(f"<li{bad}>{_e(text)}</li>")
        for version in sorted(cell.sent, key=_ref_key):
            bad = ' class="bad"' if version in cell.bad_versions else ""
            traffic.append(f"<li{bad}>{_e(f'sent {cell.sent[version]:,} as {version}')}</li>")
        if traffic:
            parts.append('<ul class="traffic">' + "".join(traffic) + "</ul>")
        if cell.problems:
            problems = [
                f'<li class="{_e(f.severity)}"><a href="#finding-{number}">{_e(_short(f, side))}</a></li>'
                for number, f, side in cell.problems
            ]
            parts.append('<ul class="problems">' + "".join(problems) + "</ul>")
        if cell.step is not None:
            step = cell.step
            parts.append(f'<div class="steptag"><a href="#step-{step.step}">plan step {step.step}</a>: '
                         f"{_e(step.after or '(retired)')}</div>")  # fmt: skip
        parts.append("</td>")
        return "".join(parts)

    def plan_section(self, plan: Plan) -> str:
        out = ['<section id="plan">']
        environment = _e(plan.environment)
        notes = []
        if plan.unchanged:
            notes.append(f"unchanged: {', '.join(plan.unchanged)}")
        if plan.backlog is not None:
            notes.append(f"backlog: {plan.backlog} steps")
        aside = f" ({_e('; '.join(notes))})" if notes else ""
        if not plan.safe:
            out.append(f"<h2>Plan for {environment}: no safe order{aside}</h2>")
            out.append('<div class="verdict error" data-state="error"><strong>Every order of this release leaves a '
                       "consumer without what it requires.</strong>")  # fmt: skip
            if plan.cycle:  # the proof: each must deploy before the next, the last before the first
                loop = " → ".join(_e(service) for service in (*plan.cycle, plan.cycle[0]))
                out.append(f'<p class="cycle" data-cycle="{_e(" ".join(plan.cycle))}">Each of these must deploy '
                           f"before the next, in a cycle: <strong>{loop}</strong></p>")  # fmt: skip
            out.append('<ol class="findings">')
            for finding in plan.findings:
                out.append(f'<li class="{_e(finding.severity)}"><span class="sev">{_e(finding.severity)}</span>'
                           f"{_e(finding.message)}</li>")  # fmt: skip
            out.append("</ol>")
            if plan.hints:
                out.append('<p>To unblock:</p><ul class="hints">')
                out += [f"<li>{_e(hint)}</li>" for hint in plan.hints]
                out.append("</ul>")
            out += ["</div>", "</section>"]
            return "\n".join(out)
        if not plan.steps:
            out += [f"<h2>Plan for {environment}: nothing to deploy{aside}</h2>",
                    f"<p>{environment} already runs this release.</p>", "</section>"]  # fmt: skip
            return "\n".join(out)
        count = len(plan.steps)
        out.append(f"<h2>Plan for {environment}: {_e(_count(count, 'step'))}, one service at a time{aside}</h2>")
        out.append('<ol class="steps">')
        for step in plan.steps:
            item = [f'<li id="step-{step.step}"><span class="n">{step.step}</span><strong>{_e(step.service)}</strong>',
                    f'<p class="mono">{_e(step.before or "(new)")} → {_e(step.after or "(retired)")}</p>',
                    f"<p>{_e(step.why)}</p>"]  # fmt: skip
            item += [f'<p class="wait">wait {_e(wait)}</p>' for wait in step.wait]
            item.append("</li>")
            out.append("".join(item))
        out += ["</ol>", "</section>"]
        return "\n".join(out)

    def findings_section(self) -> str:
        out = ['<section id="findings">', f"<h2>Findings ({len(self.findings)})</h2>"]
        if not self.findings:
            out += ["<p>No findings.</p>", "</section>"]
            return "\n".join(out)
        out.append('<ol class="findings">')
        for finding in self.findings:
            number = self.cells.numbers[id(finding)]
            where = " · ".join(_e(x) for x in (finding.environment, finding.kind, finding.field) if x)
            if finding.handler:
                where += f" · handler {_e(finding.handler)}"
            item = [f'<li id="finding-{number}" class="{_e(finding.severity)}">',
                    f'<span class="sev">{_e(finding.severity)}</span><span class="mono">{where}</span>',
                    f"<div>{_e(finding.message)}</div>"]  # fmt: skip
            evidence = getattr(finding, "evidence", None)
            if evidence:
                pairs = ", ".join(f"{key}: {value}" for key, value in sorted(evidence.items()))
                item.append(f'<div class="evidence">evidence: {_e(pairs)}</div>')
            item.append("</li>")
            out.append("".join(item))
        out += ["</ol>", "</section>"]
        return "\n".join(out)


_BOX_W, _BOX_H, _PITCH, _GAP, _NAME = 200, 40, 54, 170, 21
_EDGE = {"error": "#c62828", "warning": "#8a5a00", "ok": "#7a8594"}
MAX_DRAWN = 60
"""An environment with more arrows than this is drawn with only those that carry a finding, if they are no
more than this; else it is left to the grid (a drawing that size is not read at a glance)."""


def _clip(text: str, size: int = _NAME) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _flow(index: int, environment: str, cells: _Cells) -> str:
    here = {s: c for (e, s), c in cells.grid.items() if e == environment}
    producers: dict[str, list[str]] = {}  # service -> versions (name.vN) it produces
    consumers: dict[str, list[str]] = {}
    for service, cell in sorted(here.items()):
        made = (
            set(cell.produces)
            | set(cell.sent)
            | (set() if cell.declared else cell.live_declared.get("producer", set()))
        )
        used = set(cell.consumes) | (set() if cell.declared else cell.live_declared.get("consumer", set()))
        if made:
            producers[service] = sorted(made, key=_ref_key)
        if used:
            consumers[service] = sorted(used, key=_ref_key)
    making: dict[str, set[str]] = defaultdict(set)  # contract name -> its producers
    for producer, versions in producers.items():
        for ref in versions:
            making[_ref_key(ref)[0]].add(producer)
    edges = []
    for consumer, wanted in consumers.items():
        for producer in sorted(set().union(*(making.get(_ref_key(ref)[0], set()) for ref in wanted))):
            concerning = [f for _, f, side in here[consumer].problems if side == "consumer" and f.producer == producer]
            severities = {f.severity for f in concerning}
            state = "error" if "error" in severities else "warning" if "warning" in severities else "ok"
            label = ", ".join(sorted({f.field or f.kind for f in concerning}))
            edges.append((producer, consumer, state, label))
    caption = environment
    if len(edges) > MAX_DRAWN:  # too many to read: the arrows with a finding, if they are few enough
        drawn = [edge for edge in edges if edge[2] != "ok"]
        if not drawn or len(drawn) > MAX_DRAWN:
            return ""
        caption += f": the {len(drawn)} of {len(edges):,} arrows with a finding"
        producers = {s: v for s, v in producers.items() if any(s == e[0] for e in drawn)}
        consumers = {s: v for s, v in consumers.items() if any(s == e[1] for e in drawn)}
        edges = drawn
    if not edges:
        return ""
    left = {s: i for i, s in enumerate(producers)}
    right = {s: i for i, s in enumerate(consumers)}
    rows = max(len(left), len(right))
    width, height = 2 * _BOX_W + _GAP + 20, rows * _PITCH + 40
    x_right = 10 + _BOX_W + _GAP
    out = [f'<figure class="flow" data-environment="{_e(environment)}"><figcaption>{_e(caption)}</figcaption>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{_e(f"what flows in {environment}")}">', "<defs>"]  # fmt: skip
    for state, colour in _EDGE.items():
        out.append(f'<marker id="arrow-{index}-{state}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto-start-reverse">'
                   f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')  # fmt: skip
    out.append("</defs>")

    def box(x: int, row: int, service: str, versions: list[str]) -> str:
        state = here[service].state
        stroke = _EDGE.get(state, _EDGE["ok"]) if state != "ok" else "#9ccc9f"
        fill = "#fdecea" if state == "error" else "#fff4d6" if state == "warning" else "#ffffff"
        y = 30 + row * _PITCH
        return (f'<g class="node {state}"><title>{_e(service)}: {_e(", ".join(versions))}</title>'
                f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{3 if state == "error" else 1.5}"/>'
                f'<text x="{x + 10}" y="{y + 17}" font-weight="700">{_e(_clip(service))}</text>'
                f'<text x="{x + 10}" y="{y + 33}" font-size="12" fill="#4b5563">'
                f'{_e(_clip(", ".join(versions), 30))}</text></g>')  # fmt: skip

    for service, row in left.items():
        out.append(box(10, row, service, producers[service]))
    for service, row in right.items():
        out.append(box(x_right, row, service, consumers[service]))
    for producer, consumer, state, label in sorted(edges, key=lambda e: (e[2] != "ok", e)):  # red on top
        x1, y1 = 10 + _BOX_W, 30 + left[producer] * _PITCH + _BOX_H // 2
        x2, y2 = x_right, 30 + right[consumer] * _PITCH + _BOX_H // 2
        middle = (x1 + x2) // 2
        dash = ' stroke-dasharray="7 5"' if state != "ok" else ""
        out.append(f'<path class="edge {state}" d="M{x1},{y1} C{middle},{y1} {middle},{y2} {x2 - 2},{y2}" fill="none" '
                   f'stroke="{_EDGE[state]}" stroke-width="{3 if state == "error" else 1.5}"{dash} '
                   f'marker-end="url(#arrow-{index}-{state})"/>')  # fmt: skip
        if label:
            mark = "✖" if state == "error" else "!"
            out.append(f'<text class="edge-label" x="{middle}" y="{(y1 + y2) // 2 - 6}" text-anchor="middle" '
                       f'font-weight="700" fill="{_EDGE[state]}">{_e(mark)} {_e(_clip(label, 18))}</text>')  # fmt: skip
    out.append("</svg></figure>")
    return "".join(out)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
