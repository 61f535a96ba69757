"""Dead letters under faults: a sink that raises, a sink that is slow.

A failing sink's exception propagates (the broker does not acknowledge the message), the handler is
not called, and the violation it was handed stays reachable from what is raised, with the message
exactly as it arrived: nothing is lost. A slow sink holds up only the message it is handling.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from threads import background, run_threads

import syscontract
from syscontract import (
    Contract,
    ContractError,
    ContractViolation,
    DeadLetter,
    DecodeError,
    MemoryRegistry,
    MissingCriticalField,
    RegistryError,
    requires,
    telemetry,
)
from syscontract.wire import avro, confluent

DATA = Path(__file__).parent.parent / "data"
TIER = "customer.customerTier"
ORDER: dict[str, Any] = json.loads((DATA / "order_event.json").read_text())
V2 = Contract.from_avro("order.v2", (DATA / "contracts" / "order" / "v2.avsc").read_text())
V3 = Contract.from_avro("order.v3", (DATA / "contracts" / "order" / "v3.avsc").read_text())
SLOW = 0.5  # seconds the slow sink takes per message
NO_HANG = 30.0


class SinkDown(ConnectionError):
    """What a dead-letter producer raises when its topic cannot be reached."""


@pytest.fixture(autouse=True)
def registry() -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add(V2, schema_id=7)
    registry.add(V3, schema_id=8)
    syscontract.configure(registry=registry)
    return registry


def stale() -> dict[str, Any]:
    message = copy.deepcopy(ORDER)
    del message["customer"]["customerTier"]
    return message


def bad_messages() -> list[tuple[str, Any, type[ContractError]]]:
    """One message per way a message can fail, with the error the sink is handed."""
    return [
        ("dict", stale(), MissingCriticalField),
        ("json bytes", json.dumps(stale()).encode(), MissingCriticalField),
        ("avro from a v2 writer", confluent.encode(7, avro.encode(stale(), V2.native)), MissingCriticalField),
        ("not json", b"{not json", DecodeError),
        ("unknown schema id", confluent.encode(999, b"\x00"), RegistryError),
    ]


IDS = [label for label, _, _ in bad_messages()]


def chain(error: BaseException | None) -> list[BaseException]:
    """``error``, then its causes and contexts, as a traceback would print them."""
    found: list[BaseException] = []
    while error is not None and error not in found:
        found.append(error)
        error = error.__cause__ or error.__context__
    return found


def failing_sink(letters: list[DeadLetter]) -> Any:
    def sink(letter: DeadLetter) -> None:
        letters.append(letter)
        raise SinkDown("dead-letter topic unreachable")

    return sink


# -- a sink that raises ---------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "message", "kind"), bad_messages(), ids=IDS)
def test_a_failing_sink_propagates_and_the_handler_is_not_called(
    label: str, message: Any, kind: type[ContractError]
) -> None:
    letters: list[DeadLetter] = []
    called: list[Any] = []
    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=failing_sink(letters))(called.append)

    with pytest.raises(SinkDown):
        handler(message)

    assert [] == called
    (letter,) = letters
    assert (message, kind) == (letter.payload, type(letter.error))
    assert letter.payload is message


@pytest.mark.parametrize(("label", "message", "kind"), bad_messages(), ids=IDS)
def test_a_failing_sinks_error_chains_to_the_violation_with_the_original_message(
    label: str, message: Any, kind: type[ContractError]
) -> None:
    letters: list[DeadLetter] = []
    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=failing_sink(letters))(lambda event: event)

    with pytest.raises(SinkDown) as caught:
        handler(message)

    original = [error for error in chain(caught.value) if isinstance(error, ContractError)]
    assert [letters[0].error] == original, "the violation the sink was handed is not reachable from the raised error"
    assert original[0].payload is message


@pytest.mark.parametrize(("label", "message", "kind"), bad_messages(), ids=IDS)
def test_a_failing_async_sink_chains_to_the_violation_and_the_handler_is_not_awaited(
    label: str, message: Any, kind: type[ContractError]
) -> None:
    letters: list[DeadLetter] = []
    called: list[Any] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)
        await asyncio.sleep(0)
        raise SinkDown("dead-letter topic unreachable")

    @requires(V3, [TIER], on_violation="dead_letter", dead_letter=sink)
    async def on_order(event: Any) -> None:
        called.append(event)

    with pytest.raises(SinkDown) as caught:
        asyncio.run(on_order(message))

    assert [] == called
    original = [error for error in chain(caught.value) if isinstance(error, ContractError)]
    assert [letters[0].error] == original
    assert original[0].payload is message


def test_a_sink_that_chains_its_own_cause_still_leads_back_to_the_violation() -> None:
    letters: list[DeadLetter] = []

    def sink(letter: DeadLetter) -> None:
        letters.append(letter)
        try:
            raise TimeoutError("broker did not answer")
        except TimeoutError as exc:
            raise SinkDown("dead-letter topic unreachable") from exc

    message = stale()
    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=sink)(lambda event: event)
    with pytest.raises(SinkDown) as caught:
        handler(message)

    kinds = [type(error) for error in chain(caught.value)]
    assert [SinkDown, TimeoutError] == kinds[:2]
    assert MissingCriticalField in kinds, "the violation is lost behind the sink's own cause"


def test_a_failing_sink_still_leaves_the_violation_in_the_log_and_the_counts(caplog: pytest.LogCaptureFixture) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    syscontract.configure(meter_provider=provider)
    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=failing_sink([]))(lambda event: event)

    for _ in range(5):
        with pytest.raises(SinkDown):
            handler(stale())

    violations = [r for r in caplog.records if r.name == "syscontract" and r.levelname == "ERROR"]
    assert 5 == len(violations)
    assert all("dead_letter" in r.getMessage() and TIER in r.getMessage() for r in violations)
    data = reader.get_metrics_data()
    points = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == telemetry.MESSAGES
        for point in metric.data.data_points
    ]
    assert [5] == [p.value for p in points if p.attributes[telemetry.OUTCOME] == telemetry.VIOLATION]
    provider.shutdown()


def test_eight_threads_with_a_sink_that_fails_now_and_then_lose_nothing() -> None:
    """Every message ends handled, dead-lettered, or raised with its violation and payload in the chain."""
    handled: list[Any] = []
    lettered: list[Any] = []
    raised: list[BaseException] = []
    lock = threading.Lock()
    calls = iter(range(10**9))

    def sink(letter: DeadLetter) -> None:
        if next(calls) % 3 == 0:
            raise SinkDown("dead-letter topic unreachable")
        with lock:
            lettered.append(letter.payload)

    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=sink)(handled.append)
    per_thread = 600
    sent: list[list[Any]] = [[copy.deepcopy(ORDER) if i % 2 else stale() for i in range(per_thread)] for _ in range(8)]
    stop = threading.Event()

    def consume(number: int) -> None:
        for message in sent[number]:
            if stop.is_set():
                return
            try:
                handler(message)
            except SinkDown as error:
                with lock:
                    raised.append(error)

    run_threads(8, consume, stop=stop)

    violating = [m for messages in sent for m in messages if "customerTier" not in m["customer"]]
    assert 8 * per_thread == len(handled) + len(lettered) + len(raised)
    assert 8 * per_thread // 2 == len(handled) == len(violating)
    recovered = [
        error.payload for failure in raised for error in chain(failure) if isinstance(error, ContractViolation)
    ]
    kept = {id(payload) for payload in lettered + recovered}
    assert {id(m) for m in violating} == kept, "a violating message is neither dead-lettered nor in a raised chain"


# -- a sink that is slow --------------------------------------------------------------------------


def test_a_slow_sink_does_not_hold_up_other_handlers_in_other_threads() -> None:
    started, finished = threading.Event(), threading.Event()

    def slow_sink(letter: DeadLetter) -> None:
        started.set()
        time.sleep(SLOW)
        finished.set()

    slow = requires(V3, [TIER], on_violation="dead_letter", dead_letter=slow_sink)(lambda event: None)
    fast = requires(V3, [TIER, "orderId"])(lambda event: None)
    frame = confluent.encode(8, avro.encode(ORDER, V3.native))
    fast(ORDER)
    fast(frame)
    during = {"dict": 0, "avro": 0}

    def other(stop: threading.Event) -> None:
        started.wait(NO_HANG)
        while not (finished.is_set() or stop.is_set()):
            fast(ORDER)
            during["dict"] += 1
            fast(frame)
            during["avro"] += 1

    with background(other):
        slow(stale())

    assert finished.is_set()
    # a fast-path message costs microseconds: half a second of a blocked fast path would show as a handful
    assert during["dict"] > 1_000 and during["avro"] > 1_000, during


def test_a_slow_sink_does_not_hold_up_the_same_handlers_fast_path_in_other_threads() -> None:
    started, finished = threading.Event(), threading.Event()

    def slow_sink(letter: DeadLetter) -> None:
        started.set()
        time.sleep(SLOW)
        finished.set()

    handled = []
    handler = requires(V3, [TIER], on_violation="dead_letter", dead_letter=slow_sink)(handled.append)
    handler(ORDER)
    during = 0

    def other(stop: threading.Event) -> None:
        nonlocal during
        started.wait(NO_HANG)
        while not (finished.is_set() or stop.is_set()):
            handler(ORDER)
            during += 1

    with background(other):
        handler(stale())

    assert during > 1_000
    assert 1 + during == len(handled)


def test_a_slow_async_sink_does_not_hold_up_other_tasks() -> None:
    finished = asyncio.Event()

    async def slow_sink(letter: DeadLetter) -> None:
        await asyncio.sleep(SLOW)
        finished.set()

    handled = []

    @requires(V3, [TIER], on_violation="dead_letter", dead_letter=slow_sink)
    async def on_order(event: dict[str, Any]) -> None:
        handled.append(event)

    async def main() -> tuple[int, float]:
        started = time.monotonic()
        slow_one = asyncio.create_task(on_order(stale()))
        await asyncio.sleep(0)  # the slow sink is now waiting
        await asyncio.gather(*(on_order(ORDER) for _ in range(1_000)))
        done_before = 0 if finished.is_set() else len(handled)
        await slow_one
        return done_before, time.monotonic() - started

    done_before_the_sink, elapsed = asyncio.run(asyncio.wait_for(main(), NO_HANG))

    assert 1_000 == done_before_the_sink  # all thousand were handled while the sink still waited
    assert elapsed < 10.0
