"""Manifests: what one service produces and requires, in one environment, as a plain file.

A pipeline writes one per service and environment (``deployments/prod/pricing.json``) with
``syscontract inventory``; ``syscontract drift`` and ``can-deploy`` read them. A manifest carries the
schema of every contract version it names, so the checks need no registry, broker or server.

Format (version 1, described by ``docs/manifest.schema.json``)::

    {
      "manifest": "syscontract/1",
      "service": "pricing",
      "environment": "prod",
      "syscontract": "0.1.0",
      "declarations": [
        {"role": "consumer", "contract": "order.v3", "handler": "pricing.handlers.on_order",
         "fields": ["customerTier", "customer.id"]}
      ],
      "contracts": {
        "order.v3": {"format": "avro", "fingerprint": "9f2c...", "critical": [], "compatibility": "BACKWARD",
                     "schema": {...}}
      }
    }
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from syscontract._version import __version__
from syscontract.contract import Contract, ContractRef, parse_path
from syscontract.errors import ContractDeclarationError, ContractError, ManifestError

__all__ = [
    "FORMAT",
    "MAX_MANIFEST_BYTES",
    "Entry",
    "Manifest",
    "ManifestError",
    "build",
    "dumps",
    "load",
    "load_all",
    "looks_like_manifest",
    "manifest_files",
]

FORMAT = "syscontract/1"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
ROLES = ("consumer", "producer")


@dataclass(frozen=True)
class Entry:
    """One declaration in a manifest."""

    role: str
    contract: ContractRef
    handler: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    """A service's declarations in one environment, with the contracts they name."""

    service: str
    environment: str
    declarations: tuple[Entry, ...]
    contracts: Mapping[ContractRef, Contract]
    source: str = "<memory>"

    def critical(self, entry: Entry) -> tuple[str, ...]:
        """The fields a consumer entry depends on: its own and its contract version's ``critical``."""
        own = self.contracts[entry.contract].critical
        return tuple(dict.fromkeys([*entry.fields, *own]))

    def to_json(self) -> dict[str, Any]:
        """The manifest as the JSON object written to disk."""
        return {
            "manifest": FORMAT,
            "service": self.service,
            "environment": self.environment,
            "syscontract": __version__,
            "declarations": [
                {"role": e.role, "contract": str(e.contract), "handler": e.handler, "fields": list(e.fields)}
                for e in self.declarations
            ],
            "contracts": {
                str(ref): {
                    "format": contract.format,
                    "fingerprint": contract.fingerprint,
                    "critical": list(contract.critical),
                    "compatibility": contract.compatibility,
                    "schema": contract.model.model_json_schema() if contract.model is not None else contract.schema,
                }
                for ref, contract in sorted(self.contracts.items())
            },
        }


