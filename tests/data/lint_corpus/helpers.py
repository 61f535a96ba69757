"""Helpers the handlers in calls.py hand the message (or a part of it) to."""

from typing import Any


def tier_of(order: dict[str, Any]) -> str:
    return str(order.get("customerTier", "BASIC"))


def discounts(items: list[dict[str, Any]]) -> float:
    return sum(item.get("discount", 0.0) for item in items)


def first(order: dict[str, Any]) -> str:
    return second(order)


def second(order: dict[str, Any]) -> str:
    return str(order["customer"].get("name", ""))


def customer_of(order: dict[str, Any]) -> dict[str, Any]:
    return order["customer"]


def quote(customerTier: str = "BASIC", **rest: Any) -> str:  # named as the field
    return customerTier


def level1(order: dict[str, Any]) -> str:
    return level2(order)


def level2(order: dict[str, Any]) -> str:
    return level3(order)


def level3(order: dict[str, Any]) -> str:
    return level4(order)


def level4(order: dict[str, Any]) -> str:
    return str(order.get("channel", "web"))


def format_options(order: dict[str, Any]) -> str:
    options = {"separator": ","}
    return str(options.get("separator", ";")) + order["orderId"]
