"""``syscontract drift MANIFEST...``: which versions run where, and which consumers lose a field.

::

    syscontract drift deployments/          # every *.json below, or manifest files

Prints the environment x contract matrix (who produces and who consumes which version) and every
finding: a consumer whose critical field a producer of that contract in the same environment does not
send (or may leave out, null or defaulted), or a version it cannot read. Exit 0 only when every input
was read and judged with no error finding; 1 at least one error finding (what cannot be judged is one:
``no-producer``, ``not-judged``); 2 an input that cannot be read (a malformed manifest, a manifest-like
file in a directory that cannot be read: one line naming the file) or a usage error. ``--external`` is
the one opt-out (see docs/cli.md, the gates' rule).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from syscontract.errors import ContractDeclarationError
from syscontract.manifest import dumps, load_all
from syscontract.system import Finding, Report, drift, external_names

from . import _live
from ._table import table

__all__ = ["add_external", "add_parser", "render_findings", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "drift",
        help="environment x contract matrix, and consumers whose fields producers do not send",
        description="Read manifests and report, per environment, consumers whose critical fields are not sent.",
    )
    command.add_argument("manifests", nargs="*", metavar="MANIFEST", help="manifest files or directories")
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    _live.add_arguments(command)
    add_external(command)
    return command


def add_external(command: argparse.ArgumentParser) -> None:
    """``--external CONTRACT``: the one opt-out of the gates' rule (drift, live drift, can-deploy, plan)."""
    command.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="CONTRACT",
        help="a contract produced outside what the gate can see (a partner's system): its consumers without a "
        "producer there, and (live) writer versions of it whose schema is not at hand, are accepted as not judged "
        "(a warning, not an error); what the gate can judge still is (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "prometheus", None):  # live drift (issue 14): syscontract/cli/_live.py
        return _live.run(args)
    if not args.manifests:
        raise ContractDeclarationError("drift needs MANIFEST files or directories, or --prometheus URL")
    _live.unused(args)
    report = drift(load_all(args.manifests), external=external_names(args.external))
    if args.format == "json":
        body = {"matrix": report.matrix, "findings": [f.to_json() for f in report.findings]}
        sys.stdout.write(dumps(body))
    else:
        sys.stdout.write(render(report))
    return 1 if report.errors else 0


def render(report: Report) -> str:
    rows = []
    for environment, contracts in report.matrix.items():
        for name, roles in sorted(contracts.items()):
            produced = ", ".join(f"{s} {'/'.join(v)}" for s, v in sorted(roles.get("producer", {}).items())) or "-"
            consumed = ", ".join(f"{s} {'/'.join(v)}" for s, v in sorted(roles.get("consumer", {}).items())) or "-"
            rows.append((environment, name, produced, consumed))
    out = table(("ENVIRONMENT", "CONTRACT", "PRODUCED BY", "CONSUMED BY"), rows) if rows else "no declarations\n"
    return out + "\n" + render_findings(report.findings)


def render_findings(findings: list[Finding]) -> str:
    if not findings:
        return "no findings\n"
    errors = sum(1 for f in findings if f.severity == "error")
    heading = f"{errors} error{'s' if errors != 1 else ''}, {len(findings) - errors} warning" + (
        "s" if len(findings) - errors != 1 else ""
    )
    rows = [(f.severity.upper(), f.environment, f.field or "-", f.message) for f in findings]
    return heading + "\n" + table(("", "ENV", "FIELD", "FINDING"), rows)
