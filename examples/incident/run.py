"""The incident syscontract exists for, in one process.

    python examples/incident/run.py

Checkout added ``customerTier`` to the ``order`` event (order.v3). Pricing depends on it. In one
environment checkout still runs the old release and sends order.v2, without the field. A consumer
written the usual way fills the gap with a default, and a VIP customer pays BASIC prices without a
single error. The same consumer guarded by ``@requires`` refuses the stale order loudly, and with a
dead-letter policy keeps it, byte for byte, for someone to look at.

Exits 0 when the story went as told (a VIP was silently mispriced by the naive consumer, and the
guarded consumer caught it), 1 otherwise.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import syscontract
from syscontract import DeadLetter, MissingCriticalField, requires

HERE = Path(__file__).parent
PRICES = {"BASIC": 1.00, "SILVER": 0.95, "GOLD": 0.90, "VIP": 0.80}  # price factor per tier


def checkout_v3(order_id: str) -> bytes:
    """The current checkout release: sends order.v3, with customerTier."""
    return json.dumps(
        {
            "orderId": order_id,
            "customer": {"id": "cust-7", "name": "Ada"},
            "items": [{"sku": "SKU-1", "qty": 2, "unitPrice": 50.0}],
            "currency": "EUR",
            "channel": "web",
            "customerTier": "VIP",
        }
    ).encode()


def checkout_v2(order_id: str) -> bytes:
    """The stale release still running in one environment: order.v2 has no customerTier."""
    order = json.loads(checkout_v3(order_id))
    del order["customerTier"]
    return json.dumps(order).encode()


def total(order: dict[str, Any], tier: str) -> float:
    return round(sum(item["qty"] * item["unitPrice"] for item in order["items"]) * PRICES[tier], 2)


def naive_pricing(raw: bytes) -> float:
    """How consumers are usually written: a default fills whatever was not sent."""
    order = json.loads(raw)
    return total(order, order.get("customerTier", "BASIC"))


@requires(contract="order.v3", fields=["customerTier", "customer.id"])
def guarded_pricing(order: dict[str, Any]) -> float:
    return total(order, order["customerTier"])  # never reached without a real customerTier


def main() -> int:
    # violations are also logged at ERROR on logger "syscontract"; this story prints them itself
    logging.basicConfig(level=logging.CRITICAL)
    syscontract.configure(registry=HERE / "contracts", service="pricing")
    syscontract.verify()  # every declaration resolves: done at start-up, not on the first message

    print("== The incident: checkout sends order.v3 in prod, a stale order.v2 in staging ==\n")
    fresh, stale = checkout_v3("ord-1"), checkout_v2("ord-2")
    expected = total(json.loads(fresh), "VIP")

    print("Naive consumer (order.get('customerTier', 'BASIC')):")
    naive_fresh, naive_stale = naive_pricing(fresh), naive_pricing(stale)
    print(f"  prod    order.v3  VIP customer pays {naive_fresh:7.2f} EUR")
    print(f"  staging order.v2  VIP customer pays {naive_stale:7.2f} EUR   <- BASIC price, no error, no alert\n")

    print("Guarded consumer (@requires(contract='order.v3', fields=['customerTier', 'customer.id'])):")
    guarded_fresh = guarded_pricing(fresh)
    print(f"  prod    order.v3  VIP customer pays {guarded_fresh:7.2f} EUR")
    caught: MissingCriticalField | None = None
    try:
        guarded_pricing(stale)
    except MissingCriticalField as error:
        caught = error
        print("  staging order.v2  refused:")
        print(f"    {type(error).__name__}: {error}")
        print(f"    field={error.field} reason={error.reason} contract={error.contract}\n")

    print("With on_violation='dead_letter', the stale order is kept unchanged instead of priced:")
    letters: list[DeadLetter] = []
    keeper = requires("order.v3", ["customerTier"], on_violation="dead_letter", dead_letter=letters.append)(
        lambda order: total(order, order["customerTier"])
    )
    keeper(stale)
    kept = letters[0] if letters else None
    if kept is not None:
        print(f"  dead-lettered {len(kept.payload)} bytes, identical to what was sent: {kept.payload == stale}")
        print(f"  reason: {kept.error.reason} ({kept.error.field})\n")

    story_held = (
        naive_stale != expected
        and guarded_fresh == expected
        and caught is not None
        and caught.reason == "absent"
        and kept is not None
        and kept.payload == stale
    )
    print("What next: declare @requires on your handlers, call syscontract.verify() at start-up,")
    print("and keep your contracts in ./contracts (<name>/v<N>.avsc or .schema.json). See README.md.")
    return 0 if story_held else 1


if __name__ == "__main__":
    sys.exit(main())
