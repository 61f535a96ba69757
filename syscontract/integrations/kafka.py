"""confluent-kafka: a deserializer that enforces a declaration, and ``@requires`` on ``Message``.

::

    from confluent_kafka import DeserializingConsumer
    from syscontract.integrations.kafka import Deserializer

    consumer = DeserializingConsumer({
        ...,
        "value.deserializer": Deserializer("order.v3", ["customerTier"], registry=registry),
    })

With local contracts and the Schema Registry the producers register with, no id table is needed:
``registry=ConfluentRegistry({"url": ...}, contracts="contracts")`` names each writer schema id
after the local version with the same canonical form (docs/registries.md).

``@requires`` also accepts a ``confluent_kafka.Message`` directly: its value is decoded with its
headers (schema id header, ``syscontract-contract``) and the handler receives the decoded payload.
Use with the ``kafka`` extra: ``pip install 'syscontract[kafka]'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syscontract._engine.policy import DeadLetterSink
from syscontract._requires import requires
from syscontract.contract import Contract, ContractRef
from syscontract.registry import Registry

__all__ = ["Deserializer"]


class Deserializer:
    """A confluent-kafka deserializer, ``(value, ctx) -> payload``, that checks a declaration.

    The value may be Confluent-framed Avro or JSON, single-object Avro, a bare Avro body named by a
    header, or JSON. The schema id header (``__value_schema_id``, ``__key_schema_id`` for keys) is read
    from ``ctx.headers``. Violations follow ``on_violation``: raising makes the consumer report a
    deserialization error for the message; under ``"dead_letter"`` the sink keeps it and the
    deserializer returns None.
    """

    def __init__(
        self,
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        *,
        registry: Registry | str | None = None,
        on_violation: str | None = None,
        dead_letter: DeadLetterSink | None = None,
        name: str | None = None,
    ) -> None:
        def deserialize(message: Any) -> Any:
            return message

        deserialize.__qualname__ = name or f"Deserializer[{contract}]"
        deserialize.__module__ = __name__
        self._check = requires(contract, fields, registry=registry, on_violation=on_violation, dead_letter=dead_letter)(
            deserialize
        )
        # a value is checked as a broker guard checks a message: JSON and Confluent-framed Avro from a
        # planned writer inline, anything else (and any doubt) on the precise path with its headers; a
        # key the same way, its schema id read from the key's own header
        declaration = self._check.__syscontract__  # type: ignore[attr-defined]
        self._wire = declaration.wire_check()
        self._key_wire = declaration.wire_check(key=True)

    def __call__(self, value: bytes | None, ctx: Any = None) -> Any:
        if value is None:
            return None  # a tombstone: nothing was sent, nothing to check
        headers = getattr(ctx, "headers", None)
        if str(getattr(ctx, "field", "")).lower().endswith("key"):
            return self._key_wire(value, headers)  # a key's schema id travels in another header
        return self._wire(value, headers)
