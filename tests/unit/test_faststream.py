"""The FastStream guard with FastStream's in-memory test brokers (NATS, RabbitMQ, Redis, Kafka): what the
handler receives, what is dead-lettered, how each policy settles a message, what is refused, and what
the AsyncAPI document, the inventory and the spans show. tests/integration/test_faststream.py runs the
guard on the real servers."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest

pytest.importorskip("faststream", reason="the faststream extra: pip install -e '.[faststream]'")

from faststream import AckPolicy, Context, Depends, Logger
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.message import StreamMessage
from faststream.nats import NatsBroker, PullSub, TestNatsBroker
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from faststream.redis import RedisBroker, StreamSub, TestRedisBroker
from faststream.specification import AsyncAPI
from integration.brokers import TIER, Mix, handled_check, letter_check, make_mix
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

import syscontract
from syscontract import ContractDeclarationError, MissingCriticalField, inventory, requires
from syscontract.integrations.faststream import EXTENSION, guard

pytestmark = pytest.mark.usefixtures("registry")

CONTRACT = "order.v3"


@dataclass
class Kind:
    """One of FastStream's brokers: how to subscribe to the orders and to the dead letters, and publish."""

    name: str
    broker: Callable[..., Any]
    tester: Callable[..., Any]
    orders: dict[str, Any]
    dead: dict[str, Any]
    publish: dict[str, Any]

    def make(self, **kwargs: Any) -> Any:
        return self.broker(**kwargs)


KINDS = [
    Kind("nats", NatsBroker, TestNatsBroker,
         {"subject": "orders", "stream": "ORDERS", "pull_sub": PullSub(), "durable": "pricing"},
         {"subject": "orders-dead", "stream": "ORDERS_DEAD"}, {"subject": "orders"}),
    Kind("rabbit", RabbitBroker, TestRabbitBroker, {"queue": "orders"}, {"queue": "orders.dead-letter"},
         {"queue": "orders"}),
    Kind("redis", RedisBroker, TestRedisBroker, {"stream": StreamSub("orders", group="pricing", consumer="p-1")},
         {"stream": "orders.dead-letter"}, {"stream": "orders"}),
    Kind("kafka", KafkaBroker, TestKafkaBroker, {"topic": "orders", "group_id": "pricing", "ack_policy": AckPolicy.ACK},
         {"topic": "orders.dead-letter"}, {"topic": "orders"}),
]  # fmt: skip


@pytest.fixture(params=KINDS, ids=[kind.name for kind in KINDS])
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def _subscribe(broker: Any, options: dict[str, Any]) -> Any:
    """``broker.subscriber`` with the subject, queue or topic as its first argument (Kafka's is positional)."""
    options = dict(options)
    target = options.pop("subject", None) or options.pop("queue", None) or options.pop("topic", None)
    return broker.subscriber(*((target,) if target else ()), **options)


