"""Telemetry you can see: a consumer guarded by ``@requires``, the OpenTelemetry SDK printing to the console.

    python examples/telemetry/run.py

Two checkout releases send Confluent-framed Avro orders: the current one writes order.v3, a stale one
still writes order.v2, without ``customerTier``. The pricing consumer requires that field and runs in
``observe`` mode (a staged roll-out), so every message is handled and every violation is visible:

- spans: the consumer span of each message carries ``syscontract.contract``, ``syscontract.outcome``
  and ``syscontract.writer.version``; a violation adds the ``syscontract.violation`` event, the
  exception and status ERROR;
- metrics: ``syscontract.messages`` (by contract, outcome, writer version) and
  ``syscontract.declarations`` (one point per decorated handler), with the resource's
  ``service.name`` and ``deployment.environment.name``;
- logs: each violation at ERROR on logger ``syscontract`` (on stderr here).

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set and ``opentelemetry-exporter-otlp-proto-http`` installed,
spans and metrics are also sent over OTLP (to a Collector, Jaeger, Tempo, Prometheus...).

syscontract itself depends on the OpenTelemetry API only: the SDK set up below is the application's.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import fastavro
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor, SpanProcessor
from opentelemetry.trace import SpanKind

import syscontract
from syscontract import requires

HERE = Path(__file__).parent
ORDER = HERE.parent.parent / "tests" / "data" / "order_event.json"
SCHEMA_IDS = {"order.v2": 7, "order.v3": 8}  # as in contracts/order/contract.toml


# Handlers are declared at import, before the SDK is set up in main(): syscontract looks at the
# providers again on each handler's first call, so this usual order just works.
@requires("order.v3", ["customer.customerTier", "customer.id"], on_violation="observe")
def price(order: dict[str, Any]) -> str:
    return order["customer"].get("customerTier", "BASIC (defaulted: the violation says so)")


@requires("order.v3", ["orderId"])
def ship(order: dict[str, Any]) -> str:
    return order["orderId"]


def checkout(release: str, order: dict[str, Any]) -> bytes:
    """What a checkout release puts on the topic: Confluent framing (magic byte, schema id), Avro body."""
    schema = fastavro.parse_schema(json.loads((HERE / "contracts" / "order" / f"v{release[-1]}.avsc").read_text()))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema, order)
    return b"\x00" + SCHEMA_IDS[release].to_bytes(4, "big") + body.getvalue()


def otlp() -> tuple[list[SpanProcessor], list[MetricReader]]:
    """OTLP exporters when OTEL_EXPORTER_OTLP_ENDPOINT is set and the exporter package is installed."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        print("(OTEL_EXPORTER_OTLP_ENDPOINT is not set: console only)", file=sys.stderr)
        return [], []
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        print(
            "(OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp-proto-http is not installed: "
            "console only; pip install opentelemetry-exporter-otlp-proto-http)",
            file=sys.stderr,
        )
        return [], []
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    print(f"(also exporting over OTLP to {os.environ['OTEL_EXPORTER_OTLP_ENDPOINT']})", file=sys.stderr)
    return [BatchSpanProcessor(OTLPSpanExporter())], [PeriodicExportingMetricReader(OTLPMetricExporter())]


def set_up_opentelemetry() -> tuple[TracerProvider, MeterProvider]:
    """What the application does once at start-up (or what ``opentelemetry-instrument`` does for it)."""
    resource = Resource.create({"service.name": "pricing", "deployment.environment.name": "staging"})
    processors, readers = otlp()
    tracer_provider = TracerProvider(resource=resource)
    for processor in [SimpleSpanProcessor(ConsoleSpanExporter()), *processors]:
        tracer_provider.add_span_processor(processor)
    # one console export, at shutdown: observable instruments are read when a reader collects
    console = PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[console, *readers])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    tracer_provider, meter_provider = set_up_opentelemetry()
    syscontract.configure(registry=HERE / "contracts", service="pricing", environment="staging")
    syscontract.verify()

    order = json.loads(ORDER.read_text())
    stale = copy.deepcopy(order)
    del stale["customer"]["customerTier"]
    topic = [checkout("order.v3", order), checkout("order.v2", stale), checkout("order.v3", order)]

    # what a broker instrumentation (confluent-kafka, aiokafka, pika) does around each message: one
    # consumer span per message and consumer group (one guarded handler per span, see docs/telemetry.md)
    tracer = trace.get_tracer("example.consumer")
    for offset, raw in enumerate(topic):
        for group, handler in (("pricing", price), ("shipping", ship)):
            attributes = {
                "messaging.system": "kafka",
                "messaging.destination.name": "orders",
                "messaging.consumer.group.name": group,
                "messaging.kafka.offset": offset,
            }
            with tracer.start_as_current_span("process orders", kind=SpanKind.CONSUMER, attributes=attributes):
                print(f"# offset {offset}, {group}: {handler(raw)}", file=sys.stderr)

    tracer_provider.shutdown()
    meter_provider.shutdown()  # the readers collect and export a last time
    return 0


if __name__ == "__main__":
    sys.exit(main())
