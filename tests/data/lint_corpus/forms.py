"""Each read form on a message, and the traps around them."""

from typing import Any

from syscontract import requires

PRICES = {"VIP": 0.8, "BASIC": 1.0}
CONFIG = {"customerTier": "BASIC", "timeout": 5}


class Order:  # stands in for a pydantic model class in class patterns
    channel: str


@requires("order.v3", ["customer.id"])
def subscripts(e: dict[str, Any]) -> str:
    # expect: none
    return e["orderId"] + e["customer"]["id"]


@requires("order.v3", ["customer.id"])
def get_chain(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customer.name
    return e["customer"]["id"] + e.get("customer", {}).get("name", "anonymous")


@requires("order.v3", [])
def attribute_chain(e: Any) -> str:
    # expect: undeclared-read customer.name
    return str(e.customer.name)


@requires("order.v3", [])
def getattr_default(e: Any) -> str:
    # expect: undeclared-fallback channel
    return str(getattr(e, "channel", "web"))


@requires("order.v3", [])
def through_a_local(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback customer.name
    customer = e["customer"]
    return str(customer.get("name", "?"))


@requires("order.v3", ["items[].sku"])
def loop_over_items(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback items[].discount
    # expect: declared-never-read items[].sku
    total = 0.0
    for item in e["items"]:
        total += item.get("discount", 0)
    return total


@requires("order.v3", ["items[].qty", "items[].unitPrice"])
def comprehension(e: dict[str, Any]) -> float:
    # expect: none
    return sum(i["qty"] * i["unitPrice"] for i in e["items"])


@requires("order.v3", [])
def enumerate_items(e: dict[str, Any]) -> list[str]:
    # expect: undeclared-read items[].sku
    return [f"{n}:{item['sku']}" for n, item in enumerate(e["items"])]


@requires("order.v3", [])
def first_item(e: dict[str, Any]) -> str:
    # expect: undeclared-read items[].sku
    return str(e["items"][0]["sku"])


@requires("order.v3", [])
def match_mapping(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback customerTier
    match e:
        case {"customerTier": tier}:
            return PRICES[tier]
        case _:
            return PRICES["BASIC"]


@requires("order.v3", [])
def match_class_raises(e: Any) -> str:
    # expect: undeclared-default channel
    match e:
        case Order(channel=channel):
            return str(channel)
        case _:
            raise ValueError("no channel")


@requires("order.v3", [])
def get_or(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.get("currency") or "EUR")


@requires("order.v3", [])
def subscript_or(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e["currency"] or "EUR")


@requires("order.v3", [])
def conditional_expression(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback channel
    return str(e["channel"] if "channel" in e else "web")  # noqa: SIM401 - the form under test


@requires("order.v3", [])
def filled_when_absent(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    if "currency" not in e:
        e["currency"] = "EUR"
    return str(e["currency"])


@requires("order.v3", [])
def local_none_test(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback customerTier
    tier = e.get("customerTier")
    if tier is None:
        tier = "BASIC"
    return PRICES[tier]


@requires("order.v3", [])
def default_before_test(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback customerTier
    tier = "BASIC"
    if "customerTier" in e:
        tier = e["customerTier"]
    return PRICES[tier]


@requires("order.v3", [])
def try_except(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback customerTier
    try:
        tier = e["customerTier"]
    except KeyError:
        tier = "BASIC"
    return PRICES[tier]


@requires("order.v3", [])
def setdefault(e: dict[str, Any]) -> str:
    # expect: undeclared-fallback currency
    return str(e.setdefault("currency", "EUR"))


@requires("order.v3", [])
def bare_get(e: dict[str, Any]) -> float:
    # expect: undeclared-fallback customerTier
    return PRICES.get(e.get("customerTier"), 1.0)


@requires("order.v3", ["customer.id"])
def reader_default(e: dict[str, Any]) -> float:
    # expect: undeclared-default customerTier
    return PRICES[e["customerTier"]] if e["customer"]["id"] else 0.0


@requires("order.v3", [])
def enum_default(e: dict[str, Any]) -> str:
    # expect: undeclared-default region
    return str(e["region"])


@requires("order.v3", ["customerTier"])
def declared_fallback(e: dict[str, Any]) -> float:
    # expect: declared-fallback customerTier
    return PRICES[e.get("customerTier", "BASIC")]


@requires("order.v3", ["customer.id", "currency"])
def declared_never_read(e: dict[str, Any]) -> str:
    # expect: declared-never-read currency
    return str(e["customer"]["id"])


@requires("order.v3", [])
def presence_test_raises(e: dict[str, Any]) -> None:
    # a field read only inside a presence test that raises: a dependency, never a fallback
    # expect: undeclared-read customer.name
    if "name" not in e["customer"]:
        raise ValueError("an order without a customer name")


@requires("order.v3", [])
def optional_field(e: dict[str, Any]) -> str:
    # read only when present, nothing stands in for it: optional to the handler
    # expect: none
    if "name" in e["customer"]:
        return str(e["customer"]["name"])
    return ""


@requires("order.v3", [])
def get_on_another_dict(e: dict[str, Any]) -> str:
    # expect: none
    return str(CONFIG.get("customerTier", "BASIC")) + e["orderId"]


@requires("order.v3", ["items[].unitPrice"])
def local_named_like_a_field(e: dict[str, Any]) -> float:
    # expect: none
    customerTier = "VIP"  # the trap is the name
    return PRICES.get(customerTier, 1.0) * e["items"][0]["unitPrice"]


@requires("order.v3", [])
def message_name_rebound(event: dict[str, Any], history: list[dict[str, Any]] = []) -> int:  # noqa: B006
    # expect: none
    seen = 0
    for event in history:  # the trap: `event` is no longer the message
        seen += event.get("customerTier", "BASIC") == "VIP"
    return seen


@requires("order.v3", [])
def sorted_key_lambda(e: dict[str, Any]) -> list[Any]:
    # expect: undeclared-fallback items[].discount
    return sorted(e["items"], key=lambda item: item.get("discount", 0.0))
