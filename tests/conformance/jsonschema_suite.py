"""The official JSON Schema Test Suite, as syscontract's conformance tests and the closing table read it.

``tests/data/jsonschema/`` holds the suite's draft 7 and 2020-12 directories (required tests and
``optional/format``) and its ``remotes/`` (origin and licence: ``tests/data/SOURCES.md``). Every
case goes through ``Contract.from_jsonschema`` (as in production) with a reference hook that maps
``http://localhost:1234/`` to ``remotes/`` (never fetched), then through ``syscontract.check(...,
validate="full")`` with the datum as JSON bytes. ``optional/format`` cases run with ``format``
asserted (the contract's opt-in), the others as the draft says.

``python tests/conformance/jsonschema_suite.py`` prints the table (draft, cases, right, refused at load,
wrong, jsonschema-rs alone right) and the cases of :data:`SKIPPED` it met.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs

SUITE = Path(__file__).resolve().parent.parent / "data" / "jsonschema"
REMOTES = SUITE / "remotes"
REMOTE_BASE = "http://localhost:1234/"
DRAFTS = ("draft7", "draft2020-12")
DIALECTS = {"draft7": "http://json-schema.org/draft-07/schema#", "draft2020-12": None}

# The one skip list: (draft, file, group description, test description) -> why the case's verdict is
# not the suite's. jsonschema-rs alone gives the same verdict on every one of them.
SKIPPED: dict[tuple[str, str, str, str], str] = {}


@dataclass(frozen=True)
class Case:
    draft: str
    file: str  # relative to the draft directory: "type.json", "optional/format/email.json"
    group: str
    test: str
    schema: Any
    data: Any
    valid: bool

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.draft, self.file, self.group, self.test)

    @property
    def asserts_format(self) -> bool | None:
        return True if self.file.startswith("optional/format/") else None

    @property
    def id(self) -> str:
        return f"{self.draft}/{self.file}/{self.group}/{self.test}"


def remote(uri: str) -> Any:
    """The suite's reference hook: ``http://localhost:1234/...`` from ``remotes/``; nothing else."""
    from syscontract import ContractDeclarationError

    if uri.startswith(REMOTE_BASE):
        path = (REMOTES / uri[len(REMOTE_BASE) :].split("#")[0]).resolve()
        if REMOTES in path.parents and path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise ContractDeclarationError(f"{uri!r} is not one of the suite's remotes", reason="bad-reference")


def with_dialect(draft: str, schema: Any) -> Any:
    """Draft 7 suite files omit ``$schema``; say it, so draft 7 rules apply."""
    dialect = DIALECTS[draft]
    if dialect is not None and isinstance(schema, dict) and "$schema" not in schema:
        return {"$schema": dialect, **schema}
    return schema


def files(draft: str) -> Iterator[tuple[str, Path]]:
    root = SUITE / draft
    for path in sorted(root.glob("*.json")):
        yield path.name, path
    for path in sorted((root / "optional" / "format").glob("*.json")):
        yield f"optional/format/{path.name}", path


def cases(draft: str | None = None) -> list[Case]:
    found = []
    for each in DRAFTS if draft is None else (draft,):
        for name, path in files(each):
            for group in json.loads(path.read_text(encoding="utf-8")):
                schema = with_dialect(each, group["schema"])
                for test in group["tests"]:
                    found.append(
                        Case(each, name, group["description"], test["description"], schema, test["data"], test["valid"])
                    )
    return found


def contract_for(case: Case) -> Any:
    from syscontract import Contract

    return Contract.from_jsonschema("suite.v1", case.schema, references=remote, assert_format=case.asserts_format)


def syscontract_verdict(case: Case) -> bool | None:
    """True/False as ``check(..., validate="full")`` decides on the datum's JSON bytes; None when the
    schema was refused at load."""
    import syscontract
    from syscontract import ContractDeclarationError, ContractViolation

    try:
        contract = contract_for(case)
    except ContractDeclarationError:
        return None
    raw = json.dumps(case.data).encode()
    try:
        syscontract.check(contract, raw, validate="full")
    except ContractViolation:
        return False
    return True


def rs_verdict(case: Case) -> bool:
    """jsonschema-rs alone, with the same remotes and format option."""

    def retrieve(uri: str) -> Any:
        return remote(uri)

    validator = jsonschema_rs.validator_for(case.schema, retriever=retrieve, validate_formats=case.asserts_format)
    return bool(validator.is_valid(case.data))


def table() -> list[dict[str, Any]]:
    """One row per draft and part (required tests, ``optional/format``), then the draft's total."""
    rows = []
    for draft in DRAFTS:
        parts: dict[str, dict[str, Any]] = {}
        for case in cases(draft):
            part = "optional/format" if case.file.startswith("optional/") else "required"
            for label in (part, "all"):
                counts = parts.setdefault(
                    label,
                    {"draft": draft, "part": label, "cases": 0, "right": 0, "refused": 0, "wrong": 0, "rs_right": 0,
                     "skipped": 0},
                )  # fmt: skip
                counts["cases"] += 1
            ours = syscontract_verdict(case)
            rs_right = False
            with contextlib.suppress(Exception):  # jsonschema-rs refusing a schema counts as not right
                rs_right = rs_verdict(case) == case.valid
            for label in (part, "all"):
                counts = parts[label]
                if ours is None:
                    counts["refused"] += 1
                elif ours == case.valid:
                    counts["right"] += 1
                else:
                    counts["wrong"] += 1
                    counts["skipped"] += case.key in SKIPPED
                counts["rs_right"] += rs_right
        rows += [parts["required"], parts["optional/format"], parts["all"]]
    return rows


def main() -> None:
    print("| draft | tests | cases | syscontract right | refused at load | wrong | of which skipped |", end="")
    print(" jsonschema-rs right |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in table():
        print(
            f"| {row['draft']} | {row['part']} | {row['cases']} | {row['right']} | {row['refused']} | {row['wrong']} | "
            f"{row['skipped']} | {row['rs_right']} |"
        )
    for key, why in SKIPPED.items():
        print(f"skipped: {' / '.join(key)}: {why}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
