"""``encode()``: a payload as bytes a consumer can attribute to its writer.

::

    encoded = syscontract.encode("order.v3", order, format="confluent")
    producer.produce("orders", value=encoded.value, headers=list(encoded.headers.items()))

Formats: ``json`` (compact JSON, with a ``syscontract-contract`` header naming the version and
``syscontract-encoding: json``), ``avro``
(a bare Avro body, with the same header: the consumer reads it with exactly that writer schema) and
``confluent`` (Confluent framing with the schema id the registry gives the version; no header needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from syscontract._config import as_registry, settings
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, FieldTypeError, RegistryError
from syscontract.registry import Registry, lookup
from syscontract.wire import CONTRACT_HEADER, ENCODING_HEADER, avro, confluent
from syscontract.wire import json as json_wire

__all__ = ["FORMATS", "Encoded", "encode"]

FORMATS = ("json", "avro", "confluent")


@dataclass(frozen=True)
class Encoded:
    """Bytes to send, and the headers to send them with."""

    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)


def encode(
    contract: str | ContractRef | Contract,
    payload: Any,
    *,
    format: str = "json",
    registry: Registry | str | None = None,
) -> Encoded:
    """Encode ``payload`` (a mapping or a pydantic model) as ``contract`` in ``format``.

    Raises :class:`ContractDeclarationError` for an unknown format or contract, :class:`RegistryError`
    when ``confluent`` framing has no schema id for the version, and :class:`FieldTypeError` when Avro
    cannot write the payload (a missing field without default, a wrong type)."""
    if format not in FORMATS:
        raise ContractDeclarationError(
            f"unknown format {format!r}; expected one of {', '.join(FORMATS)}", reason="bad-option"
        )
    chosen = settings().registry if registry is None else as_registry(registry, "registry")
    target = contract if isinstance(contract, Contract) else _resolve(ContractRef.parse(contract), chosen)
    ref = str(target.ref)
    try:
        data = payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel) else payload
    except ValueError as exc:  # pydantic's own limits (a serialization nested too deep)
        raise FieldTypeError(
            f"the payload cannot be written as {target.ref}: {exc}",
            contract=str(target.ref),
            reason="type",
            payload=payload,
        ) from exc
    header = {CONTRACT_HEADER: ref.encode()}
    if format == "json":
        return Encoded(json_wire.encode(data), {**header, ENCODING_HEADER: b"json"})
    if target.format != "avro":
        raise ContractDeclarationError(
            f"format {format!r} needs an Avro contract; {ref} is {target.format}", contract=ref, reason="bad-option"
        )
    try:
        body = avro.encode(data, target.native)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # fastavro's complaints about the datum
        reason = "too-deep" if isinstance(exc, avro.TooDeep) else "type"
        raise FieldTypeError(
            f"the payload cannot be written as {ref}: {exc}", contract=ref, reason=reason, payload=payload
        ) from exc
    if format == "avro":
        return Encoded(body, header)
    id_of = getattr(chosen, "id_of", None)
    if id_of is None:
        raise RegistryError(f"the registry {chosen!r} has no schema ids", contract=ref, reason="unknown-schema")
    return Encoded(confluent.encode(id_of(target.ref), body))


def _resolve(ref: ContractRef, registry: Registry) -> Contract:
    try:
        return lookup(ref, registry)
    except RegistryError as exc:
        raise ContractDeclarationError(
            f"cannot resolve the contract: {exc.detail}", contract=str(ref), reason=exc.reason
        ) from exc
