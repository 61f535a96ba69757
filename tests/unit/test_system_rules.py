"""One set of rules (issue 25, item 0): file drift and live drift give the same findings on the same
situation. The situation is written once as manifests; live drift sees it as Prometheus would report it
(each declaration with its critical fields, no traffic yet), with the manifests' contracts at hand."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from syscontract import Contract, FileRegistry
from syscontract.contract import ContractRef
from syscontract.manifest import Entry, Manifest
from syscontract.system import drift, live
from syscontract.system.live import Declared, Snapshot
from syscontract.system.rules import Finding

SHOP = FileRegistry(Path(__file__).parents[2] / "examples" / "shop" / "contracts")
ORDER = {version: SHOP.get(ContractRef.parse(f"order.v{version}")) for version in (1, 2, 3)}
# v4 turns orderId into a number: no earlier reader can read it
_V4 = json.loads(json.dumps(ORDER[3].schema))
_V4["fields"] = [{**f, "type": "long"} if f["name"] == "orderId" else f for f in _V4["fields"]]
ORDER[4] = Contract.from_avro("order.v4", _V4)
FIELDS = ((), ("customerTier",), ("customer.id",), ("customerTier", "customer.id"))


def manifest(service: str, environment: str, role: str, version: int, fields: tuple[str, ...] = ()) -> Manifest:
    contract = ORDER[version]
    return Manifest(service, environment, (Entry(role, contract.ref, f"{service}.handle", fields),),
                    {contract.ref: contract})  # fmt: skip


def as_reported(manifests: list[Manifest]) -> Snapshot:
    """What Prometheus reports for these services: their declarations, with the critical fields."""
    declared = [
        Declared(
            m.environment,
            m.service,
            e.role,
            str(e.contract),
            e.handler,
            m.critical(e) if e.role == "consumer" else m.contracts[e.contract].critical,
            1,
        )
        for m in manifests
        for e in m.declarations
    ]
    return Snapshot("http://prometheus", "1h", 0.0, (), tuple(sorted(declared)), (), 0, 4)


def judged(findings: list[Finding]) -> list[tuple[object, ...]]:
    """What a finding decides (its wording carries the evidence, which only live drift has)."""
    return sorted(
        (f.environment, f.severity, f.kind, f.consumer, f.handler, f.contract, f.field, f.producer, f.produced)
        for f in findings
    )


SITUATIONS = [
    pytest.param(
        producers,
        consumer,
        fields,
        id=f"producers={'+'.join(map(str, producers)) or '-'}-v{consumer}-{'+'.join(fields) or 'nofield'}",
    )
    for producers, consumer, fields in itertools.product(
        [(), (1,), (2,), (3,), (4,), (2, 3), (3, 3), (2, 4)], (1, 2, 3, 4), FIELDS
    )
]


@pytest.mark.parametrize(("producers", "consumer", "fields"), SITUATIONS)
def test_file_drift_and_live_drift_judge_alike(
    producers: tuple[int, ...], consumer: int, fields: tuple[str, ...]
) -> None:
    manifests = [manifest(f"checkout{i}", "prod", "producer", version) for i, version in enumerate(producers)]
    manifests.append(manifest("pricing", "prod", "consumer", consumer, fields))
    contracts = {contract.ref: contract for contract in ORDER.values()}
    from_files = drift(manifests).findings
    from_traffic = live.drift(as_reported(manifests), contracts=contracts).findings
    assert judged(from_files) == judged(from_traffic)


def test_the_situations_cover_every_kind_of_finding() -> None:
    # the differential test above means something only if the situations produce each rule's findings
    kinds: set[str] = set()
    for param in SITUATIONS:
        producers, consumer, fields = param.values
        manifests = [manifest(f"checkout{i}", "prod", "producer", v) for i, v in enumerate(producers)]  # type: ignore[arg-type]
        manifests.append(manifest("pricing", "prod", "consumer", consumer, fields))  # type: ignore[arg-type]
        kinds |= {f.kind for f in drift(manifests).findings}
    assert {"no-producer", "field-not-sent", "unreadable"} <= kinds


def test_an_external_contract_without_a_producer_is_a_warning_in_both() -> None:
    manifests = [manifest("pricing", "prod", "consumer", 3, ("customerTier",))]
    from_files = drift(manifests, external=["order"]).findings
    from_traffic = live.drift(as_reported(manifests), contracts={}, external=["order"]).findings
    assert [("prod", "warning", "no-producer")] == [(f.environment, f.severity, f.kind) for f in from_files]
    assert judged(from_files) == judged(from_traffic)
