"""``syscontract report MANIFEST... --html FILE``: the system as a picture.

::

    syscontract report deployments/ --html report.html
    syscontract report deployments/ --to prod --with release/ --html report.html     # and the plan
    syscontract report deployments/ --prometheus http://prometheus:9090 --html report.html

Writes one self-contained HTML page (see :mod:`syscontract._report`): environments x services, what
each produces and consumes there, drift's findings on the cells they concern, in red, the live
evidence with ``--prometheus`` (what ``drift --prometheus`` reads), and with ``--to ENV --with
MANIFEST...`` the plan for deploying that release (``plan``'s MANIFESTs) into ENV, whose state is
what the report's own MANIFESTs say runs there. Exit 0 no error finding (and a safe plan), 1 the
page shows an error finding or no safe order, 2 a usage or input error (no page is written).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from syscontract._report import Live, page
from syscontract.errors import ContractDeclarationError
from syscontract.manifest import Manifest, ManifestError, load_all
from syscontract.system import drift, external_names, state
from syscontract.system import live as _live_drift
from syscontract.system.plan import Plan, plan

from . import _live
from .drift import add_external
from .plan import backlog

__all__ = ["add_parser", "run", "write"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="the system as a picture: one HTML page of environments x services, findings in red",
        description="Write one self-contained HTML page: environments x services, the contract versions each "
        "produces and consumes, the findings on the cells they concern, live evidence and a plan when asked.",
    )
    command.add_argument(
        "manifests", nargs="+", metavar="MANIFEST", help="what runs where: manifest files or directories"
    )
    command.add_argument("--html", required=True, metavar="FILE", help="the page to write ('-': standard output)")
    command.add_argument("--title", default="syscontract report", help="the page's title")
    group = command.add_argument_group(
        "plan", "show the plan for deploying a release into ENV, which runs what the MANIFESTs say runs there"
    )
    group.add_argument("--to", metavar="ENV", help="the environment the release goes to")
    group.add_argument(
        "--with", dest="release", nargs="+", metavar="MANIFEST", help="the release: manifest files or directories"
    )
    group.add_argument("--backlog", type=backlog, default=None, metavar="STEPS", help="as plan --backlog")
    _live.add_arguments(command)
    add_external(command)
    return command


def run(args: argparse.Namespace) -> int:
    if bool(args.to) != bool(args.release):
        raise ContractDeclarationError("--to ENV and --with MANIFEST... go together (the plan of a release into ENV)")
    if args.backlog is not None and not args.to:
        raise ContractDeclarationError("--backlog only applies with --to ENV --with MANIFEST...")
    if not args.prometheus:
        _live.unused(args)
    manifests = load_all(args.manifests)
    external = external_names(args.external)
    findings = drift(manifests, external=external).findings
    planned = _plan(args, manifests, external) if args.to else None
    evidence = _observe(args, manifests) if args.prometheus else None
    result = page(manifests, findings, live=evidence, plan=planned, title=args.title)
    where = write(result.html, args.html)
    summary = f"{_n(len(result.environments), 'environment')}, {_n(len(result.services), 'service')}, "
    summary += f"{_n(result.errors, 'error')}, {_n(result.warnings, 'warning')}" if result.findings else "no findings"
    if planned is not None:
        steps = _n(len(planned.steps), "step") if planned.safe else "no safe order"
        summary += f"; plan for {planned.environment}: {steps}"
    print(f"wrote {where}: {summary}", file=sys.stderr if args.html == "-" else sys.stdout)
    return 1 if result.errors or (planned is not None and not planned.safe) else 0


def _plan(args: argparse.Namespace, manifests: list[Manifest], external: frozenset[str]) -> Plan:
    known = sorted({m.environment for m in manifests})
    if args.to not in known:
        raise ManifestError(
            f"{args.to} is not an environment the MANIFESTs describe (environments known: {', '.join(known)}): "
            "the plan starts from what they say runs there"
        )
    deployed = state(args.to, [m for m in manifests if m.environment == args.to])
    return plan(load_all(args.release), args.to, deployed, backlog=args.backlog, external=external)


def _observe(args: argparse.Namespace, manifests: list[Manifest]) -> Live:
    """What ``drift --prometheus`` reads, with the report's manifests compared with what runs."""
    snapshot = _live.observe(args, args.environment)
    report = _live_drift.drift(
        snapshot, contracts=_live.contracts(args.contracts), manifests=manifests, external=args.external
    )
    return Live(f"Prometheus {snapshot.url}, the last {snapshot.window}", report.matrix, report.findings)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def write(text: str, target: str) -> str:
    """Write the page to ``target`` ('-': standard output) whole or not at all (a page cut short by a full disk
    would show less than there is); the path written, as given."""
    if target == "-":
        sys.stdout.write(text)
        return "standard output"
    path = Path(target)
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)  # as open() would have made it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
