"""Red team against the FastStream guard (syscontract.integrations.faststream), with FastStream's
in-memory test brokers: FastStream features that let a violating message reach the handler, or a
violating message be lost, or a bad option be accepted. tests/integration/test_redteam23_faststream_servers.py
holds the door that needs a real RabbitMQ."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("faststream", reason="the faststream extra: pip install -e '.[faststream]'")

from faststream.rabbit import RabbitBroker, TestRabbitBroker
from integration.brokers import TIER, make_mix

from syscontract import ContractDeclarationError, MissingCriticalField
from syscontract.integrations.faststream import guard

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


def _bad() -> Any:
    """A v2 JSON order without customerTier."""
    bad = make_mix(good=0, bad=2).messages[1]
    assert b"customerTier" not in bad.value
    return bad


@pytest.mark.xfail(strict=True, reason="door: a subscriber decorator above the guard is not guarded")
def test_a_second_subscriber_above_the_guard_never_hands_a_violating_message() -> None:
    bad = _bad()
    broker = RabbitBroker()
    handled: list[dict[str, Any]] = []

    async def scenario() -> None:
        @broker.subscriber("orders-b")
        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders-a")
        async def on_order(order: dict[str, Any]) -> None:
            handled.append(order)

        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, "orders-b", headers=bad.headers)

    with pytest.raises((ContractDeclarationError, MissingCriticalField)):
        asyncio.run(scenario())
    assert [] == handled


async def _fill_tier(message: Any, original: Any) -> Any:
    """A parser that fills the tier the writer did not send."""
    parsed = await original(message)
    body = json.loads(parsed.body)
    body["customer"].setdefault("customerTier", "BASIC")
    parsed.body = json.dumps(body).encode()
    return parsed


@pytest.mark.xfail(strict=True, reason="door: a parser changes the body before the guard sees it")
@pytest.mark.parametrize("where", ["subscriber", "broker"])
def test_a_parser_never_fills_what_the_writer_did_not_send(where: str) -> None:
    bad = _bad()
    broker = RabbitBroker(parser=_fill_tier) if where == "broker" else RabbitBroker()
    handled: list[dict[str, Any]] = []

    async def scenario() -> None:
        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders", **({"parser": _fill_tier} if where == "subscriber" else {}))
        async def on_order(order: dict[str, Any]) -> None:
            handled.append(order)

        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, "orders", headers=bad.headers)

    with pytest.raises((ContractDeclarationError, MissingCriticalField)):
        asyncio.run(scenario())
    assert [] == handled


@pytest.mark.xfail(strict=True, reason="door: a broker passed as dead_letter is accepted, fails per message")
def test_a_broker_is_not_a_dead_letter_publisher() -> None:
    broker = RabbitBroker()
    with pytest.raises(ContractDeclarationError, match=r"broker\.publisher"):

        @guard(CONTRACT, [TIER], dead_letter=broker)
        @broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...


@pytest.mark.xfail(strict=True, reason="door: dead letters published back to the guarded queue loop for ever")
def test_dead_letters_to_the_guarded_queue_itself_are_refused() -> None:
    broker = RabbitBroker()
    with pytest.raises(ContractDeclarationError, match="dead letter"):

        @guard(CONTRACT, [TIER], dead_letter=broker.publisher("orders"))
        @broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...
