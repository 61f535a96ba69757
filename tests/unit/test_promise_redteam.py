"""Issue 12, red team: doors left open after the engine rebuild.

``test_door_*``: the promise broken (a critical value the producer never sent reaches the handler, or
the same content gets a different verdict, error class or reason depending on its form). They fail
until the engine is fixed. ``test_holds_*``: doors nobody had tested, that hold.

Public API only (``syscontract``, ``syscontract.integrations.*``, ``syscontract.wire``). Bytes are
built as producers build them, with fastavro, from the producer's own schema JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pytest
from producers import avro_body, confluent, single_object
from pydantic import AliasPath, BaseModel, ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

import syscontract
from syscontract import (
    Contract,
    ContractError,
    ContractViolation,
    MemoryRegistry,
    MissingCriticalField,
    requires,
)
from syscontract.integrations.kafka import Deserializer
from syscontract.wire import Envelope

# -- producers' bytes --------------------------------------------------------------------------------


WRITER_ID, READER_ID = 1, 2
FRAMINGS = ["confluent", "single-object", "header"]


def framed(framing: str, ref: str, schema: Mapping[str, Any], datum: Mapping[str, Any]) -> Any:
    """The writer's datum, in one framing (``schema``: the producer's own schema JSON)."""
    body = avro_body(schema, datum)
    if framing == "confluent":
        return confluent(WRITER_ID, body)
    if framing == "single-object":
        return single_object(schema, body)
    return Envelope(body, [("syscontract-contract", ref.encode())])


def pair(writer_ref: str, writer: Mapping[str, Any], reader_ref: str, reader: Mapping[str, Any]) -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add(Contract.from_avro(writer_ref, writer), schema_id=WRITER_ID)
    registry.add(Contract.from_avro(reader_ref, reader), schema_id=READER_ID)
    syscontract.configure(registry=registry)
    return registry


def record(name: str, fields: list[dict[str, Any]], namespace: str = "redteam") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


class Handler:
    """A handler that records what it receives."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def __call__(self, event: Any) -> str:
        self.received.append(event)
        return "handled"


def verdict(guarded: Any, message: Any) -> Any:
    """The verdict a caller sees: "ok", or (error class, reason, field)."""
    try:
        guarded(message)
    except ContractError as error:
        return (type(error).__name__, error.reason, error.field)
    return "ok"


# -- Avro: a reader alias that shadows the writer field of the same name ----------------------------------

# The writer sends both 'level' and 'tier'. The reader's 'tier' has alias 'level'. fastavro walks the
# writer's fields in order and removes a reader field once it is filled: with 'level' first, 'level'
# lands on the reader's 'tier' through the alias and the writer's own 'tier' is skipped, so the
# handler gets the level as the tier (presence.AvroPair.status: 'tier' is in the writer by name, so
# DIRECT, and the resolved value is trusted). With 'tier' first, fastavro raises KeyError on the
# alias: a valid message becomes a DecodeError while its dict form passes.
SHADOW_R = record("Order", [{"name": "tier", "type": "string", "aliases": ["level"]}])


def _shadow_writer(order: str) -> dict[str, Any]:
    level = {"name": "level", "type": "string"}
    tier = {"name": "tier", "type": "string"}
    return record("Order", [level, tier] if order == "level-first" else [tier, level])


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("order", ["level-first", "tier-first"])
def test_door_a_reader_alias_shadows_the_writer_field_of_the_same_name(framing: str, order: str) -> None:
    writer = _shadow_writer(order)
    pair("shadow.v1", writer, "shadow.v2", SHADOW_R)
    handler = Handler()
    guarded = requires("shadow.v2", ["tier"])(handler)
    message = framed(framing, "shadow.v1", writer, {"level": "L3", "tier": "VIP"})
    for _ in range(3):  # the first call, then the fast paths
        found = verdict(guarded, message)
        # refusing as not sent is acceptable (the value is ambiguous); a DecodeError is not
        assert found == "ok" or found[0] == "MissingCriticalField", found
    assert all(event["tier"] == "VIP" for event in handler.received), handler.received


# -- Avro: a critical array or map of enums: every element is a value the writer must have sent --------

TIER_W = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD", "PLATINUM"]}
TIER_R = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD"], "default": "BASIC"}
GRADE_W = {"type": "enum", "name": "Grade", "symbols": ["BASIC", "GOLD", "PLATINUM"]}
GRADE_R = {"type": "enum", "name": "Grade", "symbols": ["BASIC", "GOLD"], "default": "BASIC"}
ENUMS_W = record(
    "Order",
    [
        {"name": "tiers", "type": {"type": "array", "items": TIER_W}},
        {"name": "grades", "type": {"type": "map", "values": GRADE_W}},
    ],
)
ENUMS_R = record(
    "Order",
    [
        {"name": "tiers", "type": {"type": "array", "items": TIER_R}},
        {"name": "grades", "type": {"type": "map", "values": GRADE_R}},
    ],
)


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("field", ["tiers", "grades"])
def test_door_a_critical_collection_of_enums_takes_the_reader_default_symbol(framing: str, field: str) -> None:
    pair("enums.v1", ENUMS_W, "enums.v2", ENUMS_R)
    handler = Handler()
    guarded = requires("enums.v2", [field])(handler)
    message = framed(framing, "enums.v1", ENUMS_W, {"tiers": ["PLATINUM"], "grades": {"eu": "PLATINUM"}})
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert (field, "unknown-symbol") == (caught.value.field, caught.value.reason)
    assert [] == handler.received, "the handler got the reader enum default 'BASIC' for the writer's 'PLATINUM'"


