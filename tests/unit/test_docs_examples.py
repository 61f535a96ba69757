"""Every ```python block of README.md, docs/*.md and examples/*/README.md runs, as a reader would run it,
and every ```console block marked ``<!-- run in examples/shop -->`` prints exactly what it shows.

The blocks of one document run once, in order, in one namespace (a later block uses what an earlier
one defined), in a fresh working directory holding the ``contracts/`` the document's examples assume;
each block is then reported as its own test, ``docs/quickstart.md:34``. A traceback points at the
document's own lines. Blocks with top-level ``await`` run on the document's event loop.

A document may have a small prelude: stand-ins for what its prose treats as the reader's own
(``price``, ``raw_bytes``, ``order``, ...), listed in ``PRELUDES`` below. Generated code and pseudo-code
are fenced as ```text, not ```python, and are not run.

A ```console block under the line ``<!-- run in examples/shop -->`` (an HTML comment: not rendered) is a
shell session in examples/shop (a fresh copy for each document, its blocks in order): each
``$ command`` (continued by a trailing backslash) runs with ``syscontract`` on the PATH, and what it
prints (stdout and stderr) must be exactly the lines that follow it. ``$ echo $?`` shows the exit code
of the command before it.

Broker examples (docs/integrations.md) talk to the real local servers, like tests/integration: a
block that needs a server that does not answer is skipped, saying how to start it, and fails instead
under ``CI=true``. The queue, stream and subject names those examples use are deleted before and
after the document runs, under a file lock, so two test runs on one machine do not share them.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import fcntl
import gc
import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data"
TEST_CONTRACTS = DATA / "contracts"  # order v2/v3 Avro (customer.customerTier), v4 JSON Schema; shipment v1
SHOP_CONTRACTS = ROOT / "examples" / "shop" / "contracts"  # order v1..v3 Avro, customerTier at the top level

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]

# The contracts each document's examples are written against (default: the test contracts; an
# example's README: its own contracts/ when it has one).
CONTRACTS = {
    "README.md": SHOP_CONTRACTS,
    "docs/concepts.md": SHOP_CONTRACTS,
    "docs/quickstart.md": SHOP_CONTRACTS,
    "docs/adopting.md": SHOP_CONTRACTS,
}

# Stand-ins for the reader's own names, run before a document's first block.
_PRICE = """
def price(tier: str) -> float:                      # the reader's pricing function
    return {"VIP": 80.0, "GOLD": 90.0}.get(tier, 100.0)
"""
_DLQ = """
class _Queue:                                       # the reader's dead-letter queue
    def send(self, payload, **metadata): print("dead-lettered", payload, metadata)
dlq = _Queue()
"""
_ORDER = f"""
import json
with open({str(DATA / "order_event.json")!r}) as file:
    order = json.load(file)                         # the reference order event, v3-shaped
"""
PRELUDES = {
    "README.md": _PRICE,
    "docs/adopting.md": _PRICE + _DLQ,
    "docs/quickstart.md": _PRICE
    + _DLQ
    + """
