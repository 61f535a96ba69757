"""Protobuf contracts (formats/protobuf.py), presence on the wire (_engine/protobuf.py) and the framing
(wire/protobuf.py): one behaviour per test. The schemas are tests/data/protobuf/acme/..., compiled at
test time (tests/protos.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import protos
import pytest

pytest.importorskip("google.protobuf")

import syscontract
from syscontract import (
    Contract,
    ContractDeclarationError,
    DecodeError,
    FieldTypeError,
    FileRegistry,
    MemoryRegistry,
    MissingCriticalField,
    RegistryError,
    check,
    encode,
    requires,
)
from syscontract.wire import protobuf as protobuf_wire

V2 = protos.module("acme/order/v2")
V3 = protos.module("acme/order/v3")
V4 = protos.module("acme/order/v4")
L1 = protos.module("acme/legacy/v1")
L2 = protos.module("acme/legacy/v2")


@pytest.fixture
def memory() -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add(Contract.from_protobuf("order.v2", V2.Order), schema_id=2)
    registry.add(Contract.from_protobuf("order.v3", V3.Order), schema_id=3)
    registry.add(Contract.from_protobuf("order.v4", V4.Order), schema_id=4)
    registry.add(Contract.from_protobuf("shipment.v1", L1.Shipment), schema_id=11)
    registry.add(Contract.from_protobuf("shipment.v2", L2.Shipment), schema_id=12)
    syscontract.configure(registry=registry)
    return registry


def framed(ref: str, message: Any) -> bytes:
    return encode(ref, message, format="confluent").value


# -- contracts ---------------------------------------------------------------------------------------


def test_a_generated_class_and_its_descriptor_set_are_the_same_contract() -> None:
    from_class = Contract.from_protobuf("order.v3", V3.Order)
    from_set = Contract.from_protobuf("order.v3", protos.descriptor_set("acme/order/v3"), message="Order")
    assert from_class.fingerprint == from_set.fingerprint
    assert "protobuf" == from_set.format
    assert list(from_class.fields) == list(from_set.fields)


def test_the_field_view_uses_json_names_and_shows_what_a_reader_would_fill() -> None:
    fields = Contract.from_protobuf("order.v3", V3.Order).fields
    tier = fields["customerTier"]
    assert (True, "BASIC") == (tier.has_default, tier.default)
    assert "Tier (one of ['BASIC', 'GOLD', 'VIP'])" == tier.type
    assert "integer | string" == fields["total.units"].type  # 64-bit: a string in protobuf's JSON mapping
    assert "map<string>" == fields["labels"].type
    assert {"items[].sku", "customer.id", "card", "voucher"} <= set(fields)


def test_a_file_with_several_messages_must_name_the_contracts_message() -> None:
    data = protos.descriptor_set("acme/order/several")
    with pytest.raises(ContractDeclarationError, match=r"2 top-level messages \(Created, Cancelled\)"):
        Contract.from_protobuf("order.v9", data)
    assert ["orderId", "reason"] == list(Contract.from_protobuf("order.v9", data, message="Cancelled").fields)
    assert (1,) == Contract.from_protobuf("order.v9", data, message="acme.several.Cancelled").native.indexes


def test_a_message_the_set_lacks_is_named_with_those_it_has() -> None:
    with pytest.raises(ContractDeclarationError, match=r"no message .Refund.*acme\.several\.Created"):
        Contract.from_protobuf("order.v9", protos.descriptor_set("acme/order/several"), message="Refund")


def test_bytes_that_are_not_a_descriptor_set_are_a_declaration_error() -> None:
    with pytest.raises(ContractDeclarationError) as raised:
        Contract.from_protobuf("order.v9", b"\xff\xff\xff")
    assert "bad-schema" == raised.value.reason


def test_a_descriptor_set_without_its_imports_says_how_to_build_it() -> None:
    from google.protobuf import descriptor_pb2

    found = descriptor_pb2.FileDescriptorSet.FromString(protos.descriptor_set("acme/order/v3"))
    del found.file[0]  # common.proto
    with pytest.raises(ContractDeclarationError, match="--include_imports"):
        Contract.from_protobuf("order.v3", found.SerializeToString(), message="Order")


def test_an_unknown_presence_policy_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="zero-is-unsent"):
        Contract.from_protobuf("order.v3", V3.Order, presence="lenient")


# -- the file registry ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    (root / "order").mkdir(parents=True)
    (root / "order" / "v3.binpb").write_bytes(protos.descriptor_set("acme/order/v3"))
    (root / "order" / "contract.toml").write_text('message = "Order"\ncritical = ["customerTier"]\n')
    return root


def test_a_binpb_file_is_a_contract_named_by_contract_toml(files: Path) -> None:
    contract = FileRegistry(files).get("order.v3")
    assert ("protobuf", ("customerTier",)) == (contract.format, contract.critical)
    assert "acme.order.v3.Order" == contract.native.full_name


def test_a_proto_file_is_compiled_with_its_imports_inside_the_root(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    root = tmp_path / "contracts"
    shutil.copytree(protos.ROOT / "acme", root / "acme")
    (root / "order").mkdir()
    (root / "order" / "v3.proto").write_text((protos.ROOT / "acme/order/v3.proto").read_text())
    (root / "order" / "contract.toml").write_text('message = "Order"\n')
    contract = FileRegistry(root).get("order.v3")
    assert "Tier (one of ['BASIC', 'GOLD', 'VIP'])" == contract.field("customerTier").type
    assert "integer | string" == contract.field("total.units").type  # from the imported common.proto


def test_a_proto_import_outside_the_root_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    root = tmp_path / "contracts"
    (root / "order").mkdir(parents=True)
    (tmp_path / "secret.proto").write_text('syntax = "proto3";\nmessage Secret { optional string s = 1; }\n')
    (root / "order" / "v1.proto").write_text(
        'syntax = "proto3";\nimport "../secret.proto";\nmessage Order { optional Secret s = 1; }\n'
    )
    with pytest.raises(RegistryError) as raised:
        FileRegistry(root).get("order.v1")
    assert raised.value.reason in ("bad-schema", "outside-registry")
    assert "secret" in str(raised.value)


def test_contract_toml_presence_must_be_a_known_policy(files: Path) -> None:
    (files / "order" / "contract.toml").write_text('message = "Order"\npresence = "maybe"\n')
    with pytest.raises(RegistryError, match="zero-is-unsent"):
        FileRegistry(files).get("order.v3")


# -- presence ------------------------------------------------------------------------------------------


def test_a_writer_without_the_number_is_not_in_writer_schema_for_every_message(memory: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("order.v3", framed("order.v2", V2.Order(order_id="o")), ["customerTier"])
    assert ("not-in-writer-schema", "order.v2") == (raised.value.reason, raised.value.writer)


def test_an_optional_field_set_to_its_zero_value_was_sent(memory: MemoryRegistry) -> None:
    received = check("order.v3", framed("order.v3", V3.Order(customer_tier=V3.BASIC)), ["customerTier"])
    assert (True, V3.BASIC) == (received.HasField("customer_tier"), received.customer_tier)


def test_a_field_without_presence_is_counted_by_value_under_zero_is_unsent() -> None:
    registry = MemoryRegistry([Contract.from_protobuf("order.v3", V3.Order, presence="zero-is-unsent")])
    with pytest.raises(MissingCriticalField) as raised:
        check("order.v3", V3.Order(plain_tier=V3.BASIC), ["plainTier"], registry=registry)
    assert "zero" == raised.value.reason
    assert V3.GOLD == check("order.v3", V3.Order(plain_tier=V3.GOLD), ["plainTier"], registry=registry).plain_tier


def test_a_closed_enum_number_the_reader_lacks_is_missing_naming_the_number(memory: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("shipment.v1", framed("shipment.v2", L2.Shipment(region=L2.APAC)), ["region"])
    assert "unknown-enum-value" == raised.value.reason
    assert "the number 3" in str(raised.value)
    assert "default EU, which was not used" in str(raised.value)


def test_a_closed_enum_number_the_reader_knows_passes(memory: MemoryRegistry) -> None:
    assert L1.US == check("shipment.v1", framed("shipment.v2", L2.Shipment(region=L2.US)), ["region"]).region


def test_the_oneof_member_written_decides(memory: MemoryRegistry) -> None:
    assert "x" == check("order.v3", V3.Order(card="x"), ["card"]).card
    with pytest.raises(MissingCriticalField, match="the oneof 'payment' carries 'voucher'"):
        check("order.v3", V3.Order(voucher="v"), ["card"])


def test_an_empty_repeated_or_map_field_was_not_sent(memory: MemoryRegistry) -> None:
    for path in ("items", "labels"):
        with pytest.raises(MissingCriticalField, match="is empty"):
            check("order.v3", V3.Order(), [path])
    assert 1 == len(check("order.v3", V3.Order(labels={"a": "b"}), ["labels"]).labels)


def test_every_element_must_send_a_critical_field_below_a_list(memory: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("order.v3", V3.Order(items=[V3.Item(sku="a"), V3.Item(quantity=2)]), ["items[].sku"])
    assert "'items[1].sku'" in str(raised.value)


def test_a_nested_critical_field_needs_its_message_sent(memory: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField, match="no tag 2"):
        check("order.v3", V3.Order(), ["customer.id"])
    assert "c" == check("order.v3", V3.Order(customer=V3.Customer(id="c")), ["customer.id"]).customer.id


def test_another_versions_instance_is_judged_by_field_numbers(memory: MemoryRegistry) -> None:
    with pytest.raises(MissingCriticalField) as raised:
        check("order.v3", V2.Order(order_id="o"), ["customerTier"])
    assert "not-in-writer-schema" == raised.value.reason
    received = check("order.v3", V4.Order(customer_tier=V4.GOLD), ["customerTier"])
    assert (type(received), received.customer_tier) == (V3.Order, V3.GOLD)


def test_a_writer_with_an_incompatible_type_for_the_number_is_a_type_error(tmp_path: Path) -> None:
    from google.protobuf import descriptor_pb2

    found = descriptor_pb2.FileDescriptorSet.FromString(protos.descriptor_set("acme/order/v2"))
    order = next(m for m in found.file[-1].message_type if m.name == "Order")
    order.field.add(name="customer_tier", number=7, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=1)
    registry = MemoryRegistry()
    registry.add(Contract.from_protobuf("order.v2", found.SerializeToString(), message="Order"), schema_id=2)
    registry.add(Contract.from_protobuf("order.v3", V3.Order), schema_id=3)
    body = registry.get("order.v2").native.message_class(customer_tier="GOLD")
    with pytest.raises(FieldTypeError) as raised:
        check("order.v3", encode("order.v2", body, format="confluent", registry=registry).value, ["customerTier"],
              registry=registry)  # fmt: skip
    assert ("type", "customerTier") == (raised.value.reason, raised.value.field)


# -- the wire ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indexes", "encoded"),
    [((0,), b"\x00"), ((1,), b"\x02\x02"), ((1, 0), b"\x04\x02\x00"), ((2, 64), b"\x04\x04\x80\x01")],
)
def test_message_indexes_are_zigzag_varints_and_zero_is_one_byte(indexes: tuple[int, ...], encoded: bytes) -> None:
    assert encoded == protobuf_wire.encode_indexes(indexes)
    assert (indexes, len(encoded)) == protobuf_wire.decode_indexes(encoded + b"body", 0)


def test_the_message_index_agrees_with_confluents_serializer() -> None:
    serde = pytest.importorskip("confluent_kafka.schema_registry.protobuf")
    assert serde._create_index_array(V3.Order.DESCRIPTOR) == list(
        Contract.from_protobuf("order.v3", V3.Order).native.indexes
    )


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x00\x03", b"\x00\x00\x00\x00\x03\x7e", b"\x00\x00\x00\x00\x03\x02"])
def test_a_cut_or_absurd_index_array_is_a_decode_error(memory: MemoryRegistry, data: bytes) -> None:
    with pytest.raises(DecodeError) as raised:
        check("order.v3", data, ["customerTier"])
    assert raised.value.reason in ("truncated", "bad-framing")


def test_an_index_naming_no_message_is_bad_framing(memory: MemoryRegistry) -> None:
    with pytest.raises(DecodeError, match="names no message"):
        check("order.v3", b"\x00\x00\x00\x00\x03\x02\x12" + b"", ["customerTier"])


def test_a_corrupt_body_is_a_decode_error_keeping_the_bytes(memory: MemoryRegistry) -> None:
    data = framed("order.v3", V3.Order(customer_tier=V3.GOLD)) + b"\xff"
    with pytest.raises(DecodeError) as raised:
        check("order.v3", data, ["customerTier"])
    assert ("bad-protobuf", data) == (raised.value.reason, raised.value.payload)


def test_a_bare_body_is_named_by_the_contract_header(memory: MemoryRegistry) -> None:
    encoded = encode("order.v2", V2.Order(order_id="o"), format="protobuf")
    assert {"syscontract-contract": b"order.v2"} == encoded.headers
    with pytest.raises(MissingCriticalField, match=r"no field number 7"):
        check("order.v3", encoded.value, ["customerTier"], headers=encoded.headers)


def test_a_bare_body_without_a_header_is_refused_as_unframed(memory: MemoryRegistry) -> None:
    with pytest.raises(DecodeError) as raised:
        check("order.v3", V3.Order(customer_tier=V3.GOLD).SerializeToString(), ["customerTier"])
    assert "no-framing" == raised.value.reason


def test_the_schema_id_header_carries_the_message_index(memory: MemoryRegistry) -> None:
    body = V3.Order(customer_tier=V3.VIP).SerializeToString()
    header = b"\x00\x00\x00\x00\x03" + protobuf_wire.encode_indexes((2,))
    received = check("order.v3", body, ["customerTier"], headers={"__value_schema_id": header})
    assert V3.VIP == received.customer_tier


def test_encode_takes_a_dict_in_protobufs_json_mapping(memory: MemoryRegistry) -> None:
    value = encode("order.v3", {"customerTier": "GOLD", "orderId": "o"}, format="confluent").value
    assert V3.GOLD == check("order.v3", value, ["customerTier"]).customer_tier
    with pytest.raises(FieldTypeError):
        encode("order.v3", {"customerTier": "PLATINUM"}, format="confluent")


# -- the decorator -------------------------------------------------------------------------------------


def test_requires_hands_a_message_and_dead_letters_keep_the_bytes(memory: MemoryRegistry) -> None:
    letters: list[Any] = []
    seen: list[Any] = []

    @requires(contract="order.v3", fields=["customerTier"], on_violation="dead_letter", dead_letter=letters.append)
    def on_order(event: Any) -> None:
        seen.append(event.customer_tier)

    on_order(framed("order.v3", V3.Order(customer_tier=V3.GOLD)))
    stale = framed("order.v2", V2.Order(order_id="o"))
    on_order(stale)
    assert [V3.GOLD] == seen
    assert [stale] == [letter.payload for letter in letters]
    assert "not-in-writer-schema" == letters[0].error.reason


# -- the fast path agrees with the precise one ---------------------------------------------------------

AGREE = [
    V3.Order(customer_tier=V3.GOLD, order_id="o", customer=V3.Customer(id="c"), items=[V3.Item(sku="s")]),
    V3.Order(customer_tier=V3.BASIC, order_id="", customer=V3.Customer(id=""), items=[V3.Item()]),  # zeros, sent
    V3.Order(order_id="o", customer=V3.Customer(id="c")),  # no tier, no items
    V3.Order(customer_tier=V3.GOLD, customer=V3.Customer(id="c")),  # no order id
    V3.Order(customer_tier=V3.GOLD, order_id="o"),  # no customer
    V3.Order(customer_tier=V3.GOLD, order_id="o", customer=V3.Customer()),  # customer without id
    V4.Order(customer_tier=V4.PLATINUM, order_id="o", customer=V4.Customer(id="c")),  # a number v3 lacks
]


@pytest.mark.parametrize("message", AGREE, ids=range(len(AGREE)))
@pytest.mark.parametrize("fields", [["customerTier", "orderId", "customer.id"], ["items"], ["items[].sku"]])
def test_the_inline_path_takes_only_what_the_precise_path_accepts(
    memory: MemoryRegistry, message: Any, fields: list[str]
) -> None:
    from syscontract._engine.checker import Checker
    from syscontract._engine.fastpath import NO

    checker = Checker(memory.get("order.v3"), fields, memory)
    data = framed("order.v3", V3.Order.FromString(message.SerializeToString()))
    try:
        expected: Any = checker.precise(data)[0]  # plans the writer, so the inline path may take it
    except syscontract.ContractViolation as exc:
        expected = type(exc)
    quick = checker.quick(data, None)
    if quick is not NO:
        assert (expected, "order.v3") == quick  # taken inline: the precise path accepts it, the same message
    elif fields != ["items[].sku"]:
        assert isinstance(expected, type)  # left to the precise path only when it refuses (or a list path)


def test_the_inline_path_takes_a_planned_writer(memory: MemoryRegistry) -> None:
    from syscontract._engine.checker import Checker
    from syscontract._engine.fastpath import NO

    checker = Checker(memory.get("order.v3"), ["customerTier"], memory)
    data = framed("order.v3", V3.Order(customer_tier=V3.VIP))
    assert NO is checker.quick(data, None)  # the writer is not planned yet
    checker.precise(data)
    received, writer = checker.quick(data, None)
    assert (V3.VIP, "order.v3") == (received.customer_tier, writer)
    assert NO is checker.quick(framed("order.v2", V2.Order()), None)  # a writer with gaps: never inline


# -- the other entry points ----------------------------------------------------------------------------


def test_produces_checks_and_frames_a_protobuf_message(memory: MemoryRegistry) -> None:
    from syscontract import produces

    memory.add(Contract.from_protobuf("order.v3", V3.Order).with_critical(["customerTier"]), replace=True, schema_id=3)

    @produces(contract="order.v3", format="confluent")
    def order_message(tier: int | None) -> Any:
        return V3.Order(order_id="o") if tier is None else V3.Order(order_id="o", customer_tier=tier)

    encoded = order_message(V3.GOLD)
    assert V3.GOLD == check("order.v3", encoded.value, ["customerTier"]).customer_tier
    with pytest.raises(MissingCriticalField):
        order_message(None)


def test_full_validation_takes_a_dict_in_the_json_mapping(memory: MemoryRegistry) -> None:
    assert {"customerTier": "GOLD"} == check("order.v3", {"customerTier": "GOLD"}, ["customerTier"], validate="full")
    with pytest.raises(FieldTypeError):
        check("order.v3", {"customerTier": "GOLD", "nope": 1}, ["customerTier"], validate="full")


def test_the_kafka_deserializer_reads_framed_protobuf(memory: MemoryRegistry) -> None:
    pytest.importorskip("confluent_kafka")
    from syscontract.integrations.kafka import Deserializer

    deserializer = Deserializer("order.v3", ["customerTier"], registry=memory)
    assert V3.VIP == deserializer(framed("order.v3", V3.Order(customer_tier=V3.VIP))).customer_tier
    assert V3.VIP == deserializer(framed("order.v3", V3.Order(customer_tier=V3.VIP))).customer_tier  # inline now
    with pytest.raises(MissingCriticalField):
        deserializer(framed("order.v2", V2.Order()))


def test_a_message_of_a_class_made_at_run_time_is_judged_not_crashed_on() -> None:
    contract = Contract.from_protobuf("order.v3", protos.descriptor_set("acme/order/v3"), message="Order")
    assert type(contract.native.message_class()).__module__ is None  # protobuf's message factory sets none
    registry = MemoryRegistry([contract])
    with pytest.raises(MissingCriticalField):
        check("order.v3", contract.native.message_class(), ["customerTier"], registry=registry)


def test_a_cloudevent_carrying_framed_protobuf_is_checked(memory: MemoryRegistry) -> None:
    from syscontract.integrations.cloudevents import CloudEventCheck

    guard = CloudEventCheck("order.v3", ["customerTier"], registry=memory)
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/checkout", "ce-type": "order.placed"}
    assert V3.GOLD == guard(framed("order.v3", V3.Order(customer_tier=V3.GOLD)), headers).customer_tier
    with pytest.raises(MissingCriticalField) as raised:
        guard(framed("order.v2", V2.Order()), headers)
    assert "not-in-writer-schema" == raised.value.reason


def test_a_guid_framed_message_carries_its_index_array_too(memory: MemoryRegistry) -> None:
    import uuid

    from syscontract.wire import confluent

    guid = uuid.UUID("0d2b7a5e-2c55-4b43-9b0e-3a3b0c9f6e11")
    memory.add(memory.get("order.v2"), guid=guid)
    body = protobuf_wire.encode_indexes((2,)) + V2.Order(order_id="o").SerializeToString()
    with pytest.raises(MissingCriticalField) as raised:
        check("order.v3", confluent.encode(guid, body), ["customerTier"])
    assert ("not-in-writer-schema", "order.v2") == (raised.value.reason, raised.value.writer)


# -- the handler's form: the reader's message, or a dict as declared ------------------------------------


def test_a_handler_that_declares_a_dict_receives_what_the_writer_wrote(memory: MemoryRegistry) -> None:
    seen: list[Any] = []

    @requires(contract="order.v3", fields=["customerTier", "customer.id"])
    def on_order(order: dict[str, Any]) -> None:
        seen.append(order)

    sent = V3.Order(order_id="o", customer_tier=V3.BASIC, customer=V3.Customer(id="c"), plain_tier=V3.BASIC)
    on_order(framed("order.v3", sent))  # precise path: plans the writer
    on_order(framed("order.v3", sent))  # inline path
    on_order(sent)  # the message itself
    # BASIC was sent with presence: there; plain_tier's BASIC (no presence) and the unsent fields: not
    expected = {"orderId": "o", "customerTier": "BASIC", "customer": {"id": "c"}}
    assert [expected, expected, expected] == seen
    with pytest.raises(MissingCriticalField) as raised:
        on_order(framed("order.v2", V2.Order(order_id="o", customer=V2.Customer(id="c"))))
    assert "not-in-writer-schema" == raised.value.reason


@pytest.mark.parametrize(
    ("annotation", "dict_form"),
    [
        (dict, True),
        (dict[str, Any], True),
        ("Mapping[str, Any]", True),
        ("dict", True),
        (V3.Order, False),
        (Any, False),
        (None, False),
    ],
)
def test_the_form_is_read_from_the_message_parameters_annotation(annotation: Any, dict_form: bool) -> None:
    from syscontract._engine.protobuf import wants_dict

    def handler(order):  # type: ignore[no-untyped-def]
        return order

    if annotation is not None:
        handler.__annotations__ = {"order": annotation}
    assert dict_form is wants_dict(handler, "order")


def test_an_open_enum_number_the_reader_lacks_is_the_same_error_in_either_form(memory: MemoryRegistry) -> None:
    @requires(contract="order.v3", fields=["customerTier"], on_violation="observe")
    def as_dict(order: dict[str, Any]) -> Any:
        return order

    @requires(contract="order.v3", fields=["customerTier"], on_violation="observe")
    def as_message(order: V3.Order) -> Any:
        return order

    data = framed("order.v4", V4.Order(customer_tier=V4.PLATINUM, order_id="o"))
    from google.protobuf import json_format

    received = as_message(data)  # observe: the handler runs on what was sent
    assert isinstance(received, V3.Order)
    assert json_format.MessageToDict(received) == as_dict(data) == {"orderId": "o", "customerTier": 3}


FORMS_WRITERS = [
    *(("order.v3", m) for m in AGREE[:-1]),
    ("order.v4", AGREE[-1]),
    ("order.v2", V2.Order(order_id="o", customer=V2.Customer(id="c"), items=[V2.Item(sku="s")])),
]


@pytest.mark.parametrize(("writer", "message"), FORMS_WRITERS, ids=range(len(FORMS_WRITERS)))
@pytest.mark.parametrize("fields", [["customerTier", "orderId", "customer.id"], ["items"], ["items[].sku"]])
def test_the_dict_form_gets_the_message_forms_verdict_and_content(
    memory: MemoryRegistry, writer: str, message: Any, fields: list[str]
) -> None:
    """Differential: one message, as framed bytes (twice: the precise path, then the inline one) and
    as the writer's message, through a handler taking the reader's message and one taking a dict."""
    from google.protobuf import json_format

    def outcome(handler: Any, value: Any) -> Any:
        try:
            return "ok", handler(value)
        except syscontract.ContractViolation as exc:
            return type(exc), exc.reason, exc.field, exc.writer

    @requires(contract="order.v3", fields=fields)
    def as_message(order: V3.Order) -> Any:
        return order

    @requires(contract="order.v3", fields=fields)
    def as_dict(order: dict[str, Any]) -> Any:
        return order

    data = framed(writer, message)
    for value in (data, data, message):
        by_message, by_dict = outcome(as_message, value), outcome(as_dict, value)
        if by_message[0] == "ok":
            assert isinstance(by_message[1], V3.Order)
            assert ("ok", json_format.MessageToDict(by_message[1])) == by_dict
        else:
            assert by_message == by_dict
