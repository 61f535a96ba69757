"""Kafka with zero glue (issue 23, item 2): a consumer with local contracts and a real Schema Registry
needs no ``[ids]`` table.

confluent-kafka's own ``AvroSerializer`` and ``JSONSerializer`` register the producer's schemas and
write the bytes through the real ``SchemaRegistryClient``, against our Schema Registry REST server
(tests/srserver.py); syscontract's Kafka ``Deserializer`` reads them with the local contracts
(``contracts/order/v2.avsc``, ``v3.avsc``, ``v4.schema.json``, no ``contract.toml``). The producer
registered v2 and v3 as the subject's versions 1 and 2: ``order.v3`` is still the local v3 file, and the
v2 writer is called ``order.v2``, matched by canonical form.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from srserver import SchemaRegistryServer, schema_registry_fixture  # noqa: F401 - the fixture

from syscontract import ContractDeclarationError, FileRegistry, MemoryRegistry, MissingCriticalField, RegistryError
from syscontract.integrations.kafka import Deserializer
from syscontract.registry.confluent import ConfluentRegistry

DATA = Path(__file__).parent.parent / "data" / "contracts" / "order"
TIER = "customer.customerTier"
VALUE = SerializationContext("orders", MessageField.VALUE)


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    """The consumer's local contracts: the files of tests/data/contracts/order, re-indented (the
    canonical form, not the text, is what matches), and no contract.toml (no [ids])."""
    directory = tmp_path / "contracts" / "order"
    directory.mkdir(parents=True)
    for name in ("v2.avsc", "v3.avsc", "v4.schema.json"):
        document = json.loads((DATA / name).read_text())
        (directory / name).write_text(json.dumps(document, indent=4, sort_keys=True))
    return tmp_path / "contracts"


@pytest.fixture
def client(schema_registry: SchemaRegistryServer) -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient({"url": schema_registry.url, "max.retries": 0, "timeout": 10})
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def stale(order: dict[str, Any]) -> dict[str, Any]:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    return stale


def produce(client: SchemaRegistryClient, schema: str, payload: dict[str, Any]) -> bytes:
    """What a producer with confluent-kafka's AvroSerializer sends: it registers its schema itself."""
    return AvroSerializer(client, schema, conf={"auto.register.schemas": True})(payload, VALUE)  # type: ignore[no-any-return]


def test_order_v3_is_the_local_v3_whatever_the_subjects_numbering(
    client: SchemaRegistryClient, contracts: Path, order: dict[str, Any], stale: dict[str, Any]
) -> None:
    old = produce(client, (DATA / "v2.avsc").read_text(), stale)  # the subject's version 1
    new = produce(client, (DATA / "v3.avsc").read_text(), order)  # the subject's version 2
    assert [1, 2] == client.get_versions("orders-value")

    deserializer = Deserializer("order.v3", [TIER], registry=ConfluentRegistry(client, contracts=contracts))

    assert order == deserializer(new, VALUE)
    with pytest.raises(MissingCriticalField) as caught:
        deserializer(old, VALUE)
    assert ("not-in-writer-schema", "order.v2") == (caught.value.reason, caught.value.writer)
    assert "writer schema order.v2 has no such field" in str(caught.value)


def test_the_registry_names_versions_after_the_local_files(client: SchemaRegistryClient, contracts: Path) -> None:
    v2 = client.register_schema("orders-value", Schema((DATA / "v2.avsc").read_text(), "AVRO"))
    v3 = client.register_schema("orders-value", Schema((DATA / "v3.avsc").read_text(), "AVRO"))
    registry = ConfluentRegistry(client, contracts=contracts, subjects={"order": "orders-value"})

    assert ([2, 3, 4], ["order"]) == (registry.versions("order"), registry.names())
    assert str(contracts / "order" / "v3.avsc") == registry.get("order.v3").source
    assert ("order.v2", "order.v3") == (str(registry.by_id(v2).ref), str(registry.by_id(v3).ref))
    assert (v2, v3) == (registry.id_of("order.v2"), registry.id_of("order.v3"))
    # the subject's own numbering stays reachable
    assert registry.by_id(v3).schema == registry.get("subject:orders-value.v2").schema


def test_the_writer_is_decoded_with_the_registrys_schema_under_the_local_name(
    client: SchemaRegistryClient, contracts: Path
) -> None:
    registered = json.loads((DATA / "v2.avsc").read_text())
    registered["doc"] = "registered by checkout"  # not part of the Parsing Canonical Form
    schema_id = client.register_schema("orders-value", Schema(json.dumps(registered), "AVRO"))
    writer = ConfluentRegistry(client, contracts=contracts).by_id(schema_id)
    assert ("order.v2", "registered by checkout") == (str(writer.ref), writer.schema.get("doc"))


def test_a_writer_that_matches_no_local_version_is_still_the_writer(
    client: SchemaRegistryClient, contracts: Path, stale: dict[str, Any]
) -> None:
    foreign = json.loads((DATA / "v2.avsc").read_text())
    foreign["fields"].insert(1, {"name": "note", "type": "string"})  # the layout differs from v2's
    raw = produce(client, json.dumps(foreign), {**stale, "note": "left at the door"})
    schema_id = client.get_version("orders-value", 1).schema_id
    registry = ConfluentRegistry(client, contracts=contracts)

    with pytest.raises(MissingCriticalField) as caught:
        Deserializer("order.v3", [TIER], registry=registry)(raw, VALUE)
    name = f"schema:orders-value@{schema_id}.v1"
    assert ("not-in-writer-schema", name) == (caught.value.reason, caught.value.writer)
    # decoded with the registry's schema (the local v2 would misread every field after orderId),
    # then resolved into the reader's
    assert stale == Deserializer("order.v2", ["orderId"], registry=registry)(raw, VALUE)
    assert [f["name"] for f in foreign["fields"]] == [f["name"] for f in registry.get(name).schema["fields"]]


