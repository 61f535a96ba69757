"""Every page (README.md, docs/*.md, examples/*/README.md) runs as a reader would paste it.

Each page runs on its own, in a fresh empty temporary directory, with nothing injected: no contracts,
no stand-ins, no monkeypatching. The project's venv ``bin/`` comes first on PATH, so ``syscontract``
and ``python`` are the installed ones (what ``pip install syscontract`` plus its extras gives a reader);
``SYSCONTRACT_*`` and ``OTEL_*`` variables are removed from the environment.

What runs, in this order:

1. The page's ```shell blocks (also ```bash, ```sh) and ```console sessions, in the page's order, in
   that directory. A ```shell block runs as one ``bash -eo pipefail`` script and must exit 0; a line
   ``pip install ...`` is not run (the venv already holds the package and every extra). A ```console
   session is ``$ command`` lines (continued by a trailing backslash), each followed by exactly what it
   prints (stdout and stderr, unbuffered: interleaved as a terminal shows them); ``$ echo $?`` shows
   the exit code of the command before it.
2. The page's ```python blocks, in order, joined into one file ``page.py`` (each block at its own line
   in the page, so a traceback points at the page's lines), run as ``python page.py`` in the same
   directory. It must exit 0. Top-level ``await`` is not valid in a file: async examples use
   ``asyncio.run``.

What a Python example prints is written in the page as a comment ``# prints: TEXT``, at the end of
the line that prints or on a line of its own after it, one comment per printed line; or, for longer
output, as a ```text block under the line ``<!-- prints -->`` (every line of it). The lines
``page.py`` prints on stdout must be exactly those, in the page's order (logs go to stderr and are
not compared). In both, and in a console session's output, ``...`` matches any text within a line
(a timing, a temporary path). Code that is not meant to run (generated code, pseudo-code, another
tool's configuration, output) is fenced as ```text, ```yaml, ```toml, ... and is not run; every fence
names its language.

A ```console session under the line ``<!-- run in examples/shop -->`` (an HTML comment: not rendered)
runs in a fresh copy of examples/shop, the example system a reader has in the clone, instead of the
page's directory (one copy per page, its sessions in order); each is reported as its own test.

Broker pages (a block that connects to NATS, RabbitMQ or Redis) talk to the real local servers, like
tests/integration: the page is skipped, saying how to start the server, when one does not answer, and
fails instead under ``CI=true``. The queue, stream and subject names those pages use are deleted
before and after the page runs, under a file lock, so two test runs on one machine do not share them;
a page that serves on a fixed port (docs/live.md's ``/metrics``) runs under the same lock.

Pages listed in ``PENDING`` do not run as pasted yet (another issue is rewriting them); their test is
an expected failure, so a page that starts to pass must leave the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SHOP = ROOT / "examples" / "shop"
RUN_IN_SHOP = "<!-- run in examples/shop -->"
PRINTS = "<!-- prints -->"
BIN = Path(sys.executable).parent

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]

# Pages other issues are rewriting (merge conflicts otherwise): they do not run as pasted yet.
PENDING: dict[str, str] = {}

# Pages other issues are changing, without examples to run; their fences are left as they are.
OTHERS = {"docs/performance.md"}

SHELL = {"shell", "bash", "sh"}
TIMEOUT = 120


def _key(document: Path) -> str:
    return document.relative_to(ROOT).as_posix()


# -- reading a page --------------------------------------------------------------------------------------


@dataclass
class Fence:
    document: Path
    line: int  # of the opening fence, 1-based
    lang: str
    body: list[str]  # dedented
    marker: str  # the line above the opening fence

    @property
    def in_shop(self) -> bool:
        return self.lang == "console" and self.marker == RUN_IN_SHOP

    @property
    def name(self) -> str:
        return f"{_key(self.document)}:{self.line}"


_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")


def fences_of(document: Path) -> list[Fence]:
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Fence] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = textwrap.dedent("\n".join(lines[index + 1 : end])).splitlines()
        marker = lines[index - 1].strip() if index else ""
        found.append(Fence(document, index + 1, opening["lang"], body, marker))
        index = end + 1
    return found


def commands_of(fence: Fence) -> list[tuple[str, str]]:
    """A console session's ``(command, what it prints)`` pairs."""
    body, commands, at = fence.body, [], 0
    while at < len(body):
        assert body[at].startswith("$ "), f"{fence.name}: a console session's commands start with '$ '"
        command = body[at][2:]
        while command.endswith("\\"):
            at += 1
            command = command[:-1] + body[at].strip()
        at += 1
        output = []
        while at < len(body) and not body[at].startswith("$ "):
            output.append(body[at] + "\n")
            at += 1
        commands.append((command, "".join(output)))
    return commands


