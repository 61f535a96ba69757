"""Confluent-framed protobuf: decode + check with syscontract against ``FromString`` and confluent-kafka.

    python benchmarks/bench_protobuf.py [--quick]

The order event of benchmarks/data (order_event.json) as the protobuf message of
benchmarks/data/order_v3.proto (compiled at start by grpcio-tools' protoc into a temporary directory),
framed as confluent-kafka's ``ProtobufSerializer`` frames it (magic byte, 4-byte schema id, the
message-index array). Rows, per message:

- ``Order.FromString`` of the body with the writer's class (the floor the budget is stated against);
- the same ``FromString`` of the body sliced out of the framed bytes, as any consumer of framed
  bytes must (a fresh bytes object per message);
- the same ``FromString`` and the three presence tests written by hand (``HasField`` on each step, the
  enum's numbers): the floor of any check through upb's Python API;
- ``syscontract.check`` on the framed bytes: framing, message index, writer plan, parse, three critical
  fields (``orderId``, ``currency``, ``customer.customerTier``), the reader's message returned;
- ``@requires`` on the framed bytes, the same check and a handler call;
- ``@requires`` with a handler that declares a dict (``json_format.MessageToDict`` of what was written);
- confluent-kafka's ``ProtobufDeserializer`` with the reader's class (its in-memory registry: no network).

Budget (DESIGN): decode + check <= 1.05 x ``FromString`` with the writer's class; faster than
``ProtobufDeserializer``.
"""

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

import syscontract
from syscontract import MemoryRegistry, requires

DATA = Path(__file__).parent / "data"
FIELDS = ["orderId", "currency", "customer.customerTier"]


def compiled() -> Any:
    """benchmarks/data/order_v3.proto's generated module (``order_v3_pb2``)."""
    out = Path(tempfile.mkdtemp(prefix="bench-protobuf-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{DATA}", f"--python_out={out}", "order_v3.proto"],
            check=True,
        )
        spec = importlib.util.spec_from_file_location("order_v3_pb2", out / "order_v3_pb2.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (noisier)")
    args = parser.parse_args()
    number, repeat = (2_000, 5) if args.quick else (10_000, 21)

    pb = compiled()
    from google.protobuf import json_format

    event = json.loads((DATA / "order_event.json").read_text())
    message = json_format.ParseDict(event, pb.Order(), ignore_unknown_fields=True)
    contract = syscontract.Contract.from_protobuf("order.v3", pb.Order)
    registry = MemoryRegistry()
    registry.add(contract, schema_id=3)
    framed = syscontract.encode("order.v3", message, format="confluent", registry=registry).value
    body = message.SerializeToString()
    assert framed.endswith(body)

    def handler(order: Any) -> None:
        return None

    guarded = requires("order.v3", FIELDS, registry=registry)(handler)
    tier_numbers = frozenset(v.number for v in pb.Order.DESCRIPTOR.fields_by_name["customer"].message_type
                             .fields_by_name["customer_tier"].enum_type.values)  # fmt: skip

    has = pb.Order.HasField  # unbound: no bound method made per call
    start = len(framed) - len(body)

    def by_hand() -> Any:
        """The floor of any check through upb's Python API: FromString and the same three tests inline
        (an unset customer reads as an empty message, whose tier is not set: no test of its own)."""
        order = pb.Order.FromString(body)
        if not (has(order, "order_id") and has(order, "currency")):
            raise LookupError
        customer = order.customer
        if not has(customer, "customer_tier") or customer.customer_tier not in tier_numbers:
            raise LookupError
        return order

    def as_dict(order: dict[str, Any]) -> None:
        return None

    guarded_dict = requires("order.v3", FIELDS, registry=registry)(as_dict)

    check = syscontract.check
    rows = [
        ("Order.FromString alone (writer's class)", lambda: pb.Order.FromString(body)),
        ("FromString of the framed body (a slice)", lambda: pb.Order.FromString(framed[start:])),
        ("FromString + the 3 HasField checks by hand", by_hand),
        ("syscontract.check decode + check (3 fields)", lambda: check("order.v3", framed, FIELDS, registry=registry)),
        ("@requires decode + check (3 fields)", lambda: guarded(framed)),
        ("@requires, the handler takes a dict", lambda: guarded_dict(framed)),
    ]
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        client = SchemaRegistryClient.new_client({"url": "mock://bench-protobuf"})
        context = SerializationContext("orders", MessageField.VALUE)
        kafka_framed = ProtobufSerializer(pb.Order, client, {"use.deprecated.format": False})(message, context)
        stock = ProtobufDeserializer(pb.Order, {"use.deprecated.format": False})
        rows.append(("confluent-kafka ProtobufDeserializer", lambda: stock(kafka_framed, context)))
    except ImportError:
        print("confluent-kafka not installed: its row is skipped (pip install -e '.[kafka]')", file=sys.stderr)

    # rows interleaved, round after round, so that a busy moment of the machine costs every row alike
    samples: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _ in range(repeat):
        for name, fn in rows:
            samples[name].append(timeit.timeit(fn, number=number) / number * 1e9)
    times = {name: statistics.median(values) for name, values in samples.items()}
    floor = times["Order.FromString alone (writer's class)"]
    width = max(len(name) for name in times)
    import google.protobuf
    from google.protobuf.internal import api_implementation

    print(
        f"Python {sys.version.split()[0]}, protobuf {google.protobuf.__version__} ({api_implementation.Type()}); "
        f"{len(body)}-byte body; median of {repeat} interleaved rounds of {number}"
    )
    print(f"{'path':<{width}}  {'us/msg':>7}  {'x FromString':>12}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 12}")
    for name, ns in times.items():
        print(f"{name:<{width}}  {ns / 1000:>7.2f}  {ns / floor:>12.3f}")
    print()
    ratio = times["@requires decode + check (3 fields)"] / floor
    hand = times["FromString + the 3 HasField checks by hand"] / floor
    print(f"the floor through upb's Python API (FromString + 3 tests by hand): {hand:.3f} x FromString")
    print(f"@requires decode + check / FromString: {ratio:.3f}  (budget 1.05) {'met' if ratio <= 1.05 else 'MISSED'}")
    stock_ns = times.get("confluent-kafka ProtobufDeserializer")
    if stock_ns is not None:
        faster = times["@requires decode + check (3 fields)"] < stock_ns
        print(f"faster than ProtobufDeserializer: {'yes' if faster else 'NO'} ({stock_ns / 1000:.2f} us)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
