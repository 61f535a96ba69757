"""``syscontract drift --prometheus`` at fleet scale: a backfilled Prometheus, 1,000 services x 3 environments.

    python benchmarks/bench_live.py [--services 1000] [--environments 3] [--instances 3]
                                    [--minutes 70] [--step 60] [--repeats 3] [--keep DIR]

Needs ``prometheus`` and ``promtool`` on PATH (Debian: ``apt-get install prometheus``) and the ``live``
extra. Nothing is sent anywhere but a Prometheus this script starts on 127.0.0.1 and kills afterwards.

1. Writes synthetic OpenMetrics text, as the OpenTelemetry Prometheus exporter would have exposed it and
   Prometheus scraped it every ``--step`` seconds for the last ``--minutes``: per instance a
   ``target_info`` (service.name, deployment.environment.name, job, instance), the
   ``syscontract_declarations`` gauge and ``syscontract_messages_total`` counters. Service ``i``
   produces ``topic<i>`` and consumes ``topic<i+1>`` requiring ``tier``; in the first environment one
   producer in 20 still writes v2 (without ``tier``), so its consumer counts violations, as in the
   incident. Contracts ``topic<i>`` v2 and v3 (Avro) are written for ``--contracts``.
2. ``promtool tsdb create-blocks-from openmetrics`` turns it into TSDB blocks; Prometheus starts on them.
3. Runs ``drift --prometheus URL --window 1h --contracts DIR --format json`` in process ``--repeats``
   times (one warm-up first) and reports the median, the number of queries and the rows each answer
   held (and, apart, the time the queries take on the server and the wire); then ``can-deploy
   candidate.json --to prod --with <the 1,000 manifests of prod> --prometheus URL --window 1h`` (the
   usage-aware gate: the manifests' verdict with each finding's live evidence) and its queries; then the same with
   one instance per service, to show that queries and answers grow with the
   groups (environment, service, contract, ...), not with instances or raw series.

No figure is asserted by a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from syscontract import FileRegistry
from syscontract.cli import main
from syscontract.contract import ContractRef
from syscontract.manifest import Entry, Manifest, dumps
from syscontract.system import live

SCHEMA = {
    2: [{"name": "id", "type": "string"}],
    3: [{"name": "id", "type": "string"}, {"name": "tier", "type": "string", "default": "BASIC"}],
}
ENVIRONMENTS = ["prod", "staging", "dev", "qa", "perf"]
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def write_contracts(root: Path, services: int) -> None:
    for i in range(services):
        folder = root / f"topic{i:04d}"
        folder.mkdir(parents=True)
        for version, fields in SCHEMA.items():
            schema = {"type": "record", "name": f"Topic{i:04d}", "fields": fields}
            (folder / f"v{version}.avsc").write_text(json.dumps(schema))


def write_manifests(root: Path, contracts: Path, services: int, environment: str) -> Path:
    """The manifests of ``environment`` as the history has it (one producer in 20 still on v2), and
    ``candidate.json``: service 1's next build (the consumer of the stale topic0002 writer)."""
    registry = FileRegistry(contracts)
    stale = {i for i in range(services) if i % 20 == 0}
    folder = root / environment
    folder.mkdir(parents=True)

    def one(i: int, produced: int, env: str) -> Manifest:
        produces, consumes = ContractRef.parse(f"topic{i:04d}.v{produced}"), ContractRef.parse(
            f"topic{(i + 1) % services:04d}.v3")  # fmt: skip
        entries = (Entry("consumer", consumes, f"svc{i:04d}.handle", ("id", "tier")),
                   Entry("producer", produces, f"svc{i:04d}.publish", ()))  # fmt: skip
        return Manifest(f"svc{i:04d}", env, entries, {r: registry.get(r) for r in (produces, consumes)})

    for i in range(services):
        (folder / f"svc{i:04d}.json").write_text(dumps(one(i, 2 if i in stale else 3, environment).to_json()))
    candidate = root / "candidate.json"
    candidate.write_text(dumps(one(19, 3, "build").to_json()))
    return candidate


