"""pricing: prices orders by customer tier; requires order.v3's customerTier to have been sent.

    python examples/shop/checkout/checkout.py | python examples/shop/pricing/pricing.py
    python examples/shop/checkout/checkout_legacy.py  | python examples/shop/pricing/pricing.py

A message without a real customerTier is never priced: it is dead-lettered (here: to stderr) with
the reason, byte for byte as it arrived.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))

from shop import receive, setup

from syscontract import DeadLetter, requires

FACTOR = {"BASIC": 1.00, "SILVER": 0.95, "GOLD": 0.90, "VIP": 0.80}


def dead_letter(letter: DeadLetter) -> None:
    raw = letter.payload.value if hasattr(letter.payload, "value") else letter.payload
    print(f"pricing: dead-lettered {base64.b64encode(raw).decode()[:24]}...: {letter.error}", file=sys.stderr)


@requires("order.v3", ["customerTier", "customer.id"], on_violation="dead_letter", dead_letter=dead_letter)
def price(order: dict[str, Any]) -> float:
    subtotal = sum(item["qty"] * item["unitPrice"] for item in order["items"])
    return round(subtotal * FACTOR[order["customerTier"]], 2)


def main() -> None:
    setup("pricing")
    for message in receive():
        total = price(message)
        if total is not None:
            print(f"pricing: priced {total:.2f} EUR")


if __name__ == "__main__":
    main()
