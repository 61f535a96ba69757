"""``syscontract init NAME``: a first contract (or its next version) from sample messages.

::

    syscontract init order --from samples/*.json           # contracts/order/v1.schema.json + contract.toml
    syscontract init order --from samples/*.json --avro    # contracts/order/v1.avsc
    cat new-samples.jsonl | syscontract init order          # next version: v2, and what changed (compat)

Samples are JSON objects: files holding one object, an array of objects, or JSON lines (``--from``), or
JSON lines on standard input, nested at most 100 levels. Fields present in every sample are required;
the ``@requires`` line to paste lists those every sample sent non-null, each as a Python string that
names it exactly: a key no field path can name (empty, or holding ``.``, ``[`` or ``]``) is listed
after the line instead, with why. On an existing contract, the next version is written when
it may follow the latest one under the contract's compatibility mode (``--force`` writes it anyway).
Exit 0 written (or nothing changed), 1 the new version would break compatibility, 2 a usage or input
error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from syscontract import _infer
from syscontract.compat import compare
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError
from syscontract.registry import FileRegistry

from .compat import render_text

__all__ = ["add_parser", "run"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # one directory under the contracts root, never outside

_TOML = """\
# Settings of the {name} contract: every key is described in the syscontract docs (docs/reference.md).
# compatibility: how each new version must relate to the previous ones (checked by `syscontract check`).
compatibility = "BACKWARD"
# critical: fields every consumer of {name} needs, checked for every @requires in addition to its own:
# critical = [{critical}]
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare the ``init`` command."""
    command: argparse.ArgumentParser = commands.add_parser(
        "init",
        help="create a contract (or its next version) from sample messages",
        description="Infer a contract from sample messages (JSON Schema, or Avro with --avro) and write it to the "
        "contracts directory: version 1 with a contract.toml, or the next version of an existing contract, with "
        "what changed.",
    )
    command.add_argument("name", metavar="NAME", help="the contract's name, e.g. order (or com.acme.order)")
    command.add_argument(
        "--from",
        dest="sources",
        nargs="+",
        default=[],
        metavar="FILE",
        help="sample files: a JSON object, an array of objects, or JSON lines (default: JSON lines on stdin)",
    )
    command.add_argument("--avro", action="store_true", help="write an Avro schema (.avsc) instead of JSON Schema")
    command.add_argument("--contracts", default="contracts", metavar="DIR", help="default: ./contracts")
    command.add_argument(
        "--force", action="store_true", help="write the next version even when it breaks compatibility"
    )
    return command


def run(args: argparse.Namespace) -> int:
    """Infer, write, report; the exit code as the module says."""
    if not _NAME.match(args.name) or ".." in args.name:
        raise ContractDeclarationError(
            f"{args.name!r} is not a contract name: letters, digits, '_', '-' and '.', such as order or com.acme.order",
            reason="bad-reference",
        )
    ContractRef.parse(f"{args.name}.v1")  # a name a reference can carry, or a usage error naming the form
    samples = _infer.load_samples(_texts(args.sources))
    root = Path(args.contracts)
    directory = root / args.name
    registry = FileRegistry(root)
    existing = registry.versions(args.name) if directory.is_dir() else []
    version = (existing[-1] + 1) if existing else 1
    previous = registry.get(ContractRef(args.name, existing[-1])) if existing else None
    avro = args.avro or (previous is not None and previous.format == "avro")
    inferred = _infer.to_jsonschema(samples, args.name)
    schema = _infer.to_avro(inferred, args.name) if avro else inferred
    ref = ContractRef(args.name, version)
    new = Contract.from_avro(ref, schema) if avro else Contract.from_jsonschema(ref, schema)
    candidates = _infer.critical_candidates(inferred)
    fields = candidates.fields
    if previous is not None and previous.fingerprint == _as(previous, schema, avro).fingerprint:
        print(f"{previous.ref}: the samples match it; nothing written")
        return 0
    if previous is not None:
        mode = previous.compatibility or "BACKWARD"
        result = compare(new, previous, mode)
        sys.stdout.write(_changes(previous, new))
        sys.stdout.write(render_text(result, str(previous.ref), str(ref)))
        if not result.compatible and not args.force:
            print(f"not written: {ref} would break {mode} compatibility (--force writes it anyway)", file=sys.stderr)
            return 1
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (f"v{version}.avsc" if avro else f"v{version}.schema.json")
    target.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    written = [str(target)]
    toml = directory / "contract.toml"
    if not toml.exists():
        critical = ", ".join(_toml_string(path) for path in fields[:3])
        toml.write_text(_TOML.format(name=args.name, critical=critical), encoding="utf-8")
        written.append(str(toml))
    count = len(samples)
    print(f"wrote {' and '.join(written)} from {count} sample{'s' if count != 1 else ''}")
    print(f"required (in every sample): {', '.join(map(_shown, inferred.get('required', []))) or 'none'}")
    print("paste on the handler, keeping the fields it depends on:")
    print(f"    @requires(contract={_python_string(str(ref))}, fields=[{', '.join(map(_python_string, fields))}])")
    if candidates.unnamed:
        print("left out of that line: no field path names these keys (paths join names with '.', '[]' marks arrays)")
        for chain, why in candidates.unnamed:
            print(f"    [{', '.join(map(_python_string, chain))}]: {why}")
    return 0


def _python_string(text: str) -> str:
    """``text`` as a double-quoted Python string literal that reads back as exactly ``text``, on one
    line: printable characters as they are, the rest escaped (JSON's escapes would not do: Python reads
    JSON's pair ``\\ud83d\\ude00`` as two lone surrogates, not as the one character JSON means)."""
    return '"' + "".join(_python_char(char) for char in text) + '"'


def _python_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    return char if char.isprintable() else ascii(char)[1:-1]  # \n, \x00, \u2028, \U000e0001


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string in ASCII (contract.toml's commented ``critical`` line)."""
    return '"' + "".join(_toml_char(char) for char in text) + '"'


def _toml_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if " " <= char <= "~":
        return char
    return f"\\u{ord(char):04X}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08X}"


def _shown(name: str) -> str:
    """A key as the ``required`` line shows it: as it is when that cannot be misread, else quoted."""
    plain = name.isprintable() and name != "" and not any(char in name for char in " ,\"'\\")
    return name if plain else _python_string(name)


def _texts(sources: list[str]) -> list[tuple[str, str]]:
    if not sources:
        if sys.stdin is None or sys.stdin.isatty():
            raise ContractDeclarationError(
                "no sample messages: give files with --from, or JSON lines on standard input", reason="bad-sample"
            )
        return [("<stdin>", sys.stdin.read())]
    texts = []
    for source in sources:
        try:
            texts.append((source, Path(source).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ContractDeclarationError(f"cannot read sample file {source!r}: {exc}", reason="bad-file") from exc
    return texts


def _as(previous: Contract, schema: Any, avro: bool) -> Contract:
    """``schema`` as a contract under the previous version's reference, to compare fingerprints."""
    try:
        return Contract.from_avro(previous.ref, schema) if avro else Contract.from_jsonschema(previous.ref, schema)
    except ContractError:  # pragma: no cover - the same schema parsed once already
        return previous


def _changes(old: Contract, new: Contract) -> str:
    """Fields added, removed, or whose type or requirement changed, one line each."""
    before, after = old.fields, new.fields
    lines = []
    for path in sorted(set(after) - set(before)):
        lines.append(f"  + {path}: {after[path].type}{'' if after[path].required else ' (optional)'}")
    for path in sorted(set(before) - set(after)):
        lines.append(f"  - {path}")
    for path in sorted(set(before) & set(after)):
        was, now = before[path], after[path]
        if (was.type, was.required) != (now.type, now.required):
            lines.append(
                f"  ~ {path}: {was.type}{'' if was.required else ' (optional)'} -> "
                f"{now.type}{'' if now.required else ' (optional)'}"
            )
    heading = f"{new.ref} from {old.ref}: {len(lines)} field change{'s' if len(lines) != 1 else ''}\n"
    return heading + "".join(line + "\n" for line in lines)
