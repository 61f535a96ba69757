"""``plan``: a safe order to deploy a release (or roll one back), one service at a time.

A release is a set of manifests, one per service (see :mod:`syscontract.manifest`): a service the
environment does not run yet is new, one whose manifest has no declarations left is retired, one whose
manifest says what the environment already runs is unchanged (no step). The state of the environment
(what runs there) is its own manifests.

Each step deploys one service. The state after every step must pass the checks of ``drift``: every
consumer's critical fields are sent by every producer of that contract there, and every reader can
read every writer there. Messages outlive the step that wrote them, so every reader present after a
step must also be able to read what the producers of every earlier state since the release began wrote
(the state it starts in included): an older reader after a rollback must read what the newer producer
already wrote. ``backlog=N`` narrows that to the last N states, ``0`` to none.

A message in the log that lacks a field a consumer's new release requires does not make an order
unsafe (``@requires`` refuses it loudly, it never fills in a default); the step says to wait until the
consumer's previous release has read such messages.

Among safe orders, the plan is the first by service names (every order has the same number of steps,
one per changed service), so the same inputs always give the same plan.

How it is decided, without trying orders: every finding is about two services (a consumer and a
producer, perhaps the same one), and each has two versions (before and after its step). Whether a
pair's two versions ever meet in a state, or a reader meets a writer's earlier messages, depends only
on which of the two steps comes first, so each bad pair of versions becomes one rule (:class:`_Relation`):
one step must come before the other ("must come before", with at least ``backlog`` steps between them
when a new reader cannot read the old writer's messages), one of them must be the first step (the
environment is broken now and the release repairs it), or no order can avoid it. A consumer left with no
producer at all is the one rule about more than two services: some step that starts producing its
contract must come no later than some step that stops producing it. The plan is then the first
topological order of the relation by names, found in ``O(S log S + R)`` for S steps and R rules; a cycle
in it is the proof that no safe order exists, and is reported as the cycle. Only the rules that are not
a plain "before" (a producer's role handed between several services, or a backlog of two steps or more,
which makes the problem one of scheduling with delays, NP-hard in general) need a search, and it only
walks the orders the relation allows, within a budget: past it, the answer is no (a gate fails closed).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from syscontract.compat.consumers import DEFAULTED, NULLABLE, OPTIONAL, REMOVED
from syscontract.contract import ContractRef
from syscontract.manifest import Manifest, ManifestError
from syscontract.system import Finding, environment_findings

__all__ = ["Plan", "Step", "plan", "summary"]

_LACKS = {
    REMOVED: "does not have",
    NULLABLE: "may send as null",
    DEFAULTED: "may leave out (it has a default)",
    OPTIONAL: "does not require",
}


_THEY = {
    REMOVED: "have no {field}",
    NULLABLE: "may carry {field} as null",
    DEFAULTED: "may leave {field} out",
    OPTIONAL: "may leave {field} out",
}
_BACKLOG = {
    0: "readers only meet what runs with them",
    1: "readers meet what was written since the previous step",
}
_REASONS = 5
"""How many steps a step's ``why`` names on each side (a producer of 1,000 consumers precedes them all)."""
SEARCH_BUDGET = 200_000
"""How many partial orders the search for the rules that are not a plain "before" may try before the
answer is no (only a producer's role handed between several services, or ``backlog`` >= 2, need it)."""


@dataclass(frozen=True)
class Step:
    """One deploy: ``service`` goes from what it runs (``before``; None: new) to ``after`` (None: retired)."""

    step: int
    service: str
    before: str | None
    after: str | None
    why: str
    wait: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "service": self.service, "from": self.before, "to": self.after, "why": self.why,
                "wait": list(self.wait)}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """The answer: ``safe`` with its ``steps``, or not, with the ``findings`` that block every order,
    ``hints`` on what would unblock it and, when the steps must each come before the next in a circle,
    that ``cycle`` (each service's step must come before the next one's, the last's before the first's)."""

    environment: str
    safe: bool
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]
    hints: tuple[str, ...]
    unchanged: tuple[str, ...]
    backlog: int | None
    cycle: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "safe": self.safe,
            "backlog": "all" if self.backlog is None else self.backlog,
            "steps": [s.to_json() for s in self.steps],
            "unchanged": list(self.unchanged),
            "findings": [f.to_json() for f in self.findings],
            "cycle": list(self.cycle),
            "hints": list(self.hints),
        }


