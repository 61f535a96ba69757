"""Protobuf message types into the normalized contract view.

A protobuf contract is one message type. It comes from a generated class (``order_pb2.Order``), from
a ``FileDescriptorSet`` (``v3.binpb``, as ``buf build -o`` or ``protoc --descriptor_set_out
--include_imports`` write it; a Schema Registry's base64 ``FileDescriptorProto`` and its references
too), or from ``.proto`` text, compiled by ``grpcio-tools``' bundled ``protoc`` (the extra
``protobuf-compiler``: the one compiler on the package index that installs with pip on every
platform; nothing else is run). The protobuf runtime is the ``protobuf`` package (upb): descriptors
come from its pools, message classes from its message factory.

Field names in the contract view are the JSON names (``customer_tier`` is ``customerTier``), as
Confluent's JSON mapping and every other format of a contract spell them; the field *number* is the
identity on the wire (:class:`ProtoSchema` keeps the descriptors for the engine).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syscontract._types import ARRAY, BOOLEAN, BYTES, INTEGER, NUMBER, OBJECT, STRING, AnyOf, Node, Prop, Shape
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, MissingDependencyError

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, FieldDescriptor

__all__ = ["PRESENCE_POLICIES", "ROOT_MESSAGE", "ProtoSchema", "compile_proto", "parse", "runtime"]

PRESENCE_POLICIES = frozenset({"explicit", "zero-is-unsent"})
"""How a critical field without presence (a plain proto3 scalar, string, bytes or enum) is judged:
``explicit`` (the default) refuses such a declaration, since a zero that was sent and a field that
was never written are the same bytes; ``zero-is-unsent`` counts its zero value as not sent."""

ROOT_MESSAGE = "<root>"
"""``message=ROOT_MESSAGE``: the file's one top-level message that no other message of the file uses
as a field's type (a Schema Registry's schema names no message: its framing does, per message)."""

_SCALARS: dict[int, frozenset[str]] = {}  # FieldDescriptor.TYPE_* -> kinds, filled on first use
_WIDE = frozenset({3, 4, 6, 16, 18})  # int64, uint64, fixed64, sfixed64, sint64: strings in proto3 JSON


def runtime() -> Any:
    """The ``google.protobuf`` package, or :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module("google.protobuf.message_factory")
    except ImportError as exc:  # pragma: no cover - the extra is installed where protobuf is used
        raise MissingDependencyError(
            "protobuf contracts need the protobuf package: pip install 'syscontract[protobuf]'"
        ) from exc


def _kinds(field_type: int) -> frozenset[str]:
    if not _SCALARS:
        from google.protobuf.descriptor import FieldDescriptor as F

        integer = frozenset({INTEGER})
        for t in (F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_SINT32, F.TYPE_FIXED32, F.TYPE_SFIXED32):
            _SCALARS[t] = integer
        for t in (F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_SINT64, F.TYPE_FIXED64, F.TYPE_SFIXED64):
            _SCALARS[t] = frozenset({INTEGER, STRING})  # the JSON mapping writes 64-bit integers as strings
        _SCALARS[F.TYPE_DOUBLE] = _SCALARS[F.TYPE_FLOAT] = frozenset({NUMBER, STRING})  # "NaN", "Infinity"
        _SCALARS[F.TYPE_BOOL] = frozenset({BOOLEAN})
        _SCALARS[F.TYPE_STRING] = frozenset({STRING})
        _SCALARS[F.TYPE_BYTES] = frozenset({BYTES})
    return _SCALARS[field_type]


