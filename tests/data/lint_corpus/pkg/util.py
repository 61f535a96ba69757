from typing import Any


def region_of(order: dict[str, Any]) -> str:
    return str(order.get("region", "EU"))
