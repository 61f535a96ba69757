"""``syscontract inventory MODULE... --service S --environment E [-o FILE]``: write a manifest.

::

    syscontract inventory pricing.handlers --service pricing --environment prod -o deployments/prod/pricing.json

Imports the modules, resolves every ``@requires`` and ``@produces`` declaration they make, and writes
the manifest (see docs/manifest.md) to FILE or standard output. Exit 0 written, 1 a declaration does
not resolve (the problems are listed), 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from syscontract import _config, inventory
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractError
from syscontract.manifest import build, dumps

from ._modules import import_modules

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "inventory",
        help="write the manifest of what a service produces and requires",
        description="Import MODULEs and write the manifest of their @requires and @produces declarations.",
    )
    command.add_argument("modules", nargs="+", metavar="MODULE", help="a dotted module name or a .py file")
    command.add_argument("--service", required=True, help="the service's name (as OTEL_SERVICE_NAME)")
    command.add_argument("--environment", required=True, help="the environment it is deployed to")
    command.add_argument("-o", "--output", metavar="FILE", help="where to write the manifest (default: stdout)")
    command.add_argument("--contracts", metavar="DIR", help="contracts directory (default: ./contracts)")
    return command


def run(args: argparse.Namespace) -> int:
    if args.contracts:
        _config.configure(registry=args.contracts)
    import_modules(args.modules)
    declarations = inventory.declarations()
    if not declarations:
        print(f"syscontract inventory: no @requires or @produces declaration in {' '.join(args.modules)}",
              file=sys.stderr)  # fmt: skip
        return 1
    contracts: dict[ContractRef, Contract] = {}
    problems: list[ContractError] = []
    for declaration in declarations:
        try:
            contracts[declaration.ref] = declaration.resolve().contract
        except ContractError as exc:
            problems.append(exc)
    if problems:
        for problem in problems:
            print(f"syscontract inventory: {problem}", file=sys.stderr)
        return 1
    manifest = build(declarations, service=args.service, environment=args.environment, contracts=contracts)
    text = dumps(manifest.to_json())
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
