"""What commands read: contracts given as files or as references into a contracts directory."""

from __future__ import annotations

import re
from pathlib import Path

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError
from syscontract.registry import FileRegistry

__all__ = ["SCHEMA_SUFFIXES", "load_contract"]

SCHEMA_SUFFIXES = (".avsc", ".json", ".binpb", ".proto")
_VERSION_STEM = re.compile(r"^v(?P<version>0|[1-9][0-9]{0,8})$")


def load_contract(text: str, contracts: str | Path) -> Contract:
    """The contract ``text`` names: a schema file (``.avsc`` Avro, ``.json``/``.schema.json`` JSON
    Schema, ``.binpb``/``.proto`` protobuf), or a reference such as ``order.v3`` in the ``contracts`` directory.

    Raises :class:`ContractDeclarationError` (a missing file, a bad reference, an invalid schema) or
    :class:`~syscontract.RegistryError` (an unknown contract)."""
    path = Path(text)
    if path.suffix in SCHEMA_SUFFIXES or path.is_file():
        return _from_file(path)
    try:
        ref = ContractRef.parse(text)
    except ContractDeclarationError as exc:
        raise ContractDeclarationError(
            f"{text!r} is neither a schema file (.avsc, .schema.json) nor a contract reference such as 'order.v3'",
            reason="bad-reference",
        ) from exc
    return FileRegistry(contracts).get(ref)


def _from_file(path: Path) -> Contract:
    if not path.is_file():
        raise ContractDeclarationError(f"no such schema file: {str(path)!r}", reason="bad-file")
    if path.suffix in (".binpb", ".proto"):
        return _protobuf(path)
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractDeclarationError(f"cannot read {str(path)!r}: {exc}", reason="bad-file") from exc
    ref = _ref_for(path)
    try:
        if path.suffix == ".avsc":
            return Contract.from_avro(ref, body, source=str(path))
        if path.suffix == ".json":
            return Contract.from_jsonschema(ref, body, source=str(path))
    except ContractError as exc:
        raise ContractDeclarationError(f"{str(path)!r}: {exc.detail}", reason="bad-schema") from exc
    raise ContractDeclarationError(
        f"{str(path)!r}: unknown schema file type (expected .avsc for Avro or .schema.json for JSON Schema)",
        reason="bad-file",
    )


def _protobuf(path: Path) -> Contract:
    """A protobuf version file: read as its registry reads it when it sits in one (``contracts/order/
    v3.binpb``, with ``contract.toml``'s ``message``), else on its own (one top-level message)."""
    ref = _ref_for(path)
    try:
        if ref.version and path.parent.parent != path.parent:
            return FileRegistry(path.parent.parent).get(ref)
        if path.suffix == ".proto":
            from syscontract.formats.protobuf import compile_proto

            return Contract.from_protobuf(ref, compile_proto(path, path.parent), source=str(path))
        return Contract.from_protobuf(ref, path.read_bytes(), source=str(path))
    except ContractError as exc:
        raise ContractDeclarationError(f"{str(path)!r}: {exc.detail}", reason="bad-schema") from exc
    except OSError as exc:
        raise ContractDeclarationError(f"cannot read {str(path)!r}: {exc}", reason="bad-file") from exc


def _ref_for(path: Path) -> ContractRef:
    """``contracts/order/v3.avsc`` is ``order.v3``; any other file is ``<stem>.v0``."""
    stem = path.name.removesuffix(".avsc").removesuffix(".json").removesuffix(".schema")
    stem = stem.removesuffix(".binpb").removesuffix(".proto")
    match = _VERSION_STEM.match(stem)
    if match and path.parent.name:
        return ContractRef(path.parent.name, int(match["version"]))
    return ContractRef(re.sub(r"\s+", "_", stem) or "schema", 0)