class ProtoSchema:
    """A protobuf contract's own parsed form (``Contract.native``): the message descriptor, its class,
    the ``FileDescriptorProto`` s it was built from (dependencies first), and the presence policy.

    ``indexes`` is the message's path in its file as Confluent's framing writes it (``[0]``: the
    first top-level message; ``[1, 0]``: the first message nested in the second)."""

    def __init__(self, descriptor: Descriptor, message_class: type[Any], files: Sequence[Any], presence: str) -> None:
        self.descriptor = descriptor
        self.message_class = message_class
        self.files = tuple(files)
        self.presence = presence
        self.full_name: str = descriptor.full_name
        self.indexes = _indexes(descriptor)
        self._lock = threading.Lock()
        self._others: dict[tuple[int, ...], ProtoSchema] = {}

    def __repr__(self) -> str:
        return f"<ProtoSchema {self.full_name}>"

    def select(self, indexes: Sequence[int]) -> ProtoSchema | None:
        """The schema of the message at ``indexes`` in this message's file (None: there is none)."""
        key = tuple(indexes)
        if key == self.indexes:
            return self
        with self._lock:
            found = self._others.get(key)
        if found is not None:
            return found
        file = self.descriptor.file
        candidates: Sequence[Any] = list(file.message_types_by_name.values())
        descriptor = None
        for index in key:
            if not 0 <= index < len(candidates):
                return None
            descriptor = candidates[index]
            candidates = descriptor.nested_types
        if descriptor is None:
            return None
        from google.protobuf.message_factory import GetMessageClass

        made = ProtoSchema(descriptor, GetMessageClass(descriptor), self.files, self.presence)
        with self._lock:
            if len(self._others) < 256:
                self._others[key] = made
        return made

    def file_bytes(self) -> bytes:
        """The message's own file as a serialized ``FileDescriptorProto`` (what Confluent's Python
        serializer registers, base64-encoded)."""
        return bytes(self.files[-1].SerializeToString(deterministic=True))


def _indexes(descriptor: Descriptor) -> tuple[int, ...]:
    path: list[int] = []
    current: Any = descriptor
    while current is not None:
        parent = current.containing_type
        siblings = list(parent.nested_types if parent is not None else current.file.message_types_by_name.values())
        path.append(next(i for i, d in enumerate(siblings) if d.full_name == current.full_name))
        current = parent
    return tuple(reversed(path))


def parse(
    ref: ContractRef,
    schema: Any,
    *,
    message: str | Sequence[int] | None = None,
    references: Iterable[Any] = (),
    presence: str = "explicit",
    **options: Any,
) -> Contract:
    """Parse a protobuf message type into a :class:`Contract`.

    ``schema``: a generated message class; a ``FileDescriptorSet`` (its bytes, or the message); a
    protobuf contract's own ``schema`` (the message's name and its files as JSON, as a manifest
    carries it); a serialized ``FileDescriptorProto`` in base64 text (what Confluent's Python
    serializer registers), whose imports are in ``references`` (the same kinds, or ``(name, text)``
    pairs, any order); or ``.proto`` source text (what Java clients register), compiled with its
    ``(name, source)`` references by :func:`compile_sources`. ``message``: the message's full
    or short name, required when the file defines several top-level messages (or its message-index
    path, ``(0,)``: the first, as Confluent's framing says). ``presence``: one
    of :data:`PRESENCE_POLICIES`."""
    runtime()
    if presence not in PRESENCE_POLICIES:
        raise ContractDeclarationError(
            f"unknown protobuf presence policy {presence!r}: expected one of {', '.join(sorted(PRESENCE_POLICIES))}",
            contract=str(ref),
            reason="bad-option",
        )
    from google.protobuf.message import Message

    try:
        if isinstance(schema, type) and issubclass(schema, Message):
            proto = _from_class(schema, presence)
        elif isinstance(schema, Mapping) and "files" in schema and "message" in schema:  # Contract.schema
            files = [_file_from_json(entry) for entry in schema["files"]]
            message = message or schema["message"]
            presence = schema.get("presence", presence) if presence == "explicit" else presence
            proto = _from_files(ref, files, message, presence)
        elif isinstance(schema, str) and _is_source(schema):  # .proto text, as Java clients register it
            named = [r for r in references if isinstance(r, tuple)]
            sources = {name: text for name, text in named}
            proto = _from_files(ref, _file_protos(ref, compile_sources(sources, schema)), message, presence)
        else:
            files = _file_protos(ref, schema)
            for reference in references:
                if isinstance(reference, tuple):  # (the name it is imported by, base64 of its descriptor)
                    found = _file_protos(ref, reference[1])
                    found[0].name = reference[0]
                    files.extend(found)
                else:
                    files.extend(_file_protos(ref, reference))
            proto = _from_files(ref, files, message, presence)
    except ContractDeclarationError:
        raise
    except Exception as exc:  # TypeError from the pool, KeyError, DecodeError: a descriptor set we cannot use
        raise ContractDeclarationError(
            f"invalid protobuf schema: {type(exc).__name__}: {exc}", contract=str(ref), reason="bad-schema"
        ) from exc
    if isinstance(message, str) and message != ROOT_MESSAGE and message not in (proto.full_name, proto.descriptor.name):
        raise ContractDeclarationError(
            f"the message {message!r} was asked for, but the class is {proto.full_name}",
            contract=str(ref),
            reason="bad-schema",
        )
    root = _Walker().node(proto.descriptor)
    return Contract(ref, "protobuf", root, schema=_canonical(proto), native=proto, **options)


