"""``syscontract plan MANIFEST... --to ENV --with MANIFEST|DIR...``: in what order to deploy a release.

::

    syscontract plan release/ --to prod --with deployments/prod        # a release
    syscontract plan previous/ --to prod --with deployments/prod       # its rollback

The MANIFESTs are the release, one per service (a service ENV does not run is new; a manifest with no
declarations retires its service). The answer is the steps, one service at a time, after each of which
every consumer in ENV still gets every field it requires from every producer there, and can read every
message written since the release began (see :mod:`syscontract.system.plan`). Exit 0 a safe order exists,
1 none does (with the findings that block every order), 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from typing import Any

from syscontract.manifest import dumps, load_all
from syscontract.system import external_names, live, state, waivers
from syscontract.system.plan import Plan, plan

from . import _live
from ._table import WIDTH
from .can_deploy import add_target
from .drift import add_external, render_findings

__all__ = ["add_parser", "backlog", "render", "run"]


def backlog(text: str) -> int | None:
    """``all`` (None) or a number of steps, for ``--backlog``."""
    if text == "all":
        return None
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: expected 'all' or a number of steps (0 or more)")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "plan",
        help="a safe order to deploy a release (or roll one back), one service at a time",
        description="Order the deploys of a release into ENV so that no step leaves a consumer without a field "
        "it requires.",
    )
    command.add_argument("manifests", nargs="+", metavar="MANIFEST", help="the release: manifest files or directories")
    add_target(command)
    command.add_argument(
        "--backlog",
        type=backlog,
        default=None,
        metavar="STEPS",
        help="which earlier messages every reader must still be able to read: 'all' (default: every message "
        "written since the release began) or those of the last STEPS states; 0: only what runs with it",
    )
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_external(command)
    _live.add_gate_arguments(command, unused_after=False)
    waivers.add_argument(command)
    return command


def run(args: argparse.Namespace) -> int:
    release = load_all(args.manifests)
    deployed = state(args.to, load_all(args.others or ()), given=bool(args.others))
    ledger = waivers.for_gate(args, args.to)  # a waived finding blocks no step; an expired waiver is an error
    result = plan(release, args.to, deployed, backlog=args.backlog, external=external_names(args.external),
                  waives=ledger.waives)  # fmt: skip
    if _live.gated(args):  # the live evidence on every finding; the plan itself stays the manifests'
        seen = _live.usage(args, args.to)
        result = dataclasses.replace(result, findings=tuple(live.with_evidence(result.findings, seen)))
    notes = ledger.applied() + ledger.findings()
    body = {**result.to_json(), "waivers": ledger.to_json()}
    waived = "\nwaivers:\n" + render_findings(notes) if notes else ""
    sys.stdout.write(dumps(body) if args.format == "json" else render(result) + waived)
    return 0 if result.safe and not ledger.failed() else 1


def render(result: Plan) -> str:
    """The plan as a numbered list a release manager can follow (100 columns)."""
    notes = []
    if result.backlog is not None:
        notes.append(f"backlog: {result.backlog} step{'s' if result.backlog != 1 else ''}")
    if result.unchanged:
        notes.append(f"unchanged: {', '.join(result.unchanged)}")
    aside = f" ({'; '.join(notes)})" if notes else ""
    if not result.safe:
        lines = [f"no safe order to deploy into {result.environment}{aside}: every order leaves a consumer without "
                 "what it requires", ""]  # fmt: skip
        if result.cycle:
            ring = " -> ".join([*result.cycle, result.cycle[0]])
            lines[-1:-1] = [f"each of these must deploy before the next, in a cycle: {ring}"]
        out = _wrap(lines) + render_findings(list(result.findings))
        if result.hints:
            out += "\nto unblock:\n" + "".join(_wrap([f"- {hint}"], "  ", "    ") for hint in result.hints)
        return out
    if not result.steps:
        return f"nothing to deploy into {result.environment}: it already runs this release{aside}\n"
    count = len(result.steps)
    lines = [f"plan for {result.environment}: {count} step{'s' if count != 1 else ''}, one service at a time{aside}"]
    out = _wrap(lines) + "\n"
    for step in result.steps:
        change = f"{step.before or '(new)'} -> {step.after or '(retired)'}"
        out += _wrap([f"{step.step}. {step.service}: {change}"], "", "   ")
        out += _wrap([step.why], "   ", "   ")
        out += "".join(_wrap([f"wait {wait}"], "   ", "     ") for wait in step.wait)
    return out


def _wrap(lines: list[str], first: str = "", rest: str = "") -> str:
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False) or [
            ""
        ]
    return "\n".join(wrapped) + "\n"
