"""``syscontract plan``: a safe order for a release and for its rollback, end to end in temporary
directories, and, over random small systems, the plan against a brute force over every order."""

from __future__ import annotations

import functools
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import small_systems

from syscontract import Contract
from syscontract.cli import main
from syscontract.manifest import Entry, Manifest, dumps
from syscontract.system import drift, environment_findings
from syscontract.system.plan import plan

SHOP = Path(__file__).parents[2] / "examples" / "shop"


def syscontract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syscontract", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of examples/shop: its release/, previous/ and deployments/ manifests as committed."""
    return Path(shutil.copytree(SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("__pycache__")))


def planned(shop: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = syscontract("plan", *args, "--format", "json", cwd=shop)
    assert "" == result.stderr
    return result.returncode, json.loads(result.stdout)


def order(body: dict[str, Any]) -> list[tuple[str, bool, bool]]:
    return [(s["service"], s["from"] is None, s["to"] is None) for s in body["steps"]]


# -- the shop --------------------------------------------------------------------------------------


def test_the_release_deploys_checkout_before_pricing(shop: Path) -> None:
    code, body = planned(shop, "release", "--to", "prod", "--with", "deployments/prod")
    assert (0, True, ["checkout", "pricing"], ["entitlements"]) == (
        code, body["safe"], [s["service"] for s in body["steps"]], body["unchanged"],
    )  # fmt: skip
    assert {"step": 1, "service": "checkout", "from": "produces order.v2", "to": "produces order.v3"} == {
        k: v for k, v in body["steps"][0].items() if k not in ("why", "wait")
    }
    assert body["steps"][0]["why"].startswith("before pricing (step 2): pricing requires order.v3 customerTier")
    assert {"environment", "safe", "steps", "findings"} <= set(body)


def test_the_order_the_release_is_given_in_does_not_matter(shop: Path) -> None:
    forward = syscontract("plan", "release/checkout.json", "release/entitlements.json", "release/pricing.json",
                          "--to", "prod", "--with", "deployments/prod", cwd=shop)  # fmt: skip
    backward = syscontract("plan", "release/pricing.json", "release/entitlements.json", "release/checkout.json",
                           "--to", "prod", "--with", "deployments/prod/pricing.json", "deployments/prod/checkout.json",
                           "deployments/prod/entitlements.json", cwd=shop)  # fmt: skip
    assert (0, 0) == (forward.returncode, backward.returncode)
    assert forward.stdout == backward.stdout
    assert forward.stdout.index("1. checkout") < forward.stdout.index("2. pricing")


def test_rolling_back_both_rolls_pricing_back_first(shop: Path) -> None:
    code, body = planned(shop, "previous", "--to", "staging", "--with", "deployments/staging")
    assert (0, ["pricing", "checkout"]) == (code, [s["service"] for s in body["steps"]])
    assert "produces order.v2" == body["steps"][1]["to"]


def test_rolling_back_checkout_alone_has_no_safe_order(shop: Path) -> None:
    result = syscontract("plan", "previous/checkout.json", "--to", "staging", "--with", "deployments/staging", cwd=shop)
    assert (1, "") == (result.returncode, result.stderr)
    text = " ".join(result.stdout.split())
    assert "no safe order to deploy into staging" in text
    assert "roll pricing back first" in text and "or keep checkout on order.v3" in text
    code, body = planned(shop, "previous/checkout.json", "--to", "staging", "--with", "deployments/staging")
    assert (1, False, []) == (code, body["safe"], body["steps"])
    assert [("pricing", "customerTier", "checkout", "order.v2")] == [
        (f["consumer"], f["field"], f["producer"], f["produced"]) for f in body["findings"]
    ]


def test_the_release_says_what_to_wait_for_before_pricing(shop: Path) -> None:
    """checkout's order.v2 messages are still in the log after step 1; pricing's release would refuse
    them (no customerTier): the plan says to let pricing read them first."""
    code, body = planned(shop, "release", "--to", "prod", "--with", "deployments/prod")
    assert (0, []) == (code, body["steps"][0]["wait"])
    assert [
        "until pricing has read every order.v2 message checkout wrote: they have no customerTier, which "
        "pricing's new release requires (it would refuse them)"
    ] == body["steps"][1]["wait"]


def test_nothing_to_deploy_when_the_environment_runs_the_release(shop: Path) -> None:
    result = syscontract("plan", "release", "--to", "staging", "--with", "deployments/staging", cwd=shop)
    assert (0, "nothing to deploy into staging: it already runs this release (unchanged: checkout, entitlements, "
            "pricing)\n") == (result.returncode, result.stdout)  # fmt: skip


def _write(path: Path, manifest: Manifest) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(manifest.to_json()))
    return path


