"""pricing's next feature, not released yet: loyalty points for every order, more for higher tiers.

    python examples/shop/checkout/checkout.py | python examples/shop/pricing/loyalty.py

It declares what it thinks it needs: the customer id and the line items. The tier is read in a helper
it shares with the rest of pricing, with a fallback that looks harmless. Fed by prod's checkout
(order.v2, no customerTier), every VIP would earn BASIC points, without a word: the incident again.
``syscontract lint`` finds it before it ships (README.md, section 6).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import receive, setup

from syscontract import requires

POINTS_PER_EUR = {"BASIC": 1, "SILVER": 2, "GOLD": 3, "VIP": 5}


def tier_of(order: dict[str, Any]) -> str:
    return str(order.get("customerTier", "BASIC"))  # an order without a tier: BASIC, "to be safe"


@requires("order.v3", ["customer.id", "items[].qty", "items[].unitPrice"])
def award(order: dict[str, Any]) -> tuple[str, int]:
    spent = sum(item["qty"] * item["unitPrice"] for item in order["items"])
    return order["customer"]["id"], int(spent * POINTS_PER_EUR[tier_of(order)])


def main() -> None:
    setup("pricing")
    for message in receive():
        customer, points = award(message)
        print(f"loyalty: {customer} earns {points} points")


if __name__ == "__main__":
    main()
