"""checkout, the previous release, still deployed in prod: produces order.v2, without customerTier.

python examples/shop/checkout/checkout_legacy.py         # writes order messages to stdout
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import send, setup

from syscontract import produces

ORDERS = [
    ("ord-1", "cust-7", "Ada", [("SKU-1", 2, 50.0)]),  # Ada is a VIP; order.v2 cannot say so
    ("ord-2", "cust-8", "Grace", [("SKU-2", 1, 20.0), ("SKU-3", 3, 5.0)]),
]


@produces("order.v2", format="confluent")
def order_placed(order_id: str, customer_id: str, name: str, items: list[tuple[str, int, float]]) -> Any:
    return {
        "orderId": order_id,
        "customer": {"id": customer_id, "name": name},
        "items": [{"sku": sku, "qty": qty, "unitPrice": price} for sku, qty, price in items],
        "currency": "EUR",
        "channel": "web",
    }


def main() -> None:
    setup("checkout")
    for order in ORDERS:
        send(order_placed(*order))


if __name__ == "__main__":
    main()
