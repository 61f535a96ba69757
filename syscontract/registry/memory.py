"""A registry of contracts built in code."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from syscontract.contract import Contract, ContractRef
from syscontract.errors import RegistryError

__all__ = ["MemoryRegistry"]


class MemoryRegistry:
    """Contracts held in memory::

    registry = MemoryRegistry([Contract.from_avro("order.v3", schema)])
    syscontract.configure(registry=registry)
    """

    def __init__(self, contracts: Iterable[Contract] = ()) -> None:
        self._contracts: dict[ContractRef, Contract] = {}
        self._lock = threading.Lock()
        for contract in contracts:
            self.add(contract)

    def __repr__(self) -> str:
        return f"MemoryRegistry({len(self._contracts)} contracts)"

    def add(self, contract: Contract, *, replace: bool = False) -> Contract:
        """Add ``contract``; a different contract already under its reference is a
        :class:`RegistryError` unless ``replace`` is true."""
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
            self._contracts[contract.ref] = contract
        return contract

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
