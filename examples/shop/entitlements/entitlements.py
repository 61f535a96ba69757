"""entitlements: grants access to what was bought; needs only order.v2's customer.id.

    python examples/shop/checkout/checkout.py | python examples/shop/entitlements/entitlements.py

It reads every version checkout sends (v2 and v3), because it requires nothing v2 lacks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import receive, setup

from syscontract import requires


@requires("order.v2", ["customer.id", "items[].sku"])
def grant(order: dict[str, Any]) -> list[str]:
    return [f"{order['customer']['id']}:{item['sku']}" for item in order["items"]]


def main() -> None:
    setup("entitlements")
    for message in receive():
        print(f"entitlements: granted {', '.join(grant(message))}")


if __name__ == "__main__":
    main()