def labels(**pairs: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def write_openmetrics(path: Path, services: int, environments: int, instances: int, minutes: int, step: int) -> int:
    """The synthetic scrape history; returns the number of series."""
    end = int(time.time()) // step * step - step
    times = list(range(end - minutes * 60, end + 1, step))
    envs = ENVIRONMENTS[:environments]
    targets = []  # (env, service index, instance id, job, instance)
    for env in envs:
        for i in range(services):
            for k in range(instances):
                targets.append((env, i, f"{env}-svc{i:04d}-{k}:9464", f"svc{i:04d}"))
    stale = {i for i in range(services) if i % 20 == 0}  # producers of the first environment still on v2
    series = 0
    with path.open("w") as out:
        out.write("# TYPE target info\n")
        for env, _i, instance, job in targets:
            sample = labels(job=job, instance=instance, service_name=job, deployment_environment_name=env)
            out.writelines(f"target_info{sample} 1 {t}\n" for t in times)
            series += 1
        out.write("# TYPE syscontract_declarations gauge\n")
        for env, i, instance, job in targets:
            produced = 2 if env == envs[0] and i in stale else 3
            consumed = f"topic{(i + 1) % services:04d}.v3"
            for role, contract, handler, fields in (
                ("producer", f"topic{i:04d}.v{produced}", f"svc{i:04d}.publish", ""),
                ("consumer", consumed, f"svc{i:04d}.handle", "id,tier"),
            ):
                sample = labels(job=job, instance=instance, syscontract_contract=contract, syscontract_role=role,
                                syscontract_handler=handler, syscontract_fields=fields)  # fmt: skip
                out.writelines(f"syscontract_declarations{sample} 1 {t}\n" for t in times)
                series += 1
        out.write("# TYPE syscontract_messages counter\n")
        for env, i, instance, job in targets:
            produced = 2 if env == envs[0] and i in stale else 3
            upstream = (i + 1) % services
            writer = 2 if env == envs[0] and upstream in stale else 3
            counters = [
                ("producer", f"topic{i:04d}.v{produced}", "ok", "", 10),
                ("consumer", f"topic{upstream:04d}.v3", "ok", "", 0),  # the zero series every declaration opens
                ("consumer", f"topic{upstream:04d}.v3", "violation" if writer == 2 else "ok",
                 f"topic{upstream:04d}.v{writer}", 10),
            ]  # fmt: skip
            for role, contract, outcome, written, per_step in counters:
                pairs = {"job": job, "instance": instance, "syscontract_contract": contract, "syscontract_role": role,
                         "syscontract_outcome": outcome}  # fmt: skip
                if written:
                    pairs["syscontract_writer_version"] = written
                sample = labels(**pairs)
                out.writelines(f"syscontract_messages_total{sample} {n * per_step} {t}\n" for n, t in enumerate(times))
                series += 1
        out.write("# TYPE syscontract_violations counter\n")
        for env, i, instance, job in targets:
            upstream = (i + 1) % services
            if env == envs[0] and upstream in stale:  # the violations of the stale writer, by field and reason
                sample = labels(job=job, instance=instance, syscontract_contract=f"topic{upstream:04d}.v3",
                                syscontract_role="consumer", syscontract_writer_version=f"topic{upstream:04d}.v2",
                                syscontract_field="tier", syscontract_reason="not-in-writer-schema")  # fmt: skip
                out.writelines(f"syscontract_violations_total{sample} {n * 10} {t}\n" for n, t in enumerate(times))
                series += 1
        out.write("# EOF\n")
    return series


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Counting(live.Prometheus):
    """Counts the rows each answer holds."""

    rows: list[int]
    seconds: float = 0.0

    def query(self, expression: str, at: float) -> list[tuple[dict[str, str], float]]:
        start = time.perf_counter()
        answer = super().query(expression, at)
        self.seconds += time.perf_counter() - start
        self.rows.append(len(answer))
        return answer


def run_drift(url: str, contracts: Path) -> tuple[float, int, str]:
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["drift", "--prometheus", url, "--window", "1h", "--contracts", str(contracts), "--format", "json"])
    return time.perf_counter() - start, code, out.getvalue()


def run_can_deploy(url: str, candidate: Path, deployed: Path) -> tuple[float, int, str]:
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["can-deploy", str(candidate), "--to", deployed.name, "--with", str(deployed), "--prometheus", url,
                     "--window", "1h", "--format", "json"])  # fmt: skip
    return time.perf_counter() - start, code, out.getvalue()


