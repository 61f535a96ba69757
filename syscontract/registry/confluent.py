"""A Confluent-compatible Schema Registry, through confluent-kafka's own ``SchemaRegistryClient``.

Requires the ``kafka`` extra (``pip install 'syscontract[kafka]'``). Two ways to name versions:

- With local contracts (``contracts="contracts"``, a directory or any registry): ``order.v3`` is the
  local ``v3`` file, whatever the subject's numbering. A writer found by schema id or GUID is named
  after the local version with the same canonical form (Avro Parsing Canonical Form; a JSON Schema's
  canonical JSON, read in the same draft, with the same documents behind its references), so no
  ``[ids]`` table is needed; a writer that matches no local version is still
  the writer, named after its subject and id (``schema:orders-value@7.v1``).
- Without: a contract ``order.v2`` is version 2 of a subject: by default the subject named like the
  contract, or the one ``subjects`` maps it to (``{"order": "orders-value"}``). A subject that no
  contract name reaches (an unmapped subject named like a mapped contract) is read as
  ``subject:<subject>``; a schema under no visible subject as ``schema:<id>.v1``.

Either way a writer found by schema id or GUID is decoded with the schema the registry returns for
that id or GUID, always; its name only says which it is, so errors and telemetry say ``order.v2``,
not only ``id 7``, and that name leads back to a schema of the same canonical form through ``get()``.
Schema ids never change, so what is fetched is kept (bounded).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError, MissingDependencyError, RegistryError
from syscontract.registry import Registry
from syscontract.registry._changes import on_change
from syscontract.registry.files import FileRegistry

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient

__all__ = ["DEFAULT_DRAFT", "MAX_CACHED", "SCHEMA_PREFIX", "SUBJECT_PREFIX", "ConfluentRegistry"]

SUBJECT_PREFIX = "subject:"
"""The contract name ``subject:<subject>`` reads that subject as it is, never through ``subjects``:
the name of a subject that no contract name reaches otherwise (``subjects`` maps its name to another
subject) or whose name itself starts with a reserved prefix."""

SCHEMA_PREFIX = "schema:"
"""``schema:<id>.v1`` (or ``schema:<guid>.v1``) names a writer registered under no visible subject;
``schema:<subject>@<id>.v1`` a writer that matches no local contract version (with ``contracts=``).
``get()`` reads either by that id or GUID."""

DEFAULT_DRAFT = "draft7"
"""The JSON Schema draft of a registered schema without ``$schema``: draft 7, as Confluent's
serializers read it."""

_RESERVED = (SUBJECT_PREFIX, SCHEMA_PREFIX)

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
    confluent-kafka's in-memory registry). ``contracts``: the local contracts (a directory, read by a
    :class:`~syscontract.FileRegistry`, or any registry) that name versions; writers are matched to
    them by canonical form (see the module's docstring). ``default_draft``: the JSON Schema draft of a
    registered schema without ``$schema`` (draft 7, as Confluent reads it), and of such a schema in
    the ``contracts`` directory (unless its ``contract.toml`` says otherwise).
    """

    def __init__(
        self,
        client: SchemaRegistryClient | Mapping[str, Any],
        *,
        subjects: Mapping[str, str] | None = None,
        contracts: Registry | str | os.PathLike[str] | None = None,
        default_draft: str = DEFAULT_DRAFT,
    ) -> None:
        from syscontract.formats.jsonschema import check_draft

        self.default_draft = check_draft(default_draft, "default_draft")
        if contracts is not None and not isinstance(contracts, (str, os.PathLike)) and not hasattr(contracts, "get"):
            raise ContractDeclarationError(
                f"contracts is a directory or a registry, not {type(contracts).__name__}", reason="bad-option"
            )
        # a directory's JSON Schemas without $schema are read in the registry's draft: they are the
        # documents the registry holds, matched to its schemas by canonical JSON, so they mean the same
        self.contracts: Registry | None = (
            FileRegistry(contracts, default_draft=self.default_draft)
            if isinstance(contracts, (str, os.PathLike))
            else contracts
        )
        client_class = _client_class()
        self.client: SchemaRegistryClient = (
            client_class.new_client(dict(client)) if isinstance(client, Mapping) else client
        )
        self.subjects = dict(subjects or {})
        for name, subject in self.subjects.items():
            if not isinstance(name, str) or not isinstance(subject, str):
                raise ContractDeclarationError(
                    f"subjects maps contract names to subject names (strings), not {name!r}: {subject!r}",
                    reason="bad-option",
                )
            if name.startswith(_RESERVED):
                raise ContractDeclarationError(
                    f"subjects: the contract name {name!r} starts with {name.split(':')[0]!r}:, which names "
                    "a subject or a schema id as it is in the registry",
                    reason="bad-option",
                )
        self._names = {subject: name for name, subject in self.subjects.items()}
        self._cache: dict[object, Contract] = {}
        self._ids_of: dict[ContractRef, tuple[str, int]] = {}  # local version -> (its fingerprint, schema id)
        # key -> (monotonic time before which the failure stands, the failure, failures so far)
        self._failures: dict[object, tuple[float, RegistryError, int]] = {}
        self._inflight: dict[object, threading.Lock] = {}
        self._schemas: dict[int | uuid.UUID, Schema] = {}  # what an id or GUID is registered as: never changes
        self._lock = threading.Lock()
        if self.contracts is not None:
            with _named_by_local_lock:
                _named_by_local.add(self)

    def __repr__(self) -> str:
        local = f", contracts={self.contracts!r}" if self.contracts is not None else ""
        return f"ConfluentRegistry({type(self.client).__name__}{local})"

    # -- the Registry protocol -------------------------------------------------------------------

    def get(self, ref: ContractRef | str) -> Contract:
        parsed = ContractRef.parse(ref)
        if self.contracts is not None and not parsed.name.startswith(_RESERVED):
            return self.contracts.get(parsed)  # order.v3 is the local v3 file
        return self._cached(("ref", parsed), lambda: self._contract(parsed, self._schema_of(parsed)))

    def versions(self, name: str) -> list[int]:
        if name.startswith(SCHEMA_PREFIX):
            self._by_key(ContractRef(name, 1))  # there is such a schema
            return [1]
        if self.contracts is not None and not name.startswith(SUBJECT_PREFIX):
            return self.contracts.versions(name)
        return sorted(self._call(lambda: self.client.get_versions(self._subject_of(name)), name))

    def names(self) -> list[str]:
        """Every subject of the registry, by the contract name that reads it; with ``contracts``,
        the local contracts' names."""
        if self.contracts is not None:
            return self.contracts.names()
        return sorted(self._name_of(s) for s in self._call(self.client.get_subjects, "subjects"))

    def id_of(self, ref: ContractRef | str) -> int:
        """The schema id of this contract version in the registry (for Confluent framing); with
        ``contracts``, the id under which the local version's schema is registered in its subject."""
        parsed = ContractRef.parse(ref)
        if self.contracts is not None and not parsed.name.startswith(_RESERVED):
            return self._registered_id(parsed)
        if parsed.name.startswith(SCHEMA_PREFIX):
            key = self._key(parsed)
            if isinstance(key, int):
                self._by_key(key)  # there is such a schema
                return key
            raise RegistryError(
                f"{parsed} is named by its schema GUID; its schema id is not known",
                contract=str(parsed),
                reason="unknown-schema",
            )
        registered = self._version(parsed)
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

    def by_fingerprint(self, fingerprint: bytes) -> Contract:
        """The local Avro contract with this CRC-64-AVRO fingerprint (single-object encoding carries no
        schema id): with ``contracts`` only, as the local registry finds it."""
        lookup = getattr(self.contracts, "by_fingerprint", None)
        if lookup is None:
            raise RegistryError(
                f"a Schema Registry finds writers by schema id or GUID, not by fingerprint "
                f"{bytes(fingerprint).hex()}: give it the local contracts (contracts=...) to read single-object "
                "encoded messages",
                reason="unknown-schema",
            )
        return cast(Contract, lookup(fingerprint))

    def _writer(self, *, schema_id: int | None = None, guid: uuid.UUID | None = None) -> Contract:
        # the schema that decodes is the one registered for this id or GUID, always; where it is
        # registered (subject and version), or the local version of the same canonical form, only
        # names the writer
        key = schema_id if guid is None else guid
        assert key is not None
        schema = self._by_key(key)
        if self.contracts is not None:
            return self._local_writer(key, schema)
        ref = self._writer_ref(schema_id, guid)
        if ref is None:  # registered, but under no subject we can see (or name): named by its id
            ref = ContractRef(f"{SCHEMA_PREFIX}{key}", 1)
        return self._contract(ref, schema)

    def _local_writer(self, key: int | uuid.UUID, schema: Schema) -> Contract:
        """The writer of this id or GUID, named after the local contract version with the same
        canonical form; a writer no local version matches is named after its subject and id."""
        assert self.contracts is not None
        plain = self._contract(ContractRef(f"{SCHEMA_PREFIX}{key}", 1), schema)
        subject = self._subject_holding(key)
        preferred = {self._name_of(subject)} if subject is not None else set()
        found = _same_canonical_form(self.contracts, plain, preferred)
        if found is not None:
            return self._contract(found, schema)
        if subject is not None:
            ref = ContractRef(f"{SCHEMA_PREFIX}{subject}@{key}", 1)
            if _spellable(ref):
                return self._contract(ref, schema)
        return plain

    def _subject_holding(self, key: int | uuid.UUID) -> str | None:
        """A subject that holds this schema id or GUID (mapped subjects first), or None."""
        ref = self._writer_ref(key if isinstance(key, int) else None, key if isinstance(key, uuid.UUID) else None)
        return None if ref is None else self._subject_of(ref.name)

    def _registered_id(self, ref: ContractRef) -> int:
        """The schema id of the local version ``ref`` in its subject: the newest registered version
        with the same canonical form (the rule writers are named by)."""
        assert self.contracts is not None
        local = self.contracts.get(ref)
        subject = self._subject_of(ref.name)
        known = self._ids_of.get(ref)
        if known is not None and known[0] == local.fingerprint:
            return known[1]
        try:
            versions = self._call(lambda: self.client.get_versions(subject), str(ref))
        except RegistryError as exc:
            if exc.reason != "unknown-schema":
                raise
            versions = []  # no such subject
        near = ""  # a version of the same JSON text that means otherwise: the reason none matches
        for version in sorted(versions, reverse=True):
            registered = self._call(lambda v=version: self.client.get_version(subject, v), str(ref))
            try:
                candidate = self._contract(ContractRef(f"{SCHEMA_PREFIX}{registered.schema_id}", 1), registered.schema)
            except RegistryError:  # a schema syscontract cannot read is no match
                continue
            if registered.schema_id is not None and _same_form(local, candidate):
                with self._lock:
                    _bounded(self._ids_of)
                    self._ids_of[ref] = (local.fingerprint, int(registered.schema_id))
                return int(registered.schema_id)
            if not near and local.format == "jsonschema" and local.fingerprint == candidate.fingerprint:
                (theirs, _), (ours, _) = _json_meaning(candidate), _json_meaning(local)
                read = (
                    f"read in {theirs} there and {ours} here"
                    if theirs != ours
                    else "its references reach other documents"
                )
                near = (
                    f"; its version {version} has the same JSON text but means otherwise ({read}): give the local "
                    "file a $schema, or read it in the registry's draft (contracts='<directory>', or default_draft "
                    "in its contract.toml)"
                )
        raise RegistryError(
            f"no version of subject {subject!r}{self._where()} has the canonical form of the local {ref}: "
            f"register it, or map the contract name to the subject that holds it (subjects={{{ref.name!r}: "
            f"'<subject>'}}){near}",
            contract=str(ref),
            reason="unknown-schema",
        )

    def _by_key(self, key: ContractRef | int | uuid.UUID | None) -> Schema:
        """The schema registered under a schema id or GUID (or named ``schema:<id or GUID>.v1``): fetched
        once (what an id means never changes, what it is named after may)."""
        if isinstance(key, ContractRef):
            key = self._key(key)
        assert isinstance(key, (int, uuid.UUID))
        found = self._schemas.get(key)
        if found is not None:
            return found
        if isinstance(key, uuid.UUID):
            guid = key
            found = self._call(lambda: self.client.get_schema_by_guid(str(guid)), f"schema GUID {guid}")
        else:
            schema_id = key
            found = self._call(lambda: self.client.get_schema(schema_id), f"schema id {schema_id}")
        with self._lock:
            _bounded(self._schemas)
            self._schemas[key] = found
        return cast("Schema", found)

    def _forget_names(self) -> None:
        """The local contracts changed: writers are named again (their schemas are kept)."""
        with self._lock:
            for key in [k for k in self._cache if isinstance(k, tuple) and k[0] in ("id", "guid")]:
                del self._cache[key]

    def _key(self, ref: ContractRef) -> int | uuid.UUID:
        text = ref.name[len(SCHEMA_PREFIX) :].rpartition("@")[2]  # schema:<subject>@<id>: named by the id
        key: int | uuid.UUID | None = None
        if text.isascii() and text.isdigit() and len(text) <= 10:
            key = int(text)
        else:
            with contextlib.suppress(ValueError):
                key = uuid.UUID(text)
        if key is None or ref.version != 1:
            raise RegistryError(
                f"{ref} is not a schema of the registry: {SCHEMA_PREFIX}<id>.v1 or {SCHEMA_PREFIX}<GUID>.v1 names one",
                contract=str(ref),
                reason="unknown-contract",
            )
        return key

    def _writer_ref(self, schema_id: int | None, guid: uuid.UUID | None) -> ContractRef | None:
        """The name of the writer of this id or GUID: a (subject, version) that holds it, by the
        contract name that reads that subject. A mapped subject is preferred, then a subject read by
        its own name, then an escaped one (``subject:<name>``); then the lowest subject and version."""
        pairs = self._id_versions(schema_id) if schema_id is not None else None
        if pairs is not None:
            refs = [ref for ref in (self._ref_of(subject, version) for subject, version in pairs) if ref is not None]
            return min(refs, key=self._preference, default=None)
        # the registry does not say where the id is registered: search the subjects, best first
        subjects = self._call(self.client.get_subjects, "subjects")
        for subject in sorted(subjects, key=lambda s: self._preference(ContractRef(self._name_of(s), 0))):
            try:
                versions = self._call(lambda s=subject: self.client.get_versions(s), subject)
                for version in sorted(versions):
                    registered = self._call(lambda s=subject, v=version: self.client.get_version(s, v), subject)
                    if (registered.schema_id == schema_id) if guid is None else _same_guid(registered.guid, guid):
                        found = self._ref_of(subject, version)
                        if found is not None:
                            return found
            except RegistryError as exc:
                if exc.reason != "unknown-schema":  # a subject or version deleted since it was listed
                    raise
        return None

    def _id_versions(self, schema_id: int) -> list[tuple[str, int]] | None:
        """The (subject, version) pairs of a schema id (``GET /schemas/ids/{id}/versions``), or None
        where the registry does not answer that."""
        # confluent-kafka's in-memory client does not implement it (it would ask a REST server)
        if type(self.client).__name__ == "MockSchemaRegistryClient":
            return None
        try:
            pairs = self.client.get_schema_versions(schema_id)
            return [
                (p.subject, p.version)
                for p in pairs
                if isinstance(p.subject, str) and isinstance(p.version, int) and not isinstance(p.version, bool)
            ]
        except Exception:  # registries before 5.5, a broken answer: search the subjects instead
            return None

    def _preference(self, ref: ContractRef) -> tuple[int, str, int]:
        rank = 0 if ref.name in self.subjects else 2 if ref.name.startswith(_RESERVED) else 1
        return (rank, ref.name, ref.version)

    def _ref_of(self, subject: str, version: int) -> ContractRef | None:
        """The contract reference that reads ``version`` of ``subject``, or None when none can (a subject
        name with white space, say)."""
        ref = ContractRef(self._name_of(subject), version)
        try:
            return ref if ContractRef.parse(str(ref)) == ref else None
        except ContractDeclarationError:
            return None

    # -- helpers -------------------------------------------------------------------------------------

    def _subject_of(self, name: str) -> str:
        """The subject contract ``name`` reads: the one ``subjects`` maps it to, the one it escapes
        (``subject:<subject>``), or else the subject named like it."""
        if name in self.subjects:
            return self.subjects[name]
        if name.startswith(SUBJECT_PREFIX):
            return name[len(SUBJECT_PREFIX) :]
        return name

    def _name_of(self, subject: str) -> str:
        """The contract name that reads ``subject`` (``_subject_of``'s inverse): its mapped name; else
        the subject itself, unless a mapped contract takes that name or it starts with a reserved
        prefix (then ``subject:<subject>``)."""
        name = self._names.get(subject)
        if name is not None:
            return name
        if subject in self.subjects or subject.startswith(_RESERVED):
            return SUBJECT_PREFIX + subject
        return subject

    def _schema_of(self, ref: ContractRef) -> Schema:
        if ref.name.startswith(SCHEMA_PREFIX):
            return self._by_key(ref)
        return self._version(ref).schema

    def _version(self, ref: ContractRef) -> RegisteredSchema:
        subject = self._subject_of(ref.name)
        return self._call(lambda: self.client.get_version(subject, ref.version), str(ref))  # type: ignore[no-any-return]

    def _contract(self, ref: ContractRef, schema: Schema) -> Contract:
        kind = str(schema.schema_type or "AVRO").upper()
        text = schema.schema_str or ""
        if not isinstance(text, str):
            raise RegistryError("the registry's schema is not a string", contract=str(ref), reason="bad-schema")
        try:
            if kind == "AVRO":
                return Contract.from_avro(ref, text, references=self._avro_references(schema))
            if kind == "JSON":
                return Contract.from_jsonschema(
                    ref, text, references=self._json_references(schema), default_draft=self.default_draft
                )
            if kind == "PROTOBUF":  # base64 FileDescriptorProto; a message's framing picks its own message
                from syscontract.formats.protobuf import ROOT_MESSAGE

                references = self._protobuf_references(schema)
                return Contract.from_protobuf(ref, text, references=references, message=ROOT_MESSAGE)
        except ContractDeclarationError as exc:
            raise RegistryError(
                f"the registry's schema cannot be used: {exc.detail}", contract=str(ref), reason="bad-schema"
            ) from exc
        raise RegistryError(f"{kind} schemas are not supported", contract=str(ref), reason="bad-schema")

    def _json_references(self, schema: Schema) -> dict[str, Any]:
        """The documents a JSON Schema's references name, by the name its ``$ref`` uses (relative to
        the schema, as Confluent's serializers resolve them), their own references included."""
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
            registered = self._referenced(subject, version)
            try:
                document = json.loads(registered.schema.schema_str or "")
            except (ValueError, RecursionError) as exc:
                raise RegistryError(
                    f"the referenced schema {subject} v{version} is not JSON: {exc}", reason="bad-schema"
                ) from exc
            if reference.name:
                found[reference.name] = document
                found[_relative_to_default_base(reference.name)] = document
            pending.extend(registered.schema.references or [])
        return found

    def _avro_references(self, schema: Schema) -> list[str]:
        """The texts of the schemas an Avro schema references, their own references included, each
        after what it references (named types are defined before they are used)."""
        return [text for _, text in self._references(schema)]

    def _protobuf_references(self, schema: Schema) -> list[tuple[str, str]]:
        """The files a protobuf schema imports, their own imports included, as ``(the name the
        importing file uses, the registered text)``: base64 ``FileDescriptorProto`` s from Python
        clients, ``.proto`` source from Java ones."""
        return self._references(schema)

    def _references(self, schema: Schema) -> list[tuple[str, str]]:
        """Every schema ``schema`` references, theirs included, each after what it references, as
        ``(the name the reference gives, the registered text)``; at most 32 deep and 1,000 in all."""
        found: list[tuple[str, str]] = []
        seen: set[tuple[str | None, int | None]] = set()

        def visit(references: list[Any], depth: int) -> None:
            for reference in references:
                key = (reference.subject, reference.version)
                if key in seen:
                    continue
                seen.add(key)
                if depth > 32 or len(seen) > 1000:
                    raise RegistryError("schema references nest too deep or are too many", reason="bad-schema")
                if reference.subject is None or reference.version is None:
                    raise RegistryError("a schema reference without subject or version", reason="bad-schema")
                registered = self._referenced(reference.subject, reference.version)
                visit(list(registered.schema.references or []), depth + 1)
                found.append((str(reference.name or reference.subject), registered.schema.schema_str or ""))

        visit(list(schema.references or []), 0)
        return found

    def _referenced(self, subject: str, version: int) -> RegisteredSchema:
        """A referenced schema: by the subject and version the reference names (a subject, never a
        contract name), soft-deleted versions included, as Confluent's deserializers read them."""
        return self._call(  # type: ignore[no-any-return]
            lambda: self.client.get_version(subject, version, deleted=True), f"{subject} v{version}"
        )

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
                f"the schema registry{self._where()} cannot serve {what}: {_short(exc.error_message)} "
                f"(HTTP {exc.http_status_code})",
                reason=reason,
            ) from exc
        except RegistryError:
            raise
        except Exception as exc:  # connection refused, timeouts, a broken response
            raise RegistryError(
                f"the schema registry{self._where()} is unreachable for {what}: {type(exc).__name__}: {_short(exc)}",
                reason="unreachable",
            ) from exc

    def _where(self) -> str:
        """`` at <url>`` for the client's configured URL(s), credentials and query left out."""
        from urllib.parse import urlsplit, urlunsplit

        try:
            url = cast(Any, self.client).config().get("url")
        except Exception:  # a stand-in client without its configuration
            return ""
        if not isinstance(url, str) or not url:
            return ""
        shown = []
        for one in url.split(","):
            parts = urlsplit(one.strip())
            shown.append(urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")))
        return " at " + ", ".join(shown)


_named_by_local: weakref.WeakSet[ConfluentRegistry] = weakref.WeakSet()
"""Registries whose writers are named after local contracts: when any registry re-maps a writer key or
replaces a contract (``registry._changes``), their writers are named again, so that no writer keeps the
name of a local version that now means another schema."""
_named_by_local_lock = threading.Lock()


def _forget_local_names() -> None:
    with _named_by_local_lock:
        registries = list(_named_by_local)
    for registry in registries:
        registry._forget_names()


on_change(_forget_local_names)


def _spellable(ref: ContractRef) -> bool:
    try:
        return ContractRef.parse(str(ref)) == ref
    except ContractDeclarationError:
        return False


def _same_form(local: Contract, writer: Contract) -> bool:
    """Whether a local contract has the writer's canonical form: the Avro Parsing Canonical Form (named
    types from references inlined), or a JSON Schema's canonical JSON (keys sorted, no white space)
    read in the same draft, with the same documents behind its references. The text alone is not the
    meaning of a JSON Schema: the same document requires a field beside a ``$ref`` in 2020-12 and not in
    draft 7, and a ``$ref`` may reach another document on each side; the gates judge a writer by the
    local version it is named after, so that version must mean what the writer's schema means."""
    if local.format != writer.format or local.model is not None:
        return False
    if writer.format == "avro":
        return local.avro_fingerprint == writer.avro_fingerprint
    if writer.format == "jsonschema":
        return local.fingerprint == writer.fingerprint and _json_meaning(local) == _json_meaning(writer)
    return local.fingerprint == writer.fingerprint


def _json_meaning(contract: Contract) -> tuple[str, tuple[str, ...]]:
    """What a JSON Schema's text alone does not say: its draft (a document without ``$schema`` is read
    in its registry's default) and the documents its references reach."""
    from syscontract.formats.jsonschema import DEFAULT_DRAFT

    native = contract.native
    return (getattr(native, "draft", None) or DEFAULT_DRAFT, tuple(getattr(native, "documents", ())))


def _same_canonical_form(local: Registry, writer: Contract, preferred: set[str]) -> ContractRef | None:
    """The local contract version with the writer's canonical form (Avro: Parsing Canonical Form;
    JSON Schema: canonical JSON), or None. Several: the same schema in every attribute first, then a
    contract named like the writer's subject, then the first by name and version. A local version
    that cannot be read is no match (the writer keeps its registry name)."""
    found: list[tuple[bool, bool, str, int]] = []
    for name in local.names():
        for version in local.versions(name):
            try:
                candidate = local.get(ContractRef(name, version))
            except ContractError:
                continue
            if _same_form(candidate, writer):
                exact = candidate.schema == writer.schema
                found.append((not exact, name not in preferred, name, version))
    if not found:
        return None
    best = min(found)
    return ContractRef(best[2], best[3])


def _same_guid(found: object, guid: uuid.UUID) -> bool:
    try:
        return isinstance(found, str) and uuid.UUID(found) == guid
    except ValueError:
        return False


def _relative_to_default_base(name: str) -> str:
    """A reference name as a ``$ref`` in a schema without ``$id`` resolves it: against
    ``DEFAULT_BASE_URI`` when relative (``urljoin`` leaves a scheme it does not know alone, so the
    path is joined under ``file:`` and moved over), as it is when absolute."""
    from urllib.parse import urljoin, urlsplit

    from syscontract.formats.jsonschema import DEFAULT_BASE_URI

    if urlsplit(name).scheme:
        return name
    return DEFAULT_BASE_URI + urljoin("file:///", name)[len("file:///") :]


def _short(message: object, limit: int = 300) -> str:
    """An error text as a message carries it: one line, at most ``limit`` characters (a proxy's HTML
    error page is not a message)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
