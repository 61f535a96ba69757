"""From what a handler reads to what is wrong with it: what the contract says (its critical list, the
fields a reader default fills), the findings with their severities, the ``@requires`` line that fixes
them, and the evidence of a test run (``--reads``) merged in."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syscontract.contract import Contract, parse_path
from syscontract.errors import ContractDeclarationError, ContractError
from syscontract.registry import FileRegistry

from .static import Declared, Read

__all__ = ["Finding", "HandlerReport", "Knowledge", "judge", "load_reads", "merge"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_FORMATS = {"avro": "Avro", "jsonschema": "JSON Schema", "pydantic": "pydantic", "protobuf": "Protobuf"}


@dataclass(frozen=True)
class Finding:
    severity: str  # error, warning, info
    kind: str
    field: str
    file: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "field": self.field,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


@dataclass
class HandlerReport:
    """One handler's findings and the declaration that would fix them."""

    handler: str
    file: str
    line: int
    contract: str | None
    declared: list[str]
    reads: dict[str, list[str]]  # path -> the ways it is read
    findings: list[Finding] = field(default_factory=list)
    suggested: str = ""
    fields: list[str] = field(default_factory=list)  # what the suggested line declares

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def to_json(self) -> dict[str, Any]:
        return {
            "handler": self.handler,
            "file": self.file,
            "line": self.line,
            "contract": self.contract,
            "declared": self.declared,
            "reads": self.reads,
            "findings": [f.to_json() for f in self.findings],
            "suggested": self.suggested,
        }


@dataclass
class Knowledge:
    """What is known about one contract: its fields, its critical list, what a reader default fills,
    which paths are records or arrays (handing those on is an opaque use)."""

    fields: frozenset[str] | None = None  # None: the contract is not known
    critical: frozenset[str] = frozenset()
    defaults: dict[str, str] = field(default_factory=dict)  # path -> what fills it
    structured: frozenset[str] = frozenset()
    source: str | None = None  # "registry", "model" (a pydantic contract in the scanned files), or None

    @classmethod
    def of(cls, contract: Contract) -> Knowledge:
        defaults: dict[str, str] = {}
        structured = set()
        for path, found in contract.fields.items():
            if found.has_default:
                source = _FORMATS.get(contract.format, contract.format)
                defaults[path] = f"the {source} default {_shown(found.default)}"
            try:
                node = contract.walk(parse_path(path))[-1][1]
            except ContractError:
                continue
            if node.property_names() or node.element() is not None:
                structured.add(path)
        if contract.format == "avro":
            for path, symbol in _enum_defaults(contract.schema):
                defaults.setdefault(path, f"the Avro enum default {_shown(symbol)} (for a symbol the reader lacks)")
        fields, critical = frozenset(contract.fields), frozenset(contract.critical)
        return cls(fields, critical, defaults, frozenset(structured), "registry")


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _enum_defaults(schema: Any) -> Iterator[tuple[str, str]]:
    """The paths of enum-typed fields whose enum has a ``default`` symbol, in an Avro schema."""
    names: dict[str, Any] = {}
    found: list[tuple[str, str]] = []

    def visit(node: Any, path: str, seen: frozenset[int], namespace: str) -> None:
        if isinstance(node, str):
            node = names.get(node) or names.get(f"{namespace}.{node}")
            if node is None:
                return
        if isinstance(node, list):
            for branch in node:
                visit(branch, path, seen, namespace)
            return
        if not isinstance(node, dict) or id(node) in seen:
            return
        kind = node.get("type")
        if isinstance(kind, dict | list):
            visit(kind, path, seen, namespace)
            return
        name = node.get("name")
        if isinstance(name, str) and kind in ("record", "error", "enum", "fixed"):
            namespace = node.get("namespace", namespace) if "." not in name else name.rpartition(".")[0]
            names[name] = node
            names[name if "." in name else f"{namespace}.{name}"] = node
        if kind == "enum" and "default" in node and path:
            found.append((path, str(node["default"])))
        elif kind in ("record", "error"):
            for child in node.get("fields", []):
                if isinstance(child, dict) and isinstance(child.get("name"), str):
                    inner = f"{path}.{child['name']}" if path else child["name"]
                    visit(child.get("type"), inner, seen | {id(node)}, namespace)
        elif kind == "array":
            visit(node.get("items"), path + "[]", seen, namespace)

    visit(schema, "", frozenset(), "")
    return iter(found)


def registry_for(directory: str | None) -> FileRegistry | None:
    """The contracts directory as a registry, or None when there is none to read."""
    if directory is None or not Path(directory).is_dir():
        return None
    return FileRegistry(directory)