def summary(manifest: Manifest | None) -> str | None:
    """What a service's manifest declares, in a line: ``consumes order.v3 [customer.id, customerTier]``."""
    if manifest is None:
        return None
    if not manifest.declarations:
        return "nothing"
    consumed: dict[str, set[str]] = {}
    produced: set[str] = set()
    for entry in manifest.declarations:
        if entry.role == "producer":
            produced.add(str(entry.contract))
        else:
            consumed.setdefault(str(entry.contract), set()).update(manifest.critical(entry))
    parts = [f"produces {ref}" for ref in sorted(produced, key=_ref_key)]
    parts += [
        f"consumes {ref}" + (f" [{', '.join(sorted(fields))}]" if fields else "")
        for ref, fields in sorted(consumed.items(), key=lambda item: _ref_key(item[0]))
    ]
    return "; ".join(parts)


def plan(
    release: Sequence[Manifest],
    environment: str,
    deployed: Sequence[Manifest],
    *,
    backlog: int | None = None,
    external: Iterable[str] = (),
    waives: Callable[[Finding], bool] | None = None,
) -> Plan:
    """The plan for deploying ``release`` into ``environment``, which runs ``deployed`` (its manifests,
    already checked to describe it: see :func:`syscontract.system.state`). A finding ``waives`` says
    yes to (see :mod:`syscontract.system.waivers`) does not block a step."""
    if backlog is not None and backlog < 0:
        raise ManifestError(f"backlog must be 0 or more steps, not {backlog}")
    current = {m.service: m for m in deployed}
    targets: dict[str, Manifest | None] = {}
    unchanged: list[str] = []
    seen: dict[str, str] = {}
    for manifest in sorted(release, key=lambda m: (m.service, m.source)):
        if manifest.service in seen:
            raise ManifestError(f"two manifests of {manifest.service} in the release: {seen[manifest.service]} and "
                                f"{manifest.source}")  # fmt: skip
        seen[manifest.service] = manifest.source
        moved = (
            Manifest(manifest.service, environment, manifest.declarations, manifest.contracts, manifest.source)
            if manifest.declarations
            else None
        )
        old = current.get(manifest.service)
        if (moved is None and old is None) or (moved is not None and old is not None and _same(old, moved)):
            unchanged.append(manifest.service)
        else:
            targets[manifest.service] = moved
    relation = _Relation(environment, current, targets, backlog, frozenset(external), waives)
    order = relation.solve()
    if order is None:
        findings = tuple(relation.blocking)
        hints = relation.hints(findings)
        for narrower in (1, 0) if backlog is None else range(min(backlog, 2) - 1, -1, -1):
            found = _Relation(environment, current, targets, narrower, frozenset(external), waives).solve()
            if found is not None:
                hints += (f"with --backlog {narrower} ({_BACKLOG[narrower]}) this order is safe: {', '.join(found)}",)
                break
        return Plan(environment, False, (), findings, hints, tuple(unchanged), backlog, relation.cycle)
    steps = tuple(
        Step(index, service, summary(current.get(service)), _to(current.get(service), targets[service]),
             relation.why(order, index), relation.waits(order, index))
        for index, service in enumerate(order, start=1)
    )  # fmt: skip
    return Plan(environment, True, steps, (), (), tuple(unchanged), backlog)


