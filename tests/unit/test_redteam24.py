"""Red team against protobuf, the third format (issue 24).

The promises attacked: no default (a zero value, an enum's first value, an empty message, a value
the writer did not send last) reaches a handler for a critical field; one verdict whatever the
input form (Confluent bytes, a bare body named by a header, a message instance, a dict in the JSON
mapping, a CloudEvent); bad input is a clear syscontract error, never a foreign exception; the
gates (compat, drift) never say yes blind.

Each door is a test named for the behaviour that must hold (a strict xfail naming the cause until
it was closed); ``test_holds_*`` are attacks that held (a representative set). Every schema is
compiled here from its text, into a pool of its own, under a package of its own.

Doors found and closed: a closed enum's unknown number sent after a known one (the earlier value
was handed on), in a list or a map (the rest was handed on without it); an open enum's unknown
number as a map value; a dict (or JSON bytes) holding a zero under ``zero-is-unsent``, or an empty
list or map (both passed where the message is refused); a message of another class too deep to
re-read (google.protobuf's DecodeError escaped); compare and drift looking a protobuf field up by
name (the same name under another number passed; a renamed field was "removed"); a numeric
field's cardinality change (compat and the runtime disagreed both ways); a writer without presence
for a consumer's field (compare said compatible); a CloudEvent with a bare protobuf body (refused);
the no-presence fix for an editions file (it suggested ``optional``, which editions refuse).
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import pytest

pytest.importorskip("google.protobuf")
pytest.importorskip("grpc_tools")

import syscontract
from syscontract import (
    Contract,
    ContractError,
    MemoryRegistry,
    check,
    encode,
    requires,
)
from syscontract.compat import compare
from syscontract.compat.consumers import Consumer
from syscontract.wire import protobuf as protobuf_wire


@functools.cache
def _compiled(text: str) -> bytes:
    from syscontract.formats.protobuf import compile_sources

    return compile_sources({}, text)


def contract(ref: str, text: str, message: str | None = None, **options: Any) -> Contract:
    """A protobuf contract from ``.proto`` text (compiled once per text)."""
    return Contract.from_protobuf(ref, _compiled(text), message=message, **options)


def registry(*contracts: tuple[Contract, int]) -> MemoryRegistry:
    """A registry of ``contracts`` by schema id (and a GUID made from the id), configured as the default."""
    found = MemoryRegistry()
    for added, schema_id in contracts:
        found.add(added, schema_id=schema_id, guid=uuid.UUID(int=schema_id))
    syscontract.configure(registry=found)
    return found


def framed(written: Contract, schema_id: int, body: bytes) -> bytes:
    """``body`` in Confluent's framing: magic byte, id, the message-index array of ``written``'s message."""
    indexes = protobuf_wire.encode_indexes(written.native.indexes)
    return b"\x00" + schema_id.to_bytes(4, "big") + indexes + body


def outcome(run: Any) -> Any:
    """What a caller sees: ``("ok", value)`` or the syscontract error's class, field and reason (a
    foreign exception propagates: that is a failure of its own)."""
    try:
        value = run()
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason)
    return ("ok", value)


def every_entry_point(ref: str, fields: list[str], message: Any) -> dict[str, Any]:
    """The outcome of ``check()``, a ``@requires`` handler (called twice: the first call plans the
    writer, the second may take the inline path) and a broker guard, for one message."""
    from syscontract.integrations._messaging import GuardCheck

    handler = requires(ref, fields)(lambda event: event)
    guard = GuardCheck(ref, fields)

    def plain(run: Any) -> Any:
        found = outcome(run)
        if found[0] == "ok" and hasattr(found[1], "SerializeToString"):
            return ("ok", found[1].SerializeToString(deterministic=True))
        if found[0] == "ok":
            return ("ok", json.dumps(found[1], sort_keys=True))
        return found

    seen = {
        "check": plain(lambda: check(ref, message, fields)),
        "requires (probe)": plain(lambda: handler(message)),
        "requires": plain(lambda: handler(message)),
    }
    if isinstance(message, bytes):  # a broker guard reads bytes
        seen["guard"] = plain(lambda: guard.run(message, None))
    return seen


# -- closed enums: what the writer sent last is what counts ----------------------------------------

CLOSED = """syntax = "proto2";
package rt24.closed;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order {
  optional Tier tier = 1;
  repeated Tier tiers = 2;
  map<string, Tier> by_region = 3;
}
"""


def test_a_closed_enum_sent_last_as_an_unknown_number_is_not_read_as_the_earlier_value() -> None:
    order = contract("rt24closed1.v1", CLOSED)
    registry((order, 2401))
    body = bytes([0x08, 2, 0x08, 99])  # tier = VIP, then tier = 99: protobuf's rule is that the last one counts
    seen = every_entry_point("rt24closed1.v1", ["tier"], framed(order, 2401, body))
    assert {("MissingCriticalField", "tier", "unknown-enum-value")} == set(seen.values())


def test_a_repeated_closed_enum_with_an_unknown_number_is_not_handed_on_without_it() -> None:
    order = contract("rt24closed2.v1", CLOSED)
    registry((order, 2402))
    body = bytes([0x10, 1, 0x10, 99])  # tiers = [GOLD, 99]
    seen = every_entry_point("rt24closed2.v1", ["tiers"], framed(order, 2402, body))
    assert {("MissingCriticalField", "tiers", "unknown-enum-value")} == set(seen.values())
    only_unknown = every_entry_point("rt24closed2.v1", ["tiers"], framed(order, 2402, bytes([0x10, 99])))
    assert {("MissingCriticalField", "tiers", "unknown-enum-value")} == set(only_unknown.values())


def test_a_map_of_closed_enums_with_an_unknown_value_is_not_handed_on_without_that_entry() -> None:
    order = contract("rt24closed3.v1", CLOSED)
    registry((order, 2403))
    known = bytes([0x1A, 0x05, 0x0A, 0x01, 0x61, 0x10, 0x01])  # by_region["a"] = GOLD
    unknown = bytes([0x1A, 0x05, 0x0A, 0x01, 0x62, 0x10, 0x63])  # by_region["b"] = 99
    seen = every_entry_point("rt24closed3.v1", ["byRegion"], framed(order, 2403, known + unknown))
    assert {("MissingCriticalField", "byRegion", "unknown-enum-value")} == set(seen.values())


# -- open enums in maps ------------------------------------------------------------------------------

OPEN_MAP = """syntax = "proto3";
package rt24.openmap;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order {
  map<string, Tier> by_region = 1;
  repeated Tier tiers = 2;
}
"""


def test_an_open_enum_map_value_the_reader_does_not_know_is_refused_like_a_list_element() -> None:
    order = contract("rt24open1.v1", OPEN_MAP)
    registry((order, 2411))
    message = order.native.message_class()
    message.by_region["eu"] = 77
    message.tiers.append(77)
    as_map = every_entry_point("rt24open1.v1", ["byRegion"], framed(order, 2411, message.SerializeToString()))
    as_list = every_entry_point("rt24open1.v1", ["tiers"], framed(order, 2411, message.SerializeToString()))
    assert {("FieldTypeError", "tiers", "unknown-enum-value")} == set(as_list.values())
    assert {("FieldTypeError", "byRegion", "unknown-enum-value")} == set(as_map.values())


# -- zero-is-unsent: one verdict for every form --------------------------------------------------------

ZERO = """syntax = "proto3";
package rt24.zero;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Line { int32 quantity = 1; }
message Order {
  Tier plain_tier = 1;
  string name = 2;
  int64 total = 3;
  repeated Line lines = 4;
}
"""


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("plainTier", "BASIC"),
        ("name", ""),
        ("total", "0"),
        ("total", 0),
        ("lines[].quantity", [{"quantity": 0}]),
        ("lines[].quantity", [{"quantity": 2}, {"quantity": 0}]),
    ],
)
def test_zero_is_unsent_gives_a_dict_the_verdict_of_its_message(field: str, sent: Any) -> None:
    order = contract("rt24zero1.v1", ZERO, "Order", presence="zero-is-unsent")
    registry((order, 2421))
    key = field.split("[")[0]
    as_dict = {key: sent}
    message = order.native.message_class()
    from google.protobuf import json_format

    json_format.ParseDict(as_dict, message)
    expected = ("MissingCriticalField", field, "zero")
    assert expected == outcome(lambda: check("rt24zero1.v1", message, [field]))
    assert expected == outcome(
        lambda: check("rt24zero1.v1", encode("rt24zero1.v1", message, format="confluent").value, [field])
    )
    for form in (as_dict, json.dumps(as_dict).encode()):
        assert {expected} == set(every_entry_point("rt24zero1.v1", [field], form).values()), form


EMPTY = """syntax = "proto3";
package rt24.empty;
message Item { optional string sku = 1; }
message Order {
  repeated Item items = 1;
  map<string, string> labels = 2;
  repeated string tags = 3;
}
"""


@pytest.mark.parametrize(
    ("field", "sent"),
    [("items", {"items": []}), ("labels", {"labels": {}}), ("tags", {"tags": []}), ("items[].sku", {"items": []})],
)
def test_an_empty_list_or_map_in_a_dict_is_not_sent_as_in_its_message(field: str, sent: dict[str, Any]) -> None:
    order = contract("rt24empty.v1", EMPTY, "Order")
    registry((order, 2425))
    expected = ("MissingCriticalField", field, "absent")
    assert expected == outcome(
        lambda: check("rt24empty.v1", encode("rt24empty.v1", sent, format="confluent").value, [field])
    )
    for form in (sent, json.dumps(sent).encode()):
        assert {expected} == set(every_entry_point("rt24empty.v1", [field], form).values()), form


# -- a message of another class: bad input is a syscontract error -------------------------------------

NESTED = """syntax = "proto3";
package rt24.nested.PKG;
message Node {
  optional string id = 1;
  Node child = 2;
}
"""


def _deep(message_class: type[Any], depth: int) -> Any:
    root = message_class(id="root")
    current = root
    for _ in range(depth):
        current = current.child
        current.id = "x"
    return root


def test_a_message_of_another_class_too_deep_to_parse_is_a_decode_error() -> None:
    reader = contract("rt24deep.v2", NESTED.replace("PKG", "v2"))
    writer = contract("rt24deep.v1", NESTED.replace("PKG", "v1"))
    registry((reader, 2432), (writer, 2431))
    message = _deep(writer.native.message_class, 200)
    seen = every_entry_point("rt24deep.v2", ["id"], message)
    assert {("DecodeError", None, "bad-protobuf")} == set(seen.values())

    @syscontract.produces("rt24deep.v2")
    def emit() -> Any:
        return message

    with pytest.raises(ContractError):
        emit()


# -- the gates read field numbers, as the wire does ----------------------------------------------------

MOVED_V2 = """syntax = "proto3";
package rt24.moved.v2;
message Order {
  optional string order_id = 1;
  reserved 7;
  optional string customer_tier = 9;
}
"""
MOVED_V3 = """syntax = "proto3";
package rt24.moved.v3;
message Order {
  optional string order_id = 1;
  optional string customer_tier = 7;
  reserved 9;
}
"""


@pytest.mark.parametrize("mode", ["BACKWARD", "FULL", "NONE"])
def test_compare_reads_a_consumers_field_by_number_when_the_same_name_moved(mode: str) -> None:
    v2, v3 = contract("rt24moved.v2", MOVED_V2), contract("rt24moved.v3", MOVED_V3)
    registry((v2, 2442), (v3, 2443))
    stale = encode("rt24moved.v2", {"orderId": "o-1", "customerTier": "VIP"}, format="confluent").value
    assert ("MissingCriticalField", "customerTier", "not-in-writer-schema") == outcome(
        lambda: check("rt24moved.v3", stale, ["customerTier"])
    )
    found = compare(v3, v2, mode, consumers=[Consumer("pricing", ["customerTier"])])
    assert not found.compatible
    assert "CONSUMER_FIELD_NOT_IN_WRITER" in [p.kind for p in found.problems] or mode == "NONE"


def test_drift_reads_a_consumers_field_by_number_when_the_same_name_moved() -> None:
    from syscontract.manifest import Entry, Manifest
    from syscontract.system import drift

    v2, v3 = contract("rt24moved.v2", MOVED_V2), contract("rt24moved.v3", MOVED_V3)
    checkout = Manifest("checkout", "prod", (Entry("producer", v2.ref, "checkout.emit", ()),), {v2.ref: v2})
    pricing = Manifest(
        "pricing", "prod", (Entry("consumer", v3.ref, "pricing.on_order", ("customerTier",)),), {v3.ref: v3}
    )
    kinds = [(f.kind, f.field, f.produced) for f in drift([checkout, pricing]).errors]
    assert ("field-not-sent", "customerTier", "rt24moved.v2") in kinds


RENAMED_V4 = """syntax = "proto3";
package rt24.moved.v4;
message Order {
  optional string order_id = 1;
  optional string tier = 7;
  reserved 9;
}
"""


def test_a_field_renamed_with_its_number_kept_is_the_same_field_for_compare_and_drift() -> None:
    from syscontract.manifest import Entry, Manifest
    from syscontract.system import drift

    v3, v4 = contract("rt24renamed.v3", MOVED_V3), contract("rt24renamed.v4", RENAMED_V4)
    registry((v3, 2463), (v4, 2464))
    written = encode("rt24renamed.v3", {"customerTier": "VIP"}, format="confluent").value
    assert "VIP" == check("rt24renamed.v4", written, ["tier"]).tier  # number 7 either way
    assert compare(v4, v3, "FULL", consumers=[Consumer("pricing", ["customerTier"])]).compatible
    assert compare(v4, v3, "FULL", consumers=[Consumer("pricing", ["tier"])]).compatible
    checkout = Manifest("checkout", "prod", (Entry("producer", v3.ref, "checkout.emit", ()),), {v3.ref: v3})
    pricing = Manifest("pricing", "prod", (Entry("consumer", v4.ref, "pricing.on_order", ("tier",)),), {v4.ref: v4})
    assert [] == drift([checkout, pricing]).errors


LIST_V1 = """syntax = "proto3";
package rt24.cardinality.v1;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { optional Tier tiers = 1; repeated int32 counts = 2; }
"""
LIST_V2 = """syntax = "proto3";
package rt24.cardinality.v2;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { repeated Tier tiers = 1; optional int32 counts = 2; }
"""


def test_a_numeric_fields_cardinality_change_gets_one_verdict_from_compat_and_the_runtime() -> None:
    v1, v2 = contract("rt24list.v1", LIST_V1), contract("rt24list.v2", LIST_V2)
    registry((v1, 2471), (v2, 2472))
    written = v1.native.message_class(tiers=2, counts=[5, 6]).SerializeToString()
    read = check("rt24list.v2", framed(v1, 2471, written), ["tiers"])  # singular read as a list: sent
    assert [2] == list(read.tiers)
    assert ("FieldTypeError", "counts", "type") == outcome(
        lambda: check("rt24list.v2", framed(v1, 2471, written), ["counts"])
    )
    kinds = [(p.kind, p.field) for p in compare(v2, v1, "BACKWARD").problems]
    assert [("FIELD_WIRE_COMPATIBLE_CARDINALITY", "counts")] == kinds


PRESENCE_V1 = """syntax = "proto3";
package rt24.presence.v1;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { Tier tier = 7; }
"""
PRESENCE_V2 = """syntax = "proto3";
package rt24.presence.v2;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { optional Tier tier = 7; }
"""


def test_compare_flags_a_writer_without_presence_for_a_field_a_consumer_requires() -> None:
    from syscontract.manifest import Entry, Manifest
    from syscontract.system import drift

    v1, v2 = contract("rt24presence.v1", PRESENCE_V1), contract("rt24presence.v2", PRESENCE_V2)
    registry((v1, 2491), (v2, 2492))
    basic = framed(v1, 2491, v1.native.message_class(tier=0).SerializeToString())
    assert ("MissingCriticalField", "tier", "absent") == outcome(lambda: check("rt24presence.v2", basic, ["tier"]))
    checkout = Manifest("checkout", "prod", (Entry("producer", v1.ref, "checkout.emit", ()),), {v1.ref: v1})
    pricing = Manifest("pricing", "prod", (Entry("consumer", v2.ref, "pricing.on_order", ("tier",)),), {v2.ref: v2})
    assert ["field-defaulted"] == [f.kind for f in drift([checkout, pricing]).errors]
    found = compare(v2, v1, "BACKWARD", consumers=[Consumer("pricing", ["tier"])])
    assert ["CONSUMER_FIELD_DEFAULTED"] == [p.kind for p in found.problems]


# -- CloudEvents carry protobuf too --------------------------------------------------------------------

EVENT_V2 = """syntax = "proto3";
package rt24.event.v2;
message Order { optional string order_id = 1; }
"""
EVENT_V3 = """syntax = "proto3";
package rt24.event.v3;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { optional string order_id = 1; optional Tier customer_tier = 7; }
"""


def _event(body: bytes, dataschema: str) -> tuple[bytes, dict[str, str]]:
    headers = {"ce_specversion": "1.0", "ce_id": "1", "ce_source": "checkout", "ce_type": "order.created",
               "ce_dataschema": dataschema, "content-type": "application/protobuf"}  # fmt: skip
    return body, headers


def test_a_cloudevent_with_a_protobuf_body_is_read_with_the_writer_its_dataschema_names() -> None:
    from syscontract.integrations.cloudevents import CloudEventCheck

    v2, v3 = contract("rt24event.v2", EVENT_V2), contract("rt24event.v3", EVENT_V3)
    found = registry((v2, 2452), (v3, 2453))
    guard = CloudEventCheck("rt24event.v3", ["customerTier"], registry=found)
    stale = v2.native.message_class(order_id="o-1").SerializeToString()
    fresh = v3.native.message_class(order_id="o-2", customer_tier=2).SerializeToString()
    assert ("MissingCriticalField", "customerTier", "not-in-writer-schema") == outcome(
        lambda: guard(*_event(stale, "urn:syscontract:rt24event.v2"))
    )
    read = guard(*_event(fresh, "urn:syscontract:rt24event.v3"))
    assert (type(read), 2) == (v3.native.message_class, read.customer_tier)
    # Confluent-framed protobuf data keeps its framing's writer, whatever the dataschema says
    framed_stale = framed(v2, 2452, stale)
    assert ("MissingCriticalField", "customerTier", "not-in-writer-schema") == outcome(
        lambda: guard(*_event(framed_stale, "urn:syscontract:rt24event.v3"))
    )


# -- attacks that held ----------------------------------------------------------------------------------


def test_holds_bad_message_index_arrays_are_decode_errors() -> None:
    order = contract("rt24frame.v1", EVENT_V3)
    registry((order, 2461))
    body = order.native.message_class(customer_tier=2).SerializeToString()
    prefix = b"\x00" + (2461).to_bytes(4, "big")
    for indexes, reason in [
        (b"\x02\x0a", "bad-framing"),  # [5]: no such message
        (b"\x01", "bad-framing"),  # a negative count
        (b"\x02\x01", "bad-framing"),  # a negative index
        (b"\xff\xff\xff\xff\x0f", "bad-framing"),  # a count of 2**31 (zigzag)
        (b"\xff" * 11, "bad-framing"),  # a varint longer than 64 bits
        (b"\x04\x00", "truncated"),  # two indexes claimed, one given, then nothing
    ]:
        message = prefix + indexes + (body if reason != "truncated" else b"")
        seen = every_entry_point("rt24frame.v1", ["customerTier"], message)
        assert {("DecodeError", None, reason)} == set(seen.values()), indexes


def test_holds_a_garbage_or_cut_body_is_a_decode_error_never_a_message() -> None:
    order = contract("rt24garbage.v1", EVENT_V3)
    registry((order, 2462))
    for body in (b"\xff\xff\xff", bytes([0x0A, 5, 0x41]), b"\x00\x00", b"\x0c", b"\x0a\xff\xff\xff\xff\x0f"):
        seen = every_entry_point("rt24garbage.v1", ["customerTier"], framed(order, 2462, body))
        assert {("DecodeError", None, "bad-protobuf")} == set(seen.values()), body


def test_holds_a_body_nested_past_the_parse_limit_is_a_decode_error() -> None:
    reader = contract("rt24deepbytes.v1", NESTED.replace("PKG", "bytes"))
    registry((reader, 2463))
    body = _deep(reader.native.message_class, 500).SerializeToString()
    seen = every_entry_point("rt24deepbytes.v1", ["id"], framed(reader, 2463, body))
    assert {("DecodeError", None, "bad-protobuf")} == set(seen.values())


def test_holds_a_writer_whose_number_has_another_wire_type_fails_every_message() -> None:
    reader = contract("rt24wire.v2", EVENT_V3)
    writer = contract(
        "rt24wire.v1",
        'syntax = "proto3"; package rt24.wire.v1; message Order { optional string order_id = 1; '
        "optional string customer_tier = 7; }",
    )
    registry((reader, 2472), (writer, 2471))
    body = writer.native.message_class(customer_tier="VIP").SerializeToString()
    seen = every_entry_point("rt24wire.v2", ["customerTier"], framed(writer, 2471, body))
    assert {("FieldTypeError", "customerTier", "type")} == set(seen.values())


def test_holds_editions_presence_and_closed_enums_are_read_from_features() -> None:
    text = """edition = "2023";