@pytest.mark.parametrize("framing", FRAMINGS)
def test_holds_tiers_elements_path_refuses_the_substituted_symbol(framing: str) -> None:
    # the same message, declared element-wise ('tiers[]'), is refused: the two spellings disagree
    pair("enums.v1", ENUMS_W, "enums.v2", ENUMS_R)
    guarded = requires("enums.v2", ["tiers[]"])(Handler())
    message = framed(framing, "enums.v1", ENUMS_W, {"tiers": ["PLATINUM"], "grades": {}})
    assert ("MissingCriticalField", "unknown-symbol", "tiers[]") == verdict(guarded, message)


# -- Avro: a reader union of records: the status is judged on the wrong reader branch -------------------

# The writer sends a Voucher (not a union). The reader's 'payment' is [Card, Voucher]; fastavro reads
# the writer's Voucher into the reader's Voucher (its name), whose enum lacks 'C' and defaults to 'A'.
# presence.AvroPair.status takes the reader type of 'code' from the first reader record that has a
# field 'code' (Card, whose enum knows 'C'), sees no symbol gap, and trusts the resolved 'A'.
CARD = record("Card", [{"name": "code", "type": {"type": "enum", "name": "CardCode", "symbols": ["A", "B", "C"]}}])
VOUCHER_R = record(
    "Voucher",
    [{"name": "code", "type": {"type": "enum", "name": "VoucherCode", "symbols": ["A", "B"], "default": "A"}}],
)


def _voucher_writer(namespace: str) -> dict[str, Any]:
    code = {"type": "enum", "name": "VoucherCode", "symbols": ["A", "B", "C"]}
    voucher = record("Voucher", [{"name": "code", "type": code}], namespace=namespace)
    return record("Order", [{"name": "payment", "type": voucher}], namespace=namespace)


BRANCH_R = record("Order", [{"name": "payment", "type": [CARD, VOUCHER_R]}])


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("namespace", ["redteam", "elsewhere"])  # fastavro matches unqualified names
def test_door_a_reader_union_of_records_is_judged_on_the_first_branch_with_the_field(
    framing: str, namespace: str
) -> None:
    writer = _voucher_writer(namespace)
    pair("branch.v1", writer, "branch.v2", BRANCH_R)
    handler = Handler()
    guarded = requires("branch.v2", ["payment.code"])(handler)
    message = framed(framing, "branch.v1", writer, {"payment": {"code": "C"}})
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("payment.code", "unknown-symbol") == (caught.value.field, caught.value.reason)
    assert [] == handler.received, "the handler got the Voucher enum default 'A' for the writer's 'C'"


# -- Avro: a named type used twice -----------------------------------------------------------------------

ADDRESS = {"type": "record", "name": "Address", "fields": [{"name": "city", "type": "string"}]}
TWICE = record("Order", [{"name": "billing", "type": ADDRESS}, {"name": "shipping", "type": "Address"}])


@pytest.mark.parametrize("framing", ["single-object", "header"])
def test_door_a_named_type_used_twice_makes_every_avro_form_escape(framing: str) -> None:
    # billing and shipping share 'Address': the commonest reuse there is. The dict passes; the very
    # same content as Avro escapes as fastavro's SchemaParseException (not a ContractError), because
    # formats/avro.parse expands the named types (expand=True whenever the named table is non-empty,
    # i.e. always) and Contract.avro_fingerprint re-parses that expansion: "redefined named type".
    contract = Contract.from_avro("twice.v1", TWICE)
    syscontract.configure(registry=MemoryRegistry())  # the declaration holds the contract itself
    handler = Handler()
    guarded = requires(contract, ["shipping.city"])(handler)
    content = {"billing": {"city": "Paris"}, "shipping": {"city": "Lyon"}}
    assert "ok" == verdict(guarded, content)
    assert "ok" == verdict(guarded, framed(framing, "twice.v1", TWICE, content))
    assert [content, content] == handler.received


def test_door_a_named_type_used_twice_cannot_be_registered() -> None:
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("twice.v1", TWICE), schema_id=WRITER_ID)  # SchemaParseException today
    assert "twice.v1" == str(registry.by_id(WRITER_ID).ref)


# An enum referenced by name inside a union comes out of fastavro's writer-side read
# (return_record_name=True) as ('redteam.Tier', 'PLATINUM'): presence.AvroPair._arrays sees no str,
# calls it 'sent', and decoder._resolved_elsewhere skips non-scalars, so the reader enum default
# 'BASIC' reaches the handler. (Masked today by the crash above: a named reference is a reuse; once
# the fingerprint is computed on the parsed schema, the handler gets 'BASIC'.)
NAMED_W = record("Order", [{"name": "was", "type": TIER_W}, {"name": "tier", "type": ["null", "Tier"]}])
NAMED_R = record("Order", [{"name": "was", "type": TIER_R}, {"name": "tier", "type": ["null", "Tier"]}])


@pytest.mark.parametrize("framing", FRAMINGS)
def test_door_an_enum_referenced_by_name_in_a_union_takes_the_reader_default(framing: str) -> None:
    pair("named.v1", NAMED_W, "named.v2", NAMED_R)
    handler = Handler()
    guarded = requires("named.v2", ["tier"])(handler)
    message = framed(framing, "named.v1", NAMED_W, {"was": "GOLD", "tier": "PLATINUM"})
    for _ in range(3):
        with pytest.raises(MissingCriticalField) as caught:
            guarded(message)
        assert ("tier", "unknown-symbol") == (caught.value.field, caught.value.reason)
    assert [] == handler.received


