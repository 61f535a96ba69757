"""A real Prometheus for one test module: a free port on 127.0.0.1, a temporary TSDB, killed afterwards."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

SCRAPE_INTERVAL = "1s"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever *_proxy says


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Terminate ``processes`` (the services a module started), then wait for each; one that will not
    stop within 10 s is killed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def config(targets: Sequence[str], *, job: str = "shop") -> str:
    listed = ", ".join(json.dumps(target) for target in targets)
    return (
        f"global: {{scrape_interval: {SCRAPE_INTERVAL}, scrape_timeout: {SCRAPE_INTERVAL}}}\n"
        f"scrape_configs:\n  - job_name: {job}\n    static_configs: [{{targets: [{listed}]}}]\n"
    )


class PrometheusServer:
    """``prometheus`` at ``binary`` scraping ``targets`` every second, or serving the blocks already in ``tsdb``."""

    def __init__(self, binary: str, workdir: Path, targets: Sequence[str] = (), tsdb: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(config(targets) if targets else "global: {}\n")
        self.log = workdir / "prometheus.log"
        command = [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={tsdb or workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with _DIRECT.open(f"{self.url}/-/ready", timeout=1.0) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready after {seconds:.0f}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
