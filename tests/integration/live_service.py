"""One service of examples/shop as a process that exports its telemetry to Prometheus, for the live tests.

    python live_service.py --service checkout --environment prod --port 9464 \\
        --module examples/shop/checkout/checkout_legacy.py --orders 8 --more 4   | \\
    python live_service.py --service pricing --environment prod --port 9465 \\
        --module examples/shop/pricing/pricing.py

The application's OpenTelemetry set-up: an SDK MeterProvider whose resource names the service and its
environment, and the Prometheus exporter serving /metrics on 127.0.0.1:PORT, exactly as docs/live.md
shows. The service module is imported under its file's stem, as ``syscontract inventory`` imports it,
so handler names are the manifests' (``pricing.price``).

A producer (``--orders``) calls the module's ``order_placed`` for that many orders right away (before
Prometheus's first scrape, most likely), then ``--more`` after ``--pause`` seconds, writing each message
on stdout, then closes stdout. A consumer reads messages from stdin and hands each to ``price``. Both
keep serving /metrics until terminated.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _telemetry(service: str, environment: str, port: int) -> None:
    from opentelemetry import metrics
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import start_http_server

    resource = Resource.create({"service.name": service, "deployment.environment.name": environment})
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()]))
    start_http_server(port, addr="127.0.0.1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--module", type=Path, required=True)
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--more", type=int, default=0)
    parser.add_argument("--pause", type=float, default=3.0)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    module = _load(args.module.resolve())
    _telemetry(args.service, args.environment, args.port)
    shop: Any = sys.modules["shop"]
    shop.setup(args.service)

    if hasattr(module, "order_placed"):
        orders = module.ORDERS
        for index in range(args.orders + args.more):
            if index == args.orders:
                time.sleep(args.pause)
            shop.send(module.order_placed(*orders[index % len(orders)]))
        sys.stdout.close()
    else:
        for message in shop.receive():
            module.price(message)
    print(f"{args.service} in {args.environment}: done", file=sys.stderr, flush=True)
    stop.wait()


if __name__ == "__main__":
    main()
