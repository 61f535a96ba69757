"""A small Confluent Schema Registry, over HTTP on 127.0.0.1, for tests.

confluent-kafka's in-memory client (``mock://``) is not the REST client: it has no
``GET /schemas/ids/{id}/versions``, so code that takes another branch against a real registry is never
run by tests that use it. This server speaks the REST API that confluent-kafka's own
``SchemaRegistryClient`` calls (read from ``confluent_kafka/schema_registry/_sync/schema_registry_client.py``
of the installed client), so a test goes through the real client, its URL encoding, its query
parameters and its error handling. The fixture ``schema_registry`` (``schema_registry_fixture``
imported into a test module) or the context manager ``serving()`` starts one and stops it however
the test ends::

    with serving() as server:
        server.add("orders-value", ORDER_V1, schema_id=20)
        client = SchemaRegistryClient({"url": server.url, "max.retries": 0})

Facts about the API that the client's source does not show are taken from Confluent's API reference
(https://docs.confluent.io/platform/current/schema-registry/develop/api.html): the error codes
(40401 subject not found, 40402 version not found, 40403 schema not found, 40405 subject not
soft-deleted first, 40408 no subject-level config, 42201 invalid schema, 42202 invalid version,
42203 invalid compatibility level, 42206 a referenced version cannot be deleted, 50001 internal error), the content type
``application/vnd.schemaregistry.v1+json``, ``schemaType`` left out for AVRO, a schema id shared by
every subject that registers the same schema, versions numbered per subject from 1 and never reused,
``latest`` and ``-1`` naming the newest version, soft deletes hidden unless ``deleted=true``. Schemas are
compared as parsed JSON, not by Confluent's canonical form.

Served: ``GET /schemas/ids/{id}`` (``subject``, ``format`` and ``reference_format`` accepted and
ignored), ``/schemas/ids/{id}/versions``, ``/schemas/ids/{id}/subjects``, ``/schemas/guids/{guid}``,
``/schemas/types``, ``GET /subjects``, ``/subjects/{s}/versions``, ``/subjects/{s}/versions/{v|latest}``,
``/subjects/{s}/versions/{v}/referencedby``, ``POST /subjects/{s}/versions`` (register),
``POST /subjects/{s}`` (lookup), ``DELETE /subjects/{s}`` and ``/subjects/{s}/versions/{v}``
(soft, or ``permanent=true``), ``GET|PUT /config``, ``GET|PUT|DELETE /config/{s}``, ``GET /mode``.
Anything else is Confluent's generic 404 (or 405 for a known path with another method).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

__all__ = ["CONTENT_TYPE", "SchemaRegistryServer", "schema_registry_fixture", "serving"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
LEVELS = frozenset(
    ["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"]
)
TYPES = ("AVRO", "JSON", "PROTOBUF")


class Answer(Exception):
    """An HTTP answer other than 200, raised from a route: Confluent's error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _subject_not_found(subject: str) -> Answer:
    return Answer(404, 40401, f"Subject '{subject}' not found.")


def _version_not_found(version: object) -> Answer:
    return Answer(404, 40402, f"Version {version} not found.")


def _schema_not_found(what: object = "") -> Answer:
    return Answer(404, 40403, f"Schema {what} not found." if what != "" else "Schema not found.")


@dataclass
class Stored:
    """One schema: its id and GUID are the same under every subject that registered it."""

    schema_id: int
    guid: str
    text: str
    schema_type: str
    references: list[dict[str, Any]]

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.text}
        if self.schema_type != "AVRO":  # Confluent leaves schemaType out for AVRO
            out["schemaType"] = self.schema_type
        if self.references:
            out["references"] = [dict(r) for r in self.references]
        return out

    def same(self, text: str, schema_type: str, references: list[dict[str, Any]]) -> bool:
        return (
            self.schema_type == schema_type
            and _parsed(self.text) == _parsed(text)
            and _refs_key(self.references) == _refs_key(references)
        )


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _refs_key(references: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any, Any]]:
    return [(r.get("name"), r.get("subject"), r.get("version")) for r in references]


@dataclass
class Version:
    schema_id: int
    deleted: bool = False


@dataclass
class State:
    schemas: dict[int, Stored] = field(default_factory=dict)
    subjects: dict[str, dict[int, Version]] = field(default_factory=dict)
    config: dict[str | None, str] = field(default_factory=lambda: {None: "BACKWARD"})


