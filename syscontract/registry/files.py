"""The embedded default registry: contracts as files in a directory.

::

    contracts/
      order/
        contract.toml      optional: compatibility, critical, owner, doc, format ("assert"/"annotate"),
                           default_draft (the draft of a JSON Schema without $schema), message and
                           presence (protobuf)
        v1.avsc  v2.avsc  v3.avsc        Avro
        v4.schema.json                   or JSON Schema
        v5.binpb                         or Protobuf: a FileDescriptorSet (buf build -o, protoc
                                         --descriptor_set_out --include_imports)
        v6.proto                         or .proto source, compiled by grpcio-tools' protoc (extra
                                         protobuf-compiler); its imports resolve inside the root only

Contracts are loaded when first asked for and kept. A contract name is one directory below the
root; a name or file that would leave the root (``..``, an absolute path, a symlink out) is refused.
A JSON Schema may ``$ref`` another file under the root (relative to itself) or the ``$id`` of another
schema here; nothing else, and never the network.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from syscontract.contract import COMPATIBILITY_MODES, Contract, ContractRef, parse_path
from syscontract.errors import ContractDeclarationError, ContractError, RegistryError
from syscontract.registry._changes import changed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["MAX_FILE_BYTES", "FileRegistry"]

MAX_FILE_BYTES = 8 * 1024 * 1024
"""A contract file larger than this is refused rather than read."""

_VERSION_FILE = re.compile(r"^v(?P<version>0|[1-9][0-9]{0,8})\.(?P<ext>avsc|schema\.json|binpb|proto)$")
_LOOKS_LIKE_VERSION = re.compile(r"^v[0-9]+\.")
_TOML_KEYS = {
    "compatibility",
    "critical",
    "owner",
    "doc",
    "ids",
    "guids",
    "retired",
    "format",
    "default_draft",
    "message",
    "presence",
}
_FORMAT_MODES = {"assert": True, "annotate": False}
_RESCAN_SECONDS = 10.0


class FileRegistry:
    """Contracts read from ``path`` (the layout above). ``FileRegistry("contracts")``.

    Writers are found by schema id or GUID (``[ids]``/``[guids]`` tables in ``contract.toml``, mapping
    ``v2 = 7``) and by the CRC-64-AVRO fingerprint of every ``.avsc`` file. ``default_draft``: the
    draft of a JSON Schema without ``$schema`` (``draft7``, ...; None: 2020-12), unless its
    ``contract.toml`` says ``default_draft``.
    """

    def __init__(self, path: str | os.PathLike[str], *, default_draft: str | None = None) -> None:
        from syscontract.formats.jsonschema import check_draft

        self.path = Path(path)
        self.default_draft = None if default_draft is None else check_draft(default_draft, "default_draft")
        self._contracts: dict[ContractRef, Contract] = {}
        self._settings: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._index: dict[object, ContractRef] | None = None
        self._ids: dict[str, Any] | None = None
        self._indexed_at = 0.0

    def __repr__(self) -> str:
        return f"FileRegistry({str(self.path)!r})"

    def get(self, ref: ContractRef | str) -> Contract:
        parsed = ContractRef.parse(ref)
        found = self._contracts.get(parsed)
        if found is not None:
            return found
        with self._lock:
            found = self._contracts.get(parsed)
            if found is None:
                found = self._load(parsed)
                self._contracts[parsed] = found
            return found

    def versions(self, name: str) -> list[int]:
        return sorted(self._version_files(name))

    def names(self) -> list[str]:
        root = self._root()
        return sorted(
            entry.name
            for entry in root.iterdir()
            if entry.is_dir() and self._inside(entry) and self._version_files_in(entry, entry.name)
        )

    def retired(self, name: str) -> list[int]:
        """Versions ``contract.toml`` lists as ``retired``: no producer sends them any more."""
        return sorted(int(v[1:]) for v in self._settings_for(name).get("retired", []))

    def id_of(self, ref: ContractRef | str) -> int:
        """The schema id ``contract.toml`` maps this version to (for Confluent framing when producing)."""
        parsed = ContractRef.parse(ref)
        ids = self._settings_for(parsed.name).get("ids", {})
        if f"v{parsed.version}" not in ids:
            raise RegistryError(
                f"no schema id for this version: add it to the [ids] table of {parsed.name}/contract.toml",
                contract=str(parsed),
                reason="unknown-schema",
            )
        return int(ids[f"v{parsed.version}"])

    def by_id(self, schema_id: int) -> Contract:
        """The contract version whose ``contract.toml`` maps it to ``schema_id``."""
        return self._by(("id", schema_id), f"schema id {schema_id}")

    def by_guid(self, guid: uuid.UUID) -> Contract:
        """The contract version whose ``contract.toml`` maps it to schema GUID ``guid``."""
        return self._by(("guid", guid), f"schema GUID {guid}")

    def by_fingerprint(self, fingerprint: bytes) -> Contract:
        """The Avro contract version whose CRC-64-AVRO fingerprint (8 little-endian bytes) this is."""
        return self._by(("fingerprint", bytes(fingerprint)), f"fingerprint {bytes(fingerprint).hex()}")

    def _by(self, key: tuple[str, object], label: str) -> Contract:
        index = self._index
        if index is None or (key not in index and time.monotonic() - self._indexed_at > _RESCAN_SECONDS):
            index = self._build_index()  # new files may have appeared; at most every few seconds
        ref = index.get(key)
        if ref is None:
            raise RegistryError(
                f"no contract in {str(self.path)!r} has {label}{_ways_out(key[0], key[1], str(self.path))}",
                reason="unknown-schema",
            )
        return self.get(ref)

    def _build_index(self) -> dict[object, ContractRef]:
        with self._lock:
            index: dict[object, ContractRef] = {}
            for name in self.names():
                settings = self._settings_for(name)
                for table, kind in (("ids", "id"), ("guids", "guid")):
                    for version_key, value in settings.get(table, {}).items():
                        key = (kind, value if kind == "id" else uuid.UUID(value))
                        ref = ContractRef(name, int(version_key[1:]))
                        if index.get(key, ref) != ref:
                            raise RegistryError(
                                f"{kind} {value} is mapped to both {index[key]} and {ref}", reason="bad-file"
                            )
                        index[key] = ref
                for version, file in self._version_files(name).items():
                    if file.name.endswith(".avsc"):
                        fingerprint = self.get(ContractRef(name, version)).avro_fingerprint
                        index.setdefault(("fingerprint", fingerprint), ContractRef(name, version))
            previous, self._index = self._index, index
            self._indexed_at = time.monotonic()
        if previous is not None and any(index.get(key, ref) != ref for key, ref in previous.items()):
            changed()  # a key now names another writer: forget every plan built from the old one
        return index

    def _root(self) -> Path:
        if not self.path.is_dir():
            where = os.path.abspath(self.path)
            shown = repr(str(self.path)) if str(self.path) == where else f"{str(self.path)!r} ({where})"
            raise RegistryError(
                f"contracts directory {shown} does not exist (create it, set SYSCONTRACT_CONTRACTS, "
                "or call syscontract.configure(registry=...))",
                reason="no-registry",
            )
        return self.path.resolve()

    def _inside(self, candidate: Path) -> bool:
        try:
            return candidate.resolve().is_relative_to(self._root())
        except (OSError, RuntimeError):  # a symlink loop
            return False

    def _directory(self, name: str) -> Path:
        if (
            not name
            or name in (".", "..")
            or name.startswith(".")
            or any(sep in name for sep in ("/", "\\", "\0"))
            or os.path.isabs(name)
        ):
            raise RegistryError(
                f"contract name {name!r} is not a single directory name inside {str(self.path)!r}; refused",
                contract=name,
                reason="outside-registry",
            )
        directory = self._root() / name
        if directory.exists() and not self._inside(directory):
            raise RegistryError(
                f"contract directory {str(directory)!r} leads outside the registry {str(self.path)!r}; refused",
                contract=name,
                reason="outside-registry",
            )
        return directory

    def _version_files(self, name: str) -> dict[int, Path]:
        return self._version_files_in(self._directory(name), name)

    def _version_files_in(self, directory: Path, name: str) -> dict[int, Path]:
        if not directory.is_dir():
            return {}
        found: dict[int, Path] = {}
        for entry in sorted(directory.iterdir()):
            match = _VERSION_FILE.match(entry.name)
            if match is None:
                if _LOOKS_LIKE_VERSION.match(entry.name):
                    raise RegistryError(
                        f"{str(entry)!r}: a version file must end in .avsc (Avro), .schema.json (JSON Schema), "
                        ".binpb or .proto (Protobuf)",
                        contract=name,
                        reason="bad-file",
                    )
                continue
            version = int(match["version"])
            if version in found:
                raise RegistryError(
                    f"two files define version {version}: {found[version].name} and {entry.name}",
                    contract=f"{name}.v{version}",
                    reason="bad-file",
                )
            if not self._inside(entry):
                raise RegistryError(
                    f"{str(entry)!r} leads outside the registry {str(self.path)!r}; refused",
                    contract=f"{name}.v{version}",
                    reason="outside-registry",
                )
            found[version] = entry
        return found

    def _read(self, path: Path, ref: str) -> str:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise RegistryError(
                    f"{str(path)!r} is {size} bytes, more than the {MAX_FILE_BYTES} a contract file may have",
                    contract=ref,
                    reason="bad-file",
                )
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"cannot read {str(path)!r}: {exc}", contract=ref, reason="bad-file") from exc

    def _load(self, ref: ContractRef) -> Contract:
        files = self._version_files(ref.name)
        if ref.version not in files:
            known = ", ".join(f"v{v}" for v in sorted(files))
            where = f"known versions: {known}" if known else f"no contract named {ref.name!r}"
            raise RegistryError(
                f"not found in {str(self.path)!r} ({where})", contract=str(ref), reason="unknown-contract"
            )
        settings = self._settings_for(ref.name)
        contract = self._parse(ref, files[ref.version], settings)
        critical = settings.get("critical", [])
        if critical:
            contract = contract.with_critical(self._critical_in(contract, critical, files))
        return contract

    def _parse(self, ref: ContractRef, path: Path, settings: dict[str, Any]) -> Contract:
        """The contract in ``path``, without contract.toml's critical list."""
        options: dict[str, Any] = {key: settings[key] for key in ("compatibility", "owner", "doc") if key in settings}
        if path.name.endswith((".binpb", ".proto")):
            return self._protobuf(ref, path, settings, options)
        text = self._read(path, str(ref))
        try:
            if path.name.endswith(".avsc"):
                return Contract.from_avro(ref, text, source=str(path), **options)
            from syscontract.formats.jsonschema import References, file_uri

            return Contract.from_jsonschema(
                ref,
                text,
                source=str(path),
                references=References(root=self._root(), here=path.parent, lookup=self._schema_with_id),
                base_uri=file_uri(path),
                assert_format=_FORMAT_MODES.get(settings.get("format", "")),
                default_draft=settings.get("default_draft", self.default_draft),
                **options,
            )
        except ContractDeclarationError as exc:
            raise RegistryError(
                f"{str(path)!r}: {exc.detail}", contract=str(ref), field=exc.field, reason=exc.reason
            ) from exc

    def _protobuf(self, ref: ContractRef, path: Path, settings: dict[str, Any], options: dict[str, Any]) -> Contract:
        from syscontract.formats.protobuf import compile_proto

        for key in ("message", "presence"):
            if key in settings:
                options[key] = settings[key]
        try:
            if path.name.endswith(".proto"):
                self._read(path, str(ref))  # bounded and readable, before the compiler sees it
                schema = compile_proto(path, self._root())
            else:
                schema = self._read_bytes(path, str(ref))
            return Contract.from_protobuf(ref, schema, source=str(path), **options)
        except ContractDeclarationError as exc:
            raise RegistryError(
                f"{str(path)!r}: {exc.detail}", contract=str(ref), field=exc.field, reason=exc.reason
            ) from exc

    def _read_bytes(self, path: Path, ref: str) -> bytes:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise RegistryError(
                    f"{str(path)!r} is more than the {MAX_FILE_BYTES} bytes a contract file may have",
                    contract=ref,
                    reason="bad-file",
                )
            return path.read_bytes()
        except OSError as exc:
            raise RegistryError(f"cannot read {str(path)!r}: {exc}", contract=ref, reason="bad-file") from exc

    def _schema_with_id(self, uri: str) -> Any:
        """The JSON Schema document of this registry whose ``$id`` is ``uri`` (None: there is none)."""
        with self._lock:
            if self._ids is None:
                ids: dict[str, Any] = {}
                root = self._root()
                for path in sorted(root.rglob("*.schema.json")):
                    if not self._inside(path):
                        continue
                    try:
                        document = json.loads(self._read(path, path.name))
                    except (ContractError, ValueError, RecursionError):
                        continue
                    if isinstance(document, dict) and isinstance(document.get("$id"), str):
                        ids.setdefault(document["$id"].rstrip("#"), document)
                self._ids = ids
            return self._ids.get(uri.rstrip("#"))

    def _critical_in(self, contract: Contract, critical: list[str], files: dict[int, Path]) -> list[str]:
        """The contract.toml critical paths this version has. A path that no version has is an error;
        one that only later versions have applies from the version that introduced it."""
        kept = []
        for path in critical:
            try:
                contract.field(path)
            except ContractDeclarationError:
                others = (ContractRef(contract.ref.name, v) for v in files if v != contract.ref.version)
                if not any(self._has_field(other, files[other.version], path) for other in others):
                    raise RegistryError(
                        f"contract.toml marks {path!r} critical, but no version of {contract.ref.name!r} has it",
                        contract=str(contract.ref),
                        field=path,
                        reason="unknown-field",
                    ) from None
                continue
            kept.append(path)
        return kept

    def _has_field(self, ref: ContractRef, file: Path, path: str) -> bool:
        try:
            self._parse(ref, file, self._settings_for(ref.name)).field(path)
        except ContractError:
            return False
        return True

    def _settings_for(self, name: str) -> dict[str, Any]:
        if name in self._settings:
            return self._settings[name]
        path = self._directory(name) / "contract.toml"
        settings: dict[str, Any] = {}
        if path.exists():
            if not self._inside(path):
                raise RegistryError(
                    f"{str(path)!r} leads outside the registry; refused", contract=name, reason="outside-registry"
                )
            try:
                settings = tomllib.loads(self._read(path, name))
            except (tomllib.TOMLDecodeError, RecursionError) as exc:
                raise RegistryError(
                    f"{str(path)!r} is not valid TOML: {exc}", contract=name, reason="bad-file"
                ) from exc
            _check_settings(settings, path, name)
        self._settings[name] = settings
        return settings


