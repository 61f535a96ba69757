"""Live drift: what each environment's services declared and received, read back from Prometheus.

Every service reports, through OpenTelemetry, the gauge ``syscontract.declarations`` (one point per
``@requires``/``@produces`` declaration), the counter ``syscontract.messages`` (by contract, role,
outcome and writer version) and the counter ``syscontract.violations`` (by critical field and reason).
Scraped by Prometheus, or written to it by a Collector, they become ``syscontract_declarations``,
``syscontract_messages_total`` and ``syscontract_violations_total``. :mod:`~syscontract.system.queries`
asks Prometheus's HTTP query API (or Thanos, Mimir, VictoriaMetrics: anything that speaks it) for
them, aggregated on the server; this module turns the answer into the same matrix and findings as
file-based drift (the rules are :mod:`syscontract.system.rules`, shared), with the evidence: writer
versions received, with counts, and violations by field and reason.

::

    from syscontract.system import live

    with live.Prometheus("http://prometheus:9090") as prometheus:
        snapshot = live.observe(prometheus, window="1h", environments=["prod"])
    report = live.drift(snapshot, contracts=FileRegistry("contracts"))

**Failing closed.** Unreachable, an error answer, a non-2xx answer (whatever its body says), a partial
answer (warnings), a malformed one, a sample that is not a finite, non-negative count, or no data at all
for an environment that was asked about: :class:`~syscontract.errors.PrometheusError` (exit 2), never an
empty report. A fractional count is rounded up: traffic is never read as none.

**The gates' rule.** Exit 0 only when every input was read and judged: what cannot be judged is an
error finding, never left out (``no-producer``, ``not-judged``, ``unattributed``); ``external`` (the
CLI's ``--external``) is the one opt-out, for contracts produced outside what reports to Prometheus.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syscontract import telemetry
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractError, PrometheusError
from syscontract.manifest import Manifest, ManifestError
from syscontract.system.prometheus import (
    BASIC_PASSWORD_ENV,
    BASIC_USER_ENV,
    DEFAULT_TIMEOUT,
    TOKEN_ENV,
    Prometheus,
)
from syscontract.system.queries import (
    CONTRACT,
    DECLARATIONS_METRIC,
    FAMILY,
    MESSAGES_METRIC,
    ROLE,
    SERVICE,
    VIOLATIONS_METRIC,
    WRITER,
    Declared,
    Flow,
    Snapshot,
    Violated,
    check_window,
    gate_queries,
    observe,
    queries,
    step,
)
from syscontract.system.rules import (
    Finding,
    Judged,
    field_findings,
    finding_key,
    name,
    no_producer,
    readability,
    ref,
)

__all__ = [
    "BASIC_PASSWORD_ENV",
    "BASIC_USER_ENV",
    "DECLARATIONS_METRIC",
    "DEFAULT_TIMEOUT",
    "MESSAGES_METRIC",
    "TOKEN_ENV",
    "VIOLATIONS_METRIC",
    "Declared",
    "Flow",
    "LiveFinding",
    "LiveReport",
    "Prometheus",
    "PrometheusError",
    "Snapshot",
    "Usage",
    "Violated",
    "check_window",
    "disagreements",
    "drift",
    "observe",
    "queries",
    "usage",
    "with_evidence",
]


@dataclass(frozen=True)
class LiveFinding(Finding):
    """A finding read from live traffic; ``evidence`` holds what Prometheus counted (always present)."""

    evidence: Mapping[str, Any] | None = field(default_factory=dict)


@dataclass
class LiveReport:
    """Live drift: the matrix (the file-based one, plus ``received`` and ``produced`` counts), the findings."""

    snapshot: Snapshot
    matrix: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    contracts_known: bool = False

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict[str, Any]:
        return {
            "prometheus": self.snapshot.url,
            "window": self.snapshot.window,
            "environments": sorted(self.matrix),
            "matrix": self.matrix,
            "findings": [f.to_json() for f in self.findings],
        }


ContractSource = Callable[[ContractRef], Contract | None]


def drift(
    snapshot: Snapshot, *, contracts: Any = None, manifests: Sequence[Manifest] = (), external: Iterable[str] = ()
) -> LiveReport:
    """The matrix and findings for ``snapshot``.

    ``contracts`` (a registry with ``get(ref)``, e.g. ``FileRegistry``, or a mapping of references to
    contracts) and the manifests' own contracts let each consumer's critical fields be looked up in
    every writer version it received or that a producer there declares, as file-based drift does. With
    ``manifests``, each manifest is compared with what its service declared and received. What traffic
    shows needs no contract: the violations by critical field and reason come from the series.

    The gates' rule: what cannot be judged is an error, never left out. A consumer no declared
    producer feeds (``no-producer``), a writer version (or the consumer's own version) whose contract
    is not at hand (``not-judged``), series nobody can attribute (``unattributed``). ``external`` names
    contracts produced outside what reports to Prometheus (a partner's system, as ``--external``):
    for those, ``no-producer``, ``not-judged`` and ``writer-not-in-manifests`` are warnings."""
    outside = frozenset(name(text) for text in external)
    lookup = _lookup(contracts, manifests)
    report = LiveReport(snapshot, contracts_known=contracts is not None or bool(manifests))
    seen = _by_environment(snapshot)
    for environment in sorted(seen):
        traffic = seen[environment]
        report.matrix[environment] = _matrix(traffic.declared, traffic.flows)
        report.findings += _environment(traffic, lookup, snapshot.window, outside)
    if manifests:
        report.findings += _against_manifests(snapshot, seen, manifests, outside)
    if snapshot.unattributed:
        report.findings.append(
            LiveFinding(
                environment="",
                severity="error",
                kind="unattributed",
                consumer="",
                handler="",
                contract="",
                message=f"{snapshot.unattributed} {DECLARATIONS_METRIC} series have no {SERVICE} label and no "
                "target_info for their job and instance: their service and environment are unknown, so what they "
                "declare cannot be judged (see docs/live.md, attribution)",
                evidence={"series": snapshot.unattributed},
            )
        )
    report.findings.sort(key=finding_key)
    return report


# -- what one environment showed, indexed ---------------------------------------------------------------


class Traffic:
    """What one environment declared and received in the window, indexed for the judgement."""

    def __init__(
        self, environment: str, declared: list[Declared], flows: list[Flow], violations: list[Violated]
    ) -> None:
        self.environment = environment
        self.declared = declared
        self.flows = flows
        # contract name -> writer version -> the services that declare producing it
        self.producers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for d in declared:
            parsed = ref(d.contract)
            if d.role == "producer" and parsed is not None and d.service not in self.producers[parsed.name][d.contract]:
                self.producers[parsed.name][d.contract].append(d.service)
        # consumer service and contract -> writer -> outcome -> count
        self.received: dict[tuple[str, str], dict[str | None, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for f in flows:
            if f.role == "consumer":
                outcomes = self.received[(f.service, f.contract)][f.writer]
                outcomes[f.outcome] = outcomes.get(f.outcome, 0) + f.count
        # consumer service and contract -> writer -> (field, reason) -> count
        self.violated: dict[tuple[str, str], dict[str | None, dict[tuple[str, str], int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for v in violations:
            if v.role == "consumer":
                why = self.violated[(v.service, v.contract)][v.writer]
                why[(v.field, v.reason)] = why.get((v.field, v.reason), 0) + v.count
        self.handlers: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for d in declared:
            self.handlers[(d.role, d.service, d.contract)].add(d.handler)

    def evidence(self, service: str, contract: str, writer: str, window: str) -> tuple[str, dict[str, Any]]:
        """The sentence and the evidence of what ``service`` received of ``contract`` written with ``writer``."""
        counts = self.received.get((service, contract), {}).get(writer, {})
        why = self.violated.get((service, contract), {}).get(writer, {})
        return _evidence(writer, counts, why, window, service)


def _by_environment(snapshot: Snapshot) -> dict[str, Traffic]:
    declared: dict[str, list[Declared]] = defaultdict(list)
    flows: dict[str, list[Flow]] = defaultdict(list)
    violations: dict[str, list[Violated]] = defaultdict(list)
    for one in snapshot.declared:
        declared[one.environment].append(one)
    for flow in snapshot.flows:
        flows[flow.environment].append(flow)
    for violated in snapshot.violations:
        violations[violated.environment].append(violated)
    # violations without their messages' counts are not traffic: an environment is one that declared or counted
    return {
        environment: Traffic(environment, declared[environment], flows[environment], violations[environment])
        for environment in {*declared, *flows}
    }


def _lookup(contracts: Any, manifests: Sequence[Manifest]) -> ContractSource:
    known: dict[ContractRef, Contract] = {}
    for manifest in manifests:
        known.update(manifest.contracts)

    def lookup(ref: ContractRef) -> Contract | None:
        if ref in known:
            return known[ref]
        if contracts is None:
            return None
        if isinstance(contracts, Mapping):
            found = contracts.get(ref)
            return found if isinstance(found, Contract) else None
        try:
            found = contracts.get(ref)
        except ContractError as exc:
            if getattr(exc, "reason", None) in _NOT_FOUND:
                return None
            raise  # a contract that is there but cannot be read: an input error (exit 2), never "unknown"
        return found if isinstance(found, Contract) else None

    return lookup


_NOT_FOUND = frozenset({"unknown-contract", "unknown-schema"})


def _version(text: str) -> tuple[str, str]:
    parsed = ref(text)
    return (parsed.name, f"v{parsed.version}") if parsed else (text, text)


def _matrix(declared: list[Declared], flows: list[Flow]) -> dict[str, dict[str, Any]]:
    matrix: dict[str, dict[str, Any]] = {}
    for d in declared:
        name, version = _version(d.contract)
        versions = matrix.setdefault(name, {}).setdefault(d.role, {}).setdefault(d.service, [])
        if version not in versions:
            versions.append(version)
    for f in flows:
        name, _ = _version(f.contract)
        roles = matrix.setdefault(name, {})
        if f.role == "consumer":
            writer = f.writer or "unknown"
            outcomes = roles.setdefault("received", {}).setdefault(f.service, {}).setdefault(writer, {})
            outcomes[f.outcome] = outcomes.get(f.outcome, 0) + f.count
        elif f.role == "producer" and f.outcome == telemetry.OK:
            produced = roles.setdefault("produced", {}).setdefault(f.service, {})
            _, version = _version(f.contract)
            produced[version] = produced.get(version, 0) + f.count
    for roles in matrix.values():
        for services in (roles.get("producer", {}), roles.get("consumer", {})):
            for versions in services.values():
                versions.sort(key=lambda v: (len(v), v))
    return _sorted(matrix)


def _sorted(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted_value(value[k]) for k in sorted(value)}


def _sorted_value(value: Any) -> Any:
    return _sorted(value) if isinstance(value, dict) else value


_ROLES = ("consumer", "producer")
_OUTCOMES = (telemetry.OK, telemetry.VIOLATION, telemetry.DECODE_ERROR)

# -- one environment: each consumer against each writer version, then what traffic alone shows ---------


def _environment(traffic: Traffic, lookup: ContractSource, window: str, external: frozenset[str]) -> list[Finding]:
    found: list[Finding] = _unknown_labels(traffic.environment, traffic.declared, traffic.flows)
    explained: set[tuple[str, str, str | None]] = set()
    for d in traffic.declared:
        if d.role == "consumer":
            found += _consumer(traffic, d, lookup, window, external, explained)
    found += _producers(traffic.environment, traffic.flows, traffic.handlers, window)
    found += _traffic_findings(traffic, explained, window)
    return found


def _consumer(
    traffic: Traffic,
    d: Declared,
    lookup: ContractSource,
    window: str,
    external: frozenset[str],
    explained: set[tuple[str, str, str | None]],
) -> list[Finding]:
    """One consumer declaration against every writer version declared or received in its environment;
    ``explained`` collects the (service, contract, writer) whose violations a finding already explains."""
    environment = traffic.environment
    judged = Judged(environment, d.service, d.handler, d.contract)
    reader_ref = ref(d.contract)
    if reader_ref is None:
        return [
            LiveFinding(
                severity="error",
                kind="not-judged",
                message=f"{environment}: {d.service} declares a consumer of {d.contract!r} in {d.handler}, which "
                "is not a contract reference (such as order.v3): what it requires cannot be judged",
                evidence={"instances": d.instances},
                **judged.base(),
            )
        ]
    found: list[Finding] = []
    outside = reader_ref.name in external
    flow = traffic.received.get((d.service, d.contract), {})
    declared_writers = traffic.producers.get(reader_ref.name, {})
    if not declared_writers:
        got = sum(sum(outcomes.values()) for outcomes in flow.values())
        found.append(no_producer(judged, outside, window=window, received=got,
                                 evidence={"instances": d.instances, "messages": got}, make=LiveFinding))  # fmt: skip
    reader = lookup(reader_ref)
    if reader is not None:
        # as file drift judges a manifest (Manifest.critical): the contract's own critical list too, which
        # telemetry reports only once the declaration is resolved (configure(registry=...) unresolves it)
        d = dataclasses.replace(d, fields=tuple(dict.fromkeys([*d.fields, *reader.critical])))
    for writer_text in sorted({*declared_writers, *(w for w in flow if w is not None)}):
        new, explains = _against_writer(traffic, d, judged, reader_ref, reader, writer_text, lookup, window, external)
        if explains:
            explained.add((d.service, d.contract, writer_text))
        found += new
    return found


def _against_writer(
    traffic: Traffic,
    d: Declared,
    judged: Judged,
    reader_ref: ContractRef,
    reader: Contract | None,
    writer_text: str,
    lookup: ContractSource,
    window: str,
    external: frozenset[str],
) -> tuple[list[Finding], bool]:
    """The consumer ``d`` against one writer version: the shared rules, with the live evidence; and
    whether a finding explains the violations counted for that writer (a contract not at hand does not)."""
    writer_ref = ref(writer_text)
    makers = traffic.producers[writer_ref.name].get(writer_text, []) if writer_ref else []
    other_version = writer_ref != reader_ref
    needs_writer = bool(d.fields) or other_version
    writer = lookup(writer_ref) if writer_ref is not None and needs_writer else None
    missing = [] if writer_ref is not None else [writer_text]
    if writer_ref is not None and needs_writer and writer is None:
        missing.append(writer_text)
    if other_version and reader is None:
        missing.append(str(reader_ref))
    said, evidence = traffic.evidence(d.service, d.contract, writer_text, window)
    if missing:
        outside = reader_ref.name in external or (writer_ref is not None and writer_ref.name in external)
        return [_not_judged(judged, d, writer_text, makers, said, evidence, missing, outside)], False
    if writer is None:
        return [], False  # the consumer's own version, and no field to look up: nothing to judge
    found = field_findings(
        judged, d.fields, writer, makers, tail=said, evidence=evidence, make=LiveFinding, reader=reader
    )
    if reader is not None:
        found += readability(judged, reader, writer, makers, tail=said, evidence=evidence, make=LiveFinding)
    return found, bool(found)


def _not_judged(
    judged: Judged,
    d: Declared,
    writer: str,
    makers: list[str],
    said: str,
    evidence: dict[str, Any],
    missing: list[str],
    external: bool,
) -> LiveFinding:
    """A consumer against a writer version when a contract it takes is not at hand (or not a reference)."""
    environment = judged.environment
    subject = f"{d.service} requires {d.contract} {', '.join(d.fields)}" if d.fields else (
        f"{d.service} consumes {d.contract}")  # fmt: skip
    who = f"{', '.join(makers)} in {environment} produces {writer}" if makers else f"it receives {writer}"
    questions = []
    if d.fields:
        questions.append(f"{writer} sends {', '.join(d.fields)}")
    if ref(writer) != ref(d.contract):
        questions.append(f"{d.contract} can read {writer}")
    unknown = [m for m in missing if ref(m) is not None]
    if len(unknown) < len(missing):
        why = f"{writer!r} is not a contract reference (such as order.v3)"
    else:
        are = "is" if len(unknown) == 1 else "are"
        why = f"{' and '.join(unknown)} {are} in neither --contracts nor a manifest given"
    return LiveFinding(
        severity="warning" if external else "error",
        kind="not-judged",
        producer=", ".join(makers) or None,
        produced=writer,
        message=f"{environment}: {subject}; {who}, but {why}, so whether {' and whether '.join(questions)} cannot be "
        f"judged{' (produced outside: --external)' if external else ''}.{said}",
        evidence={**evidence, "unknown": list(missing)},
        **judged.base(),
    )


def _traffic_findings(traffic: Traffic, explained: set[tuple[str, str, str | None]], window: str) -> list[Finding]:
    """What traffic alone shows, no contract needed: violations no other finding explains (named by
    critical field and reason, from the series themselves), and messages that could not be decoded."""
    environment = traffic.environment
    found: list[Finding] = []
    for (service, contract), by_writer in sorted(traffic.received.items(), key=lambda item: item[0]):
        named = ", ".join(sorted(traffic.handlers.get(("consumer", service, contract), ())))
        base = {"environment": environment, "consumer": service, "handler": named, "contract": contract}
        for written_by, outcomes in sorted(by_writer.items(), key=lambda item: item[0] or ""):
            total = sum(outcomes.values())
            violations = outcomes.get(telemetry.VIOLATION, 0)
            undecodable = outcomes.get(telemetry.DECODE_ERROR, 0)
            written = f"written with {written_by}" if written_by else "whose writer the wire did not name"
            if violations and (service, contract, written_by) not in explained:
                why = traffic.violated.get((service, contract), {}).get(written_by, {})
                fields = sorted({f for f, _ in why if f})
                found.append(
                    LiveFinding(
                        severity="error",
                        kind="violations",
                        field=fields[0] if len(fields) == 1 else None,
                        produced=written_by,
                        message=f"{environment}: in the last {window} {service} received {_n(total, 'message')} of "
                        f"{contract} {written}: {_violations(violations, why)}.",
                        evidence={"writer": written_by, "messages": total, "violations": violations, **_by_field(why)},
                        **base,
                    )
                )
            if undecodable:
                found.append(
                    LiveFinding(
                        severity="warning",
                        kind="decode-errors",
                        produced=written_by,
                        message=f"{environment}: in the last {window} {service} could not decode "
                        f"{_n(undecodable, 'message')} of {total} for {contract} {written}.",
                        evidence={"writer": written_by, "messages": total, "decode_errors": undecodable},
                        **base,
                    )
                )
    return found


def _unknown_labels(environment: str, declared: list[Declared], flows: list[Flow]) -> list[Finding]:
    """Series whose role or outcome this syscontract does not know: what they say cannot be judged."""
    found: list[Finding] = []
    for d in declared:
        if d.role not in _ROLES:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    message=f"{environment}: {d.service} declared {d.contract} in {d.handler} with role {d.role!r}, "
                    "which is neither consumer nor producer: it cannot be judged",
                    evidence={"role": d.role, "instances": d.instances},
                    environment=environment,
                    consumer=d.service,
                    handler=d.handler,
                    contract=d.contract,
                )
            )
    for f in flows:
        if f.role not in _ROLES or f.outcome not in _OUTCOMES:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    produced=f.writer,
                    message=f"{environment}: {f.service} counted {_n(f.count, 'message')} of {f.contract} with role "
                    f"{f.role!r} and outcome {f.outcome!r}, which this syscontract does not know: they cannot be "
                    "judged",
                    evidence={"role": f.role, "outcome": f.outcome, "messages": f.count},
                    environment=environment,
                    consumer=f.service,
                    handler="",
                    contract=f.contract,
                )
            )
    return found


def _producers(
    environment: str, flows: list[Flow], handlers: Mapping[tuple[str, str, str], set[str]], window: str
) -> list[Finding]:
    """Producers whose own messages broke the contract they declare (``@produces`` checks what it sends)."""
    produced: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for f in flows:
        if f.role == "producer":
            produced[(f.service, f.contract)][f.outcome] = produced[(f.service, f.contract)].get(f.outcome, 0) + f.count
    found: list[Finding] = []
    for (service, contract), outcomes in sorted(produced.items()):
        broken = outcomes.get(telemetry.VIOLATION, 0)
        if not broken:
            continue
        total = sum(outcomes.values())
        found.append(
            LiveFinding(
                environment=environment,
                severity="error",
                kind="violations",
                consumer="",
                handler=", ".join(sorted(handlers.get(("producer", service, contract), ()))),
                contract=contract,
                producer=service,
                produced=contract,
                message=f"{environment}: in the last {window} {service} produced {_n(total, 'message')} of {contract}: "
                f"{_n(broken, 'violation')} (messages that broke the contract it declares).",
                evidence={"messages": total, "violations": broken},
            )
        )
    return found


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _violations(total: int, why: Mapping[tuple[str, str], int]) -> str:
    """``12 violations of customerTier (not-in-writer-schema)``, or each (field, reason) with its count."""
    said = _n(total, "violation")
    if not why:
        return said
    parts = sorted(why.items(), key=lambda item: (-item[1], item[0]))
    if len(parts) == 1 and parts[0][1] == total:
        (field_, reason), _ = parts[0]
        return f"{said} of {field_} ({reason})" if field_ else f"{said} ({reason})"
    named = [f"{count:,} of {f} ({r})" if f else f"{count:,} ({r})" for (f, r), count in parts]
    return f"{said}: {', '.join(named)}"


def _by_field(why: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    if not why:
        return {}
    rows = [{"field": f or None, "reason": r, "violations": count} for (f, r), count in sorted(why.items())]
    return {"by_field": rows}


def _evidence(
    writer: str, counts: Mapping[str, int], why: Mapping[tuple[str, str], int], window: str, consumer: str
) -> tuple[str, dict[str, Any]]:
    total = sum(counts.values())
    violations = counts.get(telemetry.VIOLATION, 0)
    if not total:
        return f" {consumer} received no message written with {writer} in the last {window}.", {
            "writer": writer, "messages": 0, "violations": 0}  # fmt: skip
    return (
        f" In the last {window} {consumer} received {_n(total, 'message')} written with {writer}: "
        f"{_violations(violations, why) if violations else _n(0, 'violation')}.",
        {"writer": writer, "messages": total, "violations": violations, **_by_field(why)},
    )


# -- declared (manifests) versus observed ---------------------------------------------------------------


def _against_manifests(
    snapshot: Snapshot, seen: Mapping[str, Traffic], manifests: Sequence[Manifest], external: frozenset[str]
) -> list[Finding]:
    """Each manifest against what its service declared and received, in the environments the
    manifests cover (and that were asked about, when some were)."""
    covered = _covered(snapshot, seen, manifests)
    found: list[Finding] = []
    for environment, services in sorted(covered.items()):
        traffic = seen[environment]
        found += _declarations_against(traffic, services, snapshot.window)
        found += _writers_not_in_manifests(traffic, services, snapshot.window, external)
    return found


def _covered(
    snapshot: Snapshot, seen: Mapping[str, Traffic], manifests: Sequence[Manifest]
) -> dict[str, dict[str, Manifest]]:
    """environment -> service -> manifest; two manifests of one service, or manifests of an environment
    Prometheus has no data for, are input errors (exit 2)."""
    covered: dict[str, dict[str, Manifest]] = defaultdict(dict)
    for manifest in sorted(manifests, key=lambda m: m.source):
        if not snapshot.environments or manifest.environment in snapshot.environments:
            other = covered[manifest.environment].get(manifest.service)
            if other is not None:
                raise ManifestError(
                    f"two manifests of {manifest.service} in {manifest.environment}: {other.source} and "
                    f"{manifest.source}"
                )
            covered[manifest.environment][manifest.service] = manifest
    missing = sorted(e for e in covered if e not in seen)
    if missing:
        raise PrometheusError(
            f"Prometheus at {snapshot.url} has no syscontract series for environment "
            f"{', '.join(repr(e) for e in missing)} in the last {snapshot.window}, which the manifests describe: "
            "cannot compare them with live data",
            reason="no-data",
        )
    return covered


def _declarations_against(traffic: Traffic, services: Mapping[str, Manifest], window: str) -> list[Finding]:
    """Every declaration a manifest lists or a service reported: ``not-observed`` (listed, not
    reported), ``not-in-manifest`` (reported, not listed), ``fields-differ``."""
    environment = traffic.environment
    # a declaration may run with two sets of fields at once (a rollout half done): each is compared
    live: dict[str, dict[tuple[str, str, str], list[Declared]]] = defaultdict(lambda: defaultdict(list))
    for d in traffic.declared:
        live[d.service][(d.role, d.contract, d.handler)].append(d)
    produced: dict[tuple[str, str], int] = defaultdict(int)
    for f in traffic.flows:
        if f.role == "producer" and f.outcome == telemetry.OK:
            produced[(f.service, f.contract)] += f.count
    found: list[Finding] = []
    for service in sorted(set(services) | set(live)):
        own = services.get(service)
        observed = live.get(service, {})
        listed = {(e.role, str(e.contract), e.handler): e for e in own.declarations} if own else {}
        for key in sorted(set(listed) | set(observed)):
            role, contract, handler = key
            base: dict[str, Any] = {"environment": environment, "consumer": service, "handler": handler,
                                    "contract": contract}  # fmt: skip
            if key not in observed:
                found.append(
                    LiveFinding(
                        severity="error",
                        kind="not-observed",
                        message=f"{environment}: {_source(own)} declares {role} {contract} in {handler}, which "
                        f"{service} in {environment} did not report in the last {window}: the manifest is out of "
                        f"date, or {service} does not run there",
                        **base,
                    )
                )
            elif key not in listed:
                sent = produced.get((service, contract), 0)
                what = f" and produced {_n(sent, 'message')} of it" if role == "producer" and sent else ""
                where = f"{_source(own)} does not list it" if own else f"it has no manifest in {environment}"
                found.append(
                    LiveFinding(
                        severity="error",
                        kind="not-in-manifest",
                        message=f"{environment}: {service} declared {role} {contract} in {handler} in the last "
                        f"{window}{what}, but {where}",
                        evidence={"instances": sum(d.instances for d in observed[key]), "produced": sent},
                        **base,
                    )
                )
            elif own is not None and role == "consumer":
                found += _fields_differ(environment, own, listed[key], observed[key], base)
    return found


def _fields_differ(
    environment: str, own: Manifest, entry: Any, running: list[Declared], base: dict[str, Any]
) -> list[Finding]:
    wanted = set(own.critical(entry))
    # the contract's own critical fields are the declaration's once resolved, reported or not yet
    implied = set(own.contracts[entry.contract].critical)
    return [
        LiveFinding(
            severity="error",
            kind="fields-differ",
            message=f"{environment}: {d.service} requires {d.contract} {', '.join(d.fields) or 'no field'} in "
            f"{d.handler}, but {_source(own)} says {', '.join(sorted(wanted)) or 'no field'}",
            evidence={"live": list(d.fields), "own": sorted(wanted)},
            **base,
        )
        for d in running
        if wanted != set(d.fields) | implied
    ]


def _writers_not_in_manifests(
    traffic: Traffic, services: Mapping[str, Manifest], window: str, external: frozenset[str]
) -> list[Finding]:
    """Messages a service with a manifest received from a writer version no manifest there produces."""
    environment = traffic.environment
    listed = {str(e.contract) for m in services.values() for e in m.declarations if e.role == "producer"}
    found: list[Finding] = []
    for f in traffic.flows:
        if f.role != "consumer" or f.writer is None or f.writer in listed or f.service not in services:
            continue
        outside = name(f.writer) in external or name(f.contract) in external
        found.append(
            LiveFinding(
                severity="warning" if outside else "error",
                kind="writer-not-in-manifests",
                produced=f.writer,
                message=f"{environment}: {f.service} received {_n(f.count, 'message')} ({f.outcome}) of "
                f"{f.contract} written with {f.writer} in the last {window}, but no manifest in {environment} "
                f"produces {f.writer}" + (" (produced outside the manifests: --external)" if outside else ""),
                evidence={"writer": f.writer, "outcome": f.outcome, "messages": f.count},
                environment=environment,
                consumer=f.service,
                handler="",
                contract=f.contract,
            )
        )
    return found


def _source(manifest: Manifest | None) -> str:
    return manifest.source if manifest is not None else "none"


# -- the gates' evidence (can-deploy, plan: --prometheus) ----------------------------------------------------

_WEIGHABLE = frozenset({"field-not-sent", "field-nullable", "field-defaulted", "field-optional", "unreadable"})
"""The findings ``--unused-after`` may turn into warnings: a writer version against a consumer. What
cannot be judged, or has no writer (``not-judged``, ``no-producer``), never is."""


@dataclass(frozen=True)
class Usage:
    """What traffic showed in one environment over ``window`` (and over ``unused_window`` when asked),
    as the gates' evidence: messages by (consumer, contract name, writer version), when last seen."""

    environment: str
    window: str
    snapshot: Snapshot
    last_seen: Mapping[tuple[str, str, str], float]  # (consumer, contract name, writer) -> Unix seconds
    unused_window: str | None = None
    unused: Snapshot | None = None
    covered: bool = False
    reporting: frozenset[tuple[str, str]] = frozenset()
    """(consumer, contract name) that reported a consumer declaration at every step of ``unused_window``."""


def usage(
    prometheus: Prometheus, environment: str, window: str = "7d", *, unused_after: str | None = None,
    at: float | None = None,
) -> Usage:  # fmt: skip
    """Ask ``prometheus`` what ``environment`` received over ``window``, and, with ``unused_after``,
    over that window too and whether the environment reported at every step of it. Raises
    :class:`PrometheusError` (exit 2) when there is no data for the environment at all."""
    when = time.time() if at is None else at
    snapshot = observe(prometheus, window, [environment], at=when)
    asked = gate_queries(environment, window)
    last_seen: dict[tuple[str, str, str], float] = {}
    for labels, value in prometheus.query(asked["last_seen"], when):
        writer = labels.get(WRITER)
        if labels.get(ROLE) == "consumer" and writer:
            key = (labels.get(SERVICE, ""), name(labels.get(CONTRACT, "")), writer)
            last_seen[key] = max(value, last_seen.get(key, 0.0))
    if unused_after is None:
        return Usage(environment, window, snapshot, last_seen)
    unused = snapshot if unused_after == window else observe(prometheus, unused_after, [environment], at=when)
    unused_queries = gate_queries(environment, unused_after)
    rows = prometheus.query(unused_queries["covered"], when)
    covered = bool(rows) and all(value >= 1 for _, value in rows)
    reporting = frozenset(
        (labels.get(SERVICE, ""), labels.get(FAMILY, ""))
        for labels, value in prometheus.query(unused_queries["reporting"], when)
        if labels.get(ROLE) == "consumer" and value >= 0
    )
    return Usage(environment, window, snapshot, last_seen, unused_after, unused, covered, reporting)


def _received(
    snapshot: Snapshot, consumer: str, family: str, writer: str | None
) -> tuple[int, int, dict[tuple[str, str], int]]:
    """Messages ``consumer`` received of contract ``family`` (written with ``writer``, or any), its
    violations, and the violations by field."""
    total = violations = 0
    why: dict[tuple[str, str], int] = {}
    for f in snapshot.flows:
        if (
            (f.role, f.service) == ("consumer", consumer)
            and name(f.contract) == family
            and (writer is None or f.writer == writer)
        ):
            total += f.count
            violations += f.count if f.outcome == telemetry.VIOLATION else 0
    for v in snapshot.violations:
        if (
            (v.role, v.service) == ("consumer", consumer)
            and name(v.contract) == family
            and (writer is None or v.writer == writer)
        ):
            why[(v.field, v.reason)] = why.get((v.field, v.reason), 0) + v.count
    return total, violations, why


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    moment = datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def with_evidence(findings: Sequence[Finding], seen: Usage, *, deploying: str | None = None) -> list[Finding]:
    """Each finding of ``seen.environment`` with the live evidence: what its consumer received from its
    writer version in the window, and when last. The verdict stays the manifests'; with
    ``seen.unused_window``, a writer-against-consumer finding whose writer is already deployed (not
    ``deploying``) becomes a warning when Prometheus proves that pair silent over that whole window, and
    a gap in the data there is :class:`PrometheusError` (exit 2), never a yes."""
    out: list[Finding] = []
    for f in findings:
        if f.environment != seen.environment or not f.consumer:
            out.append(f)
            continue
        family = name(f.contract)
        writer = f.produced
        total, violations, why = _received(seen.snapshot, f.consumer, family, writer)
        last = _last(seen, f.consumer, family, writer)

        if total:
            said = f"{f.consumer} received {total:,} {_what(total, writer, family)} in the last {seen.window}"
            said += f" (last at {_when(last)})" if last is not None else ""
            said += f": {_violations(violations, why)}" if violations else ", none refused"
        else:
            said = f"{f.consumer} received no {_what(1, writer, family)} in the last {seen.window}"
        evidence: dict[str, Any] = {**(f.evidence or {}), "live": {
            "window": seen.window, "consumer": f.consumer, "writer": writer, "messages": total,
            "violations": violations, **_by_field(why), "last_seen": _when(last) or None}}  # fmt: skip
        message = f"{f.message} Live in {seen.environment}: {said}."
        severity = f.severity
        if seen.unused_window is not None and _weighable(f, deploying):
            severity, note = _unused(f, seen, family, writer)
            message += note
            evidence["live"]["unused_after"] = {"window": seen.unused_window, "unused": severity == "warning"}
        out.append(dataclasses.replace(f, severity=severity, message=message, evidence=evidence))
    return out


def _what(count: int, writer: str | None, family: str) -> str:
    noun = "message" if count == 1 else "messages"
    return f"{writer} {noun}" if writer else f"{noun} of {family}"


def _last(seen: Usage, consumer: str, family: str, writer: str | None) -> float | None:
    stamps = [t for (c, n, w), t in seen.last_seen.items() if (c, n) == (consumer, family) and writer in (None, w)]
    return max(stamps) if stamps else None


def _weighable(f: Finding, deploying: str | None) -> bool:
    return (
        f.severity == "error"
        and f.kind in _WEIGHABLE
        and bool(f.produced)
        and bool(f.producer)
        and (deploying is None or not _among(deploying, f.producer or ""))
    )


def _among(service: str, producers: str) -> bool:
    """Whether ``service`` may be one of ``producers`` (the rules join them with ", "). A name is any
    string, commas included, so this is read as text, never split: when in doubt, it is one of them."""
    return (
        producers == service
        or producers.startswith(f"{service}, ")
        or producers.endswith(f", {service}")
        or f", {service}, " in producers
    )


def _unused(f: Finding, seen: Usage, family: str, writer: str | None) -> tuple[str, str]:
    assert seen.unused is not None and seen.unused_window is not None
    if not seen.covered:
        raise PrometheusError(
            f"Prometheus at {seen.snapshot.url} has a gap in {seen.environment}'s syscontract series within the last "
            f"{seen.unused_window} (a step of {step(seen.unused_window)} without any declaration reported): "
            "--unused-after cannot prove that nothing flowed",
            reason="gap",
        )
    if (f.consumer, family) not in seen.reporting:
        raise PrometheusError(
            f"Prometheus at {seen.snapshot.url}: {f.consumer} did not report its consumer of {family} in "
            f"{seen.environment} at every step of the last {seen.unused_window} (a step of {step(seen.unused_window)} "
            f"without its {DECLARATIONS_METRIC} or {MESSAGES_METRIC}): --unused-after cannot prove that nothing "
            f"reached it (does {f.consumer} export syscontract telemetry, under that service.name, and does Prometheus "
            "keep its message series?)",
            reason="gap",
        )
    if seen.unused.unattributed:
        raise PrometheusError(
            f"Prometheus at {seen.snapshot.url} holds {seen.unused.unattributed} {DECLARATIONS_METRIC} series in the "
            f"last {seen.unused_window} that no service and environment can be given (no {SERVICE} label, no "
            f"target_info for their job and instance): any may be {f.consumer} in {seen.environment}, so "
            "--unused-after cannot prove that nothing reached it (see docs/live.md, attribution)",
            reason="unattributed",
        )
    total, _, _ = _received(seen.unused, f.consumer, family, writer)
    if total:
        return f.severity, f" It is in use: {f.consumer} received {total:,} in the last {seen.unused_window}."
    unnamed = _unnamed(seen.unused, f.consumer, family, writer)
    if unnamed:
        return f.severity, (
            f" It may be in use: {f.consumer} received {_n(unnamed, 'message')} of {family} whose writer the wire did "
            f"not name as a version of {family} in the last {seen.unused_window}, and any of them may be {writer}."
        )
    return "warning", (
        f" Unused: nothing written with {writer} reached {f.consumer} in {seen.environment} in the last "
        f"{seen.unused_window}, with data for every {step(seen.unused_window)} of it (--unused-after): the manifest "
        f"that says {f.producer} produces {writer} may be stale."
    )


def _unnamed(snapshot: Snapshot, consumer: str, family: str, writer: str | None) -> int:
    """Messages ``consumer`` received of contract ``family`` that may have been written with ``writer``
    although their label does not say so: no writer named (a dict handed over in process, JSON without
    a header, a writer past the telemetry's series cap), or one named otherwise than as a version of
    ``family`` (a registry subject, a fully qualified name)."""
    maybe = 0
    for f in snapshot.flows:
        if (f.role, f.service) == ("consumer", consumer) and name(f.contract) == family and f.writer != writer:
            named = ref(f.writer)
            if named is None or named.name != family:
                maybe += f.count
    return maybe


def disagreements(manifests: Sequence[Manifest], seen: Usage, *, deploying: str | None = None) -> list[Finding]:
    """Where the manifests of ``seen.environment`` and its traffic disagree: a manifest says a service
    declares a version of a contract, and in the window that service reported (declared or produced)
    only other versions of it. Its own finding (an error: the gate would judge a state that is not
    what runs)."""
    reported: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)  # (service, role, name) -> ref -> n
    for d in seen.snapshot.declared:
        reported[(d.service, d.role, name(d.contract))].setdefault(d.contract, 0)
    for f in seen.snapshot.flows:
        if f.role == "producer" and f.outcome == telemetry.OK:
            versions = reported[(f.service, "producer", name(f.contract))]
            versions[f.contract] = versions.get(f.contract, 0) + f.count
    found: list[Finding] = []
    for manifest in sorted(manifests, key=lambda m: (m.service, m.source)):
        if manifest.environment != seen.environment or manifest.service == deploying:
            continue  # the service being deployed replaces what its old manifest said
        for entry in manifest.declarations:
            versions = reported.get((manifest.service, entry.role, entry.contract.name), {})
            if not versions or str(entry.contract) in versions:
                continue
            shown = ", ".join(f"{v} ({n:,} sent)" if n else v for v, n in sorted(versions.items()))
            found.append(
                LiveFinding(
                    environment=seen.environment,
                    severity="error",
                    kind="manifest-disagrees",
                    consumer=manifest.service if entry.role == "consumer" else "",
                    handler=entry.handler,
                    contract=str(entry.contract),
                    producer=manifest.service if entry.role == "producer" else None,
                    produced=str(entry.contract) if entry.role == "producer" else None,
                    message=f"{seen.environment}: {manifest.source} says {manifest.service} {_ROLE_VERB[entry.role]} "
                    f"{entry.contract}, but in the last {seen.window} {manifest.service} reported only {shown}: the "
                    "manifests are not what runs, so the verdict judges another state than "
                    f"{seen.environment}'s",
                    evidence={
                        "manifest": str(entry.contract),
                        "live": sorted(versions),
                        "sent": {v: n for v, n in sorted(versions.items()) if n},
                    },
                )
            )
    return found


_ROLE_VERB = {"producer": "produces", "consumer": "consumes"}
