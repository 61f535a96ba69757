"""pydantic v2 models into the normalized contract view.

The model's own JSON Schema (validation mode, by alias) is parsed with the JSON Schema parser, so
field paths are the names on the wire. The model stays the source of truth: vendor keywords it emits
(``discriminator``, ``json_schema_extra``) are read as annotations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, RegistryError
from syscontract.formats import jsonschema
from syscontract.registry import CODE

__all__ = ["contract", "parse"]


def parse(ref: ContractRef, model: type[BaseModel], **options: Any) -> Contract:
    """Parse a pydantic v2 model class into a :class:`Contract` whose ``model`` is that class."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ContractDeclarationError(
            f"a model contract must be a pydantic v2 BaseModel subclass, not {model!r}",
            contract=str(ref),
            reason="bad-schema",
        )
    if issubclass(model, RootModel):
        raise ContractDeclarationError(
            f"{model.__qualname__} is a RootModel: a contract is an object with named fields, so that critical "
            "fields can be named (wrap the root value in a model with one field)",
            contract=str(ref),
            reason="bad-schema",
        )
    try:
        schema = model.model_json_schema(mode="validation")
    except Exception as exc:  # PydanticInvalidForJsonSchema and friends
        raise ContractDeclarationError(
            f"model {model.__qualname__} cannot be described as a contract: {exc}",
            contract=str(ref),
            reason="bad-schema",
        ) from exc
    options.setdefault("doc", model.__doc__)
    return jsonschema.parse(
        ref,
        schema,
        annotations_only=True,
        required_means_no_default=True,
        format="pydantic",
        model=model,
        **options,
    )


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
