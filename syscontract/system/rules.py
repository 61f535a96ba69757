"""The rules every judgement of the system view applies: one set, so file drift, live drift and the
gates (``can-deploy``, ``plan``) say the same thing about the same situation.

A consumer declaration is judged against each writer version that reaches it in its environment:

- ``no-producer``: nothing in the environment produces the contract (an error: nothing confirms what
  the consumer receives), unless the contract is produced outside (``--external``: a warning);
- ``field-not-sent``, ``field-nullable``, ``field-defaulted``, ``field-optional``: a critical field
  the writer version does not carry for sure (:func:`carried`);
- ``unreadable``: the consumer's version cannot read the writer's (Avro resolution, JSON Schema
  inclusion); ``not-judged``: what cannot be compared, which is never "fine".

Each rule returns :class:`Finding` objects; a caller that has live evidence passes a sentence to
append (``tail``) and the evidence itself, so the wording of a finding differs only by what was seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syscontract.compat import can_read
from syscontract.compat.consumers import DEFAULTED, NULLABLE, OPTIONAL, REMOVED, SENT, status, writer_path
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError

__all__ = [
    "REASON",
    "WHY",
    "Finding",
    "Judged",
    "carried",
    "field_findings",
    "finding_key",
    "name",
    "no_producer",
    "readability",
    "ref",
]

WHY = {
    REMOVED: "which has no {field}",
    NULLABLE: "which may send {field} as null",
    DEFAULTED: "which gives {field} a default, so it may be left out",
    OPTIONAL: "which does not require {field}",
}
"""Why a writer's status of a field fails a consumer that requires it."""
REASON = {REMOVED: "not-in-writer-schema", NULLABLE: "null", DEFAULTED: "defaulted", OPTIONAL: "absent"}
"""The violation reason (as in ``MissingCriticalField.reason``) a writer's schema implies for a field."""
_SEVERITY = {"error": 0, "warning": 1}


def carried(writer: Contract, path: str, reader: Contract | None = None) -> str:
    """How messages written with ``writer`` carry the field at ``path``: ``sent``, or the worst of
    ``removed``, ``nullable``, ``defaulted``, ``optional`` along the path. An Avro writer's default
    is still a value on the wire; a JSON writer may leave out a property that is not required, or
    that has a default. ``reader``: the consumer's contract, whose names ``path`` uses (a protobuf
    field is the writer's field of the same number, :func:`~syscontract.compat.consumers.writer_path`)."""
    if reader is not None:
        found = writer_path(reader, writer, path)
        if found is None:
            return REMOVED
        path = found
    return status(writer, path, as_writer=True)


@dataclass(frozen=True)
class Finding:
    """One problem in one environment. ``severity`` is ``error`` (fails a pipeline) or ``warning``.
    ``evidence``, when not None, is what live traffic showed about it (``--prometheus``)."""

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
    evidence: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
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
        if self.evidence is not None:
            body["evidence"] = dict(self.evidence)
        return body


@dataclass(frozen=True)
class Judged:
    """Who is judged: a consumer declaration (``handler`` of ``consumer``, on ``contract``) in ``environment``."""

    environment: str
    consumer: str
    handler: str
    contract: str

    def base(self) -> dict[str, str]:
        return {"environment": self.environment, "consumer": self.consumer, "handler": self.handler,
                "contract": self.contract}  # fmt: skip


Make = Callable[..., Finding]


def no_producer(
    judged: Judged,
    outside: bool,
    *,
    window: str | None = None,
    received: int | None = None,
    evidence: Mapping[str, Any] | None = None,
    make: Make = Finding,
) -> Finding:
    """A consumer whose contract nothing in its environment produces (in the last ``window``, live)."""
    environment, service, contract = judged.environment, judged.consumer, judged.contract
    family = name(contract)
    if window is None:
        said = f"no service in {environment} declares a producer of {family}"
        where, hint = "the manifests", "a producer that is not inventoried"
    else:
        said = f"in the last {window} no service in {environment} declared a producer of {family}"
        if received:
            said += f" (it received {_n(received, 'message')} of it)"
        elif received is not None:
            said += f" and {service} received no message of it"
        where, hint = "what reports to Prometheus", "a producer that does not report to Prometheus"
    return make(
        severity="warning" if outside else "error",
        kind="no-producer",
        message=f"{environment}: {service} consumes {contract}, but {said}"
        + (
            f" (produced outside {where}: --external)"
            if outside
            else f", so nothing confirms what it receives ({hint}: --external {family})"
        ),
        evidence=evidence,
        **judged.base(),
    )


