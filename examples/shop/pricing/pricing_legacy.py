"""pricing, the previous release: list prices for everyone; requires only what order.v2 sends.

    python examples/shop/checkout/checkout_legacy.py | python examples/shop/pricing/pricing_legacy.py

The release before tiers: it reads order.v2 (and order.v3, whose customerTier it ignores).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import receive, setup

from syscontract import requires


@requires("order.v2", ["customer.id", "items[].unitPrice"])
def price(order: dict[str, Any]) -> float:
    return round(sum(item["qty"] * item["unitPrice"] for item in order["items"]), 2)


def main() -> None:
    setup("pricing")
    for message in receive():
        print(f"pricing: priced {price(message):.2f} EUR")


if __name__ == "__main__":
    main()