raw_bytes = b'{"orderId": "o-1", "customer": {"id": "c-7", "name": "Ada"}, "customerTier": "VIP"}'
""",
    "docs/integrations.md": _ORDER,
    "docs/validation.md": _ORDER + "payload, raw = order, json.dumps(order).encode()\n",
}


@dataclass
class Block:
    document: Path
    line: int  # of the opening fence
    code: str  # dedented, with blank lines in front so that line numbers are the document's
    services: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT).as_posix()}:{self.line}"


_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
_SERVICES = {
    "nats": re.compile(r"\bnats\.connect\("),
    "rabbitmq": re.compile(r"\b(pika\.BlockingConnection|aio_pika\.connect)"),
    "redis": re.compile(r"\bredis\.(asyncio\.)?Redis\("),
}


def blocks_of(document: Path) -> list[Block]:
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if opening["lang"] == "python":
            body = textwrap.dedent("\n".join(lines[index + 1 : end]))
            code = "\n" * (index + 1) + body + "\n"
            services = [name for name, pattern in _SERVICES.items() if pattern.search(body)]
            found.append(Block(document, index + 1, code, services))
        index = end + 1
    return found


BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


def _key(document: Path) -> str:
    return document.relative_to(ROOT).as_posix()


def _contracts_for(document: Path) -> Path:
    key = _key(document)
    if key in CONTRACTS:
        return CONTRACTS[key]
    own = document.parent / "contracts"
    return own if key.startswith("examples/") and own.is_dir() else TEST_CONTRACTS


# -- servers -------------------------------------------------------------------------------------------

# as in tests/integration/conftest.py
_SERVERS = {
    "nats": ("127.0.0.1", 4222, "nats-server -a 127.0.0.1 -p 4222 -js"),
    "rabbitmq": ("127.0.0.1", 5672, "rabbitmq-server -detached"),
    "redis": ("127.0.0.1", 6379, 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""'),
}
_EXTRAS = {"nats": "nats", "pika": "rabbitmq", "aio_pika": "rabbitmq", "redis": "redis", "cloudevents": "cloudevents",
           "confluent_kafka": "kafka"}  # fmt: skip


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _require(service: str) -> None:
    """Skip (fail under ``CI=true``) when ``service`` does not answer."""
    host, port, start = _SERVERS[service]
    if _answers(host, port):
        return
    message = (
        f"{service} does not answer on {host}:{port}: start it ({start}), or run `bash .ci/run`, which starts "
        "every server the broker examples need"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


# The names the broker examples of docs/integrations.md use.
NATS_STREAMS = ("ORDERS", "ORDERS_DEAD")
RABBITMQ_QUEUES = ("orders", "orders.dead-letter")
REDIS_STREAMS = ("orders", "orders.dead-letter")


def _clean(services: set[str]) -> None:
    """Delete what the broker examples create, so that every run starts from nothing."""
    if "nats" in services and _answers("127.0.0.1", 4222):
        import nats
        from nats.js.errors import NotFoundError

        async def delete() -> None:
            nc = await nats.connect("nats://127.0.0.1:4222")
            try:
                for stream in NATS_STREAMS:
                    with contextlib.suppress(NotFoundError):
                        await nc.jetstream().delete_stream(stream)
            finally:
                await nc.close()

        asyncio.run(delete())
    if "rabbitmq" in services and _answers("127.0.0.1", 5672):
        import pika

        connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        try:
            channel = connection.channel()
            for queue in RABBITMQ_QUEUES:
                channel.queue_delete(queue)
        finally:
            connection.close()
    if "redis" in services and _answers("127.0.0.1", 6379):
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379)
        try:
            client.delete(*REDIS_STREAMS)
        finally:
            client.close()


@contextlib.contextmanager
def _brokers(services: set[str]) -> Iterator[None]:
    if not services:
        yield
        return
    with open(Path(tempfile.gettempdir()) / "syscontract-docs-brokers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _clean(services)
        try:
            yield
        finally:
            _clean(services)


# -- stand-ins for infrastructure ------------------------------------------------------------------------

SCHEMA_REGISTRY_URL = "http://schema-registry:8081"


def _schema_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/avro.md points a ConfluentRegistry at a Schema Registry; here confluent-kafka's in-memory
    one serves that URL, holding the test contracts' order v2 and v3 as versions 2 and 3 of subject
    ``orders-value``."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    real = SchemaRegistryClient.new_client
    client = real({"url": "mock://docs-examples"})
    order = TEST_CONTRACTS / "order"
    first = {"type": "record", "name": "Order", "namespace": "com.example.orders",
             "fields": [{"name": "orderId", "type": "string"}]}  # fmt: skip
    client.register_schema("orders-value", Schema(json.dumps(first), "AVRO"))
    for version in (2, 3):
        client.register_schema("orders-value", Schema((order / f"v{version}.avsc").read_text(), "AVRO"))

    def new_client(conf: dict[str, Any]) -> Any:
        return client if conf.get("url") == SCHEMA_REGISTRY_URL else real(conf)

    monkeypatch.setattr(SchemaRegistryClient, "new_client", staticmethod(new_client))


def _metrics_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/live.md serves /metrics on port 9464 of every interface; here on a free port of 127.0.0.1, so
    that test runs side by side on one machine do not collide."""
    import prometheus_client

    real = prometheus_client.start_http_server

    def start_http_server(port: int, addr: str = "0.0.0.0", *args: Any, **kwargs: Any) -> Any:
        return real(0, "127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(prometheus_client, "start_http_server", start_http_server)


SETUP = {"docs/avro.md": _schema_registry, "docs/registries.md": _schema_registry, "docs/live.md": _metrics_port}


# -- running a document ----------------------------------------------------------------------------------


def _execute(block: Block, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    code = compile(block.code, str(block.document), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    if code.co_flags & inspect.CO_COROUTINE:
        loop.run_until_complete(eval(code, namespace))
    else:
        exec(code, namespace)


def _failure(error: Exception) -> str | BaseException:
    """A skip when an optional extra is not installed, else the traceback."""
    if isinstance(error, ModuleNotFoundError):
        extra = _EXTRAS.get((error.name or "").split(".")[0])
        if extra is not None:
            return pytest.skip.Exception(f"needs the {extra} extra: pip install -e '.[{extra}]'")
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def _run(document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[int, str | BaseException | None]:
    """Run every block of ``document`` in order; for each, None (it ran), the traceback of what it
    raised, or the skip (a server or an extra missing)."""
    gc.collect()  # declarations live as long as their handlers: other tests' are gone, verify() sees these
    blocks = [block for block in BLOCKS if block.document == document]
    work = tmp_path / "work"
    shutil.copytree(_contracts_for(document), work / "contracts")
    monkeypatch.chdir(work)
    if _key(document) in SETUP:
        SETUP[_key(document)](monkeypatch)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(PRELUDES.get(_key(document), ""), namespace)
    outcomes: dict[int, str | BaseException | None] = {}
    loop = asyncio.new_event_loop()
    try:
        with _brokers({service for block in blocks for service in block.services}):
            for block in blocks:
                try:
                    for service in block.services:
                        _require(service)
                    _execute(block, namespace, loop)
                except (pytest.skip.Exception, pytest.fail.Exception) as error:
                    outcomes[block.line] = error.with_traceback(None)
                except Exception as error:
                    outcomes[block.line] = _failure(error)
                else:
                    outcomes[block.line] = None
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        namespace.clear()  # the handlers go, and their declarations with them
        gc.collect()
    return outcomes


_OUTCOMES: dict[Path, dict[int, str | BaseException | None]] = {}


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_example_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.document not in _OUTCOMES:
        _OUTCOMES[block.document] = _run(block.document, tmp_path, monkeypatch)
    outcome = _OUTCOMES[block.document][block.line]
    if isinstance(outcome, str):
        pytest.fail(f"the example at {block.name} raised:\n{outcome}", pytrace=False)
    if outcome is not None:
        raise outcome  # skipped, or failed for want of a server under CI=true


# -- shell sessions ------------------------------------------------------------------------------------

SHOP = ROOT / "examples" / "shop"
RUN_IN_SHOP = "<!-- run in examples/shop -->"


@dataclass
class Session:
    document: Path
    line: int  # of the opening fence
    commands: list[tuple[str, str]]  # (command, the output shown after it)

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT).as_posix()}:{self.line}"


def sessions_of(document: Path) -> list[Session]:
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Session] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if opening["lang"] == "console" and index and lines[index - 1].strip() == RUN_IN_SHOP:
            body = textwrap.dedent("\n".join(lines[index + 1 : end])).splitlines()
            commands: list[tuple[str, list[str]]] = []
            at = 0
            while at < len(body):
                assert body[at].startswith("$ "), f"{document}:{index + 2 + at}: a console block starts with '$ '"
                command = body[at][2:]
                while command.endswith("\\"):
                    at += 1
                    command = command[:-1] + body[at].strip()
                at += 1
                output = []
                while at < len(body) and not body[at].startswith("$ "):
                    output.append(body[at])
                    at += 1
                commands.append((command, output))
            found.append(Session(document, index + 1, [(c, "".join(f"{o}\n" for o in out)) for c, out in commands]))
        index = end + 1
    return found


SESSIONS = [session for document in DOCUMENTS for session in sessions_of(document)]
_SHOPS: dict[Path, tuple[Path, list[int]]] = {}


@pytest.mark.parametrize("session", SESSIONS, ids=[session.name for session in SESSIONS])
def test_console_session_prints_what_it_shows(session: Session, tmp_path_factory: pytest.TempPathFactory) -> None:
    if session.document not in _SHOPS:  # one shop per document: a later block sees what an earlier one wrote
        shop = tmp_path_factory.mktemp("console") / "shop"
        shutil.copytree(SHOP, shop, ignore=shutil.ignore_patterns("__pycache__"))
        _SHOPS[session.document] = (shop, [0])
    shop, last = _SHOPS[session.document]
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "COLUMNS": "100", "PYTHONHASHSEED": "random"}  # fmt: skip
    for command, shown in session.commands:
        if command == "echo $?":
            printed = f"{last[0]}\n"
        else:
            result = subprocess.run(["bash", "-c", command + " 2>&1"], cwd=shop, env=environment, capture_output=True,
                                    text=True, timeout=120, check=False)  # fmt: skip
            printed, last[0] = result.stdout, result.returncode
        assert shown == printed, f"{session.name}: $ {command}"


def test_every_document_with_examples_is_found() -> None:
    assert {"examples/shop/README.md", "docs/cli.md", "docs/rollout.md"} <= {_key(s.document) for s in SESSIONS}
    assert {"README.md", "docs/quickstart.md", "docs/integrations.md"} <= {_key(block.document) for block in BLOCKS}


def test_generated_code_is_not_fenced_as_an_example() -> None:
    text = (ROOT / "docs" / "performance.md").read_text()
    assert "```python\ndef on_order(event):" not in text
