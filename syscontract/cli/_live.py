"""``syscontract drift --prometheus URL``: the drift matrix and findings from live traffic.

The options are added to ``drift`` by :func:`add_arguments`; ``drift`` hands over to :func:`run` when
``--prometheus`` is given. The work is :mod:`syscontract.system.live`'s; this module reads options and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from syscontract.errors import ContractDeclarationError
from syscontract.manifest import load_all
from syscontract.registry import FileRegistry
from syscontract.system import live

from ._table import table

__all__ = ["add_arguments", "add_gate_arguments", "contracts", "gated", "observe", "render", "run", "unused", "usage"]


def add_arguments(command: argparse.ArgumentParser) -> None:
    """The live options of ``syscontract drift``."""
    group = command.add_argument_group(
        "live drift",
        f"read what services declared and received from Prometheus; credentials from {live.TOKEN_ENV} "
        f"(bearer) or {live.BASIC_USER_ENV} and {live.BASIC_PASSWORD_ENV} (basic auth)",
    )
    group.add_argument("--prometheus", metavar="URL", help="Prometheus (or Thanos, Mimir, VictoriaMetrics) base URL")
    group.add_argument("--window", help="how far back to look, a Prometheus duration (default: 1h)")
    group.add_argument(
        "--environment",
        action="append",
        default=[],
        metavar="ENV",
        help="only this environment (repeat for more); exit 2 when Prometheus has no data for it",
    )
    group.add_argument(
        "--contracts",
        metavar="DIR",
        help="contracts to look writers' fields up in, for what traffic cannot show (default: SYSCONTRACT_CONTRACTS, "
        "else ./contracts when it exists)",
    )
    group.add_argument("--ca-bundle", metavar="FILE", help="PEM file of the CAs to trust for https (default: system)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="per query (default: 30)")


_LIVE_ONLY = ("window", "environment", "contracts", "ca_bundle", "timeout")


def add_gate_arguments(command: argparse.ArgumentParser, *, unused_after: bool = True) -> None:
    """``--prometheus URL [--window 7d]`` (and ``--unused-after WINDOW``) for the gates (can-deploy, plan):
    the live evidence on every finding, with drift's credentials and fail-closed rules."""
    group = command.add_argument_group(
        "live evidence",
        f"what traffic showed in the target environment, on every finding; credentials from {live.TOKEN_ENV} "
        f"(bearer) or {live.BASIC_USER_ENV} and {live.BASIC_PASSWORD_ENV} (basic auth)",
    )
    group.add_argument("--prometheus", metavar="URL", help="Prometheus (or Thanos, Mimir, VictoriaMetrics) base URL")
    group.add_argument("--window", help="how far back the evidence looks, a Prometheus duration (default: 7d)")
    if unused_after:
        group.add_argument(
            "--unused-after",
            metavar="WINDOW",
            help="a finding of a deployed writer against a consumer becomes a warning when Prometheus proves that "
            "pair silent over the whole WINDOW, with data for every step of it (a gap is exit 2)",
        )
    group.add_argument("--ca-bundle", metavar="FILE", help="PEM file of the CAs to trust for https (default: system)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="per query (default: 30)")


def usage(args: argparse.Namespace, environment: str) -> live.Usage:
    """The gates' evidence for ``environment``; the live options without ``--prometheus`` are a usage error."""
    given = [f"--{n.replace('_', '-')}" for n in ("window", "unused_after", "ca_bundle", "timeout")
             if getattr(args, n, None) is not None]  # fmt: skip
    if not args.prometheus:
        raise ContractDeclarationError(f"{', '.join(given)} only apply with --prometheus URL")
    window = "7d" if args.window is None else args.window
    unused_after = getattr(args, "unused_after", None)
    if unused_after is not None:
        live.check_window(unused_after)
    timeout = live.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    with live.Prometheus(args.prometheus, timeout=timeout, ca_bundle=args.ca_bundle) as prometheus:
        return live.usage(prometheus, environment, window, unused_after=unused_after)


def gated(args: argparse.Namespace) -> bool:
    """Whether a gate was asked for live evidence (any live option given: each needs --prometheus)."""
    names = ("prometheus", "window", "unused_after", "ca_bundle", "timeout")
    return any(getattr(args, n, None) is not None for n in names)


def unused(args: argparse.Namespace) -> None:
    """File-based drift was asked for with a live option: say so rather than ignore it (an
    ``--environment`` that silently filtered nothing would mislead)."""
    given = [f"--{name.replace('_', '-')}" for name in _LIVE_ONLY if getattr(args, name, None) not in (None, [])]
    if given:
        raise ContractDeclarationError(f"{', '.join(given)} only apply with --prometheus URL")


def contracts(given: str | None) -> FileRegistry | None:
    """The contracts live drift looks writers up in, as the library finds them: ``--contracts DIR``,
    else ``SYSCONTRACT_CONTRACTS``, else ``./contracts`` when it exists (None: only what traffic shows).
    A directory named explicitly (option or variable) that does not exist is an input error."""
    named = given or os.environ.get("SYSCONTRACT_CONTRACTS")
    if named:
        if not Path(named).is_dir():
            source = "--contracts" if given else "SYSCONTRACT_CONTRACTS"
            raise ContractDeclarationError(f"{source} names {named!r}, which is not a directory", reason="bad-option")
        return FileRegistry(named)
    return FileRegistry("contracts") if Path("contracts").is_dir() else None


def run(args: argparse.Namespace) -> int:
    """Live drift; with manifests, each is compared with what its service runs."""
    manifests = load_all(args.manifests) if args.manifests else []
    registry = contracts(args.contracts)
    snapshot = observe(args, args.environment)
    report = live.drift(snapshot, contracts=registry, manifests=manifests, external=args.external)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n")
    else:
        sys.stdout.write(render(report))
    return 1 if report.errors else 0


def observe(args: argparse.Namespace, environments: list[str], window: str | None = None) -> live.Snapshot:
    """Ask ``--prometheus`` (with ``--timeout``, ``--ca-bundle`` and the credentials of the environment)."""
    timeout = live.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    with live.Prometheus(args.prometheus, timeout=timeout, ca_bundle=args.ca_bundle) as prometheus:
        return live.observe(prometheus, window or ("1h" if args.window is None else args.window), environments)


def render(report: live.LiveReport) -> str:
    """The text form: a heading, the matrix with what flowed, then the findings as file-based drift shows them."""
    from .drift import render_findings  # drift imports this module

    snapshot = report.snapshot
    heading = f"live: {snapshot.url}, the last {snapshot.window}"
    if not report.contracts_known:
        heading += (
            " (no contracts (--contracts, SYSCONTRACT_CONTRACTS, ./contracts) or manifests: no writer's fields can "
            "be looked up)"
        )
    rows = []
    for environment, contracts in report.matrix.items():
        for name, roles in contracts.items():
            rows.append(
                (
                    environment or "-",
                    name,
                    _produced(roles.get("producer", {}), roles.get("produced", {})),
                    _services(roles.get("consumer", {})),
                    _received(name, roles.get("received", {})),
                )
            )
    header = ("ENVIRONMENT", "CONTRACT", "PRODUCED BY", "CONSUMED BY", "RECEIVED (WRITER MESSAGES)")
    out = table(header, rows) if rows else "no declarations\n"
    return heading + "\n" + out + "\n" + render_findings(list(report.findings))


def _services(services: dict[str, list[str]]) -> str:
    return ", ".join(f"{service} {'/'.join(versions)}" for service, versions in services.items()) or "-"


def _produced(services: dict[str, list[str]], counts: dict[str, dict[str, int]]) -> str:
    cells = []
    for service in sorted(set(services) | set(counts)):
        versions = "/".join(services.get(service, [])) or "?"
        sent = sum(counts.get(service, {}).values())
        cells.append(f"{service} {versions}" + (f" ({sent:,} sent)" if sent else ""))
    return ", ".join(cells) or "-"


def _received(name: str, received: dict[str, dict[str, dict[str, Any]]]) -> str:
    cells = []
    for service, writers in received.items():
        parts = []
        for writer, outcomes in writers.items():
            short = writer[len(name) + 1 :] if writer.startswith(f"{name}.") else writer
            total = sum(outcomes.values())
            bad = [f"{count:,} {outcome.replace('_', ' ')}s" for outcome, count in outcomes.items() if outcome != "ok"]
            parts.append(f"{short} {total:,}" + (f" ({', '.join(bad)})" if bad else ""))
        cells.append(f"{service}: {', '.join(parts)}")
    return "; ".join(cells) or "-"