def dumps(value: Any) -> str:
    """``value`` (a manifest's :meth:`Manifest.to_json`, or any command's JSON output) as text that is
    the same bytes on every run and under every hash seed: sorted keys, two-space indent, a final newline."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def build(
    declarations: Iterable[Any], *, service: str, environment: str, contracts: Mapping[ContractRef, Contract]
) -> Manifest:
    """A manifest from resolved declarations (objects with ``role``, ``ref``, ``name``, ``fields``)."""
    entries = []
    for declaration in declarations:
        fields = tuple(getattr(f, "text", f) for f in declaration.fields)
        entries.append(Entry(declaration.role, declaration.ref, declaration.name, fields))
    entries.sort(key=lambda e: (e.role, str(e.contract), e.handler))
    return Manifest(service, environment, tuple(entries), dict(contracts))


def load(path: str | Path) -> Manifest:
    """Read and validate one manifest file; :class:`ManifestError` names the file and the problem."""
    where = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{where}: {size} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have")
        data = orjson.loads(
            Path(path).read_text(encoding="utf-8")
        )  # refuses lone surrogates, which no output can write
    except ManifestError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{where}: cannot read: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"{where}: not valid JSON: {exc}") from exc
    try:
        return parse(data, where)
    except RecursionError as exc:  # a schema nested deeper than anything a contract needs
        raise ManifestError(f"{where}: nested too deeply to be a manifest") from exc


def load_all(paths: Iterable[str | Path]) -> list[Manifest]:
    """Manifests from files and directories (every manifest below a directory: see :func:`manifest_files`).
    A directory that holds none is a :class:`ManifestError`: a gate must not judge an environment it cannot
    see. A file reached twice (given twice, or through a link) is read once."""
    found: list[Manifest] = []
    seen: set[tuple[int, int]] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files = manifest_files(path)
            if not files:
                raise ManifestError(f"{path}: no manifest (*.json) in this directory")
        else:
            files = [path]
        for file in files:
            identity = _identity(file)
            if identity is not None and identity in seen:
                continue
            if identity is not None:
                seen.add(identity)
            found.append(load(file))
    return found


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None  # load() says why it cannot be read
    return info.st_dev, info.st_ino


def looks_like_manifest(name: str) -> bool:
    """Whether an entry of a manifest directory is taken for a manifest: its name ends in ``.json``, in
    any case (``pricing.json``, ``pricing.JSON``). ``syscontract inventory`` writes manifests so; any other
    name (``README.md``, ``CODEOWNERS``, ``.gitkeep``) is something else that lives beside them."""
    return name.lower().endswith(".json")


def manifest_files(directory: str | Path) -> list[Path]:
    """Every manifest below ``directory``, in a stable order (by path, directories followed in name order).

    Symbolic links are followed, to files and to directories; each directory is read once, so a link
    back up the tree is no loop. Nothing that may hold a manifest is skipped in silence: an entry
    that looks like a manifest (:func:`looks_like_manifest`) but is not a regular file (a dangling link,
    a link loop, a fifo), an entry whose kind cannot be told at all (a dangling link, whatever its
    name: it may have pointed at a directory of manifests), and a directory that cannot be listed are
    each a :class:`ManifestError` naming the path. The one thing passed over is what is known not to
    be a manifest: an entry that is not a directory and whose name does not look like one."""
    root = Path(directory)
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        here = stack.pop()
        try:
            info = here.stat()
        except OSError as exc:
            raise ManifestError(f"{here}: cannot read this directory: {_why(exc)}") from exc
        if (info.st_dev, info.st_ino) in visited:
            continue  # reached again through a link: already read
        visited.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(here) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            raise ManifestError(f"{here}: cannot list this directory: {_why(exc)}") from exc
        below = []
        for name in names:
            path = here / name
            try:
                mode = path.stat().st_mode  # follows links
            except OSError as exc:
                what = "looks like a manifest, but cannot be read" if looks_like_manifest(name) else (
                    "cannot tell what this is (it may be a directory of manifests)")  # fmt: skip
                raise ManifestError(f"{path}: {what}: {_why(exc)}") from exc
            if stat.S_ISDIR(mode):
                below.append(path)
            elif looks_like_manifest(name):
                if not stat.S_ISREG(mode):
                    raise ManifestError(f"{path}: looks like a manifest, but is not a regular file")
                found.append(path)
        stack.extend(reversed(below))
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "a dangling symbolic link" if os.path.islink(exc.filename or "") else "no such file or directory"
    return exc.strerror or str(exc)


def parse(data: Any, where: str = "<manifest>") -> Manifest:
    """A manifest from its JSON value."""

    def fail(detail: str) -> ManifestError:
        return ManifestError(f"{where}: {detail}")

    if not isinstance(data, dict):
        raise fail(f"a manifest is a JSON object, not {type(data).__name__}")
    _known(data, _TOP, "the manifest", fail)
    if data.get("manifest") != FORMAT:
        raise fail(
            f"'manifest' must be {FORMAT!r} (this syscontract reads manifest format 1), not {data.get('manifest')!r}"
        )
    for key in ("service", "environment"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail(f"'{key}' must be a non-empty string")
    declarations = data.get("declarations")
    contracts = data.get("contracts")
    if not isinstance(declarations, list):
        raise fail("'declarations' must be a list")
    if not isinstance(contracts, dict):
        raise fail("'contracts' must be an object mapping references to their schemas")
    parsed: dict[ContractRef, Contract] = {}
    for text, body in contracts.items():
        parsed[_ref(text, fail)] = _contract(text, body, fail)
    entries = []
    for index, item in enumerate(declarations):
        if not isinstance(item, dict):
            raise fail(f"declarations[{index}] must be an object")
        _known(item, _DECLARATION, f"declarations[{index}]", fail)
        role, handler, fields = item.get("role"), item.get("handler"), item.get("fields", [])
        if role not in ROLES:
            raise fail(f"declarations[{index}].role must be 'consumer' or 'producer', not {role!r}")
        if not isinstance(handler, str):
            raise fail(f"declarations[{index}].handler must be a string")
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise fail(f"declarations[{index}].fields must be a list of field paths")
        ref = _ref(item.get("contract"), fail)
        if ref not in parsed:
            raise fail(f"declarations[{index}] names {ref}, which 'contracts' does not describe")
        try:
            for path in fields:
                parsed[ref].field(parse_path(path))
        except ContractError as exc:
            raise fail(f"declarations[{index}]: {exc}") from exc
        entries.append(Entry(role, ref, handler, tuple(fields)))
    return Manifest(data["service"], data["environment"], tuple(entries), parsed, where)


_TOP = {"manifest", "service", "environment", "syscontract", "declarations", "contracts"}
_DECLARATION = {"role", "contract", "handler", "fields"}
_CONTRACT = {"format", "fingerprint", "critical", "compatibility", "schema"}


def _known(item: dict[str, Any], keys: set[str], where: str, fail: Any) -> None:
    unknown = sorted(set(item) - keys)
    if unknown:
        raise fail(f"{where} has unknown key {unknown[0]!r} (written by a newer syscontract?)")


def _ref(text: Any, fail: Any) -> ContractRef:
    try:
        return ContractRef.parse(text)
    except ContractDeclarationError as exc:
        raise fail(exc.detail) from exc


def _contract(text: str, body: Any, fail: Any) -> Contract:
    if not isinstance(body, dict) or "schema" not in body:
        raise fail(f"contracts[{text!r}] must be an object with 'format' and 'schema'")
    _known(body, _CONTRACT, f"contracts[{text!r}]", fail)
    critical = body.get("critical") or []
    if not isinstance(critical, list) or not all(isinstance(c, str) for c in critical):
        raise fail(f"contracts[{text!r}].critical must be a list of field paths")
    options = {"critical": critical, "compatibility": body.get("compatibility")}
    try:
        if body.get("format") == "avro":
            return Contract.from_avro(text, body["schema"], **options)
        if body.get("format") == "jsonschema":
            return Contract.from_jsonschema(text, body["schema"], **options)
        if body.get("format") == "protobuf":  # the message's name and its files, as Contract.schema holds them
            return Contract.from_protobuf(text, body["schema"], **options)
        if body.get("format") == "pydantic":  # the model's JSON Schema, read as the model would be
            return Contract.from_jsonschema(
                text, body["schema"], annotations_only=True, required_means_no_default=True, **options
            )
    except (ContractError, RecursionError) as exc:
        raise fail(f"contracts[{text!r}]: {exc}") from exc
    raise fail(
        f"contracts[{text!r}].format must be 'avro', 'jsonschema', 'protobuf' or 'pydantic', not {body.get('format')!r}"
    )
