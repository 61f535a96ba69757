"""Protobuf compatibility: can a reader's message read what a writer's message writes, field number by
field number, and what a new version's changes break for readers of the old one.

Reader/writer rules (:func:`problems`, used by every mode as for Avro: BACKWARD compares the new
version reading the old one's data, FORWARD the reverse, FULL both):

- ``FIELD_WIRE_COMPATIBLE_TYPE``: a number both declare with types whose bytes do not read as each
  other (the groups protobuf's language guide lists: int32, uint32, int64, uint64, bool and enum;
  sint32 and sint64; fixed32 and sfixed32; fixed64 and sfixed64; string and bytes, except bytes
  written for a string reader, which may not be UTF-8), or a message and anything else; an enum
  replaced by another enum that gives a number another name (another meaning), as Buf's
  ``FIELD_WIRE_COMPATIBLE_TYPE`` vectors have it;
- ``FIELD_WIRE_COMPATIBLE_CARDINALITY``: singular on one side, repeated on the other (a singular
  number reads as a one-element list; a list of numbers, packed, does not read as a singular
  field; a string and a repeated string do not read each other);
- ``MISSING_ENUM_SYMBOLS``: a closed (proto2) enum of the reader lacks a number the writer's enum has
  (the value lands in unknown fields and the field reads as its default);
- ``REQUIRED_FIELD_ADDED``: a proto2 ``required`` field of the reader that the writer does not have.

Change rules (:func:`changes`, the new version against the old, whatever the mode, as Buf's ``WIRE``
rules): ``FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED``, ``ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED``
(a number deleted without reserving it: a later field may reuse it with another meaning) and
``FIELD_SAME_ONEOF`` (a field moved into or out of a oneof). Messages and enums are matched by full
name, and the contract's own message with the old contract's whatever its name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from syscontract.compat._model import Problem
from syscontract.contract import Contract

__all__ = [
    "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
    "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
    "FIELD_SAME_ONEOF",
    "FIELD_WIRE_COMPATIBLE_CARDINALITY",
    "FIELD_WIRE_COMPATIBLE_TYPE",
    "MISSING_ENUM_SYMBOLS",
    "REQUIRED_FIELD_ADDED",
    "changes",
    "compare_messages",
    "problems",
]

FIELD_WIRE_COMPATIBLE_TYPE = "FIELD_WIRE_COMPATIBLE_TYPE"
FIELD_WIRE_COMPATIBLE_CARDINALITY = "FIELD_WIRE_COMPATIBLE_CARDINALITY"
MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
REQUIRED_FIELD_ADDED = "REQUIRED_FIELD_ADDED"
FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED = "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"
ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED = "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"
FIELD_SAME_ONEOF = "FIELD_SAME_ONEOF"

# FieldDescriptor.TYPE_* numbers (descriptor.proto), grouped by what reads what on the wire
_GROUPS = {
    5: "varint",  # int32
    3: "varint",  # int64
    13: "varint",  # uint32
    4: "varint",  # uint64
    8: "varint",  # bool
    14: "varint",  # enum
    17: "zigzag",  # sint32
    18: "zigzag",  # sint64
    7: "fixed32",  # fixed32
    15: "fixed32",  # sfixed32
    2: "float",
    6: "fixed64",  # fixed64
    16: "fixed64",  # sfixed64
    1: "double",
    9: "text",  # string
    12: "text",  # bytes
    11: "message",
    10: "group",
}
_PACKABLE = frozenset({"varint", "zigzag", "fixed32", "float", "fixed64", "double"})
_STRING, _BYTES = 9, 12


def problems(reader: Contract, writer: Contract) -> list[Problem]:
    """Every reason ``reader``'s message cannot read what ``writer``'s message writes."""
    return compare_messages(reader.native.descriptor, writer.native.descriptor)


def compare_messages(reader: Any, writer: Any) -> list[Problem]:
    """Reader/writer problems between two message descriptors, through the message types their
    fields share a number with (each pair once)."""
    found: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    _messages(reader, writer, "", found, seen)
    return found


def _messages(reader: Any, writer: Any, prefix: str, found: list[Problem], seen: set[tuple[str, str]]) -> None:
    key = (reader.full_name, writer.full_name)
    if key in seen:
        return
    seen.add(key)
    for mine in reader.fields:
        here = f"{prefix}{mine.json_name}"
        theirs = writer.fields_by_number.get(mine.number)
        if theirs is None:
            if mine.is_required:
                found.append(_problem(REQUIRED_FIELD_ADDED, here, f"{mine.full_name} is required; {writer.full_name} "
                                      f"has no field {mine.number}, so its messages fail to parse"))  # fmt: skip
            continue
        problem = _field(mine, theirs)
        if problem is not None:
            found.append(_problem(problem[0], here, problem[1]))
            continue
        if mine.message_type is not None and theirs.message_type is not None:
            _messages(mine.message_type, theirs.message_type, here + ("[]." if mine.is_repeated else "."), found, seen)


def _field(reader: Any, writer: Any) -> tuple[str, str] | None:
    mine, theirs = _GROUPS.get(reader.type, "?"), _GROUPS.get(writer.type, "?")
    where = f"field {reader.number} ({reader.full_name} reading {writer.full_name})"
    if reader.is_repeated != writer.is_repeated and not (mine == theirs and mine in _PACKABLE and reader.is_repeated):
        if mine == theirs and mine in _PACKABLE:  # proto3 packs a repeated number: a singular field skips it
            return FIELD_WIRE_COMPATIBLE_CARDINALITY, f"{where}: a packed list cannot be read as a single value"
        return FIELD_WIRE_COMPATIBLE_CARDINALITY, f"{where}: one is repeated, the other is not"
    if _is_map(reader) != _is_map(writer):
        return FIELD_WIRE_COMPATIBLE_CARDINALITY, f"{where}: one is a map, the other is not"
    if mine != theirs:
        return FIELD_WIRE_COMPATIBLE_TYPE, f"{where}: {_type(writer)} cannot be read as {_type(reader)}"
    if reader.type == _STRING and writer.type == _BYTES:
        return FIELD_WIRE_COMPATIBLE_TYPE, f"{where}: bytes that are not UTF-8 fail to parse as a string"
    if reader.enum_type is not None and writer.enum_type is not None:
        if reader.enum_type.full_name != writer.enum_type.full_name:
            names = {v.number: v.name for v in writer.enum_type.values}
            renamed = [
                f"{v.number} ({v.name} / {names[v.number]})"
                for v in reader.enum_type.values
                if v.number in names and names[v.number] != v.name
            ]
            if renamed:
                return FIELD_WIRE_COMPATIBLE_TYPE, (
                    f"{where}: the enum {writer.enum_type.full_name} stands for {reader.enum_type.full_name} with "
                    "other "
                    f"meanings for {', '.join(renamed)}"
                )
        if reader.enum_type.is_closed:
            known = {v.number for v in reader.enum_type.values}
            unknown = sorted({v.number for v in writer.enum_type.values} - known)
            if unknown:
                return MISSING_ENUM_SYMBOLS, (
                    f"{where}: the closed enum {reader.enum_type.full_name} lacks {unknown}: such a value is moved to "
                    "unknown fields and the field reads as its default"
                )
    return None


def changes(new: Contract, old: Contract) -> list[Problem]:
    """What ``new`` deletes or moves without keeping the wire safe for readers of ``old``: messages
    and enums of the two contracts' files matched by full name, and the contracts' own messages."""
    new_schema, old_schema = new.native, old.native
    found: list[Problem] = []
    pairs = {(new_schema.descriptor.full_name, old_schema.descriptor.full_name)}
    old_messages = dict(_all_messages(old_schema.descriptor.file))
    old_enums = dict(_all_enums(old_schema.descriptor.file))
    for name, _message in _all_messages(new_schema.descriptor.file):
        if name in old_messages:
            pairs.add((name, name))
    new_messages = dict(_all_messages(new_schema.descriptor.file))
    new_messages.setdefault(new_schema.descriptor.full_name, new_schema.descriptor)
    old_messages.setdefault(old_schema.descriptor.full_name, old_schema.descriptor)
    for new_name, old_name in sorted(pairs):
        found += message_changes(new_messages[new_name], old_messages[old_name])
    for name, enum in _all_enums(new_schema.descriptor.file):
        if name in old_enums:
            found += enum_changes(enum, old_enums[name])
    return found


def message_changes(new: Any, old: Any) -> list[Problem]:
    """Fields of ``old`` that ``new`` deletes without reserving the number, or moves in or out of a oneof."""
    found: list[Problem] = []
    reserved = _ranges(new)
    for field in old.fields:
        now = new.fields_by_number.get(field.number)
        if now is None:
            if not any(start <= field.number < end for start, end in reserved):
                found.append(
                    _problem(
                        FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED,
                        field.json_name,
                        f"{new.full_name} deletes field {field.number} ({field.name}) without reserving the number",
                    )
                )
            continue
        if _oneof(field) != _oneof(now):
            found.append(
                _problem(
                    FIELD_SAME_ONEOF,
                    now.json_name,
                    f"field {field.number} of {new.full_name} moves from oneof {_oneof(field)!r} to {_oneof(now)!r}",
                )
            )
    return found


def enum_changes(new: Any, old: Any) -> list[Problem]:
    """Numbers of ``old`` that ``new`` deletes without reserving them."""
    reserved = _ranges(new)
    found = []
    kept = {v.number for v in new.values}
    for number in sorted({v.number for v in old.values}):  # aliases share a number (upb lists it twice)
        if number not in kept and not any(start <= number < end for start, end in reserved):
            found.append(
                _problem(
                    ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED,
                    new.full_name,
                    f"{new.full_name} deletes the value {number} ({old.values_by_number[number].name}) without "
                    "reserving the number",
                )
            )
    return found


def _ranges(descriptor: Any) -> list[tuple[int, int]]:
    """Reserved numbers as half-open ranges (from the descriptor's proto: the runtime does not expose them)."""
    from google.protobuf import descriptor_pb2

    if hasattr(descriptor, "values"):  # an enum: reserved ranges are inclusive
        enum = descriptor_pb2.EnumDescriptorProto()
        descriptor.CopyToProto(enum)
        return [(r.start, r.end + 1) for r in enum.reserved_range]
    message = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(message)
    return [(r.start, r.end) for r in message.reserved_range]


def _oneof(field: Any) -> str | None:
    oneof = field.containing_oneof
    if oneof is None or (len(oneof.fields) == 1 and oneof.name == f"_{field.name}" and field.has_presence):
        return None  # proto3 optional's synthetic oneof
    return str(oneof.name)


def _all_messages(file: Any) -> Iterator[tuple[str, Any]]:
    stack = list(file.message_types_by_name.values())
    while stack:
        message = stack.pop()
        yield message.full_name, message
        stack.extend(message.nested_types)


def _all_enums(file: Any) -> Iterator[tuple[str, Any]]:
    yield from ((e.full_name, e) for e in file.enum_types_by_name.values())
    for _, message in _all_messages(file):
        yield from ((e.full_name, e) for e in message.enum_types)


def _is_map(field: Any) -> bool:
    return bool(field.is_repeated and field.message_type is not None and field.message_type.GetOptions().map_entry)


def _type(field: Any) -> str:
    if field.message_type is not None:
        return str(field.message_type.full_name)
    if field.enum_type is not None:
        return str(field.enum_type.full_name)
    return _NAMES.get(field.type, str(field.type))


_NAMES = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}


def _problem(kind: str, field: str, message: str) -> Problem:
    parts: list[str] = []
    for part in field.split("."):
        parts += ["fields", part.removesuffix("[]")] + (["items"] if part.endswith("[]") else [])
    return Problem(kind, "/" + "/".join(parts), message, field=field)
