"""Per-message cost of @requires against its peers, on the reference order event.

    python benchmarks/bench_requires.py [--quick]

Workload: ../shared/bench (copied in benchmarks/data): the 16-field order event of 526 compact JSON
bytes, its JSON Schema (draft 7) and Avro v3 schema. The check is the reference one: critical fields
``orderId``, ``currency``, ``customer.customerTier``. Every row is measured in this run, side by side,
as the median of several repeats; ratios are against ``json.loads`` of the same event, and the
pydantic instance row against pydantic's own ``model_validate``. A consumer handed the body is set
against the unguarded consumer of the same form: ``handler(json.loads(body))`` for JSON bytes and
text, ``handler(Order.model_validate_json(body))`` for a pydantic contract. No figure here is asserted by a test.
"""

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel

import syscontract
from syscontract import Contract, MemoryRegistry, requires
from syscontract.wire import json as json_wire

DATA = Path(__file__).parent / "data"
FIELDS = ["orderId", "currency", "customer.customerTier"]


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    email: str


class LineItem(BaseModel):
    sku: str
    qty: int
    price: float


@syscontract.contract("bench.pydantic-order.v3")
class Order(BaseModel):
    orderId: str
    eventType: str
    schemaVersion: int
    createdAt: str
    updatedAt: str
    customer: Customer
    items: list[LineItem]
    currency: str
    subtotal: float
    tax: float
    shipping: float
    total: float
    channel: str
    couponCode: str | None = None
    notes: str | None = None
    shippingAddressId: str | None = None


def per_call_ns(fn: Any, number: int, repeat: int) -> float:
    """Median time of one call, in nanoseconds."""
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e9