def _subscribe_dead(broker: Any, kind: Kind, record: Callable[[bytes, dict[str, Any]], None]) -> None:
    dead = dict(kind.dead)
    if kind.name == "nats":
        dead.update(pull_sub=PullSub(), durable="dead")
    elif kind.name == "redis":
        dead = {"stream": StreamSub(dead["stream"], group="audit", consumer="a-1")}
    elif kind.name == "kafka":
        dead.update(group_id="audit", ack_policy=AckPolicy.ACK)

    @_subscribe(broker, dead)
    async def on_dead(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
        record(message.body, dict(message.headers))


def _publisher(broker: Any, kind: Kind) -> Any:
    return broker.publisher(**kind.dead)


async def _send(tester: Any, kind: Kind, mix: Mix) -> None:
    for message in mix.messages:
        await tester.publish(message.value, headers=message.headers, **kind.publish)


def test_every_broker_hands_on_the_good_and_dead_letters_the_bad_with_their_original_bytes(
    kind: Kind, mix: Mix
) -> None:
    broker = kind.make()
    handled: list[dict[str, Any]] = []
    letters: list[tuple[bytes, dict[str, Any]]] = []

    @guard(CONTRACT, [TIER], dead_letter=_publisher(broker, kind))
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    _subscribe_dead(broker, kind, lambda body, headers: letters.append((body, headers)))

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await _send(tester, kind, mix)

    asyncio.run(scenario())
    handled_check(mix, handled)
    letter_check(mix, letters)  # the same bytes, every original header, syscontract's error headers
    for _, headers in letters:
        handler = f"{__name__}.test_every_broker_hands_on_the_good_and_dead_letters_the_bad_with_their_original_bytes"
        assert f"{handler}.<locals>.on_order" == headers["syscontract-error-handler"]


@pytest.fixture
def mix() -> Mix:
    return make_mix()


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes]]]:
    """Every ack / nack / reject of a FastStream message, with the message's body, in order (not the
    dead letters': a test broker consumes those with a subscriber of its own where the test has none)."""
    found: list[tuple[str, bytes]] = []
    for name in ("ack", "nack", "reject"):
        real = getattr(StreamMessage, name)

        def spy(self: StreamMessage[Any], *args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            if self.committed is None and "syscontract-error" not in self.headers:
                found.append((_name, self.body))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(StreamMessage, name, spy)
    yield found


def test_a_dead_letter_is_published_before_the_message_is_acknowledged(
    kind: Kind, settled: list[tuple[str, bytes]]
) -> None:
    mix = make_mix(good=0, bad=1)
    broker = kind.make()
    letters: list[tuple[bytes, dict[str, Any]]] = []
    order: list[str] = []

    @guard(CONTRACT, [TIER], dead_letter=_publisher(broker, kind))
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        raise AssertionError("a violating message reached the handler")

    def record(body: bytes, headers: dict[str, Any]) -> None:
        order.append(f"dead letter {len(settled)} settled before it")
        letters.append((body, headers))

    _subscribe_dead(broker, kind, record)

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await _send(tester, kind, mix)

    asyncio.run(scenario())
    assert ["dead letter 0 settled before it"] == order  # the original was not settled yet when it arrived
    assert ("ack", mix.messages[0].value) in settled  # then acknowledged
    assert all(body != mix.messages[0].value for name, body in settled if name != "ack")


def test_raise_negatively_acknowledges_for_redelivery_and_the_error_propagates(
    kind: Kind, settled: list[tuple[str, bytes]]
) -> None:
    mix = make_mix(good=0, bad=1)
    broker = kind.make()

    @guard(CONTRACT, [TIER], on_violation="raise")
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        raise AssertionError("a violating message reached the handler")

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await _send(tester, kind, mix)

    with pytest.raises(MissingCriticalField):  # the test broker re-raises what the subscriber raised
        asyncio.run(scenario())
    assert [("nack", mix.messages[0].value)] == settled  # never rejected: redelivered


def test_observe_hands_the_handler_what_was_sent(kind: Kind) -> None:
    mix = make_mix(good=1, bad=2)
    broker = kind.make()
    handled: list[dict[str, Any]] = []

    @guard(CONTRACT, [TIER], on_violation="observe")
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await _send(tester, kind, mix)

    asyncio.run(scenario())
    assert [m.order_id for m in mix.messages] == [order["orderId"] for order in handled]
    for order in handled:
        sent = mix.by_id(order["orderId"])
        assert sent.tier == order["customer"].get("customerTier")  # absent or None as sent, never BASIC


def test_fast_depends_injection_is_intact(mix: Mix) -> None:
    broker = NatsBroker()
    seen: list[tuple[str, str, bool, str]] = []

    def region() -> str:
        return "eu"

    @guard(CONTRACT, [TIER], on_violation="observe")
    @broker.subscriber("orders")
    async def on_order(
        order: dict[str, Any],
        logger: Logger,
        message: Annotated[StreamMessage[Any], Context("message")],
        where: Annotated[str, Depends(region)],
    ) -> None:
        seen.append((order["orderId"], order["customer"]["customerTier"], message.body == mix.good[0].value, where))

    async def scenario() -> None:
        async with TestNatsBroker(broker) as tester:
            await tester.publish(mix.good[0].value, "orders", headers=mix.good[0].headers)

    asyncio.run(scenario())
    assert [(mix.good[0].order_id, mix.good[0].tier, True, "eu")] == seen


class Tier(BaseModel):
    customerTier: str = "BASIC"


class Placed(BaseModel):
    orderId: str
    customer: Tier


def test_a_model_contract_hands_the_model_with_what_was_sent_only() -> None:
    syscontract.contract("placed.v1")(Placed)
    broker = RabbitBroker()
    handled: list[Placed] = []

    @guard("placed.v1", ["customer.customerTier"], on_violation="observe")
    @broker.subscriber("orders")
    async def on_order(order: Placed) -> None:
        handled.append(order)

    async def scenario() -> None:
        async with TestRabbitBroker(broker) as tester:
            await tester.publish(b'{"orderId": "o-1", "customer": {"customerTier": "VIP"}}', "orders")
            await tester.publish(b'{"orderId": "o-2", "customer": {}}', "orders")

    asyncio.run(scenario())
    assert [Placed, Placed] == [type(order) for order in handled]
    assert ["VIP", "BASIC"] == [order.customer.customerTier for order in handled]
    assert [{"customerTier"}, set()] == [order.customer.model_fields_set for order in handled]  # what was sent


# -- refused when the guard is built -----------------------------------------------------------------


def test_the_guard_below_the_subscriber_is_refused_with_the_fix() -> None:
    broker = NatsBroker()
    with pytest.raises(ContractDeclarationError, match=r"guard\(\.\.\.\) goes above @broker\.subscriber"):

        @broker.subscriber("orders")
        @guard(CONTRACT, [TIER], on_violation="raise")
        async def on_order(order: dict[str, Any]) -> None: ...


def test_requires_above_the_subscriber_is_refused_with_the_fix() -> None:
    broker = NatsBroker()
    with pytest.raises(ContractDeclarationError, match=r"@requires is above @broker\.subscriber") as caught:

        @requires(CONTRACT, [TIER])
        @broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...

    assert "syscontract.integrations.faststream.guard(...) above @broker.subscriber" in str(caught.value)


def test_a_handler_already_wrapped_by_requires_is_refused() -> None:
    broker = NatsBroker()
    with pytest.raises(ContractDeclarationError, match="already wrapped by @requires"):

        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders")
        @requires(CONTRACT, [TIER])
        async def on_order(order: dict[str, Any]) -> None: ...


def test_kafka_s_default_ack_first_is_refused() -> None:
    broker = KafkaBroker()
    with pytest.raises(ContractDeclarationError, match="ACK_FIRST") as caught:

        @guard(CONTRACT, [TIER], dead_letter=broker.publisher("orders.dead-letter"))
        @broker.subscriber("orders", group_id="pricing")
        async def on_order(order: dict[str, Any]) -> None: ...

    assert "ack_policy=AckPolicy.REJECT_ON_ERROR" in str(caught.value)


@pytest.mark.parametrize(
    ("make", "orders"),
    [
        (NatsBroker, {"subject": "orders"}),
        (RedisBroker, {"channel": "orders"}),
        (RedisBroker, {"list": "orders"}),
        (RedisBroker, {"stream": "orders"}),
    ],
    ids=["core-nats", "redis-channel", "redis-list", "redis-stream-without-group"],
)
def test_raise_where_nothing_redelivers_is_refused(make: Callable[[], Any], orders: dict[str, Any]) -> None:
    broker = make()
    with pytest.raises(ContractDeclarationError, match="would drop a violating message"):

        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber(**orders)
        async def on_order(order: dict[str, Any]) -> None: ...


def test_a_subscriber_with_its_own_decoder_is_refused() -> None:
    broker = RabbitBroker()

    async def decoder(message: Any) -> Any:
        return message.body

    with pytest.raises(ContractDeclarationError, match="its own decoder"):

        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders", decoder=decoder)
        async def on_order(order: dict[str, Any]) -> None: ...


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "needs dead_letter=broker.publisher"),
        ({"on_violation": "ignore"}, "'dead_letter' \\(the default\\), 'raise' or 'observe'"),
        ({"dead_letter": "orders-dead"}, "must be a publisher of the subscriber's broker"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ContractDeclarationError, match=match):
        guard(CONTRACT, [TIER], **options)