def _to(old: Manifest | None, new: Manifest | None) -> str | None:
    """``summary(new)``, saying what changed when the summaries alone would look the same."""
    after = summary(new)
    if old is None or new is None or after != summary(old):
        return after
    changed = sorted((str(ref) for ref in new.contracts if ref in old.contracts
                      and new.contracts[ref].fingerprint != old.contracts[ref].fingerprint), key=_ref_key)  # fmt: skip
    if changed:
        return f"{after} (changed schema: {', '.join(changed)})"
    handlers = sorted({e.handler for e in new.declarations} ^ {e.handler for e in old.declarations})
    return f"{after} (changed handlers: {', '.join(handlers)})" if handlers else f"{after} (changed declarations)"


def _ref_key(text: str) -> tuple[str, int]:
    ref = ContractRef.parse(text)
    return ref.name, ref.version


def _same(old: Manifest, new: Manifest) -> bool:
    def body(manifest: Manifest) -> dict[str, Any]:
        value = manifest.to_json()
        del value["environment"], value["syscontract"]
        return value

    return body(old) == body(new)


_Versions = tuple[Manifest | None, Manifest | None]


@dataclass(frozen=True)
class _Either:
    """Some step of ``early`` comes no later than some step of ``late``; with no ``late``, some step of
    ``early`` is the first. Its ``findings`` are what breaks otherwise."""

    early: frozenset[str]
    late: frozenset[str]
    findings: tuple[Finding, ...]