def _from_class(cls: type[Any], presence: str) -> ProtoSchema:
    descriptor = cls.DESCRIPTOR
    return ProtoSchema(descriptor, cls, _closure(descriptor.file), presence)


def _closure(file: Any) -> list[Any]:
    """The ``FileDescriptorProto`` s of ``file`` and everything it imports, dependencies first."""
    from google.protobuf import descriptor_pb2

    ordered: list[Any] = []
    seen: set[str] = set()

    def visit(current: Any) -> None:
        if current.name in seen:
            return
        seen.add(current.name)
        for dependency in current.dependencies:
            visit(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        current.CopyToProto(proto)
        ordered.append(proto)

    visit(file)
    return ordered


def _file_from_json(entry: Any) -> Any:
    from google.protobuf import descriptor_pb2, json_format

    return json_format.ParseDict(entry, descriptor_pb2.FileDescriptorProto())


def _file_protos(ref: ContractRef, schema: Any) -> list[Any]:
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    if isinstance(schema, descriptor_pb2.FileDescriptorSet):
        return list(schema.file)
    if isinstance(schema, descriptor_pb2.FileDescriptorProto):
        return [schema]
    if isinstance(schema, str):
        text = schema.strip()
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ContractDeclarationError(
                "protobuf schema text is neither base64 of a FileDescriptorProto nor a descriptor set "
                "(for .proto source, use compile_proto or a registry with the 'protobuf-compiler' extra)",
                contract=str(ref),
                reason="bad-schema",
            ) from exc
        file = descriptor_pb2.FileDescriptorProto()
        try:
            file.ParseFromString(raw)
        except DecodeError as exc:
            raise ContractDeclarationError(
                f"protobuf schema text is not a serialized FileDescriptorProto: {exc}",
                contract=str(ref),
                reason="bad-schema",
            ) from exc
        return [file]
    if isinstance(schema, (bytes, bytearray, memoryview)):
        found = descriptor_pb2.FileDescriptorSet()
        try:
            found.ParseFromString(bytes(schema))
        except DecodeError as exc:
            raise ContractDeclarationError(
                f"not a serialized FileDescriptorSet: {exc}", contract=str(ref), reason="bad-schema"
            ) from exc
        if not found.file:
            raise ContractDeclarationError(
                "the FileDescriptorSet holds no file", contract=str(ref), reason="bad-schema"
            )
        return list(found.file)
    raise ContractDeclarationError(
        f"a protobuf contract is a generated message class or a FileDescriptorSet, not {type(schema).__name__}",
        contract=str(ref),
        reason="bad-schema",
    )


def _from_files(ref: ContractRef, files: list[Any], message: str | Sequence[int] | None, presence: str) -> ProtoSchema:
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    by_name: dict[str, Any] = {}
    for file in files:
        by_name.setdefault(file.name, file)
    ordered: list[Any] = []
    placed: set[str] = set()

    def place(name: str, chain: tuple[str, ...]) -> None:
        if name in placed:
            return
        if name in chain:
            raise ContractDeclarationError(
                f"protobuf imports form a cycle: {' -> '.join((*chain, name))}", contract=str(ref), reason="bad-schema"
            )
        file = by_name.get(name)
        if file is None and name.startswith("google/protobuf/"):
            file = by_name[name] = _well_known(name)  # left out of references by Confluent's serializers
        if file is None:
            raise ContractDeclarationError(
                f"the descriptor set lacks {name!r}, which {chain[-1]!r} imports (build it with --include_imports)",
                contract=str(ref),
                reason="bad-schema",
            )
        for dependency in file.dependency:
            place(dependency, (*chain, name))
        placed.add(name)
        ordered.append(file)

    # the contract's file: the first one given that no other file imports (a set lists its files
    # dependencies first; a registry's schema comes first, its references after)
    imported = {dependency for file in by_name.values() for dependency in file.dependency}
    tops = [file for file in files if file.name not in imported]
    for file in files:
        place(file.name, ())
    pool = descriptor_pool.DescriptorPool()
    for file in ordered:
        pool.Add(file)
    if message is not None and not isinstance(message, str):  # a message-index path, as Confluent's framing
        own_file = tops[0] if tops else ordered[-1]
        top = pool.FindFileByName(own_file.name)
        candidates: Any = list(top.message_types_by_name.values())
        descriptor = None
        for index in message:
            if not 0 <= index < len(candidates):
                raise ContractDeclarationError(
                    f"no message at index {list(message)} in {own_file.name!r}", contract=str(ref), reason="bad-schema"
                )
            descriptor = candidates[index]
            candidates = descriptor.nested_types
        if descriptor is None:
            raise ContractDeclarationError("an empty message index", contract=str(ref), reason="bad-schema")
        own = own_file.name
    elif message == ROOT_MESSAGE:
        own_file = tops[0] if tops else ordered[-1]
        prefix = f"{own_file.package}." if own_file.package else ""
        used = {
            field.type_name.lstrip(".") for m in own_file.message_type for field in _all_fields(m) if field.type_name
        }
        roots = [m.name for m in own_file.message_type if prefix + m.name not in used]
        if len(roots) != 1:
            raise ContractDeclarationError(
                f"{own_file.name!r} has {len(roots)} top-level messages no other message uses "
                f"({', '.join(roots) or 'none'}): name the contract's message",
                contract=str(ref),
                reason="bad-schema",
            )
        descriptor = pool.FindMessageTypeByName(prefix + roots[0])
        own = own_file.name
    elif message is not None:
        wanted = message
        if "." not in message:
            matches = [
                f"{file.package}.{m.name}" if file.package else m.name
                for file in ordered
                for m in file.message_type
                if m.name == message
            ]
            if len(matches) > 1:
                raise ContractDeclarationError(
                    f"{len(matches)} messages are named {message!r} ({', '.join(matches)}): give the full name",
                    contract=str(ref),
                    reason="bad-schema",
                )
            wanted = matches[0] if matches else message
        try:
            descriptor = pool.FindMessageTypeByName(wanted)
        except KeyError:
            known = [
                f"{file.package}.{m.name}" if file.package else m.name for file in ordered for m in file.message_type
            ]
            raise ContractDeclarationError(
                f"no message {message!r} in the descriptor set (messages: {', '.join(known) or 'none'})",
                contract=str(ref),
                reason="bad-schema",
            ) from None
        own = descriptor.file.name
    else:
        own_file = tops[0] if tops else ordered[-1]
        if len(own_file.message_type) != 1:
            names = ", ".join(m.name for m in own_file.message_type) or "none"
            raise ContractDeclarationError(
                f"{own_file.name!r} defines {len(own_file.message_type)} top-level messages ({names}): name the "
                'contract\'s message (message = "..." in contract.toml, or message= in code)',
                contract=str(ref),
                reason="bad-schema",
            )
        prefix = f"{own_file.package}." if own_file.package else ""
        descriptor = pool.FindMessageTypeByName(prefix + own_file.message_type[0].name)
        own = own_file.name
    # the contract's own file last, each file after what it imports
    chain = [f for f in ordered if f.name != own] + [by_name[own]]
    return ProtoSchema(descriptor, GetMessageClass(descriptor), chain, presence)


def _all_fields(message: Any) -> Iterator[Any]:
    yield from message.field
    for nested in message.nested_type:
        yield from _all_fields(nested)


def _well_known(name: str) -> Any:
    from google.protobuf import descriptor_pb2, descriptor_pool

    try:
        found = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    return proto


def _canonical(proto: ProtoSchema) -> dict[str, Any]:
    """The contract's ``schema``: the message's full name and its files as JSON (source info dropped),
    so fingerprints, manifests and drift compare protobuf contracts by content."""
    from google.protobuf import json_format

    files = []
    for file in proto.files:
        copy = type(file)()
        copy.CopyFrom(file)
        copy.ClearField("source_code_info")
        files.append(_without_json_names(json_format.MessageToDict(copy, preserving_proto_field_name=True)))
    return {"message": proto.full_name, "files": files, "presence": proto.presence}


def _without_json_names(value: Any) -> Any:
    """protoc fills ``json_name`` in a descriptor set, a generated class's descriptor leaves it out:
    the same schema either way (the name is derived from the field's name)."""
    if isinstance(value, dict):
        return {k: _without_json_names(v) for k, v in value.items() if k != "json_name"}
    if isinstance(value, list):
        return [_without_json_names(v) for v in value]
    return value


class _Walker:
    def __init__(self) -> None:
        self.memo: dict[str, Shape] = {}

    def node(self, descriptor: Descriptor) -> Shape:
        found = self.memo.get(descriptor.full_name)
        if found is not None:
            return found
        shape = Shape(frozenset({OBJECT}), name=descriptor.name)
        self.memo[descriptor.full_name] = shape  # before the fields: a message may contain itself
        for field in descriptor.fields:
            shape.properties[field.json_name] = self.prop(field)
        return shape

    def prop(self, field: FieldDescriptor) -> Prop:
        node = self.field_node(field)
        if field.is_repeated:
            default: Any = {} if _is_map(field) else []
            return Prop(node, has_default=True, default=default)
        if field.message_type is not None:
            return Prop(node, required=field.is_required)
        default = field.default_value
        if field.enum_type is not None:
            value = field.enum_type.values_by_number.get(default)
            default = value.name if value is not None else default
        elif isinstance(default, bytes):
            default = base64.b64encode(default).decode()
        # absent, a reader reads the default: the trap, visible in the field view
        return Prop(node, required=field.is_required, has_default=not field.is_required, default=default)

    def field_node(self, field: FieldDescriptor) -> Node:
        if _is_map(field):
            value = field.message_type.fields_by_name["value"]
            return Shape(frozenset({OBJECT}), values=self.single(value))
        single = self.single(field)
        return Shape(frozenset({ARRAY}), items=single) if field.is_repeated else single

    def single(self, field: FieldDescriptor) -> Node:
        if field.message_type is not None:
            return self.node(field.message_type)
        if field.enum_type is not None:
            enum = field.enum_type
            return Shape(frozenset({STRING}), name=enum.name, enum=tuple(v.name for v in enum.values))
        kinds = _kinds(field.type)
        if STRING in kinds and len(kinds) > 1:  # a number first, its JSON string form second (a union)
            return AnyOf([Shape(kinds - {STRING}), Shape(frozenset({STRING}))])
        return Shape(kinds)


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return bool(field.is_repeated and message is not None and message.GetOptions().map_entry)


def is_wide(field: FieldDescriptor) -> bool:
    """A 64-bit integer field (a string in proto3's JSON mapping)."""
    return field.type in _WIDE


# -- .proto source -------------------------------------------------------------------------------


def compile_proto(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bytes:
    """The ``FileDescriptorSet`` (imports included) of the ``.proto`` file at ``path``, compiled by
    grpcio-tools' ``protoc`` with ``root`` as the only import path (plus protobuf's own well-known
    types, ``google/protobuf/*.proto``, which grpcio-tools bundles): an import that leads outside
    ``root`` is refused. Raises :class:`ContractDeclarationError` with the compiler's message."""
    try:
        import grpc_tools
    except ImportError as exc:
        raise MissingDependencyError(
            ".proto contracts need a compiler: pip install 'syscontract[protobuf-compiler]' (grpcio-tools), or "
            "commit the descriptor set (buf build -o v3.binpb, protoc --descriptor_set_out --include_imports)"
        ) from exc
    base = Path(root).resolve()
    source = Path(path).resolve()
    try:
        relative = source.relative_to(base)
    except ValueError:
        raise ContractDeclarationError(
            f"{str(path)!r} is outside the import root {str(root)!r}", reason="outside-registry"
        ) from None
    bundled = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory(prefix="syscontract-protoc-") as out:
        target = Path(out) / "set.binpb"
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={base}",
            f"--proto_path={bundled}",
            "--include_imports",
            f"--descriptor_set_out={target}",
            str(relative),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, cwd=base, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ContractDeclarationError(f"protoc cannot compile {relative}: {exc}", reason="bad-schema") from exc
        if done.returncode != 0 or not target.exists():
            message = (done.stderr or done.stdout).strip() or f"protoc exited with {done.returncode}"
            raise ContractDeclarationError(f"protoc cannot compile {relative}: {message}", reason="bad-schema")
        data = target.read_bytes()
    from google.protobuf import descriptor_pb2

    found = descriptor_pb2.FileDescriptorSet.FromString(data)
    for file in found.file:
        here = (base / file.name).resolve()
        if (bundled / file.name).exists() and not (base / file.name).exists():
            continue  # a well-known type
        if not here.is_relative_to(base):
            raise ContractDeclarationError(
                f"{relative} imports {file.name!r}, which leads outside {str(root)!r}; refused",
                reason="outside-registry",
            )
    return data


def _is_source(text: str) -> bool:
    """``.proto`` source rather than base64: base64 has no spaces, braces or semicolons."""
    return any(mark in text for mark in ("{", ";", " "))


def compile_sources(sources: Mapping[str, str], main: str) -> bytes:
    """The ``FileDescriptorSet`` of ``.proto`` text ``main`` whose imports are ``sources`` (import name
    to text, as a Schema Registry's references give them), compiled by grpcio-tools' ``protoc`` in a
    temporary directory that holds nothing else (protobuf's well-known types come with it). An import
    name that would leave that directory is refused."""
    with tempfile.TemporaryDirectory(prefix="syscontract-sources-") as directory:
        root = Path(directory)
        for name, text in {**sources, "syscontract_schema.proto": main}.items():
            target = (root / name).resolve()
            if not name or name.startswith("/") or not target.is_relative_to(root.resolve()):
                raise ContractDeclarationError(
                    f"the import name {name!r} leaves its directory; refused", reason="bad-schema"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return compile_proto(root / "syscontract_schema.proto", root)


def presence_of(field: FieldDescriptor) -> str:
    """``repeated`` (a list or map: sent when not empty), ``explicit`` (``HasField`` tells) or
    ``implicit`` (a zero is never written: a missing tag and a zero sent cannot be told apart)."""
    if field.is_repeated:
        return "repeated"
    return "explicit" if field.has_presence else "implicit"
