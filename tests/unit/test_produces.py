"""@produces: nothing leaves a producer that breaks its contract; what leaves carries its version."""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import syscontract
from syscontract import (
    ContractDeclarationError,
    ContractViolation,
    Encoded,
    FieldTypeError,
    MissingCriticalField,
    produces,
    requires,
)
from syscontract.wire import confluent

pytestmark = pytest.mark.usefixtures("registry")
TIER = "customer.customerTier"


def test_a_valid_payload_is_returned_unchanged(order: dict[str, Any]) -> None:
    @produces("order.v3")
    def build() -> dict[str, Any]:
        return order

    assert order is build()


def test_a_payload_missing_a_required_field_raises_before_anything_is_sent(order: dict[str, Any]) -> None:
    del order["currency"]

    @produces("order.v3")
    def build() -> dict[str, Any]:
        return order

    with pytest.raises(ContractViolation) as caught:
        build()
    assert "currency" in str(caught.value)
    assert caught.value.handler is not None and caught.value.handler.endswith("build")
    assert order is caught.value.payload


def test_a_payload_relying_on_the_writer_default_for_a_critical_field_raises(order: dict[str, Any]) -> None:
    # customerTier has a default in order.v3, so Avro would happily write "BASIC"; contract.toml marks it critical
    del order["customer"]["customerTier"]

    @produces("order.v3")
    def build() -> dict[str, Any]:
        return order

    with pytest.raises(MissingCriticalField) as caught:
        build()
    assert TIER == caught.value.field


def test_every_wrong_field_is_named(order: dict[str, Any]) -> None:
    order["orderId"] = 1
    order["items"][1]["qty"] = "two"

    @produces("order.v3")
    def build() -> dict[str, Any]:
        return order

    with pytest.raises(FieldTypeError) as caught:
        build()
    assert "orderId" in str(caught.value) and "items[1].qty" in str(caught.value)


def test_something_that_is_not_a_payload_is_refused() -> None:
    with pytest.raises(ContractViolation, match="mapping or a pydantic model"):
        produces("order.v3")(lambda: 42)()


@pytest.mark.parametrize("format", ["json", "avro", "confluent"])
def test_the_result_carries_its_version_and_consumers_read_it(order: dict[str, Any], format: str) -> None:
    @produces("order.v3", format=format)
    def message() -> dict[str, Any]:
        return order

    encoded = message()
    assert isinstance(encoded, Encoded)
    if format == "confluent":
        assert (8, 5) == confluent.decode(encoded.value)
    else:
        assert b"order.v3" == encoded.headers["syscontract-contract"]
    assert order == syscontract.check("order.v3", encoded.value, [TIER], headers=encoded.headers)


def test_a_stale_producer_is_caught_by_the_consumer(order: dict[str, Any]) -> None:
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]

    @produces("order.v2", format="confluent")
    def checkout_v2() -> dict[str, Any]:
        return stale

    @requires("order.v3", [TIER])
    def pricing(event: dict[str, Any]) -> str:
        return event["customer"]["customerTier"]

    with pytest.raises(MissingCriticalField) as caught:
        pricing(checkout_v2().value)
    assert ("not-in-writer-schema", "order.v2") == (caught.value.reason, caught.value.writer)


def test_pydantic_payloads_are_checked_with_their_defaults_seen() -> None:
    class Customer(BaseModel):
        id: str
        customerTier: Literal["BASIC", "VIP"] = "BASIC"

    @syscontract.contract("shop.v1", critical=[TIER])
    class Order(BaseModel):
        orderId: str
        customer: Customer

    @produces("shop.v1")
    def build(tier: str | None) -> Order:
        customer = Customer(id="c") if tier is None else Customer(id="c", customerTier=tier)  # type: ignore[arg-type]
        return Order(orderId="o", customer=customer)

    assert "VIP" == build("VIP").customer.customerTier
    with pytest.raises(MissingCriticalField) as caught:
        build(None)
    assert "absent" == caught.value.reason


def test_async_producers_and_signatures(order: dict[str, Any]) -> None:
    @produces("order.v3")
    async def build(cart: str, *, priority: int = 0) -> dict[str, Any]:
        return order

    assert inspect.iscoroutinefunction(build)
    assert ["cart", "priority"] == list(inspect.signature(build).parameters)
    assert order is asyncio.run(build("c"))


def test_a_violation_is_raised_not_also_logged_unless_asked(
    order: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    del order["orderId"]
    with caplog.at_level(logging.ERROR, logger="syscontract"), pytest.raises(ContractViolation):
        produces("order.v3")(lambda: order)()
    assert [] == caplog.records
    syscontract.configure(log_violations="all")
    with caplog.at_level(logging.ERROR, logger="syscontract"), pytest.raises(ContractViolation):
        produces("order.v3")(lambda: order)()
    assert 1 == len(caplog.records)


def test_bad_declarations_fail_at_decoration() -> None:
    with pytest.raises(ContractDeclarationError, match="unknown format 'xml'"):
        produces("order.v3", format="xml")
    unresolvable = produces("order.v9")(lambda: {})  # the registry may not know it yet: the first call says
    with pytest.raises(ContractDeclarationError, match="not found"):
        unresolvable()


def test_producers_are_in_the_inventory(order: dict[str, Any]) -> None:
    from syscontract import inventory

    build = produces("order.v3")(lambda: order)
    production = build.__syscontract__
    assert production in inventory.declarations()
    assert ("producer", (TIER,)) == (production.role, production.fields)