# -- Avro: a writer named by header with the reader's own reference is never looked up --------------------

OLD_V3 = record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}], "stale")
NEW_V3 = record("Order", [{"name": "orderId", "type": "string"}, {"name": "note", "type": "string"}], "stale")


def _named_by_header(body: bytes) -> Envelope:
    return Envelope(body, [("syscontract-contract", b"stale.v3")])


def test_door_a_replaced_contract_named_by_header_is_read_with_the_old_schema() -> None:
    # MemoryRegistry.add(replace=True) calls changed(); every writer plan is forgotten, but
    # decoder.Decoder._writer answers a header naming the reader's ref with the reader it holds,
    # without asking the registry: the new writer's 'note' is read as the old 'customerTier'.
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("stale.v3", OLD_V3), schema_id=5)
    syscontract.configure(registry=registry)
    handler = Handler()
    guarded = requires("stale.v3", ["customerTier"])(handler)
    assert "ok" == verdict(guarded, _named_by_header(avro_body(OLD_V3, {"orderId": "o-1", "customerTier": "GOLD"})))

    registry.add(Contract.from_avro("stale.v3", NEW_V3), schema_id=5, replace=True)
    body = avro_body(NEW_V3, {"orderId": "o-1", "note": "VIP"})
    by_id = verdict(guarded, confluent(5, body))
    by_header = verdict(guarded, _named_by_header(body))
    assert ("MissingCriticalField", "not-in-writer-schema", "customerTier") == by_id
    assert by_id == by_header
    assert ["GOLD"] == [event["customerTier"] for event in handler.received], "a note was handed on as the tier"


def test_door_a_contract_object_shadows_the_registrys_writer_of_the_same_name() -> None:
    # the declaration holds its own Contract for stale.v3; the registry's stale.v3 (what producers
    # write with) differs. By id or fingerprint the registry's writer is used; by header, the
    # declaration's own contract is assumed to be the writer.
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("stale.v3", NEW_V3), schema_id=5)
    syscontract.configure(registry=registry)
    handler = Handler()
    guarded = requires(Contract.from_avro("stale.v3", OLD_V3), ["customerTier"])(handler)
    body = avro_body(NEW_V3, {"orderId": "o-1", "note": "VIP"})
    verdicts = {
        "confluent": verdict(guarded, confluent(5, body)),
        "single-object": verdict(guarded, single_object(NEW_V3, body)),
        "header": verdict(guarded, _named_by_header(body)),
    }
    assert {("MissingCriticalField", "not-in-writer-schema", "customerTier")} == set(verdicts.values()), verdicts
    assert [] == handler.received


# -- a resolved payload's own copy methods laundered the reader default -----------------------------------

