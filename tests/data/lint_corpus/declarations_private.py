from typing import Any

from syscontract._requires import requires


@requires("order.v3", [])
def from_the_module(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.get("currency", "EUR"))
