"""Was it sent? For protobuf messages, decided on the wire's own evidence.

Protobuf has no null and no reader defaults to resolve: a reader parses the writer's bytes with its
own class, and a field whose tag is not in the bytes reads as its zero value (``""``, ``0``, the
enum's first value). What tells "sent" from "zero" is presence:

- a field with **explicit presence** (proto2 ``optional``, proto3 ``optional``, a message field, a
  ``oneof`` member, editions' ``EXPLICIT``) is sent when its tag is on the wire: ``HasField`` on the
  parse of the writer's bytes (read with the reader's class: the field numbers are the identity, so
  a tag the writer wrote is the reader's field exactly when their numbers and wire types agree, which
  the writer's plan checks once);
- a field with **implicit presence** (a plain proto3 scalar, string, bytes or enum) is never written
  when it holds its zero value, so its absence proves nothing: a critical declaration on one is
  refused at declaration, with the fix (``optional``), unless the contract's ``presence`` policy is
  ``zero-is-unsent`` (its zero value counts as not sent);
- a repeated or map field is sent when it is not empty.

Enums: an open enum (proto3) keeps a number the reader does not know, which is
:class:`FieldTypeError` reason ``unknown-enum-value``; a closed enum (proto2) moves it to the
unknown fields and the field reads as its default, which is :class:`MissingCriticalField` with the
same reason, naming the number.

Per (reader, writer) pair, decided once (:func:`writer_gaps`): a critical field number the writer's
message lacks is ``not-in-writer-schema`` for every message that writer sends (the trap); a number
the writer declares with an incompatible wire type is :class:`FieldTypeError` for every message.
"""

from __future__ import annotations

import inspect
import keyword
import typing
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from math import isfinite
from typing import Any

from syscontract.contract import Contract, FieldPath
from syscontract.errors import (
    ContractDeclarationError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
)

__all__ = ["FastStep", "ProtoCheck", "Step", "as_dict", "wants_dict", "writer_gaps"]

FastStep = tuple[str, str, Any, "frozenset[int] | None", Any]
"""One step of a critical path for the generated fast path (:meth:`ProtoCheck.fast_paths`)."""


@dataclass(frozen=True)
class Step:
    """One step of a critical path in the reader's message: the field, and how it is judged."""

    name: str  # the field's protobuf name (the attribute)
    json: str  # its JSON name (the contract's field name)
    number: int
    field: Any  # FieldDescriptor
    arrays: int
    presence: str  # "explicit", "implicit" (only under zero-is-unsent), "repeated"
    enum_numbers: frozenset[int] | None  # an open enum's known numbers (None: not an open enum)
    closed_enum: bool  # a closed enum (or a list or map of one): what the reader does not know is dropped
    is_map: bool = False  # a map field: its values (not its keys) are what the enum test reads


def _wire_class(field: Any) -> str:
    """Fields that read each other's bytes as their own (the wire-compatible groups protobuf's
    language guide lists for changing a field's type)."""
    from google.protobuf.descriptor import FieldDescriptor as F

    groups = {
        F.TYPE_INT32: "varint",
        F.TYPE_INT64: "varint",
        F.TYPE_UINT32: "varint",
        F.TYPE_UINT64: "varint",
        F.TYPE_BOOL: "varint",
        F.TYPE_ENUM: "varint",
        F.TYPE_SINT32: "zigzag",
        F.TYPE_SINT64: "zigzag",
        F.TYPE_FIXED32: "fixed32",
        F.TYPE_SFIXED32: "fixed32",
        F.TYPE_FLOAT: "float",
        F.TYPE_FIXED64: "fixed64",
        F.TYPE_SFIXED64: "fixed64",
        F.TYPE_DOUBLE: "double",
        F.TYPE_STRING: "text",
        F.TYPE_BYTES: "text",
        F.TYPE_MESSAGE: "message",
        F.TYPE_GROUP: "group",
    }
    kind = groups.get(field.type, str(field.type))
    return f"repeated {kind}" if field.is_repeated else kind


_NUMERIC = frozenset({"varint", "zigzag", "fixed32", "float", "fixed64", "double"})


