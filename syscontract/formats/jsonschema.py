"""JSON Schema documents (``.schema.json``: draft 4, 6, 7, 2019-09 and 2020-12) into the normalized contract view.

Validation is jsonschema-rs's job (:mod:`syscontract.validation`); this module builds the field view
(which fields exist, their types, whether the schema makes them required) and the reference context
both share. Every keyword a validator knows is accounted for:

* structural keywords build the type graph: ``type``, ``properties``, ``required``, ``items``,
  ``prefixItems``, ``additionalProperties``, ``patternProperties``, ``enum``, ``const``, ``allOf``,
  ``anyOf``, ``oneOf`` and every reference form (``$ref`` to a pointer, an ``$anchor``, an ``$id``,
  another file or contract; ``$dynamicRef``/``$recursiveRef``);
* keywords that only constrain values, or make presence conditional (``not``, ``if``/``then``/``else``,
  ``dependentSchemas``, ``dependentRequired``, ``dependencies``, ``unevaluatedProperties``,
  ``unevaluatedItems``, ``contains``, ``propertyNames``, bounds, ``pattern``, ``format``,
  ``content*``) never make a field required in the view: a critical field under them is checked on
  every message, never assumed present;
* a dynamic reference (``$dynamicRef``, ``$recursiveRef``) may land on another schema at run time, so
  the field it leads to is shown as its static target *or anything* (``... | any``), never required;
* unknown keywords are annotations, as the specification says.

References are resolved through jsonschema-rs's registry, fed by a :class:`References` hook that maps
registry files, other contracts' ``$id`` and Confluent references, and refuses anything else: nothing
is ever fetched from the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

from syscontract._types import (
    ALL_KINDS,
    ARRAY,
    BOOLEAN,
    INTEGER,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    AllOf,
    AnyOf,
    Node,
    Prop,
    Ref,
    Shape,
    direct_cycle,
    json_equal,
)
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError

__all__ = [
    "BACKTRACK_LIMIT",
    "DEFAULT_BASE_URI",
    "DEFAULT_DRAFT",
    "DIALECTS",
    "MAX_DOCUMENT_BYTES",
    "JsonSchemaContext",
    "References",
    "build_validator",
    "check_draft",
    "file_uri",
    "parse",
]

DIALECTS = {
    "http://json-schema.org/draft-04/schema": "draft4",
    "http://json-schema.org/draft-06/schema": "draft6",
    "http://json-schema.org/draft-07/schema": "draft7",
    "https://json-schema.org/draft/2019-09/schema": "draft2019-09",
    "https://json-schema.org/draft/2020-12/schema": "draft2020-12",
}
# jsonschema-rs's draft numbers (its Draft4 ... Draft202012 constants)
_DRAFT_NUMBERS = {"draft4": 4, "draft6": 6, "draft7": 7, "draft2019-09": 19, "draft2020-12": 20}
_NUMBER_DRAFTS = {number: name for name, number in _DRAFT_NUMBERS.items()}

DEFAULT_DRAFT = "draft2020-12"
"""The draft of a schema without ``$schema`` when nothing else says (``default_draft``, a contract's
``contract.toml``, a registry's): the newest, as jsonschema-rs reads it. A Confluent registry's
schemas default to draft 7, as Confluent's serializers read them."""


def check_draft(value: object, what: str = "default_draft") -> str:
    """``value`` as a draft name (``draft7``, ...): a name or a ``$schema`` URI of a known draft;
    :class:`ContractDeclarationError` (reason ``bad-option``) otherwise."""
    if isinstance(value, str):
        if value in _DRAFT_NUMBERS:
            return value
        found = DIALECTS.get(value.rstrip("#"))
        if found is not None:
            return found
    raise ContractDeclarationError(
        f"{what} must be one of {', '.join(_DRAFT_NUMBERS)} (or its $schema URI), not {value!r}", reason="bad-option"
    )


DEFAULT_BASE_URI = "json-schema:///"
"""The base URI of a schema that has no ``$id`` and no file: relative references resolve against it
(and so reach nothing but what the reference hook maps)."""

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""A referenced file larger than this is refused."""

_TYPES = {
    "null": NULL,
    "boolean": BOOLEAN,
    "integer": INTEGER,
    "number": NUMBER,
    "string": STRING,
    "object": OBJECT,
    "array": ARRAY,
}


def _any() -> Shape:
    return Shape(ALL_KINDS, integral_floats=True)


class References:
    """Where a JSON Schema contract's references to other documents are found; never the network.

    ``documents`` maps absolute URIs to schema documents (other contracts' ``$id``, Confluent
    references by subject name, the test suite's ``remotes/``); ``root`` is a registry directory whose
    files may be referenced by ``file:`` URIs (relative references from a file resolve to those), never
    leaving it (``here``, the referencing file's directory, is where ``file://name.json`` is looked
    for); ``lookup`` is asked for a URI nothing else maps (a registry's ``$id`` index). Anything
    else is refused with :class:`~syscontract.ContractDeclarationError` naming the URI. ::

        References(documents={"https://acme.example/uuid.json": {"type": "string"}})
    """

    def __init__(
        self,
        documents: Mapping[str, Any] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        here: str | os.PathLike[str] | None = None,
        lookup: Callable[[str], Any] | None = None,
    ) -> None:
        self.documents = {_strip(uri): document for uri, document in (documents or {}).items()}
        self.root = Path(root).resolve() if root is not None else None
        self.here = Path(here).resolve() if here is not None else self.root
        self.lookup = lookup

    def __repr__(self) -> str:
        return f"References({len(self.documents)} documents, root={str(self.root) if self.root else None!r})"

    def __call__(self, uri: str) -> Any:
        """The document at ``uri`` (a fragment is ignored); refuses what is not mapped."""
        key = _strip(uri)
        if key in self.documents:
            return self.documents[key]
        if self.root is not None and key.startswith("file:"):
            return self._file(key)
        if self.lookup is not None:
            found = self.lookup(key)
            if found is not None:
                return found
        raise ContractDeclarationError(
            f"$ref to {uri!r} cannot be resolved: syscontract never fetches a reference from the network; "
            "only files of the registry, the $id of another contract in the same registry and references "
            "registered with the schema are reachable",
            reason="bad-reference",
        )

    def _file(self, uri: str) -> Any:
        assert self.root is not None
        parts = urlsplit(uri)
        raw = unquote(parts.path)
        base = self.here or self.root
        if parts.netloc and parts.netloc != "localhost":
            # "file://other.v1.schema.json" names a file beside the referencing one, not a host
            raw = unquote(parts.netloc) + raw
        path = Path(raw) if os.path.isabs(raw) else base / raw
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:
            raise self._refuse(uri, f"the path cannot be resolved ({exc})") from exc
        if resolved != self.root and self.root not in resolved.parents:
            raise self._refuse(uri, f"it is outside the registry root {str(self.root)!r}")
        try:
            if resolved.stat().st_size > MAX_DOCUMENT_BYTES:
                raise self._refuse(uri, f"the file is larger than {MAX_DOCUMENT_BYTES} bytes")
            text = resolved.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._refuse(uri, f"the file cannot be read ({type(exc).__name__})") from exc
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise self._refuse(uri, f"the file is not JSON ({exc})") from exc

    @staticmethod
    def _refuse(uri: str, why: str) -> ContractDeclarationError:
        return ContractDeclarationError(f"$ref to {uri!r} is refused: {why}", reason="bad-reference")


def _strip(uri: str) -> str:
    return urldefrag(uri)[0]


def _jsonschema_rs() -> Any:
    """jsonschema-rs, imported when a JSON Schema contract is first loaded (not with syscontract)."""
    import jsonschema_rs

    return jsonschema_rs


def file_uri(path: str | os.PathLike[str]) -> str:
    """The ``file:`` URI of a schema file, the base its relative references resolve against."""
    return Path(path).resolve().as_uri()


@dataclass(frozen=True)
class JsonSchemaContext:
    """What a JSON Schema contract needs besides its document, kept as ``Contract.native``.

    ``draft`` (``draft7``, ``draft2020-12``, ...; None: jsonschema-rs's default, 2020-12),
    ``base_uri``, ``registry`` (jsonschema-rs's, every referenced document already retrieved),
    ``references`` (the hook), ``assert_format`` (True: ``format`` is an assertion; False: an
    annotation; None: what the draft says), ``external`` (some reference left the document), and
    ``validator``."""

    draft: str | None
    base_uri: str
    registry: Any
    references: Callable[[str], Any]
    assert_format: bool | None
    external: bool
    validator: Any = None
    """jsonschema-rs's validator, built at load (None for a schema generated from a pydantic model)."""
    recursive: bool = True
    """Whether validation may descend further than the schema is deep: a reference cycle, a dynamic
    reference, or a reference the field view could not place (then assumed)."""
    documents: tuple[str, ...] = ()
    """The canonical JSON (keys sorted, no white space) of every document the schema's references
    retrieved, sorted: with the document's own canonical JSON and its draft, what it means (two
    schemas of the same text whose ``$ref`` reaches different documents mean different things)."""


_REFUSE_ALL = References()


def parse(
    ref: ContractRef,
    schema: Mapping[str, Any] | bool | str,
    *,
    annotations_only: bool = False,
    required_means_no_default: bool = False,
    references: Callable[[str], Any] | Mapping[str, Any] | None = None,
    base_uri: str | None = None,
    assert_format: bool | None = None,
    default_draft: str | None = None,
    **options: Any,
) -> Contract:
    """Parse a JSON Schema document (a JSON value, or its text) into a :class:`Contract`.

    ``default_draft`` is the draft of a document without ``$schema`` (``draft7``, ...; None:
    :data:`DEFAULT_DRAFT`); a document's own ``$schema`` always wins.

    ``references`` resolves references to other documents (a :class:`References`, any callable of
    a URI, or a mapping of URIs to documents); ``base_uri`` is the document's own URI (a registry
    passes the file's). ``assert_format`` decides whether ``format`` is asserted (None: as the draft
    says). ``annotations_only`` and ``required_means_no_default`` are for schemas generated from a
    pydantic model (every optional property is marked defaulted).
    """
    label = str(ref)
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except (ValueError, RecursionError) as exc:
            raise ContractDeclarationError(
                f"JSON Schema is not valid JSON: {exc}", contract=label, reason="bad-schema"
            ) from exc
    if not isinstance(schema, (Mapping, bool)):
        raise ContractDeclarationError(
            f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}",
            contract=label,
            reason="bad-schema",
        )
    if assert_format is not None and not isinstance(assert_format, bool):
        raise ContractDeclarationError(
            f"assert_format must be true or false, not {assert_format!r}", contract=label, reason="bad-option"
        )
    hook: Callable[[str], Any]
    if references is None:
        hook = _REFUSE_ALL
    elif isinstance(references, Mapping):
        hook = References(references)
    else:
        hook = references
    if default_draft is not None:
        try:
            default_draft = check_draft(default_draft)
        except ContractDeclarationError as exc:
            exc.contract = label
            raise
    context = _context(label, schema, hook, base_uri or DEFAULT_BASE_URI, assert_format, default_draft)
    parser = _Parser(label, schema, context=context, defaulted_when_optional=required_means_no_default)
    try:
        root = parser.parse()
    except RecursionError as exc:
        raise ContractDeclarationError(
            "the schema is nested too deeply to be a contract", contract=label, reason="bad-schema"
        ) from exc
    context = dataclasses.replace(context, recursive=parser.recursive())
    if not annotations_only:
        # jsonschema-rs checks the schema against its meta-schema and resolves every reference now, so a
        # schema it would refuse is refused at load, not when a validator is first asked for
        context = dataclasses.replace(context, validator=build_validator(label, schema, context))
    if isinstance(schema, Mapping):
        options.setdefault("doc", schema.get("description") or schema.get("title"))
    options.setdefault("format", "jsonschema")
    return Contract(ref, options.pop("format"), root, schema=schema, native=context, **options)


def _context(
    label: str,
    schema: Mapping[str, Any] | bool,
    hook: Callable[[str], Any],
    base_uri: str,
    assert_format: bool | None,
    default_draft: str | None = None,
) -> JsonSchemaContext:
    # a document without $schema is read in the default draft (jsonschema-rs's own: 2020-12)
    draft: str | None = default_draft
    resources: list[tuple[str, Any]] = []
    external = False
    retrieved: set[str] = set()

    def retrieve(uri: str) -> Any:
        nonlocal external
        external = True
        try:
            document = hook(uri)
        except ContractDeclarationError as exc:
            raise LookupError(str(exc)) from None
        retrieved.add(json.dumps(document, sort_keys=True, separators=(",", ":"), default=str))
        return document

    if isinstance(schema, Mapping):
        dialect = schema.get("$schema")
        if dialect is not None:
            if not isinstance(dialect, str):
                raise ContractDeclarationError("'$schema' must be a string", contract=label, reason="bad-schema")
            draft = DIALECTS.get(dialect.rstrip("#"))
            if draft is None:
                # a custom meta-schema: it must be reachable through the hook, and it names its draft
                meta = _resolve_meta(label, dialect, hook)
                resources.append((_strip(dialect), meta))
    resources.append((base_uri, schema))
    jsonschema_rs = _jsonschema_rs()
    try:
        # documents without $schema (a retrieved one, say) are read in the referencing schema's draft
        registry = jsonschema_rs.Registry(resources, draft=_DRAFT_NUMBERS.get(draft or ""), retriever=retrieve)
        if draft is None and resources[0][0] != base_uri:
            draft = _NUMBER_DRAFTS.get(registry.resolver(base_uri).lookup("#").draft)
    except (jsonschema_rs.ReferencingError, ValueError) as exc:
        raise ContractDeclarationError(
            f"the schema's references cannot be resolved: {_first_line(exc)}", contract=label, reason="bad-reference"
        ) from None
    return JsonSchemaContext(
        draft, base_uri, registry, hook, assert_format, external, documents=tuple(sorted(retrieved))
    )


_DRAFT_CLASSES = {
    "draft4": "Draft4Validator",
    "draft6": "Draft6Validator",
    "draft7": "Draft7Validator",
    "draft2019-09": "Draft201909Validator",
    "draft2020-12": "Draft202012Validator",
}

BACKTRACK_LIMIT = 100_000
"""Backtracking steps a ``pattern`` that needs backtracking (a lookaround, a back-reference) may take
on one string before the value fails; other patterns run in linear time."""


def build_validator(label: str, schema: Any, context: JsonSchemaContext) -> Any:
    """jsonschema-rs's validator for ``schema`` in ``context`` (the registry already holds every
    referenced document, so nothing is retrieved); :class:`ContractDeclarationError` when it refuses."""
    jsonschema_rs = _jsonschema_rs()
    name = _DRAFT_CLASSES.get(context.draft or "")
    cls = getattr(jsonschema_rs, name) if name else jsonschema_rs.validator_for
    try:
        return cls(
            schema,
            validate_formats=context.assert_format,
            ignore_unknown_formats=True,
            retriever=_refuse,
            registry=context.registry,
            base_uri=context.base_uri,
            pattern_options=jsonschema_rs.FancyRegexOptions(backtrack_limit=BACKTRACK_LIMIT),
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        raise ContractDeclarationError(
            f"not a valid JSON Schema: {_first_line(exc)}", contract=label, reason="bad-schema"
        ) from None


def _refuse(uri: str) -> Any:
    # every reference was resolved into the registry at load: anything asked for now is refused
    raise LookupError(f"{uri!r} is not in the contract's registry; syscontract never fetches a reference")


def _resolve_meta(label: str, dialect: str, hook: Callable[[str], Any]) -> Any:
    try:
        return hook(dialect)
    except ContractDeclarationError:
        raise ContractDeclarationError(
            f"'$schema' {dialect!r} is neither a JSON Schema draft ({', '.join(DIALECTS)}) nor a meta-schema "
            "the registry maps",
            contract=label,
            reason="bad-schema",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__


class _Parser:
    """The field view's builder. The scope references resolve in (``self.resolver``) is state, so that a
    subclass may override ``node(schema, pointer)`` and ``shape(schema, pointer)`` (syscontract.testing
    notes the schema object of every shape it builds that way). Without ``context``, the document's own
    (references only into itself, format as the draft says) is made here; ``strict`` is accepted for
    callers written against the earlier parser and has no effect (unknown keywords are annotations)."""

    def __init__(
        self,
        ref: ContractRef | str,
        document: Any,
        *,
        context: JsonSchemaContext | None = None,
        strict: bool = True,
        defaulted_when_optional: bool = False,
    ) -> None:
        label = str(ref)
        if context is None:
            context = _context(label, document, _REFUSE_ALL, DEFAULT_BASE_URI, None)
        self.label = label
        self.document = document
        self.context = context
        self.resolver: Any = None
        self.defaulted_when_optional = defaulted_when_optional
        self.refs: dict[tuple[str, str], Ref] = {}
        self.pending: list[tuple[tuple[str, str], Ref, Any, Any]] = []
        # which references each reference's target (None: the document) makes, to find cycles
        self.current: tuple[str, str] | None = None
        self.edges: dict[tuple[str, str] | None, set[tuple[str, str]]] = {}
        self.unplaced = False
        # draft 7 and earlier: keywords beside $ref are ignored; 2019-09 and later: they apply
        self.legacy = context.draft in ("draft4", "draft6", "draft7")

    def fail(self, pointer: str, detail: str) -> ContractDeclarationError:
        return ContractDeclarationError(
            f"bad JSON Schema at {pointer or '#'}: {detail}", contract=self.label, reason="bad-schema"
        )

    def parse(self) -> Node:
        self.resolver = self.context.registry.resolver(self.context.base_uri)
        root = self.node(self.document, "#")
        while self.pending:  # binding a reference may discover more references
            key, ref, target, target_resolver = self.pending.pop()
            self.current = key
            self.resolver = target_resolver
            ref.target = self.node(target, ref.pointer)
        # a reference cycle with no property or item in between (A = allOf[A, ...]) says nothing the field
        # view can use, and jsonschema-rs decides such schemas: the reference that closes it stands for
        # "anything" in the view
        for _ in range(len(self.refs) + 1):
            cycle = direct_cycle(root)
            if cycle is None:
                return root
            for ref in self.refs.values():
                if ref.pointer == cycle:
                    ref.target = _any()
        return _any()

    @property
    def _errors(self) -> tuple[type[Exception], ...]:
        jsonschema_rs = _jsonschema_rs()
        return (jsonschema_rs.ReferencingError, ValueError)

    def recursive(self) -> bool:
        """Whether a reference leads back to itself (or could: a dynamic or unplaced one)."""
        if self.unplaced:
            return True
        done: set[tuple[str, str] | None] = set()
        for start in self.edges:
            if start in done:
                continue
            # iterative depth-first search with an explicit path, so deep reference chains cannot recurse
            path: list[tuple[str, str] | None] = [start]
            on_path = {start}
            iterators = [iter(self.edges.get(start, ()))]
            while iterators:
                following = next(iterators[-1], None)
                if following is None:
                    iterators.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
                    continue
                if following in on_path:
                    return True
                if following in done:
                    continue
                path.append(following)
                on_path.add(following)
                iterators.append(iter(self.edges.get(following, ())))
        return False

    def reference(self, target: Any, pointer: str, *, dynamic: bool) -> Node:
        if not isinstance(target, str):
            raise self.fail(pointer, "a reference must be a string")
        try:
            resolved = self.resolver.lookup(target)
        except self._errors:
            # every document was retrieved when the registry was built (a reference nothing maps was
            # refused then); what the view cannot place (a draft's meta-schema, a $dynamicRef to an anchor
            # no static scope defines) is decided by jsonschema-rs, and stands for "anything" here
            self.unplaced = True
            return _any()
        key = (resolved.resolver.base_uri, urldefrag(target)[1])
        self.edges.setdefault(self.current, set()).add(key)
        node = self.refs.get(key)
        if node is None:
            node = Ref(target)
            self.refs[key] = node
            self.pending.append((key, node, resolved.contents, resolved.resolver))
        if dynamic:
            self.unplaced = True  # a dynamic reference may land anywhere in the dynamic scope
            # the target may be another schema at run time: what it gives is never assumed
            return AnyOf([node, _any()])
        return node

    def node(self, schema: Any, pointer: str) -> Node:
        if schema is True:
            return _any()
        if schema is False:
            return Shape(frozenset(), integral_floats=True)
        if not isinstance(schema, Mapping):
            raise self.fail(pointer, f"a schema must be an object or a boolean, not {type(schema).__name__}")
        identifier = schema.get("$id") if not self.legacy or "$ref" not in schema else None
        outer = self.resolver
        if isinstance(identifier, str) and not identifier.startswith("#"):
            # an $id the registry did not index (inside an enum or const, say) keeps the scope
            with contextlib.suppress(*self._errors):
                self.resolver = outer.lookup(identifier).resolver
        try:
            return self._node(schema, pointer)
        finally:
            self.resolver = outer

    def _node(self, schema: Mapping[str, Any], pointer: str) -> Node:
        if "$ref" in schema and self.legacy:
            # draft 7 and earlier: every keyword beside $ref is ignored, as the specification says
            return self.reference(schema["$ref"], f"{pointer}/$ref", dynamic=False)

        parts: list[Node] = []
        base = self.shape(schema, pointer)
        if base is not None:
            parts.append(base)
        if "$ref" in schema:
            parts.append(self.reference(schema["$ref"], f"{pointer}/$ref", dynamic=False))
        for keyword in ("$dynamicRef", "$recursiveRef"):
            if keyword in schema:
                parts.append(self.reference(schema[keyword], f"{pointer}/{keyword}", dynamic=True))
        for index, sub in enumerate(self.array(schema, "allOf", pointer)):
            parts.append(self.node(sub, f"{pointer}/allOf/{index}"))
        for keyword in ("anyOf", "oneOf"):
            branches = self.array(schema, keyword, pointer)
            if branches:
                parts.append(AnyOf([self.node(b, f"{pointer}/{keyword}/{i}") for i, b in enumerate(branches)]))
        # subschemas that constrain values or make presence conditional add no field and no requirement;
        # they are parsed for well-formedness (and so that their references resolve)
        for keyword in ("not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems"):
            if keyword in schema:
                self.node(schema[keyword], f"{pointer}/{keyword}")
        for keyword in ("dependentSchemas", "dependencies", "definitions", "$defs"):
            for name, sub in self.mapping(schema, keyword, pointer).items():
                if not isinstance(sub, list):
                    self.node(sub, f"{pointer}/{keyword}/{name}")
        if not parts:
            return _any()
        return parts[0] if len(parts) == 1 else AllOf(parts)

    def shape(self, schema: Mapping[str, Any], pointer: str) -> Shape | None:
        """The schema's own type, properties and items; None when it says nothing about them."""
        kinds = self.kinds(schema, pointer)
        enum: tuple[Any, ...] | None = None
        if "enum" in schema:
            if not isinstance(schema["enum"], list):
                raise self.fail(pointer, "'enum' must be an array")
            enum = tuple(schema["enum"])
        if "const" in schema:
            const = schema["const"]
            enum = (const,) if enum is None else tuple(v for v in enum if json_equal(v, const))

        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise self.fail(pointer, "'required' must be an array of strings")
        properties: dict[str, Prop] = {}
        for name, sub in self.mapping(schema, "properties", pointer).items():
            properties[name] = Prop(
                self.node(sub, f"{pointer}/properties/{_escape(name)}"),
                required=name in required,
                has_default=(isinstance(sub, Mapping) and "default" in sub)
                or (self.defaulted_when_optional and name not in required),
                default=sub.get("default") if isinstance(sub, Mapping) else None,
                doc=sub.get("description") if isinstance(sub, Mapping) and isinstance(sub.get("description"), str)
                else None,
            )  # fmt: skip
        for name in required:
            properties.setdefault(name, Prop(_any(), required=True))

        values = [
            self.node(sub, f"{pointer}/patternProperties/{_escape(pattern)}")
            for pattern, sub in self.mapping(schema, "patternProperties", pointer).items()
        ]
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if keyword in schema:
                values.append(self.node(schema[keyword], f"{pointer}/{keyword}"))

        items = self.items(schema, pointer)
        says_something = kinds is not None or enum is not None or properties or values or items is not None
        if not says_something:
            return None
        if kinds is None:
            kinds = ALL_KINDS
        if ARRAY in kinds and items is None:
            items = _any()
        title = schema.get("title")
        return Shape(
            kinds,
            name=title if isinstance(title, str) and OBJECT in kinds and properties else None,
            properties=properties,
            items=items,
            values=(values[0] if len(values) == 1 else AnyOf(values)) if values else None,
            enum=enum,
            integral_floats=True,
        )

    def kinds(self, schema: Mapping[str, Any], pointer: str) -> frozenset[str] | None:
        if "type" not in schema:
            return None
        declared = schema["type"]
        names = declared if isinstance(declared, list) else [declared]
        kinds = set()
        for name in names:
            if not isinstance(name, str) or name not in _TYPES:
                raise self.fail(f"{pointer}/type", f"unknown type {name!r} (expected one of {', '.join(_TYPES)})")
            kinds.add(_TYPES[name])
        return frozenset(kinds)

    def items(self, schema: Mapping[str, Any], pointer: str) -> Node | None:
        positional: list[Node] = []
        rest: Node | None = None
        tuple_form = isinstance(schema.get("items"), list)
        if "prefixItems" in schema and not self.legacy:
            prefix = self.array(schema, "prefixItems", pointer)
            positional += [self.node(s, f"{pointer}/prefixItems/{i}") for i, s in enumerate(prefix)]
        if tuple_form:  # draft 2019-09 and earlier: items as an array, then additionalItems
            positional += [self.node(s, f"{pointer}/items/{i}") for i, s in enumerate(schema["items"])]
            if "additionalItems" in schema:
                rest = self.node(schema["additionalItems"], f"{pointer}/additionalItems")
        elif "items" in schema:
            rest = self.node(schema["items"], f"{pointer}/items")
        if "additionalItems" in schema and not tuple_form:
            self.node(schema["additionalItems"], f"{pointer}/additionalItems")  # no effect, still parsed
        if not positional:
            return rest
        if rest is None:
            rest = _any()  # items past the tuple are unconstrained (or constrained by unevaluatedItems only)
        return AnyOf([*positional, rest])

    def mapping(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> Mapping[str, Any]:
        value = schema.get(keyword, {})
        if not isinstance(value, Mapping):
            raise self.fail(f"{pointer}/{keyword}", f"'{keyword}' must be an object")
        return value

    def array(self, schema: Mapping[str, Any], keyword: str, pointer: str) -> list[Any]:
        value = schema.get(keyword, [])
        if not isinstance(value, list):
            raise self.fail(f"{pointer}/{keyword}", f"'{keyword}' must be an array")
        return value


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