def knowledge(registry: FileRegistry | None, ref: str | None, models: Mapping[str, set[str]]) -> Knowledge:
    """What the registry (or a pydantic model contract in the scanned files) says about ``ref``."""
    if ref is None:
        return Knowledge()
    if registry is not None:
        try:
            return Knowledge.of(registry.get(ref))
        except ContractError:
            pass
    if ref in models:
        return Knowledge(defaults={path: "the pydantic model's default" for path in models[ref]}, source="model")
    return Knowledge()


# -- findings -------------------------------------------------------------------------------------


def judge(handler: Declared, known: Knowledge) -> HandlerReport:
    """The findings for one analysed handler."""
    own = list(handler.fields or [])
    declared = set(own) | set(known.critical)
    reads = _leaves(handler.reads)
    report = HandlerReport(
        handler=handler.name,
        file=handler.file,
        line=handler.line,
        contract=handler.contract,
        declared=sorted(declared),
        reads={path: sorted({r.how for r in found}) for path, found in sorted(reads.items())},
    )
    findings = report.findings
    if handler.fields is None:
        findings.append(
            Finding("warning", "unreadable-declaration", "", handler.file, handler.line,
                    "the declared fields are not a literal list: every field read is judged as undeclared")
        )  # fmt: skip
    if handler.contract is not None and known.source is None:
        findings.append(
            Finding("info", "unknown-contract", "", handler.file, handler.line,
                    f"{handler.contract} is not in the contracts read: reader defaults were not checked")
        )  # fmt: skip
    for path, found in sorted(reads.items()):
        hows = {r.how for r in found}
        first = {how: min((r for r in found if r.how == how), key=lambda r: (r.file, r.line)) for how in hows}
        if path in declared:
            if "fallback" in hows:
                read = first["fallback"]
                findings.append(
                    Finding("info", "declared-fallback", path, read.file, read.line,
                            f"{path} is declared, so the fallback in `{read.code}` is never used")
                )  # fmt: skip
            continue
        if known.fields is not None and path not in known.fields:
            read = found[0]
            findings.append(
                Finding("warning", "unknown-field", path, read.file, read.line,
                        f"{handler.contract} has no field {path} (read in `{read.code}`)")
            )  # fmt: skip
            continue
        if "fallback" in hows:
            read = first["fallback"]
            findings.append(
                Finding("error", "undeclared-fallback", path, read.file, read.line,
                        f"{path} is read with a fallback in `{read.code}` and not declared: a message "
                        "without it is handled as if it had the fallback's value")
            )  # fmt: skip
        elif "direct" in hows and path in known.defaults:
            read = first["direct"]
            findings.append(
                Finding("error", "undeclared-default", path, read.file, read.line,
                        f"{path} is read in `{read.code}` and not declared, and {known.defaults[path]} fills "
                        "it when the writer did not send it")
            )  # fmt: skip
        elif "direct" in hows:
            read = first["direct"]
            findings.append(
                Finding("warning", "undeclared-read", path, read.file, read.line,
                        f"{path} is read in `{read.code}` and not declared")
            )  # fmt: skip
    for opaque in handler.opaque:
        where = opaque.path or "the message"
        findings.append(
            Finding("warning", "opaque", opaque.path, opaque.file, opaque.line,
                    f"{where}: {opaque.what}; the fields read there are not known")
        )  # fmt: skip
    if not handler.opaque:
        for path in sorted(declared - set(known.critical)):
            if not any(_covers(path, read) for read in reads):
                findings.append(
                    Finding("info", "declared-never-read", path, handler.file, handler.line,
                            f"{path} is declared and never read")
                )  # fmt: skip
    finish(report, handler, known, own)
    return report


def finish(report: HandlerReport, handler: Declared | None, known: Knowledge, own: list[str]) -> None:
    """Sort the findings and write the suggested declaration."""
    report.findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.file, f.line, f.kind, f.field))
    new = sorted(
        {
            f.field
            for f in report.findings
            if f.kind in ("undeclared-fallback", "undeclared-default", "undeclared-read") and f.field
        }
        - set(own)
    )
    report.fields = [*own, *new]
    report.suggested = suggestion(handler, report.contract, report.fields)


def suggestion(handler: Declared | None, contract: str | None, fields: list[str]) -> str:
    """The declaration with ``fields``, written as the handler's own (same callee, same other arguments)."""
    listed = "[" + ", ".join(json.dumps(f) for f in fields) + "]"
    call = handler.call if handler is not None else None
    if call is None or handler is None:
        return f"@requires({json.dumps(contract or 'CONTRACT')}, {listed})"
    parts: list[str] = []
    placed = False
    position = handler.fields_position
    for index, argument in enumerate(call.args):
        if index == position:
            parts.append(listed)
            placed = True
        else:
            parts.append(_source(argument))
    for keyword in call.keywords:
        if keyword.arg == "fields":
            parts.append(f"fields={listed}")
            placed = True
        elif keyword.arg is None:
            parts.append(f"**{ast.unparse(keyword.value)}")
        else:
            parts.append(f"{keyword.arg}={_source(keyword.value)}")
    if not placed:  # fields were left out: after the positional arguments, by position when it fits
        by_position = position is not None and position == len(call.args)
        parts.insert(len(call.args), listed if by_position else f"fields={listed}")
    text = f"{handler.decorator}({', '.join(parts)})"
    return "@" + text if handler.role == "consumer" and handler.guard is None else text