class SchemaRegistryServer:
    """The registry's state, and switches for what a test needs a registry to do wrong."""

    def __init__(self) -> None:
        self.state = State()
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        """Every request, as (method, path with query), in order."""
        self.offer_id_versions = True
        """False: ``GET /schemas/ids/{id}/versions`` is an unknown route (registries before 5.5)."""
        self.offer_guids = True
        """False: ``GET /schemas/guids/{guid}`` is an unknown route (registries before GUIDs)."""
        self._failures: list[tuple[Callable[[str, str], bool], int, bytes]] = []
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._http is not None, "not serving: use serving()"
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def add(
        self,
        subject: str,
        schema: str | Mapping[str, Any],
        *,
        schema_type: str = "AVRO",
        references: Sequence[Mapping[str, Any]] = (),
        schema_id: int | None = None,
        version: int | None = None,
        guid: str | None = None,
    ) -> int:
        """Register ``schema`` under ``subject`` directly (no HTTP), with the id and version a test
        chooses: ``schema_id`` (default: the id an identical schema already has, or the next free one)
        and ``version`` (default: one above the subject's highest, deleted ones included). Returns the id."""
        text = schema if isinstance(schema, str) else json.dumps(schema)
        with self.lock:
            return self._register(subject, text, schema_type, [dict(r) for r in references], schema_id, version, guid)

    def fail(self, status: int, *, when: Callable[[str, str], bool] | None = None, body: bytes | None = None) -> None:
        """Answer ``status`` (with Confluent's error body, or ``body``) to every request, or to those
        for which ``when(method, path)`` is true, until :meth:`heal`."""
        default = json.dumps({"error_code": status * 100 + 1, "message": f"injected HTTP {status}"}).encode()
        with self.lock:
            self._failures.append((when or (lambda method, path: True), status, default if body is None else body))

    def heal(self) -> None:
        with self.lock:
            self._failures.clear()

    def calls(self, method: str, prefix: str) -> int:
        """How many requests were ``method`` to a path starting with ``prefix``."""
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    # -- serving -----------------------------------------------------------------------------------

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            registry = server

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        # a short poll: shutdown() waits for the loop to look, and every test stops a server
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, name="schema-registry", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "the schema registry server did not stop"

    # -- the registry --------------------------------------------------------------------------------

    def _register(
        self,
        subject: str,
        text: str,
        schema_type: str,
        references: list[dict[str, Any]],
        schema_id: int | None = None,
        version: int | None = None,
        guid: str | None = None,
    ) -> int:
        state = self.state
        if schema_type not in TYPES:
            raise Answer(422, 42201, f"Invalid schema type {schema_type}")
        if schema_type in ("AVRO", "JSON"):
            try:
                json.loads(text)
            except ValueError as exc:
                raise Answer(422, 42201, f"Invalid schema: {exc}") from exc
        for reference in references:
            found = state.subjects.get(str(reference.get("subject")), {}).get(reference.get("version"))  # type: ignore[arg-type]
            if not reference.get("name") or found is None or found.deleted:
                raise Answer(422, 42201, f"Invalid schema: reference {reference} cannot be resolved")
        versions = state.subjects.setdefault(subject, {})
        for number, entry in versions.items():
            if not entry.deleted and state.schemas[entry.schema_id].same(text, schema_type, references):
                if schema_id is not None and schema_id != entry.schema_id:
                    raise ValueError(f"{subject} v{number} already has this schema as id {entry.schema_id}")
                return entry.schema_id
        if schema_id is None:
            same = [s.schema_id for s in state.schemas.values() if s.same(text, schema_type, references)]
            schema_id = same[0] if same else max(state.schemas, default=0) + 1
        stored = state.schemas.get(schema_id)
        if stored is None:
            state.schemas[schema_id] = Stored(
                schema_id,
                guid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"srserver:{schema_id}")),
                text,
                schema_type,
                references,
            )
        elif not stored.same(text, schema_type, references):
            raise ValueError(f"schema id {schema_id} is another schema")
        if version is None:
            version = max(versions, default=0) + 1
        if version in versions:
            raise ValueError(f"{subject} v{version} exists")
        versions[version] = Version(schema_id)
        return schema_id

    def _versions(self, subject: str, deleted: bool = False, only_deleted: bool = False) -> dict[int, Version]:
        versions = self.state.subjects.get(subject)
        if versions is None:
            raise _subject_not_found(subject)
        chosen = {
            n: v for n, v in sorted(versions.items()) if (v.deleted if only_deleted else deleted or not v.deleted)
        }
        if not chosen and not deleted and not only_deleted:
            raise _subject_not_found(subject)
        return chosen

    def _version(self, subject: str, text: str, deleted: bool = False) -> tuple[int, Version]:
        versions = self._versions(subject, deleted=True)
        live = {n: v for n, v in versions.items() if deleted or not v.deleted}
        if text in ("latest", "-1"):
            if not live:
                raise _subject_not_found(subject)
            number = max(live)
            return number, live[number]
        if not re.fullmatch(r"[0-9]+", text) or int(text) < 1 or int(text) > 2**31 - 1:
            raise Answer(
                422,
                42202,
                f"The specified version '{text}' is not a valid version id. Allowed values are between "
                '[1, 2^31-1] and the string "latest"',
            )
        number = int(text)
        if number not in live:
            raise _version_not_found(number)
        return number, live[number]

    def _registered(self, subject: str, number: int, entry: Version) -> dict[str, Any]:
        stored = self.state.schemas[entry.schema_id]
        return {"subject": subject, "version": number, "id": stored.schema_id, "guid": stored.guid, **stored.body()}

    def _schema(self, schema_id: str) -> Stored:
        # a schema id keeps serving while a version soft-deleted still holds it (old messages stay
        # readable); gone with the last version that held it
        stored = self.state.schemas.get(int(schema_id)) if re.fullmatch(r"-?[0-9]+", schema_id) else None
        if stored is None or not any(
            v.schema_id == stored.schema_id for vs in self.state.subjects.values() for v in vs.values()
        ):
            raise Answer(404, 40403, f"Schema {schema_id} not found")
        return stored

    def route(self, method: str, parts: list[str], query: Mapping[str, str], body: Any) -> Any:
        """The answer to one request: a JSON value, or raise :class:`Answer`."""
        state = self.state
        flag = _flag(query)
        match parts:
            case ["schemas", "types"] if method == "GET":
                return list(TYPES)
            case ["schemas", "ids", schema_id] if method == "GET":
                stored = self._schema(schema_id)
                return stored.body() | {"guid": stored.guid}
            case ["schemas", "ids", schema_id, "versions"] if method == "GET" and self.offer_id_versions:
                stored = self._schema(schema_id)
                pairs = [
                    {"subject": s, "version": n}
                    for s, versions in sorted(state.subjects.items())
                    for n, v in sorted(versions.items())
                    if v.schema_id == stored.schema_id
                    and (flag("deleted") or not v.deleted)
                    and query.get("subject") in (None, s)
                ]
                return _page(pairs, query)
            case ["schemas", "ids", schema_id, "subjects"] if method == "GET":
                stored = self._schema(schema_id)
                subjects = sorted(
                    {
                        s
                        for s, versions in state.subjects.items()
                        for v in versions.values()
                        if v.schema_id == stored.schema_id and (flag("deleted") or not v.deleted)
                    }
                )
                return _page(subjects, query)
            case ["schemas", "guids", guid] if method == "GET" and self.offer_guids:
                for stored in state.schemas.values():
                    if stored.guid == guid.lower():
                        return self._schema(str(stored.schema_id)).body() | {
                            "id": stored.schema_id,
                            "guid": stored.guid,
                        }
                raise _schema_not_found(guid)
            case ["subjects"] if method == "GET":
                prefix = query.get("subjectPrefix", "")
                subjects = [
                    s
                    for s, versions in sorted(state.subjects.items())
                    if s.startswith(prefix)
                    and any(
                        v.deleted if flag("deleted_only") else flag("deleted") or not v.deleted
                        for v in versions.values()
                    )
                ]
                return _page(subjects, query)
            case ["subjects", subject, "versions"] if method == "GET":
                versions = self._versions(subject, flag("deleted"), flag("deleted_only"))
                return _page(list(versions), query)
            case ["subjects", subject, "versions", version] if method == "GET":
                number, entry = self._version(subject, version, flag("deleted"))
                return self._registered(subject, number, entry)
            case ["subjects", subject, "versions", version, "referencedby"] if method == "GET":
                number, _ = self._version(subject, version)
                return _page(
                    sorted(
                        s.schema_id
                        for s in state.schemas.values()
                        if any(r.get("subject") == subject and r.get("version") == number for r in s.references)
                    ),
                    query,
                )
            case ["subjects", subject, "versions"] if method == "POST":
                text, schema_type, references = _schema_body(body)
                schema_id = self._register(subject, text, schema_type, references)
                return {"id": schema_id, "guid": state.schemas[schema_id].guid}
            case ["subjects", subject] if method == "POST":
                text, schema_type, references = _schema_body(body)
                versions = self._versions(subject, deleted=flag("deleted"))
                for number, entry in versions.items():
                    if state.schemas[entry.schema_id].same(text, schema_type, references):
                        return self._registered(subject, number, entry)
                raise _schema_not_found()
            case ["subjects", subject] if method == "DELETE":
                versions = self._versions(subject, deleted=True)
                if flag("permanent"):
                    if any(not v.deleted for v in versions.values()):
                        raise Answer(
                            404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
                        )
                    del state.subjects[subject]
                    return list(versions)
                live = [n for n, v in versions.items() if not v.deleted]
                if not live:
                    raise _subject_not_found(subject)
                for n in live:
                    versions[n].deleted = True
                return live
            case ["subjects", subject, "versions", version] if method == "DELETE":
                number, entry = self._version(subject, version, deleted=flag("permanent"))
                if any(
                    r.get("subject") == subject and r.get("version") == number
                    for s in state.schemas.values()
                    for r in s.references
                ):
                    raise Answer(
                        422, 42206, f"One or more references exist to the schema {{subject={subject},version={number}}}"
                    )
                if flag("permanent"):
                    if not entry.deleted:
                        raise Answer(
                            404,
                            40407,
                            f"Subject '{subject}' Version {number} was not deleted first before being permanently "
                            "deleted",
                        )
                    del state.subjects[subject][number]
                else:
                    entry.deleted = True
                return number
            case ["config"] if method == "GET":
                return {"compatibilityLevel": state.config[None]}
            case ["config", subject] if method == "GET":
                if subject in state.config:
                    return {"compatibilityLevel": state.config[subject]}
                if flag("defaultToGlobal"):
                    return {"compatibilityLevel": state.config[None]}
                raise Answer(404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured")
            case ["config", *rest] if method == "PUT" and len(rest) <= 1:
                level = str((body or {}).get("compatibility", "")).upper()
                if level not in LEVELS:
                    raise Answer(
                        422, 42203, "Invalid compatibility level. Valid values are " + ", ".join(sorted(LEVELS))
                    )
                state.config[rest[0] if rest else None] = level
                return {"compatibility": level}
            case ["config", subject] if method == "DELETE":
                if subject not in state.config:
                    raise _subject_not_found(subject)
                return {"compatibilityLevel": state.config.pop(subject)}
            case ["mode"] if method == "GET":
                return {"mode": "READWRITE"}
        known = self.route_exists(parts)
        raise Answer(405, 405, "HTTP 405 Method Not Allowed") if known else Answer(404, 404, "HTTP 404 Not Found")

    def route_exists(self, parts: list[str]) -> bool:
        shapes = (
            ["schemas", "types"],
            ["schemas", "ids", "*"],
            ["subjects"],
            ["subjects", "*"],
            ["subjects", "*", "versions"],
            ["subjects", "*", "versions", "*"],
            ["config"],
            ["config", "*"],
            ["mode"],
        )
        return any(len(s) == len(parts) and all(a in ("*", b) for a, b in zip(s, parts, strict=True)) for s in shapes)


def _flag(query: Mapping[str, str]) -> Callable[[str], bool]:
    # the client sends Python booleans both as httpx renders them ("false") and formatted ("False")
    return lambda name: str(query.get(name, "")).lower() == "true"


def _page(items: list[Any], query: Mapping[str, str]) -> list[Any]:
    offset = int(query.get("offset", 0) or 0)
    limit = int(query.get("limit", -1) or -1)
    return items[offset:] if limit < 0 else items[offset : offset + limit]


def _schema_body(body: Any) -> tuple[str, str, list[dict[str, Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise Answer(422, 42201, "Invalid schema: the request has no schema")
    references = body.get("references") or []
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        raise Answer(422, 42201, "Invalid schema: references must be a list of objects")
    return body["schema"], str(body.get("schemaType") or "AVRO").upper(), [dict(r) for r in references]


class _Handler(BaseHTTPRequestHandler):
    registry: SchemaRegistryServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing left open when the server stops

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        registry = self.registry
        split = urlsplit(self.path)
        # the client quotes a subject with safe='': a '/' in a subject arrives as %2F, one path segment
        parts = [unquote(p) for p in split.path.strip("/").split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with registry.lock:
            registry.requests.append((self.command, self.path))
            failure = next((f for f in registry._failures if f[0](self.command, split.path)), None)
        if failure is not None:
            self._send(failure[1], failure[2])
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, json.dumps({"error_code": 400, "message": "Unrecognized JSON in the request"}).encode())
            return
        try:
            with registry.lock:
                answer = registry.route(self.command, parts, query, body)
        except Answer as exc:
            self._send(exc.status, json.dumps({"error_code": exc.code, "message": exc.message}).encode())
            return
        self._send(200, json.dumps(answer).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


@pytest.fixture(name="schema_registry")
def schema_registry_fixture() -> Iterator[SchemaRegistryServer]:
    """``schema_registry``: an empty registry serving on 127.0.0.1 for one test, stopped however the
    test ends (``from srserver import schema_registry_fixture  # noqa: F401`` makes it a test module's)."""
    with serving() as server:
        yield server


@contextmanager
def serving() -> Iterator[SchemaRegistryServer]:
    """A registry listening on 127.0.0.1 (a free port) in a daemon thread, stopped on leaving."""
    server = SchemaRegistryServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
