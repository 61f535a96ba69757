"""loyalty (pricing's next feature, not released): points per euro spent, more for higher tiers.

award declares the customer id and the line items, not the tier: ``tier_of`` reads it with a
fallback. An order that did not send its tier earns BASIC points, silently. The last two tests
show it happening; ``syscontract lint`` reports it as an error, and the reads report of these tests
("seen in tests") confirms it (README.md, sections 6 and 7). Once award declares ``customerTier``
(the lint's fix line), such an order is refused instead, and those two tests change with it.
"""

from __future__ import annotations

from pathlib import Path

import checkout
import loyalty
import pytest

import syscontract
from syscontract import MissingCriticalField
from syscontract.testing import StaleProducerError

pytestmark = [
    pytest.mark.syscontract_contracts(Path(__file__).resolve().parent.parent / "contracts"),
    pytest.mark.usefixtures("syscontract_registry"),
]

ADA = ("ord-1", "cust-7", "Ada")
HUNDRED_EUR = [("SKU-1", 2, 50.0)]


@pytest.mark.parametrize(("tier", "points"), [("BASIC", 100), ("SILVER", 200), ("GOLD", 300), ("VIP", 500)])
def test_points_per_euro_grow_with_the_tier(current_checkout, tier, points):
    assert ("cust-7", points) == loyalty.award(current_checkout(*ADA, tier, HUNDRED_EUR))


def test_checkouts_orders_earn_points(current_checkout):
    assert [("cust-7", 500), ("cust-8", 35)] == [loyalty.award(current_checkout(*order)) for order in checkout.ORDERS]


def test_an_order_without_its_customer_is_refused(current_checkout):
    order = syscontract.check("order.v3", current_checkout(*ADA, "VIP", HUNDRED_EUR))
    del order["customer"]["id"]
    with pytest.raises(MissingCriticalField) as refused:
        loyalty.award(order)
    assert ("customer.id", "absent") == (refused.value.field, refused.value.reason)


def test_a_vip_order_from_the_previous_checkout_earns_basic_points(legacy_checkout):
    """The undeclared fallback at work: order.v2 has no tier, and Ada, a VIP, earns 100 points, not 500."""
    assert ("cust-7", 100) == loyalty.award(legacy_checkout(*ADA, HUNDRED_EUR))


def test_the_stale_producer_catches_the_undeclared_tier(current_checkout, stale_producer):
    sample = syscontract.check("order.v3", current_checkout(*ADA, "VIP", HUNDRED_EUR))
    with pytest.raises(StaleProducerError) as caught:
        stale_producer(loyalty.award, sample)
    assert {"order.v1", "order.v2"} == {case.version for case in caught.value.report.failures}
    assert {("customerTier",)} == {case.defaulted for case in caught.value.report.failures}
    assert 'declare it: @requires("order.v3", ["customerTier"])' in str(caught.value)