LAUNDRY_W = record("Order", [{"name": "orderId", "type": "string"}], "laundry")
LAUNDRY_R = record(
    "Order",
    [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string", "default": "BASIC"}],
    "laundry",
)


@pytest.mark.parametrize(
    "how", ["copy-method", "or-empty", "ror-empty", "copy", "deepcopy", "pickle", "mutated-elsewhere"]
)
def test_holds_a_resolved_payload_carries_no_reader_default_to_launder(how: str) -> None:
    # The payload's own .copy() and the | operator gave a plain dict with 'BASIC' in it, which a
    # stricter check then accepted. Since issue 21 (finding 4) the decoder hands on only what the
    # writer wrote: the field is absent from the payload and from every copy of it (test_written_only.py)
    import copy
    import pickle

    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    decoded = syscontract.check("laundry.v2", confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"})))
    if how == "mutated-elsewhere":
        decoded["orderId"] = "o-2"
    copied = {
        "copy-method": lambda: decoded.copy(),
        "or-empty": lambda: decoded | {},
        "ror-empty": lambda: {} | decoded,
        "copy": lambda: copy.copy(decoded),
        "deepcopy": lambda: copy.deepcopy(decoded),
        "pickle": lambda: pickle.loads(pickle.dumps(decoded)),
        "mutated-elsewhere": lambda: decoded,
    }
    message = copied[how]()
    assert "customerTier" not in message
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("laundry.v2", message, ["customerTier"])
    assert ("customerTier", "absent") == (caught.value.field, caught.value.reason)


# -- pydantic: a validation alias that is a path of more than one step -----------------------------------


class Nested(BaseModel):
    orderId: str
    tier: str = Field("BASIC", validation_alias=AliasPath("customer", "tier"))


@pytest.mark.parametrize("form", ["dict", "json-bytes"])
def test_door_a_two_step_alias_path_hands_the_pydantic_default(form: str) -> None:
    # checker._aliases drops AliasPath of more than one step, so the wire name is taken to be 'tier'.
    # A message with a top-level 'tier' (which pydantic ignores) passes presence, and pydantic fills
    # 'BASIC' from the default; the real sender ('customer.tier') is refused.
    syscontract.contract("aliaspath.v1")(Nested)
    handler = Handler()
    guarded = requires("aliaspath.v1", ["tier"])(handler)

    def as_form(content: dict[str, Any]) -> Any:
        return content if form == "dict" else json.dumps(content).encode()

    decoy = verdict(guarded, as_form({"orderId": "o-1", "tier": "GOLD"}))
    sent = verdict(guarded, as_form({"orderId": "o-1", "customer": {"tier": "GOLD"}}))
    assert [] == [event for event in handler.received if event.tier == "BASIC"], "the handler got the default"
    assert "ok" == sent
    assert ("MissingCriticalField", "absent", "tier") == decoy


# -- pydantic: an instance validated through an injecting validator --------------------------------------


class Injects(BaseModel):
    orderId: str
    customerTier: str

    @model_validator(mode="before")
    @classmethod
    def inject(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {"customerTier": "BASIC", **data}
        return data


@pytest.mark.parametrize("build", ["model_validate", "model_validate_json", "constructor"])
def test_door_an_instance_validated_through_an_injecting_validator_passes(build: str) -> None:
    # The dict {"orderId": "o-1"} is refused (presence on what was sent). The instance a framework
    # validated from the very same content carries the injected 'BASIC' in model_fields_set, and
    # both the fast and the precise path trust it: same content, two verdicts, and the default reaches
    # the handler. (An earlier decode's output that may carry fills is never to be trusted.)
    syscontract.contract("injects.v1")(Injects)
    handler = Handler()
    guarded = requires("injects.v1", ["customerTier"])(handler)
    content = {"orderId": "o-1"}
    instance = {
        "model_validate": lambda: Injects.model_validate(content),
        "model_validate_json": lambda: Injects.model_validate_json(json.dumps(content)),
        "constructor": lambda: Injects(**content),
    }[build]
    assert ("MissingCriticalField", "absent", "customerTier") == verdict(guarded, dict(content))
    # the instance cannot show what was sent (its validator may have set it): refused as unverifiable,
    # on the first call and on the later ones
    unverifiable = ("MissingCriticalField", "unverifiable", "customerTier")
    assert [unverifiable] * 3 == [verdict(guarded, instance()) for _ in range(3)]
    assert [] == handler.received


def test_holds_a_model_the_engine_validated_from_what_was_sent_is_trusted_downstream() -> None:
    # the engine's own output (validated from the sent dict, its fields-set cut to what was sent) is
    # evidence: a later @requires on it accepts a sent field and refuses one the validator injected
    syscontract.contract("injects.v1")(Injects)
    sent = syscontract.check("injects.v1", {"orderId": "o-1", "customerTier": "VIP"}, ["customerTier"])
    injected = syscontract.check("injects.v1", {"orderId": "o-2"})
    handler = Handler()
    guarded = requires("injects.v1", ["customerTier"])(handler)
    assert "ok" == verdict(guarded, sent)
    assert ("MissingCriticalField", "absent", "customerTier") == verdict(guarded, injected)
    assert [sent] == handler.received


# -- pydantic: a nested pydantic dataclass on the critical path ------------------------------------------


@pydantic_dataclass
class CustomerDC:
    id: str
    tier: str = "BASIC"


class WithDataclass(BaseModel):
    customer: CustomerDC


@pytest.mark.parametrize("sent_tier", [True, False])
def test_door_a_nested_pydantic_dataclass_instance_gets_another_verdict_than_its_dict(sent_tier: bool) -> None:
    # checker.Checker._walk knows BaseModel and Mapping only: a dataclass on the path is a
    # FieldTypeError, whether or not 'tier' was given, while the dict form says ok / absent.
    syscontract.contract("withdc.v1")(WithDataclass)
    guarded = requires("withdc.v1", ["customer.tier"])(Handler())
    content = {"customer": {"id": "c-1", "tier": "GOLD"} if sent_tier else {"id": "c-1"}}
    as_dict = verdict(guarded, content)
    as_instance = verdict(guarded, WithDataclass.model_validate(content))
    assert ("ok" if sent_tier else ("MissingCriticalField", "absent", "customer.tier")) == as_dict
    # issue 21: a dataclass records no fields-set; 'tier' has a default, so an instance cannot prove
    # it was sent, whatever it holds
    assert ("MissingCriticalField", "unverifiable", "customer.tier") == as_instance


# -- pydantic: a model validated by name only -----------------------------------------------------------


class ByNameOnly(BaseModel):
    model_config = ConfigDict(validate_by_alias=False, validate_by_name=True)
    orderId: str
    tier: str = Field("BASIC", alias="customerTier")


def test_door_a_model_validated_by_name_only_cannot_be_declared() -> None:
    # checker._field_names always puts the alias first, so 'tier' becomes 'customerTier' on the wire,
    # which the contract (whose schema says 'tier') does not know: ContractDeclarationError for a
    # valid declaration. Were it declared, a message with 'customerTier' (ignored by pydantic) would
    # pass presence and the handler would get 'BASIC'.
    syscontract.contract("byname.v1")(ByNameOnly)
    handler = Handler()
    guarded = requires("byname.v1", ["tier"])(handler)
    assert "ok" == verdict(guarded, {"orderId": "o-1", "tier": "GOLD"})
    assert ("MissingCriticalField", "absent", "tier") == verdict(guarded, {"orderId": "o-1", "customerTier": "GOLD"})
    assert ["GOLD"] == [event.tier for event in handler.received]


# -- Kafka Deserializer: the dead-letter payload ----------------------------------------------------------


class Ctx:
    def __init__(self, headers: Any = None, field: str = "value") -> None:
        self.headers = headers
        self.field = field


def test_door_the_deserializers_dead_letter_payload_is_not_the_bytes() -> None:
    # "the configured sink receives the original payload (bytes unchanged)": the Deserializer wraps
    # the value in an Envelope before @requires sees it, and the sink gets that Envelope.
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    letters: list[Any] = []
    deserialize = Deserializer("laundry.v2", ["customerTier"], on_violation="dead_letter", dead_letter=letters.append)
    value = confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"}))
    assert deserialize(value, Ctx([("trace", b"1")])) is None
    assert 1 == len(letters)
    assert value == letters[0].payload
    assert [("trace", b"1")] == letters[0].headers


# -- @produces relays a reader default as a value sent ---------------------------------------------------

RELAYED = record(
    "Order",
    [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}],  # required, no default
    "relayed",
)


def test_door_produces_relays_a_reader_default_into_a_required_field() -> None:
    # A relay consumes laundry.v2 with no critical fields and re-produces what it decoded under a
    # contract where customerTier is required (not in its 'critical' list: that case is covered).
    # _produces.Production.emit validates the Resolved payload as a plain dict, so the reader default
    # 'BASIC' leaves as sent, and the next hop's @requires(["customerTier"]) hands it to its handler:
    # the incident, one hop later.
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    relayed = Contract.from_avro("relayed.v1", RELAYED)
    decoded = syscontract.check("laundry.v2", confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"})))
    relay = syscontract.produces(relayed, format="json")(lambda: decoded)
    handler = Handler()
    downstream = requires(relayed, ["customerTier"])(handler)
    try:
        encoded = relay()
    except ContractViolation as refused:
        assert "customerTier" == refused.field
        return
    downstream(encoded.value)
    assert [] == [event for event in handler.received if event.get("customerTier") == "BASIC"], (
        "the reader default crossed a relay as a value sent"
    )


# -- holds: doors nobody had tested ------------------------------------------------------------------------

CARD_ITEM = record("CardItem", [{"name": "sku", "type": "string"}])
VOUCHER_ITEM_W = record("VoucherItem", [{"name": "code", "type": "string"}])
VOUCHER_ITEM_R = record(
    "VoucherItem", [{"name": "code", "type": "string"}, {"name": "sku", "type": "string", "default": "NONE"}]
)
ITEMS_W = record("Order", [{"name": "items", "type": {"type": "array", "items": [CARD_ITEM, VOUCHER_ITEM_W]}}])
ITEMS_R = record("Order", [{"name": "items", "type": {"type": "array", "items": [CARD_ITEM, VOUCHER_ITEM_R]}}])


@pytest.mark.parametrize("framing", FRAMINGS)
def test_holds_an_array_of_unions_of_records_judges_each_element_on_its_branch(framing: str) -> None:
    pair("items.v1", ITEMS_W, "items.v2", ITEMS_R)
    handler = Handler()
    guarded = requires("items.v2", ["items[].sku"])(handler)
    mixed = {"items": [("redteam.CardItem", {"sku": "S-1"}), ("redteam.VoucherItem", {"code": "V"})]}
    cards = {"items": [("redteam.CardItem", {"sku": "S-1"}), ("redteam.CardItem", {"sku": "S-2"})]}
    for _ in range(3):
        assert ("MissingCriticalField", "absent", "items[].sku") == verdict(
            guarded, framed(framing, "items.v1", ITEMS_W, mixed)
        )
        assert "ok" == verdict(guarded, framed(framing, "items.v1", ITEMS_W, cards))
    assert [["S-1", "S-2"]] * 3 == [[item["sku"] for item in event["items"]] for event in handler.received]


INNER_W = record("Inner", [{"name": "id", "type": "string"}])
INNER_R = record("Inner", [{"name": "id", "type": "string"}, {"name": "tier", "type": "string", "default": "BASIC"}])
INNER_2 = record("Inner2", [{"name": "tier", "type": "string"}])
DEEP_W = record(
    "Order", [{"name": "o", "type": ["null", record("Outer", [{"name": "x", "type": [INNER_2, INNER_W]}])]}]
)
DEEP_R = record(
    "Order", [{"name": "o", "type": ["null", record("Outer", [{"name": "x", "type": [INNER_2, INNER_R]}])]}]
)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_holds_a_union_inside_a_record_inside_a_union(framing: str) -> None:
    pair("deep.v1", DEEP_W, "deep.v2", DEEP_R)
    handler = Handler()
    guarded = requires("deep.v2", ["o.x.tier"])(handler)
    unsent = {"o": ("redteam.Outer", {"x": ("redteam.Inner", {"id": "i-1"})})}
    sent = {"o": ("redteam.Outer", {"x": ("redteam.Inner2", {"tier": "GOLD"})})}
    null = {"o": None}
    for _ in range(3):
        assert ("MissingCriticalField", "absent", "o.x.tier") == verdict(
            guarded, framed(framing, "deep.v1", DEEP_W, unsent)
        )
        assert ("MissingCriticalField", "null", "o.x.tier") == verdict(
            guarded, framed(framing, "deep.v1", DEEP_W, null)
        )
        assert "ok" == verdict(guarded, framed(framing, "deep.v1", DEEP_W, sent))
    assert ["GOLD"] * 3 == [event["o"]["x"]["tier"] for event in handler.received]


LOGICAL = record(
    "Order",
    [
        {"name": "orderId", "type": "string"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    ],
)


@pytest.mark.parametrize("validate", ["fields", "full"])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_holds_logical_types_on_the_critical_path_first_and_later_calls(framing: str, validate: str) -> None:
    import datetime
    import decimal

    contract = Contract.from_avro("logical.v1", LOGICAL)
    registry = MemoryRegistry()
    registry.add(contract, schema_id=WRITER_ID)
    syscontract.configure(registry=registry)
    guarded = requires("logical.v1", ["at", "amount", "day"], validate=validate)(Handler())
    datum = {
        "orderId": "o-1",
        "at": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        "amount": decimal.Decimal("1.50"),
        "day": datetime.date(2026, 1, 1),
    }
    assert ["ok"] * 3 == [verdict(guarded, framed(framing, "logical.v1", LOGICAL, datum)) for _ in range(3)]


def test_holds_a_recursive_record_is_registered_and_checked() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "namespace": "redteam",
        "fields": [{"name": "v", "type": "string"}, {"name": "next", "type": ["null", "Node"]}],
    }
    contract = Contract.from_avro("node.v1", node)
    registry = MemoryRegistry()
    registry.add(contract, schema_id=WRITER_ID)
    syscontract.configure(registry=registry)
    guarded = requires("node.v1", ["next.v"])(Handler())
    chain = {"v": "a", "next": {"v": "b", "next": None}}
    assert ["ok"] * 2 == [verdict(guarded, framed("confluent", "node.v1", node, chain)) for _ in range(2)]
    assert ("MissingCriticalField", "null", "next.v") == verdict(
        guarded, framed("confluent", "node.v1", node, {"v": "a", "next": None})
    )


class Card(BaseModel):
    kind: Literal["card"]
    last4: str


class Voucher(BaseModel):
    kind: Literal["voucher"]
    last4: str = "0000"


class Paid(BaseModel):
    payment: Annotated[Card | Voucher, Field(discriminator="kind")]


def test_holds_a_discriminated_union_of_models_in_every_form() -> None:
    syscontract.contract("paid.v1")(Paid)
    handler = Handler()
    guarded = requires("paid.v1", ["payment.last4"])(handler)
    unsent = {"payment": {"kind": "voucher"}}
    absent = ("MissingCriticalField", "absent", "payment.last4")
    for message in [
        unsent,
        json.dumps(unsent).encode(),
        Paid.model_validate(unsent),
        Paid(payment=Voucher(kind="voucher")),
    ]:
        assert [absent] * 2 == [verdict(guarded, message) for _ in range(2)], message
    assert "ok" == verdict(guarded, Paid(payment=Voucher(kind="voucher", last4="1234")))
    assert ["1234"] == [event.payment.last4 for event in handler.received]


class Tiered(BaseModel):
    orderId: str
    customerTier: str = "BASIC"


def test_holds_async_observe_hands_no_pydantic_default_for_any_form() -> None:
    syscontract.contract("tiered.v1")(Tiered)
    received: list[Any] = []

    @requires("tiered.v1", ["customerTier"], on_violation="observe")
    async def handle(event: Any) -> None:
        received.append(event)

    for message in [{"orderId": "o-1"}, b'{"orderId": "o-1"}', Tiered(orderId="o-1")]:
        asyncio.run(handle(message))
    assert all(not isinstance(event, BaseModel) and "customerTier" not in event for event in received), received


class Item(BaseModel):
    sku: str = "NONE"
    qty: int = 1


class Cart(BaseModel):
    items: list[Item]


def _appended(item: Any) -> Cart:
    cart = Cart(items=[Item(sku="A")])
    cart.items.append(item)
    return cart


@pytest.mark.parametrize(
    "build",
    [
        lambda: Cart(items=[Item(sku="A"), Item.model_construct(qty=2)]),
        lambda: Cart(items=[Item(sku="A")]).model_copy(update={"items": [{"qty": 2}]}),
        lambda: _appended(Item()),
        lambda: _appended({"qty": 3}),
        lambda: Cart.model_construct(items=(Item(sku="A"), Item())),
    ],
    ids=["model_construct-element", "model_copy-dict", "append-default", "append-dict", "tuple"],
)
def test_holds_a_list_of_models_with_one_unsent_element(build: Any) -> None:
    import warnings

    syscontract.contract("cart.v1")(Cart)
    guarded = requires("cart.v1", ["items[].sku"])(Handler())
    absent = ("MissingCriticalField", "absent", "items[].sku")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [absent] * 3 == [verdict(guarded, build()) for _ in range(3)]
        assert absent == verdict(lambda m: syscontract.check("cart.v1", m, ["items[].sku"]), build())


def test_door_one_contract_reusing_a_named_type_breaks_every_confluent_message_of_a_file_registry(
    tmp_path: Any,
) -> None:
    # FileRegistry._build_index fingerprints every .avsc of every contract; one contract that reuses a
    # named type (see above) makes by_id raise fastavro's SchemaParseException for all of them, so an
    # unrelated, valid order message escapes as a non-syscontract error on every delivery.
    order = record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}])
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v1.avsc").write_text(json.dumps(order))
    (tmp_path / "order" / "contract.toml").write_text("[ids]\nv1 = 11\n")
    (tmp_path / "shipping").mkdir()
    (tmp_path / "shipping" / "v1.avsc").write_text(json.dumps(TWICE))
    syscontract.configure(registry=syscontract.FileRegistry(tmp_path))
    handler = Handler()
    guarded = requires("order.v1", ["customerTier"])(handler)
    message = confluent(11, avro_body(order, {"orderId": "o-1", "customerTier": "GOLD"}))
    assert "ok" == verdict(guarded, message)
    assert ["GOLD"] == [event["customerTier"] for event in handler.received]