@pytest.mark.parametrize(
    ("make", "dead", "match"),
    [
        (NatsBroker, {"subject": "orders-dead"}, "without stream= publishes to core NATS"),
        (RedisBroker, {"channel": "orders-dead"}, "a Redis channel keeps nothing"),
    ],
    ids=["core-nats", "redis-channel"],
)
def test_a_dead_letter_publisher_nothing_confirms_is_refused(
    make: Callable[[], Any], dead: dict[str, Any], match: str
) -> None:
    broker = make()
    with pytest.raises(ContractDeclarationError, match=match):

        @guard(CONTRACT, [TIER], dead_letter=broker.publisher(**dead))
        @broker.subscriber(stream="orders") if make is RedisBroker else broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...


def test_an_unknown_field_is_refused_at_decoration() -> None:
    broker = RabbitBroker()
    with pytest.raises(ContractDeclarationError, match="customerTeir"):

        @guard(CONTRACT, ["customer.customerTeir"], on_violation="raise")
        @broker.subscriber("orders")
        async def on_order(order: dict[str, Any]) -> None: ...


def test_a_batch_subscriber_is_refused() -> None:
    broker = NatsBroker()
    with pytest.raises(ContractDeclarationError, match="one message at a time"):

        @guard(CONTRACT, [TIER], on_violation="raise")
        @broker.subscriber("orders", stream="ORDERS", pull_sub=PullSub(batch=True), durable="pricing")
        async def on_order(orders: list[dict[str, Any]]) -> None: ...


