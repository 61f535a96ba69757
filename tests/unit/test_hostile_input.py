"""Whatever arrives, the answer is a pass or a syscontract error: never a crash, a hang or a huge
allocation. Property tests feed random and mutated input to every decoder and to @requires."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syscontract
from syscontract import Contract, ContractError, DecodeError, MemoryRegistry
from syscontract.wire import avro, confluent, single_object

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())
V3 = Contract.from_avro("order.v3", (DATA / "contracts" / "order" / "v3.avsc").read_text())
V2 = Contract.from_avro("order.v2", (DATA / "contracts" / "order" / "v2.avsc").read_text())
V4 = Contract.from_jsonschema("order.v4", (DATA / "contracts" / "order" / "v4.schema.json").read_text())
NULLS = Contract.from_avro(
    "nulls.v1", {"type": "record", "name": "N", "fields": [{"name": "xs", "type": {"type": "array", "items": "null"}}]}
)
REGISTRY = MemoryRegistry()
for schema_id, contract in enumerate((V2, V3, V4, NULLS), start=1):
    REGISTRY.add(contract, schema_id=schema_id)
FIELDS = ["orderId", "customer.customerTier", "items[].sku"]
GOOD = confluent.encode(2, avro.encode(ORDER, V3.native))


def verdict(contract: Contract, raw: Any, fields: list[str] = FIELDS, **options: Any) -> str:
    started = time.monotonic()
    try:
        syscontract.check(contract, raw, fields, registry=REGISTRY, **options)
        outcome = "pass"
    except ContractError as error:
        outcome = type(error).__name__
    assert time.monotonic() - started < 2.0, "a single message took more than 2 s"
    return outcome


def test_a_string_declared_two_gigabytes_long_is_refused_without_allocating_it() -> None:
    huge = b"\x00\x00\x00\x00\x02" + b"\x24ord-1" + b"\xfe\xff\xff\xff\x0f"  # orderId, then a 2 GiB string
    assert "DecodeError" == verdict(V3, huge)


def test_an_array_of_nulls_declaring_billions_of_items_is_refused_quickly() -> None:
    raw = confluent.encode(4, b"\xfe\xff\xff\xff\x0f\x00")  # one block of 2**31 - 1 nulls, in 6 bytes
    with pytest.raises(DecodeError, match="more than 1000000 items") as caught:
        syscontract.check(NULLS, raw, registry=REGISTRY)
    assert "too-large" == caught.value.reason


def test_a_reasonable_array_of_nulls_still_decodes() -> None:
    raw = confluent.encode(4, b"\x06\x00")  # three nulls
    assert {"xs": [None, None, None]} == syscontract.check(NULLS, raw, registry=REGISTRY)


def test_a_message_over_the_size_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract._engine import decoder as decoding

    monkeypatch.setattr(decoding, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(DecodeError, match="larger than the 100") as caught:
        syscontract.check(V3, GOOD, FIELDS, registry=REGISTRY)
    assert "too-large" == caught.value.reason


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"orderId": NaN}',
        b'{"orderId": Infinity}',
        b'{"orderId": -Infinity}',
        b'{"orderId": "\xff\xfe"}',
        b"\xef\xbb\xbf{}",
        '{"orderId": "\ud800"}'.encode("utf-8", "surrogatepass"),
    ],
    ids=["deep-array", "deep-object", "nan", "infinity", "-infinity", "not-utf8", "bom", "lone-surrogate"],
)
def test_hostile_json_is_a_decode_error(raw: bytes) -> None:
    assert "DecodeError" == verdict(V4, raw)


def test_duplicate_keys_keep_the_last_value_as_json_does() -> None:
    raw = b'{"orderId": "a", "orderId": "b", "customer": {"customerTier": "VIP"}, "items": []}'
    assert "b" == syscontract.check(V4, raw, ["orderId"], registry=REGISTRY)["orderId"]


def test_an_extremely_long_field_name_is_just_absent() -> None:
    message = {("x" * 1_000_000): 1}
    assert "MissingCriticalField" == verdict(V4, message)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=300))
def test_random_bytes_are_a_pass_or_a_syscontract_error(raw: bytes) -> None:
    for contract in (V3, V4):
        assert verdict(contract, raw) in {
            "pass",
            "DecodeError",
            "RegistryError",
            "MissingCriticalField",
            "FieldTypeError",
            "ContractViolation",
        }


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_corrupted_framed_avro_is_a_pass_or_a_syscontract_error(data: st.DataObject) -> None:
    raw = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(0, len(raw)))
    mutated = bytes(raw[:cut])
    assert verdict(V3, mutated) in {
        "pass",
        "DecodeError",
        "RegistryError",
        "MissingCriticalField",
        "FieldTypeError",
        "ContractViolation",
    }


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_single_object_framing_with_any_body_is_a_pass_or_a_syscontract_error(body: bytes) -> None:
    fingerprint = V3.avro_fingerprint
    assert fingerprint is not None
    assert verdict(V3, single_object.encode(fingerprint, body)) in {
        "pass", "DecodeError", "MissingCriticalField", "FieldTypeError",
    }  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_a_pass_or_a_syscontract_error(text: str) -> None:
    assert verdict(V4, text) in {"pass", "DecodeError", "MissingCriticalField", "FieldTypeError"}


def test_every_prefix_of_a_good_message_is_a_pass_or_a_syscontract_error() -> None:
    outcomes = {verdict(V3, GOOD[:cut]) for cut in range(len(GOOD) + 1)}
    assert "pass" in outcomes
    assert outcomes <= {"pass", "DecodeError", "RegistryError", "MissingCriticalField", "FieldTypeError"}
