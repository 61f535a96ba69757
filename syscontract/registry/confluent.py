"""A Confluent-compatible Schema Registry, through confluent-kafka's own ``SchemaRegistryClient``.

Requires the ``kafka`` extra (``pip install 'syscontract[kafka]'``). A contract ``order.v2`` is version
2 of a subject: by default the subject named like the contract, or the one ``subjects`` maps it to
(``{"order": "orders-value"}``). Writers found by schema id or GUID are named by their subject and
version, so errors and telemetry say ``order.v2``, not only ``id 7``. Schema ids never change, so what
is fetched is kept (bounded).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, MissingDependencyError, RegistryError

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient

__all__ = ["MAX_CACHED", "ConfluentRegistry"]

MAX_CACHED = 4096
"""Schemas kept per registry (by id, GUID and reference); failures remembered, at most as many."""

RETRY_AFTER = 1.0
"""Seconds before a failed lookup is tried again; doubled on each failure of the same key."""

MAX_RETRY_AFTER = 60.0


def _bounded(table: dict[Any, Any]) -> None:
    while len(table) >= MAX_CACHED:
        del table[next(iter(table))]


def _client_class() -> Any:
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError as exc:
        raise MissingDependencyError(
            "ConfluentRegistry needs confluent-kafka's Schema Registry client: pip install 'syscontract[kafka]'",
            reason="missing-dependency",
        ) from exc
    return SchemaRegistryClient


class ConfluentRegistry:
    """Contracts from a Confluent Schema Registry.

    ::

        registry = ConfluentRegistry({"url": "http://schema-registry:8081"}, subjects={"order": "orders-value"})
        syscontract.configure(registry=registry)

    ``client`` is a ``SchemaRegistryClient`` or its configuration (``{"url": "mock://..."}`` gives
    confluent-kafka's in-memory registry).
    """

    def __init__(
        self, client: SchemaRegistryClient | Mapping[str, Any], *, subjects: Mapping[str, str] | None = None
    ) -> None:
        client_class = _client_class()
        self.client: SchemaRegistryClient = (
            client_class.new_client(dict(client)) if isinstance(client, Mapping) else client
        )
        self.subjects = dict(subjects or {})
        self._names = {subject: name for name, subject in self.subjects.items()}
        self._cache: dict[object, Contract] = {}
        # key -> (monotonic time before which the failure stands, the failure, failures so far)
        self._failures: dict[object, tuple[float, RegistryError, int]] = {}
        self._inflight: dict[object, threading.Lock] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ConfluentRegistry({type(self.client).__name__})"

    # -- the Registry protocol -------------------------------------------------------------------

    def get(self, ref: ContractRef | str) -> Contract:
        parsed = ContractRef.parse(ref)
        return self._cached(("ref", parsed), lambda: self._from_registered(self._version(parsed)))

    def versions(self, name: str) -> list[int]:
        return sorted(self._call(lambda: self.client.get_versions(self.subjects.get(name, name)), name))

    def names(self) -> list[str]:
        return sorted(self._names.get(s, s) for s in self._call(self.client.get_subjects, "subjects"))

    def id_of(self, ref: ContractRef | str) -> int:
        """The schema id of this contract version in the registry (for Confluent framing)."""
        registered = self._version(ContractRef.parse(ref))
        if registered.schema_id is None:  # pragma: no cover - a registry breaking its protocol
            raise RegistryError("the registry returned no schema id", contract=str(ref), reason="unknown-schema")
        return int(registered.schema_id)

    # -- writers ---------------------------------------------------------------------------------

    def by_id(self, schema_id: int) -> Contract:
        """The contract registered under schema id ``schema_id``, named by its subject and version."""
        return self._cached(("id", schema_id), lambda: self._writer(schema_id=schema_id))

    def by_guid(self, guid: uuid.UUID) -> Contract:
        """The contract registered under schema GUID ``guid``."""
        return self._cached(("guid", guid), lambda: self._writer(guid=guid))

    def _writer(self, *, schema_id: int | None = None, guid: uuid.UUID | None = None) -> Contract:
        label = f"schema id {schema_id}" if guid is None else f"schema GUID {guid}"
        if guid is not None:
            schema = self._call(lambda: self.client.get_schema_by_guid(str(guid)), label)
        else:
            assert schema_id is not None
            schema = self._call(lambda: self.client.get_schema(schema_id), label)
        registered = self._find_version(schema_id, guid)
        if registered is not None:
            return self._from_registered(registered)
        # registered but under no subject we can see: name it by its id
        return self._contract(ContractRef(f"schema-{schema_id if guid is None else guid}", 1), schema)

    def _find_version(self, schema_id: int | None, guid: uuid.UUID | None) -> RegisteredSchema | None:
        # confluent-kafka's in-memory client does not implement the id -> versions lookup
        if schema_id is not None and type(self.client).__name__ != "MockSchemaRegistryClient":
            try:  # GET /schemas/ids/{id}/versions, where the registry offers it
                pairs = self.client.get_schema_versions(schema_id)
                if pairs and pairs[0].subject is not None and pairs[0].version is not None:
                    subject = pairs[0].subject
                    return self._version(ContractRef(self._names.get(subject, subject), pairs[0].version))
            except Exception:  # the in-memory client and older registries: search the subjects instead
                pass
        for subject in self._call(self.client.get_subjects, "subjects"):
            for version in self._call(lambda s=subject: self.client.get_versions(s), subject):
                registered = self._call(lambda s=subject, v=version: self.client.get_version(s, v), subject)
                matches = registered.schema_id == schema_id if guid is None else registered.guid == str(guid)
                if matches:
                    return registered  # type: ignore[no-any-return]
        return None

    # -- helpers -------------------------------------------------------------------------------------

    def _version(self, ref: ContractRef) -> RegisteredSchema:
        subject = self.subjects.get(ref.name, ref.name)
        return self._call(lambda: self.client.get_version(subject, ref.version), str(ref))  # type: ignore[no-any-return]

    def _from_registered(self, registered: RegisteredSchema) -> Contract:
        subject = registered.subject or "unknown"
        ref = ContractRef(self._names.get(subject, subject), registered.version or 0)
        return self._contract(ref, registered.schema)

    def _contract(self, ref: ContractRef, schema: Schema) -> Contract:
        kind = (schema.schema_type or "AVRO").upper()
        text = schema.schema_str or ""
        try:
            if kind == "AVRO":
                references = [self._reference_text(r.subject, r.version) for r in schema.references or []]
                return Contract.from_avro(ref, text, references=references)
            if kind == "JSON":
                return Contract.from_jsonschema(ref, text, references=self._json_references(schema))
        except ContractDeclarationError as exc:
            raise RegistryError(
                f"the registry's schema cannot be used: {exc.detail}", contract=str(ref), reason="bad-schema"
            ) from exc
        raise RegistryError(f"{kind} schemas are not supported", contract=str(ref), reason="bad-schema")

    def _json_references(self, schema: Schema) -> dict[str, Any]:
        """The documents a JSON Schema's references name, by the name its ``$ref`` uses (relative to
        the schema, as Confluent's serializers resolve them), their own references included."""
        from urllib.parse import urljoin

        from syscontract.formats.jsonschema import DEFAULT_BASE_URI

        found: dict[str, Any] = {}
        pending = list(schema.references or [])
        seen: set[tuple[str | None, int | None]] = set()
        while pending and len(seen) < 1000:
            reference = pending.pop()
            if (reference.subject, reference.version) in seen:
                continue
            seen.add((reference.subject, reference.version))
            if reference.subject is None or reference.version is None:
                raise RegistryError("a schema reference without subject or version", reason="bad-schema")
            subject, version = reference.subject, reference.version
            registered = self._call(
                lambda s=subject, v=version: self.client.get_version(s, v),
                f"{subject} v{version}",
            )
            try:
                document = json.loads(registered.schema.schema_str or "")
            except (ValueError, RecursionError) as exc:
                raise RegistryError(
                    f"the referenced schema {subject} v{version} is not JSON: {exc}", reason="bad-schema"
                ) from exc
            for name in (reference.name, urljoin(DEFAULT_BASE_URI, reference.name or "")):
                if name:
                    found[name] = document
            pending.extend(registered.schema.references or [])
        return found

    def _reference_text(self, subject: str | None, version: int | None) -> str:
        if subject is None or version is None:
            raise RegistryError("a schema reference without subject or version", reason="bad-schema")
        registered = self._call(lambda: self.client.get_version(subject, version), f"{subject} v{version}")
        return registered.schema.schema_str or ""

    def _cached(self, key: object, build: Any) -> Contract:
        """The contract for ``key``: kept once fetched; a failure is remembered and retried only after
        a backoff (so an unknown id costs one lookup, not one per message); one fetch per key at a
        time (a thousand messages with the same new id wait for one request)."""
        found = self._cache.get(key)
        if found is not None:
            return found
        self._raise_remembered(key)
        with self._lock:
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            found = self._cache.get(key)
            if found is not None:
                return found
            self._raise_remembered(key)
            try:
                found = cast(Contract, build())
            except RegistryError as exc:
                self._remember(key, exc)
                raise
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            with self._lock:
                _bounded(self._cache)
                self._cache[key] = found
                self._failures.pop(key, None)
        return found

    def _raise_remembered(self, key: object) -> None:
        remembered = self._failures.get(key)
        if remembered is not None and time.monotonic() < remembered[0]:
            error = remembered[1]
            wait = remembered[0] - time.monotonic()
            raise RegistryError(
                f"{error.detail} (failed {remembered[2]} time(s); not asked again for {wait:.1f} s)",
                contract=error.contract,
                reason=error.reason,
            ) from error

    def _remember(self, key: object, error: RegistryError) -> None:
        with self._lock:
            failures = self._failures.get(key, (0.0, error, 0))[2] + 1
            wait = min(MAX_RETRY_AFTER, RETRY_AFTER * 2 ** (failures - 1))
            _bounded(self._failures)
            self._failures[key] = (time.monotonic() + wait, error, failures)

    def _call(self, call: Any, what: str) -> Any:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            return call()
        except SchemaRegistryError as exc:
            reason = "unknown-schema" if exc.http_status_code == 404 else "unreachable"
            raise RegistryError(
                f"the schema registry cannot serve {what}: {exc.error_message} (HTTP {exc.http_status_code})",
                reason=reason,
            ) from exc
        except RegistryError:
            raise
        except Exception as exc:  # connection refused, timeouts, a broken response
            raise RegistryError(
                f"the schema registry is unreachable for {what}: {type(exc).__name__}: {exc}", reason="unreachable"
            ) from exc
