"""checkout, the current release: produces order.v3, with customerTier.

python examples/shop/checkout/checkout.py        # writes order messages to stdout
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import send, setup

from syscontract import produces

ORDERS = [
    ("ord-1", "cust-7", "Ada", "VIP", [("SKU-1", 2, 50.0)]),
    ("ord-2", "cust-8", "Grace", "BASIC", [("SKU-2", 1, 20.0), ("SKU-3", 3, 5.0)]),
]


@produces("order.v3", format="confluent")
def order_placed(order_id: str, customer_id: str, name: str, tier: str, items: list[tuple[str, int, float]]) -> Any:
    return {
        "orderId": order_id,
        "customer": {"id": customer_id, "name": name},
        "items": [{"sku": sku, "qty": qty, "unitPrice": price} for sku, qty, price in items],
        "currency": "EUR",
        "channel": "web",
        "customerTier": tier,
    }


def main() -> None:
    setup("checkout")
    for order in ORDERS:
        send(order_placed(*order))


if __name__ == "__main__":
    main()
