"""Coverage-guided fuzzing of every decoder and of @requires, with atheris.

    pip install -e '.[fuzz]'
    python tests/fuzz/fuzz_decoders.py -max_total_time=60        # bounded: one minute
    python tests/fuzz/fuzz_decoders.py -runs=100000

Each input is tried as Confluent-framed Avro (ids of order v2 and v3), single-object Avro, a bare body
named by a header, JSON bytes and text, against an Avro and a JSON Schema contract; with
``validate="full"`` (jsonschema-rs) against the order's JSON Schema and a recursive schema with a
backtracking-prone pattern; and as a JSON Schema itself (loading, the field view, validation of a few
values). The only accepted
outcomes are a pass and a syscontract ContractError; anything else (a crash, another exception) is a
finding atheris reports with the input that caused it. Not part of the test run (it has no end of its
own); tests/unit/test_hostile_input.py holds the bounded property tests that always run.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import syscontract
    from syscontract import Contract, ContractError, MemoryRegistry
    from syscontract.validation import compile_validator
    from syscontract.wire import confluent, single_object

DATA = Path(__file__).parent.parent / "data" / "contracts" / "order"
V2 = Contract.from_avro("order.v2", (DATA / "v2.avsc").read_text())
V3 = Contract.from_avro("order.v3", (DATA / "v3.avsc").read_text())
V4 = Contract.from_jsonschema("order.v4", (DATA / "v4.schema.json").read_text())
REGISTRY = MemoryRegistry()
REGISTRY.add(V2, schema_id=2)
REGISTRY.add(V3, schema_id=3)
REGISTRY.add(V4, schema_id=4)
FIELDS = ["orderId", "customer.customerTier", "items[].sku"]
FINGERPRINT = V3.avro_fingerprint or b""
RECURSIVE = Contract.from_jsonschema(
    "tree.v1",
    {
        "type": "object",
        "properties": {
            "next": {"$ref": "#"},
            "s": {"type": "string", "pattern": "^(a+)+$"},
            "l": {"items": {"$ref": "#"}},
        },
    },
)
VALUES: list[object] = [None, 0, "aaaa!", [], {}, {"next": {"s": "a" * 64 + "!"}}]


def attempt(contract: Contract, message: object, headers: dict[str, bytes] | None = None) -> None:
    with contextlib.suppress(ContractError):
        syscontract.check(contract, message, FIELDS, registry=REGISTRY, headers=headers)


def one_input(data: bytes) -> None:
    for contract in (V3, V4):
        attempt(contract, data)
        attempt(contract, confluent.encode(2, data))
        attempt(contract, confluent.encode(3, data))
        attempt(contract, single_object.encode(FINGERPRINT, data))
        attempt(contract, data, {"syscontract-contract": b"order.v2"})
        attempt(contract, data.decode("utf-8", "replace"))
    for contract in (V4, RECURSIVE):
        with contextlib.suppress(ContractError):
            syscontract.check(contract, data, validate="full")
    decoded: object = None
    with contextlib.suppress(ValueError, RecursionError):
        decoded = json.loads(data)
        attempt(V4, decoded)
        for contract in (V4, RECURSIVE):
            with contextlib.suppress(ContractError):
                syscontract.check(contract, decoded, validate="full")
    schema(decoded)


def schema(document: object) -> None:
    """The input as a JSON Schema: loading, the field view and validation never raise anything else."""
    if not isinstance(document, (dict, bool)):
        return
    try:
        contract = Contract.from_jsonschema("fuzz.v1", document)
        for field in list(contract.fields.values())[:20]:
            contract.field(field.path)
        validator = compile_validator(contract)
        for value in VALUES:
            validator.is_valid(value)
            validator.errors(value)
    except ContractError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
