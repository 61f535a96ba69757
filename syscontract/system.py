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

from syscontract.compat import can_read
from syscontract.compat.consumers import DEFAULTED, NULLABLE, OPTIONAL, REMOVED, SENT, status
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractError
from syscontract.manifest import Manifest

__all__ = ["Finding", "Report", "can_deploy", "carried", "drift"]

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


def drift(manifests: Sequence[Manifest]) -> Report:
    """The environment x contract matrix and every finding, for ``manifests``."""
    report = Report()
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
        report.findings += _environment(environment, services)
    return report


def can_deploy(candidate: Manifest, environment: str, others: Iterable[Manifest]) -> list[Finding]:
    """What deploying ``candidate`` into ``environment`` would break, for it or for anyone else there.

    ``others`` are the manifests of that environment; one of the candidate's own service is replaced."""
    deployed = [m for m in others if m.environment == environment and m.service != candidate.service]
    moved = Manifest(candidate.service, environment, candidate.declarations, candidate.contracts, candidate.source)
    involved = candidate.service
    return [
        f
        for f in _environment(environment, [*deployed, moved])
        if f.severity == "error" and involved in (f.consumer, f.producer)
    ]


def _environment(environment: str, services: Sequence[Manifest]) -> list[Finding]:
    producers: dict[str, list[tuple[str, Contract]]] = defaultdict(list)
    for manifest in services:
        for entry in manifest.declarations:
            if entry.role == "producer":
                producers[entry.contract.name].append((manifest.service, manifest.contracts[entry.contract]))
    found: list[Finding] = []
    for manifest in services:
        for entry in manifest.declarations:
            if entry.role != "consumer":
                continue
            reader = manifest.contracts[entry.contract]
            sources = producers.get(entry.contract.name, [])
            base = {
                "environment": environment,
                "consumer": manifest.service,
                "handler": entry.handler,
                "contract": str(entry.contract),
            }
            if not sources:
                found.append(
                    Finding(
                        severity="warning",
                        kind="no-producer",
                        message=f"{environment}: {manifest.service} consumes {entry.contract}, but no service in "
                        f"{environment} declares a producer of {entry.contract.name}",
                        **base,
                    )
                )
                continue
            for producer, writer in sources:
                found += _against(base, manifest, entry.contract, reader, producer, writer)
    return found


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
        except ContractError:  # pragma: no cover - both parsed already
            readable = True
        if not readable:
            found.append(
                Finding(
                    severity="error",
                    kind="unreadable",
                    producer=producer,
                    produced=str(writer.ref),
                    message=f"{environment}: {manifest.service} reads {ref}, which cannot read {writer.ref} "
                    f"produced by {producer} (see syscontract compat {writer.ref} {ref})",
                    **base,
                )
            )
    return found
