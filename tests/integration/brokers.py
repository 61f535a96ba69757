"""The message mix every broker test publishes, and the assertions every broker test makes."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro

from syscontract.wire import CONTRACT_HEADER, confluent

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())
SCHEMAS = {
    version: fastavro.parse_schema(json.loads((DATA / "contracts" / "order" / f"v{version}.avsc").read_text()))
    for version in (2, 3)
}
SCHEMA_IDS = {2: 7, 3: 8}  # tests/data/contracts/order/contract.toml [ids]
TIER = "customer.customerTier"


# -- the message mix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message as published: its bytes, its headers, and what the guard must do with it."""

    order_id: str
    value: bytes
    headers: dict[str, str]
    good: bool
    kind: str
    tier: str | None  # the customerTier actually sent
    reason: str | None  # the violation's reason, for the bad ones


@dataclass
class Mix:
    messages: list[Message] = field(default_factory=list)

    @property
    def good(self) -> list[Message]:
        return [message for message in self.messages if message.good]

    @property
    def bad(self) -> list[Message]:
        return [message for message in self.messages if not message.good]

    def by_id(self, order_id: str) -> Message:
        return next(message for message in self.messages if message.order_id == order_id)

    def by_value(self, value: bytes) -> Message:
        return next(message for message in self.messages if message.value == value)


def _avro(version: int, payload: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, SCHEMAS[version], payload)
    return out.getvalue()


def _order(index: int, tier: str | None, *, version: int, null: bool = False) -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    order["orderId"] = f"ord-{index:04d}"
    order["schemaVersion"] = version
    if version == 2:
        del order["customer"]["customerTier"]
    elif null:
        order["customer"]["customerTier"] = None
    else:
        order["customer"]["customerTier"] = tier
    return order


# never "BASIC" among the good ones: a reader default filled in would show
_TIERS = ("GOLD", "VIP", "SILVER")


def make_mix(good: int = 9, bad: int = 8, *, tag: str = "") -> Mix:
    """``good`` v3 messages (bare Avro named by header, plain JSON, Confluent-framed Avro, in turn)
    and ``bad`` violating ones (v2 Avro named by header, v2 JSON without customerTier, JSON with
    ``customerTier: null``, Confluent-framed v2, in turn), interleaved."""
    mix = Mix()
    goods, bads = [], []
    for index in range(good):
        tier = _TIERS[index % len(_TIERS)]
        order = _order(index, tier, version=3)
        kind = ("avro+header", "json", "confluent")[index % 3]
        if kind == "avro+header":
            value, headers = _avro(3, order), {CONTRACT_HEADER: "order.v3"}
        elif kind == "json":
            value, headers = json.dumps(order).encode(), {"content-type": "application/json"}
        else:
            value, headers = confluent.encode(SCHEMA_IDS[3], _avro(3, order)), {}
        goods.append((order["orderId"], value, headers, kind, tier, None))
    for index in range(good, good + bad):
        kind = ("v2 avro+header", "v2 json", "null json", "v2 confluent")[(index - good) % 4]
        if kind == "v2 avro+header":
            order = _order(index, None, version=2)
            value, headers, reason = _avro(2, order), {CONTRACT_HEADER: "order.v2"}, "not-in-writer-schema"
        elif kind == "v2 json":
            order = _order(index, None, version=2)
            value, headers, reason = json.dumps(order).encode(), {"content-type": "application/json"}, "absent"
        elif kind == "null json":
            order = _order(index, None, version=3, null=True)
            value, headers, reason = json.dumps(order).encode(), {"content-type": "application/json"}, "null"
        else:
            order = _order(index, None, version=2)
            value, headers, reason = confluent.encode(SCHEMA_IDS[2], _avro(2, order)), {}, "not-in-writer-schema"
        bads.append((order["orderId"], value, headers, kind, None, reason))
    # interleave, so good and bad alternate on the wire
    ordered = []
    while goods or bads:
        if goods:
            ordered.append((True, goods.pop(0)))
        if bads:
            ordered.append((False, bads.pop(0)))
    for is_good, (order_id, value, headers, kind, tier, reason) in ordered:
        headers = {**headers, "x-test-id": f"{tag}{order_id}"}
        mix.messages.append(Message(order_id, value, headers, is_good, kind, tier, reason))
    return mix


class Crash(BaseException):
    """The consumer process dying (not an ``Exception``: nothing in a guard may catch it)."""


def handled_check(mix: Mix, handled: list[dict[str, Any]]) -> None:
    """The handler saw exactly the good ones, each with the customerTier that was actually sent."""
    assert sorted(message.order_id for message in mix.good) == sorted(order["orderId"] for order in handled)
    for order in handled:
        sent = mix.by_id(order["orderId"])
        assert sent.good
        assert sent.tier == order["customer"]["customerTier"]  # never a default


def letter_check(mix: Mix, letters: list[tuple[bytes, dict[str, Any]]]) -> None:
    """The dead letters are exactly the bad ones: same bytes, original headers, error headers."""
    assert sorted(message.order_id for message in mix.bad) == sorted(
        mix.by_value(value).order_id for value, _ in letters
    )
    for value, headers in letters:
        sent = mix.by_value(value)
        assert not sent.good
        assert value == sent.value  # byte for byte
        for key, original in sent.headers.items():
            found = headers[key]
            assert original == (found.decode() if isinstance(found, bytes) else found)
        text = {key: found.decode() if isinstance(found, bytes) else found for key, found in headers.items()}
        assert "MissingCriticalField" == text["syscontract-error"]
        assert sent.reason == text["syscontract-error-reason"]
        assert TIER == text["syscontract-error-field"]
        assert "order.v3" == text["syscontract-error-contract"]
        assert "customerTier" in text["syscontract-error-message"]
