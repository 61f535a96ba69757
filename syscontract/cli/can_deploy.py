"""``syscontract can-deploy MANIFEST --to ENV --with MANIFEST...``: is this deploy safe?

::

    syscontract can-deploy build/pricing.json --to prod --with deployments/prod/

Would deploying the service of MANIFEST into ENV (replacing the version of it deployed there) leave one
of its consumers without a field it requires, or leave a consumer of what it produces without one?
Exit 0 yes, it can deploy; 1 no, with the reasons; 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from syscontract.manifest import dumps, load, load_all
from syscontract.system import can_deploy, external_names, live, state, waivers
from syscontract.system.rules import finding_key

from . import _live
from .drift import add_external, render_findings

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "can-deploy",
        help="would deploying this service into an environment break a consumer?",
        description="Check MANIFEST against the manifests deployed in ENV.",
    )
    command.add_argument("manifest", metavar="MANIFEST", help="the manifest of the service to deploy")
    add_target(command)
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_external(command)
    _live.add_gate_arguments(command)
    waivers.add_argument(command)
    return command


def add_target(command: argparse.ArgumentParser) -> None:
    """``--to ENV --with MANIFEST ...``: where a deploy goes, and what runs there (can-deploy, plan)."""
    command.add_argument("--to", required=True, metavar="ENV", help="the environment to deploy into")
    command.add_argument(
        "--with",
        dest="others",
        nargs="+",
        metavar="MANIFEST",
        help="the manifests (files or directories) of what runs in ENV; every one must describe ENV",
    )


def run(args: argparse.Namespace) -> int:
    candidate = load(args.manifest)
    deployed = state(args.to, load_all(args.others or ()), given=bool(args.others))
    findings = can_deploy(candidate, args.to, deployed, external=external_names(args.external))
    live_note = ""
    if _live.gated(args):  # the live evidence: the manifests' verdict, with what traffic showed
        seen = _live.usage(args, args.to)
        findings = live.with_evidence(findings, seen, deploying=candidate.service)
        findings += live.disagreements(deployed, seen, deploying=candidate.service)
        findings.sort(key=finding_key)
        live_note = f" (live evidence: {seen.snapshot.url}, the last {seen.window})"
    ledger = waivers.for_gate(args, args.to)  # waived errors become warnings; expired waivers are errors
    everything = waivers.deploy_findings(candidate, args.to, deployed, external=external_names(args.external))
    findings = ledger.judge(findings, seen=everything)
    errors = [f for f in findings if f.severity == "error"]
    if args.format == "json":
        body = {
            "service": candidate.service,
            "environment": args.to,
            "can_deploy": not errors,
            "findings": [f.to_json() for f in findings],
            "waivers": ledger.to_json(),
        }
        sys.stdout.write(dumps(body))
    elif errors:
        sys.stdout.write(f"{candidate.service} cannot deploy to {args.to}{live_note}:\n" + render_findings(findings))
    elif findings:
        sys.stdout.write(f"{candidate.service} can deploy to {args.to}, with warnings{live_note}:\n"
                         + render_findings(findings))  # fmt: skip
    else:
        sys.stdout.write(f"{candidate.service} can deploy to {args.to}: every requirement is met{live_note}\n")
    return 1 if errors else 0
