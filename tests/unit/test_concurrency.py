"""Concurrency: 8 threads and 1,000 asyncio tasks through the same decorated handlers.

Every message gets the verdict a single thread gives it (compared message by message), telemetry
counts every message exactly once, the per-writer caches hold what a single thread would have put
there, and a registry replaced while messages flow never exposes half-built state.

Verdicts are computed first, single-threaded, on handlers declared separately, so the concurrent
run starts from cold caches: first calls, writer plans and checker builds all race.

Threads run through ``threads.run_threads``: daemon threads whose loops watch a ``stop`` event that is
set whatever happens, so a test that fails or gives up leaves nothing running into the next one.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from pydantic import BaseModel
from threads import NO_HANG, run_threads

import syscontract
from syscontract import Contract, ContractError, FileRegistry, MemoryRegistry, requires, telemetry
from syscontract._engine.decoder import MAX_WRITERS
from syscontract.wire import avro, confluent

DATA = Path(__file__).parent.parent / "data"
CONTRACTS = DATA / "contracts"
TIER = "customer.customerTier"
FIELDS = ["orderId", TIER, "items[].sku"]
ORDER: dict[str, Any] = json.loads((DATA / "order_event.json").read_text())
V2 = Contract.from_avro("order.v2", (CONTRACTS / "order" / "v2.avsc").read_text())
V3 = Contract.from_avro("order.v3", (CONTRACTS / "order" / "v3.avsc").read_text())
V4 = Contract.from_jsonschema("order.v4", (CONTRACTS / "order" / "v4.schema.json").read_text())
THREADS = 8
requires_module = importlib.import_module("syscontract._requires")
declaration_module = importlib.import_module("syscontract._engine.declaration")
TASKS = 1_000
REPLACEMENTS = 400  # registry replacements while messages flow


# -- contracts, messages, handlers ------------------------------------------------------------------


class Line(BaseModel):
    sku: str | None = None
    qty: int = 1


class Shop(BaseModel):
    orderId: str
    tier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    items: list[Line] = []


def memory_registry() -> MemoryRegistry:
    """order v2 and v3 (Avro, Confluent ids 7 and 8, as in tests/data/contracts/order/contract.toml)
    and v4 (JSON Schema), as fresh objects each time."""
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("order.v2", (CONTRACTS / "order" / "v2.avsc").read_text()), schema_id=7)
    registry.add(Contract.from_avro("order.v3", (CONTRACTS / "order" / "v3.avsc").read_text()), schema_id=8)
    registry.add(Contract.from_jsonschema("order.v4", (CONTRACTS / "order" / "v4.schema.json").read_text()))
    return registry


@pytest.fixture
def memory() -> MemoryRegistry:
    registry = memory_registry()
    syscontract.configure(registry=registry)
    return registry


@pytest.fixture
def shop() -> type[Shop]:
    return syscontract.contract("shop.order.v1")(Shop)


class Meters:
    """A MeterProvider with an in-memory reader, handed to syscontract.configure()."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def messages(self) -> Counter[tuple[str, str, str | None]]:
        """``syscontract.messages`` now: (contract, outcome, writer version) -> count."""
        data = self.reader.get_metrics_data()
        found: Counter[tuple[str, str, str | None]] = Counter()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if scope.scope.name != telemetry.METER or metric.name != telemetry.MESSAGES:
                        continue
                    for point in metric.data.data_points:
                        attributes = point.attributes
                        key = (
                            attributes[telemetry.CONTRACT],
                            attributes[telemetry.OUTCOME],
                            attributes.get(telemetry.WRITER_VERSION),
                        )
                        found[key] += point.value
        return found


@pytest.fixture
def meters() -> Iterator[Meters]:
    meters = Meters()
    syscontract.configure(meter_provider=meters.provider)
    yield meters
    meters.provider.shutdown()


def framed(contract: Contract, schema_id: int, payload: dict[str, Any]) -> bytes:
    return confluent.encode(schema_id, avro.encode(payload, contract.native))


