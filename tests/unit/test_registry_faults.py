"""A Schema Registry that fails: what was fetched keeps serving, failures are remembered and retried
with backoff, and a burst of messages with one unknown id makes one request."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")

from confluent_kafka.schema_registry import RegisteredSchema, Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError
from threads import run_threads

import syscontract
from syscontract import RegistryError
from syscontract.registry import confluent as module
from syscontract.registry.confluent import ConfluentRegistry
from syscontract.wire import confluent

V3 = (Path(__file__).parent.parent / "data" / "contracts" / "order" / "v3.avsc").read_text()


class FlakyClient:
    """A stand-in for SchemaRegistryClient: id 1 is order v3; ``down`` makes every call fail."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: dict[str, int] = {}
        self.down = False
        self.delay = delay
        self.lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            raise SchemaRegistryError(500, 50001, "Internal Server Error")

    def get_schema(self, schema_id: int, *args: Any) -> Schema:
        self._count("get_schema")
        if schema_id != 1:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(V3, "AVRO")

    def get_subjects(self) -> list[str]:
        self._count("get_subjects")
        return ["orders-value"]

    def get_versions(self, subject: str) -> list[int]:
        self._count("get_versions")
        return [3]

    def get_version(self, subject: str, version: int) -> RegisteredSchema:
        self._count("get_version")
        return RegisteredSchema(schema_id=1, guid=None, schema=Schema(V3, "AVRO"), subject=subject, version=version)

    def get_schema_versions(self, schema_id: int) -> list[Any]:
        self._count("get_schema_versions")
        raise SchemaRegistryError(404, 40403, "not found")


def test_a_schema_already_fetched_keeps_serving_when_the_registry_fails() -> None:
    client = FlakyClient()
    registry = ConfluentRegistry(client, subjects={"order": "orders-value"})
    assert "order.v3" == str(registry.by_id(1).ref)
    client.down = True
    assert "order.v3" == str(registry.by_id(1).ref)


def test_an_unknown_id_is_asked_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FlakyClient()
    registry = ConfluentRegistry(client)
    for _ in range(100):
        with pytest.raises(RegistryError) as caught:
            registry.by_id(99)
    assert 1 == client.calls["get_schema"]
    assert "not asked again for" in str(caught.value)


def test_a_remembered_failure_is_retried_after_its_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "RETRY_AFTER", 0.05)
    client = FlakyClient()
    client.down = True
    registry = ConfluentRegistry(client, subjects={"order": "orders-value"})
    with pytest.raises(RegistryError, match="HTTP 500"):
        registry.by_id(1)
    with pytest.raises(RegistryError):
        registry.by_id(1)
    assert 1 == client.calls["get_schema"]
    time.sleep(0.06)
    client.down = False
    assert "order.v3" == str(registry.by_id(1).ref)
    assert 2 == client.calls["get_schema"]


def test_the_backoff_doubles_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "RETRY_AFTER", 1.0)
    monkeypatch.setattr(module, "MAX_RETRY_AFTER", 3.0)
    registry = ConfluentRegistry(FlakyClient())
    waits = []
    for _ in range(4):
        registry._remember(("id", 99), RegistryError("x"))
        waits.append(round(registry._failures[("id", 99)][0] - time.monotonic()))
    assert [1, 2, 3, 3] == waits


def test_a_thousand_messages_with_one_new_id_make_one_request() -> None:
    client = FlakyClient(delay=0.05)
    registry = ConfluentRegistry(client, subjects={"order": "orders-value"})

    run_threads(1000, lambda number: registry.by_id(1), barrier=False)  # an error fails here, naming it

    assert 1 == client.calls["get_schema"]


def test_an_unreachable_registry_is_a_registry_error_not_a_hang() -> None:
    registry = ConfluentRegistry({"url": "http://127.0.0.1:9", "timeout": 2, "max.retries": 0})
    started = time.monotonic()
    with pytest.raises(RegistryError) as caught:
        registry.by_id(1)
    assert "unreachable" == caught.value.reason
    assert time.monotonic() - started < 30


def test_messages_with_an_unknown_id_are_refused_loudly_and_kept(order: dict[str, Any]) -> None:
    client = FlakyClient()
    registry = ConfluentRegistry(client)
    letters: list[Any] = []
    handler = syscontract.requires(
        registry.get("orders-value.v3"),
        ["orderId"],
        registry=registry,
        on_violation="dead_letter",
        dead_letter=letters.append,
    )(lambda event: event)
    raw = confluent.encode(99, b"\x02")
    for _ in range(10):
        handler(raw)
    assert 10 == len(letters)
    assert all(letter.payload is raw for letter in letters)
    assert 1 == client.calls["get_schema"]