def _reads(reader: Any, writer: Any) -> bool:
    """Whether the reader's field reads the writer's bytes of the same number as its own: the same
    wire class, or a numeric one written singular and read as a list (a parser of a repeated field
    takes unpacked elements; the reverse, a packed list read by a singular field, is not parsed)."""
    mine, theirs = _wire_class(reader), _wire_class(writer)
    return mine == theirs or (mine == f"repeated {theirs}" and theirs in _NUMERIC)


def _type_name(field: Any) -> str:
    from google.protobuf.descriptor import FieldDescriptor as F

    names = {v: k[5:].lower() for k, v in vars(F).items() if k.startswith("TYPE_") and isinstance(v, int)}
    if field.message_type is not None:
        base = field.message_type.full_name
    elif field.enum_type is not None:
        base = field.enum_type.full_name
    else:
        base = names.get(field.type, str(field.type))
    return f"repeated {base}" if field.is_repeated else base


class ProtoCheck:
    """The critical paths of one declaration on a protobuf contract, resolved to field numbers."""

    def __init__(self, contract: Contract, paths: Sequence[FieldPath]) -> None:
        self.contract = contract
        self.ref = str(contract.ref)
        self.schema = contract.native
        self.message_class = self.schema.message_class
        self.paths = tuple(paths)
        self.steps: tuple[tuple[Step, ...], ...] = tuple(self._resolve(path) for path in self.paths)
        # a dict's values decide too (in_mapping): a zero counted as not sent (presence =
        # zero-is-unsent), an empty list or map (not sent in protobuf)
        self.judges_mappings = any(step.presence != "explicit" for steps in self.steps for step in steps)
        from google.protobuf.message import Message

        self.base: type[Any] = Message

    def fast_paths(self) -> tuple[tuple[FastStep, ...] | None, ...]:
        """Each critical path as straight-line steps for the generated fast path: ``(attribute,
        presence, zero value, open enum's numbers, the HasField function of the message class the
        step reads)``; None for a path no straight line judges (one through a list, or a field whose
        name is not a plain attribute).

        ``HasField`` is handed unbound: called as ``has(message, name)`` it skips the bound method
        an attribute lookup makes per call (upb's classes share one; the pure-Python runtime's
        classes each have their own, so it is taken from the class of each step's container)."""
        from google.protobuf.message_factory import GetMessageClass

        found: list[tuple[FastStep, ...] | None] = []
        for steps in self.steps:
            plain = all(
                step.name.isidentifier() and not keyword.iskeyword(step.name) and not step.name.startswith("_")
                for step in steps
            )
            through_list = any(step.presence == "repeated" for step in steps[:-1])
            unseen = any(step.closed_enum or (step.is_map and step.enum_numbers is not None) for step in steps)
            if through_list or unseen or not plain:
                found.append(None)
                continue
            found.append(
                tuple(
                    (
                        s.name,
                        s.presence,
                        s.field.default_value,
                        s.enum_numbers,
                        GetMessageClass(s.field.containing_type).HasField,
                    )
                    for s in steps
                )
            )
        return tuple(found)

    def adopt(self, message: Any) -> tuple[Any, ContractViolation | None]:
        """A message of another class (the producer's own generated class, another version) as the
        reader's message: its bytes parsed with the reader's class, after what its message type lacks
        (a critical number it does not have) is decided as for a writer on the wire."""
        descriptor = message.DESCRIPTOR
        label = descriptor.full_name
        for error in writer_gaps(self, _Described(descriptor), label):
            error.decoded = message
            return message, error
        from google.protobuf.message import DecodeError as ProtoDecodeError

        try:
            return self.message_class.FromString(message.SerializeToString()), None
        except (ProtoDecodeError, RuntimeError, ValueError) as exc:
            raise DecodeError(
                f"the {label} message cannot be read as {self.schema.full_name} ({exc})",
                contract=self.ref,
                reason="bad-protobuf",
                writer=label,
                payload=message,
            ) from exc

    def _resolve(self, path: FieldPath) -> tuple[Step, ...]:
        descriptor = self.schema.descriptor
        steps: list[Step] = []
        for index, (name, arrays) in enumerate(path.steps):
            by_json = {f.json_name: f for f in descriptor.fields}
            field = by_json.get(name)
            if field is None:  # pragma: no cover - Contract.walk resolved the same names first
                raise ContractDeclarationError(
                    f"has no field {path.text!r}", contract=self.ref, field=path.text, reason="unknown-field"
                )
            last = index == len(path.steps) - 1
            if field.is_repeated:
                presence = "repeated"
            elif field.has_presence:
                presence = "explicit"
            elif self.schema.presence == "zero-is-unsent":
                presence = "implicit"
            else:
                raise ContractDeclarationError(
                    f"critical field {path.text!r} ({field.full_name} = {field.number}, {_type_name(field)}) has "
                    "no presence in protobuf: a field that was never written and one sent as its zero value "
                    f"({_zero(field)}) are the same bytes, so 'not sent' cannot be told apart. Fix: declare it "
                    f"{_explicit(field)} (wire-compatible), "
                    'or opt into counting the zero as not sent (presence = "zero-is-unsent" in contract.toml)',
                    contract=self.ref,
                    field=path.text,
                    reason="no-presence",
                )
            is_map = bool(
                field.is_repeated and field.message_type is not None and field.message_type.GetOptions().map_entry
            )
            enum = field.message_type.fields_by_name["value"].enum_type if is_map else field.enum_type
            closed = bool(enum is not None and enum.is_closed)
            numbers = frozenset(v.number for v in enum.values) if enum is not None and not closed else None
            steps.append(Step(field.name, name, field.number, field, arrays, presence, numbers, closed, is_map))
            if not last:
                descriptor = field.message_type
        return tuple(steps)

    # -- per message ---------------------------------------------------------------------------

    def in_mapping(self, payload: Any, position: int) -> MissingCriticalField | None:
        """Critical path ``position`` of a mapping in protobuf's JSON mapping (already found present,
        not null and of its type), judged as its message would be: an empty list or map is not sent,
        and a field without presence that holds its zero value (``"BASIC"``, ``""``, ``"0"``, ``0``)
        counts as not sent under ``zero-is-unsent``, as in the message and its bytes."""
        steps = self.steps[position]
        if all(step.presence == "explicit" for step in steps):
            return None
        return self._zero_walk(self.paths[position], steps, 0, payload, "")

    def _zero_walk(
        self, path: FieldPath, steps: tuple[Step, ...], index: int, value: Any, walked: str
    ) -> MissingCriticalField | None:
        step = steps[index]
        if not isinstance(value, Mapping) or step.json not in value:
            return None  # the mapping's own walk judged its shape
        here = f"{walked}.{step.json}" if walked else step.json
        item = value[step.json]
        if step.presence == "implicit":  # a scalar: the last step
            return self._zero_value(path, step, item, here)
        if step.presence == "repeated" and isinstance(item, (list, Mapping)) and not item:
            return self._missing(path, "absent", f"{here!r} is empty: no element was sent")
        if index == len(steps) - 1:
            return None
        if step.presence == "repeated" and isinstance(item, list):
            for number, element in enumerate(item):
                error = self._zero_walk(path, steps, index + 1, element, f"{here}[{number}]")
                if error is not None:
                    return error
            return None
        return self._zero_walk(path, steps, index + 1, item, here)

    def _zero_value(self, path: FieldPath, step: Step, item: Any, here: str) -> MissingCriticalField | None:
        from google.protobuf import json_format
        from google.protobuf.message_factory import GetMessageClass

        try:  # the value as protobuf reads it from the JSON mapping ("0", 0, "BASIC", "")
            holder = json_format.ParseDict({step.json: item}, GetMessageClass(step.field.containing_type)())
        except (json_format.ParseError, TypeError, ValueError):
            return None  # not a value of the field's type: the mapping's own walk said so
        if getattr(holder, step.name) != step.field.default_value:
            return None
        return self._missing(
            path,
            "zero",
            f"{here!r} holds its zero value {_zero(step.field)}, which this contract counts as not sent "
            "(presence = zero-is-unsent)",
        )

    def diagnose(self, message: Any) -> ContractViolation | None:
        """The first critical path ``message`` (of the reader's class) did not send, or None."""
        for path, steps in zip(self.paths, self.steps, strict=True):
            error = self._walk(path, steps, 0, message, "")
            if error is not None:
                return error
        return None

    def _walk(
        self, path: FieldPath, steps: tuple[Step, ...], index: int, message: Any, walked: str
    ) -> ContractViolation | None:
        step = steps[index]
        here = f"{walked}.{step.json}" if walked else step.json
        last = index == len(steps) - 1
        if step.presence == "repeated":
            value = getattr(message, step.name)
            if step.closed_enum:
                dropped = self._dropped(path, step, message, here)
                if dropped is not None:
                    return dropped
            if not len(value):
                return self._missing(path, "absent", f"{here!r} is empty: no element was sent")
            if last:
                if step.enum_numbers is None:
                    return None
                return self._enum_values(path, step, list(value.values() if step.is_map else value), here)
            for position, element in enumerate(value):
                error = self._walk(path, steps, index + 1, element, f"{here}[{position}]")
                if error is not None:
                    return error
            return None
        if step.presence == "explicit":
            if not message.HasField(step.name):
                return self._not_set(path, step, message, here)
            if step.closed_enum:
                dropped = self._dropped(path, step, message, here)
                if dropped is not None:
                    return dropped
        else:  # implicit, counted as not sent when zero (the contract's policy)
            if getattr(message, step.name) == step.field.default_value:
                return self._missing(
                    path,
                    "zero",
                    f"{here!r} holds its zero value {_zero(step.field)}, which this contract counts as not sent "
                    "(presence = zero-is-unsent)",
                )
        value = getattr(message, step.name)
        if last:
            return self._enum_values(path, step, [value], here) if step.enum_numbers is not None else None
        return self._walk(path, steps, index + 1, value, here)

    def _not_set(self, path: FieldPath, step: Step, message: Any, here: str) -> MissingCriticalField:
        if step.closed_enum:
            unknown = _unknown_numbers(message, step.number)
            if unknown:
                return self._missing(
                    path,
                    "unknown-enum-value",
                    f"{here!r} was sent as the number {unknown[-1]}, which the closed enum "
                    f"{step.field.enum_type.full_name} does not define: protobuf keeps it in unknown fields and "
                    f"reads the field as its default {_zero(step.field)}, which was not used",
                )
        oneof = step.field.containing_oneof
        if oneof is not None and len(oneof.fields) > 1:
            chosen = message.WhichOneof(oneof.name)
            if chosen is not None:
                return self._missing(
                    path, "absent", f"the oneof {oneof.name!r} carries {chosen!r}, not {step.name!r}, at {here!r}"
                )
        default = f"; the reader's default {_zero(step.field)} was not used" if step.field.message_type is None else ""
        return self._missing(path, "absent", f"no tag {step.number} ({step.name}) at {here!r} on the wire{default}")

    def _dropped(self, path: FieldPath, step: Step, message: Any, here: str) -> MissingCriticalField | None:
        """A closed enum (or a list or map of one) that was sent a number the reader does not know:
        protobuf moved it to the unknown fields and kept what it knew (an earlier value, the rest of
        the list or map), which is not what the writer sent. (No try: protobuf >= 5.29, the extra's
        floor, has ``UnknownFieldSet``; a check that cannot look would pass what it cannot see.)"""
        from google.protobuf.unknown_fields import UnknownFieldSet

        unknown = [entry.data for entry in UnknownFieldSet(message) if entry.field_number == step.number]
        if not unknown:
            return None
        sent = unknown[-1]
        if step.is_map:  # the whole entry was moved: the number is the entry's value, its field 2
            from google.protobuf import empty_pb2
            from google.protobuf.message import DecodeError as ProtoDecodeError

            try:
                entry = UnknownFieldSet(empty_pb2.Empty.FromString(sent))
                sent = next((item.data for item in entry if item.field_number == 2), sent)
            except ProtoDecodeError:  # pragma: no cover - upb moved an entry it had parsed
                pass
        return self._missing(
            path,
            "unknown-enum-value",
            f"{here!r} was sent with the number {sent!r}, which the closed enum {_enum(step).full_name} does not "
            "define: protobuf keeps it in unknown fields and hands on what it knew without it",
        )

    def _enum_values(self, path: FieldPath, step: Step, values: list[Any], here: str) -> FieldTypeError | None:
        assert step.enum_numbers is not None
        for value in values:
            if value not in step.enum_numbers:
                return FieldTypeError(
                    f"critical field {path.text!r} was sent as the enum number {value} at {here!r}, which "
                    f"{_enum(step).full_name} does not define (this reader does not know it)",
                    contract=self.ref,
                    field=path.text,
                    reason="unknown-enum-value",
                )
        return None

    def _missing(self, path: FieldPath, reason: str, detail: str) -> MissingCriticalField:
        return MissingCriticalField(
            f"critical field {path.text!r} was not sent ({detail})", contract=self.ref, field=path.text, reason=reason
        )