def order_messages() -> list[tuple[str, Any]]:
    """Messages for a ``requires("order.v3", FIELDS)`` handler: valid and violating, as dicts, JSON
    bytes and text, and Confluent-framed Avro (ids 7 and 8 known, 999 not)."""
    no_tier = copy.deepcopy(ORDER)
    del no_tier["customer"]["customerTier"]
    null_tier = copy.deepcopy(ORDER)
    null_tier["customer"]["customerTier"] = None
    int_tier = copy.deepcopy(ORDER)
    int_tier["customer"]["customerTier"] = 3
    no_sku = copy.deepcopy(ORDER)
    del no_sku["items"][1]["sku"]
    other = copy.deepcopy(ORDER)
    other["orderId"] = "ord-other"
    v2_shaped = copy.deepcopy(no_tier)
    good_v3 = framed(V3, 8, ORDER)
    return [
        ("dict", copy.deepcopy(ORDER)),
        ("dict, other id", other),
        ("dict without tier", no_tier),
        ("dict with null tier", null_tier),
        ("dict with int tier", int_tier),
        ("dict without a sku", no_sku),
        ("json bytes", json.dumps(ORDER).encode()),
        ("json bytes without tier", json.dumps(no_tier).encode()),
        ("json text", json.dumps(other)),
        ("not json", b"{not json"),
        ("avro v3", good_v3),
        ("avro v3, other id", framed(V3, 8, other)),
        ("avro v2", framed(V2, 7, v2_shaped)),
        ("avro unknown id", confluent.encode(999, avro.encode(ORDER, V3.native))),
        ("avro truncated", good_v3[:-7]),
    ]


def shop_messages() -> list[tuple[str, Any]]:
    """Messages for a ``requires("shop.order.v1", ["tier", "items[].sku"])`` handler."""
    return [
        ("model", Shop(orderId="s-1", tier="VIP", items=[Line(sku="a")])),
        ("model with defaulted tier", Shop(orderId="s-2", items=[Line(sku="a")])),
        ("model with a null sku", Shop(orderId="s-3", tier="GOLD", items=[Line(sku="a"), Line()])),
        ("dict", {"orderId": "s-4", "tier": "SILVER", "items": [{"sku": "b"}]}),
        ("dict without tier", {"orderId": "s-5", "items": [{"sku": "b"}]}),
        ("json bytes", b'{"orderId": "s-6", "tier": "VIP", "items": [{"sku": "c"}]}'),
        ("json bytes with a bad tier", b'{"orderId": "s-7", "tier": "PLATINUM", "items": []}'),
    ]


def canonical(received: Any) -> str:
    """What a handler received, comparable across runs."""
    if isinstance(received, BaseModel):
        return f"{type(received).__name__}:{received.model_dump_json()}"
    return json.dumps(received, sort_keys=True, default=repr)


Verdict = tuple[Any, ...]


def outcome(message: Any, error: BaseException) -> Verdict:
    if not isinstance(error, ContractError):
        return ("ESCAPED", type(error).__name__, str(error))  # never expected
    return (type(error).__name__, error.reason, error.field, error.writer, error.payload is message)


def verdict(handler: Callable[[Any], Any], message: Any) -> Verdict:
    try:
        return ("handled", handler(message))
    except BaseException as error:  # anything else is a finding, recorded as such
        return outcome(message, error)


async def verdict_async(handler: Callable[[Any], Any], message: Any) -> Verdict:
    try:
        return ("handled", await handler(message))
    except BaseException as error:
        return outcome(message, error)


def sync_handlers() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    @requires("order.v3", FIELDS)
    def on_order(event: dict[str, Any]) -> str:
        return canonical(event)

    @requires("shop.order.v1", ["tier", "items[].sku"])
    def on_shop(event: Shop) -> str:
        return canonical(event)

    return on_order, on_shop