def test_a_guid_finds_the_local_version_too(client: SchemaRegistryClient, contracts: Path) -> None:
    client.register_schema("orders-value", Schema((DATA / "v3.avsc").read_text(), "AVRO"))
    guid = uuid.UUID(client.get_version("orders-value", 1).guid)
    assert "order.v3" == str(ConfluentRegistry(client, contracts=contracts).by_guid(guid).ref)


def test_json_schema_writers_match_by_canonical_json(
    client: SchemaRegistryClient, contracts: Path, order: dict[str, Any], stale: dict[str, Any]
) -> None:
    schema_text = (DATA / "v4.schema.json").read_text()
    serializer = JSONSerializer(schema_text, client, conf={"auto.register.schemas": True})
    raw = serializer(order, VALUE)
    deserializer = Deserializer("order.v4", [TIER], registry=ConfluentRegistry(client, contracts=contracts))
    assert order == deserializer(raw, VALUE)
    schema_id = int.from_bytes(raw[1:5], "big")
    assert "order.v4" == str(ConfluentRegistry(client, contracts=contracts).by_id(schema_id).ref)


def test_a_stale_json_writer_is_refused_under_its_registry_name(
    client: SchemaRegistryClient, contracts: Path, stale: dict[str, Any]
) -> None:
    lenient = JSONSerializer(json.dumps({"type": "object"}), client, conf={"auto.register.schemas": True})
    with pytest.raises(MissingCriticalField) as caught:
        Deserializer("order.v4", [TIER], registry=ConfluentRegistry(client, contracts=contracts))(
            lenient(stale, VALUE), VALUE
        )
    assert ("absent", "schema:orders-value@1.v1") == (caught.value.reason, caught.value.writer)


def test_an_unknown_schema_id_names_the_ways_out(
    client: SchemaRegistryClient, contracts: Path, stale: dict[str, Any]
) -> None:
    raw = produce(client, (DATA / "v2.avsc").read_text(), stale)
    with pytest.raises(RegistryError) as caught:
        Deserializer("order.v3", [TIER], registry=FileRegistry(contracts))(raw, VALUE)
    message = str(caught.value)
    assert f"no contract in {str(contracts)!r} has schema id 1" in message
    for way_out in (
        "[ids] table",
        "contract.toml",
        "ConfluentRegistry(",
        "<the registry URL>",
        f"contracts={str(contracts)!r}",
    ):
        assert way_out in message
    memory = MemoryRegistry([FileRegistry(contracts).get("order.v3")])
    with pytest.raises(RegistryError) as caught:
        memory.by_id(1)
    for way_out in ("schema_id=", "ConfluentRegistry(", "<the registry URL>"):
        assert way_out in str(caught.value)


def test_a_local_version_not_registered_has_no_id(client: SchemaRegistryClient, contracts: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        ConfluentRegistry(client, contracts=contracts).id_of("order.v3")
    assert ("unknown-schema", "order.v3") == (caught.value.reason, caught.value.contract)
    assert "subject 'order'" in str(caught.value)  # no subjects= mapping: the subject named like the contract


def test_contracts_must_be_a_directory_or_a_registry(client: SchemaRegistryClient) -> None:
    with pytest.raises(ContractDeclarationError) as caught:
        ConfluentRegistry(client, contracts=42)  # type: ignore[arg-type]
    assert "bad-option" == caught.value.reason


def test_single_object_messages_are_found_by_the_local_fingerprint(
    client: SchemaRegistryClient, contracts: Path, order: dict[str, Any]
) -> None:
    import syscontract

    registry = ConfluentRegistry(client, contracts=contracts)
    local = registry.get("order.v3")
    assert local is registry.by_fingerprint(local.avro_fingerprint)
    body = syscontract.encode(local, order, format="avro").value
    framed = b"\xc3\x01" + local.avro_fingerprint + body
    assert order == Deserializer("order.v3", [TIER], registry=registry)(framed, VALUE)
    with pytest.raises(RegistryError) as caught:
        ConfluentRegistry(client).by_fingerprint(local.avro_fingerprint)
    assert "contracts=" in str(caught.value)


def test_local_json_schemas_are_read_in_the_registrys_draft(client: SchemaRegistryClient, contracts: Path) -> None:
    pair = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    (contracts / "pair").mkdir()
    (contracts / "pair" / "v1.schema.json").write_text(json.dumps(pair))  # no $schema: draft 7 here
    schema_id = client.register_schema("pairs-value", Schema(json.dumps(pair), "JSON"))
    registry = ConfluentRegistry(client, contracts=contracts)
    assert ("draft7", "pair.v1") == (registry.get("pair.v1").native.draft, str(registry.by_id(schema_id).ref))
    with pytest.raises(RegistryError):
        FileRegistry(contracts).get("pair.v1")  # 2020-12, the directory's own default, refuses the tuple