def writer_gaps(check: ProtoCheck, writer: Any, label: str) -> list[ContractViolation]:
    """What every message of ``writer`` (a :class:`~syscontract.formats.protobuf.ProtoSchema`) lacks,
    per critical path, decided once: the number is not in its message (``not-in-writer-schema``), or
    it is with a type whose bytes the reader's field cannot read (``FieldTypeError``)."""
    found: list[ContractViolation] = []
    for path, steps in zip(check.paths, check.steps, strict=True):
        descriptor = writer.descriptor
        for index, step in enumerate(steps):
            theirs = descriptor.fields_by_number.get(step.number)
            if theirs is None:
                default = ""
                if step.field.message_type is None and not step.field.is_repeated:
                    default = f"; the reader's default {_zero(step.field)} was not used"
                found.append(
                    MissingCriticalField(
                        f"critical field {path.text!r} was not sent (writer schema {label} has no field number "
                        f"{step.number} ({step.name}) in {descriptor.full_name}{default})",
                        contract=check.ref,
                        field=path.text,
                        reason="not-in-writer-schema",
                        writer=label,
                    )
                )
                break
            if not _reads(step.field, theirs):
                found.append(
                    FieldTypeError(
                        f"critical field {path.text!r}: the writer {label} declares field {step.number} as "
                        f"{theirs.name} ({_type_name(theirs)}), which this contract's {step.name} "
                        f"({_type_name(step.field)}) cannot read",
                        contract=check.ref,
                        field=path.text,
                        reason="type",
                        writer=label,
                    )
                )
                break
            if index < len(steps) - 1:
                descriptor = theirs.message_type
    return found