package rt24.editions;
enum Tier { option features.enum_type = CLOSED; BASIC = 0; GOLD = 1; VIP = 2; }
message Order {
  Tier tier = 1;
  int32 plain = 2 [features.field_presence = IMPLICIT];
}
"""
    order = contract("rt24editions.v1", text)
    registry((order, 2481))
    with pytest.raises(syscontract.ContractDeclarationError) as refused:
        requires("rt24editions.v1", ["plain"])(lambda event: event)
    assert "no-presence" == refused.value.reason
    for body, expected in [
        (b"", ("MissingCriticalField", "tier", "absent")),
        (bytes([0x08, 99]), ("MissingCriticalField", "tier", "unknown-enum-value")),
    ]:
        seen = every_entry_point("rt24editions.v1", ["tier"], framed(order, 2481, body))
        assert {expected} == set(seen.values()), body


def test_the_no_presence_fix_for_an_editions_file_is_the_editions_feature() -> None:
    text = """edition = "2023";
package rt24.editionsfix;
message Order { int32 plain = 2 [features.field_presence = IMPLICIT]; }
"""
    order = contract("rt24editionsfix.v1", text)
    registry((order, 2482))
    with pytest.raises(syscontract.ContractDeclarationError) as refused:
        requires("rt24editionsfix.v1", ["plain"])(lambda event: event)
    assert "int32 plain = 2 [features.field_presence = EXPLICIT];" in str(refused.value)
    assert "optional int32" not in str(refused.value)


def test_holds_a_oneof_member_not_written_names_the_one_that_was() -> None:
    text = """syntax = "proto3";
