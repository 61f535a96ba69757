"""Issue 21, finding 19: how a (reader, writer) Avro pair is decided for a critical path, pinned.

``DIRECT`` is the cheap half of the design: resolution hands on the written value by construction, so
the resolved datum is checked like any dict and no writer datum is read per message. A pair wrongly
decided ``PER_MESSAGE`` costs a second decode per message; a pair wrongly decided ``DIRECT`` lets a
filled value through. The table holds representative pairs to their decision both ways.

The second half shows that the two clauses removed from ``AvroPair.status`` (a writer record on the
path without the field, a writer field found through an alias) could never change a decision: each
implies another clause that decides ``PER_MESSAGE`` at the same step. A reference copy of the
decision with the clauses, checked against the real one over the differential test's generated pairs.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from strategies import AVRO_NAMESPACE, AvroCase, avro_cases, avro_slot

from syscontract._engine import presence
from syscontract._engine.presence import DIRECT, MISSING, PER_MESSAGE, AvroPair
from syscontract.contract import parse_path


def record(name: str, fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "pairs", "fields": fields, **extra}


def field(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


ORDER_ID = field("orderId", "string")
TIER = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD"]}
TIER_MORE = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD", "VIP"]}
TIER_DEFAULTED = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD"], "default": "BASIC"}
CUSTOMER = record("Customer", [field("id", "string"), field("tier", TIER)])
ITEM = record("Item", [field("sku", "string"), field("qty", "int")])
ITEMS = field("items", {"type": "array", "items": ITEM})
CARD = record("Card", [field("last4", "string")])


def order(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return record("Order", [ORDER_ID, *fields], **extra)


# (name, reader, writer, path, decision)
PAIRS: list[tuple[str, Any, Any, str, str]] = [
    ("identical", order(field("tier", "string")), order(field("tier", "string")), "tier", DIRECT),
    ("identical, another field", order(field("tier", "string")), order(field("tier", "string")), "orderId", DIRECT),
    ("the root is named the same", order(), order(), "orderId", DIRECT),
    ("reader added a field with a default", order(field("tier", "string", default="BASIC")), order(), "tier", MISSING),
    ("reader added a field, a sent one", order(field("tier", "string", default="BASIC")), order(), "orderId", DIRECT),
    ("writer has a field the reader dropped", order(), order(field("tier", "string")), "orderId", DIRECT),
    (
        "renamed with a reader alias",
        order(field("tier", "string", aliases=["level"])),
        order(field("level", "string")),
        "tier",
        PER_MESSAGE,
    ),
    (
        "an alias elsewhere in the record",
        order(field("tier", "string", aliases=["level"])),
        order(field("level", "string")),
        "orderId",
        DIRECT,
    ),
    (
        "an alias naming the field",
        order(field("tier", "string"), field("t2", "string", aliases=["tier"])),
        order(field("tier", "string")),
        "tier",
        PER_MESSAGE,
    ),
    (
        "a writer-side alias maps nothing",
        order(field("tier", "string", default="B")),
        order(field("level", "string", aliases=["tier"])),
        "tier",
        MISSING,
    ),
    (
        "an alias taken by a same-named field",
        order(field("tier", "string"), field("ct", "string", aliases=["tier"])),
        order(field("tier", "string")),
        "ct",
        MISSING,
    ),
    ("int promoted to long", order(field("n", "long")), order(field("n", "int")), "n", DIRECT),
    ("int promoted to double", order(field("n", "double")), order(field("n", "int")), "n", DIRECT),
    ("float promoted to double", order(field("n", "double")), order(field("n", "float")), "n", DIRECT),
    ("string read as bytes", order(field("s", "bytes")), order(field("s", "string")), "s", DIRECT),
    ("nested record", order(field("customer", CUSTOMER)), order(field("customer", CUSTOMER)), "customer.id", DIRECT),
    (
        "nested record, the leaf is the record",
        order(field("customer", CUSTOMER)),
        order(field("customer", CUSTOMER)),
        "customer",
        DIRECT,
    ),
    (
        "nested record, a field added with a default",
        order(field("customer", record("Customer", [field("id", "string"), field("vip", "boolean", default=False)]))),
        order(field("customer", record("Customer", [field("id", "string")]))),
        "customer.vip",
        MISSING,
    ),
    (
        "nested record behind null",
        order(field("customer", ["null", CUSTOMER], default=None)),
        order(field("customer", ["null", CUSTOMER], default=None)),
        "customer.id",
        PER_MESSAGE,
    ),
    ("array of records", order(ITEMS), order(ITEMS), "items[].sku", DIRECT),
    ("array of records, the array is the leaf", order(ITEMS), order(ITEMS), "items[]", DIRECT),
    (
        "array of strings",
        order(field("tags", {"type": "array", "items": "string"})),
        order(field("tags", {"type": "array", "items": "string"})),
        "tags[]",
        DIRECT,
    ),
    (
        "nullable array",
        order(field("items", ["null", ITEMS["type"]], default=None)),
        order(field("items", ["null", ITEMS["type"]], default=None)),
        "items[].sku",
        PER_MESSAGE,
    ),
    (
        "array of nullable leaves",
        order(field("tags", {"type": "array", "items": ["null", "string"]})),
        order(field("tags", {"type": "array", "items": ["null", "string"]})),
        "tags[]",
        DIRECT,
    ),
    (
        "nullable leaf, read as nullable",
        order(field("tier", ["null", "string"], default=None)),
        order(field("tier", ["null", "string"], default=None)),
        "tier",
        DIRECT,
    ),
    (
        "nullable leaf, read as not nullable",
        order(field("tier", "string")),
        order(field("tier", ["null", "string"], default=None)),
        "tier",
        PER_MESSAGE,
    ),
    (
        "not nullable leaf, read as nullable",
        order(field("tier", ["null", "string"], default=None)),
        order(field("tier", "string")),
        "tier",
        DIRECT,
    ),
    ("union of scalars", order(field("v", ["string", "int"])), order(field("v", ["string", "int"])), "v", DIRECT),
    (
        "union of records on the path",
        order(field("pay", [record("Card", [field("last4", "string")]), record("Iban", [field("last4", "string")])])),
        order(field("pay", [record("Card", [field("last4", "string")]), record("Iban", [field("last4", "string")])])),
        "pay.last4",
        PER_MESSAGE,
    ),
    (
        "union of records, one without the field",
        order(
            field(
                "pay",
                [
                    record("Card", [field("last4", "string")]),
                    record("Iban", [field("bic", "string"), field("last4", "string", default="0000")]),
                ],
            )
        ),
        order(field("pay", [record("Card", [field("last4", "string")]), record("Iban", [field("bic", "string")])])),
        "pay.last4",
        PER_MESSAGE,
    ),
    (
        "a union of records written, one record read",
        order(field("pay", CARD)),
        order(field("pay", [CARD, record("Iban", [field("last4", "string")])])),
        "pay.last4",
        PER_MESSAGE,
    ),
    (
        "a union of records written, one without the field, one record read",
        order(field("pay", CARD)),
        order(field("pay", [CARD, record("Iban", [field("bic", "string")])])),
        "pay.last4",
        PER_MESSAGE,
    ),
    (
        "a nullable record written, a record read",
        order(field("pay", CARD)),
        order(field("pay", ["null", CARD], default=None)),
        "pay.last4",
        PER_MESSAGE,
    ),
    (
        "a record written, a nullable record read",
        order(field("pay", ["null", CARD], default=None)),
        order(field("pay", CARD)),
        "pay.last4",
        DIRECT,
    ),
    (
        # the reader record a message resolves into is known per message only: the first reader
        # record with a 'tier' (Iban's) would say no symbol is missing, Card's fills 'BASIC' for 'VIP'
        "a record written, a union of records read",
        order(
            field(
                "pay",
                [
                    record("Iban", [field("tier", {**TIER_MORE, "name": "IbanTier"})]),
                    record("Card", [field("tier", TIER_DEFAULTED)]),
                ],
            )
        ),
        order(field("pay", record("Card", [field("tier", TIER_MORE)]))),
        "pay.tier",
        PER_MESSAGE,
    ),
    (
        "union of records below the leaf",
        order(field("v", ["null", ITEM, CARD])),
        order(field("v", ["null", ITEM, CARD])),
        "v",
        PER_MESSAGE,
    ),
    (
        "union of an enum and a string below the leaf",
        order(field("v", [TIER, "string"])),
        order(field("v", [TIER, "string"])),
        "v",
        PER_MESSAGE,
    ),
    (
        "union of a fixed and a string below the leaf",
        order(field("v", [{"type": "fixed", "name": "Id", "size": 4}, "string"])),
        order(field("v", [{"type": "fixed", "name": "Id", "size": 4}, "string"])),
        "v",
        PER_MESSAGE,
    ),
    (
        "array of maps of enums, a symbol the reader lacks",
        order(field("tiers", {"type": "array", "items": {"type": "map", "values": TIER_DEFAULTED}})),
        order(field("tiers", {"type": "array", "items": {"type": "map", "values": TIER_MORE}})),
        "tiers",
        PER_MESSAGE,
    ),
    (
        "array of arrays of enums, a symbol the reader lacks",
        order(field("tiers", {"type": "array", "items": {"type": "array", "items": TIER_DEFAULTED}})),
        order(field("tiers", {"type": "array", "items": {"type": "array", "items": TIER_MORE}})),
        "tiers",
        PER_MESSAGE,
    ),
    (
        "union of records, none with the field",
        order(field("pay", [record("Card", [field("n", "string")]), record("Iban", [field("bic", "string")])])),
        order(field("pay", [record("Card", [field("n", "string")]), record("Iban", [field("bic", "string")])])),
        "pay.last4",
        MISSING,
    ),
    (
        "union of named types below the leaf",
        order(field("v", ["null", TIER, ITEM])),
        order(field("v", ["null", TIER, ITEM])),
        "v",
        PER_MESSAGE,
    ),
    ("enum, the same symbols", order(field("tier", TIER)), order(field("tier", TIER)), "tier", DIRECT),
    (
        "enum, the reader knows more symbols",
        order(field("tier", TIER_MORE)),
        order(field("tier", TIER)),
        "tier",
        DIRECT,
    ),
    (
        "enum, a symbol the reader lacks, with a default",
        order(field("tier", TIER_DEFAULTED)),
        order(field("tier", TIER_MORE)),
        "tier",
        PER_MESSAGE,
    ),
    (
        "enum, a symbol the reader lacks, no default",
        order(field("tier", TIER)),
        order(field("tier", TIER_MORE)),
        "tier",
        PER_MESSAGE,
    ),
    (
        "enum, a symbol the reader lacks, in a nested record's leaf",
        order(field("customer", CUSTOMER)),
        order(field("customer", record("Customer", [field("id", "string"), field("tier", TIER_MORE)]))),
        "customer.id",
        DIRECT,
    ),
    ("enum read as a string", order(field("tier", "string")), order(field("tier", TIER)), "tier", PER_MESSAGE),
    (
        "array of enums, a symbol the reader lacks",
        order(field("tiers", {"type": "array", "items": TIER_DEFAULTED})),
        order(field("tiers", {"type": "array", "items": TIER_MORE})),
        "tiers",
        PER_MESSAGE,
    ),
    (
        "map of enums, a symbol the reader lacks",
        order(field("tiers", {"type": "map", "values": TIER_DEFAULTED})),
        order(field("tiers", {"type": "map", "values": TIER_MORE})),
        "tiers",
        PER_MESSAGE,
    ),
    (
        "map of enums, the same symbols",
        order(field("tiers", {"type": "map", "values": TIER})),
        order(field("tiers", {"type": "map", "values": TIER})),
        "tiers",
        DIRECT,
    ),
    (
        "named type referenced by name",
        order(field("a", TIER), field("b", "pairs.Tier")),
        order(field("a", TIER), field("b", "pairs.Tier")),
        "b",
        DIRECT,
    ),
]


@pytest.mark.parametrize(("name", "reader", "writer", "path", "decision"), PAIRS, ids=[p[0] for p in PAIRS])
def test_a_pair_is_decided_as_its_resolution_behaves(
    name: str, reader: Any, writer: Any, path: str, decision: str
) -> None:
    assert decision == AvroPair(reader, writer).status(parse_path(path))


# -- the clauses removed from AvroPair.status -------------------------------------------------------------


def status_with_the_removed_clauses(pair: AvroPair, path: Any, fired: set[str]) -> str:
    """``AvroPair.status`` as it was, with its two clauses: the reference the real one must equal on
    every pair. ``fired`` collects which of the two clauses held, and ``"alone"`` if one ever held at
    a step where no other clause decided ``PER_MESSAGE`` (the one way they could change a decision)."""
    branches, records, kind = presence._branches, presence._records, presence._kind
    reader_types = branches(pair.reader, pair.reader_table)
    writer_types = branches(pair.writer, pair.writer_table)
    per_message = False
    for name, arrays in path.steps:
        writer_records = records(writer_types)
        reader_records = records(reader_types)
        union = len(writer_types) != len(writer_records) or len(writer_records) != 1 or len(reader_records) != 1
        per_message |= union
        found = [
            (entry, alias)
            for record in writer_records
            for entry, alias in [
                presence._writer_field(presence._reader_record_for(record, reader_types), name, record)
            ]
            if entry is not None
        ]
        if not found:
            return MISSING
        clauses = {"a record without the field": len(found) != len(writer_records)}
        clauses["through an alias"] = any(alias for _, alias in found)
        aliases = any(presence._aliases_in_play(record, name) for record in reader_records)
        per_message |= aliases
        fired.update(clause for clause, held in clauses.items() if held)
        if any(clauses.values()):
            per_message = True
            if not (union or aliases):
                fired.add("alone")
        reader_field = presence._reader_field(reader_types, name)
        reader_types = branches(reader_field["type"], pair.reader_table) if reader_field else []
        writer_types = [t for entry, _ in found for t in branches(entry["type"], pair.writer_table)]
        for _ in range(arrays):
            if any(kind(t) != "array" for t in writer_types):
                per_message = True
            reader_types = [
                b for t in reader_types if kind(t) == "array" for b in branches(t["items"], pair.reader_table)
            ]
            writer_types = [
                b for t in writer_types if kind(t) == "array" for b in branches(t["items"], pair.writer_table)
            ]
    if any(kind(t) == "null" for t in writer_types) and not any(kind(t) == "null" for t in reader_types):
        per_message = True
    if not pair._same_below(reader_types, writer_types, set()):
        per_message = True
    return PER_MESSAGE if per_message else DIRECT


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def _held_to_the_reference(pair: AvroPair, texts: list[str]) -> set[str]:
    fired: set[str] = set()
    for text in texts:
        path = parse_path(text)
        assert status_with_the_removed_clauses(pair, path, fired) == pair.status(path), text
    assert "alone" not in fired
    return fired


@settings(max_examples=400, deadline=None)
@given(case=avro_cases(max_slots=4))
def test_the_removed_clauses_never_changed_a_decision(case: AvroCase) -> None:
    paths = {prefix for slot in case.slots for prefix in _prefixes(slot.path)}
    _held_to_the_reference(
        AvroPair(case.reader_schema, case.writer_schema), sorted(paths | {"w_extra", "r_extra", "nothing.here"})
    )


def test_the_removed_clauses_never_changed_a_decision_in_the_table() -> None:
    fired: set[str] = set()
    for _, reader, writer, path, _ in PAIRS:
        fired |= _held_to_the_reference(AvroPair(reader, writer), _prefixes(path))
    assert {"a record without the field", "through an alias"} == fired  # the table reaches both


@pytest.mark.parametrize(
    ("kind", "clause"), [("union-branch", "a record without the field"), ("reader-alias", "through an alias")]
)
def test_the_generated_pairs_reach_the_removed_clauses(kind: str, clause: str) -> None:
    # the property is worth something only if the generated pairs reach both clauses
    slot = avro_slot(kind, "f0", True)
    writer = {"type": "record", "name": "Order", "namespace": AVRO_NAMESPACE, "fields": slot.writer_fields}
    reader = {"type": "record", "name": "Order", "namespace": AVRO_NAMESPACE, "fields": [slot.reader_field]}
    assert clause in _held_to_the_reference(AvroPair(reader, writer), _prefixes(slot.path))
