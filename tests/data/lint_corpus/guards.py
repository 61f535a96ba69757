"""Handlers given to the broker guards, with literal contracts."""

from typing import Any

from syscontract.integrations import rabbitmq
from syscontract.integrations.nats import Guard
from syscontract.integrations.redis import StreamConsumer


async def on_order(order: dict[str, Any]) -> None:
    # expect: undeclared-fallback customerTier
    print(order["customer"]["id"], order.get("customerTier", "BASIC"))


def on_entry(order: dict[str, Any]) -> None:
    # expect: undeclared-default channel
    print(order["customer"]["id"], order["channel"])


def on_payment(payment: dict[str, Any]) -> int:
    # expect: undeclared-fallback amount
    # expect: unknown-contract -
    return int(payment.get("amount", 0))


def subscribe(js: Any, client: Any) -> list[Any]:
    return [
        Guard(on_order, "order.v3", ["customer.id"], js=js, dead_letter="orders.dead"),
        StreamConsumer(
            client,
            "orders",
            group="pricing",
            consumer="pricing-1",
            handler=on_entry,
            contract="order.v3",
            fields=["customer.id"],
            dead_letter="orders.dead",
        ),
        rabbitmq.AsyncGuard(on_payment, "payment.v1"),
    ]