def test_a_new_service_is_deployed_once_what_it_requires_is_sent(shop: Path) -> None:
    pricing = json.loads((shop / "release" / "pricing.json").read_text())
    pricing["service"] = "fraud"
    (shop / "release" / "fraud.json").write_text(json.dumps(pricing))
    code, body = planned(shop, "release", "--to", "prod", "--with", "deployments/prod")
    assert (0, [("checkout", False, False), ("fraud", True, False), ("pricing", False, False)]) == (code, order(body))
    assert body["steps"][1]["why"].startswith("after checkout (step 1): fraud requires order.v3 customerTier")
    assert [
        "start fraud after the last order.v2 message checkout wrote (from the latest offset): they have no "
        "customerTier, which fraud requires (it would refuse them)"
    ] == body["steps"][1]["wait"]
    # each step's reason is its own: not what another step already in the plan would break
    assert body["steps"][2]["why"].startswith("after checkout (step 1): pricing requires order.v3 customerTier")


def test_a_retired_service_is_a_step_to_nothing(shop: Path) -> None:
    entitlements = json.loads((shop / "release" / "entitlements.json").read_text())
    entitlements["declarations"], entitlements["contracts"] = [], {}
    (shop / "release" / "entitlements.json").write_text(json.dumps(entitlements))
    code, body = planned(shop, "release", "--to", "prod", "--with", "deployments/prod")
    assert (0, [("checkout", False, False), ("entitlements", False, True), ("pricing", False, False)]) == (
        code, order(body),
    )  # fmt: skip


def test_retiring_the_only_producer_is_refused(shop: Path) -> None:
    checkout = json.loads((shop / "release" / "checkout.json").read_text())
    checkout["declarations"], checkout["contracts"] = [], {}
    (shop / "release" / "checkout.json").write_text(json.dumps(checkout))
    code, body = planned(shop, "release/checkout.json", "--to", "prod", "--with", "deployments/prod")
    assert (1, {"no-producer"}) == (code, {f["kind"] for f in body["findings"]})


# -- synthetic systems ------------------------------------------------------------------------------


def record(name: str, version: int, fields: list[str], defaults: tuple[str, ...] = ()) -> Contract:
    """An Avro record of string fields; those in ``defaults`` have a default (an older writer without
    them can still be read)."""
    body = {
        "type": "record",
        "name": name.title(),
        "fields": [{"name": f, "type": "string", **({"default": ""} if f in defaults else {})} for f in fields],
    }
    return Contract.from_avro(f"{name}.v{version}", body)


def side(
    service: str, environment: str, produces: Contract | None = None, consumes: tuple[Contract, list[str]] | None = None
) -> Manifest:
    entries, contracts = [], {}
    if produces is not None:
        entries.append(Entry("producer", produces.ref, f"{service}.send", ()))
        contracts[produces.ref] = produces
    if consumes is not None:
        entries.append(Entry("consumer", consumes[0].ref, f"{service}.handle", tuple(consumes[1])))
        contracts[consumes[0].ref] = consumes[0]
    return Manifest(service, environment, tuple(entries), contracts)


