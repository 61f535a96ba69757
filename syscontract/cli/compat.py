"""``syscontract compat OLD NEW``: may NEW follow OLD under a compatibility mode?

::

    syscontract compat order.v2 order.v3 --mode BACKWARD --consumer pricing:customerTier
    syscontract compat old.avsc new.avsc --format json

OLD and NEW are schema files or contract references in ``--contracts`` (default ``./contracts``). The
mode defaults to NEW's ``compatibility`` in contract.toml, else ``BACKWARD``. Exit 0 when compatible,
1 when a problem is found, 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from syscontract.compat import Compatibility, Consumer, Problem, compare
from syscontract.contract import COMPATIBILITY_MODES
from syscontract.errors import ContractDeclarationError
from syscontract.manifest import dumps

from ._inputs import load_contract
from ._table import table

__all__ = ["add_parser", "parse_consumer", "run"]

_MODES = sorted(COMPATIBILITY_MODES)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare the ``compat`` command."""
    command: argparse.ArgumentParser = commands.add_parser(
        "compat",
        help="check that a new schema version may follow an old one",
        description="Check that NEW may follow OLD under a compatibility mode (Confluent's meaning), and that "
        "no consumer loses a field it requires.",
    )
    command.add_argument("old", metavar="OLD", help="the previous version: a schema file or a reference (order.v2)")
    command.add_argument("new", metavar="NEW", help="the new version: a schema file or a reference (order.v3)")
    command.add_argument(
        "--mode",
        type=str.upper,
        choices=_MODES,
        help="compatibility mode (default: NEW's contract.toml compatibility, else BACKWARD)",
    )
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    command.add_argument(
        "--contracts",
        default="contracts",
        metavar="DIR",
        help="contracts directory for references (default: ./contracts)",
    )
    command.add_argument(
        "--consumer",
        action="append",
        default=[],
        type=parse_consumer,
        metavar="NAME:PATH[,PATH...]",
        help="a consumer and the fields it requires, e.g. pricing:customerTier (repeatable)",
    )
    return command


def parse_consumer(text: str) -> Consumer:
    """``NAME:PATH,PATH`` as a :class:`Consumer`; argparse reports a malformed one as a usage error."""
    name, _, paths = text.partition(":")
    fields = [p.strip() for p in paths.split(",") if p.strip()]
    if not name.strip() or not fields:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME:PATH[,PATH...], e.g. pricing:customerTier")
    try:
        return Consumer(name.strip(), fields)
    except ContractDeclarationError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Compare, print the verdict, and return 0 (compatible) or 1 (a problem)."""
    old = load_contract(args.old, args.contracts)
    new = load_contract(args.new, args.contracts)
    mode = args.mode or new.compatibility or "BACKWARD"
    result = compare(new, old, mode, consumers=args.consumer)
    if args.format == "json":
        body = {"old": str(old.ref), "new": str(new.ref), **result.to_dict()}
        sys.stdout.write(dumps(body))
    else:
        sys.stdout.write(render_text(result, str(old.ref), str(new.ref)))
    return 0 if result.compatible else 1


def render_text(result: Compatibility, old: str, new: str) -> str:
    """The verdict as a heading and, when there are problems, a table of them (100 columns)."""
    heading = f"{new} after {old} ({result.mode}): "
    if result.compatible:
        return heading + "compatible\n"
    count = len(result.problems)
    header = ("KIND", "FIELD", "READER <- WRITER", "CONSUMER", "MESSAGE")
    rows = [_row(problem) for problem in result.problems]
    return heading + f"INCOMPATIBLE, {count} problem{'s' if count != 1 else ''}\n\n" + table(header, rows)


def _row(problem: Problem) -> tuple[str, str, str, str, str]:
    direction = f"{problem.reader} <- {problem.writer}" if problem.reader and problem.writer else "-"
    return (problem.kind, problem.field or problem.path, direction, problem.consumer or "-", problem.message)