# -- check(): fields given as an iterator ----------------------------------------------------------------


@pytest.mark.parametrize("fields", ["generator", "map", "iter"])
def test_door_check_with_fields_as_an_iterator_checks_nothing_and_poisons_the_cache(fields: str) -> None:
    # _requires.check builds its cache key with tuple(fields), which exhausts an iterator, then hands
    # the exhausted iterator to _build_checker: a checker with no critical fields, cached under the
    # key of ('customerTier',). The reader default passes, and so does every later check() of the
    # same contract and fields, whatever form they are given in.
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    message = confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"}))
    given = {
        "generator": lambda: (name for name in ["customerTier"]),
        "map": lambda: map(str, ["customerTier"]),
        "iter": lambda: iter(["customerTier"]),
    }[fields]
    expected = ("MissingCriticalField", "not-in-writer-schema", "customerTier")
    assert expected == verdict(lambda m: syscontract.check("laundry.v2", m, given()), message)
    assert expected == verdict(lambda m: syscontract.check("laundry.v2", m, ["customerTier"]), message)
    assert ("MissingCriticalField", "absent", "customerTier") == verdict(
        lambda m: syscontract.check("laundry.v2", m, ("customerTier",)), {"orderId": "o-1"}
    )


# -- holds: policies keep the message ---------------------------------------------------------------------


