"""Contracts made in code: ``@syscontract.contract("order.v3")`` registers a pydantic model.

Every contract registered here is in :data:`syscontract.registry.CODE`, which every registry lookup
asks first, so ``@requires("order.v3")`` finds it whatever registry is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from pydantic import BaseModel

from syscontract.contract import ContractRef
from syscontract.errors import ContractDeclarationError, RegistryError
from syscontract.formats.pydantic import parse
from syscontract.registry.memory import MemoryRegistry

__all__ = ["CODE", "contract"]

CODE = MemoryRegistry()
"""The contracts registered in code (``@syscontract.contract``); every lookup asks it first."""

M = TypeVar("M", bound=type[BaseModel])


def contract(
    ref: str | ContractRef,
    *,
    critical: Iterable[str] = (),
    compatibility: str | None = None,
    owner: str | None = None,
) -> Callable[[M], M]:
    """Register a pydantic model as contract ``ref``; returns the class unchanged.

    ::

        @syscontract.contract("order.v3", critical=["customerTier"])
        class Order(BaseModel): ...

    The contract is found by every ``@requires("order.v3")`` in the process, whatever registry is
    configured. Its ``Contract`` is available as ``Order.__syscontract_contract__``.
    """
    parsed = ContractRef.parse(ref)

    def register(model: M) -> M:
        built = parse(parsed, model, critical=critical, compatibility=compatibility, owner=owner)
        existing = CODE.find(parsed)
        replace = (
            existing is not None
            and existing.model is not None
            and (existing.model.__module__, existing.model.__qualname__) == (model.__module__, model.__qualname__)
        )
        try:
            CODE.add(built, replace=replace)
        except RegistryError as exc:
            raise ContractDeclarationError(
                f"{model.__qualname__} cannot be registered: {exc.detail}", contract=str(parsed), reason="duplicate"
            ) from exc
        model.__syscontract_contract__ = built  # type: ignore[attr-defined]
        return model

    return register