package rt24.oneof;
message Voucher { optional string code = 1; }
message Order { oneof payment { string card = 1; Voucher voucher = 2; } }
"""
    order = contract("rt24oneof.v1", text, "Order")
    registry((order, 2491))
    body = order.native.message_class(card="4111").SerializeToString()
    seen = every_entry_point("rt24oneof.v1", ["voucher.code"], framed(order, 2491, body))
    assert {("MissingCriticalField", "voucher.code", "absent")} == set(seen.values())
    empty = order.native.message_class()
    empty.voucher.SetInParent()  # an empty voucher was sent: the member is present, its code is not
    seen = every_entry_point("rt24oneof.v1", ["voucher.code"], framed(order, 2491, empty.SerializeToString()))
    assert {("MissingCriticalField", "voucher.code", "absent")} == set(seen.values())


def test_holds_a_map_value_path_is_refused_at_declaration() -> None:
    order = contract("rt24mappath.v1", OPEN_MAP)
    registry((order, 2492))
    for path in ("byRegion.value", "byRegion[]"):
        with pytest.raises(syscontract.ContractDeclarationError):
            requires("rt24mappath.v1", [path])(lambda event: event)


def test_holds_a_proto2_default_is_never_handed_on_for_a_field_not_sent() -> None:
    text = """syntax = "proto2";