class _Relation:
    """The rules every safe order of ``targets``' steps must follow, built once from pairs of services,
    and the first order by names that follows them (:meth:`solve`)."""

    def __init__(
        self,
        environment: str,
        current: dict[str, Manifest],
        targets: dict[str, Manifest | None],
        backlog: int | None,
        external: frozenset[str],
        waives: Callable[[Finding], bool] | None = None,
    ) -> None:
        self.environment = environment
        self.waives = waives or (lambda finding: False)
        self.current = current
        self.targets = targets
        self.backlog = backlog
        self.external = external
        self.changes = sorted(targets)
        # every service's (before, after): the same manifest twice when it does not change
        self.versions: dict[str, _Versions] = {s: (m, m) for s, m in current.items()}
        self.versions.update({s: (current.get(s), m) for s, m in targets.items()})
        # first -> then -> (at least this many steps later, what breaks otherwise)
        self.after: dict[str, dict[str, tuple[int, tuple[Finding, ...]]]] = defaultdict(dict)
        self.before: dict[str, set[str]] = defaultdict(set)
        self.firsts: list[_Either] = []
        self.eithers: list[_Either] = []
        self.impossible: list[Finding] = []
        self.in_log: set[Finding] = set()
        self.blocking: list[Finding] = []
        self.cycle: tuple[str, ...] = ()
        self.gave_up = False
        self.producers: dict[str, set[str]] = {}
        self._where: tuple[Sequence[str], dict[str, int]] = ((), {})
        self.suspects: dict[tuple[int, int], dict[str, set[str]]] = {}

    # -- building the relation ----------------------------------------------------------------------

    def _build(self) -> None:
        producers: dict[str, set[str]] = defaultdict(set)
        consumers: dict[str, set[str]] = defaultdict(set)
        for service, pair in self.versions.items():
            for manifest in pair:
                for entry in manifest.declarations if manifest is not None else ():
                    (producers if entry.role == "producer" else consumers)[entry.contract.name].add(service)
        self.producers = producers
        # every consumer against every producer, each side before or after its step: three states, whose
        # findings say which pairs to judge one by one (a finding names every producer of its writer)
        self.suspects = {(c, p): self._suspects(c, p) for c, p in ((0, 0), (1, 0), (0, 1))}
        pairs = sorted(
            {(c, p) for name, readers in consumers.items() for c in readers for p in producers.get(name, ())}
        )
        for consumer, producer in pairs:
            if consumer in self.targets or producer in self.targets:
                self._pair(consumer, producer)
        for name in sorted(consumers):
            if name not in self.external:
                self._producers_of(name, producers.get(name, set()), consumers[name])

    def _suspects(self, reading: int, writing: int) -> dict[str, set[str]]:
        """consumer -> the ``producer`` of each error it has in its version ``reading`` (0: before its
        step, 1: after) against the producers in their version ``writing``: one pass over a state made of
        the consumers' declarations of one version and the producers' of the other."""
        parts = []
        for service, pair in sorted(self.versions.items()):
            for role, manifest in (("consumer", pair[reading]), ("producer", pair[writing])):
                if manifest is not None and (entries := tuple(e for e in manifest.declarations if e.role == role)):
                    parts.append(Manifest(service, self.environment, entries, manifest.contracts))
        suspects: dict[str, set[str]] = defaultdict(set)
        for finding in environment_findings(self.environment, parts, external=self.external):
            if finding.severity == "error" and finding.producer is not None:
                suspects[finding.consumer].add(finding.producer)
        return suspects

    def _met(self, consumer: str, producer: str, reading: int, writing: int) -> list[Finding]:
        """The errors of ``consumer`` in its version ``reading`` against ``producer`` in ``writing``."""
        named = self.suspects[reading, writing].get(consumer, ())
        if not any(producer in text for text in named):  # a name among the producers (or in one: judged)
            return []
        reader, writer = self.versions[consumer][reading], self.versions[producer][writing]
        if reader is None or writer is None:
            return []
        produced = tuple(e for e in writer.declarations if e.role == "producer")
        alone = Manifest(producer, writer.environment, produced, writer.contracts)  # the producer alone
        found = environment_findings(self.environment, [reader, alone], external=self.external)
        return [f for f in found if f.severity == "error" and f.consumer == consumer and f.producer == producer
                and not self.waives(f)]  # fmt: skip

    def _pair(self, consumer: str, producer: str) -> None:
        """The rules of one consumer and one producer (perhaps the same service), one of which changes.

        A version of the consumer meets a version of the producer in a state when both run there, and
        through the log when the producer's version wrote in one of the states a reader still reads
        (every earlier one, the last ``backlog`` or none); in the log only ``unreadable`` counts."""
        log = self.backlog != 0
        if consumer == producer:  # one step moves both sides
            if found := self._met(consumer, producer, 0, 0):
                self._first({consumer}, found)  # it cannot stay as it is for a single step
            if log and (found := self._met(consumer, producer, 1, 0)) and _unreadable(found):
                self._impossible(found, log=True)  # its new release would read what its old one wrote
            return
        if consumer not in self.targets:
            if (found := self._met(consumer, producer, 0, 0)) and log and _unreadable(found):
                self._impossible(found, log=True)  # what it wrote before the first step stays in the log
            elif found:
                self._first({producer}, found)  # the producer's step repairs the state it starts in
            return
        if producer not in self.targets:
            if found := self._met(consumer, producer, 0, 0):
                self._first({consumer}, found)
            return
        if found := self._met(consumer, producer, 0, 0):
            self._first({consumer} if log and _unreadable(found) else {consumer, producer}, found)
        if found := self._met(consumer, producer, 1, 0):  # the new consumer must not meet the old producer
            if log and _unreadable(found):
                if self.backlog is None:
                    self._impossible(found, log=True)  # the old producer's messages stay in the log for good
                else:
                    self._edge(producer, consumer, found, self.backlog)
            else:
                self._edge(producer, consumer, found)
        if found := self._met(consumer, producer, 0, 1):  # the old consumer must not meet the new producer
            self._edge(consumer, producer, found)

    def _producers_of(self, name: str, producers: set[str], consumers: set[str]) -> None:
        """``no-producer``: every state a consumer of ``name`` runs in must run a producer of it."""

        def makes(manifest: Manifest | None) -> bool:
            return manifest is not None and any(
                e.role == "producer" and e.contract.name == name for e in manifest.declarations
            )

        def takes(manifest: Manifest | None) -> bool:
            return manifest is not None and any(
                e.role == "consumer" and e.contract.name == name for e in manifest.declarations
            )

        if any(makes(before) and makes(after) for before, after in (self.versions[s] for s in producers)):
            return  # some producer runs in every state
        gain = frozenset(s for s in producers if makes(self.versions[s][1]))
        lose = frozenset(s for s in producers if makes(self.versions[s][0]))
        for consumer in sorted(consumers):
            before, after = self.versions[consumer]
            early, late = gain, lose
            if consumer in self.targets and not takes(after):
                early = gain | {consumer}  # it stops consuming: its step may come first instead
            elif consumer in self.targets and not takes(before):
                late = lose | {consumer}  # it starts consuming: a producer must run from its step on
            reader = before if takes(before) else after
            assert reader is not None
            alone = Manifest(consumer, self.environment, tuple(e for e in reader.declarations if e.role == "consumer"),
                             reader.contracts)  # fmt: skip
            found = [
                f
                for f in environment_findings(self.environment, [alone])
                if f.kind == "no-producer" and ContractRef.parse(f.contract).name == name
            ]
            if early & late:
                continue  # one service on both sides: its own step is early enough
            if not early:
                self._impossible(found)
            elif not late:
                self.firsts.append(_Either(early, late, tuple(found)))
            elif len(early) == 1 and len(late) == 1:
                self._edge(next(iter(early)), next(iter(late)), found)
            else:
                self.eithers.append(_Either(early, late, tuple(found)))

    def _edge(self, first: str, then: str, found: list[Finding], gap: int = 1) -> None:
        known = self.after[first].get(then)
        if known is None or gap > known[0]:
            self.after[first][then] = (gap, tuple(found))
        self.before[then].add(first)

    def _first(self, services: set[str], found: list[Finding]) -> None:
        self.firsts.append(_Either(frozenset(services), frozenset(), tuple(found)))

    def _impossible(self, found: list[Finding], *, log: bool = False) -> None:
        self.impossible += found
        if log:  # what a reader meets in the log, not beside it: its own hint
            self.in_log.update(f for f in found if f.kind == "unreadable")

    # -- solving it ---------------------------------------------------------------------------------

    def solve(self) -> list[str] | None:
        """The first safe order by names, or None with :attr:`blocking` (and :attr:`cycle`) saying why."""
        # every order ends in the same state: when that state alone fails, no order can be safe (and
        # with nothing to change, a waiver of what it shows is in use)
        final = [m for s, (_, m) in sorted(self.versions.items()) if m is not None]
        errors = [f for f in environment_findings(self.environment, final, external=self.external)
                  if f.severity == "error" and not self.waives(f)]  # fmt: skip
        if not self.changes:
            return []
        if errors:
            return self._blocked_by(errors)
        self._build()
        if self.impossible:
            return self._blocked_by(self.impossible)
        allowed = set(self.changes)
        for rule in self.firsts:
            allowed &= rule.early
        if not allowed:  # two rules each want their own step first
            return self._blocked_by([f for rule in self.firsts for f in rule.findings])
        cycle = self._find_cycle()
        if cycle:
            self.cycle = tuple(cycle)
            ring = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
            return self._blocked_by([f for first, then in ring for f in self.after[first][then][1]])
        if self.firsts:
            starts = sorted(s for s in allowed if not self.before[s])
            if not starts:  # what must be first must also come after another step
                blockers = [f for rule in self.firsts for f in rule.findings]
                blockers += [f for s in sorted(allowed) for b in sorted(self.before[s]) for f in self.after[b][s][1]]
                return self._blocked_by(blockers)
        else:
            starts = None
        exotic = self.eithers or any(gap > 1 for edges in self.after.values() for gap, _ in edges.values())
        order = self._search(starts) if exotic else self._topological(starts)
        if order is None:
            blockers = [f for rule in self.eithers for f in rule.findings]
            blockers += [f for edges in self.after.values() for gap, found in edges.values() if gap > 1 for f in found]
            return self._blocked_by(blockers)
        return order

    def _blocked_by(self, found: Iterable[Finding]) -> list[str] | None:
        """No safe order: ``found`` are the findings that block every one."""
        self.blocking = sorted(dict.fromkeys(found), key=_key)
        return None

    def _find_cycle(self) -> list[str] | None:
        """A cycle of "must come before" among the steps, the first by names, or None."""
        state: dict[str, int] = {}  # 1: on the path, 2: done
        for root in self.changes:
            if root in state:
                continue
            path: list[str] = [root]
            state[root] = 1
            stack = [iter(sorted(self.after[root]))]
            while stack:
                step = next(stack[-1], None)
                if step is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif state.get(step) == 1:
                    return path[path.index(step) :]
                elif step not in state:
                    state[step] = 1
                    path.append(step)
                    stack.append(iter(sorted(self.after[step])))
        return None

    def _topological(self, starts: list[str] | None) -> list[str]:
        """The first order by names in which every step comes after those it must follow (Kahn's, with
        the smallest ready name next), the first of ``starts`` first when some step must be first."""
        waiting = {s: len(self.before[s]) for s in self.changes}
        ready = [s for s in self.changes if not waiting[s]]
        order: list[str] = []

        def take(service: str) -> None:
            order.append(service)
            for then in self.after[service]:
                waiting[then] -= 1
                if not waiting[then]:
                    heapq.heappush(ready, then)

        if starts is not None:
            ready.remove(starts[0])
            heapq.heapify(ready)
            take(starts[0])
        heapq.heapify(ready)
        while ready:
            take(heapq.heappop(ready))
        return order

    def _search(self, starts: list[str] | None) -> list[str] | None:
        """The first order by names that follows every rule, gaps and either-rules included: a
        depth-first walk over the orders the "before" rules allow, in names' order, remembering the
        partial orders that led nowhere."""
        window = max([gap for edges in self.after.values() for gap, _ in edges.values()] + [1]) - 1
        late: dict[str, list[_Either]] = defaultdict(list)
        for rule in self.eithers:
            for member in rule.late:
                late[member].append(rule)
        waiting = {s: len(self.before[s]) for s in self.changes}
        placed: dict[str, int] = {}
        order: list[str] = []
        failed: set[tuple[frozenset[str], tuple[str, ...]]] = set()
        tries = 0

        def fits(service: str) -> bool:
            step = len(order) + 1
            if step == 1 and starts is not None and service not in starts:
                return False
            for first in self.before[service]:
                if placed[first] > step - self.after[first][service][0]:
                    return False
            for rule in late[service]:
                if rule.early & rule.late:
                    continue
                if not any(s in placed for s in rule.early) and all(s in placed or s == service for s in rule.late):
                    return False
            return True

        def options() -> list[str]:
            return [s for s in self.changes if s not in placed and not waiting[s] and fits(s)]

        stack = [iter(options())]
        while stack:
            if (service := next(stack[-1], None)) is None:
                stack.pop()
                if order:
                    key = (frozenset(placed), tuple(order[len(order) - window :]) if window else ())
                    failed.add(key)
                    gone = order.pop()
                    del placed[gone]
                    for then in self.after[gone]:
                        waiting[then] += 1
                continue
            tries += 1
            if tries > SEARCH_BUDGET:
                self.gave_up = True
                return None
            order.append(service)
            placed[service] = len(order)
            for then in self.after[service]:
                waiting[then] -= 1
            if len(order) == len(self.changes):
                return order
            key = (frozenset(placed), tuple(order[len(order) - window :]) if window else ())
            if key in failed:
                stack.append(iter(()))
            else:
                stack.append(iter(options()))
        return None

    # -- explaining it ------------------------------------------------------------------------------

    def why(self, order: Sequence[str], step: int) -> str:
        """Why step ``step`` (1-based) of a safe ``order`` is where it is: which steps it must follow or
        precede, and the finding that moving it would cause."""
        service = order[step - 1]
        where = self._positions(order)
        reasons = []
        if step == 1:
            reasons += [f"first: {_first_reason(rule.findings)}" for rule in self.firsts
                        if service in rule.early]  # fmt: skip
        follows = sorted(self.before[service], key=where.__getitem__)
        for first in follows[:_REASONS]:
            gap, found = self.after[first][service]
            apart = f" and at least {gap} steps later" if gap > 1 else ""
            reasons.append(f"after {first} (step {where[first]}){apart}: {_first_reason(found)}")
        if len(follows) > _REASONS:
            reasons.append(f"and after {len(follows) - _REASONS} more steps")
        precedes = sorted(self.after[service], key=where.__getitem__)
        for then in precedes[:_REASONS]:
            gap, found = self.after[service][then]
            reasons.append(f"before {then} (step {where[then]}): {_first_reason(found)}")
        if len(precedes) > _REASONS:
            reasons.append(f"and before {len(precedes) - _REASONS} more steps")
        return "; ".join(dict.fromkeys(reasons)) or "no other step must come before or after it"

    def _positions(self, order: Sequence[str]) -> dict[str, int]:
        if self._where[0] is not order:
            self._where = (order, {s: index for index, s in enumerate(order, start=1)})
        return self._where[1]

    def waits(self, order: Sequence[str], step: int) -> tuple[str, ...]:
        """What to wait for before step ``step``: messages still in the log that the service's new
        release would refuse, because they lack a field it requires (never a reason to refuse the order:
        ``@requires`` refuses such a message loudly, it never fills in a default)."""
        service = order[step - 1]
        release = self.versions[service][1]
        if release is None or self.backlog == 0:
            return ()
        where = self._positions(order)
        oldest = 0 if self.backlog is None else max(0, step - self.backlog)  # the first state still read
        names = {e.contract.name for e in release.declarations if e.role == "consumer"}
        now, writers = [release], []
        for other in sorted({s for name in names for s in self.producers.get(name, ())}):
            before, after = self.versions[other]
            moved = other in where and where[other] <= step
            if other != service and (running := after if moved else before) is not None:
                now.append(running)
            if moved and oldest < where[other] and before is not None:
                writers.append(before)  # its old release wrote in a state the reader still reads
        current = set(environment_findings(self.environment, now, external=self.external))
        waits = []
        for finding in environment_findings(self.environment, now, writers=writers, external=self.external):
            if finding.consumer != service or finding.field is None or finding in current:
                continue
            they = _THEY.get(finding.kind.removeprefix("field-"), _THEY[REMOVED]).format(field=finding.field)
            name = ContractRef.parse(finding.contract).name
            previous = self.current.get(service)
            if previous is not None and any(
                e.role == "consumer" and e.contract.name == name for e in previous.declarations
            ):
                waits.append(
                    f"until {service} has read every {finding.produced} message {finding.producer} wrote: they "
                    f"{they}, which {service}'s new release requires (it would refuse them)"
                )
            else:
                waits.append(
                    f"start {service} after the last {finding.produced} message {finding.producer} wrote (from the "
                    f"latest offset): they {they}, which {service} requires (it would refuse them)"
                )
        return tuple(dict.fromkeys(waits))

    def hints(self, findings: Sequence[Finding]) -> tuple[str, ...]:
        hints: list[str] = []
        ring = set(self.cycle) if len(self.cycle) > 2 else set()
        if ring:
            hints.append(
                f"{', '.join(self.cycle)} must each deploy before the next, and {self.cycle[-1]} before "
                f"{self.cycle[0]}: release first a version of one of them that copes with both versions of its "
                "neighbours"
            )
        if self.gave_up:
            hints.append(
                f"no safe order was found within {SEARCH_BUDGET} partial orders (handing a contract's production "
                "between several services, or a --backlog of 2 or more, needs a search): treated as none; release "
                "it in smaller parts"
            )
        for finding in findings:
            if finding.consumer in ring and finding.producer in ring:
                continue
            consumer, producer = finding.consumer, finding.producer
            if finding in self.in_log:
                hint = (
                    f"{_reason(finding)}, and the {finding.produced} messages {producer} wrote stay in the log "
                    f"(--backlog {'all' if self.backlog is None else self.backlog}): give the fields "
                    f"{finding.contract} has and {finding.produced} lacks a default, so that it reads them, or let "
                    f"{consumer} catch up before each step (--backlog 0)"
                )
            elif finding.kind == "not-judged":
                hint = f"{_reason(finding)}: no order can be shown safe until it can"
            elif producer is None or (finding.field is None and finding.kind != "unreadable"):
                hint = (
                    f"{consumer} would consume {finding.contract} with no producer in {self.environment}: keep "
                    f"its producer, or release {consumer} without it first"
                )
            elif producer in self.targets and consumer not in self.targets:
                hint = self._keep_or_change(finding, consumer, producer)
            elif consumer in self.targets and producer not in self.targets:
                hint = (
                    f"{consumer}'s release needs what {producer} does not send ({_reason(finding)}): add a release "
                    f"of {producer} that sends it, or change {consumer}'s release"
                )
            else:
                hint = (
                    f"{consumer} and {producer} each need the other to go first ({_reason(finding)}): release "
                    f"first a version of one that copes with both versions of the other"
                )
            hints.append(hint)
        return tuple(dict.fromkeys(hints))

    def _keep_or_change(self, finding: Finding, consumer: str, producer: str) -> str:
        kept = self.current.get(producer)
        versions = sorted(
            {str(e.contract) for e in (kept.declarations if kept else ()) if e.role == "producer"}, key=_ref_key
        )
        name = ContractRef.parse(finding.contract).name
        keep = next((v for v in versions if _ref_key(v)[0] == name), None)
        going_back = keep is not None and finding.produced is not None and (_ref_key(finding.produced) < _ref_key(keep))
        what = finding.field or f"{finding.produced}"
        first = (
            f"roll {consumer} back first (add its previous manifest to this plan)"
            if going_back
            else f"release a {consumer} that does not need {what} first (add its manifest to this plan)"
        )
        return f"{_reason(finding)}: {first}, or keep {producer}" + (f" on {keep}" if keep else "")