@dataclass(frozen=True)
class _Described:
    descriptor: Any


def _explicit(field: Any) -> str:
    """The declaration of ``field`` with explicit presence, in its file's own syntax: proto3's
    ``optional``, or an editions file's ``features.field_presence = EXPLICIT``."""
    from google.protobuf import descriptor_pb2

    kind = _type_name(field).split(".")[-1]
    syntax = descriptor_pb2.FileDescriptorProto.FromString(field.file.serialized_pb).syntax
    if syntax == "editions":
        return f"'{kind} {field.name} = {field.number} [features.field_presence = EXPLICIT];'"
    return f"'optional {kind} {field.name} = {field.number};'"


def _enum(step: Step) -> Any:
    """The enum a step's values are numbers of: the field's own, or a map's values'."""
    if step.is_map:
        return step.field.message_type.fields_by_name["value"].enum_type
    return step.field.enum_type


def _zero(field: Any) -> str:
    if field.enum_type is not None:
        value = field.enum_type.values_by_number.get(field.default_value)
        return value.name if value is not None else str(field.default_value)
    return repr(field.default_value)


def _unknown_numbers(message: Any, number: int) -> list[int]:
    """The values of field ``number`` kept in ``message``'s unknown fields (a closed enum's
    numbers the reader does not know)."""
    try:
        from google.protobuf.unknown_fields import UnknownFieldSet

        return [entry.data for entry in UnknownFieldSet(message) if entry.field_number == number]
    except Exception:  # pragma: no cover - a runtime without unknown-field access: the reason stays "absent"
        return []


