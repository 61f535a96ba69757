"""``syscontract lint [PATH...]``: the fields handlers read with a fallback or a reader default and do
not declare, and the ``@requires`` line that declares them.

::

    syscontract lint services/ --contracts contracts
    syscontract lint services/ --reads reads.json        # merge what the tests saw (pytest --syscontract-reads)

Parses the ``.py`` files under each PATH (default: ``.``) without importing them; see
:mod:`syscontract.lint`. Exit 0 no error finding (warnings and infos are printed), 1 at least one error
(``undeclared-fallback``, ``undeclared-default``), 2 a file or the reads report could not be read or
parsed (one line naming it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from syscontract.lint import lint

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "lint",
        help="fields handlers read with a fallback or a reader default and do not declare",
        description="Find, without importing them, the fields each handler reads, and the ones it does not "
        "declare: a fallback or a reader default on an undeclared field is an error.",
    )
    command.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories (default: .)")
    command.add_argument(
        "--contracts",
        metavar="DIR",
        help="contracts directory (default: $SYSCONTRACT_CONTRACTS, else the contracts/ nearest each file)",
    )
    command.add_argument(
        "--reads", metavar="FILE", help="a read recorder report to merge (pytest --syscontract-reads=FILE)"
    )
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return command


def run(args: argparse.Namespace) -> int:
    report = lint(args.paths, contracts=args.contracts, reads=args.reads)
    sys.stdout.write(report.json() if args.format == "json" else report.text())
    return 1 if report.errors else 0