def _unreadable(found: Sequence[Finding]) -> bool:
    return any(f.kind == "unreadable" for f in found)


def _first_reason(found: Sequence[Finding]) -> str:
    return _reason(found[0]) if found else "what it changes must come first"


def _key(finding: Finding) -> tuple[str, ...]:
    return (finding.consumer, finding.contract, finding.field or "", finding.producer or "", finding.produced or "",
            finding.kind)  # fmt: skip


def _reason(finding: Finding) -> str:
    if finding.kind == "not-judged":  # what cannot be judged blocks an order as an error does (the gates' rule)
        return (f"whether {finding.consumer}'s {finding.contract} can read {finding.producer}'s {finding.produced} "
                "cannot be judged")  # fmt: skip
    if finding.kind == "unreadable":
        return f"{finding.consumer}'s {finding.contract} cannot read {finding.producer}'s {finding.produced}"
    if finding.kind == "no-producer" or finding.field is None:
        return f"{finding.consumer} consumes {finding.contract}, which nothing would produce"
    lacks = _LACKS.get(finding.kind.removeprefix("field-"), _LACKS[REMOVED])
    return (
        f"{finding.consumer} requires {finding.contract} {finding.field}, which {finding.producer}'s "
        f"{finding.produced} {lacks}"
    )
