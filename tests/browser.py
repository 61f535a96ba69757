"""A headless Chromium driven over the DevTools protocol, for tests that must see a page as a browser does.

::

    with Chromium(binary) as browser:
        loaded = browser.open(Path("report.html"))      # waits for the load event
        loaded.evaluate("document.title")               # a JSON value back
        loaded.screenshot(Path("report.png"))           # the whole page, PNG
        loaded.errors                                   # console errors, exceptions, failed loads
        loaded.requests                                 # every URL the page asked for

The browser is Debian's ``chromium`` (``apt-get install chromium``; ``.ci/services --install`` does it),
started with its own headless mode, a throw-away profile, no sandbox (tests run as root in CI) and
nothing that talks to the network by itself (no component updates, sync, field trials). It prints the
DevTools address on stderr; the client is the ``websockets`` library's synchronous one. Every wait is
for a condition (a line, a reply, an event) with a generous deadline, never a sleep.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

INSTALL = (
    "install Debian's chromium (apt-get update && apt-get install -y chromium), or run `bash .ci/services --install`"
)
DEADLINE = 120.0  # seconds: a busy two-core machine starts a browser slowly; nothing here waits this long on success
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def require_chromium() -> str:
    """The path of a Chromium binary; skip (fail under ``CI=true``) when there is none."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    message = f"chromium is not on PATH: {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


class Chromium:
    """One headless browser process and a DevTools connection to it."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="syscontract-chromium-")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        found = threading.Event()
        self._url = ""

        def read() -> None:  # keep draining stderr so the browser never blocks on a full pipe
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self._stderr.append(line)
                match = _LISTENING.search(line)
                if match and not found.is_set():
                    self._url = match.group(1)
                    found.set()
            found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not found.wait(DEADLINE) or not self._url:
            self.close()
            raise RuntimeError(f"chromium printed no DevTools address; its stderr: {''.join(self._stderr)[-2000:]}")
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self._socket = self._stack.enter_context(connect(self._url, max_size=None, open_timeout=DEADLINE))
        self._next = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(DEADLINE)  # stderr ends with the process
        if self.process.stderr is not None:
            self.process.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Call ``method`` and return its result; events that arrive meanwhile are kept for :meth:`wait`."""
        self._next += 1
        number = self._next
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + DEADLINE
        while True:
            reply = self._receive(deadline, f"the reply to {method}")
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def wait(self, method: str, session: str, after: int = 0, url: str | None = None) -> int:
        """The index of the first event ``method`` of ``session`` received after the first ``after`` events
        (one already received counts), for the frame showing ``url`` when given."""
        deadline = time.monotonic() + DEADLINE
        seen = after
        while True:
            for index in range(seen, len(self._events)):
                event = self._events[index]
                if event.get("method") == method and event.get("sessionId") == session:
                    frame = event.get("params", {}).get("frame", {})
                    if url is None or (frame.get("url") == url and not frame.get("parentId")):
                        return index
            seen = len(self._events)
            self._events.append(self._receive(deadline, method))

    def events(self, session: str) -> list[dict[str, Any]]:
        return [e for e in self._events if e.get("sessionId") == session]

    def _receive(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0 or self.process.poll() is not None:
            raise RuntimeError(f"chromium: no {what} (exit status {self.process.poll()})")
        try:
            raw = self._socket.recv(timeout=left)
        except TimeoutError as exc:
            raise RuntimeError(f"chromium: no {what} within {DEADLINE:.0f}s") from exc
        value: dict[str, Any] = json.loads(raw)
        return value

    def open(self, page: Path, width: int = 1400, height: int = 900) -> Loaded:
        """A new tab showing ``page`` (a file), once its load event fired, with what it logged until then."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)  # fmt: skip
        url = page.resolve().as_uri()
        before = len(self._events)  # about:blank's own load may be among them: wait for this page's
        navigation = self.send("Page.navigate", {"url": url}, session)
        if navigation.get("errorText"):
            raise RuntimeError(f"chromium could not open {url}: {navigation['errorText']}")
        committed = self.wait("Page.frameNavigated", session, before, url)
        self.wait("Page.loadEventFired", session, committed)
        # a round trip after the load event: whatever the page logged while loading has arrived by now
        self.send("Runtime.evaluate", {"expression": "1"}, session)
        return Loaded(self, session, url)


@dataclass
class Loaded:
    """A page open in a tab."""

    browser: Chromium
    session: str
    url: str
    _shots: list[Path] = field(default_factory=list)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, Content-Security-Policy reports, failed loads."""
        found = []
        for event in self.browser.events(self.session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                found.append(f"log {entry.get('level')} ({entry.get('source')}): {entry.get('text')}")
            elif method == "Network.loadingFailed":
                found.append(f"failed load: {params.get('errorText')} ({params.get('blockedReason')})")
        return found

    @property
    def requests(self) -> list[str]:
        """Every URL the page requested, in order."""
        return [
            e["params"]["request"]["url"]
            for e in self.browser.events(self.session)
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> tuple[int, int]:
        """The whole page (beyond the window) as a PNG at ``path``; its width and height."""
        data = self.browser.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, self.session
        )["data"]
        png = base64.b64decode(data)
        path.write_bytes(png)
        if png[:8] != b"\x89PNG\r\n\x1a\n":
            raise RuntimeError("chromium's screenshot is not a PNG")
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
