"""A registry of contracts built in code."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable

from syscontract.contract import Contract, ContractRef
from syscontract.errors import RegistryError
from syscontract.registry._changes import changed

__all__ = ["MemoryRegistry"]


class MemoryRegistry:
    """Contracts held in memory::

    registry = MemoryRegistry([Contract.from_avro("order.v3", schema)])
    syscontract.configure(registry=registry)
    """

    def __init__(self, contracts: Iterable[Contract] = ()) -> None:
        self._contracts: dict[ContractRef, Contract] = {}
        self._writers: dict[tuple[str, object], ContractRef] = {}
        self._lock = threading.Lock()
        for contract in contracts:
            self.add(contract)

    def __repr__(self) -> str:
        return f"MemoryRegistry({len(self._contracts)} contracts)"

    def add(
        self,
        contract: Contract,
        *,
        replace: bool = False,
        schema_id: int | None = None,
        guid: uuid.UUID | None = None,
    ) -> Contract:
        """Add ``contract``; a different contract already under its reference is a
        :class:`RegistryError` unless ``replace`` is true. ``schema_id``/``guid``: the ids writers
        frame messages with (Confluent framing)."""
        if not isinstance(contract, Contract):
            raise RegistryError(f"MemoryRegistry holds Contract objects, not {type(contract).__name__}")
        with self._lock:
            existing = self._contracts.get(contract.ref)
            if (
                existing is not None
                and existing is not contract
                and not replace
                and existing.fingerprint != contract.fingerprint
            ):
                raise RegistryError(
                    "a different contract is already registered under this reference (pass replace=True to replace it)",
                    contract=str(contract.ref),
                    reason="duplicate",
                )
            remapped = existing is not None and existing is not contract
            self._contracts[contract.ref] = contract
            for key in (("id", schema_id), ("guid", guid)):
                if key[1] is not None:
                    remapped = remapped or self._writers.get(key, contract.ref) != contract.ref
                    self._writers[key] = contract.ref
            if contract.avro_fingerprint is not None:
                self._writers.setdefault(("fingerprint", contract.avro_fingerprint), contract.ref)
        if remapped:
            changed()  # every writer plan built from the old meaning is forgotten
        return contract

    def id_of(self, ref: ContractRef | str) -> int:
        """The schema id this contract was added with."""
        parsed = ContractRef.parse(ref)
        for (kind, value), found in list(self._writers.items()):
            if kind == "id" and found == parsed:
                assert isinstance(value, int)
                return value
        raise RegistryError("added without a schema id", contract=str(parsed), reason="unknown-schema")

    def by_id(self, schema_id: int) -> Contract:
        """The contract added with ``schema_id``."""
        return self._writer(("id", schema_id), f"schema id {schema_id}")

    def by_guid(self, guid: uuid.UUID) -> Contract:
        """The contract added with schema GUID ``guid``."""
        return self._writer(("guid", guid), f"schema GUID {guid}")

    def by_fingerprint(self, fingerprint: bytes) -> Contract:
        """The Avro contract with this CRC-64-AVRO fingerprint."""
        return self._writer(("fingerprint", bytes(fingerprint)), f"fingerprint {bytes(fingerprint).hex()}")

    def _writer(self, key: tuple[str, object], label: str) -> Contract:
        ref = self._writers.get(key)
        if ref is None:
            hint = ""
            if key[0] in ("id", "guid"):
                option = "schema_id" if key[0] == "id" else "guid"
                hint = (
                    f": add the version it is with add(contract, {option}=...), or read "
                    "writers from the Schema Registry that issued it: ConfluentRegistry("
                    '{"url": "<the registry URL>"}, contracts=<this registry>) (syscontract.registry.confluent, '
                    "extra kafka; see docs/registries.md)"
                )
            raise RegistryError(f"no contract in this registry has {label}{hint}", reason="unknown-schema")
        return self._contracts[ref]

    def find(self, ref: ContractRef) -> Contract | None:
        """The contract for ``ref``, or None."""
        return self._contracts.get(ref)

    def get(self, ref: ContractRef | str) -> Contract:
        parsed = ContractRef.parse(ref)
        found = self._contracts.get(parsed)
        if found is None:
            versions = self.versions(parsed.name)
            known = f"known versions: {', '.join(f'v{v}' for v in versions)}" if versions else "no such contract"
            raise RegistryError(f"not in this registry ({known})", contract=str(parsed), reason="unknown-contract")
        return found

    def versions(self, name: str) -> list[int]:
        return sorted(ref.version for ref in list(self._contracts) if ref.name == name)

    def names(self) -> list[str]:
        return sorted({ref.name for ref in list(self._contracts)})