def paired(guarded: Any, unguarded: Any, number: int, rounds: int) -> tuple[float, float]:
    """The best time of one call of each, measured interleaved round by round, so that both meet the
    same load (a loaded machine moves a median by more than the difference between the two)."""
    best_guarded = best_unguarded = float("inf")
    for _ in range(rounds):
        best_guarded = min(best_guarded, timeit.timeit(guarded, number=number))
        best_unguarded = min(best_unguarded, timeit.timeit(unguarded, number=number))
    return best_guarded / number * 1e9, best_unguarded / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run, noisier figures)")
    args = parser.parse_args()
    number, repeat = (20_000, 5) if args.quick else (200_000, 9)

    event = json.loads((DATA / "order_event.json").read_text())
    raw = json.dumps(event, separators=(",", ":")).encode()
    text = raw.decode()
    array, view = bytearray(raw), memoryview(raw)
    strict = Order.__pydantic_validator__.validate_json
    model_read = json_wire.model_reader(Order)
    schema = json.loads((DATA / "order.v3.schema.json").read_text())
    registry = MemoryRegistry([Contract.from_jsonschema("order.v3", schema)])

    def bare(message: dict[str, Any]) -> None:
        return None

    guarded = requires("order.v3", FIELDS, registry=registry)(bare)

    def on_model(message: Order) -> None:
        return None

    guarded_model = requires("bench.pydantic-order.v3", FIELDS)(on_model)
    instance = Order.model_validate(event)

    rows: list[tuple[str, float, str]] = []  # name, ns per message, note
    measure = [
        ("bare handler call", lambda: bare(event), ""),
        ("@requires, dict, 3 critical fields", lambda: guarded(event), ""),
        ("json.loads of the event", lambda: json.loads(raw), ""),
        ("syscontract.check(), dict", lambda: syscontract.check("order.v3", event, FIELDS, registry=registry), ""),
        ("pydantic model_validate (dict)", lambda: Order.model_validate(event), ""),
        ("bare handler call, pydantic instance", lambda: on_model(instance), ""),
        ("@requires, pydantic instance, 3 fields", lambda: guarded_model(instance), ""),
        # the broker's body as it arrives: the unguarded consumer decodes it itself
        ("unguarded handler(json.loads(body))", lambda: bare(json.loads(raw)), ""),
        ("@requires, JSON bytes, 3 critical fields", lambda: guarded(raw), ""),
        ("unguarded handler(json.loads(text))", lambda: bare(json.loads(text)), ""),
        ("@requires, JSON str, 3 critical fields", lambda: guarded(text), ""),
        ("unguarded handler(json.loads(bytearray))", lambda: bare(json.loads(array)), ""),
        ("@requires, JSON bytearray, 3 critical fields", lambda: guarded(array), ""),
        ("unguarded handler(json.loads(bytes(view)))", lambda: bare(json.loads(bytes(view))), ""),
        ("@requires, JSON memoryview, 3 critical fields", lambda: guarded(view), ""),
        ("unguarded handler(Order.model_validate_json(body))", lambda: on_model(Order.model_validate_json(raw)), ""),
        ("@requires, pydantic contract, JSON bytes", lambda: guarded_model(raw), ""),
        # the floors of the two paths: the decoders alone, and with the guards that send to the precise
        # path what they may read differently from it
        ("orjson.loads(body) alone", lambda: orjson.loads(raw), ""),
        ("wire.json.decode_fast(body): orjson + guards", lambda: json_wire.decode_fast(raw), ""),
        ("Order validate_json(body, strict=True) alone", lambda: strict(raw, strict=True), ""),
        ("wire.json.model_reader(Order): strict + guards", lambda: model_read(raw), ""),
    ]
    try:
        import msgspec

        class MCustomer(msgspec.Struct):
            id: str
            email: str
            customerTier: str = "BASIC"

        class MItem(msgspec.Struct):
            sku: str
            qty: int
            price: float

        class MOrder(msgspec.Struct):
            orderId: str
            eventType: str
            schemaVersion: int
            createdAt: str
            updatedAt: str
            customer: MCustomer
            items: list[MItem]
            currency: str
            subtotal: float
            tax: float
            shipping: float
            total: float
            channel: str
            couponCode: str | None = None
            notes: str | None = None
            shippingAddressId: str | None = None

        decoder = msgspec.json.Decoder(MOrder)
        untyped = msgspec.json.Decoder()
        measure.append(("msgspec typed decode (bytes)", lambda: decoder.decode(raw), ""))
        measure.append(("msgspec untyped decode (bytes) alone", lambda: untyped.decode(raw), ""))
        measure.append(("msgspec convert (dict)", lambda: msgspec.convert(event, MOrder), ""))
    except ImportError:
        print("msgspec not installed: its rows are skipped (pip install -e '.[dev]')", file=sys.stderr)
    try:
        import fastjsonschema

        validate_fast = fastjsonschema.compile(schema)
        measure.append(("fastjsonschema validate (dict)", lambda: validate_fast(event), ""))
    except ImportError:
        print("fastjsonschema not installed: its row is skipped", file=sys.stderr)
    try:
        import jsonschema_rs

        validator = jsonschema_rs.validator_for(schema)
        measure.append(("jsonschema-rs is_valid (dict)", lambda: validator.is_valid(event), ""))
    except ImportError:
        print("jsonschema-rs not installed: its row is skipped", file=sys.stderr)

    for name, fn, note in measure:
        rows.append((name, per_call_ns(fn, number, repeat), note))
    measure_by_name = [(name, fn) for name, fn, _ in measure]

    times = {name: ns for name, ns, _ in rows}
    loads = times["json.loads of the event"]
    validate = times["pydantic model_validate (dict)"]
    overhead_dict = times["@requires, dict, 3 critical fields"] - times["bare handler call"]
    overhead_model = times["@requires, pydantic instance, 3 fields"] - times["bare handler call, pydantic instance"]

    width = max(len(name) for name, _, _ in rows)
    print(f"Python {sys.version.split()[0]}, syscontract {syscontract.__version__}; median of {repeat} x {number}")
    print(f"{'path':<{width}}  {'ns/msg':>9}  {'x json.loads':>12}")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 12}")
    for name, ns, _ in rows:
        print(f"{name:<{width}}  {ns:>9.0f}  {ns / loads:>12.3f}")
    print()
    print("budget                                                measured   budget  verdict")
    checks = [
        ("@requires overhead on a dict / json.loads", overhead_dict / loads, 0.03),
        ("@requires overhead on a pydantic instance / model_validate", overhead_model / validate, 0.05),
    ]
    for label, ratio, budget in checks:
        verdict = "met" if ratio <= budget else "MISSED"
        print(f"{label:<52}  {ratio:>8.3f}  {budget:>7.3f}  {verdict}")
    print(f"(overheads: dict {overhead_dict:.0f} ns, pydantic instance {overhead_model:.0f} ns)")
    # a consumer handed the broker's body: each form against the unguarded consumer of the same form
    forms = [
        ("JSON bytes: @requires(body) / handler(json.loads(body))", "@requires, JSON bytes, 3 critical fields",
         "unguarded handler(json.loads(body))", 0.5),
        ("JSON str: @requires(text) / handler(json.loads(text))", "@requires, JSON str, 3 critical fields",
         "unguarded handler(json.loads(text))", 0.5),
        ("JSON bytearray: @requires / handler(json.loads(array))", "@requires, JSON bytearray, 3 critical fields",
         "unguarded handler(json.loads(bytearray))", 0.5),
        ("JSON memoryview: @requires / handler(json.loads(bytes(v)))", "@requires, JSON memoryview, 3 critical fields",
         "unguarded handler(json.loads(bytes(view)))", 0.5),
        ("pydantic bytes: @requires(body) / handler(model_validate_json)", "@requires, pydantic contract, JSON bytes",
         "unguarded handler(Order.model_validate_json(body))", 1.0),
    ]  # fmt: skip
    calls = dict(measure_by_name)
    print("each form against its unguarded consumer, interleaved, best of 15 rounds:")
    for label, guarded_row, unguarded_row, budget in forms:
        guarded_ns, unguarded_ns = paired(calls[guarded_row], calls[unguarded_row], number // 4, 15)
        ratio = guarded_ns / unguarded_ns
        verdict = "met" if ratio <= budget else "MISSED"
        figures = f"{guarded_ns:>6.0f} / {unguarded_ns:>6.0f} ns = {ratio:>5.3f}"
        print(f"{label:<62}  {figures}  <= {budget:.1f} x  {verdict}")
    # where the floor is: what the decoders alone cost against the unguarded consumer's own decoder
    floors = [
        ("floor: orjson.loads / json.loads", "orjson.loads(body) alone", "json.loads of the event"),
        ("floor: decode_fast (orjson + guards) / json.loads", "wire.json.decode_fast(body): orjson + guards",
         "json.loads of the event"),
        ("floor: strict validate_json / Order.model_validate_json", "Order validate_json(body, strict=True) alone",
         "unguarded handler(Order.model_validate_json(body))"),
        ("floor: model_reader (strict + guards) / model_validate_json",
         "wire.json.model_reader(Order): strict + guards", "unguarded handler(Order.model_validate_json(body))"),
    ]  # fmt: skip
    if "msgspec untyped decode (bytes) alone" in calls:  # the other decoder considered (docs/performance.md)
        floors.insert(1, ("floor: msgspec untyped decode / json.loads", "msgspec untyped decode (bytes) alone",
                          "json.loads of the event"))  # fmt: skip
    print("the floors, interleaved the same way:")
    for label, row, against in floors:
        row_ns, against_ns = paired(calls[row], calls[against], number // 4, 15)
        print(f"{label:<62}  {row_ns:>6.0f} / {against_ns:>6.0f} ns = {row_ns / against_ns:>5.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
