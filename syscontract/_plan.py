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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    """The answer: ``safe`` with its ``steps``, or not, with the ``findings`` that block every order and
    ``hints`` on what would unblock it."""

    environment: str
    safe: bool
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]
    hints: tuple[str, ...]
    unchanged: tuple[str, ...]
    backlog: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "safe": self.safe,
            "backlog": "all" if self.backlog is None else self.backlog,
            "steps": [s.to_json() for s in self.steps],
            "unchanged": list(self.unchanged),
            "findings": [f.to_json() for f in self.findings],
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
) -> Plan:
    """The plan for deploying ``release`` into ``environment``, which runs ``deployed`` (its manifests,
    already checked to describe it: see :func:`syscontract.system.state`)."""
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
    search = _Search(environment, current, targets, backlog, frozenset(external))
    order = search.run()
    if order is None:
        findings = tuple(search.blocking)
        hints = search.hints(findings)
        for narrower in (1, 0) if backlog is None else range(min(backlog, 2) - 1, -1, -1):
            found = _Search(environment, current, targets, narrower, frozenset(external)).run()
            if found is not None:
                hints += (f"with --backlog {narrower} ({_BACKLOG[narrower]}) this order is safe: {', '.join(found)}",)
                break
        return Plan(environment, False, (), findings, hints, tuple(unchanged), backlog)
    steps = tuple(
        Step(index, service, summary(current.get(service)), _to(current.get(service), targets[service]),
             search.why(order, index), search.waits(order, index))
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


class _Search:
    def __init__(
        self,
        environment: str,
        current: dict[str, Manifest],
        targets: dict[str, Manifest | None],
        backlog: int | None,
        external: frozenset[str],
    ) -> None:
        self.environment = environment
        self.current = current
        self.targets = targets
        self.backlog = backlog
        self.external = external
        self.changes = sorted(targets)
        self.failed: set[tuple[frozenset[str], frozenset[str]]] = set()
        self.blocking: list[Finding] = []
        self.depth = 0

    def state(self, applied: Iterable[str]) -> list[Manifest]:
        done = set(applied)
        services = [m for s, m in self.current.items() if s not in done]
        services += [m for s in done if (m := self.targets[s]) is not None]
        return sorted(services, key=lambda m: m.service)

    def earlier(self, order: Sequence[str], backlog: int | None) -> list[Manifest]:
        """The services of the states before the one after ``order`` whose messages may still be in
        the log: every state since the release began (the one it starts in included), or the last
        ``backlog``."""
        last = len(order)
        first = 0 if backlog is None else max(0, last - backlog)
        return [m for k in range(first, last) for m in self.state(order[:k])]

    def errors(self, order: Sequence[str], *, alone: bool = False) -> list[Finding]:
        """The errors of the state after ``order``: ``drift``'s, and (unless ``alone``) every reader
        there against every writer whose messages may still be in the log."""
        now = self.state(order)
        found = [f for f in self._findings(now) if f.severity == "error"]
        if not alone and self.backlog != 0:
            found += [
                f
                for f in self._findings(now, self.earlier(order, self.backlog))
                if f.severity == "error" and f.kind == "unreadable" and f not in found
            ]
        return found

    def waits(self, order: Sequence[str], step: int) -> tuple[str, ...]:
        """What to wait for before step ``step``: messages still in the log that the service's new
        release would refuse, because they lack a field it requires (never a reason to refuse the order:
        ``@requires`` refuses such a message loudly, it never fills in a default)."""
        service = order[step - 1]
        now = self.state(order[:step])
        current = set(self._findings(now))
        waits = []
        for finding in self._findings(now, self.earlier(order[:step], self.backlog)):
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

    def _findings(self, now: list[Manifest], writers: list[Manifest] | None = None) -> list[Finding]:
        return environment_findings(self.environment, now, writers=writers, external=self.external)

    def run(self) -> list[str] | None:
        # every order ends in the same state: when that state alone fails, no order can be safe
        final = self.errors(self.changes, alone=True) if self.changes else []
        if final:
            self._dead_end(len(self.changes), final)
            return None
        return self._extend([])

    def _extend(self, order: list[str]) -> list[str] | None:
        if len(order) == len(self.changes):
            return order
        for service in self.changes:
            if service in order:
                continue
            following = [*order, service]
            # what later states may still read: the producers of the last states, which the applied
            # services and those applied within the window decide
            start = 0 if self.backlog is None else max(0, len(following) + 1 - self.backlog)
            key = (frozenset(following), frozenset(following[start:]))
            if key in self.failed:
                continue
            errors = self.errors(following)
            if errors:
                self._dead_end(len(following), errors)
                self.failed.add(key)
                continue
            found = self._extend(following)
            if found is not None:
                return found
            self.failed.add(key)
        return None

    def _dead_end(self, depth: int, errors: list[Finding]) -> None:
        if depth > self.depth:
            self.depth, self.blocking = depth, []
        if depth == self.depth:
            self.blocking = sorted(dict.fromkeys([*self.blocking, *errors]), key=_key)

    def why(self, order: Sequence[str], step: int) -> str:
        """Why step ``step`` (1-based) of a safe ``order`` is where it is: which steps it must follow or
        precede, and the finding that moving it would cause."""
        service = order[step - 1]
        done = list(order[: step - 1])
        reasons = []
        for index, earlier in enumerate(done, start=1):
            without = [s for s in done if s != earlier]
            caused = self._caused(without, service)  # by this step, were it taken before ``earlier``
            if caused:
                reasons.append(f"after {earlier} (step {index}): {_reason(caused[0])}")
        for index, later in enumerate(order[step:], start=step + 1):
            caused = self._caused(done, later)  # by ``later``, were it taken before this step
            if caused:
                reasons.append(f"before {later} (step {index}): {_reason(caused[0])}")
        return "; ".join(reasons) or "no other step must come before or after it"

    def _caused(self, done: list[str], service: str) -> list[Finding]:
        """The errors that deploying ``service`` after ``done`` adds to those of ``done`` alone."""
        before = set(self.errors(done)) if done else set()
        return [f for f in self.errors([*done, service]) if f not in before]

    def hints(self, findings: Sequence[Finding]) -> tuple[str, ...]:
        hints: list[str] = []
        for finding in findings:
            consumer, producer = finding.consumer, finding.producer
            if finding.kind == "not-judged":
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
