"""What the analysis cannot follow, and what it can although it looks opaque."""

import json
import logging
from typing import Any

from syscontract import requires

logger = logging.getLogger(__name__)
TIER = "customerTier"
DEFAULTS = {"currency": "EUR"}


class OrderModel:
    def __init__(self, **fields: Any) -> None:
        self.fields = fields


@requires("order.v3", [])
def unpacked_into_a_class(e: dict[str, Any]) -> OrderModel:
    # expect: opaque -
    return OrderModel(**e)


@requires("order.v3", [])
def copy_then_read(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback channel
    copy = dict(e)
    return str(copy.get("channel", "web"))


@requires("order.v3", [])
def forwarded(e: dict[str, Any]) -> str:
    # expect: opaque -
    return json.dumps(e)


@requires("order.v3", [])
def every_key(e: dict[str, Any]) -> list[str]:
    # expect: opaque -
    return [k for k, v in e.items() if v]


@requires("order.v3", [])
def computed_key(e: dict[str, Any], key: str = "currency") -> str:
    # expect: opaque -
    return str(e[key])


@requires("order.v3", [])
def constant_key(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customerTier
    return str(e.get(TIER, "BASIC"))


@requires("order.v3", [])
def logged(e: dict[str, Any]) -> str:
    # expect: none
    logger.info("order %s", e)
    print(e, len(e), isinstance(e, dict))
    return str(e["orderId"])


@requires("order.v3", [])
def merged_over_defaults(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str({**DEFAULTS, **e}["currency"])


@requires("order.v3", [])
def customer_forwarded(e: dict[str, Any]) -> str:
    # a record of the message handed to a library: its fields are not known, and reading it is loud
    # expect: opaque customer
    # expect: undeclared-read customer
    return json.dumps(e["customer"])


@requires("order.v3", [])
def merged_over_a_literal_default(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback channel
    return str({"channel": "web", **e}["channel"])


@requires("order.v3", [])
def overridden_by_the_code(e: dict[str, Any]) -> str:
    # the code puts its own currency over the message's: the message's is never read
    # expect: none
    return str({**e, "currency": "EUR"}["currency"])
