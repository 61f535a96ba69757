"""``syscontract demo``: the incident, end to end, in one process, in a few seconds.

Checkout sends ``order`` events to pricing in two environments. staging runs the current checkout
(order.v3, with ``customerTier``); prod still runs the previous release (order.v2, without it). The
demo shows, with the contracts shipped in this package and an in-process transport:

1. what each environment sends;
2. a consumer written the usual way (it declares the customer id it knows it needs, and reads the
   tier with ``.get("customerTier", "BASIC")``) pricing a VIP order in prod at the BASIC price,
   without a word; ``syscontract lint`` on this module finds that line (``undeclared-fallback``);
3. the same consumer with ``@requires`` refusing the prod message and dead-lettering it, unchanged;
4. what telemetry reports (``syscontract.messages``): which writer versions arrive where, and the
   violations;
5. ``syscontract drift`` over the two environments' manifests: the finding that would have stopped
   the deploy;
6. ``syscontract report``: the system as one HTML page (environments x services, the incident in red,
   the telemetry of step 4 as live evidence, the plan that fixes prod), written to a new temporary
   directory unless ``html`` names the file, and where it is.
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syscontract import _config, telemetry
from syscontract._engine.policy import DeadLetter
from syscontract._produces import produces
from syscontract._report import Live, page
from syscontract._requires import requires
from syscontract.contract import ContractRef
from syscontract.errors import MissingCriticalField
from syscontract.manifest import Manifest, build
from syscontract.registry import FileRegistry
from syscontract.system import drift
from syscontract.system.plan import plan
from syscontract.wire import Envelope

__all__ = ["CONTRACTS", "run"]

CONTRACTS = Path(__file__).parent / "contracts"
PRICE_FACTOR = {"BASIC": 1.00, "SILVER": 0.95, "GOLD": 0.90, "VIP": 0.80}
ORDERS = [("ord-1", "Ada", "VIP", 2, 50.0), ("ord-2", "Grace", "GOLD", 1, 120.0), ("ord-3", "Alan", "BASIC", 4, 9.5)]


def _order(order_id: str, name: str, items: int, price: float) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "customer": {"id": f"cust-{name.lower()}", "name": name},
        "items": [{"sku": "SKU-1", "qty": items, "unitPrice": price}],
        "currency": "EUR",
        "channel": "web",
    }


_REGISTRY = FileRegistry(CONTRACTS)  # the demo's own contracts, whatever the process configures


@produces("order.v3", format="confluent", registry=_REGISTRY)
def checkout_current(order_id: str, name: str, tier: str, items: int, price: float) -> Any:
    """checkout 2.0 (staging): order.v3, with customerTier."""
    return {**_order(order_id, name, items, price), "customerTier": tier}


@produces("order.v2", format="confluent", registry=_REGISTRY)
def checkout_previous(order_id: str, name: str, tier: str, items: int, price: float) -> Any:
    """checkout 1.9 (prod): order.v2, which has no customerTier."""
    return _order(order_id, name, items, price)


def _total(order: dict[str, Any], tier: str) -> float:
    return round(float(sum(i["qty"] * i["unitPrice"] for i in order["items"])) * PRICE_FACTOR[tier], 2)


@requires("order.v3", ["customer.id"], registry=_REGISTRY)
def pricing_naive(order: Any) -> tuple[str, float]:
    """pricing as it is usually written: the tier it prices by is read with a fallback, never declared."""
    tier = order.get("customerTier", "BASIC")
    return tier, _total(order, tier)


_letters: list[DeadLetter] = []  # the demo's dead-letter queue


@requires(
    "order.v3",
    ["customerTier", "customer.id"],
    on_violation="dead_letter",
    dead_letter=_letters.append,
    registry=_REGISTRY,
)
def pricing(order: Any) -> float:
    """pricing: the price depends on the customer's tier, so the tier must have been sent."""
    return _total(order, order["customerTier"])


