"""Wire vectors written by others: Confluent framing (gklijs/schema_registry_converter), Parsing Canonical
Form and CRC-64-AVRO fingerprints, single-object encoding and Avro data files (Apache Avro).
See tests/data/SOURCES.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

import syscontract
from syscontract import Contract, ContractError, DecodeError, MemoryRegistry
from syscontract.wire import confluent, single_object

DATA = Path(__file__).parent.parent / "data"
WIRE = json.loads((DATA / "confluent_wire_format_vectors.json").read_text())["cases"]
CANONICAL = json.loads((DATA / "avro_canonical_form_vectors.json").read_text())["cases"]
MESSAGE_V1 = json.loads((DATA / "avro_data" / "messageV1_test_message.json").read_text())


def _bytes_hex(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes_hex"}:
        return bytes.fromhex(value["$bytes_hex"])
    if isinstance(value, dict):
        return {k: _bytes_hex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bytes_hex(v) for v in value]
    return value


def _registry(case: dict[str, Any]) -> tuple[Contract, MemoryRegistry]:
    references = [r["schema"] for r in case.get("references", [])]
    contract = Contract.from_avro(f"vector-{case['id']}.v1", case["schema"], references=references)
    registry = MemoryRegistry()
    registry.add(contract, schema_id=case["schema_id"] if case["schema_id"] is not None else 1)
    return contract, registry


@pytest.mark.parametrize("case", [c for c in WIRE if not c["expect_error"]], ids=lambda c: c["id"])
def test_confluent_framed_vectors_decode_to_their_expected_values(case: dict[str, Any]) -> None:
    contract, registry = _registry(case)
    decoded = syscontract.check(contract, bytes.fromhex(case["bytes_hex"]), registry=registry)
    if "expected" in case:
        assert _bytes_hex(case["expected"]) == decoded
    else:
        assert _bytes_hex(case["expected_partial"]).items() <= decoded.items()


@pytest.mark.parametrize("case", [c for c in WIRE if c["expect_error"]], ids=lambda c: c["id"])
def test_bad_confluent_framing_is_a_decode_error_keeping_the_bytes(case: dict[str, Any]) -> None:
    contract, registry = _registry(case)
    raw = bytes.fromhex(case["bytes_hex"])
    with pytest.raises(DecodeError) as caught:
        syscontract.check(contract, raw, registry=registry)
    assert raw == caught.value.payload


@pytest.mark.parametrize("case", [c for c in WIRE if not c["expect_error"]], ids=lambda c: c["id"])
def test_confluent_framing_encodes_what_the_vectors_hold(case: dict[str, Any]) -> None:
    raw = bytes.fromhex(case["bytes_hex"])
    key, offset = confluent.decode(raw)
    assert (case["schema_id"], 5) == (key, offset)
    assert raw == confluent.encode(key, raw[offset:])


@pytest.mark.parametrize("case", [c for c in CANONICAL if "fingerprint_le_hex" in c], ids=lambda c: c["id"])
def test_fingerprints_match_the_avro_vectors(case: dict[str, Any]) -> None:
    contract = Contract.from_avro("canonical.v1", json.loads(case["input"]))
    assert bytes.fromhex(case["fingerprint_le_hex"]) == contract.avro_fingerprint


@pytest.mark.parametrize("case", CANONICAL, ids=lambda c: c["id"])
def test_canonical_forms_match_the_avro_vectors(case: dict[str, Any]) -> None:
    from fastavro.schema import to_parsing_canonical_form

    assert case["canonical"] == to_parsing_canonical_form(Contract.from_avro("canonical.v1", case["input"]).schema)


def test_the_single_object_message_from_avro_java_decodes() -> None:
    contract = Contract.from_avro("test-message.v1", MESSAGE_V1["schema"])
    raw = (DATA / "avro_data" / "messageV1_test_message.bin").read_bytes()
    assert bytes.fromhex(MESSAGE_V1["bytes_hex"]) == raw
    assert (bytes.fromhex(MESSAGE_V1["fingerprint_le_hex"]), 10) == single_object.decode(raw)
    registry = MemoryRegistry([contract])
    assert MESSAGE_V1["expected"] == syscontract.check(contract, raw, ["name", "tags"], registry=registry)


def test_a_corrupted_single_object_message_is_a_contract_error_never_a_crash() -> None:
    contract = Contract.from_avro("test-message.v1", MESSAGE_V1["schema"])
    raw = (DATA / "avro_data" / "messageV1_test_message.bin").read_bytes()
    registry = MemoryRegistry([contract])
    for cut in range(len(raw)):
        with pytest.raises(ContractError):
            syscontract.check(contract, raw[:cut], ["name"], registry=registry)


@pytest.mark.parametrize(
    ("container", "expected"),
    [("weather.avro", "weather.json"), ("schemas_simple_data.avro", None), ("schemas_withUnion_data.avro", None)],
)
def test_records_of_the_avro_data_files_pass_their_writer_contract(container: str, expected: str | None) -> None:
    with (DATA / "avro_data" / container).open("rb") as handle:
        reader = fastavro.reader(handle)
        contract = Contract.from_avro("data.v1", reader.writer_schema)
        records = list(reader)
    fields = [
        name for name, field in contract.fields.items() if "." not in name and "[" not in name and not field.nullable
    ]
    assert records
    for record in records:
        assert record is syscontract.check(contract, record, fields)
    if expected is not None:
        lines = (DATA / "avro_data" / expected).read_text().splitlines()
        assert [json.loads(line) for line in lines if line.strip()] == records