def as_dict(message: Any) -> dict[str, Any]:
    """A message as the dict of what its writer wrote, in protobuf's JSON mapping: the fields with
    presence that are set, the others only when not zero (``json_format.MessageToDict`` with
    ``always_print_fields_with_no_presence`` off: no zero value stands in for an unsent field), keys
    the JSON names (the contract's paths), enums by name (a number the reader does not know as the
    number), 64-bit integers as strings, bytes in base64.

    The same dict as ``MessageToDict`` (tests hold it to that), walked from a plan made once per
    message type: its printer looks at every field's descriptor again for every value, which costs
    several times the walk. Well-known types and extensions are left to ``MessageToDict`` itself."""
    try:
        found: dict[str, Any] = _walk(message)
    except Exception as exc:  # json_format.SerializeToJsonError, a runtime's ValueError: not a dict
        raise DecodeError(
            f"the protobuf message {message.DESCRIPTOR.full_name} has no JSON mapping: {exc}",
            reason="bad-protobuf",
        ) from exc
    return found


_PLANS: dict[Any, Any] = {}  # message descriptor -> {field descriptor: (JSON name, convert)} or _WHOLE
_PLANS_MAX = 1024
_WHOLE = object()  # a message type MessageToDict converts itself (a well-known type)


def _walk(message: Any) -> Any:
    descriptor = message.DESCRIPTOR
    plan = _PLANS.get(descriptor)
    if plan is None:
        plan = _plan(descriptor)
    if plan is _WHOLE:
        from google.protobuf import json_format

        return json_format.MessageToDict(message)
    found: dict[str, Any] = {}
    try:
        for field, value in message.ListFields():
            name, convert = plan[field]
            found[name] = convert(value)
    except KeyError:  # an extension, or a descriptor object the plan does not hold: the printer's way
        from google.protobuf import json_format

        return json_format.MessageToDict(message)
    return found