def field_findings(
    judged: Judged,
    fields: Sequence[str],
    writer: Contract,
    producers: Sequence[str],
    *,
    tail: str = "",
    evidence: Mapping[str, Any] | None = None,
    make: Make = Finding,
    reader: Contract | None = None,
) -> list[Finding]:
    """The critical ``fields`` of ``judged`` that ``writer`` (produced by ``producers``, or received
    from nobody declared when empty) does not carry for sure, one finding each. ``reader``: the
    consumer's contract, when at hand (protobuf fields are matched by number)."""
    environment, service = judged.environment, judged.consumer
    who = f"{', '.join(producers)} in {environment} produces {writer.ref}" if producers else f"it receives {writer.ref}"
    producer = ", ".join(producers) or None
    found = []
    for path in fields:
        try:
            now = carried(writer, path, reader)
        except ContractError as exc:
            found.append(
                make(
                    severity="error",
                    kind="not-judged",
                    field=path,
                    producer=producer,
                    produced=str(writer.ref),
                    message=f"{environment}: {service} requires {judged.contract} {path}; {who}, in which {path} "
                    f"cannot be looked up: {exc}.{tail}",
                    evidence=evidence,
                    **judged.base(),
                )
            )
            continue
        if now == SENT:
            continue
        found.append(
            make(
                severity="error",
                kind=f"field-{now}" if now != REMOVED else "field-not-sent",
                field=path,
                producer=producer,
                produced=str(writer.ref),
                message=f"{environment}: {service} requires {judged.contract} {path}; {who}, "
                f"{WHY[now].format(field=path)}.{tail}",
                evidence=None if evidence is None else {**evidence, "reason": REASON[now]},
                **judged.base(),
            )
        )
    return found


def readability(
    judged: Judged,
    reader: Contract,
    writer: Contract,
    producers: Sequence[str],
    *,
    tail: str = "",
    evidence: Mapping[str, Any] | None = None,
    make: Make = Finding,
) -> list[Finding]:
    """Whether ``reader`` (the consumer's version) can read ``writer``: nothing when it can (or when
    they are the same schema, or of different formats), else ``unreadable`` or ``not-judged``."""
    if reader.format != writer.format or reader.fingerprint == writer.fingerprint:
        return []
    environment, service = judged.environment, judged.consumer
    source = f"produced by {', '.join(producers)}" if producers else "received"
    try:
        if can_read(reader, writer):
            return []
    except ContractError as exc:  # both parsed already; still, what cannot be compared is not "readable"
        kind = "not-judged"
        message = f"whether {service}'s {judged.contract} can read {writer.ref} {source} cannot be judged: {exc}."
    else:
        kind = "unreadable"
        message = f"{service} reads {judged.contract}, which cannot read {writer.ref} {source} "
        message += f"(see syscontract compat {writer.ref} {judged.contract})."
    return [make(severity="error", kind=kind, producer=", ".join(producers) or None, produced=str(writer.ref),
                 message=f"{environment}: {message}{tail}", evidence=evidence, **judged.base())]  # fmt: skip


def finding_key(f: Finding) -> tuple[Any, ...]:
    """The order findings are printed in: environment, errors first, kind, consumer, contract, field."""
    return (f.environment, _SEVERITY.get(f.severity, 2), f.kind, f.consumer, f.contract, f.field or "", f.handler,
            f.produced or "", f.message)  # fmt: skip


def ref(text: str | None) -> ContractRef | None:
    """``text`` as a contract reference, or None when it is not one."""
    if not text:
        return None
    try:
        return ContractRef.parse(text)
    except ContractDeclarationError:
        return None


def name(text: str) -> str:
    """A contract's name from ``partner.order`` or ``partner.order.v2``."""
    parsed = ref(text)
    return parsed.name if parsed is not None else text


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
