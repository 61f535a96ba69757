"""CloudEvents: the data is checked against the reader contract, the writer named by the event."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

pytest.importorskip("cloudevents", reason="the cloudevents extra: pip install -e '.[cloudevents]'")

from cloudevents.core.bindings import kafka
from cloudevents.core.v1.event import CloudEvent

from syscontract import ContractRef, ContractViolation, DecodeError, MissingCriticalField
from syscontract.integrations.cloudevents import CloudEventCheck, attributes, contract_of

pytestmark = pytest.mark.usefixtures("registry")

TIER = "customer.customerTier"
V2 = fastavro.parse_schema(json.loads((Path(__file__).parent.parent / "data/contracts/order/v2.avsc").read_text()))


@pytest.fixture
def check() -> CloudEventCheck:
    return CloudEventCheck("order.v3", [TIER])


def event(data: Any, **extra: Any) -> CloudEvent:
    return CloudEvent(attributes={"type": "com.example.order.placed", "source": "/checkout", **extra}, data=data)


def v2_avro(order: dict[str, Any]) -> bytes:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    out = io.BytesIO()
    fastavro.schemaless_writer(out, V2, stale)
    return out.getvalue()


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ({"dataschema": "https://schemas.example.com/order/v2"}, ContractRef("order", 2)),
        ({"dataschema": "https://schemas.example.com/order.v3.avsc"}, ContractRef("order", 3)),
        ({"dataschema": "urn:syscontract:order.v4"}, ContractRef("order", 4)),
        ({"dataschema": "https://schemas.example.com/order.v3.schema.json?x=1"}, ContractRef("order", 3)),
        ({"type": "com.example.order.v2"}, ContractRef("com.example.order", 2)),
        ({"type": "com.example.order.placed"}, None),
        ({"dataschema": "https://schemas.example.com/order", "type": "order.v3"}, ContractRef("order", 3)),
        ({}, None),
    ],
)
def test_contract_of_reads_dataschema_then_a_versioned_type(found: dict[str, str], expected: Any) -> None:
    assert expected == contract_of(found)


def test_attributes_read_every_binding_prefix() -> None:
    headers = [("ce_id", b"1"), ("ce-source", "/a"), ("cloudEvents:type", "t"), ("content-type", b"application/json")]
    assert {"id": "1", "source": "/a", "type": "t", "datacontenttype": "application/json"} == attributes(headers)


def test_an_sdk_event_with_the_field_passes(check: CloudEventCheck, order: dict[str, Any]) -> None:
    assert "GOLD" == check.event(event(order, dataschema="https://s/order/v3"))["customer"]["customerTier"]


def test_an_sdk_event_without_the_field_is_a_violation(check: CloudEventCheck, order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField) as caught:
        check.event(event(order))
    assert "absent" == caught.value.reason


def test_kafka_binary_mode_with_ce_headers(check: CloudEventCheck, order: dict[str, Any]) -> None:
    message = kafka.to_binary_event(event(order, dataschema="https://s/order/v3"))
    assert "GOLD" == check(message.value, message.headers)["customer"]["customerTier"]


def test_kafka_binary_mode_headers_as_a_list_of_pairs(check: CloudEventCheck, order: dict[str, Any]) -> None:
    order["customer"]["customerTier"] = None
    message = kafka.to_binary_event(event(order))
    with pytest.raises(MissingCriticalField) as caught:
        check(message.value, list(message.headers.items()))
    assert "null" == caught.value.reason


def test_structured_mode(check: CloudEventCheck, order: dict[str, Any]) -> None:
    message = kafka.to_structured_event(event(order, dataschema="https://s/order/v3"))
    assert "GOLD" == check(message.value, message.headers)["customer"]["customerTier"]


def test_avro_data_of_a_writer_without_the_field_is_not_in_writer_schema(
    check: CloudEventCheck, order: dict[str, Any]
) -> None:
    data = v2_avro(order)
    binary = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "com.example.order.v2",
              "content-type": "application/avro"}  # fmt: skip
    with pytest.raises(MissingCriticalField) as caught:
        check(data, binary)
    assert ("not-in-writer-schema", "order.v2") == (caught.value.reason, caught.value.writer)


def test_structured_mode_with_data_base64_avro(check: CloudEventCheck, order: dict[str, Any]) -> None:
    sdk_event = event(v2_avro(order), datacontenttype="application/avro", dataschema="https://s/order/v2")
    message = kafka.to_structured_event(sdk_event)
    assert b"data_base64" in message.value
    with pytest.raises(MissingCriticalField, match="not sent"):
        check(message.value, message.headers)


def test_an_event_of_another_contract_is_a_violation(check: CloudEventCheck, order: dict[str, Any]) -> None:
    with pytest.raises(ContractViolation) as caught:
        check.event(event(order, dataschema="https://s/shipment/v1"))
    assert ("other-contract", "shipment.v1") == (caught.value.reason, caught.value.writer)


def test_a_message_that_is_no_cloudevent_is_a_decode_error(check: CloudEventCheck, order: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as caught:
        check(json.dumps(order).encode(), {"content-type": "application/json"})
    assert "not-a-cloudevent" == caught.value.reason


def test_a_structured_event_missing_required_attributes_is_a_decode_error(check: CloudEventCheck) -> None:
    with pytest.raises(DecodeError, match="required attributes missing: id"):
        check(b'{"specversion": "1.0", "source": "/s", "type": "t", "data": {}}', {})


def test_the_v1_sdk_api_is_accepted_too(check: CloudEventCheck, order: dict[str, Any]) -> None:
    try:
        from cloudevents.v1.http import CloudEvent as V1Event
    except ImportError:  # cloudevents 1.x: the same class at its old home
        from cloudevents.http import CloudEvent as V1Event
    v1 = V1Event({"type": "com.example.order.v3", "source": "/checkout"}, order)
    assert "GOLD" == check.event(v1)["customer"]["customerTier"]