def async_handlers() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    @requires("order.v3", FIELDS)
    async def on_order(event: dict[str, Any]) -> str:
        await asyncio.sleep(0)  # let the other tasks in between the check and the handler's work
        return canonical(event)

    @requires("shop.order.v1", ["tier", "items[].sku"])
    async def on_shop(event: Shop) -> str:
        await asyncio.sleep(0)
        return canonical(event)

    return on_order, on_shop


Work = list[tuple[int, Callable[[Any], Any], Any]]  # (message index, handler, message)


def work(on_order: Callable[[Any], Any], on_shop: Callable[[Any], Any]) -> Work:
    orders = [(on_order, message) for _, message in order_messages()]
    shops = [(on_shop, message) for _, message in shop_messages()]
    return [(index, handler, message) for index, (handler, message) in enumerate(orders + shops)]


def single_threaded(meters: Meters) -> tuple[list[Verdict], Counter[tuple[str, str, str | None]]]:
    """The verdicts one thread gives, on handlers of their own, and the telemetry of one pass."""
    before = meters.messages()
    verdicts = [verdict(handler, message) for _, handler, message in work(*sync_handlers())]
    return verdicts, meters.messages() - before


def times(counts: Counter[tuple[str, str, str | None]], factor: int) -> Counter[tuple[str, str, str | None]]:
    return Counter({key: value * factor for key, value in counts.items()})


# -- the reference: what one thread sees ---------------------------------------------------------------


@pytest.mark.usefixtures("memory", "shop")
def test_the_single_threaded_verdicts_cover_every_outcome(meters: Meters) -> None:
    verdicts, counted = single_threaded(meters)
    kinds = Counter(v[0] for v in verdicts)
    assert {"handled": 9, "MissingCriticalField": 8, "FieldTypeError": 2, "DecodeError": 2, "RegistryError": 1} == kinds
    assert all(v[-1] is True for v in verdicts if v[0] != "handled")  # every error carries the message itself
    assert len(verdicts) == sum(counted.values())
    assert 2 == counted[("order.v3", "ok", "order.v3")]
    assert 1 == counted[("order.v3", "violation", "order.v2")]


# -- 8 threads ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("memory", "shop")
def test_eight_threads_get_the_single_threaded_verdicts_and_exact_counts(meters: Meters) -> None:
    expected, one_pass = single_threaded(meters)
    on_order, on_shop = sync_handlers()
    jobs = work(on_order, on_shop)
    passes = 40
    seen: list[list[tuple[int, Verdict]]] = [[] for _ in range(THREADS)]
    stop = threading.Event()

    def consume(number: int) -> None:
        shuffled = random.Random(number)
        for _ in range(passes):
            if stop.is_set():
                return
            order = jobs[:]
            shuffled.shuffle(order)
            seen[number] += [(index, verdict(handler, message)) for index, handler, message in order]

    before = meters.messages()
    run_threads(THREADS, consume, stop=stop)

    wrong = [(index, got) for results in seen for index, got in results if got != expected[index]]
    assert [] == wrong
    assert THREADS * passes * len(jobs) == sum(len(results) for results in seen)
    assert times(one_pass, THREADS * passes) == meters.messages() - before


@pytest.mark.usefixtures("memory", "shop")
def test_eight_threads_leave_the_writer_caches_as_one_thread_would(meters: Meters) -> None:
    on_order, _ = sync_handlers()
    reference, _ = sync_handlers()
    messages = [message for _, message in order_messages()]
    for message in messages:
        verdict(reference, message)
    checker = on_order.__syscontract__.checker  # type: ignore[attr-defined]

    stop = threading.Event()

    def consume(number: int) -> None:
        for _ in range(50):
            if stop.is_set():
                return
            for message in messages:
                verdict(on_order, message)

    run_threads(THREADS, consume, stop=stop)

    assert checker is on_order.__syscontract__.checker  # type: ignore[attr-defined]
    plans = checker.decoder._plans
    expected = reference.__syscontract__.checker.decoder._plans  # type: ignore[attr-defined]
    assert {("confluent", 7), ("confluent", 8)} == set(plans) == set(expected)
    for key, plan in plans.items():
        assert (expected[key].label, expected[key].kind, expected[key].missing, expected[key].scan) == (
            plan.label, plan.kind, plan.missing, plan.scan,
        )  # fmt: skip
    assert "order.v2" == plans[("confluent", 7)].label
    assert (TIER,) == tuple(path for path, _ in plans[("confluent", 7)].missing)
    prefix = b"\x00" + (8).to_bytes(4, "big")
    assert [prefix] == list(checker.decoder.fast_avro)
    writer_schema, reader_schema, label, sound, wrap = checker.decoder.fast_avro[prefix]
    expected_entry = (plans[("confluent", 8)].writer_schema, None, "order.v3", True, None)
    assert expected_entry == (writer_schema, reader_schema, label, sound, wrap)


