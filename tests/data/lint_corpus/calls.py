"""Handlers that hand the message to functions of the scanned files, and to one outside them."""

from typing import Any

import helpers
from enrichment import enrich  # not in the scanned files
from helpers import customer_of, discounts, first, quote, tier_of

from syscontract import requires


@requires("order.v3", [])
def helper_one_level(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customerTier
    return tier_of(e)


@requires("order.v3", [])
def helper_gets_a_part(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback items[].discount
    return discounts(e["items"])


@requires("order.v3", [])
def helper_two_levels(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customer.name
    return first(e)


@requires("order.v3", [])
def helper_returns_a_part(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customer.name
    customer = customer_of(e)
    return str(customer.get("name", "?"))


@requires("order.v3", [])
def helper_through_module(e: dict[str, Any]) -> str:
    # expect: none
    return helpers.format_options(e)


@requires("order.v3", [])
def spread_into_parameters(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customerTier
    return quote(**e)


@requires("order.v3", [])
def four_calls_deep(e: dict[str, Any]) -> str:
    # deeper than the analysis follows (CALL_DEPTH = 3): reported as opaque, the fallback is missed
    # expect: undeclared-fallback channel
    # expect: opaque -
    return helpers.level1(e)


@requires("order.v3", [])
def outside_the_scanned_files(e: dict[str, Any]) -> Any:
    # expect: opaque -
    return enrich(e)


class Pricing:
    @requires("order.v3", [])
    def on_order(self, e: dict[str, Any]) -> str:
        # expect: undeclared-fallback customerTier
        return self._tier(e)

    def _tier(self, e: dict[str, Any]) -> str:
        return str(e.get("customerTier", "BASIC"))

    @staticmethod
    @requires("order.v3", ["customer.id"])
    def static_handler(e: dict[str, Any]) -> str:
        # expect: none
        return str(e["customer"]["id"])


class Tiers:
    @staticmethod
    def of(order: dict[str, Any]) -> str:
        return str(order.get("customerTier", "BASIC"))


@requires("order.v3", [])
def static_method_of_a_class(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customerTier
    return Tiers.of(e)


@requires("order.v3", [])
def keys_from_a_loop(e: dict[str, Any]) -> list[str]:
    # the keys are literals, but only at run time in `key`: missed, reported as opaque
    # expect: undeclared-fallback currency
    # expect: undeclared-fallback channel
    # expect: opaque -
    return [str(e.get(key, "")) for key in ("currency", "channel")]
