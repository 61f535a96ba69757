"""validate="full" through @requires and check(): the whole message, after the critical fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

import syscontract
from syscontract import FieldTypeError, MissingCriticalField, requires

pytestmark = pytest.mark.usefixtures("registry")
TIER = "customer.customerTier"


def test_a_valid_message_passes_the_fast_path_unchanged(order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER], validate="full")(lambda event: event)
    assert order is handler(order)


def test_a_wrong_field_outside_the_critical_ones_is_refused(order: dict[str, Any]) -> None:
    order["items"][2]["qty"] = "three"
    assert order is requires("order.v3", [TIER])(lambda event: event)(order)  # fields: not looked at
    with pytest.raises(FieldTypeError) as caught:
        requires("order.v3", [TIER], validate="full")(lambda event: event)(order)
    assert "items[2].qty" in str(caught.value)
    assert order is caught.value.payload


def test_every_failing_path_is_named(order: dict[str, Any]) -> None:
    order["orderId"] = 7
    del order["currency"]
    with pytest.raises(syscontract.ContractViolation) as caught:
        syscontract.check("order.v4", order, validate="full")
    failures = {failure.path for failure in caught.value.failures}  # type: ignore[attr-defined]
    assert {"orderId", "currency"} <= failures


def test_critical_fields_are_still_reported_first(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]
    order["total"] = "a lot"
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", order, [TIER], validate="full")
    assert TIER == caught.value.field


def test_json_bytes_are_decoded_then_validated(order: dict[str, Any]) -> None:
    order["schemaVersion"] = "3"
    with pytest.raises(FieldTypeError, match="schemaVersion"):
        syscontract.check("order.v4", json.dumps(order).encode(), validate="full")


def test_avro_bytes_are_whole_by_construction_and_pass(order: dict[str, Any]) -> None:
    raw = syscontract.encode("order.v3", order, format="confluent").value
    handler = requires("order.v3", [TIER], validate="full")(lambda event: event)
    assert order == handler(raw)
    assert order == handler(raw)  # and again through the inline decoding branch
