"""Consumer-aware compatibility: a change that the registry accepts can still break a consumer.

Avro and Confluent accept a new field with a default, and a field that becomes optional or nullable,
as compatible: the reader fills the default. For a consumer that *depends* on the field (its
``@requires`` fields, or the contract's own ``critical`` list) that default is the incident. For every
consumer and every field it requires this module reports:

- ``CONSUMER_FIELD_NOT_IN_WRITER``: in a reader/writer pair the mode compares, the reader has the field
  and the writer does not, so every such message reaches the consumer with the reader's default (or
  without the field);
- ``CONSUMER_FIELD_REMOVED``, ``CONSUMER_FIELD_NULLABLE``, ``CONSUMER_FIELD_DEFAULTED``,
  ``CONSUMER_FIELD_OPTIONAL``: the field was always sent (present, required, never null, no default)
  in a previous version, and the new version removes it, lets it be null, gives it a default (for Avro,
  a writer default is written when the producer leaves the field out) or no longer requires it.
  A nested field inherits its parents' status: ``customer.customerTier`` is optional when ``customer`` is;
- ``CONSUMER_FIELD_UNKNOWN``: no compared version has the field at all.

Protobuf fields are looked up in another version by their *numbers* (:func:`writer_path`), as the
wire reads them: a renamed field is the same field, and the same name with another number is not. A
protobuf writer that carries a field without presence (its zero value is never written) is
``CONSUMER_FIELD_DEFAULTED`` in a pair whose reader has presence for a field a consumer requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syscontract.compat._model import (
    CONSUMER_FIELD_DEFAULTED,
    CONSUMER_FIELD_NOT_IN_WRITER,
    CONSUMER_FIELD_NULLABLE,
    CONSUMER_FIELD_OPTIONAL,
    CONSUMER_FIELD_REMOVED,
    CONSUMER_FIELD_UNKNOWN,
    Problem,
)
from syscontract.contract import Contract, ContractRef, FieldPath, parse_path
from syscontract.errors import ContractDeclarationError, ContractError

__all__ = ["Consumer", "as_consumer", "problems", "status", "writer_path"]

# a field's status in one version, from worst to best; "sent" means present, required, never null, no default
REMOVED, NULLABLE, DEFAULTED, OPTIONAL, SENT = "removed", "nullable", "defaulted", "optional", "sent"
_KIND = {
    REMOVED: CONSUMER_FIELD_REMOVED,
    NULLABLE: CONSUMER_FIELD_NULLABLE,
    DEFAULTED: CONSUMER_FIELD_DEFAULTED,
    OPTIONAL: CONSUMER_FIELD_OPTIONAL,
}


@dataclass(frozen=True, init=False)
class Consumer:
    """A consumer of a contract and the field paths it cannot do without.

    ``Consumer("pricing", ["customer.customerTier"], contract="order.v3")``; ``contract`` (a reference
    or a bare name) limits the consumer to that contract name; None means any.
    """

    name: str
    fields: tuple[str, ...]
    contract: str | None = None

    def __init__(self, name: str, fields: Iterable[str | FieldPath], contract: str | ContractRef | None = None) -> None:
        texts = (fields,) if isinstance(fields, (str, FieldPath)) else tuple(fields)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "fields", tuple(parse_path(f).text for f in texts))
        object.__setattr__(self, "contract", None if contract is None else str(contract))

    def applies_to(self, name: str) -> bool:
        """Whether this consumer reads contract ``name``."""
        if self.contract is None:
            return True
        if self.contract == name:
            return True
        try:
            return ContractRef.parse(self.contract).name == name
        except ContractDeclarationError:
            return False


def as_consumer(value: Any) -> Consumer:
    """A :class:`Consumer` from a ``Consumer``, a ``(name, fields[, contract])`` tuple, a mapping with
    ``name``, ``fields`` and optionally ``contract``, or any object with ``.name`` and ``.fields`` (and
    ``.ref`` or ``.contract``), such as a ``@requires`` declaration."""
    if isinstance(value, Consumer):
        return value
    try:
        if isinstance(value, Mapping):
            return Consumer(value["name"], value["fields"], value.get("contract"))
        if isinstance(value, tuple):
            return Consumer(*value)
        name, fields = value.name, value.fields
    except (KeyError, TypeError, AttributeError) as exc:
        raise ContractDeclarationError(
            f"cannot read {value!r} as a consumer: expected a Consumer, a (name, fields) tuple, a mapping with "
            "'name' and 'fields', or an object with .name and .fields",
            reason="bad-option",
        ) from exc
    contract = getattr(value, "ref", None) or getattr(value, "contract", None)
    if isinstance(contract, Contract):
        contract = contract.ref
    return Consumer(name, [getattr(f, "text", f) for f in fields], contract)


def status(contract: Contract, path: str, *, as_writer: bool = False) -> str:
    """How ``contract`` carries the field at ``path``: ``sent``, ``optional``, ``defaulted``, ``nullable``
    or ``removed`` (the worst along the path: a field is optional when its parent is).

    ``as_writer``: what messages written with ``contract`` carry. An Avro datum always carries every
    field of its writer schema, so an Avro writer's default is still a value on the wire (what the
    producer puts there is ``@produces``'s business). In JSON Schema ``default`` is an annotation only:
    nobody fills it in, so a ``required`` property is sent whether or not it has one, and a property
    that is not required may be left out (``defaulted`` when it has a default, ``optional`` when not)."""
    try:
        steps = contract.walk(parse_path(path))
    except ContractError:
        return REMOVED
    if contract.format == "protobuf":
        return _protobuf_status(contract, path)
    worst = SENT
    for prop, node in steps:
        if prop.node.accepts(None) or node.accepts(None):
            here = NULLABLE
        elif as_writer and contract.format == "avro":
            here = SENT
        elif prop.required and contract.format == "jsonschema":
            here = SENT  # JSON Schema's ``default`` is an annotation: it fills nothing, and a required key is sent
        elif prop.has_default:
            here = DEFAULTED
        elif not prop.required:
            here = OPTIONAL
        else:
            here = SENT
        worst = min(worst, here, key=_ORDER.index)
    return worst


_ORDER = [REMOVED, NULLABLE, DEFAULTED, OPTIONAL, SENT]


def writer_path(reader: Contract, writer: Contract, path: str) -> str | None:
    """``path``, named as ``reader`` names its fields, named as ``writer`` names the same fields.

    For two protobuf contracts the fields are matched by number, as the wire matches them (a field
    renamed in ``writer`` is the same field; one of the same name with another number is not):
    None when ``writer`` has no field of that number at some step, or has one that is not a message
    where the path goes on. Any other pair, or a path ``reader`` does not have: ``path`` itself."""
    if reader.format != "protobuf" or writer.format != "protobuf":
        return path
    try:
        steps = parse_path(path).steps
    except ContractError:
        return path
    mine, theirs = reader.native.descriptor, writer.native.descriptor
    parts: list[str] = []
    for index, (name, arrays) in enumerate(steps):
        field = next((f for f in mine.fields if f.json_name == name), None)
        if field is None:
            return path  # not the reader's field: judged by name (unknown, or removed)
        other = theirs.fields_by_number.get(field.number)
        if other is None:
            return None
        parts.append(other.json_name + "[]" * arrays)
        if index < len(steps) - 1:
            mine, theirs = field.message_type, other.message_type
            if mine is None:
                return path
            if theirs is None:
                return None
    return ".".join(parts)


def _carried(reader: Contract, writer: Contract, path: str, *, as_writer: bool = False) -> str:
    """The status in ``writer`` of the field ``reader`` calls ``path`` (:func:`writer_path`)."""
    found = writer_path(reader, writer, path)
    return REMOVED if found is None else status(writer, found, as_writer=as_writer)


def _protobuf_status(contract: Contract, path: str) -> str:
    """A protobuf field is ``sent`` where presence is on the wire (explicit presence, ``required``, a
    repeated field: a consumer can be told it was not sent) and ``defaulted`` without presence (a
    reader reads its zero value whether or not it was written: a field that loses presence breaks a
    consumer that requires it)."""
    descriptor = contract.native.descriptor
    for index, (name, _arrays) in enumerate(parse_path(path).steps):
        field = next((f for f in descriptor.fields if f.json_name == name), None)
        if field is None:
            return REMOVED
        if not (field.is_repeated or field.has_presence or field.is_required):
            return DEFAULTED
        if index < len(parse_path(path).steps) - 1:
            descriptor = field.message_type
            if descriptor is None:
                return REMOVED
    return SENT


def problems(
    new: Contract,
    previous: Sequence[Contract],
    pairs: Sequence[tuple[Contract, Contract]],
    consumers: Iterable[Any],
) -> list[Problem]:
    """What the change from ``previous`` to ``new`` breaks for ``consumers``.

    Each consumer's fields are checked together with the contracts' own ``critical`` lists.
    ``pairs`` are the (reader, writer) pairs the compatibility mode compares; ``previous`` the versions
    the new one is compared with."""
    found: list[Problem] = []
    # the contract's own critical fields add to every consumer's (DESIGN: "critical")
    critical = [*new.critical, *(path for old in previous for path in old.critical)]
    for consumer in (as_consumer(c) for c in consumers):
        if not consumer.applies_to(new.ref.name):
            continue
        for path in dict.fromkeys([*consumer.fields, *critical]):
            found += _for_field(consumer, path, new, previous, pairs)
    return found


def _for_field(
    consumer: Consumer,
    path: str,
    new: Contract,
    previous: Sequence[Contract],
    pairs: Sequence[tuple[Contract, Contract]],
) -> list[Problem]:
    found: list[Problem] = []
    versions = [new, *previous]
    if all(status(version, path) == REMOVED for version in versions):
        names = ", ".join(str(v.ref) for v in versions)
        return [
            Problem(
                CONSUMER_FIELD_UNKNOWN,
                _pointer(new, path),
                f"consumer {consumer.name} requires '{path}', which none of {names} has",
                field=path,
                consumer=consumer.name,
            )
        ]
    for reader, writer in pairs:
        if status(reader, path) != REMOVED and _carried(reader, writer, path) == REMOVED:
            found.append(
                Problem(
                    CONSUMER_FIELD_NOT_IN_WRITER,
                    _pointer(reader, path),
                    f"consumer {consumer.name} requires '{path}', but data written with {writer.ref} has no such "
                    f"field: reading it with {reader.ref} yields {_filled(reader, path)}, never a value that was sent",
                    field=path,
                    reader=str(reader.ref),
                    writer=str(writer.ref),
                    consumer=consumer.name,
                )
            )
        elif (
            writer.format == "protobuf"
            and status(reader, path) == SENT
            and _carried(reader, writer, path, as_writer=True) == DEFAULTED
        ):
            found.append(
                Problem(
                    CONSUMER_FIELD_DEFAULTED,
                    _pointer(reader, path),
                    f"consumer {consumer.name} requires '{path}', but data written with {writer.ref} carries it "
                    f"without presence: its zero value is never on the wire, so {reader.ref} reads such a message "
                    "as not sending it",
                    field=path,
                    reader=str(reader.ref),
                    writer=str(writer.ref),
                    consumer=consumer.name,
                )
            )
    for old in previous:
        if status(old, path) != SENT:
            continue
        now = _carried(old, new, path)  # protobuf: the field old sends, by its number in new
        if now != SENT:
            found.append(
                Problem(
                    _KIND[now],
                    _pointer(new if now != REMOVED else old, path),
                    f"consumer {consumer.name} requires '{path}', which {old.ref} always sends; {new.ref} "
                    f"{_change(now)}",
                    field=path,
                    reader=str(old.ref),
                    writer=str(new.ref),
                    consumer=consumer.name,
                )
            )
    return found


def _change(now: str) -> str:
    return {
        REMOVED: "removes it",
        NULLABLE: "lets it be null",
        DEFAULTED: "gives it a default, so a producer that leaves it out still passes and readers get the default",
        OPTIONAL: "no longer requires it",
    }[now]


def _filled(reader: Contract, path: str) -> str:
    try:
        field = reader.field(path)
    except ContractError:
        return "nothing"
    if field.has_default:
        return f"the reader's default {field.default!r}"
    return "no value (an error or a missing key)"


def _pointer(contract: Contract, path: str) -> str:
    word = "fields" if contract.format == "avro" else "properties"
    parts: list[str] = []
    for name, arrays in parse_path(path).steps:
        parts += [word, name] + ["items"] * arrays
    return "/" + "/".join(parts)
