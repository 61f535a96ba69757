"""ConfluentRegistry through confluent-kafka's real ``SchemaRegistryClient``, against a Schema Registry
speaking the REST API on 127.0.0.1 (tests/srserver.py): the ``mock://`` client has no
``GET /schemas/ids/{id}/versions`` and takes another branch, so these are the only tests of the
path a production registry takes.

The cause pinned here (issue 21, finding 5): the (subject, version) pairs the registry gives for a
schema id were turned into a contract name and mapped through ``subjects`` again, so with
``subjects={"order": "orders-value"}`` and a legacy subject named ``order``, id 10 (``order`` v1:
``orderId, note``) was decoded with ``orders-value`` v1's schema and ``note``'s value arrived as
``customerTier``. The rule now: the schema that decodes an id is the one the registry returns for
that id, always; the pairs only name the writer, and a subject is never re-mapped.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from producers import avro_body, confluent
from srserver import SchemaRegistryServer, schema_registry_fixture, serving  # noqa: F401 - the fixture

import syscontract
from syscontract import (
    Contract,
    ContractDeclarationError,
    ContractError,
    MissingCriticalField,
    RegistryError,
    requires,
)
from syscontract.registry.confluent import ConfluentRegistry

LEGACY = {  # subject "order", v1, id 10: a legacy producer's schema, no customerTier
    "type": "record",
    "name": "Order",
    "namespace": "com.example.orders",
    "fields": [{"name": "orderId", "type": "string"}, {"name": "note", "type": "string"}],
}
ORDER_V1 = {  # subject "orders-value" v1, id 20: contract order.v1; binary-identical layout to LEGACY
    "type": "record",
    "name": "Order",
    "namespace": "com.example.orders",
    "fields": [{"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string"}],
}
ORDER_V2 = {  # subject "orders-value" v2, id 21: contract order.v2, the seed incident's reader
    "type": "record",
    "name": "Order",
    "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": "string"},
        {"name": "customerTier", "type": "string", "default": "BASIC"},
    ],
}
READER = Contract.from_avro("order.v2", ORDER_V2)  # order.v2 given in code: only the writer is looked up
NOTE = "left at the door"
SUBJECTS = {"order": "orders-value"}


@pytest.fixture
def server(schema_registry: SchemaRegistryServer) -> SchemaRegistryServer:
    schema_registry.add("order", LEGACY, schema_id=10)
    schema_registry.add("orders-value", ORDER_V1, schema_id=20)
    schema_registry.add("orders-value", ORDER_V2, schema_id=21)
    return schema_registry


@pytest.fixture
def client(server: SchemaRegistryServer) -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient({"url": server.url, "max.retries": 0, "timeout": 10})
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def remote(client: SchemaRegistryClient) -> ConfluentRegistry:
    return ConfluentRegistry(client, subjects=SUBJECTS)


def legacy_message(note: str = NOTE) -> bytes:
    return confluent(10, avro_body(LEGACY, {"orderId": "o-1", "note": note}))


def fields(contract: Any) -> list[str]:
    return sorted(contract.fields)


# -- the finding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("id_versions", [True, False], ids=["ids-versions-endpoint", "subject-search"])
def test_an_id_from_a_legacy_subject_is_decoded_with_the_schema_registered_for_that_id(
    server: SchemaRegistryServer, remote: ConfluentRegistry, id_versions: bool
) -> None:
    server.offer_id_versions = id_versions
    writer = remote.by_id(10)
    assert ["note", "orderId"] == fields(writer)  # not orders-value v1's customerTier
    assert Contract.from_avro("x.v1", remote.client.get_schema(10).schema_str).schema == writer.schema
    assert "subject:order.v1" == str(writer.ref)  # named by its subject, which `subjects` does not map
    if id_versions:
        assert 1 == server.calls("GET", "/schemas/ids/10/versions")
        assert 0 == server.calls("GET", "/subjects/orders-value/versions/")  # never re-mapped


def test_check_never_hands_the_legacy_note_over_as_customer_tier(remote: ConfluentRegistry) -> None:
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v2", legacy_message(), ["customerTier"], registry=remote)
    assert ("not-in-writer-schema", "customerTier", "subject:order.v1") == (
        caught.value.reason,
        caught.value.field,
        caught.value.writer,
    )
    # not critical: the reader's default as Avro resolution gives it (or nothing), never the note's value
    result = syscontract.check("order.v2", legacy_message(), ["orderId"], registry=remote)
    assert ("o-1", "BASIC") == (result["orderId"], result.get("customerTier", "BASIC"))
    assert NOTE not in json.dumps(dict(result))


def test_requires_refuses_the_legacy_writer_and_takes_a_real_order_v1(remote: ConfluentRegistry) -> None:
    seen: list[Any] = []
    handler = requires("order.v2", ["customerTier"], registry=remote)(seen.append)
    with pytest.raises(MissingCriticalField) as caught:
        handler(legacy_message())
    assert ("not-in-writer-schema", "subject:order.v1") == (caught.value.reason, caught.value.writer)
    assert [] == seen
    handler(confluent(20, avro_body(ORDER_V1, {"orderId": "o-2", "customerTier": "VIP"})))
    assert [{"orderId": "o-2", "customerTier": "VIP"}] == seen


def test_observe_hands_the_handler_what_the_legacy_writer_sent(remote: ConfluentRegistry) -> None:
    seen: list[Any] = []
    requires("order.v2", ["customerTier"], registry=remote, on_violation="observe")(seen.append)(legacy_message())
    assert 1 == len(seen)
    assert NOTE not in json.dumps(seen[0].get("customerTier"))


def test_by_guid_decodes_with_the_guids_schema_and_names_the_legacy_subject(
    server: SchemaRegistryServer, remote: ConfluentRegistry
) -> None:
    guid = uuid.UUID(server.state.schemas[10].guid)
    writer = remote.by_guid(guid)
    assert (["note", "orderId"], "subject:order.v1") == (fields(writer), str(writer.ref))
    raw = bytes([1]) + guid.bytes + avro_body(LEGACY, {"orderId": "o-1", "note": NOTE})
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v2", raw, ["customerTier"], registry=remote)
    assert "not-in-writer-schema" == caught.value.reason


# -- naming writers: every name a writer gets leads back to its own schema ------------------------------


def test_configured_subjects_name_their_writers_by_contract(remote: ConfluentRegistry) -> None:
    assert ("order.v1", "order.v2") == (str(remote.by_id(20).ref), str(remote.by_id(21).ref))


@pytest.mark.parametrize("id_versions", [True, False], ids=["ids-versions-endpoint", "subject-search"])
def test_the_name_of_every_writer_leads_back_to_its_own_schema(
    server: SchemaRegistryServer, remote: ConfluentRegistry, id_versions: bool
) -> None:
    server.offer_id_versions = id_versions
    payment = {"type": "record", "name": "Payment", "fields": [{"name": "id", "type": "string"}]}
    server.add("payments-value", payment)
    server.add("subject:odd", dict(payment, name="Odd"))  # a subject in the reserved form: escaped
    spaced = server.add("my payments", dict(payment, name="Spaced"))  # no contract name can read it
    for schema_id in server.state.schemas:
        writer = remote.by_id(schema_id)
        assert writer.schema == remote.get(str(writer.ref)).schema, writer.ref
    assert f"schema:{spaced}.v1" == str(remote.by_id(spaced).ref)
    assert ["my payments", "order", "payments-value", "subject:order", "subject:subject:odd"] == remote.names()
    for name in remote.names():
        if " " in name:
            continue
        for version in remote.versions(name):
            assert f"{name}.v{version}" == str(remote.get(f"{name}.v{version}").ref)


def test_an_id_under_a_configured_and_a_legacy_subject_is_named_by_the_configured_one(
    server: SchemaRegistryServer, remote: ConfluentRegistry
) -> None:
    server.add("order", ORDER_V2, version=2)  # the same schema, so the same id 21, under the legacy subject
    assert [("order", 2), ("orders-value", 2)] == [
        (p.subject, p.version) for p in remote.client.get_schema_versions(21)
    ]
    assert "order.v2" == str(remote.by_id(21).ref)


def test_a_legacy_subject_is_read_by_its_escaped_name_and_never_through_subjects(remote: ConfluentRegistry) -> None:
    assert [1] == remote.versions("subject:order")
    assert ["note", "orderId"] == fields(remote.get("subject:order.v1"))
    assert ["customerTier", "orderId"] == fields(remote.get("order.v1"))
    assert 10 == remote.id_of("subject:order.v1")


def test_a_schema_under_no_visible_subject_is_named_by_its_id(
    server: SchemaRegistryServer, remote: ConfluentRegistry
) -> None:
    remote.client.delete_subject("order")  # soft: id 10 still serves old messages
    writer = remote.by_id(10)
    assert ("schema:10.v1", ["note", "orderId"]) == (str(writer.ref), fields(writer))
    assert writer.schema == remote.get("schema:10.v1").schema
    assert ([1], 10) == (remote.versions("schema:10"), remote.id_of("schema:10.v1"))
    guid = uuid.UUID(server.state.schemas[10].guid)
    assert (f"schema:{guid}.v1", writer.schema) == (str(remote.by_guid(guid).ref), remote.by_guid(guid).schema)
    for name in ("schema:10.v2", "schema:ten.v1"):
        with pytest.raises(RegistryError) as caught:
            remote.get(name)
        assert "unknown-contract" == caught.value.reason
    with pytest.raises(RegistryError) as caught:
        remote.get("schema:99.v1")
    assert "unknown-schema" == caught.value.reason


def test_a_configured_name_in_the_reserved_forms_is_refused(client: SchemaRegistryClient) -> None:
    for name in ("subject:order", "schema:10"):
        with pytest.raises(ContractDeclarationError) as caught:
            ConfluentRegistry(client, subjects={name: "orders-value"})
        assert "bad-option" == caught.value.reason


# -- versions: a contract version is the subject's version ---------------------------------------------


def test_contract_versions_are_subject_versions_not_positions(
    server: SchemaRegistryServer, remote: ConfluentRegistry
) -> None:
    v3 = dict(ORDER_V2, fields=[*ORDER_V2["fields"], {"name": "channel", "type": "string", "default": "web"}])
    remote.client.register_schema("orders-value", Schema(json.dumps(v3), "AVRO"))
    remote.client.delete_version("orders-value", 2)  # soft-deleted: v3 stays v3
    assert [1, 3] == remote.versions("order")
    assert ["channel", "customerTier", "orderId"] == fields(remote.get("order.v3"))
    with pytest.raises(RegistryError) as caught:
        remote.get("order.v2")
    assert "unknown-schema" == caught.value.reason
    assert (20, remote.client.get_version("orders-value", 3).schema_id) == (
        remote.id_of("order.v1"),
        remote.id_of("order.v3"),
    )
    assert "order.v3" == str(remote.by_id(remote.id_of("order.v3")).ref)


# -- references: fetched by the subject they name, never through `subjects` -----------------------------


def test_avro_references_are_fetched_from_their_own_subject(server: SchemaRegistryServer) -> None:
    customer = {"type": "record", "name": "Customer", "namespace": "x", "fields": [{"name": "tier", "type": "string"}]}
    shadow = {"type": "record", "name": "Customer", "namespace": "x", "fields": [{"name": "email", "type": "string"}]}
    server.add("customer", customer)
    server.add("customers-value", shadow)
    order = {
        "type": "record",
        "name": "Order",
        "namespace": "x",
        "fields": [{"name": "customer", "type": "x.Customer"}],
    }
    schema_id = server.add(
        "orders-value", order, references=[{"name": "x.Customer", "subject": "customer", "version": 1}]
    )
    with SchemaRegistryClient({"url": server.url, "max.retries": 0}) as client:
        remote = ConfluentRegistry(client, subjects={"order": "orders-value", "customer": "customers-value"})
        assert ["customer", "customer.tier"] == fields(remote.by_id(schema_id))
        assert ["customer", "customer.tier"] == fields(remote.get("order.v3"))


def test_avro_references_of_references_are_read_each_before_its_user(server: SchemaRegistryServer) -> None:
    tier = {"type": "enum", "name": "Tier", "namespace": "x", "symbols": ["BASIC", "VIP"]}
    customer = {"type": "record", "name": "Customer", "namespace": "x", "fields": [{"name": "tier", "type": "x.Tier"}]}
    server.add("tier", tier)
    server.add("customer", customer, references=[{"name": "x.Tier", "subject": "tier", "version": 1}])
    order = {
        "type": "record",
        "name": "Order",
        "namespace": "x",
        "fields": [{"name": "customer", "type": "x.Customer"}],
    }
    schema_id = server.add(
        "orders-value", order, references=[{"name": "x.Customer", "subject": "customer", "version": 1}]
    )
    with SchemaRegistryClient({"url": server.url, "max.retries": 0}) as client:
        remote = ConfluentRegistry(client, subjects=SUBJECTS)
        writer = remote.by_id(schema_id)
        assert ("order.v3", ["customer", "customer.tier"]) == (str(writer.ref), fields(writer))
        raw = confluent(schema_id, b"\x02")  # customer.tier = VIP (enum index 1)
        assert {"customer": {"tier": "VIP"}} == syscontract.check(writer, raw, ["customer.tier"], registry=remote)


def test_json_schema_references_are_fetched_from_their_own_subject(server: SchemaRegistryServer) -> None:
    address = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    server.add("address", address, schema_type="JSON")
    server.add("addresses-value", {"type": "object", "properties": {"zip": {"type": "string"}}}, schema_type="JSON")
    shipment = {"type": "object", "required": ["to"], "properties": {"to": {"$ref": "address.json"}}}
    schema_id = server.add(
        "shipments-value",
        shipment,
        schema_type="JSON",
        references=[{"name": "address.json", "subject": "address", "version": 1}],
    )
    with SchemaRegistryClient({"url": server.url, "max.retries": 0}) as client:
        remote = ConfluentRegistry(client, subjects={"shipment": "shipments-value", "address": "addresses-value"})
        writer = remote.by_id(schema_id)
        assert "shipment.v1" == str(writer.ref)
        assert ["to", "to.city"] == fields(writer)
        with pytest.raises(MissingCriticalField):
            syscontract.check(writer, {"to": {"zip": "1"}}, ["to.city"], registry=remote)


# -- failures: a RegistryError that says what happened, never a traceback from the client ----------------


def test_an_unreachable_registry_is_a_registry_error_naming_where_it_looked() -> None:
    with serving() as gone:
        url = gone.url
    with SchemaRegistryClient({"url": url, "max.retries": 0, "timeout": 5}) as client:
        remote = ConfluentRegistry(client, subjects=SUBJECTS)
        for attempt in (lambda: remote.by_id(10), lambda: remote.get("order.v2"), remote.names):
            with pytest.raises(RegistryError) as caught:
                attempt()
            assert "unreachable" == caught.value.reason
            assert url in str(caught.value) and "unreachable" in str(caught.value)
        # the writer's lookup fails: a RegistryError out of check()
        with pytest.raises(RegistryError) as caught:
            syscontract.check(READER, legacy_message(), ["customerTier"], registry=remote)
        assert ("unreachable", "order.v2") == (caught.value.reason, caught.value.contract)
        # the reader's: the engine refuses the declaration, saying why
        with pytest.raises(ContractError, match="unreachable") as refused:
            syscontract.check("order.v2", legacy_message(), ["customerTier"], registry=remote)
        assert url in str(refused.value)


@pytest.mark.parametrize("body", [None, b"<html>Internal Server Error</html>"], ids=["confluent-body", "html-body"])
def test_a_500_is_a_registry_error(server: SchemaRegistryServer, remote: ConfluentRegistry, body: bytes | None) -> None:
    server.fail(500, body=body)
    with pytest.raises(RegistryError) as caught:
        remote.by_id(10)
    assert ("unreachable", True) == (caught.value.reason, "HTTP 500" in str(caught.value))
    with pytest.raises(RegistryError) as caught:
        syscontract.check(READER, legacy_message(), ["customerTier"], registry=remote)
    assert "HTTP 500" in str(caught.value)


def test_a_500_on_the_id_versions_lookup_falls_back_to_the_subject_search(
    server: SchemaRegistryServer, remote: ConfluentRegistry
) -> None:
    server.fail(500, when=lambda method, path: path.endswith("/versions") and path.startswith("/schemas/ids/"))
    writer = remote.by_id(10)
    assert ("subject:order.v1", ["note", "orderId"]) == (str(writer.ref), fields(writer))


def test_a_broken_200_answer_is_a_registry_error(server: SchemaRegistryServer, remote: ConfluentRegistry) -> None:
    server.fail(200, body=b"not json")
    with pytest.raises(RegistryError) as caught:
        remote.by_id(10)
    assert "unreachable" == caught.value.reason


def test_an_unknown_id_is_a_404_registry_error(remote: ConfluentRegistry) -> None:
    with pytest.raises(RegistryError) as caught:
        remote.by_id(99)
    assert ("unknown-schema", True) == (caught.value.reason, "HTTP 404" in str(caught.value))


# -- the server itself answers as Confluent's does ---------------------------------------------------------


def test_the_server_answers_with_confluents_error_codes_and_content_type(server: SchemaRegistryServer) -> None:
    import urllib.error
    import urllib.request

    def answer(path: str) -> tuple[int, str, dict[str, Any]]:
        try:
            with urllib.request.urlopen(server.url + path, timeout=5) as response:
                return response.status, response.headers["Content-Type"], json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], json.loads(exc.read())

    for path, code in [
        ("/subjects/nope/versions/1", 40401),
        ("/subjects/order/versions/7", 40402),
        ("/schemas/ids/99", 40403),
        ("/subjects/order/versions/zero", 42202),
    ]:
        status, content_type, body = answer(path)
        assert (code // 100, code, "application/vnd.schemaregistry.v1+json") == (
            status,
            body["error_code"],
            content_type,
        )
    assert [{"subject": "order", "version": 1}] == answer("/schemas/ids/10/versions")[2]
    assert {"compatibilityLevel": "BACKWARD"} == answer("/config")[2]


def test_the_real_client_round_trips_through_the_server(client: SchemaRegistryClient) -> None:
    customer = Schema(json.dumps({"type": "record", "name": "C", "fields": [{"name": "id", "type": "string"}]}))
    first = client.register_schema("customer", customer)
    assert first == client.register_schema("customers-value", customer)  # one id per schema
    order = Schema(
        json.dumps({"type": "record", "name": "O", "fields": [{"name": "c", "type": "C"}]}),
        "AVRO",
        [SchemaReference("C", "customer", 1)],
    )
    second = client.register_schema("orders-value", order)
    found = client.lookup_schema("orders-value", order)
    assert ("orders-value", 3, second) == (found.subject, found.version, found.schema_id)
    assert [SchemaReference("C", "customer", 1)] == client.get_schema(second).references
    assert [second] == client.get_referenced_by("customer", 1)
    assert client.get_schema_by_guid(client.get_version("orders-value", 3).guid).references
    assert ["customer", "customers-value", "order", "orders-value"] == client.get_subjects()
    assert "BACKWARD" == client.get_compatibility()
