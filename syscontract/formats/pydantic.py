"""pydantic v2 models into the normalized contract view.

The model's own JSON Schema (validation mode, by alias) is parsed with the JSON Schema parser, so
field paths are the names on the wire. The model stays the source of truth: vendor keywords it emits
(``discriminator``, ``json_schema_extra``) are read as annotations.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, RootModel

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError
from syscontract.formats import jsonschema

__all__ = ["parse"]


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
