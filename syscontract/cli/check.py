"""``syscontract check [MODULE...] [--contracts DIR]``: are the contracts and declarations sound?

::

    syscontract check pricing.handlers checkout.events --contracts contracts

Checks, and prints a table of every problem:

- every contract version in DIR loads; the versions of each contract have no gap (v1, v3 without v2);
- each contract's versions obey the compatibility mode of its ``contract.toml`` (none: not checked);
- every ``@requires``/``@produces`` declaration in the MODULEs resolves and every field it names exists;
- each consumer's critical fields are sent by every version producers may still send: the versions of
  the contract that ``@produces`` declarations in the MODULEs produce, or, when none does, every version
  not listed as ``retired`` in ``contract.toml``;
- with ``--lint PATH``: the handlers under PATH read no field with a fallback or a reader default that
  they do not declare (``syscontract lint``'s errors, each a problem; its warnings are left to
  ``syscontract lint`` itself).

Exit 0 no problem, 1 a problem found, 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from syscontract import _config, inventory
from syscontract.compat import compare
from syscontract.compat.consumers import REMOVED, SENT
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError
from syscontract.lint import lint
from syscontract.manifest import dumps
from syscontract.registry import FileRegistry
from syscontract.system import carried

from ._modules import import_modules
from ._table import table

__all__ = ["Problem", "add_parser", "run"]

_WHY = {
    REMOVED: "does not have it",
    "nullable": "may send it as null",
    "defaulted": "gives it a default",
    "optional": "does not require it",
}


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "message": self.message}


def add_parser(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="contracts load and obey their compatibility modes; declarations resolve",
        description="Check the contracts directory and the declarations made by MODULEs.",
    )
    command.add_argument("modules", nargs="*", metavar="MODULE", help="dotted module names or .py files")
    command.add_argument(
        "--contracts", default="contracts", metavar="DIR", help="contracts directory (default: ./contracts)"
    )
    command.add_argument(
        "--lint",
        action="append",
        default=[],
        metavar="PATH",
        help="also lint the handlers in PATH (files or directories, repeatable): an undeclared fallback or "
        "reader default is a problem",
    )
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return command


def run(args: argparse.Namespace) -> int:
    registry = FileRegistry(args.contracts)
    names = registry.names()  # a missing directory is an input error (exit 2), not a finding
    _config.configure(registry=registry)
    problems: list[Problem] = []
    with inventory.deferred():  # a declaration that does not resolve is a finding, listed with the others
        for module in args.modules:
            try:
                import_modules([module])
            except ContractDeclarationError as exc:
                if exc.reason == "bad-module":
                    raise  # the module could not be examined at all: exit 2
                problems.append(Problem("declaration", module, str(exc)))
    declarations = inventory.declarations()
    problems = _contracts(registry) + problems + _declarations(registry) + _lint(args.lint, args.contracts)
    checked = _checked(names, len(declarations), len(args.modules))
    if args.lint:
        checked += f"; linted {', '.join(args.lint)}"
    if args.format == "json":
        body = {
            "problems": [p.to_json() for p in problems],
            "checked": {"contracts": list(names), "modules": list(args.modules), "declarations": len(declarations)},
        }
        sys.stdout.write(dumps(body))
    elif problems:
        count = len(problems)
        sys.stdout.write(f"{count} problem{'s' if count != 1 else ''} ({checked})\n")
        sys.stdout.write(table(("KIND", "WHERE", "PROBLEM"), [(p.kind, p.where, p.message) for p in problems]))
    else:
        sys.stdout.write(f"no problems: {checked}\n")
    return 1 if problems else 0


def _lint(paths: list[str], contracts: str) -> list[Problem]:
    if not paths:
        return []
    report = lint(paths, contracts=contracts)
    return [
        Problem(f"lint:{f.kind}", handler.handler, f"{f.file}:{f.line}: {f.message}; fix: {handler.suggested}")
        for handler in report.handlers
        for f in handler.findings
        if f.severity == "error"
    ]


def _checked(names: list[str], declarations: int, modules: int) -> str:
    contracts = (
        f"{len(names)} contract{'s' if len(names) != 1 else ''} ({', '.join(names)})" if names else "no contract"
    )
    if not modules:
        return f"checked {contracts}; no MODULE given, so no declaration was checked"
    return (
        f"checked {contracts} and {declarations} declaration{'s' if declarations != 1 else ''} "
        f"in {modules} module{'s' if modules != 1 else ''}"
    )


def _contracts(registry: FileRegistry) -> list[Problem]:
    problems: list[Problem] = []
    for name in registry.names():
        versions = registry.versions(name)
        missing = sorted(set(range(versions[0], versions[-1] + 1)) - set(versions))
        if missing:
            gap = ", ".join(f"v{v}" for v in missing)
            problems.append(
                Problem("version-gap", name, f"{name} has no {gap} between v{versions[0]} and v{versions[-1]}")
            )
        loaded: list[Contract] = []
        for version in versions:
            try:
                loaded.append(registry.get(ContractRef(name, version)))
            except ContractError as exc:
                problems.append(Problem("unloadable", f"{name}.v{version}", str(exc)))
        for index, contract in enumerate(loaded[1:], start=1):
            mode = contract.compatibility
            if mode is None or mode == "NONE":
                continue
            result = compare(contract, loaded[:index], mode)
            for found in result.problems:
                where = f"{contract.ref} ({mode})"
                problems.append(Problem(f"compat:{found.kind}", where, found.message))
    return problems


def _declarations(registry: FileRegistry) -> list[Problem]:
    problems: list[Problem] = []
    declarations = inventory.declarations()
    produced: dict[str, set[int]] = {}
    for declaration in declarations:
        if declaration.role == "producer":
            produced.setdefault(declaration.ref.name, set()).add(declaration.ref.version)
    for declaration in declarations:
        try:
            checker = declaration.resolve()
        except ContractError as exc:
            problems.append(Problem("declaration", declaration.name, str(exc)))
            continue
        if declaration.role != "consumer":
            continue
        name = declaration.ref.name
        if name in produced:
            sent, source = sorted(produced[name]), "produced by the checked modules"
        else:
            try:
                retired = set(registry.retired(name))
                sent, source = [v for v in registry.versions(name) if v not in retired], "not retired"
            except ContractError:
                sent, source = [], ""
        for version in sent:
            try:
                writer = registry.get(ContractRef(name, version))
            except ContractError:
                continue  # reported with the contracts
            for path in checker.fields:
                now = carried(writer, path, checker.contract)
                if now != SENT:
                    problems.append(
                        Problem(
                            f"field-{now}",
                            declaration.name,
                            f"requires {declaration.ref} {path}, but {writer.ref} ({source}) {_WHY[now]}",
                        )
                    )
    return problems
