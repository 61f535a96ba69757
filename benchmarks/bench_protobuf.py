"""Confluent-framed protobuf: decode + check with syscontract against ``FromString`` and confluent-kafka.

    python benchmarks/bench_protobuf.py [--quick]

The order event of benchmarks/data (order_event.json) as the protobuf message of
benchmarks/data/order_v3.proto (compiled at start by grpcio-tools' protoc into a temporary directory),
framed as confluent-kafka's ``ProtobufSerializer`` frames it (magic byte, 4-byte schema id, the
message-index array). Rows, per message:

- ``Order.FromString`` of the body with the writer's class (the floor the budget is stated against);
- ``syscontract.check`` on the framed bytes: framing, message index, writer plan, parse, three critical
  fields (``orderId``, ``currency``, ``customer.customerTier``), the reader's message returned;
- ``@requires`` on the framed bytes, the same check and a handler call;
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


def per_call_ns(fn: Any, number: int, repeat: int) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


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
    number, repeat = (5_000, 5) if args.quick else (50_000, 7)

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
    check = syscontract.check
    rows = [
        ("Order.FromString alone (writer's class)", lambda: pb.Order.FromString(body)),
        ("syscontract.check decode + check (3 fields)", lambda: check("order.v3", framed, FIELDS, registry=registry)),
        ("@requires decode + check (3 fields)", lambda: guarded(framed)),
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

    times = {name: per_call_ns(fn, number, repeat) for name, fn in rows}
    floor = times["Order.FromString alone (writer's class)"]
    width = max(len(name) for name in times)
    import google.protobuf
    from google.protobuf.internal import api_implementation

    print(
        f"Python {sys.version.split()[0]}, protobuf {google.protobuf.__version__} ({api_implementation.Type()}); "
        f"{len(body)}-byte body; median of {repeat} x {number}"
    )
    print(f"{'path':<{width}}  {'us/msg':>7}  {'x FromString':>12}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 12}")
    for name, ns in times.items():
        print(f"{name:<{width}}  {ns / 1000:>7.2f}  {ns / floor:>12.3f}")
    print()
    ratio = times["@requires decode + check (3 fields)"] / floor
    print(f"@requires decode + check / FromString: {ratio:.3f}  (budget 1.05) {'met' if ratio <= 1.05 else 'MISSED'}")
    stock_ns = times.get("confluent-kafka ProtobufDeserializer")
    if stock_ns is not None:
        faster = times["@requires decode + check (3 fields)"] < stock_ns
        print(f"faster than ProtobufDeserializer: {'yes' if faster else 'NO'} ({stock_ns / 1000:.2f} us)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
