"""A package: relative imports, and the handler named pkg.handlers.on_region."""

from typing import Any

from syscontract import requires

from .util import region_of


@requires("order.v3", [])
def on_region(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback region
    return region_of(e)


def outer() -> Any:
    @requires("order.v3", ["customer.id"])
    def inner(e: dict[str, Any]) -> str:
        # expect: undeclared-fallback currency
        return e["customer"]["id"] + str(e.get("currency", "EUR"))

    return inner