package rt24.proto2;
enum Tier { BASIC = 0; GOLD = 1; VIP = 2; }
message Order { optional Tier tier = 1 [default = VIP]; optional string id = 2 [default = "none"]; }
"""
    order = contract("rt24proto2.v1", text)
    registry((order, 2493))
    body = order.native.message_class(id="o-1").SerializeToString()
    seen = every_entry_point("rt24proto2.v1", ["tier"], framed(order, 2493, body))
    assert {("MissingCriticalField", "tier", "absent")} == set(seen.values())
    named = outcome(lambda: check("rt24proto2.v1", body, ["tier"], headers={"syscontract-contract": b"rt24proto2.v1"}))
    assert ("MissingCriticalField", "tier", "absent") == named


def test_holds_header_named_and_guid_framings_give_the_verdict_of_id_framing() -> None:
    order = contract("rt24forms.v1", EVENT_V3)
    registry((order, 2494))
    body = order.native.message_class(order_id="o").SerializeToString()
    by_id = outcome(lambda: check("rt24forms.v1", framed(order, 2494, body), ["customerTier"]))
    header = outcome(
        lambda: check(
            "rt24forms.v1", body, ["customerTier"], headers={"__value_schema_id": b"\x00\x00\x00\x09\xbe\x00"}
        )
    )
    named = outcome(
        lambda: check("rt24forms.v1", body, ["customerTier"], headers={"syscontract-contract": b"rt24forms.v1"})
    )
    guid = b"\x01" + uuid.UUID(int=2494).bytes + protobuf_wire.encode_indexes(order.native.indexes) + body
    by_guid = outcome(lambda: check("rt24forms.v1", guid, ["customerTier"]))
    instance = outcome(lambda: check("rt24forms.v1", order.native.message_class.FromString(body), ["customerTier"]))
    assert ("MissingCriticalField", "customerTier", "absent") == by_id == header == named == by_guid == instance