def _failing_sink(letter: Any) -> None:
    raise OSError("the dead-letter topic is down")


async def _failing_async_sink(letter: Any) -> None:
    raise OSError("the dead-letter topic is down")


def test_holds_a_failing_dead_letter_sink_propagates_in_every_entry_point() -> None:
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    message = confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"}))
    handler = Handler()
    guarded = requires("laundry.v2", ["customerTier"], on_violation="dead_letter", dead_letter=_failing_sink)(handler)
    for form in [message, {"orderId": "o-1"}, b'{"orderId": "o-1"}', Envelope(message, [])]:
        with pytest.raises(OSError) as caught:
            guarded(form)
        assert isinstance(caught.value.__context__, MissingCriticalField)

    @requires("laundry.v2", ["customerTier"], on_violation="dead_letter", dead_letter=_failing_async_sink)
    async def handle(event: Any) -> None:
        handler(event)

    with pytest.raises(OSError):
        asyncio.run(handle(message))
    deserialize = Deserializer("laundry.v2", ["customerTier"], on_violation="dead_letter", dead_letter=_failing_sink)
    with pytest.raises(OSError):
        deserialize(message, Ctx())
    assert [] == handler.received


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_holds_under_raise_the_error_carries_the_original_object(kind: type) -> None:
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    message = kind(confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"})))
    with pytest.raises(MissingCriticalField) as caught:
        requires("laundry.v2", ["customerTier"])(Handler())(message)
    assert caught.value.payload is message


METHOD = record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}], "method")


