"""The shop's own tests: each consumer's handler, fed the orders checkout really sends.

    cd examples/shop && pytest tests            # or, from the repository root: pytest examples/shop/tests

The services are scripts, not a package: each puts the shop's directory on ``sys.path`` and imports
``shop`` (the transport and where the contracts are). The tests import them the same way, by their
module names (``pricing``, ``pricing_legacy``, ``loyalty``, ``entitlements``, ``checkout``,
``checkout_legacy``): the names ``syscontract lint`` and the read recorder give their handlers
(``loyalty.award``), so a reads report of these tests merges with the lint (README.md, section 7).

Each test module configures the shop's contracts with ``syscontract_registry`` (the pytest plugin's
fixture) and the ``syscontract_contracts`` marker.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syscontract import Encoded
from syscontract.wire import Envelope

SHOP = Path(__file__).resolve().parent.parent

for folder in (SHOP, SHOP / "checkout", SHOP / "pricing", SHOP / "entitlements"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import checkout  # noqa: E402  (importable once the folders above are on sys.path)
import checkout_legacy  # noqa: E402


def delivered(message: Encoded) -> Envelope:
    """A message as a consumer receives it: the bytes and headers the producer sent (``shop.receive``)."""
    return Envelope(message.value, dict(message.headers))


@pytest.fixture
def current_checkout(syscontract_registry: Any) -> Callable[..., Envelope]:
    """Place an order through checkout's current release, which sends ``order.v3`` (with the tier):
    ``current_checkout("ord-1", "cust-7", "Ada", "VIP", [("SKU-1", 2, 50.0)])``."""

    def place(order_id: str, customer_id: str, name: str, tier: str, items: list[tuple[str, int, float]]) -> Envelope:
        return delivered(checkout.order_placed(order_id, customer_id, name, tier, items))

    return place


@pytest.fixture
def legacy_checkout(syscontract_registry: Any) -> Callable[..., Envelope]:
    """Place an order through checkout's previous release, still in prod, which sends ``order.v2``
    (no tier): ``legacy_checkout("ord-1", "cust-7", "Ada", [("SKU-1", 2, 50.0)])``."""

    def place(order_id: str, customer_id: str, name: str, items: list[tuple[str, int, float]]) -> Envelope:
        return delivered(checkout_legacy.order_placed(order_id, customer_id, name, items))

    return place