def _plan(descriptor: Any) -> Any:
    from google.protobuf import json_format

    plan: Any
    if descriptor.full_name.startswith("google.protobuf.") or descriptor.file.name.startswith("google/protobuf/"):
        plan = _WHOLE
    else:
        try:
            printer = json_format._Printer()  # its per-value conversion, for the kinds not written here
            plan = {field: (field.json_name, _converter(field, printer)) for field in descriptor.fields}
        except Exception:  # pragma: no cover - a runtime whose printer differs: MessageToDict itself
            plan = _WHOLE
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[descriptor] = plan
    return plan


def _converter(field: Any, printer: Any) -> Any:
    """How one field's value (as ``ListFields`` gives it) becomes its JSON mapping."""

    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        convert = _single(value_field, printer)
        return lambda value: {_map_key(key): convert(item) for key, item in value.items()}
    single = _single(field, printer)
    if field.is_repeated:
        return lambda value: [single(item) for item in value]
    return single


def _single(field: Any, printer: Any) -> Any:
    from google.protobuf.descriptor import FieldDescriptor as F

    if field.cpp_type == F.CPPTYPE_MESSAGE:
        return _walk
    if field.cpp_type == F.CPPTYPE_ENUM:
        # each number the enum defines, as the printer writes it (its name, a JSON name option, or
        # None for NullValue); any other number asks the printer (an open enum's: the number)
        names = {value.number: printer._FieldToJsonObject(field, value.number) for value in field.enum_type.values}
        return lambda value: names[value] if value in names else printer._FieldToJsonObject(field, value)
    if field.type in (F.TYPE_STRING, F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32, F.TYPE_UINT32, F.TYPE_FIXED32):
        return _same
    if field.type == F.TYPE_BOOL:
        return bool
    if field.type == F.TYPE_DOUBLE:  # a finite double is itself; "NaN", "Infinity" as the printer writes them
        return lambda value: value if isfinite(value) else printer._FieldToJsonObject(field, value)
    return lambda value: printer._FieldToJsonObject(field, value)  # 64-bit, float32, bytes


def _same(value: Any) -> Any:
    return value


def _map_key(key: Any) -> str:
    if key is True:
        return "true"
    if key is False:
        return "false"
    return str(key)


_DICT_ANNOTATIONS = frozenset({dict, Mapping, MutableMapping})
_DICT_NAMES = frozenset({"dict", "Dict", "Mapping", "MutableMapping"})


def wants_dict(handler: Any, parameter: str) -> bool:
    """Whether ``handler`` declares its message ``parameter`` a dict (``dict``, ``dict[str, Any]``,
    ``Mapping``, ...): a protobuf contract's handler then receives the message as :func:`as_dict`
    makes it, not the reader's message class. Read once, at declaration."""
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # a forward reference that does not resolve: the annotation as written
        hints = {}
    annotation = hints.get(parameter)
    if annotation is None:
        try:
            annotation = inspect.signature(handler).parameters[parameter].annotation
        except (TypeError, ValueError, KeyError):
            return False
    if isinstance(annotation, str):  # postponed and unresolvable: its outermost name
        return annotation.split("[", 1)[0].strip().rsplit(".", 1)[-1] in _DICT_NAMES
    return (typing.get_origin(annotation) or annotation) in _DICT_ANNOTATIONS