def test_holds_methods_and_message_parameters_on_the_inline_avro_path() -> None:
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("method.v1", METHOD), schema_id=WRITER_ID)
    syscontract.configure(registry=registry)
    good = confluent(WRITER_ID, avro_body(METHOD, {"orderId": "o-1", "customerTier": "GOLD"}))

    class Service:
        @requires("method.v1", ["customerTier"])
        def on(self, event: Any, extra: int = 1) -> Any:
            return event["customerTier"], extra

        @classmethod
        @requires("method.v1", ["customerTier"])
        def on_class(cls, event: Any) -> Any:
            return event["customerTier"]

        @requires("method.v1", ["customerTier"], message="payload")
        def keyword(self, topic: str, *, payload: Any, n: int = 0) -> Any:
            return topic, payload["customerTier"], n

        @requires("method.v1", ["customerTier"], message="payload")
        def starred(self, *args: Any, payload: Any, **kwargs: Any) -> Any:
            return args, payload["customerTier"], kwargs

    service = Service()
    for _ in range(3):  # the first call fills the writer table, later calls decode inline
        assert ("GOLD", 5) == service.on(good, extra=5)
        assert "GOLD" == Service.on_class(good)
        assert ("t", "GOLD", 2) == service.keyword("t", payload=good, n=2)
        assert ((1, 2), "GOLD", {"z": 3}) == service.starred(1, 2, payload=good, z=3)


# -- pydantic: an instance of another model class ----------------------------------------------------------


class Line(BaseModel):
    orderId: str
    qty: int
    customerTier: str


class ProducersLine(BaseModel):  # the producer's own model of the same event: qty as text
    orderId: str
    qty: str
    customerTier: str


def test_door_an_instance_of_another_model_skips_validation_and_is_handed_on_as_is() -> None:
    # checker.Checker.run_detailed validates into the contract's model only when the payload is a
    # Mapping: another BaseModel is walked for presence and handed on unvalidated. The dict and JSON
    # forms of the same content are FieldTypeError (qty); the instance passes, and the handler gets
    # a ProducersLine, not a Line.
    syscontract.contract("line.v1")(Line)
    handler = Handler()
    guarded = requires("line.v1", ["customerTier"])(handler)
    content = {"orderId": "o-1", "qty": "many", "customerTier": "GOLD"}
    expected = ("FieldTypeError", "type", "qty")
    assert expected == verdict(guarded, content)
    assert expected == verdict(guarded, json.dumps(content).encode())
    assert [expected] * 2 == [verdict(guarded, ProducersLine(**content)) for _ in range(2)]
    assert all(type(event) is Line for event in handler.received), handler.received


# -- a writer key re-mapped while a plan is being built ----------------------------------------------------

RACE_OLD = record("Order", [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}], "race")
RACE_NEW = record("Order", [{"name": "orderId", "type": "string"}, {"name": "note", "type": "string"}], "race")
RACE_READER = record(
    "Order",
    [
        {"name": "orderId", "type": "string"},
        {"name": "customerTier", "type": "string", "default": "BASIC"},
        {"name": "note", "type": "string", "default": ""},
    ],
    "race",
)