def run_plan(tmp_path: Path, deployed: list[Manifest], release: list[Manifest], capsys: Any) -> tuple[int, Any]:
    state = [_write(tmp_path / "state" / f"{m.service}.json", m) for m in deployed]
    build = [_write(tmp_path / "build" / f"{m.service}.json", m) for m in release]
    code = main(["plan", *map(str, build), "--to", "prod", "--with", *map(str, state), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


X1, X2 = record("x", 1, ["id"]), record("x", 2, ["id", "f"])
Y1, Y2 = record("y", 1, ["id"]), record("y", 2, ["id", "g"])


def test_a_three_service_chain_has_one_safe_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """accounts -> billing -> crm, and the release removes a field at each link: accounts stops sending
    x.h, which billing's release no longer needs; billing stops sending y.g, which crm's release no
    longer needs. Only crm, billing, accounts is safe (the reverse of the names' order)."""
    xh, x = record("x", 1, ["id", "h"]), record("x", 2, ["id"])
    yg, y = record("y", 1, ["id", "g"]), record("y", 2, ["id"])
    deployed = [
        side("accounts", "prod", produces=xh),
        side("billing", "prod", produces=yg, consumes=(xh, ["h"])),
        side("crm", "prod", consumes=(yg, ["g"])),
    ]
    release = [
        side("accounts", "build", produces=x),
        side("billing", "build", produces=y, consumes=(x, ["id"])),
        side("crm", "build", consumes=(y, ["id"])),
    ]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (0, ["crm", "billing", "accounts"]) == (code, [s["service"] for s in body["steps"]])
    assert body["steps"][1]["why"].startswith("after crm (step 1): crm requires y.v1 g, which billing's y.v2")


def test_a_chain_of_added_fields_is_safe_in_order_and_says_what_to_wait_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """orders starts sending x.f, billing's release requires it and starts sending y.g, audit's release
    requires that (each added with a default, so older messages stay readable): orders, billing, audit,
    each consumer told to read the older messages first."""
    xf, yg = record("x", 2, ["id", "f"], defaults=("f",)), record("y", 2, ["id", "g"], defaults=("g",))
    deployed = [
        side("orders", "prod", produces=X1),
        side("billing", "prod", produces=Y1, consumes=(X1, ["id"])),
        side("audit", "prod", consumes=(Y1, ["id"])),
    ]
    release = [
        side("audit", "build", consumes=(yg, ["g"])),
        side("billing", "build", produces=yg, consumes=(xf, ["f"])),
        side("orders", "build", produces=xf),
    ]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (0, ["orders", "billing", "audit"]) == (code, [s["service"] for s in body["steps"]])
    assert [[], ["x.v1"], ["y.v1"]] == [[w.split()[5] for w in s["wait"]] for s in body["steps"]]


def test_a_new_reader_must_read_the_messages_already_in_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same chain with fields added without a default: billing's release cannot decode the x.v1
    messages orders wrote before step 1. No safe order by default; with --backlog 1 (readers meet only
    what was written since the previous step) orders, billing, audit."""
    deployed = [
        side("orders", "prod", produces=X1),
        side("billing", "prod", produces=Y1, consumes=(X1, ["id"])),
        side("audit", "prod", consumes=(Y1, ["id"])),
    ]
    release = [
        side("audit", "build", consumes=(Y2, ["g"])),
        side("billing", "build", produces=Y2, consumes=(X2, ["f"])),
        side("orders", "build", produces=X2),
    ]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (1, False) == (code, body["safe"])
    assert {("billing", "x.v2", "x.v1")} <= {(f["consumer"], f["contract"], f["produced"]) for f in body["findings"]}
    assert (
        "with --backlog 1 (readers meet what was written since the previous step) this order is safe: "
        "orders, billing, audit"
    ) == body["hints"][-1]
    assert (
        "billing's x.v2 cannot read orders's x.v1, and the x.v1 messages orders wrote stay in the log (--backlog "
        "all): give the fields x.v2 has and x.v1 lacks a default, so that it reads them, or let billing catch up "
        "before each step (--backlog 0)"
    ) in body["hints"]
    args = ["plan", str(tmp_path / "build"), "--to", "prod", "--with", str(tmp_path / "state"), "--format", "json"]
    assert 0 == main([*args, "--backlog", "1"])
    body = json.loads(capsys.readouterr().out)
    assert (1, ["orders", "billing", "audit"]) == (body["backlog"], [s["service"] for s in body["steps"]])


def test_an_older_reader_must_read_what_the_newer_producer_already_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rolling back p (x.v2 -> x.v1, which has h without a default) and its consumer c: c first cannot
    read x.v2 at all; p first leaves c's older reader with the x.v2 messages p already wrote, which it
    cannot read either. With --backlog 0 (those messages read before each step), p then c."""
    xh, x = record("x", 1, ["id", "h"]), record("x", 2, ["id"])
    deployed = [side("p", "prod", produces=x), side("c", "prod", consumes=(x, ["id"]))]
    release = [side("p", "build", produces=xh), side("c", "build", consumes=(xh, ["id"]))]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (1, {("c", "unreadable", "x.v2")}) == (
        code, {(f["consumer"], f["kind"], f["produced"]) for f in body["findings"]},
    )  # fmt: skip
    assert 0 == main(["plan", str(tmp_path / "build"), "--to", "prod", "--with", str(tmp_path / "state"),
                      "--backlog", "0"])  # fmt: skip
    assert "1. p: produces x.v2 -> produces x.v1" in capsys.readouterr().out


def test_a_cycle_has_no_safe_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each service's release requires a field only the other's release sends."""
    deployed = [
        side("left", "prod", produces=X1, consumes=(Y1, ["id"])),
        side("right", "prod", produces=Y1, consumes=(X1, ["id"])),
    ]
    release = [
        side("left", "build", produces=X2, consumes=(Y2, ["g"])),
        side("right", "build", produces=Y2, consumes=(X2, ["f"])),
    ]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (1, False, []) == (code, body["safe"], body["steps"])
    assert {("left", "g"), ("right", "f")} == {(f["consumer"], f["field"]) for f in body["findings"] if f["field"]}
    assert any("each need the other to go first" in hint for hint in body["hints"])


# -- plan against brute force ----------------------------------------------------------------------


def _systems(system: dict[str, Any]) -> tuple[list[Manifest], list[Manifest]]:
    contracts = {v: record("event", v, fields) for v, fields in system["versions"].items()}

    def make(service: str, environment: str, spec: dict[str, Any] | None) -> Manifest | None:
        if spec is None:
            return None
        consumes = spec["consumes"]
        return side(
            service,
            environment,
            produces=None if spec["produces"] is None else contracts[spec["produces"]],
            consumes=None if consumes is None else (contracts[consumes[0]], consumes[1]),
        )

    deployed = [
        m for s, spec in system["deployed"].items() if (m := make(s, "prod", spec)) is not None and m.declarations
    ]
    release = [m for s, spec in system["release"].items() if (m := make(s, "build", spec)) is not None]
    return deployed, release


def _brute_force(deployed: list[Manifest], release: list[Manifest], backlog: int | None) -> list[list[str]]:
    """Every safe order, by trying every order: the state after each step passes ``drift``, and its
    readers can read what the producers of every state since the release began (or of the last
    ``backlog`` states) wrote."""
    current = {m.service: m for m in deployed}
    target = {m.service: (Manifest(m.service, "prod", m.declarations, m.contracts) if m.declarations else None)
              for m in release}  # fmt: skip
    changed = sorted(s for s, m in target.items() if (current.get(s) and current[s].to_json()) != (m and m.to_json()))

    def state(applied: tuple[str, ...]) -> list[Manifest]:
        everyone = {**current, **{s: target[s] for s in applied}}
        return [m for m in everyone.values() if m is not None]

    @functools.cache
    def safe(prefix: tuple[str, ...]) -> bool:
        if not prefix:
            return True
        writers = [
            Manifest(m.service, "prod", tuple(e for e in m.declarations if e.role == "producer"), m.contracts)
            for k in range(0 if backlog is None else max(0, len(prefix) - backlog), len(prefix))
            for m in state(prefix[:k])
        ]
        now = state(prefix)
        unreadable = [f for f in drift([*now, *writers]).errors if f.kind == "unreadable"]
        return safe(prefix[:-1]) and not drift(now).errors and not unreadable

    return [list(o) for o in itertools.permutations(changed) if safe(o)]


def _reference_waits(
    deployed: list[Manifest], release: list[Manifest], order: list[str], backlog: int | None
) -> list[list[tuple[str, str]]]:
    """Per step, the (writer version, producer) of the messages still in the log that the step's new
    release would refuse, from whole states: every reader of the state after the step against the
    producers of the states it may still read (every one since the release began, or the last
    ``backlog``), less what the state itself already shows."""
    current = {m.service: m for m in deployed}
    target = {m.service: (Manifest(m.service, "prod", m.declarations, m.contracts) if m.declarations else None)
              for m in release}  # fmt: skip

    def state(k: int) -> list[Manifest]:
        everyone = {**current, **{s: target[s] for s in order[:k]}}
        return [m for m in everyone.values() if m is not None]

    waits = []
    for step, service in enumerate(order, start=1):
        now = state(step)
        window = range(0 if backlog is None else max(0, step - backlog), step)
        shown = set(environment_findings("prod", now))
        found = environment_findings("prod", now, writers=[m for k in window for m in state(k)])
        kept = {(f.produced or "", f.producer or "", f.field, f.kind): None for f in found
                if f.consumer == service and f.field is not None and f not in shown}  # fmt: skip
        waits.append(sorted(key[:2] for key in kept))
    return waits


def _waits_of(result: Any) -> list[list[tuple[str, str]]]:
    said = re.compile(r"(?:every|the last) (\S+) message (\S+) wrote")
    return [sorted(said.search(w).groups() for w in step.wait) for step in result.steps]  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_systems(max_services=6), st.sampled_from([None, None, 0, 1, 2, 3]))
def test_plan_agrees_with_brute_force_and_every_step_passes_drift(system: dict[str, Any], backlog: int | None) -> None:
    """The relation decides as trying every order does (with --backlog 2 and 3 too, where a new reader
    must wait steps apart from an old writer it cannot read, and with several services handing the
    production of a contract between them); each step's waits are what whole states show."""
    deployed, release = _systems(system)
    result = plan(release, "prod", deployed, backlog=backlog)
    orders = _brute_force(deployed, release, backlog)
    if not result.safe:
        assert [] == orders
        assert result.findings
        return
    chosen = [step.service for step in result.steps]
    assert orders, chosen
    assert min(orders) == chosen  # the first safe order by service names
    assert _reference_waits(deployed, release, chosen, backlog) == _waits_of(result)
    current = {m.service: m for m in deployed}
    for step in result.steps:
        moved = next(m for m in release if m.service == step.service)
        current.pop(step.service, None)
        if moved.declarations:
            current[step.service] = Manifest(moved.service, "prod", moved.declarations, moved.contracts)
        assert [] == drift(list(current.values())).errors, step


def test_plan_is_the_same_whatever_order_the_manifests_come_in() -> None:
    deployed, release = _systems(
        {
            "versions": {1: ["a"], 2: ["a", "b"]},
            "deployed": {f"s{i}": {"produces": None, "consumes": (1, ["a"])} if i % 2 else {"produces": 1,
                         "consumes": None} for i in range(5)},
            "release": {f"s{i}": {"produces": None, "consumes": (2, ["b"])} if i % 2 else {"produces": 2,
                        "consumes": None} for i in range(5)},
        }
    )  # fmt: skip
    first = plan(release, "prod", deployed, backlog=0)
    again = plan(release[::-1], "prod", deployed[::-1], backlog=0)
    assert ["s0", "s2", "s4", "s1", "s3"] == [step.service for step in first.steps]
    assert dumps(first.to_json()) == dumps(again.to_json())


# -- the relation: cycles, and releases too large to try every order ---------------------------------


def test_a_cycle_of_three_is_printed_as_the_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """a's release requires a field only c's release sends, b's one only a's, c's one only b's (each
    added with a default, so old messages stay readable): a before b before c before a."""
    old = {n: record(n, 1, ["id"]) for n in "xyz"}
    new = {n: record(n, 2, ["id", "f"], defaults=("f",)) for n in "xyz"}
    deployed = [
        side("a", "prod", produces=old["x"], consumes=(old["z"], ["id"])),
        side("b", "prod", produces=old["y"], consumes=(old["x"], ["id"])),
        side("c", "prod", produces=old["z"], consumes=(old["y"], ["id"])),
    ]
    release = [
        side("a", "build", produces=new["x"], consumes=(new["z"], ["f"])),
        side("b", "build", produces=new["y"], consumes=(new["x"], ["f"])),
        side("c", "build", produces=new["z"], consumes=(new["y"], ["f"])),
    ]
    code, body = run_plan(tmp_path, deployed, release, capsys)
    assert (1, ["a", "b", "c"]) == (code, body["cycle"])
    assert {("a", "c"), ("b", "a"), ("c", "b")} == {(f["consumer"], f["producer"]) for f in body["findings"]}
    assert body["hints"][0].startswith("a, b, c must each deploy before the next, and c before a")
    assert 1 == main(["plan", str(tmp_path / "build"), "--to", "prod", "--with", str(tmp_path / "state")])
    assert "each of these must deploy before the next, in a cycle: a -> b -> c -> a" in capsys.readouterr().out


def _pairs(count: int, *, cycle: bool) -> tuple[list[Manifest], list[Manifest]]:
    """``count`` producer/consumer pairs: each producer's release adds a field (with a default) that its
    consumer's release requires; with ``cycle``, the first consumer's release also starts sending a field
    the first producer's release requires."""
    back1, back2 = record("back", 1, ["id"]), record("back", 2, ["id", "g"], defaults=("g",))
    deployed, release = [], []
    for i in range(count):
        old, new = record(f"t{i:03d}", 1, ["id"]), record(f"t{i:03d}", 2, ["id", "f"], defaults=("f",))
        loop = cycle and i == count - 1
        deployed += [side(f"p{i:03d}", "prod", produces=old, consumes=(back1, ["id"]) if loop else None),
                     side(f"c{i:03d}", "prod", produces=back1 if loop else None, consumes=(old, ["id"]))]  # fmt: skip
        release += [side(f"p{i:03d}", "build", produces=new, consumes=(back2, ["g"]) if loop else None),
                    side(f"c{i:03d}", "build", produces=back2 if loop else None, consumes=(new, ["f"]))]  # fmt: skip
    return deployed, release


def test_a_release_of_two_hundred_services_deploys_each_producer_before_its_consumer() -> None:
    """Too many orders to try (200!): the relation orders them; the first order by names puts every
    consumer right after the producer it waits for."""
    deployed, release = _pairs(100, cycle=False)
    result = plan(release, "prod", deployed)
    order = [step.service for step in result.steps]
    assert (True, 200) == (result.safe, len(order))
    assert order[:3] == ["p000", "c000", "p001"]
    assert all(order.index(f"p{i:03d}") < order.index(f"c{i:03d}") for i in range(100))
    assert result.steps[1].why.startswith("after p000 (step 1): c000 requires t000.v2 f, which p000's t000.v1")


def test_one_cycle_among_two_hundred_services_is_refused_with_that_cycle() -> None:
    deployed, release = _pairs(100, cycle=True)
    result = plan(release, "prod", deployed)
    assert (False, ("c099", "p099")) == (result.safe, result.cycle)
    assert {("c099", "f", "p099"), ("p099", "g", "c099")} == {
        (f.consumer, f.field, f.producer) for f in result.findings
    }


def _unreadable_pairs(count: int) -> tuple[list[Manifest], list[Manifest]]:
    """``count`` pairs whose consumer's release requires a field its producer's release adds without a
    default: the new reader cannot read the old writer's messages."""
    deployed, release = [], []
    for i in range(count):
        old, new = record(f"t{i}", 1, ["id"]), record(f"t{i}", 2, ["id", "f"])
        deployed += [side(f"p{i}", "prod", produces=old), side(f"c{i}", "prod", consumes=(old, ["id"]))]
        release += [side(f"p{i}", "build", produces=new), side(f"c{i}", "build", consumes=(new, ["f"]))]
    return deployed, release


def test_a_backlog_of_two_keeps_a_new_reader_two_steps_after_the_old_writer() -> None:
    """With --backlog 2 a reader meets what the last two states' producers wrote: c0 cannot read what
    p0 wrote before its step, so c0 comes two steps after p0, and another step goes between."""
    deployed, release = _unreadable_pairs(2)
    result = plan(release, "prod", deployed, backlog=2)
    assert ["p0", "p1", "c0", "c1"] == [step.service for step in result.steps]
    assert result.steps[2].why.startswith("after p0 (step 1) and at least 2 steps later: c0 requires t0.v2 f")


def test_a_search_past_its_budget_answers_no(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules that are not a plain "before" (here: steps apart) need a search; past its budget the
    gate fails closed, and says why."""
    from syscontract.system import plan as _plan

    monkeypatch.setattr(_plan, "SEARCH_BUDGET", 2)
    deployed, release = _unreadable_pairs(3)
    result = plan(release, "prod", deployed, backlog=2)
    assert (False, {"field-not-sent", "unreadable"}) == (result.safe, {f.kind for f in result.findings})
    assert result.hints[0].startswith("no safe order was found within 2 partial orders")


def test_rolling_back_two_hundred_services_rolls_each_consumer_back_before_its_producer() -> None:
    deployed, release = _pairs(100, cycle=False)
    now = [Manifest(m.service, "prod", m.declarations, m.contracts) for m in release]
    result = plan([Manifest(m.service, "build", m.declarations, m.contracts) for m in deployed], "prod", now)
    order = [step.service for step in result.steps]
    assert (True, 200) == (result.safe, len(order))
    assert all(order.index(f"c{i:03d}") < order.index(f"p{i:03d}") for i in range(100))


def test_steps_forced_in_both_directions_are_a_cycle_of_two() -> None:
    """p's release drops h and adds f; c requires h now and f after its release: c first would miss f,
    p first would leave c's current release without h."""
    old = record("x", 1, ["id", "h"])
    new = record("x", 2, ["id", "f"], defaults=("f",))
    deployed = [side("p", "prod", produces=old), side("c", "prod", consumes=(old, ["h"]))]
    release = [side("p", "build", produces=new), side("c", "build", consumes=(new, ["f"]))]
    result = plan(release, "prod", deployed, backlog=0)
    assert (False, ("c", "p")) == (result.safe, result.cycle)
    assert {("c", "f", "x.v1"), ("c", "h", "x.v2"), ("c", None, "x.v2")} == {
        (f.consumer, f.field, f.produced) for f in result.findings
    }  # c's x.v1 cannot read x.v2 at all (h has no default)
    assert any("c and p each need the other to go first" in hint for hint in result.hints)


def test_a_release_that_repairs_a_broken_environment_takes_that_step_first() -> None:
    """c requires x.v2 f today, and p still writes x.v1: prod is broken now. Every state after a step
    must pass drift, so p's release (which sends f) is step 1, before a, whose name comes first."""
    x1, x2 = record("x", 1, ["id"]), record("x", 2, ["id", "f"], defaults=("f",))
    y1, y2 = record("y", 1, ["id"]), record("y", 2, ["id", "g"], defaults=("g",))
    deployed = [side("p", "prod", produces=x1), side("c", "prod", consumes=(x2, ["f"])), side("a", "prod", produces=y1)]
    release = [side("p", "build", produces=x2), side("a", "build", produces=y2)]
    result = plan(release, "prod", deployed, backlog=0)
    assert ["p", "a"] == [step.service for step in result.steps]
    assert "first: c requires x.v2 f, which p's x.v1 does not have" == result.steps[0].why


def test_a_step_that_many_others_follow_names_the_first_five_and_counts_the_rest() -> None:
    old, new = record("t", 1, ["id"]), record("t", 2, ["id", "f"], defaults=("f",))
    deployed = [side("p", "prod", produces=old)] + [side(f"c{i}", "prod", consumes=(old, ["id"])) for i in range(8)]
    release = [side("p", "build", produces=new)] + [side(f"c{i}", "build", consumes=(new, ["f"])) for i in range(8)]
    result = plan(release, "prod", deployed)
    assert "p" == result.steps[0].service
    assert result.steps[0].why.count("; before c") == 4
    assert result.steps[0].why.endswith("; and before 3 more steps")
