"""CloudEvents: check an event's data against the contract its ``dataschema`` (or ``type``) names.

::

    from syscontract.integrations.cloudevents import CloudEventCheck

    check = CloudEventCheck("order.v3", ["customer.customerTier"])
    order = check(body, headers)        # binary mode (ce-*/ce_*/cloudEvents:* headers) or structured JSON
    order = check.event(event)          # an event object of the cloudevents SDK (1.x or 2.x API)

    # or let a broker integration do it: Guard(..., cloudevents=True)

The event names the version its producer wrote, by ``dataschema`` (``.../order.v2``,
``.../order/v2``, ``.../order.v2.avsc``, ``urn:syscontract:order.v2``) or else by a ``type`` ending in a
version (``com.example.order.v2``). That version is the *writer*; the consumer's ``contract`` is the
reader: its name must match (``com.example.order`` ends with ``.order``: a match), else the event is a
:class:`~syscontract.ContractViolation` with reason ``other-contract``. The data is then checked as
``@requires`` checks any message: Avro data (``datacontenttype`` ``application/avro``) is decoded
with the writer's schema, so a critical field the writer's version does not have is
``not-in-writer-schema`` and never the reader's default; so is protobuf data (``application/protobuf``:
the bare message, as the CloudEvents protobuf format carries it, or Confluent-framed bytes, whose
framing names the writer); JSON data must carry every critical field.
An event naming no version is checked on its data alone.

Modes and bindings: binary mode with the attributes in headers (``ce-`` HTTP and NATS, ``ce_`` Kafka,
``cloudEvents:``/``cloudEvents_`` AMQP; ``content-type`` is ``datacontenttype``), and structured mode
(``application/cloudevents+json``: the whole event in the body, data in ``data`` or ``data_base64``).

The check needs no CloudEvents package; ``pip install 'syscontract[cloudevents]'`` brings the SDK
whose events :meth:`CloudEventCheck.event` accepts.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from opentelemetry import trace

from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractViolation, DecodeError
from syscontract.integrations import _messaging as m
from syscontract.registry import Registry
from syscontract.wire import CONTRACT_HEADER, confluent
from syscontract.wire import json as json_wire

__all__ = [
    "AVRO_CONTENT_TYPES",
    "PREFIXES",
    "PROTOBUF_CONTENT_TYPES",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEventCheck",
    "attributes",
    "contract_of",
]

PREFIXES: Final = ("ce-", "ce_", "cloudevents:", "cloudevents_")
"""Binary-mode attribute header prefixes (lower case): HTTP and NATS, Kafka, AMQP."""
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
AVRO_CONTENT_TYPES: Final = ("application/avro", "avro/binary", "application/vnd.apache.avro+binary")
"""``datacontenttype`` values whose data is an Avro body (read with the writer's schema)."""
PROTOBUF_CONTENT_TYPES: Final = ("application/protobuf", "application/x-protobuf", "application/vnd.google.protobuf")
"""``datacontenttype`` values whose data is a protobuf message: a bare body is read with the writer's
message, Confluent-framed bytes (which a protobuf body never starts like) by their framing."""

_REQUIRED = ("specversion", "id", "source", "type")
_SCHEMA_SUFFIXES = (".avsc", ".schema.json", ".json", ".avro")
_VERSIONED = re.compile(r"^(?P<name>.+?)[./:]v(?P<version>[0-9]+)$")

# semantic conventions v1.27.0, CloudEvents attributes
_CE_ID = "cloudevents.event_id"
_CE_SOURCE = "cloudevents.event_source"
_CE_TYPE = "cloudevents.event_type"
_CE_SPEC_VERSION = "cloudevents.event_spec_version"
_CE_SUBJECT = "cloudevents.event_subject"


def contract_of(attributes: Mapping[str, Any]) -> ContractRef | None:
    """The contract version an event names: by ``dataschema``, else by a versioned ``type``; None."""
    schema = attributes.get("dataschema")
    if schema:
        found = _from_schema(str(schema))
        if found is not None:
            return found
    kind = attributes.get("type")
    if kind:
        match = _VERSIONED.match(str(kind))
        if match:
            return ContractRef(match["name"], int(match["version"]))
    return None


def _from_schema(uri: str) -> ContractRef | None:
    text = uri.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    lowered = text.lower()
    for suffix in _SCHEMA_SUFFIXES:
        if lowered.endswith(suffix):
            text = text[: -len(suffix)]
            break
    if text.lower().startswith("urn:syscontract:"):
        text = text[len("urn:syscontract:") :]
    parts = text.split("/")
    last = parts[-1]
    match = _VERSIONED.match(last)
    if match:
        return ContractRef(match["name"].rsplit(":", 1)[-1], int(match["version"]))
    if len(parts) >= 2 and re.fullmatch(r"v[0-9]+", last):  # .../order/v2
        return ContractRef(parts[-2], int(last[1:]))
    return None


def attributes(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """The binary-mode attributes in ``headers`` (any binding's prefix), plus ``datacontenttype``
    from ``content-type``; names in lower case, values as text."""
    found: dict[str, str] = {}
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    for key, value in pairs:
        name = m.text(key).lower()
        text = m.text(value) if value is not None else None
        if text is None:
            continue
        for prefix in PREFIXES:
            if name.startswith(prefix):
                found[name[len(prefix) :]] = text
                break
        else:
            if name in ("content-type", "content_type"):
                found.setdefault("datacontenttype", text)
    return found


def _is_avro(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() in AVRO_CONTENT_TYPES


def _is_bare_protobuf(content_type: str | None, data: bytes) -> bool:
    """Protobuf data without Confluent's framing (a protobuf body never starts with its magic byte:
    field number 0 does not exist)."""
    if content_type is None or content_type.split(";", 1)[0].strip().lower() not in PROTOBUF_CONTENT_TYPES:
        return False
    return not confluent.detect(data)


class CloudEventCheck(m.GuardCheck):
    """The check of a CloudEvent's data: ``check(body, headers) -> data`` for a message in binary or
    structured mode, ``check.event(event)`` for an SDK event. Raises like ``@requires``; an event
    for another contract is a :class:`ContractViolation` (``other-contract``), a message that is no
    CloudEvent a :class:`DecodeError` (``not-a-cloudevent``). Options as in :class:`GuardCheck`.
    """

    def __init__(
        self,
        contract: str | ContractRef | Contract,
        fields: Iterable[str] | str = (),
        *,
        registry: Registry | str | None = None,
        observe: bool = False,
        handler: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(contract, fields, registry=registry, observe=observe, handler=handler)
        self.ref = contract.ref if isinstance(contract, Contract) else ContractRef.parse(contract)
        self.run = self.__call__

    def __call__(
        self, value: bytes | bytearray | memoryview | str, headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None
    ) -> Any:
        found = attributes(headers)
        if "specversion" in found:
            return self._data(found, value, value)
        if isinstance(headers, Mapping):
            content_type = headers.get("content-type") or headers.get("Content-Type")
        else:
            content_type = found.get("datacontenttype")
        if content_type is not None and not m.text(content_type).lower().startswith(STRUCTURED_CONTENT_TYPE):
            raise self._not_an_event(value, "no CloudEvents attributes in the headers and not structured mode")
        return self.structured(value)

    def structured(self, body: bytes | bytearray | memoryview | str) -> Any:
        """The data of a structured-mode event (``application/cloudevents+json``), checked."""
        text = body.tobytes() if isinstance(body, memoryview) else body
        try:
            try:
                event = json_wire.decode_fast(text)
            except ValueError:
                event = json_wire.decode(text)  # the precise decoder decides (NaN, a BOM, ...) and says why
        except ValueError as exc:  # DecodeError is one
            raise self._not_an_event(body, f"structured mode body is not JSON ({exc})") from exc
        if not isinstance(event, dict):
            raise self._not_an_event(body, "structured mode body is not a JSON object")
        found = {key.lower(): value for key, value in event.items() if key not in ("data", "data_base64")}
        if "data_base64" in event:
            try:
                data: Any = base64.b64decode(event["data_base64"], validate=True)
            except (binascii.Error, TypeError, ValueError) as exc:
                raise self._not_an_event(body, f"data_base64 is not base64 ({exc})") from exc
        else:
            data = event.get("data")
        return self._data(found, data, body)

    def event(self, event: Any) -> Any:
        """The data of an event object of the cloudevents SDK (``get_attributes()``, ``get_data()`` or
        ``.data``), checked."""
        try:
            found = dict(event.get_attributes())
        except AttributeError as exc:
            raise self._not_an_event(event, f"{type(event).__name__} is not a CloudEvent") from exc
        data = event.get_data() if hasattr(event, "get_data") else getattr(event, "data", None)
        return self._data({key.lower(): value for key, value in found.items()}, data, event)

    # -- one event -------------------------------------------------------------------------------

    def _data(self, found: Mapping[str, Any], data: Any, original: Any) -> Any:
        missing = [name for name in _REQUIRED if not found.get(name)]
        if missing:
            raise self._not_an_event(original, f"required attributes missing: {', '.join(missing)}")
        self._annotate(found)
        writer = contract_of(found)
        if writer is not None and not self._same_name(writer):
            raise ContractViolation(
                f"the event is a {writer} (by its {'dataschema' if found.get('dataschema') else 'type'}), "
                f"not a {self.ref.name}",
                contract=str(self.ref),
                reason="other-contract",
                writer=str(writer),
                payload=original,
            )
        if isinstance(data, (bytes, bytearray, memoryview)):
            headers = {}
            data = bytes(data)
            content_type = found.get("datacontenttype")
            if writer is not None and (_is_avro(content_type) or _is_bare_protobuf(content_type, data)):
                headers[CONTRACT_HEADER] = f"{self.ref.name}.v{writer.version}"
            return self._check_bytes(data, headers, original)
        if isinstance(data, str):
            # read as text, as check() reads it (encoding it first raised on a lone surrogate)
            return self._check_bytes(data, {}, original)
        return self._check_value(data, original)

    def _check_bytes(self, data: bytes | bytearray | memoryview | str, headers: dict[str, str], original: Any) -> Any:
        try:
            return super().__call__(data, headers)
        except DecodeError as error:
            error.payload = original
            raise

    def _check_value(self, data: Any, original: Any) -> Any:
        try:
            return self._check(data)
        except ContractViolation as error:
            error.payload = original
            raise

    def _same_name(self, writer: ContractRef) -> bool:
        return writer.name == self.ref.name or writer.name.endswith("." + self.ref.name)

    def _not_an_event(self, original: Any, why: str) -> DecodeError:
        return DecodeError(
            f"not a CloudEvent: {why}", contract=str(self.ref), reason="not-a-cloudevent", payload=original
        )

    @staticmethod
    def _annotate(found: Mapping[str, Any]) -> None:
        try:
            span = trace.get_current_span()
            if span.is_recording():
                names = ((_CE_ID, "id"), (_CE_SOURCE, "source"), (_CE_TYPE, "type"),
                         (_CE_SPEC_VERSION, "specversion"), (_CE_SUBJECT, "subject"))  # fmt: skip
                span.set_attributes({key: str(found[name]) for key, name in names if found.get(name)})
        except Exception:  # telemetry never fails a message
            pass