def measure(args: argparse.Namespace, instances: int, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    text, blocks = work / "history.om", work / "tsdb"
    started = time.perf_counter()
    series = write_openmetrics(text, args.services, args.environments, instances, args.minutes, args.step)
    written = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(text), str(blocks)],
                   check=True, capture_output=True)  # fmt: skip
    backfilled = time.perf_counter() - started
    text.unlink()
    port = free_port()
    (work / "prometheus.yml").write_text("global: {}\n")
    log = (work / "prometheus.log").open("wb")
    server = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={blocks}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(OSError), _DIRECT.open(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
            time.sleep(0.1)
        with Counting(url, timeout=300) as prometheus:
            prometheus.rows = []
            snapshot = live.observe(prometheus, "1h")
            rows = list(prometheus.rows)
        run_drift(url, args.contracts)  # warm-up: Prometheus's caches, our imports
        runs = [run_drift(url, args.contracts) for _ in range(args.repeats)]
        run_can_deploy(url, args.candidate, args.deployed)  # warm-up
        gates = [run_can_deploy(url, args.candidate, args.deployed) for _ in range(args.repeats)]
        with Counting(url, timeout=300) as prometheus:
            prometheus.rows = []
            live.usage(prometheus, args.deployed.name, "1h")
            gate_queries = prometheus.queries
        querying = []
        for _ in range(args.repeats):
            with Counting(url, timeout=300) as prometheus:
                prometheus.rows = []
                live.observe(prometheus, "1h")
                querying.append(prometheus.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    seconds = statistics.median(r[0] for r in runs)
    findings = json.loads(runs[0][2])["findings"]
    return {
        "instances": instances,
        "series": series,
        "samples": series * (args.minutes * 60 // args.step + 1),
        "write": written,
        "backfill": backfilled,
        "queries": snapshot.queries,
        "rows": rows,
        "seconds": seconds,
        "querying": statistics.median(querying),
        "exit": runs[0][1],
        "gate": statistics.median(r[0] for r in gates),
        "gate_queries": gate_queries,
        "gate_exit": gates[0][1],
        "gate_finding": next((f["message"] for f in json.loads(gates[0][2])["findings"]), "(none)"),
        "errors": sum(1 for f in findings if f["severity"] == "error"),
        "declared": len(snapshot.declared),
    }


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=3, choices=range(1, len(ENVIRONMENTS) + 1))
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--minutes", type=int, default=70, help="history to backfill (the window is 1h)")
    parser.add_argument("--step", type=int, default=60, help="seconds between samples (the scrape interval)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            sys.exit(f"{binary} is not on PATH: apt-get install -y prometheus")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-live-"))
    args.contracts = work / "contracts"
    write_contracts(args.contracts, args.services)
    args.candidate = write_manifests(work / "manifests", args.contracts, args.services, ENVIRONMENTS[0])
    args.deployed = work / "manifests" / ENVIRONMENTS[0]
    print(f"Python {sys.version.split()[0]}; {subprocess.run(['prometheus', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}")  # noqa: E501
    print(f"{args.services} services x {args.environments} environments; samples every {args.step}s for "
          f"{args.minutes} min; window 1h; median of {args.repeats} runs after a warm-up\n")  # fmt: skip
    header = f"{'instances':>9} {'series':>8} {'samples':>10} {'backfill s':>10} {'queries':>7} " \
             f"{'answer rows (decl, msgs, viol., unattr.)':>41} {'queries s':>9} {'drift s':>8} {'errors':>6} " \
             f"{'can-deploy s':>12} {'its queries':>11}"  # fmt: skip
    print(header)
    try:
        for instances in dict.fromkeys([args.instances, 1]):
            result = measure(args, instances, work / f"instances-{instances}")
            rows = ", ".join(str(r) for r in result["rows"])
            print(f"{result['instances']:>9} {result['series']:>8,} {result['samples']:>10,} "
                  f"{result['backfill']:>10.1f} {result['queries']:>7} {rows:>41} {result['querying']:>9.2f} "
                  f"{result['seconds']:>8.2f} {result['errors']:>6} {result['gate']:>12.2f} "
                  f"{result['gate_queries']:>11}")  # fmt: skip
        print(f"\ncan-deploy (exit {result['gate_exit']}): {result['gate_finding']}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main_()