# -- what the rest of the system sees ------------------------------------------------------------------


def test_the_asyncapi_document_shows_the_required_contract_and_its_critical_fields() -> None:
    broker = NatsBroker()

    @guard(CONTRACT, ["orderId"], dead_letter=broker.publisher("orders-dead", stream="ORDERS_DEAD"))
    @broker.subscriber("orders")
    async def on_order(order: dict[str, Any]) -> None: ...

    @broker.subscriber("audit")
    async def on_audit(event: dict[str, Any]) -> None: ...

    schemas = AsyncAPI(broker, schema_version="3.0.0").to_specification().to_jsonable()["components"]["schemas"]
    assert {
        "contract": "order.v3",
        "fields": ["customer.customerTier", "orderId"],  # the contract's own critical list too
        "onViolation": "dead_letter",
        "deadLetter": "orders-dead",
    } == schemas["OnOrder:Message:Payload"][EXTENSION]
    assert EXTENSION not in schemas["OnAudit:Message:Payload"]


def test_the_inventory_lists_a_guarded_handler_like_any_other() -> None:
    broker = RabbitBroker()

    @guard(CONTRACT, [TIER], on_violation="raise")
    @broker.subscriber("orders")
    async def on_order(order: dict[str, Any]) -> None: ...

    name = f"{__name__}.test_the_inventory_lists_a_guarded_handler_like_any_other.<locals>.on_order"
    found = [d for d in inventory.declarations() if d.name == name]
    assert [CONTRACT] == [str(d.ref) for d in found]


def test_syscontract_s_attributes_and_the_dead_letter_sit_inside_faststream_s_span(mix: Mix) -> None:
    from faststream.nats.opentelemetry import NatsTelemetryMiddleware

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    syscontract.configure(tracer_provider=provider)
    broker = NatsBroker(middlewares=[NatsTelemetryMiddleware(tracer_provider=provider)])
    one = make_mix(good=1, bad=1)

    @guard(CONTRACT, [TIER], dead_letter=broker.publisher("orders-dead", stream="ORDERS_DEAD"))
    @broker.subscriber("orders")
    async def on_order(order: dict[str, Any]) -> None: ...

    async def scenario() -> None:
        async with TestNatsBroker(broker) as tester:
            for message in one.messages:
                await tester.publish(message.value, "orders", headers=message.headers)

    try:
        asyncio.run(scenario())
    finally:
        provider.shutdown()
    processed = [s for s in exporter.get_finished_spans() if s.name == "orders process"]
    assert 2 == len(processed)
    outcomes = sorted(str((s.attributes or {}).get("syscontract.outcome")) for s in processed)
    assert ["ok", "violation"] == outcomes
    violating = next(s for s in processed if (s.attributes or {}).get("syscontract.outcome") == "violation")
    assert {"syscontract.violation", "syscontract.dead_letter"} <= {event.name for event in violating.events}
    created = [s for s in exporter.get_finished_spans() if s.name == "orders-dead create"]
    assert 1 == len(created)
    assert created[0].parent is not None
    assert violating.context.span_id == created[0].parent.span_id  # the dead letter's publish nests inside


