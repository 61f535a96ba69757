"""Where contracts come from: one protocol, one module per backend.

``FileRegistry`` (``files.py``) reads the embedded layout on disk, ``MemoryRegistry`` (``memory.py``)
holds contracts built in code. Contracts registered in code with ``@syscontract.contract`` live in a
process-wide memory registry that is consulted first, whatever registry is configured.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from syscontract.contract import Contract, ContractRef
from syscontract.registry.code import CODE
from syscontract.registry.files import FileRegistry
from syscontract.registry.memory import MemoryRegistry

__all__ = ["CODE", "FileRegistry", "MemoryRegistry", "Registry", "lookup"]


@runtime_checkable
class Registry(Protocol):
    """What syscontract asks of a registry. ``get`` raises :class:`~syscontract.RegistryError`
    for a contract it cannot serve."""

    def get(self, ref: ContractRef | str) -> Contract: ...

    def versions(self, name: str) -> list[int]: ...

    def names(self) -> list[str]: ...


def lookup(ref: ContractRef, registry: Registry) -> Contract:
    """The contract for ``ref``: registered in code first, then from ``registry``."""
    found = CODE.find(ref)
    return found if found is not None else registry.get(ref)
