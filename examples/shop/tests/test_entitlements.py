"""entitlements: grants each customer what they bought, from either checkout release."""

from __future__ import annotations

from pathlib import Path

import checkout
import checkout_legacy
import entitlements
import pytest

import syscontract
from syscontract import MissingCriticalField

pytestmark = [
    pytest.mark.syscontract_contracts(Path(__file__).resolve().parent.parent / "contracts"),
    pytest.mark.usefixtures("syscontract_registry"),
]

GRANTED = [["cust-7:SKU-1"], ["cust-8:SKU-2", "cust-8:SKU-3"]]


def test_every_sku_of_the_current_checkouts_orders_is_granted(current_checkout):
    assert GRANTED == [entitlements.grant(current_checkout(*order)) for order in checkout.ORDERS]


def test_every_sku_of_the_previous_checkouts_orders_is_granted(legacy_checkout):
    assert GRANTED == [entitlements.grant(legacy_checkout(*order)) for order in checkout_legacy.ORDERS]


def test_what_older_producers_send_is_granted(legacy_checkout, stale_producer):
    sample = syscontract.check("order.v2", legacy_checkout(*checkout_legacy.ORDERS[1]))
    report = stale_producer(entitlements.grant, sample)  # order.v1 sends every field grant requires
    assert {"order.v1"} == {case.version for case in report.cases}
    assert {"accepted"} == {case.expected for case in report.cases}


def test_a_line_without_a_sku_grants_nothing_and_is_refused(legacy_checkout):
    order = syscontract.check("order.v2", legacy_checkout(*checkout_legacy.ORDERS[1]))
    del order["items"][1]["sku"]
    with pytest.raises(MissingCriticalField) as refused:
        entitlements.grant(order)
    assert ("items[].sku", "absent") == (refused.value.field, refused.value.reason)
