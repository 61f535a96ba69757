"""Protobuf compatibility (compat/protobuf.py): Buf's breaking-rule vectors (tests/data/protobuf/buf,
Apache-2.0, see tests/data/SOURCES.md), the order versions, and the consumer-aware check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import protos
import pytest

pytest.importorskip("google.protobuf")
grpc_tools = pytest.importorskip("grpc_tools")

from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402

from syscontract import Contract  # noqa: E402
from syscontract.compat import compare  # noqa: E402
from syscontract.compat import protobuf as rules  # noqa: E402
from syscontract.compat.consumers import Consumer  # noqa: E402

BUF = protos.ROOT / "buf"
EXPECTED = json.loads((BUF / "expected.json").read_text())
RULES = [name for name in EXPECTED if name.startswith("breaking_")]


def _side(directory: Path, tmp_path: Path) -> list[Any]:
    """Every ``.proto`` file of ``directory`` compiled as one image into a fresh pool (Buf compares
    images: a message may move to another file): their file descriptors."""
    bundled = Path(grpc_tools.__file__).parent / "_proto"
    names = sorted(path.name for path in directory.glob("*.proto"))
    out = tmp_path / f"{directory.name}.binpb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{directory}", f"-I{bundled}", "--include_imports",
         f"--descriptor_set_out={out}", *names],
        check=True,
        cwd=directory,
    )  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    return [pool.FindFileByName(name) for name in names]


def _messages(files: list[Any]) -> dict[str, Any]:
    return {name: message for file in files for name, message in rules._all_messages(file)}


def _enums(files: list[Any]) -> dict[str, Any]:
    return {name: enum for file in files for name, enum in rules._all_enums(file)}


@pytest.mark.parametrize("rule", RULES)
def test_bufs_breaking_vectors(rule: str, tmp_path: Path) -> None:
    previous = _side(BUF / rule / "previous", tmp_path)
    current = _side(BUF / rule / "current", tmp_path)
    assert len(previous) >= 2 and len(current) >= 2  # every file of Buf's directories, not the first only
    kind = EXPECTED[rule]["rule"]
    found: dict[str, list[int]] = {}
    if kind == rules.ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED:
        old_enums = _enums(previous)
        for name, enum in _enums(current).items():
            if name in old_enums:
                for problem in rules.enum_changes(enum, old_enums[name]):
                    found.setdefault(name, []).append(int(problem.message.split("the value ")[1].split(" ")[0]))
    else:
        old = _messages(previous)
        for name, message in _messages(current).items():
            if name not in old:
                continue
            if kind in (rules.FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED, rules.FIELD_SAME_ONEOF):
                problems = [p for p in rules.message_changes(message, old[name]) if p.kind == kind]
                numbers = [int(p.message.split("field ")[1].split(" ")[0]) for p in problems]
            else:  # the previous version reads what the current one writes
                problems = [p for p in rules.compare_messages(old[name], message) if p.kind == kind]
                numbers = [int(p.message.split("field ")[1].split(" ")[0]) for p in problems]
            if numbers:
                found[name] = sorted(numbers)
    assert EXPECTED[rule]["expected"] == {name: sorted(numbers) for name, numbers in sorted(found.items())}


V2 = Contract.from_protobuf("order.v2", protos.module("acme/order/v2").Order)
V3 = Contract.from_protobuf("order.v3", protos.module("acme/order/v3").Order)
V4 = Contract.from_protobuf("order.v4", protos.module("acme/order/v4").Order)


def test_adding_an_optional_field_is_compatible_both_ways() -> None:
    assert [] == compare(V3, V2, "FULL").problems


def test_deleting_a_field_without_reserving_its_number_is_breaking() -> None:
    found = compare(V2, V3, "BACKWARD").problems
    assert [("FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED", "customerTier")] == [(p.kind, p.field) for p in found]


def test_a_new_enum_value_is_compatible_for_an_open_enum() -> None:
    assert [] == compare(V4, V3, "FULL_TRANSITIVE").problems


def test_a_closed_enum_reader_lacking_a_writer_value_is_missing_enum_symbols() -> None:
    old = Contract.from_protobuf("shipment.v1", protos.module("acme/legacy/v1").Shipment)
    new = Contract.from_protobuf("shipment.v2", protos.module("acme/legacy/v2").Shipment)
    assert [] == compare(new, old, "BACKWARD").problems
    found = compare(new, old, "FORWARD").problems
    assert ["MISSING_ENUM_SYMBOLS"] == [p.kind for p in found]
    assert ("region", "shipment.v1", "shipment.v2") == (found[0].field, found[0].reader, found[0].writer)


def test_the_consumer_aware_check_flags_the_writer_without_the_field() -> None:
    found = compare(V3, V2, "BACKWARD", consumers=[Consumer("pricing", ["customerTier"])]).problems
    assert [("CONSUMER_FIELD_NOT_IN_WRITER", "customerTier")] == [(p.kind, p.field) for p in found]


def test_the_consumer_aware_check_flags_a_field_that_loses_presence() -> None:
    from google.protobuf import descriptor_pb2 as d

    found = d.FileDescriptorSet.FromString(protos.descriptor_set("acme/order/v3"))
    order = next(m for m in found.file[-1].message_type if m.name == "Order")
    tier = next(f for f in order.field if f.name == "customer_tier")
    tier.proto3_optional = False
    tier.ClearField("oneof_index")
    del order.oneof_decl[[o.name for o in order.oneof_decl].index("_customer_tier")]
    order.field[[f.name for f in order.field].index("card")].oneof_index = 0
    order.field[[f.name for f in order.field].index("voucher")].oneof_index = 0
    plain = Contract.from_protobuf("order.v5", found.SerializeToString(), message="Order")
    assert not plain.native.descriptor.fields_by_name["customer_tier"].has_presence
    problems = compare(plain, V3, "BACKWARD", consumers=[Consumer("pricing", ["customerTier"])]).problems
    assert [("CONSUMER_FIELD_DEFAULTED", "customerTier")] == [(p.kind, p.field) for p in problems]


def test_the_cli_compares_binpb_files_of_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from syscontract.cli import main

    order = tmp_path / "contracts" / "order"
    order.mkdir(parents=True)
    for version in (2, 3):
        (order / f"v{version}.binpb").write_bytes(protos.descriptor_set(f"acme/order/v{version}"))
    (order / "contract.toml").write_text('message = "Order"\n')
    assert 0 == main(["compat", str(order / "v2.binpb"), str(order / "v3.binpb"), "--mode", "FULL"])
    assert 1 == main(["compat", str(order / "v3.binpb"), str(order / "v2.binpb"), "--mode", "BACKWARD"])
    assert "FIELD_NO_DELETE_UNLESS_NUMB" in capsys.readouterr().out


def test_manifests_carry_protobuf_contracts_and_drift_finds_the_incident() -> None:
    from syscontract.manifest import Entry, Manifest, parse
    from syscontract.system import drift

    def service(name: str, role: str, contract: Contract, fields: tuple[str, ...] = ()) -> Manifest:
        entry = Entry(role, contract.ref, f"{name}.handlers.on_order", fields)
        written = Manifest(name, "prod", (entry,), {contract.ref: contract})
        return parse(json.loads(json.dumps(written.to_json())), f"{name}.json")  # through the file format

    checkout, pricing = service("checkout", "producer", V2), service("pricing", "consumer", V3, ("customerTier",))
    assert V3.fingerprint == pricing.contracts[V3.ref].fingerprint
    assert "protobuf" == pricing.contracts[V3.ref].format
    (finding,) = drift([checkout, pricing]).errors
    assert ("field-not-sent", "customerTier", "order.v2") == (finding.kind, finding.field, finding.produced)
