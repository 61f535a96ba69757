"""``encode()``: a payload as bytes a consumer can attribute to its writer.

::

    encoded = syscontract.encode("order.v3", order, format="confluent")
    producer.produce("orders", value=encoded.value, headers=list(encoded.headers.items()))

Formats: ``json`` (compact JSON, with a ``syscontract-contract`` header naming the version and
``syscontract-encoding: json``), ``avro``
(a bare Avro body, with the same header: the consumer reads it with exactly that writer schema) and
``confluent`` (Confluent framing with the schema id the registry gives the version; no header needed;
for a protobuf contract, the message-index array too) and ``protobuf`` (a protobuf contract's bare
body, with the ``syscontract-contract`` header). A protobuf contract's payload is a message (of any
generated class: it is written by field numbers) or a dict in protobuf's JSON mapping.
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
from syscontract.wire import protobuf as protobuf_wire

__all__ = ["FORMATS", "Encoded", "encode"]

FORMATS = ("json", "avro", "confluent", "protobuf")


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
    if target.format == "protobuf" and format != "json":
        return _protobuf(target, payload, format, chosen, header)
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


def _protobuf(target: Contract, payload: Any, format: str, chosen: Any, header: dict[str, bytes]) -> Encoded:
    """A protobuf contract's message: a bare body named by the header (``protobuf``), or Confluent's
    framing with the message-index array (``confluent``)."""
    ref = str(target.ref)
    if format == "avro":
        raise ContractDeclarationError(
            f"format 'avro' needs an Avro contract; {ref} is protobuf (use 'protobuf' or 'confluent')",
            contract=ref,
            reason="bad-option",
        )
    proto = target.native
    try:
        if isinstance(payload, proto.message_class):
            message = payload
        elif hasattr(payload, "SerializeToString") and hasattr(payload, "DESCRIPTOR"):
            message = proto.message_class.FromString(payload.SerializeToString())
        else:
            from google.protobuf import json_format

            message = json_format.ParseDict(payload, proto.message_class())
    except Exception as exc:  # json_format.ParseError, TypeError, DecodeError: not this message
        raise FieldTypeError(
            f"the payload cannot be written as {ref}: {exc}", contract=ref, reason="type", payload=payload
        ) from exc
    body = protobuf_wire.encode(message)
    if format == "protobuf":
        return Encoded(body, header)
    id_of = getattr(chosen, "id_of", None)
    if id_of is None:
        raise RegistryError(f"the registry {chosen!r} has no schema ids", contract=ref, reason="unknown-schema")
    return Encoded(confluent.encode(id_of(target.ref), protobuf_wire.encode_indexes(proto.indexes) + body))


def _resolve(ref: ContractRef, registry: Registry) -> Contract:
    try:
        return lookup(ref, registry)
    except RegistryError as exc:
        raise ContractDeclarationError(
            f"cannot resolve the contract: {exc.detail}", contract=str(ref), reason=exc.reason
        ) from exc
