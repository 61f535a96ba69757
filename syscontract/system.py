"""The system view: which versions are produced and consumed where, and what that breaks.

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

from syscontract.compat import can_read
from syscontract.compat.consumers import DEFAULTED, NULLABLE, OPTIONAL, REMOVED, SENT, status
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractError
from syscontract.manifest import Manifest, ManifestError

__all__ = ["Finding", "Report", "can_deploy", "carried", "drift", "environment_findings", "external_names", "state"]

_WHY = {
    REMOVED: "which has no {field}",
    NULLABLE: "which may send {field} as null",
    DEFAULTED: "which gives {field} a default, so it may be left out",
    OPTIONAL: "which does not require {field}",
}


def carried(writer: Contract, path: str) -> str:
    """How messages written with ``writer`` carry the field at ``path``: ``sent``, or the worst of
    ``removed``, ``nullable``, ``defaulted``, ``optional`` along the path. An Avro writer's default
    is still a value on the wire; a JSON writer may leave out a property that is not required, or
    that has a default."""
    return status(writer, path, as_writer=True)


@dataclass(frozen=True)
class Finding:
    """One problem in one environment. ``severity`` is ``error`` (fails a pipeline) or ``warning``."""

    environment: str
    severity: str
    kind: str
    consumer: str
    handler: str
    contract: str
    message: str
    field: str | None = None
    producer: str | None = None
    produced: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "environment": self.environment,
            "severity": self.severity,
            "kind": self.kind,
            "consumer": self.consumer,
            "handler": self.handler,
            "contract": self.contract,
            "field": self.field,
            "producer": self.producer,
            "produced": self.produced,
            "message": self.message,
        }


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


def _name(text: str) -> str:
    try:
        return ContractRef.parse(text).name
    except ContractError:
        return text


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
    outside = frozenset(external)
    producers: dict[str, dict[tuple[str, str], Contract]] = defaultdict(dict)
    for manifest in [*services, *(writers or ())]:
        for entry in manifest.declarations:
            if entry.role == "producer":
                writer = manifest.contracts[entry.contract]
                producers[entry.contract.name][(manifest.service, writer.fingerprint)] = writer
    running = {e.contract.name for m in services for e in m.declarations if e.role == "producer"}
    found: list[Finding] = []
    for manifest in sorted(services, key=lambda m: (m.service, m.source)):
        for entry in manifest.declarations:
            if entry.role != "consumer":
                continue
            reader = manifest.contracts[entry.contract]
            # a producer whose messages are still in the log does not make up for none running now
            sources = producers.get(entry.contract.name, {}) if entry.contract.name in running else {}
            base = {
                "environment": environment,
                "consumer": manifest.service,
                "handler": entry.handler,
                "contract": str(entry.contract),
            }
            if not sources:
                elsewhere = entry.contract.name in outside
                found.append(
                    Finding(
                        severity="warning" if elsewhere else "error",
                        kind="no-producer",
                        message=f"{environment}: {manifest.service} consumes {entry.contract}, but no service in "
                        f"{environment} declares a producer of {entry.contract.name}"
                        + (
                            " (produced outside the manifests: --external)"
                            if elsewhere
                            else f", so nothing confirms what it receives (a producer that is not inventoried: "
                            f"--external {entry.contract.name})"
                        ),
                        **base,
                    )
                )
                continue
            for (producer, _), writer in sorted(sources.items(), key=lambda item: (item[0][0], str(item[1].ref))):
                found += _against(base, manifest, entry.contract, reader, producer, writer)
    return list(dict.fromkeys(found))


def _against(
    base: dict[str, str], manifest: Manifest, ref: ContractRef, reader: Contract, producer: str, writer: Contract
) -> list[Finding]:
    found: list[Finding] = []
    environment = base["environment"]
    entry = next(e for e in manifest.declarations if e.contract == ref and e.handler == base["handler"])
    for path in manifest.critical(entry):
        now = carried(writer, path)
        if now == SENT:
            continue
        found.append(
            Finding(
                severity="error",
                kind=f"field-{now}" if now != REMOVED else "field-not-sent",
                field=path,
                producer=producer,
                produced=str(writer.ref),
                message=f"{environment}: {manifest.service} requires {ref} {path}; {producer} in {environment} "
                f"produces {writer.ref}, {_WHY[now].format(field=path)}.",
                **base,
            )
        )
    if reader.format == writer.format and reader.fingerprint != writer.fingerprint:
        try:
            readable = can_read(reader, writer)
        except ContractError as exc:  # both parsed already; still, what cannot be compared is not "readable"
            kind = "not-judged"
            message = f"whether {manifest.service}'s {ref} can read {writer.ref} produced by {producer} cannot be "
            message += f"judged: {exc}"
        else:
            kind = "unreadable"
            message = f"{manifest.service} reads {ref}, which cannot read {writer.ref} produced by {producer} "
            message += f"(see syscontract compat {writer.ref} {ref})"
        if kind == "not-judged" or not readable:
            found.append(Finding(severity="error", kind=kind, producer=producer, produced=str(writer.ref),
                                 message=f"{environment}: {message}", **base))  # fmt: skip
    return found
