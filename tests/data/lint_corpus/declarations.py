"""Every way a handler is declared."""

from typing import Any

import syscontract
import syscontract as sc
from syscontract import requires as needs

FIELDS = ["customer.id"]


@syscontract.requires("order.v3", [])
def qualified(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.get("currency", "EUR"))


@sc.requires("order.v3", [])
def module_alias(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.get("currency", "EUR"))


@needs("order.v3", [])
def name_alias(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.get("currency", "EUR"))


@needs(contract="order.v3", fields=["customer.id"])
def keywords(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customer.name
    return e["customer"]["id"] + e["customer"].get("name", "")


@needs("order.v3", ["customer.id"], message="order")
def named_message(context: Any, order: dict[str, Any]) -> str:
    # expect: undeclared-fallback channel
    return order["customer"]["id"] + str(order.get("channel", "web")) + str(context.get("channel", "x"))


@needs("order.v3", FIELDS)
async def asynchronous(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customerTier
    return str(e["customer"]["id"]) + str(e.get("customerTier", "BASIC"))


def requires(*args: Any) -> Any:  # a function of the project's own, named like the decorator
    return lambda function: function


@requires("order.v3", [])
def not_syscontract(e: dict[str, Any]) -> str:
    # expect: not-a-handler
    return str(e.get("currency", "EUR"))