@pytest.mark.usefixtures("meters")
def test_eight_threads_rotating_more_writer_ids_than_the_cache_holds_keep_it_bounded_and_right() -> None:
    registry = MemoryRegistry()
    ids = range(1_000, 1_000 + 2 * MAX_WRITERS)
    for schema_id in ids:
        registry.add(V3 if schema_id % 2 == 0 else V2, schema_id=schema_id)
    stale = copy.deepcopy(ORDER)
    del stale["customer"]["customerTier"]
    frames = {i: framed(V3, i, ORDER) if i % 2 == 0 else framed(V2, i, stale) for i in ids}
    received = Counter[int]()
    lock = threading.Lock()

    @requires(V3, FIELDS, registry=registry)
    def on_order(event: dict[str, Any]) -> None:
        with lock:
            received[event["schemaVersion"]] += 1

    wrong: list[tuple[int, Verdict]] = []
    stop = threading.Event()

    def consume(number: int) -> None:
        order = list(ids)
        random.Random(number).shuffle(order)
        for schema_id in order:
            if stop.is_set():
                return
            got = verdict(on_order, frames[schema_id])
            want = ("handled", None) if schema_id % 2 == 0 else (
                "MissingCriticalField", "not-in-writer-schema", TIER, "order.v2", True,
            )  # fmt: skip
            if got != want:
                wrong.append((schema_id, got))

    run_threads(THREADS, consume, stop=stop)

    assert [] == wrong
    assert {3: THREADS * MAX_WRITERS} == dict(received)
    decoder = on_order.__syscontract__.checker.decoder  # type: ignore[attr-defined]
    assert 0 < len(decoder._plans) <= MAX_WRITERS
    assert 0 < len(decoder.fast_avro) <= MAX_WRITERS
    for (kind, schema_id), plan in list(decoder._plans.items()):
        assert ("confluent", "order.v3" if schema_id % 2 == 0 else "order.v2") == (kind, plan.label)
    for prefix, (_, _, label, _, _) in list(decoder.fast_avro.items()):
        schema_id = int.from_bytes(prefix[1:], "big")
        assert (0, 0, "order.v3") == (prefix[0], schema_id % 2, label)


# -- 1,000 asyncio tasks -------------------------------------------------------------------------------


@pytest.mark.usefixtures("memory", "shop")
def test_a_thousand_tasks_get_the_single_threaded_verdicts_and_exact_counts(meters: Meters) -> None:
    expected, one_pass = single_threaded(meters)
    jobs = work(*async_handlers())
    chosen = [jobs[i % len(jobs)] for i in range(TASKS)]

    async def main() -> list[Verdict]:
        return await asyncio.gather(*(verdict_async(handler, message) for _, handler, message in chosen))

    before = meters.messages()
    got = asyncio.run(asyncio.wait_for(main(), NO_HANG))

    assert [] == [(index, v) for (index, _, _), v in zip(chosen, got, strict=True) if v != expected[index]]
    rounds, rest = divmod(TASKS, len(jobs))
    assert times(one_pass, rounds) + single_pass_counts(one_pass, expected, jobs[:rest]) == meters.messages() - before


