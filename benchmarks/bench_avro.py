"""Confluent-framed Avro: decode + check with syscontract against fastavro alone and confluent-kafka.

    python benchmarks/bench_avro.py [--quick]

The order event of benchmarks/data, written with the Avro v3 schema (and, for the resolution rows,
with v2 and read as v3), framed as Confluent does (magic byte, 4-byte schema id). Rows, per message:

- fastavro ``schemaless_reader`` alone on the body, with parsed schemas (the floor);
- ``@requires`` on the framed bytes: framing, writer lookup, decode, critical-field check, handler call;
- syscontract's Kafka ``Deserializer`` (a ``value.deserializer``) on the same bytes, with a
  ``traceparent`` header as confluent-kafka hands headers over (a list of pairs);
- confluent-kafka's ``AvroDeserializer`` on the same bytes (its in-memory registry, so no network).

Critical fields: ``orderId``, ``currency`` and ``customer.customerTier`` for v3 data. For v2 data read
as v3 the check uses ``orderId`` and ``currency`` (with ``customer.customerTier`` every v2 message is
refused: that row measures the refusal). Budget (DESIGN): decode + check <= 1.05 x fastavro alone,
and faster than ``AvroDeserializer``.
"""

import argparse
import contextlib
import io
import json
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

import fastavro

import syscontract
from syscontract import MemoryRegistry, MissingCriticalField, requires
from syscontract.wire import avro, confluent

DATA = Path(__file__).parent / "data"


def per_call_ns(fn: Any, number: int, repeat: int) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (noisier)")
    args = parser.parse_args()
    number, repeat = (5_000, 5) if args.quick else (50_000, 7)

    event = json.loads((DATA / "order_event.json").read_text())
    stale = json.loads(json.dumps(event))
    del stale["customer"]["customerTier"]
    texts = {v: (DATA / f"order.v{v}.avsc").read_text() for v in (2, 3)}
    contracts = {v: syscontract.Contract.from_avro(f"order.v{v}", texts[v]) for v in (2, 3)}
    registry = MemoryRegistry()
    for version, contract in contracts.items():
        registry.add(contract, schema_id=version)
    parsed = {v: fastavro.parse_schema(json.loads(texts[v])) for v in (2, 3)}
    framed = {
        3: confluent.encode(3, avro.encode(event, contracts[3].native)),
        2: confluent.encode(2, avro.encode(stale, contracts[2].native)),
    }

    def fastavro_alone(raw: bytes, writer: Any, reader: Any = None) -> Any:
        stream = io.BytesIO(raw)
        stream.seek(5)
        return fastavro.schemaless_reader(stream, writer, reader)

    def handler(order: dict[str, Any]) -> None:
        return None

    guarded = requires("order.v3", ["orderId", "currency", "customer.customerTier"], registry=registry)(handler)
    guarded_resolving = requires("order.v3", ["orderId", "currency"], registry=registry)(handler)

    def refused() -> None:
        with contextlib.suppress(MissingCriticalField):
            guarded(framed[2])

    rows = [
        ("v3 bytes: fastavro schemaless_reader alone", lambda: fastavro_alone(framed[3], parsed[3])),
        ("v3 bytes: @requires decode + check (3 fields)", lambda: guarded(framed[3])),
        ("v2 bytes as v3: fastavro with resolution", lambda: fastavro_alone(framed[2], parsed[2], parsed[3])),
        ("v2 bytes as v3: @requires decode + check (2 fields)", lambda: guarded_resolving(framed[2])),
        ("v2 bytes as v3: @requires refuses (customerTier)", refused),
    ]
    try:
        from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        client = SchemaRegistryClient.new_client({"url": "mock://bench"})
        client.register_schema("orders-value", Schema(texts[2], "AVRO"))
        client.register_schema("orders-value", Schema(texts[3], "AVRO"))
        ids = {v: client.get_version("orders-value", v - 1).schema_id for v in (2, 3)}
        kafka_framed = {
            3: confluent.encode(ids[3], avro.encode(event, contracts[3].native)),
            2: confluent.encode(ids[2], avro.encode(stale, contracts[2].native)),
        }
        context = SerializationContext("orders", MessageField.VALUE)
        reader_v3 = AvroDeserializer(client, texts[3])
        plain = AvroDeserializer(client)
        rows.insert(2, ("v3 bytes: confluent-kafka AvroDeserializer", lambda: plain(kafka_framed[3], context)))
        from syscontract.integrations.kafka import Deserializer

        ours = Deserializer("order.v3", ["orderId", "currency", "customer.customerTier"], registry=registry)
        traced = SerializationContext("orders", MessageField.VALUE, headers=[("traceparent", b"00-" + b"0" * 50)])
        rows.insert(2, ("v3 bytes: syscontract Deserializer, 1 header", lambda: ours(framed[3], traced)))
        rows.append(("v2 bytes as v3: AvroDeserializer (fills BASIC)", lambda: reader_v3(kafka_framed[2], context)))
    except ImportError:
        print("confluent-kafka not installed: its rows are skipped (pip install -e '.[kafka]')", file=sys.stderr)

    logging_off()
    times = {name: per_call_ns(fn, number, repeat) for name, fn in rows}
    floor = times["v3 bytes: fastavro schemaless_reader alone"]
    width = max(len(name) for name in times)
    print(f"Python {sys.version.split()[0]}, fastavro {fastavro.__version__}; median of {repeat} x {number}")
    print(f"{'path':<{width}}  {'us/msg':>7}  {'x fastavro':>10}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 10}")
    for name, ns in times.items():
        print(f"{name:<{width}}  {ns / 1000:>7.2f}  {ns / floor:>10.3f}")
    print()
    ratio = times["v3 bytes: @requires decode + check (3 fields)"] / floor
    resolving = (
        times["v2 bytes as v3: @requires decode + check (2 fields)"] / times["v2 bytes as v3: fastavro with resolution"]
    )
    for label, value in (("v3", ratio), ("v2 read as v3", resolving)):
        verdict = "met" if value <= 1.05 else "MISSED"
        print(f"decode + check / fastavro alone, {label + ':':<15} {value:.3f}  (budget 1.05) {verdict}")
    deserializer = times.get("v3 bytes: confluent-kafka AvroDeserializer")
    if deserializer is not None:
        faster = times["v3 bytes: @requires decode + check (3 fields)"] < deserializer
        print(f"faster than AvroDeserializer: {'yes' if faster else 'NO'} ({deserializer / 1000:.2f} us)")
    return 0


def logging_off() -> None:
    """The refusal row raises on purpose; its ERROR log lines would flood the table."""
    import logging

    logging.getLogger("syscontract").disabled = True


if __name__ == "__main__":
    raise SystemExit(main())
