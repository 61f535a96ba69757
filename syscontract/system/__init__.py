"""The system view: which versions are produced and consumed where, and what that breaks.

A package by job: :mod:`~syscontract.system.rules` (the findings' rules, one set for file drift, live
drift and the gates), :mod:`~syscontract.system.prometheus` (the HTTP client), :mod:`~syscontract.system.queries`
(PromQL and what it answers), :mod:`~syscontract.system.live` (live drift and the gates' evidence).

From manifests alone (see :mod:`syscontract.manifest`): per environment, every consumer's critical
fields (its own and its contract version's ``critical`` list) are looked up in every version a producer
of that contract sends in the same environment. A field the producer's version does not have, lets be
null, gives a default or does not require is a finding: that consumer would get a default, or nothing,
instead of a value that was sent. This is the incident, found from files before anything ships.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from syscontract.manifest import Manifest, ManifestError
from syscontract.system.rules import Finding, Judged, carried, field_findings, name, no_producer, readability

__all__ = ["Finding", "Report", "can_deploy", "carried", "drift", "environment_findings", "external_names", "state"]


@dataclass
class Report:
    """What ``drift`` found: who produces and consumes which versions where, and the findings."""

    # environment -> contract name -> role -> {service: [versions]}
    matrix: dict[str, dict[str, dict[str, dict[str, list[str]]]]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def drift(manifests: Sequence[Manifest], *, external: Iterable[str] = ()) -> Report:
    """The environment x contract matrix and every finding, for ``manifests``.

    A consumer of a contract that no manifest of its environment produces is an error: nothing
    confirms what it receives. ``external`` names contracts produced outside the manifests (a
    partner's system); their consumers without a producer are a warning instead."""
    report = Report()
    outside = frozenset(external)
    by_environment: dict[str, list[Manifest]] = defaultdict(list)
    for manifest in manifests:
        by_environment[manifest.environment].append(manifest)
    for environment in sorted(by_environment):
        services = by_environment[environment]
        matrix = report.matrix.setdefault(environment, {})
        for manifest in services:
            for entry in manifest.declarations:
                role = matrix.setdefault(entry.contract.name, {}).setdefault(entry.role, {})
                versions = role.setdefault(manifest.service, [])
                if f"v{entry.contract.version}" not in versions:
                    versions.append(f"v{entry.contract.version}")
                    versions.sort(key=lambda v: int(v[1:]))
        report.findings += environment_findings(environment, services, external=outside)
    report.matrix = _sorted(report.matrix)
    return report


def _sorted(value: Any) -> Any:
    return {key: _sorted(value[key]) for key in sorted(value)} if isinstance(value, dict) else value


def can_deploy(
    candidate: Manifest, environment: str, others: Iterable[Manifest], *, external: Iterable[str] = ()
) -> list[Finding]:
    """What deploying ``candidate`` into ``environment`` would break, for it or for anyone else there.

    ``others`` are the manifests of that environment; one of the candidate's own service is replaced."""
    others = list(others)
    deployed = [m for m in others if m.environment == environment and m.service != candidate.service]
    replaced = [m for m in others if m.environment == environment and m.service == candidate.service]
    moved = Manifest(candidate.service, environment, candidate.declarations, candidate.contracts, candidate.source)
    involved = candidate.service
    produced_before = {e.contract.name for m in replaced for e in m.declarations if e.role == "producer"}
    return [
        f
        for f in environment_findings(environment, [*deployed, moved], external=external)
        if f.severity == "error"
        and (involved in (f.consumer, f.producer) or (f.kind == "no-producer" and _name(f.contract) in produced_before))
    ]


def state(environment: str, manifests: Sequence[Manifest], *, given: bool = True) -> list[Manifest]:
    """The manifests of what runs in ``environment``, refusing (:class:`ManifestError`, one line) what
    cannot be the state of it: none given, or one that names another environment."""
    if not given:
        raise ManifestError(
            f"no manifests of what runs in {environment} (--with MANIFEST|DIR): without them nothing can be judged"
        )
    if not manifests:
        raise ManifestError(f"the manifests given with --with hold no manifest (*.json) of {environment}")
    known = sorted({m.environment for m in manifests})
    if environment not in known:
        raise ManifestError(
            f"{environment} is not an environment the manifests given with --with describe "
            f"(environments known: {', '.join(known)})"
        )
    if known != [environment]:
        stranger = next(m for m in sorted(manifests, key=lambda m: m.source) if m.environment != environment)
        raise ManifestError(
            f"every manifest given with --with must describe {environment}, but {stranger.source} describes "
            f"{stranger.environment} (environments known: {', '.join(known)})"
        )
    seen: dict[str, str] = {}
    for manifest in manifests:
        if manifest.service in seen:
            raise ManifestError(
                f"two manifests of {manifest.service} in {environment}: {seen[manifest.service]} and {manifest.source}"
            )
        seen[manifest.service] = manifest.source
    return sorted(manifests, key=lambda m: m.service)


def external_names(texts: Iterable[str]) -> frozenset[str]:
    """Contract names from ``--external`` arguments: ``partner.order`` or ``partner.order.v2``."""
    return frozenset(_name(text) for text in texts)


_name = name


def environment_findings(
    environment: str,
    services: Sequence[Manifest],
    *,
    writers: Sequence[Manifest] | None = None,
    external: Iterable[str] = (),
) -> list[Finding]:
    """Every finding for the consumers of ``services`` in ``environment``, against their producers and
    those of ``writers`` (``plan`` passes what wrote the messages still in the log), in a stable order.
    A consumer whose contract no service in ``services`` produces is ``no-producer``."""
    outside = frozenset(_name(text) for text in external)
    # contract name -> writer fingerprint -> (writer, producing services)
    producers: dict[str, dict[str, tuple[Any, list[str]]]] = defaultdict(dict)
    for manifest in sorted([*services, *(writers or ())], key=lambda m: (m.service, m.source)):
        for entry in manifest.declarations:
            if entry.role == "producer":
                writer = manifest.contracts[entry.contract]
                _, makers = producers[entry.contract.name].setdefault(writer.fingerprint, (writer, []))
                if manifest.service not in makers:
                    makers.append(manifest.service)
    running = {e.contract.name for m in services for e in m.declarations if e.role == "producer"}
    found: list[Finding] = []
    for manifest in sorted(services, key=lambda m: (m.service, m.source)):
        for entry in manifest.declarations:
            if entry.role != "consumer":
                continue
            reader = manifest.contracts[entry.contract]
            judged = Judged(environment, manifest.service, entry.handler, str(entry.contract))
            # a producer whose messages are still in the log does not make up for none running now
            sources = producers.get(entry.contract.name, {}) if entry.contract.name in running else {}
            if not sources:
                found.append(no_producer(judged, entry.contract.name in outside))
                continue
            fields = manifest.critical(entry)
            for writer, makers in sorted(sources.values(), key=lambda item: (str(item[0].ref), item[1])):
                found += field_findings(judged, fields, writer, sorted(makers), reader=reader)
                found += readability(judged, reader, writer, sorted(makers))
    return list(dict.fromkeys(found))