def python_of(fences: list[Fence]) -> str:
    """The page's Python blocks as one file, each block at its own lines of the page."""
    source: list[str] = []
    for fence in fences:
        if fence.lang == "python":
            source.extend([""] * (fence.line - len(source)))
            source.extend(fence.body)
    return "".join(f"{line}\n" for line in source)


_PRINTS = re.compile(r"#\s*prints:\s?(?P<text>.*)$")


def prints_of(fences: list[Fence]) -> list[str]:
    """What the page says its Python blocks print: ``# prints:`` comments and ``<!-- prints -->`` blocks."""
    shown: list[str] = []
    for fence in fences:
        if fence.lang == "python":
            shown.extend(match["text"].rstrip() for line in fence.body if (match := _PRINTS.search(line)))
        elif fence.marker == PRINTS:
            shown.extend(line.rstrip() for line in fence.body)
    return shown


def _matches(shown: list[str], printed: list[str]) -> bool:
    if len(shown) != len(printed):
        return False
    patterns = (re.compile(".*".join(map(re.escape, line.split("...")))) for line in shown)
    return all(pattern.fullmatch(line.rstrip()) for pattern, line in zip(patterns, printed, strict=True))


# -- servers -------------------------------------------------------------------------------------------

# as in tests/integration/conftest.py
_SERVERS = {
    "nats": ("127.0.0.1", 4222, "nats-server -a 127.0.0.1 -p 4222 -js"),
    "rabbitmq": ("127.0.0.1", 5672, "rabbitmq-server -detached"),
    "redis": ("127.0.0.1", 6379, 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""'),
}
_USES = {  # the clients' own connections, and FastStream's brokers (docs/integrations.md)
    "nats": re.compile(r"\bnats\.connect\(|\bNatsBroker\("),
    "rabbitmq": re.compile(r"\b(pika\.BlockingConnection|aio_pika\.connect|RabbitBroker\()"),
    "redis": re.compile(r"\bredis\.(asyncio\.)?Redis\(|\bRedisBroker\("),
}


_SERVES = re.compile(r"\bstart_http_server\(")  # docs/live.md's /metrics on port 9464


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
        f"{service} does not answer on {host}:{port}: start it ({start}), or run `make services`, which starts "
        "every server the broker examples need"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


# The names the broker pages use.
NATS_STREAMS = ("ORDERS", "ORDERS_DEAD")
RABBITMQ_QUEUES = ("orders", "orders.dead-letter")
REDIS_STREAMS = ("orders", "orders.dead-letter")


def _clean(services: set[str]) -> None:
    """Delete what the broker pages create, so that every run starts from nothing."""
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
def _exclusive(services: set[str], serves: bool) -> Iterator[None]:
    """Run a page that uses a broker, or serves on a fixed port, alone among the test runs of this machine."""
    if not services and not serves:
        yield
        return
    with open(Path(tempfile.gettempdir()) / "syscontract-docs-brokers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _clean(services)
        try:
            yield
        finally:
            _clean(services)


# -- running a page ------------------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("SYSCONTRACT_", "OTEL_", "PYTHON"))
    }
    environment.update(
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", COLUMNS="100", PYTHONHASHSEED="random", PYTHONUNBUFFERED="1"
    )  # output interleaved as a terminal shows it
    environment.pop("VIRTUAL_ENV", None)
    return environment


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_environment(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip


def _run_shell_block(fence: Fence, cwd: Path) -> None:
    script = "\n".join(line for line in fence.body if not re.match(r"\s*pip install\b", line))
    result = _shell(f"set -eo pipefail\n{script}", cwd)
    assert result.returncode == 0, (
        f"{fence.name}: the shell block exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )


def _run_session(fence: Fence, cwd: Path, last: list[int]) -> None:
    for command, shown in commands_of(fence):
        if re.match(r"pip install\b", command):
            continue
        if command == "echo $?":
            printed = f"{last[0]}\n"
        else:
            result = _shell(command + " 2>&1", cwd)
            printed, last[0] = result.stdout, result.returncode
        assert _matches(shown.splitlines(), printed.splitlines()), f"{fence.name}: $ {command}\n{printed}"


PAGES = [d for d in DOCUMENTS if any(f.lang in {"python", "console", *SHELL} and not f.in_shop for f in fences_of(d))]


def _marks(document: Path) -> list[pytest.MarkDecorator]:
    reason = PENDING.get(_key(document))
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


@pytest.mark.parametrize("document", [pytest.param(d, id=_key(d), marks=_marks(d)) for d in PAGES])
def test_page_runs_as_pasted(document: Path, tmp_path: Path) -> None:
    fences = fences_of(document)
    source = python_of(fences)
    services = [name for name, uses in _USES.items() if uses.search(source)]
    for service in services:
        _require(service)
    work = tmp_path / "work"
    work.mkdir()
    with _exclusive(set(services), serves=bool(_SERVES.search(source))):
        last = [0]
        for fence in fences:
            if fence.in_shop:
                continue  # test_shop_session_prints_what_it_shows
            if fence.lang in SHELL:
                _run_shell_block(fence, work)
            elif fence.lang == "console":
                _run_session(fence, work, last)
        if not source:
            return
        (work / "page.py").write_text(source, encoding="utf-8")
        result = subprocess.run([BIN / "python", "page.py"], cwd=work, env=_environment(), capture_output=True,
                                text=True, timeout=TIMEOUT, check=False)  # fmt: skip
    printed = result.stdout.splitlines()
    assert result.returncode == 0, (
        f"python page.py ({_key(document)}) exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    shown = prints_of(fences)
    assert _matches(shown, printed), (
        f"{_key(document)}: page.py printed\n{result.stdout}\nwhere the page shows (# prints:)\n"
        + "".join(f"{line}\n" for line in shown)
    )


# -- sessions in examples/shop -------------------------------------------------------------------------

SESSIONS = [fence for document in DOCUMENTS for fence in fences_of(document) if fence.in_shop]
_SHOPS: dict[Path, tuple[Path, list[int]]] = {}


@pytest.mark.parametrize("session", SESSIONS, ids=[session.name for session in SESSIONS])
def test_shop_session_prints_what_it_shows(session: Fence, tmp_path_factory: pytest.TempPathFactory) -> None:
    if session.document not in _SHOPS:  # one shop per page: a later session sees what an earlier one wrote
        shop = tmp_path_factory.mktemp("console") / "shop"
        shutil.copytree(SHOP, shop, ignore=shutil.ignore_patterns("__pycache__"))
        _SHOPS[session.document] = (shop, [0])
    shop, last = _SHOPS[session.document]
    _run_session(session, shop, last)


# -- the conventions themselves ----------------------------------------------------------------------------


def test_every_page_with_examples_is_found() -> None:
    assert {"examples/shop/README.md", "docs/cli.md", "docs/rollout.md"} <= {_key(s.document) for s in SESSIONS}
    assert {"README.md", "docs/quickstart.md", "docs/integrations.md"} <= {_key(d) for d in PAGES}


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if _key(d) not in {*PENDING, *OTHERS}], ids=_key)
def test_every_fence_says_whether_it_runs(document: Path) -> None:
    """A fence without a language is ambiguous: a reader cannot tell a command from its output."""
    assert [] == [fence.name for fence in fences_of(document) if not fence.lang]


def test_pending_pages_exist() -> None:
    assert set(PENDING) <= {_key(d) for d in PAGES}


def test_python_blocks_become_one_file_at_the_pages_lines() -> None:
    page = ROOT / "x.md"
    fences = [Fence(page, 2, "python", ["a = 1"], ""), Fence(page, 6, "python", ["print(a)"], "")]
    assert python_of(fences) == "\n\na = 1\n\n\n\nprint(a)\n"


def test_prints_comments_are_the_expected_output() -> None:
    page = ROOT / "x.md"
    fences = [
        Fence(page, 1, "python", ['print("a")  # prints: a', "# prints: took ... ms", "x = 1  # not output"], ""),
        Fence(page, 5, "text", ["b", "c"], PRINTS),
        Fence(page, 9, "text", ["not output"], ""),
    ]
    assert prints_of(fences) == ["a", "took ... ms", "b", "c"]
    assert _matches(["a", "took ... ms"], ["a", "took 12 ms"])
    assert not _matches(["a"], ["a", "b"])
