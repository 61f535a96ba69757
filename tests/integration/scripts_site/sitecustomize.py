"""The OpenTelemetry set-up of an application run as a plain script, for test_live_scripts.py.

On ``PYTHONPATH``, Python imports this before the script, which then runs as ``__main__`` exactly as
``python pricing/pricing.py`` runs it. With ``SYSCONTRACT_TEST_METRICS_PORT`` set: an SDK MeterProvider
whose resource comes from ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, and the Prometheus
exporter serving /metrics on 127.0.0.1:PORT. When the script is done, its standard output is closed (the
next process in the pipe sees the end) and the process keeps serving /metrics until terminated.
"""

from __future__ import annotations

import os

if os.environ.get("SYSCONTRACT_TEST_METRICS_PORT"):
    import atexit
    import signal
    import sys
    import threading

    from opentelemetry import metrics
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import start_http_server

    metrics.set_meter_provider(MeterProvider(resource=Resource.create(), metric_readers=[PrometheusMetricReader()]))
    start_http_server(int(os.environ["SYSCONTRACT_TEST_METRICS_PORT"]), addr="127.0.0.1")
    _stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: _stop.set())

    def _serve_until_terminated() -> None:
        sys.stdout.flush()
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)  # the pipe's end: the reader sees the end of input
        print(f"{os.environ.get('OTEL_SERVICE_NAME')}: done", file=sys.stderr, flush=True)
        _stop.wait()

    atexit.register(_serve_until_terminated)
