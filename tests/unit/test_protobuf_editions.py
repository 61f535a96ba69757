"""Editions (edition 2023): presence is the ``field_presence`` feature, set per file and per field.
The schemas are tests/data/protobuf/acme/editions/v1.proto and v2.proto, compiled by grpcio-tools'
protoc (which reads editions) through the registry's own compiler, ``compile_proto``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("google.protobuf")
pytest.importorskip("grpc_tools")

import syscontract
from syscontract import Contract, ContractDeclarationError, MemoryRegistry, MissingCriticalField, check, encode
from syscontract.formats.protobuf import compile_proto, presence_of

ROOT = Path(__file__).parents[1] / "data" / "protobuf"


def contract(version: int) -> Contract:
    data = compile_proto(ROOT / f"acme/editions/v{version}.proto", ROOT)
    return Contract.from_protobuf(f"edorder.v{version}", data, message="Order")


@pytest.fixture(scope="module")
def versions() -> tuple[Contract, Contract]:
    return contract(1), contract(2)


@pytest.fixture
def registry(versions: tuple[Contract, Contract]) -> MemoryRegistry:
    found = MemoryRegistry()
    found.add(versions[0], schema_id=21)
    found.add(versions[1], schema_id=22)
    syscontract.configure(registry=found)
    return found


def framed(registry: MemoryRegistry, ref: str, **values: Any) -> bytes:
    return encode(ref, registry.get(ref).native.message_class(**values), format="confluent").value


def test_the_field_presence_feature_decides_each_fields_presence(versions: tuple[Contract, Contract]) -> None:
    fields = versions[1].native.descriptor.fields_by_name
    assert {"plain": "implicit", "explicit_id": "explicit", "tier": "explicit", "plain_tier": "implicit"} == {
        name: presence_of(field) for name, field in fields.items()
    }
    older = versions[0].native.descriptor.fields_by_name
    assert ("implicit", "explicit") == (presence_of(older["plain"]), presence_of(older["explicit_id"]))


def test_an_explicit_field_set_to_its_zero_value_was_sent(registry: MemoryRegistry) -> None:
    value = framed(registry, "edorder.v2", explicit_id="", tier=0)
    received = check("edorder.v2", value, ["explicitId", "tier"])
    assert ("", 0) == (received.explicit_id, received.tier)


def test_an_explicit_field_not_written_is_absent(registry: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("edorder.v2", framed(registry, "edorder.v2", explicit_id="e"), ["explicitId", "tier"])
    assert ("tier", "absent") == (raised.value.field, raised.value.reason)


def test_a_writer_without_the_number_is_not_in_writer_schema(registry: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("edorder.v2", framed(registry, "edorder.v1", explicit_id="e"), ["tier"])
    assert ("not-in-writer-schema", "edorder.v1") == (raised.value.reason, raised.value.writer)


def test_an_implicit_field_is_refused_with_the_editions_fix(registry: MemoryRegistry) -> None:
    with pytest.raises(ContractDeclarationError) as raised:
        check("edorder.v2", b"", ["plainTier"])
    assert "no-presence" == raised.value.reason
    assert "'Tier plain_tier = 4 [features.field_presence = EXPLICIT];'" in str(raised.value)
    assert "optional" not in str(raised.value).split("Fix:")[1].split("(wire")[0]


def test_an_implicit_field_under_zero_is_unsent_counts_its_zero_as_not_sent(versions: tuple[Contract, ...]) -> None:
    data = compile_proto(ROOT / "acme/editions/v2.proto", ROOT)
    lenient = Contract.from_protobuf("edorder.v2", data, message="Order", presence="zero-is-unsent")
    registry = MemoryRegistry([lenient])
    cls = lenient.native.message_class
    assert "p" == check("edorder.v2", cls(plain="p"), ["plain"], registry=registry).plain
    with pytest.raises(MissingCriticalField) as raised:
        check("edorder.v2", cls(plain=""), ["plain"], registry=registry)
    assert "zero" == raised.value.reason
