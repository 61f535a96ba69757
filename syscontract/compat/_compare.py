"""``compare``: a new contract version against previous ones, in a Confluent compatibility mode."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from syscontract.compat import avro, jsonschema, protobuf
from syscontract.compat import consumers as _consumers
from syscontract.compat._model import FORMAT_MISMATCH, Compatibility, Problem
from syscontract.contract import COMPATIBILITY_MODES, Contract
from syscontract.errors import ContractDeclarationError

__all__ = ["can_read", "compare", "pairs", "problems"]

_JSON_FORMATS = frozenset({"jsonschema", "pydantic"})


def compare(new: Any, old: Any, mode: str = "BACKWARD", *, consumers: Iterable[Any] = ()) -> Compatibility:
    """Whether ``new`` may follow ``old`` under ``mode``, the way a Confluent Schema Registry means it.

    ``old`` is one previous version or a list of them, oldest first. ``BACKWARD``: the new version can
    read data written with the latest previous one (upgrade consumers first). ``FORWARD``: the latest
    previous version can read data written with the new one (upgrade producers first). ``FULL``: both.
    The ``*_TRANSITIVE`` modes compare with every previous version instead of the latest only.
    ``NONE``: no schema comparison.

    ``consumers`` (see :class:`Consumer`) adds the consumer-aware check: a field a consumer requires
    must not disappear from the data it reads, or become optional, nullable or defaulted, whatever the
    mode says; under ``NONE`` only the changes are checked.

    Contracts may be Avro, JSON Schema or pydantic; anything that is not a :class:`~syscontract.Contract`
    is read as an Avro schema. ::

        result = compare(registry.get("order.v3"), registry.get("order.v2"), "BACKWARD",
                       consumers=[Consumer("pricing", ["customer.customerTier"])])
        result.compatible   # False: order.v2 data has no customerTier, pricing would get 'BASIC'
    """
    if not isinstance(mode, str) or mode.upper() not in COMPATIBILITY_MODES:
        raise ContractDeclarationError(
            f"unknown compatibility mode {mode!r}: expected one of {', '.join(sorted(COMPATIBILITY_MODES))}",
            reason="bad-option",
        )
    mode = mode.upper()
    olds = list(old) if isinstance(old, (list, tuple)) else [old]
    new_contract = _as_contract(new, f"new.v{len(olds) + 1}")
    previous = [_as_contract(o, f"old.v{i + 1}") for i, o in enumerate(olds)]
    compared = previous if mode.endswith("_TRANSITIVE") else previous[-1:]
    checked = pairs(new_contract, compared, mode)
    found: list[Problem] = []
    for reader, writer in checked:
        found += problems(reader, writer)
    if mode != "NONE" and new_contract.format == "protobuf":  # Buf's wire rules: what the new version deletes
        for old_contract in compared:
            if old_contract.format == "protobuf":
                changed = protobuf.changes(new_contract, old_contract)
                found += [
                    dataclasses.replace(p, reader=str(old_contract.ref), writer=str(new_contract.ref)) for p in changed
                ]
    found += _consumers.problems(new_contract, compared, checked, consumers)
    return Compatibility(compatible=not found, problems=found, mode=mode)


def pairs(new: Contract, previous: Sequence[Contract], mode: str) -> list[tuple[Contract, Contract]]:
    """The (reader, writer) pairs ``mode`` compares ``new`` with each of ``previous`` in."""
    found: list[tuple[Contract, Contract]] = []
    for old in previous:
        if mode.startswith(("BACKWARD", "FULL")):
            found.append((new, old))
        if mode.startswith(("FORWARD", "FULL")):
            found.append((old, new))
    return found


def problems(reader: Any, writer: Any) -> list[Problem]:
    """Every reason ``reader`` cannot read what ``writer`` writes, each naming the two versions.

    Avro contracts are compared with Avro's resolution rules, JSON Schema and pydantic contracts with
    the JSON Schema rules; an Avro contract and a JSON one cannot read each other's data
    (``FORMAT_MISMATCH``)."""
    reader = _as_contract(reader, "reader.v0")
    writer = _as_contract(writer, "writer.v0")
    if reader.format == "avro" and writer.format == "avro":
        found = avro.problems(reader, writer)
    elif reader.format in _JSON_FORMATS and writer.format in _JSON_FORMATS:
        found = jsonschema.problems(reader, writer)
    elif reader.format == "protobuf" and writer.format == "protobuf":
        found = protobuf.problems(reader, writer)
    else:
        found = [
            Problem(
                FORMAT_MISMATCH,
                "/",
                f"{reader.ref} is {reader.format} and {writer.ref} is {writer.format}: "
                "a reader of one cannot read data written with the other",
            )
        ]
    return [dataclasses.replace(p, reader=str(reader.ref), writer=str(writer.ref)) for p in found]


def can_read(reader: Any, writer: Any) -> bool:
    """Whether ``reader`` can read everything ``writer`` writes.

    Two Avro schemas (contracts, parsed schemas or JSON text) are compared with Avro's schema
    resolution rules; two JSON Schema or pydantic contracts with the JSON Schema rules
    (every document valid under the writer is valid under the reader)."""
    if isinstance(reader, Contract) and isinstance(writer, Contract):
        return not problems(reader, writer)
    if isinstance(reader, Contract) and reader.format in _JSON_FORMATS:
        return jsonschema.can_read(reader, writer)
    if isinstance(writer, Contract) and writer.format in _JSON_FORMATS:
        return jsonschema.can_read(reader, writer)
    return avro.can_read(reader, writer)


def _as_contract(value: Any, ref: str) -> Contract:
    if isinstance(value, Contract):
        return value
    return Contract.from_avro(ref, avro.load(value))