@dataclass
class Story:
    """The facts the demo establishes, printed as a story or as JSON."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    naive: list[dict[str, Any]] = field(default_factory=list)
    guarded: list[dict[str, Any]] = field(default_factory=list)
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def run(*, output: str = "text", stream: Any = None, html: str | Path | None = None) -> int:
    """Run the incident and print it (``output`` ``text`` or ``json``), and write its page to ``html``
    (default: ``report.html`` in a new temporary directory); 0 when it went as told."""
    stream = stream or sys.stdout
    registry = _REGISTRY
    _config.configure(service="pricing")
    letters = _letters
    letters.clear()
    story = Story()
    before = {tuple(row[:4]): row[4] for row in telemetry.counts()}
    environments = {"staging": checkout_current, "prod": checkout_previous}
    flows: dict[str, dict[str, Any]] = {}  # the page's live evidence: what step 4 counted, by environment
    for environment, checkout in environments.items():
        naive_counted: dict[tuple[Any, ...], int] = {}  # step 4 reports the guarded pricing only
        for order_id, name, tier, items, price in ORDERS:
            message = checkout(order_id, name, tier, items, price)
            sent_as = str(checkout.__syscontract__.ref)  # type: ignore[attr-defined]
            story.sent.append({"environment": environment, "order": order_id, "tier": tier, "writer": sent_as})
            # the naive consumer: the tier undeclared, its fallback fills the gap
            mark = {tuple(row[:4]): row[4] for row in telemetry.counts()}
            priced_as, naive_total = pricing_naive(Envelope(message.value, message.headers))
            for row in telemetry.counts():
                naive_counted[tuple(row[:4])] = (
                    naive_counted.get(tuple(row[:4]), 0) + row[4] - mark.get(tuple(row[:4]), 0)
                )
            story.naive.append(
                {"environment": environment, "order": order_id, "tier": tier, "priced_as": priced_as,
                 "total": naive_total, "expected": _total(_order(order_id, name, items, price), tier)}
            )  # fmt: skip
            kept = len(letters)
            total = pricing(Envelope(message.value, message.headers))
            entry: dict[str, Any] = {"environment": environment, "order": order_id, "tier": tier}
            if total is not None:
                entry.update(outcome="priced", total=total)
            else:
                letter = letters[kept]
                assert isinstance(letter.error, MissingCriticalField)
                entry.update(
                    outcome="refused",
                    error=str(letter.error),
                    reason=letter.error.reason,
                    dead_lettered_bytes=len(letter.payload),
                    unchanged=letter.payload == message.value,
                )
            story.guarded.append(entry)
        after = {tuple(row[:4]): row[4] for row in telemetry.counts()}
        for key, count in sorted(after.items(), key=str):
            delta = count - before.get(key, 0) - naive_counted.get(key, 0)
            contract, role, outcome, writer = key[0], key[1], key[2], key[3]
            if delta and role == "consumer" and contract == "order.v3":
                story.telemetry.append(
                    {"environment": environment, "contract": contract, "writer": writer, "outcome": outcome,
                     "messages": delta}
                )  # fmt: skip
                received = flows.setdefault(environment, {}).setdefault("received", {}).setdefault("pricing", {})
                received.setdefault(writer or "unknown", {})[outcome] = delta
            elif delta and role == "producer" and contract and contract.startswith("order.") and outcome == "ok":
                produced = flows.setdefault(environment, {}).setdefault("produced", {}).setdefault("checkout", {})
                version = contract.rpartition(".")[2]
                produced[version] = produced.get(version, 0) + delta
        before = after
    manifests = _manifests(registry, pricing, environments)
    findings = drift(manifests).findings
    story.findings = [f.to_json() for f in findings]
    story.report = _picture(manifests, findings, flows, html)
    held = (
        any(n["environment"] == "prod" and n["tier"] == "VIP" and n["priced_as"] == "BASIC" for n in story.naive)
        and all(g["outcome"] == "priced" for g in story.guarded if g["environment"] == "staging")
        and all(g["outcome"] == "refused" and g["unchanged"] for g in story.guarded if g["environment"] == "prod")
        and any(f["kind"] == "field-not-sent" and f["environment"] == "prod" for f in story.findings)
        and story.report["red"] == [["prod", "checkout"], ["prod", "pricing"]]
    )
    if output == "json":
        stream.write(json.dumps({"story_held": held, **story.__dict__}, indent=2) + "\n")
    else:
        _tell(story, stream, colour=getattr(stream, "isatty", lambda: False)())
    return 0 if held else 1


def _picture(
    manifests: list[Manifest], findings: list[Any], flows: dict[str, dict[str, Any]], html: str | Path | None
) -> dict[str, Any]:
    """Step 6: the page, with step 4's counts as live evidence and the plan that fixes prod (staging's
    checkout into prod); where it was written and what it shows in red."""
    release = [m for m in manifests if m.environment == "staging" and m.service == "checkout"]
    fix = plan(release, "prod", [m for m in manifests if m.environment == "prod"])
    evidence = Live("this demo's own telemetry (syscontract.messages, step 4)", {e: {"order": roles}
                    for e, roles in flows.items()})  # fmt: skip
    result = page(manifests, findings, live=evidence, plan=fix, title="syscontract demo")
    target = Path(html) if html is not None else Path(tempfile.mkdtemp(prefix="syscontract-demo-")) / "report.html"
    target.write_text(result.html, encoding="utf-8")
    red = sorted(
        [e, s]
        for e in result.environments
        for s in result.services
        if any(f.severity == "error" and f.environment == e and s in (f.consumer, f.producer) for f in findings)
    )
    steps = [f"{step.step}. {step.service} -> {step.after}" for step in fix.steps]
    return {"path": str(target), "red": red, "plan": steps, "errors": result.errors}


def _manifests(registry: FileRegistry, pricing: Any, environments: dict[str, Any]) -> list[Manifest]:
    consumer = pricing.__syscontract__
    found = []
    for environment, checkout in environments.items():
        producer = checkout.__syscontract__
        found.append(build([producer], service="checkout", environment=environment,
                           contracts={producer.ref: registry.get(producer.ref)}))  # fmt: skip
        found.append(build([consumer], service="pricing", environment=environment,
                           contracts={consumer.ref: registry.get(ContractRef("order", 3))}))  # fmt: skip
    return found


def _tell(story: Story, out: Any, *, colour: bool) -> None:
    def bold(text: str) -> str:
        return f"\033[1m{text}\033[0m" if colour else text

    def red(text: str) -> str:
        return f"\033[31m{text}\033[0m" if colour else text

    def green(text: str) -> str:
        return f"\033[32m{text}\033[0m" if colour else text

    write = out.write
    write(bold("syscontract demo: a field that was never sent, priced as if it had been") + "\n\n")
    write(bold("1. Checkout sends orders") + "\n")
    write("   staging runs checkout 2.0 (order.v3, with customerTier); prod still runs 1.9 (order.v2)\n")
    for sent in story.sent:
        where = f"{sent['environment']:<8} {sent['order']}"
        write(f"   {where}  customer tier {sent['tier']:<6} sent as {sent['writer']}\n")
    write("\n" + bold("2. Pricing, written the usual way: the tier read with a fallback, never declared") + "\n")
    write('   @requires("order.v3", ["customer.id"]), then order.get("customerTier", "BASIC")\n')
    for naive in story.naive:
        wrong = naive["priced_as"] != naive["tier"]
        note = red(f"<- priced as {naive['priced_as']}, no error, no alert") if wrong else ""
        where = f"{naive['environment']:<8} {naive['order']}"
        write(f"   {where}  {naive['tier']:<6} pays {naive['total']:>7.2f} EUR  {note}".rstrip() + "\n")
    write("\n" + bold('3. The same pricing with @requires("order.v3", ["customerTier", "customer.id"])') + "\n")
    for guarded in story.guarded:
        where = f"{guarded['environment']:<8} {guarded['order']}"
        if guarded["outcome"] == "priced":
            write(f"   {where}  {guarded['tier']:<6} pays {guarded['total']:>7.2f} EUR  {green('ok')}\n")
        else:
            kept = f"{guarded['dead_lettered_bytes']} bytes, unchanged: {guarded['unchanged']}"
            write(f"   {where}  {red('refused')}, dead-lettered ({kept})\n")
    refused = next((g for g in story.guarded if g["outcome"] == "refused"), None)
    if refused is not None:
        text = f"MissingCriticalField: {refused['error']}"
        write("\n".join(textwrap.wrap(text, 97, initial_indent="   ", subsequent_indent="     ")) + "\n")
    write("\n" + bold("4. What telemetry reports: syscontract.messages, per environment") + "\n")
    write(f"   {'ENVIRONMENT':<12} {'CONTRACT':<10} {'WRITER':<10} {'OUTCOME':<10} MESSAGES\n")
    for row in story.telemetry:
        outcome = f"{row['outcome']:<10}"
        outcome = red(outcome) if row["outcome"] != "ok" else outcome
        writer = row["writer"] or "-"
        write(f"   {row['environment']:<12} {row['contract']:<10} {writer:<10} {outcome} {row['messages']}\n")
    write("\n" + bold("5. Before deploy: syscontract drift over the two environments' manifests") + "\n")
    for finding in story.findings:
        lines = textwrap.wrap(finding["message"], 88)
        write(f"   {red(finding['severity'].upper())}  {lines[0]}\n")
        for line in lines[1:]:
            write(f"          {line}\n")
    write("\n" + bold("6. The system as a picture: syscontract report") + "\n")
    picture = story.report
    write(f"   wrote {picture['path']}\n")
    cells = ", ".join(f"{service} in {environment}" for environment, service in picture["red"])
    write("   open it in a browser: " + red(f"in red, {cells}") + "\n")
    write(f"   with the plan that fixes prod: {'; '.join(picture['plan'])}\n")
    write("\n" + bold("What to do next") + "\n")
    write("   - no contract yet? syscontract init order --from samples/*.json writes one from sample messages\n")
    write("   - find what your handlers read and do not declare: syscontract lint (it finds step 2)\n")
    write("   - declare the fields your handlers depend on: @requires(contract=..., fields=[...])\n")
    write("   - call syscontract.verify() at start-up; roll out with on_violation='observe', then enforce\n")
    write("   - write manifests in your pipeline (syscontract inventory), gate deploys on syscontract\n")
    write("     can-deploy, order a release (and its rollback) with syscontract plan\n")
    write("   - from live traffic: syscontract drift --prometheus URL reads what every environment runs\n")
    write("   - the picture of your system: syscontract report deployments/ --html report.html\n")
    write("   - README.md, docs/quickstart.md and examples/shop show each step\n")
