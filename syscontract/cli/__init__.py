"""The ``syscontract`` command line: one module per command, one ``main`` that runs them.

Each command module (``syscontract/cli/<command>.py``) offers two functions::

    def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser: ...
    def run(args: argparse.Namespace) -> int: ...

``add_parser`` declares the command and its options; ``run`` does the work and returns the exit code.
Adding a command is adding a module and its name to ``COMMANDS``. Exit codes are the same everywhere:
0 fine, 1 a problem found, 2 a usage or input error (a message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from syscontract._version import __version__
from syscontract.errors import ContractError

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2

COMMANDS = ("init", "check", "lint", "compat", "inventory", "drift", "can_deploy", "plan", "report", "demo")
"""The command modules under ``syscontract.cli``, in the order ``--help`` lists them."""


def parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    root = argparse.ArgumentParser(
        prog="syscontract",
        description="Make the event contracts services depend on explicit: check them before deploy.",
    )
    root.add_argument("--version", action="version", version=f"syscontract {__version__}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"syscontract.cli.{name}")  # can_deploy declares "can-deploy"
        command = module.add_parser(commands)
        command.set_defaults(run=module.run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.run(args)
    except ContractError as exc:
        print(f"syscontract {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"syscontract {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