def single_pass_counts(
    one_pass: Counter[tuple[str, str, str | None]], expected: list[Verdict], partial: Work
) -> Counter[tuple[str, str, str | None]]:
    """The counts of a partial pass, from the verdicts of its messages."""
    counts: Counter[tuple[str, str, str | None]] = Counter()
    for index, _, message in partial:
        contract = "order.v3" if index < len(order_messages()) else "shop.order.v1"
        kind = expected[index][0]
        writer = _writer_label(message)
        if kind == "handled":
            counts[(contract, "ok", writer)] += 1
        elif kind in ("MissingCriticalField", "FieldTypeError"):
            counts[(contract, "violation", expected[index][3])] += 1
        else:
            counts[(contract, "decode_error", expected[index][3])] += 1
    assert all(key in one_pass for key in counts)
    return counts


def _writer_label(message: Any) -> str | None:
    if isinstance(message, bytes) and confluent.detect(message):
        return {7: "order.v2", 8: "order.v3"}.get(confluent.decode(message)[0])  # type: ignore[call-overload]
    return None


@pytest.mark.usefixtures("memory", "shop")
def test_threads_and_tasks_at_once_on_shared_contracts_count_every_message_once(meters: Meters) -> None:
    expected, one_pass = single_threaded(meters)
    sync_jobs = work(*sync_handlers())
    async_jobs = work(*async_handlers())
    passes = 20
    async_passes = TASKS // len(async_jobs)
    wrong: list[tuple[str, int, Verdict]] = []
    stop = threading.Event()

    def consume(number: int) -> None:
        if number == 0:  # one thread runs an event loop with the tasks

            async def main() -> list[Verdict]:
                chosen = async_jobs * async_passes
                return await asyncio.gather(*(verdict_async(h, m) for _, h, m in chosen))

            got = asyncio.run(main())
            indexes = [index for index, _, _ in async_jobs * async_passes]
            wrong.extend(("task", i, v) for i, v in zip(indexes, got, strict=True) if v != expected[i])
            return
        for _ in range(passes):
            if stop.is_set():
                return
            for index, handler, message in sync_jobs:
                got_one = verdict(handler, message)
                if got_one != expected[index]:
                    wrong.append(("thread", index, got_one))

    before = meters.messages()
    run_threads(THREADS + 1, consume, stop=stop)

    assert [] == wrong
    assert times(one_pass, THREADS * passes + async_passes) == meters.messages() - before


# -- check() from many threads ---------------------------------------------------------------------------


def test_check_from_eight_threads_with_more_distinct_contracts_than_its_cache_holds() -> None:
    count = requires_module._CHECKERS_MAX + 200
    registry = MemoryRegistry()
    contracts = [
        Contract.from_jsonschema(
            f"many{i}.v1",
            {"type": "object", "properties": {f"f{i}": {"type": "integer"}}, "required": [f"f{i}"]},
        )
        for i in range(count)
    ]
    for contract in contracts:
        registry.add(contract)
    syscontract.configure(registry=registry)
    wrong: list[tuple[int, str, Any]] = []
    stop = threading.Event()

    def consume(number: int) -> None:
        order = list(range(count))
        random.Random(number).shuffle(order)
        for i in order:
            if stop.is_set():
                return
            target: Any = contracts[i] if (i + number) % 2 else f"many{i}.v1"
            own, other = {f"f{i}": i}, {f"f{(i + 1) % count}": i}
            if syscontract.check(target, own, [f"f{i}"]) is not own:
                wrong.append((i, "own", None))
            try:
                syscontract.check(target, other, [f"f{i}"])
                wrong.append((i, "other passed", None))
            except syscontract.MissingCriticalField as error:
                if (error.contract, error.field, error.payload) != (f"many{i}.v1", f"f{i}", other):
                    wrong.append((i, "other", (error.contract, error.field)))
            if i % 16:
                continue  # validate="full" compiles a validator per contract: a sample is enough
            try:
                syscontract.check(target, {f"f{i}": "no"}, [f"f{i}"], validate="full")
                wrong.append((i, "full passed", None))
            except syscontract.FieldTypeError as error:
                if (error.contract, error.field) != (f"many{i}.v1", f"f{i}"):
                    wrong.append((i, "full", (error.contract, error.field)))

    run_threads(THREADS, consume, stop=stop)

    assert [] == wrong
    assert len(requires_module._checkers) <= requires_module._CHECKERS_MAX