def test_a_rabbitmq_dead_letter_keeps_the_original_properties_and_a_kafka_one_its_key() -> None:
    bad = make_mix(good=0, bad=1).messages[0]
    rabbit, kafka = RabbitBroker(), KafkaBroker()
    letters: list[Any] = []

    for broker, kind in ((rabbit, KINDS[1]), (kafka, KINDS[3])):

        @guard(CONTRACT, [TIER], dead_letter=_publisher(broker, kind))
        @_subscribe(broker, kind.orders)
        async def on_order(order: dict[str, Any]) -> None:
            raise AssertionError("a violating message reached the handler")

        dead = _subscribe(broker, {**kind.dead, **({"group_id": "audit"} if broker is kafka else {})})

        @dead
        async def on_dead(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
            letters.append(message.raw_message)

    async def scenario() -> None:
        async with TestRabbitBroker(rabbit) as tester:
            await tester.publish(bad.value, queue="orders", headers=bad.headers, message_id="m-1",
                                 content_type="application/avro", priority=3)  # fmt: skip
        async with TestKafkaBroker(kafka) as tester:
            await tester.publish(bad.value, "orders", headers=bad.headers, key=b"cust-1")

    asyncio.run(scenario())
    by_rabbit, by_kafka = letters
    assert ("m-1", "application/avro", 3) == (by_rabbit.message_id, by_rabbit.content_type, by_rabbit.priority)
    assert "m-1" == by_rabbit.headers["syscontract-error-id"]
    assert b"cust-1" == by_kafka.key


def test_without_faststream_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from syscontract import MissingDependencyError

    broker = RabbitBroker()
    subscribed = broker.subscriber("orders")

    async def on_order(order: dict[str, Any]) -> None: ...

    wrapper = subscribed(on_order)
    monkeypatch.setitem(sys.modules, "faststream", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'syscontract\[faststream\]'"):
        guard(CONTRACT, [TIER], on_violation="raise")(wrapper)


CONSUMER = """
from faststream.nats import NatsBroker, PullSub
from syscontract.integrations.faststream import guard

broker = NatsBroker("nats://127.0.0.1:4222")


@guard("order.v3", ["customer.customerTier"], dead_letter=broker.publisher("orders-dead", stream="ORDERS_DEAD"))
@broker.subscriber("orders.placed", stream="ORDERS", pull_sub=PullSub(), durable="pricing")
async def on_order(order: dict) -> None: ...
"""


def test_syscontract_inventory_lists_a_guarded_faststream_handler(tmp_path: Path, contracts_dir: Path) -> None:
    shutil.copytree(contracts_dir, tmp_path / "contracts")
    (tmp_path / "consumer.py").write_text(CONSUMER)
    result = subprocess.run(
        [sys.executable, "-m", "syscontract", "inventory", "consumer.py", "--service", "pricing",
         "--environment", "prod"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    assert [
        {
            "contract": "order.v3",
            "fields": ["customer.customerTier"],
            "handler": "consumer.on_order",
            "role": "consumer",
        }
    ] == json.loads(result.stdout)["declarations"]


def test_single_object_avro_reaches_the_check_as_sent(kind: Kind, registry: syscontract.FileRegistry) -> None:
    from integration.brokers import ORDER

    from syscontract.wire import avro, single_object

    def framed(ref: str, order: dict[str, Any]) -> bytes:
        contract = registry.get(ref)
        assert contract.avro_fingerprint is not None
        return single_object.encode(contract.avro_fingerprint, avro.encode(order, contract.native))

    stale = {**ORDER, "customer": {k: v for k, v in ORDER["customer"].items() if k != "customerTier"}}
    sent = {
        "v3": framed("order.v3", {**ORDER, "orderId": "so-3"}),
        "v2": framed("order.v2", {**stale, "orderId": "so-2"}),
    }
    broker = kind.make()
    handled: list[dict[str, Any]] = []
    letters: list[tuple[bytes, dict[str, Any]]] = []

    @guard(CONTRACT, [TIER], dead_letter=_publisher(broker, kind))
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    _subscribe_dead(broker, kind, lambda body, headers: letters.append((body, headers)))

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            for value in sent.values():
                await tester.publish(value, **kind.publish)

    asyncio.run(scenario())
    assert [("so-3", ORDER["customer"]["customerTier"])] == [
        (o["orderId"], o["customer"]["customerTier"]) for o in handled
    ]
    assert [(sent["v2"], "not-in-writer-schema")] == [(body, h["syscontract-error-reason"]) for body, h in letters]


def test_observe_still_dead_letters_bytes_that_cannot_be_decoded(kind: Kind) -> None:
    broker = kind.make()
    handled: list[dict[str, Any]] = []
    letters: list[tuple[bytes, dict[str, Any]]] = []

    @guard(CONTRACT, [TIER], on_violation="observe", dead_letter=_publisher(broker, kind))
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    _subscribe_dead(broker, kind, lambda body, headers: letters.append((body, headers)))

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await tester.publish(b'{"orderId": "o-1", "customer": ', **kind.publish)

    asyncio.run(scenario())
    assert [] == handled
    assert [(b'{"orderId": "o-1", "customer": ', "DecodeError")] == [(b, h["syscontract-error"]) for b, h in letters]


def test_counts_are_exact_for_a_guarded_subscriber(kind: Kind, mix: Mix) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from syscontract import telemetry

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    syscontract.configure(meter_provider=provider)
    broker = kind.make()

    @guard(CONTRACT, [TIER], dead_letter=_publisher(broker, kind))
    @_subscribe(broker, kind.orders)
    async def on_order(order: dict[str, Any]) -> None: ...

    _subscribe_dead(broker, kind, lambda body, headers: None)

    async def scenario() -> None:
        async with kind.tester(broker) as tester:
            await _send(tester, kind, mix)

    try:
        asyncio.run(scenario())
    finally:
        provider.shutdown()
    counts: dict[str, int] = {}
    for contract, _, outcome, _, count in telemetry.counts():
        if contract == CONTRACT:
            counts[outcome] = counts.get(outcome, 0) + count
    assert {"ok": len(mix.good), "violation": len(mix.bad)} == counts


@pytest.mark.parametrize(
    "policy", [AckPolicy.REJECT_ON_ERROR, AckPolicy.NACK_ON_ERROR, AckPolicy.ACK, AckPolicy.MANUAL]
)
@pytest.mark.parametrize("on_violation", ["dead_letter", "raise"])
def test_the_guard_settles_a_violating_message_whatever_the_ack_policy(
    policy: AckPolicy, on_violation: str, settled: list[tuple[str, bytes]]
) -> None:
    from faststream.exceptions import AckMessage

    bad = make_mix(good=0, bad=1).messages[0]
    broker = RabbitBroker()
    dead = broker.publisher("orders.dead-letter") if on_violation == "dead_letter" else None

    @guard(CONTRACT, [TIER], on_violation=on_violation, dead_letter=dead)
    @broker.subscriber("orders", ack_policy=policy)
    async def on_order(order: dict[str, Any]) -> None:
        raise AssertionError("a violating message reached the handler")

    async def scenario() -> None:
        async with TestRabbitBroker(broker) as tester:
            await tester.publish(bad.value, "orders", headers=bad.headers)

    if on_violation == "raise":
        expected: tuple[type[BaseException], ...] = (MissingCriticalField,)
    else:  # FastStream's test broker re-raises the AckMessage only where no ack middleware handles it
        expected = (AckMessage,) if policy is AckPolicy.MANUAL else ()
    if expected:
        with pytest.raises(expected):
            asyncio.run(scenario())
    else:
        asyncio.run(scenario())
    assert [("ack" if on_violation == "dead_letter" else "nack", bad.value)] == [
        (name, body) for name, body in settled if body == bad.value
    ]


def test_a_router_s_subscriber_is_guarded_once_the_router_is_included(mix: Mix) -> None:
    from faststream.rabbit import RabbitRouter

    broker, router = RabbitBroker(), RabbitRouter(prefix="shop.")
    handled: list[dict[str, Any]] = []
    letters: list[tuple[bytes, dict[str, Any]]] = []

    @guard(CONTRACT, [TIER], dead_letter=router.publisher("orders.dead-letter"))
    @router.subscriber("orders")
    async def on_order(order: dict[str, Any]) -> None:
        handled.append(order)

    @router.subscriber("orders.dead-letter")
    async def on_dead(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
        letters.append((message.body, dict(message.headers)))

    broker.include_router(router)

    async def scenario() -> None:
        async with TestRabbitBroker(broker) as tester:
            for message in mix.messages:
                await tester.publish(message.value, "shop.orders", headers=message.headers)

    asyncio.run(scenario())
    handled_check(mix, handled)
    letter_check(mix, letters)
