"""``syscontract demo``: the incident, end to end, in one process (see :mod:`syscontract.demo`).

::

    syscontract demo                 # the story, for a person
    syscontract demo --format json   # the same facts, for a machine
    syscontract demo --html FILE     # its page (syscontract report) there, not in a new temporary directory

Exit 0 when the story went as told, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="the incident end to end: a silent default, caught per message and before deploy",
        description="Run the incident syscontract exists for, in one process, with the contracts it ships.",
    )
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    command.add_argument(
        "--html", metavar="FILE", help="where to write the demo's page (default: a new temporary directory)"
    )
    return command


def run(args: argparse.Namespace) -> int:
    import logging

    from syscontract.demo import run as demo

    logging.getLogger("syscontract").propagate = False  # the story prints the violations itself
    logging.getLogger("syscontract").addHandler(logging.NullHandler())
    return demo(output=args.format, html=args.html)