# -- the registry replaced while messages flow -------------------------------------------------------


class Rounds:
    """How many times the registry has been replaced, which the threads handling messages follow.

    Each of them handles one pass of its messages per replacement: passes and replacements still
    overlap (a pass starts as soon as a replacement is made, while the next one is being made), but
    seven busy threads cannot starve the one replacing the registry, so the test's length follows
    the replacements, not how the scheduler treats one thread against seven (on a loaded machine, the
    difference between seconds and minutes)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.count = 0
        self._changed = threading.Condition()

    def advance(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self.stop.set()
            self._changed.notify_all()

    def after(self, seen: int) -> int:
        """Wait until the registry was replaced after replacement ``seen`` (or ``stop`` is set): the
        replacements made by then."""
        with self._changed:
            while self.count <= seen and not self.stop.is_set():
                self._changed.wait(1.0)  # run_threads may set stop without notifying: seen within 1 s
            return self.count


@pytest.mark.usefixtures("memory", "shop")
def test_replacing_the_registry_while_messages_flow_never_exposes_half_built_state(
    meters: Meters, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, one_pass = single_threaded(meters)
    built = Counter[str]()
    real = declaration_module.Checker

    def counting(contract: Contract, *args: Any, **kwargs: Any) -> Any:
        built[str(contract.ref)] += 1
        return real(contract, *args, **kwargs)

    monkeypatch.setattr(declaration_module, "Checker", counting)
    on_order, on_shop = sync_handlers()
    async_order, async_shop = async_handlers()
    jobs = work(on_order, on_shop)
    async_jobs = work(async_order, async_shop)
    declarations = [h.__syscontract__ for h in (on_order, on_shop, async_order, async_shop)]  # type: ignore[attr-defined]
    stop = threading.Event()
    rounds = Rounds(stop)
    replaced = 0
    wrong: list[tuple[str, int, Verdict]] = []
    handled = [0] * THREADS  # one slot per thread: `+= 1` on a shared counter is not atomic

    def consume(number: int) -> None:
        nonlocal replaced
        if number == 0:  # replaces the registry, alternately on disk and in memory, with the same contracts
            try:
                for round_ in range(REPLACEMENTS):
                    if stop.is_set():
                        return
                    syscontract.configure(registry=FileRegistry(CONTRACTS) if round_ % 2 else memory_registry())
                    replaced += 1
                    rounds.advance()
            finally:
                rounds.finish()
            return
        at = 0
        if number == 1:  # an event loop with tasks on the async handlers, until the replacing stops

            async def main() -> None:
                nonlocal at
                while not stop.is_set():
                    got = await asyncio.gather(*(verdict_async(h, m) for _, h, m in async_jobs * 10))
                    for (index, _, _), one in zip(async_jobs * 10, got, strict=True):
                        handled[number] += 1
                        if one != expected[index]:
                            wrong.append(("task", index, one))
                    at = rounds.after(at)  # nothing else runs on this loop: waiting blocks no task

            asyncio.run(main())
            return
        while not stop.is_set():
            for index, handler, message in jobs:
                one = verdict(handler, message)
                handled[number] += 1
                if one != expected[index]:
                    wrong.append(("thread", index, one))
            at = rounds.after(at)

    before = meters.messages()
    run_threads(THREADS, consume, stop=stop)

    assert REPLACEMENTS == replaced
    assert ([], 0) == (wrong[:10], len(wrong))
    assert all(count > 0 for count in handled[1:])  # the tasks (1) and every other thread handled messages
    # every message was counted once, whatever the resolution state it met
    assert sum(handled) == sum((meters.messages() - before).values())
    # and after the last replacement the handlers work against the current registry
    assert [expected[index] for index, _, _ in jobs] == [verdict(h, m) for _, h, m in jobs]
    assert all(declaration.resolved for declaration in declarations[:2])
    assert built["order.v3"] > 20  # the declarations were resolved again and again while messages flowed
    assert one_pass  # the reference pass counted too


@pytest.mark.usefixtures("shop")
def test_a_pending_declaration_first_called_from_eight_threads_is_resolved_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    syscontract.configure(registry=CONTRACTS / "nowhere")
    on_order, _ = sync_handlers()
    declaration = on_order.__syscontract__  # type: ignore[attr-defined]
    assert not declaration.resolved
    built: list[Any] = []
    real = declaration_module.Checker

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(declaration_module, "Checker", counting)
    syscontract.configure(registry=memory_registry())
    results: list[Verdict] = []

    run_threads(THREADS, lambda number: results.append(verdict(on_order, copy.deepcopy(ORDER))))

    assert 1 == len(built)
    assert [("handled", canonical(ORDER))] * THREADS == results


def test_a_file_registry_read_from_sixteen_threads_at_once_loads_each_contract_once() -> None:
    registry = FileRegistry(CONTRACTS)
    loads = Counter[str]()
    real = registry._load
    lock = threading.Lock()

    def counting(ref: Any) -> Contract:
        with lock:
            loads[str(ref)] += 1
        return real(ref)

    registry._load = counting  # type: ignore[method-assign]
    found: list[dict[str, Contract]] = []
    guid = __import__("uuid").UUID("2f3c1a7e-5b6d-4e8f-9a0b-1c2d3e4f5a6b")

    def read(number: int) -> None:
        lookups: list[tuple[str, Callable[[], Contract]]] = [
            ("order.v2", lambda: registry.get("order.v2")),
            ("order.v3", lambda: registry.get("order.v3")),
            ("order.v4", lambda: registry.get("order.v4")),
            ("shipment.v1", lambda: registry.get("shipment.v1")),
            ("id 7", lambda: registry.by_id(7)),
            ("id 8", lambda: registry.by_id(8)),
            ("guid", lambda: registry.by_guid(guid)),
        ]
        random.Random(number).shuffle(lookups)
        found.append({label: lookup() for label, lookup in lookups})

    run_threads(16, read)

    assert {"order.v2": 1, "order.v3": 1, "order.v4": 1, "shipment.v1": 1} == dict(loads)
    first = found[0]
    assert all(all(one[label] is first[label] for label in first) for one in found)
    assert first["id 7"] is first["order.v2"] and first["id 8"] is first["guid"] is first["order.v3"]


# -- a test that gives up stops what it started -------------------------------------------------------


def started_threads() -> list[threading.Thread]:
    """The threads run_threads started that still run."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("test-thread-")]


def test_threads_still_running_at_the_deadline_are_stopped_and_the_test_fails_saying_so() -> None:
    stop = threading.Event()

    def spin(number: int) -> None:
        while not stop.is_set():  # a consumer loop: runs until told to stop
            pass

    with pytest.raises(AssertionError, match=r"8 of 8 threads still running after 0s; after stop: \[\]"):
        run_threads(THREADS, spin, stop=stop, timeout=0.2)
    assert stop.is_set()
    assert [] == started_threads()  # none left spinning into the next test


def test_one_failing_thread_stops_the_others_and_its_error_fails_the_test() -> None:
    stop = threading.Event()

    def consume(number: int) -> None:
        if number == 3:
            raise RuntimeError("thread 3 failed")
        while not stop.is_set():
            pass

    with pytest.raises(RuntimeError, match="thread 3 failed"):
        run_threads(THREADS, consume, stop=stop)  # without the failure setting stop, this would run NO_HANG
    assert [] == started_threads()


def test_the_threads_are_daemons_so_that_a_hang_cannot_keep_pytest_from_exiting() -> None:
    daemons: list[bool] = []
    run_threads(2, lambda number: daemons.append(threading.current_thread().daemon))
    assert [True, True] == daemons
