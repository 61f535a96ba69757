"""Real brokers on this machine: NATS with JetStream (127.0.0.1:4222), RabbitMQ (127.0.0.1:5672) and
Redis (127.0.0.1:6379).

A test that needs a server that does not answer is skipped, with how to start it; with ``CI=true``
it fails instead (``.ci/run`` starts the servers first). Every test uses its own stream, queue and
subject names (``unique``) and removes them afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from brokers import Mix, make_mix

import syscontract

SERVICES = {
    "nats": ("127.0.0.1", 4222, "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- "
             "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"),
    "rabbitmq": ("127.0.0.1", 5672, "rabbitmq-server -detached"),
    "redis": ("127.0.0.1", 6379, 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
              "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"),
}  # fmt: skip


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require(service: str) -> str:
    """``host:port`` of ``service``; skip (fail under ``CI=true``) when it does not answer."""
    host, port, start = SERVICES[service]
    if _answers(host, port):
        return f"{host}:{port}"
    message = (
        f"{service} does not answer on {host}:{port}: start it ({start}), or run `bash .ci/run`, which "
        "starts every server the integration tests need"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def nats_server() -> str:
    return f"nats://{require('nats')}"


@pytest.fixture
def rabbitmq_server() -> str:
    return f"amqp://guest:guest@{require('rabbitmq')}/%2F"


@pytest.fixture
def redis_server() -> str:
    return f"redis://{require('redis')}/0"


@pytest.fixture
def client(redis_server: str, unique: str) -> Iterator[Any]:
    """A Redis client (bytes as sent); the test's stream and its dead-letter stream deleted after."""
    import redis

    client = redis.Redis.from_url(redis_server)
    yield client
    client.delete(unique, f"{unique}.dead")
    client.close()


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A name no other test uses (letters, digits and dashes)."""
    return f"sc-{request.node.name[:24].replace('[', '-').replace(']', '').replace('_', '-')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def mix() -> Mix:
    return make_mix()


@pytest.fixture
def spans() -> Iterator[Any]:
    """An SDK TracerProvider with an in-memory exporter, given to syscontract (and used by tests
    as the producer's provider); the exporter is yielded."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    syscontract.configure(tracer_provider=provider)
    exporter.provider = provider  # type: ignore[attr-defined]
    yield exporter
    exporter.clear()
    provider.shutdown()


PROMETHEUS_INSTALL = (
    "install it (Debian/Ubuntu: apt-get install -y prometheus, which gives prometheus and promtool; elsewhere "
    "put both binaries from a Prometheus release on PATH), or run `bash .ci/run`, which installs it"
)


def require_binary(name: str) -> str:
    """The path of ``name`` (``prometheus``, ``promtool``); skip (fail under ``CI=true``) when it is missing."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not on PATH: {PROMETHEUS_INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)