class RemappedDuringLookup:
    """A registry whose schema id 7 is re-mapped (as by another thread) between the lookup that
    answered the old writer and the moment the decoder stores its plan."""

    def __init__(self) -> None:
        self.inner = MemoryRegistry([Contract.from_avro("race.v3", RACE_READER)])
        self.inner.add(Contract.from_avro("race.v1", RACE_OLD), schema_id=7)
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def by_id(self, schema_id: int) -> Contract:
        found = self.inner.by_id(schema_id)
        if self.armed:
            self.armed = False
            self.inner.add(Contract.from_avro("race.v2", RACE_NEW), schema_id=7)  # changed(): plans forgotten
        return found


def test_door_a_remap_during_the_writer_lookup_leaves_the_old_plan_for_good() -> None:
    # decoder.Decoder._plan looks the writer up outside its lock and stores the plan afterwards;
    # forget() ran in between, so the stale plan (and its inline fast-path entry) outlives the
    # re-map: every later message with id 7 is read with the old writer, 'note' as 'customerTier'.
    syscontract.configure(registry=RemappedDuringLookup())
    handler = Handler()
    guarded = requires("race.v3", ["customerTier"])(handler)
    assert "ok" == verdict(guarded, confluent(7, avro_body(RACE_OLD, {"orderId": "o-1", "customerTier": "GOLD"})))
    crafted = confluent(7, avro_body(RACE_NEW, {"orderId": "o-1", "note": "VIP"}))
    expected = ("MissingCriticalField", "not-in-writer-schema", "customerTier")
    assert [expected] * 3 == [verdict(guarded, crafted) for _ in range(3)]
    assert ["GOLD"] == [event["customerTier"] for event in handler.received]


# -- holds: promotions, reordered enums, reordered unions, a nullable leaf defaulted to null ---------------

PROMOTED_W = record(
    "Order",
    [
        {"name": "n", "type": "int"},
        {"name": "f", "type": "float"},
        {"name": "s", "type": "string"},
        {"name": "b", "type": "bytes"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}},
        {"name": "u", "type": ["null", "string"]},
    ],
)
PROMOTED_R = record(
    "Order",
    [
        {"name": "n", "type": "double"},
        {"name": "f", "type": "double"},
        {"name": "s", "type": "bytes"},
        {"name": "b", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["Z", "Y", "X"], "default": "Z"}},
        {"name": "u", "type": ["string", "null"]},
        {"name": "gone", "type": ["null", "string"], "default": None},
    ],
)
PROMOTED = {"n": 3, "f": 0.5, "s": "hi", "b": b"yo", "e": "X", "u": "v"}
PROMOTED_SEEN = {"n": 3.0, "f": 0.5, "s": b"hi", "b": "yo", "e": "X", "u": "v"}


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("field", [*PROMOTED_SEEN, "gone"])
def test_holds_promotions_and_reorderings_hand_the_written_value(framing: str, field: str) -> None:
    pair("promoted.v1", PROMOTED_W, "promoted.v2", PROMOTED_R)
    handler = Handler()
    guarded = requires("promoted.v2", [field])(handler)
    message = framed(framing, "promoted.v1", PROMOTED_W, PROMOTED)
    verdicts = [verdict(guarded, message) for _ in range(3)]
    if field == "gone":  # a nullable reader field defaulted to null, that the writer never had
        assert [("MissingCriticalField", "not-in-writer-schema", "gone")] * 3 == verdicts
        return
    assert ["ok"] * 3 == verdicts
    assert [PROMOTED_SEEN[field]] * 3 == [event[field] for event in handler.received]


# -- a Resolved payload nested in another message ----------------------------------------------------------

BATCH = {
    "type": "object",
    "properties": {
        "order": {"type": "object", "properties": {"customerTier": {"type": "string"}}},
        "orders": {
            "type": "array",
            "items": {"type": "object", "properties": {"customerTier": {"type": "string"}}},
        },
    },
}


@pytest.mark.parametrize("path", ["order.customerTier", "orders[].customerTier"])
def test_door_a_resolved_payload_nested_in_another_message_launders_the_default(path: str) -> None:
    # checker.Checker.diagnose asks source_of() of the top-level payload only; a Resolved order
    # collected into a batch (or wrapped in an envelope dict) is walked as a plain mapping, and its
    # reader default 'BASIC' passes as sent.
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    decoded = syscontract.check("laundry.v2", confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"})))
    handler = Handler()
    guarded = requires(Contract.from_jsonschema("batch.v1", BATCH), [path])(handler)
    message = {"order": decoded} if path.startswith("order.") else {"orders": [decoded]}
    for _ in range(2):
        found = verdict(guarded, message)
        assert isinstance(found, tuple), f"accepted: {handler.received}"
        assert ("MissingCriticalField", path) == (found[0], found[2])
    assert [] == handler.received


@pytest.mark.parametrize("calls", [1, 3])
def test_holds_a_resolved_payload_read_on_the_inline_path_holds_no_default(calls: int) -> None:
    # laundry.v1 -> laundry.v2 resolves (a reader default may fill a field), yet needs one decode: the
    # inline Confluent path hands on what the writer wrote, so a stricter check downstream refuses
    pair("laundry.v1", LAUNDRY_W, "laundry.v2", LAUNDRY_R)
    received: list[Any] = []
    outer = requires("laundry.v2", [])(received.append)
    message = confluent(WRITER_ID, avro_body(LAUNDRY_W, {"orderId": "o-1"}))
    for _ in range(calls):  # the first call plans the writer; later ones take the inline path
        outer(message)
    assert calls == len(received)
    assert [{"orderId": "o-1"}] * calls == received
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("laundry.v2", received[-1], ["customerTier"])
    assert ("customerTier", "absent") == (caught.value.field, caught.value.reason)