def _check_settings(settings: dict[str, Any], path: Path, name: str) -> None:
    def fail(detail: str) -> RegistryError:
        return RegistryError(f"{str(path)!r}: {detail}", contract=name, reason="bad-file")

    unknown = sorted(set(settings) - _TOML_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known keys: {', '.join(sorted(_TOML_KEYS))})")
    mode = settings.get("compatibility")
    if mode is not None and (not isinstance(mode, str) or mode not in COMPATIBILITY_MODES):
        raise fail(f"compatibility {mode!r} is not one of {', '.join(sorted(COMPATIBILITY_MODES))}")
    critical = settings.get("critical", [])
    if not isinstance(critical, list) or not all(isinstance(p, str) for p in critical):
        raise fail("'critical' must be a list of field paths")
    for field_path in critical:
        try:
            parse_path(field_path)
        except ContractDeclarationError as exc:
            raise fail(exc.detail) from exc
    for key in ("owner", "doc"):
        if key in settings and not isinstance(settings[key], str):
            raise fail(f"'{key}' must be a string")
    if "message" in settings and not isinstance(settings["message"], str):
        raise fail("'message' must be the name of the contract's protobuf message, such as \"Order\"")
    if "presence" in settings and settings["presence"] not in ("explicit", "zero-is-unsent"):
        raise fail(f'\'presence\' must be "explicit" or "zero-is-unsent", not {settings["presence"]!r}')
    if "default_draft" in settings:
        from syscontract.formats.jsonschema import check_draft

        try:
            check_draft(settings["default_draft"], "'default_draft'")
        except ContractDeclarationError as exc:
            raise fail(exc.detail) from None
    if "format" in settings and settings["format"] not in _FORMAT_MODES:
        raise fail(f'\'format\' must be "assert" or "annotate", not {settings["format"]!r}')
    retired = settings.get("retired", [])
    if not isinstance(retired, list) or not all(
        isinstance(v, str) and re.fullmatch(r"v(0|[1-9][0-9]{0,8})", v) for v in retired
    ):
        raise fail('\'retired\' must be a list of versions such as ["v1", "v2"]')
    for table in ("ids", "guids"):
        entries = settings.get(table, {})
        if not isinstance(entries, dict):
            raise fail(f"'{table}' must be a table mapping versions to schema {table}, such as v2 = 7")
        for version_key, value in entries.items():
            if not re.fullmatch(r"v(0|[1-9][0-9]{0,8})", version_key):
                hint = ""
                if version_key in _TOML_KEYS:
                    hint = (
                        f" (in TOML, every key after a [{table}] header belongs to that table: move "
                        f"{version_key!r} above the [{table}] line)"
                    )
                raise fail(f"'{table}' key {version_key!r} is not a version such as 'v2'{hint}")
            if table == "ids" and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32):
                raise fail(f"ids.{version_key} must be a schema id from 0 to 2**32-1, not {value!r}")
            if table == "guids":
                try:
                    uuid.UUID(str(value))
                except ValueError:
                    raise fail(f"guids.{version_key} is not a GUID: {value!r}") from None


def _ways_out(kind: str, value: object, contracts: str) -> str:
    """What to do about a writer id or GUID no local contract is mapped to (empty for fingerprints):
    map it in ``contract.toml``, or let the Schema Registry that issued it name the writer."""
    if kind not in ("id", "guid"):
        return ""
    table, shown = ("ids", value) if kind == "id" else ("guids", f'"{value}"')
    return (
        f": map it to the version it is in the [{table}] table of that contract's contract.toml "
        f"(v<N> = {shown}), or read writers from the Schema Registry that issued it, matched to these "
        "contracts by canonical form: syscontract.configure(registry=ConfluentRegistry("
        f'{{"url": "<the registry URL>"}}, contracts={contracts!r})) '
        "(syscontract.registry.confluent, extra kafka; see docs/registries.md)"
    )