def _source(node: ast.expr) -> str:
    """An argument as source, strings in double quotes as the project writes them."""
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
    if text is not None and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return ast.unparse(node)


def _leaves(reads: list[Read]) -> dict[str, list[Read]]:
    """The reads by path, without the paths read only on the way to a deeper one."""
    by_path: dict[str, list[Read]] = {}
    for read in reads:
        by_path.setdefault(read.path, []).append(read)
    return {
        path: found
        for path, found in by_path.items()
        if not any(other != path and _covers(path, other) for other in by_path)
    }


def _covers(path: str, deeper: str) -> bool:
    return deeper == path or deeper.startswith((path + ".", path + "["))


# -- what the tests saw ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    handler: str
    contract: str
    declared: tuple[str, ...]
    read: tuple[str, ...]
    read_with_fallback: tuple[str, ...]


def load_reads(path: str) -> list[Seen]:
    """The recorder's report (``pytest --syscontract-reads=PATH``); anything else is an input error."""

    def bad(why: str) -> ContractDeclarationError:
        return ContractDeclarationError(f"{path}: not a reads report ({why})", reason="bad-reads")

    try:
        with open(path, encoding="utf-8") as file:
            body = json.load(file)
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from exc
    except (ValueError, RecursionError) as exc:
        raise bad(" ".join(str(exc).split())[:120] or "not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("handlers"), list):
        raise bad('expected {"handlers": [...]}')
    seen = []
    for index, entry in enumerate(body["handlers"]):
        if not isinstance(entry, dict):
            raise bad(f"handlers[{index}] is not an object")
        texts = {}
        for key in ("handler", "contract"):
            if not isinstance(entry.get(key), str):
                raise bad(f"handlers[{index}].{key} is not a string")
            texts[key] = entry[key]
        lists = {}
        for key in ("declared", "read", "read_with_fallback"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(f"handlers[{index}].{key} is not a list of strings")
            lists[key] = tuple(value)
        seen.append(Seen(texts["handler"], texts["contract"], lists["declared"], lists["read"],
                         lists["read_with_fallback"]))  # fmt: skip
    return seen


def merge(reports: list[HandlerReport], seen: list[Seen], handlers: Mapping[str, Declared]) -> list[HandlerReport]:
    """Add what the tests saw: a fallback the tests saw on an undeclared field is an error, found
    statically or not."""
    by_name = {(r.handler, r.contract): r for r in reports}
    for evidence in seen:
        report = by_name.get((evidence.handler, evidence.contract))
        if report is None:
            report = HandlerReport(evidence.handler, "", 0, evidence.contract, sorted(evidence.declared), {})
            reports.append(report)
            by_name[(evidence.handler, evidence.contract)] = report
        declared = set(report.declared) | set(evidence.declared)
        static = {(f.kind, f.field): f for f in report.findings}
        for path in sorted(set(evidence.read) | set(evidence.read_with_fallback)):
            report.reads.setdefault(path, [])
            how = "fallback" if path in evidence.read_with_fallback else "direct"
            tag = f"{how} (seen in tests)"
            if tag not in report.reads[path]:
                report.reads[path] = sorted([*report.reads[path], tag])
            if path in declared:
                continue
            if how == "fallback":
                found = static.get(("undeclared-fallback", path))
                if found is not None:
                    report.findings.remove(found)
                    report.findings.append(
                        Finding(found.severity, found.kind, path, found.file, found.line,
                                found.message + "; seen in tests too")
                    )  # fmt: skip
                    continue
                for kind in ("undeclared-read", "undeclared-default"):
                    replaced = static.get((kind, path))
                    if replaced is not None:
                        report.findings.remove(replaced)
                report.findings.append(
                    Finding("error", "undeclared-fallback", path, report.file, report.line,
                            f"{path} was read with a fallback, seen in tests, and is not declared")
                )  # fmt: skip
            elif not any(kind in static for kind in (("undeclared-read", path), ("undeclared-default", path))):
                if ("undeclared-fallback", path) in static:
                    continue
                report.findings.append(
                    Finding("warning", "undeclared-read", path, report.file, report.line,
                            f"{path} was read, seen in tests, and is not declared")
                )  # fmt: skip
        handler = handlers.get(report.handler)
        own = list(handler.fields or []) if handler is not None else sorted(evidence.declared)
        finish(report, handler, Knowledge(), own)
    reports.sort(key=lambda r: (r.file == "", r.file, r.line, r.handler))
    return reports
