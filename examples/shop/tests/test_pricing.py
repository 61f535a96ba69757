"""pricing: the current release prices by tier and never prices an order that did not send its tier;
the previous release (pricing_legacy) charges list prices and reads every checkout release."""

from __future__ import annotations

from pathlib import Path

import checkout
import checkout_legacy
import pricing
import pricing_legacy
import pytest

import syscontract
from syscontract import MissingCriticalField

pytestmark = [
    pytest.mark.syscontract_contracts(Path(__file__).resolve().parent.parent / "contracts"),
    pytest.mark.usefixtures("syscontract_registry"),
]

ADA = ("ord-1", "cust-7", "Ada")
TWO_AT_50 = [("SKU-1", 2, 50.0)]


@pytest.mark.parametrize(("tier", "total"), [("BASIC", 100.00), ("SILVER", 95.00), ("GOLD", 90.00), ("VIP", 80.00)])
def test_an_order_is_priced_by_the_customers_tier(current_checkout, tier, total):
    assert total == pricing.price(current_checkout(*ADA, tier, TWO_AT_50))


def test_checkouts_orders_are_priced(current_checkout):
    assert [80.00, 35.00] == [pricing.price(current_checkout(*order)) for order in checkout.ORDERS]


def test_an_order_from_the_previous_checkout_is_dead_lettered_not_priced_at_basic(legacy_checkout, capsys):
    assert None is pricing.price(legacy_checkout(*ADA, TWO_AT_50))
    dead_letter = capsys.readouterr().err
    assert "pricing: dead-lettered " in dead_letter
    assert "order.v3: critical field 'customerTier' was not sent (writer schema order.v2 has no such" in dead_letter


def test_older_producers_are_refused(current_checkout, stale_producer):
    sample = syscontract.check("order.v3", current_checkout(*ADA, "VIP", TWO_AT_50))
    report = stale_producer(pricing.price, sample)  # fails the test if any older order got through
    assert {"order.v1", "order.v2"} == {case.version for case in report.cases}
    assert {("customerTier",)} == {case.missing for case in report.cases}
    assert all(isinstance(case.error, MissingCriticalField) for case in report.cases)


# -- the previous release: list prices -------------------------------------------------------------


def test_the_previous_release_charges_list_prices(legacy_checkout):
    assert [100.00, 35.00] == [pricing_legacy.price(legacy_checkout(*order)) for order in checkout_legacy.ORDERS]


def test_the_previous_release_reads_the_current_checkouts_orders_and_ignores_the_tier(current_checkout):
    assert [100.00, 35.00] == [pricing_legacy.price(current_checkout(*order)) for order in checkout.ORDERS]


def test_the_previous_release_prices_what_older_producers_send(legacy_checkout, stale_producer):
    sample = syscontract.check("order.v2", legacy_checkout(*ADA, TWO_AT_50))
    report = stale_producer(pricing_legacy.price, sample)  # order.v1 sends every field it requires
    assert {"order.v1"} == {case.version for case in report.cases}
    assert {"accepted"} == {case.expected for case in report.cases}


def test_the_previous_release_refuses_a_line_without_a_unit_price(legacy_checkout):
    order = syscontract.check("order.v2", legacy_checkout(*ADA, TWO_AT_50))
    order["items"][0]["unitPrice"] = None
    with pytest.raises(MissingCriticalField) as refused:
        pricing_legacy.price(order)
    assert ("items[].unitPrice", "null") == (refused.value.field, refused.value.reason)
