"""``syscontract lint``: the fields handlers read, found in their source and seen in tests, and the
ones nobody declared.

::

    from syscontract.lint import lint

    report = lint(["services/pricing"], contracts="contracts", reads="reads.json")
    report.errors                      # undeclared fallbacks and reader defaults: the build fails
    print(report.text())               # or report.json(): deterministic bytes

The static half (:mod:`syscontract.lint.static`) parses the files with :mod:`ast` and never imports
them; :mod:`syscontract.lint.recorder` is the test-time half (``pytest --syscontract-reads=PATH``),
whose report ``reads=`` merges. This package imports neither the user's code nor the recorder.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from syscontract.errors import ContractDeclarationError
from syscontract.manifest import dumps
from syscontract.registry import FileRegistry

from ._findings import Finding, HandlerReport, judge, knowledge, load_reads, merge, registry_for
from .static import CALL_DEPTH, analyse, discover, load_modules, model_defaults

__all__ = [
    "CALL_DEPTH",
    "Finding",
    "HandlerReport",
    "LintReport",
    "contracts_dir",
    "contracts_near",
    "lint",
    "wrap_call",
]

WIDTH = 100
"""Human output fits in 100 columns."""


@dataclass
class LintReport:
    """Every handler found, with its findings; ``files`` scanned; ``contracts`` the directories read."""

    handlers: list[HandlerReport]
    files: int
    contracts: list[str]

    @property
    def findings(self) -> list[Finding]:
        return [f for h in self.handlers for f in h.findings]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def json(self) -> str:
        """The report as deterministic JSON text (:func:`syscontract.manifest.dumps`)."""
        return dumps({"handlers": [h.to_json() for h in self.handlers]})

    def text(self) -> str:
        """The report for a person: each handler, its findings, the declaration that fixes them."""
        out: list[str] = []
        for handler in self.handlers:
            where = f"{shown(handler.file)}:{handler.line}" if handler.file else "seen in tests only"
            head = f"{handler.handler} ({where}, {handler.contract or 'contract not literal'})"
            if not handler.findings:
                out.append(f"{head}: ok")
                continue
            out.append(head)
            for finding in handler.findings:
                place = f"({shown(finding.file)}:{finding.line})" if finding.file else "(-)"
                line = f"  {finding.severity.upper():<8}{finding.kind} {finding.field or '-'}"
                if len(line) + 2 + len(place) <= WIDTH:
                    out.append(f"{line}  {place}")
                else:  # a long path: the location on a line of its own
                    out.extend([line, f"    {place}"])
                out.extend(textwrap.wrap(finding.message, WIDTH, initial_indent="    ", subsequent_indent="    "))
            out.extend(wrap_call(handler.suggested, "  fix: ", WIDTH))
            out.append("")
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in ("error", "warning", "info")}
        count = len(self.handlers)
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
        out.append(
            f"{count} handler{'s' if count != 1 else ''} in {self.files} file{'s' if self.files != 1 else ''}: "
            f"{summary}"
        )
        return "\n".join(out) + "\n"


def shown(file: str) -> str:
    """``file`` as a person reads it: relative to the working directory when it lies under it (as
    linters print paths), else as it is."""
    if not os.path.isabs(file):
        return file
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive
        return file
    return file if relative.startswith(os.pardir) else relative


def contracts_dir(paths: Sequence[str], given: str | None) -> str | None:
    """The contracts directory every handler is judged against: ``given`` (``--contracts``), else
    ``SYSCONTRACT_CONTRACTS``; None when neither is set, and each file finds its own
    (:func:`contracts_near`)."""
    if given is not None:
        if not Path(given).is_dir():
            raise ContractDeclarationError(f"--contracts {given}: no such directory", reason="bad-option")
        return given
    configured = os.environ.get("SYSCONTRACT_CONTRACTS")
    if configured and Path(configured).is_dir():
        return configured
    return None


def contracts_near(file: str) -> str | None:
    """The ``contracts`` directory nearest ``file``: in its directory or one above it, up to the
    project's root (a directory holding ``pyproject.toml``, ``setup.py`` or ``.git``), else
    ``./contracts`` when it exists."""
    folder = Path(file).resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "contracts").is_dir():
            return str(candidate / "contracts")
        if any((candidate / marker).exists() for marker in ("pyproject.toml", "setup.py", ".git")):
            break
    return "contracts" if Path("contracts").is_dir() else None


def lint(paths: Sequence[str] = (".",), *, contracts: str | None = None, reads: str | None = None) -> LintReport:
    """Lint the handlers in the ``.py`` files under ``paths``.

    ``contracts``: the contracts directory (default: ``SYSCONTRACT_CONTRACTS``, else the one nearest
    each file, :func:`contracts_near`); ``reads``: a recorder report to merge. A file or reads report
    that cannot be read is one :class:`ContractDeclarationError`."""
    seen = load_reads(reads) if reads is not None else []
    modules = load_modules(paths)
    directory = contracts_dir(paths, contracts)
    registries: dict[str | None, FileRegistry | None] = {}
    models: dict[str, set[str]] = {}
    for module in modules:
        for ref, fields in model_defaults(module).items():
            models.setdefault(ref, set()).update(fields)
    reports: list[HandlerReport] = []
    found = {}
    for module in modules:
        where = directory if directory is not None else contracts_near(module.file)
        if where not in registries:
            registries[where] = registry_for(where)
        try:
            for handler in discover(module):
                if handler.role != "consumer":
                    continue
                known = knowledge(registries[where], handler.contract, models)
                analyse(handler, modules, lambda path, known=known: path in known.structured)  # type: ignore[misc]
                found[handler.name] = handler
                reports.append(judge(handler, known))
        except RecursionError as exc:  # the parser took it, the analysis of one handler cannot
            raise ContractDeclarationError(
                f"{module.file}: cannot lint: nested too deeply to analyse", reason="bad-source"
            ) from exc
    reports.sort(key=lambda r: (r.file, r.line, r.handler))
    if seen:
        reports = merge(reports, seen, found)
    used = sorted(w for w, r in registries.items() if w is not None and r is not None)
    return LintReport(reports, len(modules), used)


def wrap_call(text: str, prefix: str, width: int) -> list[str]:
    """``prefix + text`` (a call, as source) in lines of ``width``, broken after the commas between its
    arguments or between the items of a list argument, continued under the call's first argument:
    what is printed pastes as it is."""
    tokens: list[str] = []
    depth, quote, start, index = 0, "", 0, 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth in (1, 2) and text[index + 1 : index + 2] == " ":
            tokens.append(text[start : index + 1])
            start = index + 2
            index += 1
        index += 1
    tokens.append(text[start:])
    indent = " " * (len(prefix) + text.find("(") + 1)
    lines = [prefix + tokens[0]]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) <= width:
            lines[-1] += " " + token
        else:
            lines.append(indent + token)
    return lines
