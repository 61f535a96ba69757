"""Contracts, their references, and the normalized field view every schema language produces.

A :class:`Contract` is one version of one named contract (``order.v3``), parsed from Avro,
JSON Schema, protobuf or a pydantic model into the same type graph, so that everything downstream (the
checker, the registries, the CLI) speaks one language: field paths, types, nullability, defaults,
and which fields are critical.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from syscontract._types import Node, Prop
from syscontract.errors import ContractDeclarationError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["COMPATIBILITY_MODES", "Contract", "ContractRef", "Field", "FieldPath", "parse_path"]

Format = Literal["avro", "jsonschema", "protobuf", "pydantic"]

COMPATIBILITY_MODES = frozenset(
    {
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    }
)

_REF = re.compile(r"^(?P<name>\S+)\.v(?P<version>0|[1-9][0-9]{0,8})$")
_REF_FORM = "expected '<name>.v<N>', for example 'order.v3' or 'com.acme.order.v3'"


@dataclass(frozen=True, order=True)
class ContractRef:
    """A contract name and version: ``ContractRef.parse("com.acme.order.v3")`` is
    ``ContractRef(name="com.acme.order", version=3)``; ``str()`` gives the reference back."""

    name: str
    version: int

    @classmethod
    def parse(cls, text: str | ContractRef) -> ContractRef:
        """Parse ``<name>.v<N>``; raise :class:`ContractDeclarationError` naming the expected form."""
        if isinstance(text, ContractRef):
            return text
        if not isinstance(text, str):
            raise ContractDeclarationError(
                f"a contract reference must be a string, not {type(text).__name__}; {_REF_FORM}",
                reason="bad-reference",
            )
        match = _REF.match(text)
        if match is None or any(ord(c) < 32 for c in text):
            raise ContractDeclarationError(f"bad contract reference {text!r}: {_REF_FORM}", reason="bad-reference")
        return cls(match["name"], int(match["version"]))

    def __str__(self) -> str:
        return f"{self.name}.v{self.version}"


@dataclass(frozen=True)
class FieldPath:
    """A parsed field path: ``items[].sku`` is ``(("items", 1), ("sku", 0))`` (name, array depth)."""

    text: str
    steps: tuple[tuple[str, int], ...]

    def __str__(self) -> str:
        return self.text


_STEP = re.compile(r"^(?P<name>[^.\[\]]+)(?P<arrays>(?:\[\])*)$")


def parse_path(path: str | FieldPath) -> FieldPath:
    """Parse a field path: names joined by ``.``, each optionally followed by ``[]`` (every element).

    ``customer.id`` walks nested records and objects; ``items[].sku`` requires ``sku`` in every
    element of ``items``. A malformed path raises :class:`ContractDeclarationError`."""
    if isinstance(path, FieldPath):
        return path
    if not isinstance(path, str) or not path:
        raise ContractDeclarationError(
            f"bad field path {path!r}: expected names joined by '.', such as 'customer.id' or 'items[].sku'",
            field=str(path),
            reason="bad-path",
        )
    steps = []
    for part in path.split("."):
        match = _STEP.match(part)
        if match is None:
            raise ContractDeclarationError(
                f"bad field path {path!r}: segment {part!r} is not a name optionally followed by '[]' "
                "(paths look like 'customer.id' or 'items[].sku')",
                field=path,
                reason="bad-path",
            )
        steps.append((match["name"], len(match["arrays"]) // 2))
    return FieldPath(path, tuple(steps))


@dataclass(frozen=True)
class Field:
    """One field of a contract, in the normalized view every format produces.

    ``path`` (``customer.id``, ``items[].sku``), ``type`` (a readable type such as
    ``string`` or ``null | string``), ``nullable`` (null is a valid value), ``required`` (the schema
    requires the key), ``has_default``/``default`` (a reader would fill it when absent),
    ``critical`` (the contract itself marks it critical).
    """

    path: str
    type: str
    nullable: bool
    required: bool
    has_default: bool
    default: Any
    critical: bool
    doc: str | None = None


PARSERS: dict[str, Callable[..., Contract]] = {}
"""Each schema language's ``parse(ref, schema, **options)``, by format name. The modules of
:mod:`syscontract.formats` add themselves when imported (the package imports them all), so that this
module, which every format builds on, imports none of them."""


class Contract:
    """One version of a contract, parsed into the normalized view.

    Build one with :meth:`from_avro`, :meth:`from_jsonschema` or :meth:`from_model`, or get it from a
    registry. ``critical`` lists the fields the contract itself marks critical: they are checked for
    every consumer in addition to the consumer's own ``fields``.
    """

    def __init__(
        self,
        ref: ContractRef | str,
        format: Format,
        root: Node,
        *,
        schema: Any,
        critical: Iterable[str] = (),
        compatibility: str | None = None,
        owner: str | None = None,
        doc: str | None = None,
        model: type[BaseModel] | None = None,
        source: str | None = None,
        native: Any = None,
    ) -> None:
        self.ref = ContractRef.parse(ref)
        # the format's own parsed form, kept for decoding: fastavro's parsed schema for Avro
        self.native = native
        self.format: Format = format
        self.root = root
        self.schema = schema
        self.model = model
        self.source = source
        self.owner = owner
        self.doc = doc
        if compatibility is not None and (
            not isinstance(compatibility, str) or compatibility not in COMPATIBILITY_MODES
        ):
            raise ContractDeclarationError(
                f"unknown compatibility mode {compatibility!r}: expected one of "
                f"{', '.join(sorted(COMPATIBILITY_MODES))}",
                contract=str(self.ref),
                reason="bad-option",
            )
        self.compatibility = compatibility
        self.critical: tuple[str, ...] = tuple(dict.fromkeys(critical))
        for path in self.critical:
            self.field(path)  # every critical path must exist in this version
        self._fields: dict[str, Field] | None = None

    def __repr__(self) -> str:
        return f"<Contract {self.ref} ({self.format})>"

    @classmethod
    def from_avro(cls, ref: ContractRef | str, schema: Mapping[str, Any] | str | list[Any], **options: Any) -> Contract:
        """A contract from an Avro schema (a parsed JSON value or its text)."""
        return PARSERS["avro"](ContractRef.parse(ref), schema, **options)

    @classmethod
    def from_jsonschema(
        cls, ref: ContractRef | str, schema: Mapping[str, Any] | bool | str, **options: Any
    ) -> Contract:
        """A contract from a JSON Schema document (draft 4, 6, 7, 2019-09 or 2020-12, from ``$schema``; a
        parsed value or its text). Options: ``references`` (the documents its ``$ref``s may reach, by
        URI; nothing else is retrieved), ``base_uri``, ``assert_format`` (None: as the draft says).
        jsonschema-rs checks the schema and resolves its references now: a schema it refuses raises
        :class:`ContractDeclarationError`."""
        return PARSERS["jsonschema"](ContractRef.parse(ref), schema, **options)

    @classmethod
    def from_protobuf(cls, ref: ContractRef | str, schema: Any, **options: Any) -> Contract:
        """A contract from a protobuf message type: a generated class (``order_pb2.Order``), a
        ``FileDescriptorSet`` (bytes, as ``buf build -o`` writes it), or a Schema Registry's base64
        ``FileDescriptorProto``. Options: ``message`` (the message's name, when the file has several),
        ``references`` (imported files), ``presence`` (``"explicit"``, or ``"zero-is-unsent"`` to count a
        field without presence as not sent when it holds its zero value). Needs the ``protobuf`` extra."""
        return PARSERS["protobuf"](ContractRef.parse(ref), schema, **options)

    @classmethod
    def from_model(cls, ref: ContractRef | str, model: type[BaseModel], **options: Any) -> Contract:
        """A contract from a pydantic v2 model class."""
        return PARSERS["pydantic"](ContractRef.parse(ref), model, **options)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the schema's canonical JSON: equal schemas, equal fingerprints."""
        if self.model is not None:
            body: Any = self.model.model_json_schema()
        else:
            body = self.schema
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @functools.cached_property
    def avro_fingerprint(self) -> bytes | None:
        """CRC-64-AVRO of the schema's Parsing Canonical Form, as the 8 little-endian bytes of
        single-object encoding; None for contracts that are not Avro."""
        if self.format != "avro":
            return None
        from fastavro.schema import fingerprint, to_parsing_canonical_form

        return bytes.fromhex(fingerprint(to_parsing_canonical_form(self.schema), "CRC-64-AVRO"))

    @property
    def fields(self) -> Mapping[str, Field]:
        """Every field path of the contract, nested records and array elements included.

        Recursive types are expanded once along each branch."""
        if self._fields is None:
            found: dict[str, Field] = {}
            self._collect(self.root, "", frozenset(), found)
            self._fields = found
        return self._fields

    def _collect(self, node: Node, prefix: str, ancestors: frozenset[int], found: dict[str, Field]) -> None:
        ids = frozenset(id(shape) for shape in node.shapes())
        if ids & ancestors:
            return
        ancestors |= ids
        for name in node.property_names():
            prop = node.child(name)
            if prop is None:  # pragma: no cover - property_names and child agree
                continue
            path = f"{prefix}{name}"
            found[path] = self._field(path, prop, prop.node)
            self._collect(prop.node, path + ".", ancestors, found)
            element, depth = prop.node.element(), 0
            while element is not None and depth < 4:
                depth += 1
                array_path = path + "[]" * depth
                found[array_path] = self._field(array_path, prop, element)
                self._collect(element, array_path + ".", ancestors, found)
                element = element.element()

    def _field(self, path: str, prop: Prop, node: Node) -> Field:
        return Field(
            path=path,
            type=node.describe(),
            nullable=node.accepts(None),
            required=prop.required,
            has_default=prop.has_default,
            default=prop.default,
            critical=path in self.critical,
            doc=prop.doc,
        )

    def field(self, path: str | FieldPath) -> Field:
        """The field at ``path``; :class:`ContractDeclarationError` when the contract has none."""
        parsed = parse_path(path)
        prop, node = self.walk(parsed)[-1]
        return self._field(parsed.text, prop, node)

    def walk(self, path: FieldPath) -> list[tuple[Prop, Node]]:
        """Resolve each step of ``path``: the property and (after any ``[]``) the node it yields."""
        node: Node = self.root
        resolved: list[tuple[Prop, Node]] = []
        walked = ""
        for name, arrays in path.steps:
            prop = node.child(name)
            if prop is None:
                where = f"'{walked}'" if walked else "the top level"
                known = ", ".join(node.property_names()[:20]) or "none"
                raise ContractDeclarationError(
                    f"has no field {path.text!r} (no {name!r} at {where}; fields there: {known})",
                    contract=str(self.ref),
                    field=path.text,
                    reason="unknown-field",
                )
            walked = f"{walked}.{name}" if walked else name
            node = prop.node
            for _ in range(arrays):
                element = node.element()
                if element is None:
                    raise ContractDeclarationError(
                        f"field {walked!r} in path {path.text!r} is {node.describe()}, not an array",
                        contract=str(self.ref),
                        field=path.text,
                        reason="bad-path",
                    )
                node = element
                walked += "[]"
            resolved.append((prop, node))
        return resolved

    def with_critical(self, critical: Sequence[str]) -> Contract:
        """A copy of this contract whose own critical list is ``critical``."""
        return Contract(
            self.ref,
            self.format,
            self.root,
            schema=self.schema,
            critical=critical,
            compatibility=self.compatibility,
            owner=self.owner,
            doc=self.doc,
            model=self.model,
            source=self.source,
            native=self.native,
        )
