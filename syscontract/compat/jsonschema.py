"""JSON Schema compatibility: does a reader schema accept every document a writer schema accepts?

The question is the one a consumer asks: "if I validate with schema R, will I accept every document
that was valid under W?", that is W ⊆ R. The answer is proved structurally, over the keywords
syscontract's parser supports; where a proof is not possible the checker reports a problem rather than
guessing (it may be stricter than necessary, never more lenient). The rules, in short (the full
reasoning is in ``docs/compatibility.md``):

- ``type``: every type the writer allows must be allowed by the reader (``integer`` is part of
  ``number``; ``null`` is a type like any other, so making a value nullable is a widening of the writer).
- ``enum``/``const``: every value the writer allows must be in the reader's list; a reader list
  against a writer without one is a narrowing.
- ``required``: every name the reader requires, the writer requires.
- ``properties``: a property both declare is compared recursively. A property only the reader
  declares is compared with what the writer allows under that name: nothing, when the writer's model
  is closed (``additionalProperties: false``); anything, when it is open, which the reader's schema
  for it may refuse (``PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL``). A property only the writer declares
  must be allowed by the reader's ``patternProperties`` or ``additionalProperties``; in a closed reader
  it is refused (``PROPERTY_NOT_ALLOWED``), which is what removing a property from a closed model does
  to old documents that still carry it.
- ``additionalProperties``/``patternProperties``: what an open writer may send under names it does not
  list must be accepted by the reader's; patterns are matched by their text.
- ``items``/``prefixItems`` (and draft 7 ``items`` arrays with ``additionalItems``): position by position.
- ``allOf``: the reader's parts must each accept the writer; the writer's parts are combined.
  ``anyOf``/``oneOf``: each of the writer's alternatives must be accepted; a reader alternative
  accepts the writer's values type by type (``oneOf`` is compared as ``anyOf``).
- ``$ref`` (local, recursion included): followed; a pair met again while being compared is assumed to
  hold and is decided on the way out.
- value keywords: a reader bound (``minimum``, ``maxLength``, ``minItems``...) must be implied by a
  writer bound; ``pattern`` and ``multipleOf`` must match the writer's; ``uniqueItems`` must be the
  writer's too (or the writer allows at most one item); ``format`` is compared (unchanged) only where
  the reader asserts it (draft 7 and earlier, the contract's ``format = "assert"``, a custom
  meta-schema), ``contentMediaType``/``contentEncoding`` only in draft 7 and earlier.
- ``not: N``: proven when N accepts none of the writer's types, or a writer part says ``not: M`` with
  N ⊆ M (the same question with the roles exchanged).
- ``dependentRequired``/``dependentSchemas``/``dependencies``, entry by entry: an entry the reader
  drops is compatible; a reader entry must be implied by the writer (names it always requires, its own
  entry for the name at least as strict, or the whole writer satisfying the entry's schema).
- ``contains`` with ``minContains``/``maxContains``: a writer ``contains`` accepted by the reader's, with
  at least as many matches; a ``maxContains`` needs the same ``contains`` and a bound at least as tight.
- ``unevaluatedProperties``/``unevaluatedItems`` in the reader are read as ``additionalProperties`` /
  items past the prefix (stricter than they are, so a proof holds).
- references to anchors, ``$id``s and other documents are inlined through the contract's registry
  (jsonschema-rs ``dereference``); draft 7 keywords beside ``$ref`` are dropped, as the draft says.
- ``if``/``then``/``else``, ``propertyNames``, ``$dynamicRef``/``$recursiveRef`` must appear unchanged
  in the writer. Whatever is not proven is reported as ``UNPROVABLE_KEYWORD``, "could not be proven":
  the answer may be stricter than necessary, never more lenient. Unknown keywords and ``content*``
  are annotations.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from syscontract._types import json_equal
from syscontract.compat._model import (
    CONSTRAINT_NARROWED,
    MISSING_ENUM_SYMBOLS,
    MISSING_UNION_BRANCH,
    PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    PROPERTY_NOT_ALLOWED,
    REQUIRED_PROPERTY_ADDED,
    TYPE_MISMATCH,
    UNPROVABLE_KEYWORD,
    Memo,
    Outcome,
    Problem,
    Segments,
    render,
)
from syscontract.contract import Contract
from syscontract.errors import ContractDeclarationError
from syscontract.formats.jsonschema import DIALECTS, JsonSchemaContext

__all__ = ["MAX_ALTERNATIVES", "can_read", "field_path", "load", "problems"]

MAX_ALTERNATIVES = 256
"""How many combinations of a writer's ``anyOf``/``oneOf`` branches are compared before giving up."""

Sub = tuple[str, Any]  # (JSON pointer in its document, the subschema)
Conj = tuple[Sub, ...]  # subschemas that all apply

_KINDS = frozenset({"null", "boolean", "integer", "number", "string", "object", "array"})
_TYPE_KINDS = {
    "null": frozenset({"null"}),
    "boolean": frozenset({"boolean"}),
    "integer": frozenset({"integer"}),
    # "number" here means a number that is not an integer; JSON Schema's number type is both
    "number": frozenset({"integer", "number"}),
    "string": frozenset({"string"}),
    "object": frozenset({"object"}),
    "array": frozenset({"array"}),
}
_COMBINATORS = frozenset({"$ref", "allOf", "anyOf", "oneOf"})
_OPAQUE = "$syscontract:unresolved"
# Every keyword that can make a document invalid; any other keyword (title, $defs, $anchor, content*,
# unknown ones...) is an annotation. ``format`` is one where the reader asserts formats.
_CONSTRAINTS = frozenset(
    {
        "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties",
        "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties", "dependencies",
        "dependentRequired", "dependentSchemas", "items", "prefixItems", "additionalItems", "unevaluatedItems",
        "contains", "minItems", "maxItems", "uniqueItems", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "not", "if", "allOf", "anyOf",
        "oneOf", "$ref", "$dynamicRef", "$recursiveRef",
    }
)  # fmt: skip
# keywords compared only by being present, unchanged, in the writer
_UNCHANGED = ("if", "propertyNames", "$dynamicRef", "$recursiveRef")
# keyword -> (exclusive, the kind it applies to)
_LOWER = {
    "minimum": (False, "number"),
    "exclusiveMinimum": (True, "number"),
    "minLength": (False, "string"),
    "minItems": (False, "array"),
    "minProperties": (False, "object"),
}
_UPPER = {
    "maximum": (False, "number"),
    "exclusiveMaximum": (True, "number"),
    "maxLength": (False, "string"),
    "maxItems": (False, "array"),
    "maxProperties": (False, "object"),
}
_APPLIES = {"number": frozenset({"integer", "number"}), "string": frozenset({"string"}),
            "array": frozenset({"array"}), "object": frozenset({"object"})}  # fmt: skip


def can_read(reader: Any, writer: Any) -> bool:
    """Whether every document valid under ``writer`` is valid under ``reader``.

    Each side may be a JSON Schema or pydantic :class:`~syscontract.Contract`, a schema document
    (a dict or a boolean) or its JSON text."""
    return not problems(reader, writer)


def problems(reader: Any, writer: Any) -> list[Problem]:
    """Every reason a ``reader`` may refuse a document valid under ``writer``; empty when none.

    ``path`` is a JSON pointer into the reader schema with property names
    (``/properties/customer/properties/customerTier``); ``field`` the same as a field path."""
    reader_document, asserted = _load(reader, "reader")
    writer_document = _load(writer, "writer")[0]
    if reader_document == writer_document:
        return []  # every schema reads what it accepts itself (the keyword rules can be conservative)
    checker = _Checker(_Document(reader_document), _Document(writer_document), asserted=asserted)
    try:
        outcome = checker.sub((("#", checker.writer.root),), (("#", checker.reader.root),))
    except RecursionError:
        return [
            Problem(
                UNPROVABLE_KEYWORD,
                "/",
                "the schemas nest or refer to themselves too deeply to compare; compatibility could not be proven",
            )
        ]
    return render(outcome.found, field_path)


def load(schema: Any, role: str = "schema") -> Any:
    """A JSON Schema document from a contract, a parsed document or its text (see :func:`_load`)."""
    return _load(schema, role)[0]


def _load(schema: Any, role: str = "schema") -> tuple[Any, frozenset[str]]:
    """A JSON Schema document from a contract, a parsed document or its text.

    A pydantic contract gives its model's JSON Schema; as the ``writer`` its objects are closed where
    the model does not allow extra fields, since a model writes only the fields it declares. A document
    is validated with syscontract's JSON Schema parser, so unsupported keywords and remote references
    fail here with the parser's message. References that leave the document are inlined (jsonschema-rs's
    ``dereference``, over the contract's own registry), so the comparison never reaches the network.
    The set holds the annotation keywords its validator asserts: ``format`` (draft 7 and earlier unless
    the contract says annotate, or ``format = "assert"``), ``contentMediaType``/``contentEncoding``
    (jsonschema-rs asserts them in draft 7 and earlier)."""
    if isinstance(schema, Contract):
        if schema.format == "pydantic" and schema.model is not None:
            document = schema.model.model_json_schema()
            # a model writes what model_dump gives: its declared fields only, unless extra="allow"
            return (_closed(document) if role == "writer" else document), frozenset()
        if schema.format != "jsonschema":
            raise ContractDeclarationError(
                f"the {role} is an {schema.format} contract, not JSON Schema",
                contract=str(schema.ref),
                reason="bad-schema",
            )
        contract = schema
    else:
        if isinstance(schema, (str, bytes)):
            try:
                schema = json.loads(schema)
            except ValueError as exc:
                raise ContractDeclarationError(
                    f"the {role} JSON Schema is not valid JSON: {exc}", reason="bad-schema"
                ) from exc
        contract = Contract.from_jsonschema(f"{role}.v0", schema)  # validates: raises ContractDeclarationError
    document = contract.schema
    context = contract.native
    asserted: set[str] = set()
    if isinstance(context, JsonSchemaContext):
        legacy = context.draft in ("draft4", "draft6", "draft7")
        if context.assert_format is True or (context.assert_format is None and legacy):
            asserted.add("format")
        if legacy:
            asserted.update(("contentMediaType", "contentEncoding"))
        dialect = document.get("$schema") if isinstance(document, Mapping) else None
        if isinstance(dialect, str) and dialect.rstrip("#") not in DIALECTS:
            asserted.add("format")  # a custom meta-schema's $vocabulary may ask for format-assertion
        if _leaves_document(document):
            import jsonschema_rs

            # a reference dereference cannot place (one in a keyword the draft ignores, say) stays as it is:
            # the walk treats what it cannot follow as unproven
            with contextlib.suppress(jsonschema_rs.ReferencingError, ValueError):
                document = jsonschema_rs.dereference(document, registry=context.registry, base_uri=context.base_uri)
        if context.draft in ("draft4", "draft6", "draft7"):
            document = _without_ref_siblings(document)
    return document, frozenset(asserted)


def _without_ref_siblings(schema: Any) -> Any:
    """Draft 7 and earlier ignore every keyword beside ``$ref``: drop them, so a writer never looks
    stricter than it is."""
    if isinstance(schema, list):
        return [_without_ref_siblings(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if isinstance(schema.get("$ref"), str):
        return {"$ref": schema["$ref"], **{k: v for k, v in schema.items() if k in ("definitions", "$defs")}}
    return {
        key: value if key in ("enum", "const", "default", "examples") else _without_ref_siblings(value)
        for key, value in schema.items()
    }


def _leaves_document(schema: Any) -> bool:
    """Whether a reference may need more than a JSON pointer into this document (an ``$id``, an
    anchor, another document)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and not (ref == "#" or ref.startswith("#/")):
                return True
            if isinstance(node.get("$id"), str) and node is not schema:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists properties and says nothing about others closed."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    closed = {key: _closed(value) if key not in ("enum", "const", "default", "examples") else value
              for key, value in schema.items()}  # fmt: skip
    if "properties" in schema and "additionalProperties" not in schema and "patternProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


def field_path(segs: Segments) -> str:
    """Problem path segments as a field path: ``("properties", "items", "items", "properties", "sku")``
    is ``items[].sku``."""
    names: list[str] = []
    index = 0
    while index < len(segs):
        step = segs[index]
        if step == "properties" and index + 1 < len(segs):
            names.append(segs[index + 1])
            index += 2
            continue
        if step in ("items", "prefixItems", "additionalItems") and names:
            names[-1] += "[]"
            if index + 1 < len(segs) and segs[index + 1].isdigit():
                index += 1
        index += 1
    return ".".join(names)


class _TooComplex(Exception):
    pass


class _Document:
    def __init__(self, root: Any) -> None:
        self.root = root

    def lookup(self, pointer: str) -> Any:
        """The subschema a reference names; a reference this walker cannot place (one left by
        ``dereference`` in a cycle through another document) is an opaque schema: as a reader part it
        cannot be proven, as a writer part it allows anything."""
        if not isinstance(pointer, str) or not (pointer == "#" or pointer.startswith("#/")):
            return {_OPAQUE: pointer}
        target: Any = self.root
        for token in pointer[2:].split("/") if pointer != "#" else ():
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                return {_OPAQUE: pointer}
        return target

    def flatten(self, conj: Conj) -> tuple[list[Sub], list[list[Conj]]]:
        """The plain parts that all apply (``$ref`` and ``allOf`` followed), and the groups of
        alternatives (``anyOf``/``oneOf``) of which one branch applies per group."""
        parts: list[Sub] = []
        groups: list[list[Conj]] = []
        seen: set[str] = set()
        pending = list(conj)
        while pending:
            pointer, schema = pending.pop(0)
            if pointer in seen:
                continue
            seen.add(pointer)
            parts.append((pointer, schema))
            if not isinstance(schema, Mapping):
                continue
            if "$ref" in schema:
                pending.append((schema["$ref"], self.lookup(schema["$ref"])))
            for index, sub in enumerate(schema.get("allOf", ())):
                pending.append((f"{pointer}/allOf/{index}", sub))
            for keyword in ("anyOf", "oneOf"):
                if keyword in schema:
                    groups.append([((f"{pointer}/{keyword}/{i}", b),) for i, b in enumerate(schema[keyword])])
        return parts, groups

    def alternatives(
        self, conj: Conj, budget: int = MAX_ALTERNATIVES, stack: frozenset[str] = frozenset()
    ) -> list[list[Sub]]:
        """The writer as a list of alternatives, each a list of plain parts that all apply. An
        alternative that leads back to itself with nothing in between (``anyOf: [{$ref: "#"}]``) is
        too complex to expand."""
        key = "|".join(sorted(pointer for pointer, _ in conj))
        if key in stack:
            raise _TooComplex
        stack = stack | {key}
        parts, groups = self.flatten(conj)
        found = [parts]
        for group in groups:
            found = [
                done + more for done in found for branch in group for more in self.alternatives(branch, budget, stack)
            ]
            if len(found) > budget:
                raise _TooComplex
        return found


def _is_closed(conj: Sequence[Sub]) -> bool:
    return any(schema is False for _, schema in conj)


def _is_trivial(schema: Any, asserted: frozenset[str] = frozenset()) -> bool:
    if schema is True:
        return True
    return isinstance(schema, Mapping) and not any(
        key in _CONSTRAINTS or key == _OPAQUE or key in asserted for key in schema
    )


def _kinds_of(schema: Any) -> frozenset[str]:
    if schema is False:
        return frozenset()
    if not isinstance(schema, Mapping) or "type" not in schema:
        return _KINDS
    declared = schema["type"]
    names = declared if isinstance(declared, list) else [declared]
    kinds: frozenset[str] = frozenset()
    for name in names:
        kinds |= _TYPE_KINDS.get(name, frozenset())
    return kinds


def _value_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if math.isfinite(value) and value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _enum_of(schema: Any) -> tuple[Any, ...] | None:
    if not isinstance(schema, Mapping):
        return None
    values: tuple[Any, ...] | None = tuple(schema["enum"]) if "enum" in schema else None
    if "const" in schema:
        const = schema["const"]
        values = (const,) if values is None else tuple(v for v in values if json_equal(v, const))
    return values


def _describe_kinds(kinds: frozenset[str]) -> str:
    if kinds >= _KINDS:
        return "any value"
    shown = sorted(kinds - {"integer"}) if "number" in kinds else sorted(kinds)
    shown = [("non-integer number" if k == "number" and "integer" not in kinds else k) for k in shown]
    return " | ".join(shown) or "no value"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _array_shape(pointer: str, schema: Any) -> tuple[list[Sub], Sub | None]:
    """Positional item schemas and the schema of the items after them (None: unconstrained)."""
    if not isinstance(schema, Mapping):
        return [], None
    prefix: list[Sub] = [(f"{pointer}/prefixItems/{i}", s) for i, s in enumerate(schema.get("prefixItems", ()))]
    items = schema.get("items")
    if isinstance(items, list):  # draft 7 tuple form
        prefix += [(f"{pointer}/items/{i}", s) for i, s in enumerate(items)]
        extra = schema.get("additionalItems")
        return prefix, None if extra is None else (f"{pointer}/additionalItems", extra)
    if "items" in schema:
        return prefix, (f"{pointer}/items", items)
    return prefix, None


def _matches(pattern: str, name: str) -> bool | None:
    """Whether ECMA-262 ``pattern`` matches property ``name``, as far as Python's ``re`` can tell (None:
    it cannot compile the pattern, a ``\\p{...}`` class say)."""
    try:
        return re.search(pattern, name) is not None
    except (re.error, TypeError, RecursionError, OverflowError):
        return None


def _value_for(pointer: str, schema: Any, name: str) -> list[Sub] | None:
    """What one plain schema says about property ``name`` (None: nothing)."""
    if not isinstance(schema, Mapping):
        return [(pointer, False)] if schema is False else None
    properties = schema.get("properties", {})
    if name in properties:
        return [(f"{pointer}/properties/{name}", properties[name])]
    verdicts = [(p, s, _matches(p, name)) for p, s in schema.get("patternProperties", {}).items()]
    if any(matched is None for _, _, matched in verdicts):
        return None  # a pattern Python cannot evaluate: the writer may allow anything under this name
    patterns = [(f"{pointer}/patternProperties/{p}", s) for p, s, matched in verdicts if matched]
    if patterns:
        return patterns
    if "additionalProperties" in schema:
        return [(f"{pointer}/additionalProperties", schema["additionalProperties"])]
    return None


@dataclass
class _View:
    """One writer alternative, its plain parts combined."""

    parts: list[Sub]
    kinds: frozenset[str]
    enum: tuple[Any, ...] | None
    required: frozenset[str] = frozenset()
    declared: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, parts: list[Sub]) -> _View:
        sole = _sole_evaluators(parts)
        parts = [(pointer, _evaluated_alone(schema, sole)) for pointer, schema in parts]
        kinds = _KINDS
        enum: tuple[Any, ...] | None = None
        required: set[str] = set()
        declared: dict[str, None] = {}
        for _, schema in parts:
            kinds &= _kinds_of(schema)
            values = _enum_of(schema)
            if values is not None:
                enum = values if enum is None else tuple(v for v in enum if any(json_equal(v, w) for w in values))
            if isinstance(schema, Mapping):
                required.update(schema.get("required", ()))
                declared.update(dict.fromkeys(schema.get("properties", {})))
        if enum is not None:
            enum = tuple(v for v in enum if _value_kind(v) in kinds)
            kinds = frozenset(_value_kind(v) for v in enum)
        return cls(parts, kinds, enum, frozenset(required), list(declared))

    @property
    def empty(self) -> bool:
        return not self.kinds

    def only(self, kind: str) -> _View:
        enum = None if self.enum is None else tuple(v for v in self.enum if _value_kind(v) == kind)
        return _View(self.parts, self.kinds & {kind}, enum, self.required, self.declared)

    def value_for(self, name: str) -> list[Sub]:
        """Every writer schema that applies to property ``name`` (empty: anything goes)."""
        found: list[Sub] = []
        for pointer, schema in self.parts:
            found += _value_for(pointer, schema, name) or []
        return found

    def others(self) -> list[tuple[str | None, list[Sub]]]:
        """What the writer may send under names it does not declare, as (pattern or None, schemas).

        Several parts each restricting other names are approximated by the most restrictive one
        (this can only make the writer look larger, never smaller)."""
        chosen: tuple[str, Mapping[str, Any]] | None = None
        for pointer, schema in self.parts:
            if schema is False:
                return []
            if not isinstance(schema, Mapping):
                continue
            if schema.get("additionalProperties") is False:
                chosen = (pointer, schema)
                break
            if chosen is None and ("additionalProperties" in schema or "patternProperties" in schema):
                chosen = (pointer, schema)
        if chosen is None:
            return [(None, [])]
        pointer, schema = chosen
        found: list[tuple[str | None, list[Sub]]] = [
            (p, [(f"{pointer}/patternProperties/{p}", s)]) for p, s in schema.get("patternProperties", {}).items()
        ]
        extra = schema.get("additionalProperties", True)
        if extra is not False:
            found.append((None, [(f"{pointer}/additionalProperties", extra)]))
        return found

    def array_shape(self) -> tuple[list[list[Sub]], list[Sub]]:
        shapes = [_array_shape(pointer, schema) for pointer, schema in self.parts]
        length = max((len(prefix) for prefix, _ in shapes), default=0)
        positions: list[list[Sub]] = []
        for index in range(length):
            at: list[Sub] = []
            for prefix, rest in shapes:
                if index < len(prefix):
                    at.append(prefix[index])
                elif rest is not None:
                    at.append(rest)
            positions.append(at)
        return positions, [rest for _, rest in shapes if rest is not None]

    def bound(self, table: Mapping[str, tuple[bool, str]], lower: bool) -> tuple[float, bool] | None:
        best: tuple[float, bool] | None = None
        for _, schema in self.parts:
            if not isinstance(schema, Mapping):
                continue
            for keyword, (exclusive, _) in table.items():
                value = schema.get(keyword)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                if best is None or _tighter((value, exclusive), best, lower):
                    best = (value, exclusive)
        return best


def _tighter(candidate: tuple[float, bool], than: tuple[float, bool], lower: bool) -> bool:
    if candidate[0] != than[0]:
        return candidate[0] > than[0] if lower else candidate[0] < than[0]
    return candidate[1] and not than[1]


class _Checker:
    def __init__(self, reader: _Document, writer: _Document, *, asserted: frozenset[str] = frozenset()) -> None:
        self.reader = reader
        self.writer = writer
        self.asserted = asserted
        self.memo = Memo()
        self._swapped: _Checker | None = None

    def swapped(self) -> _Checker:
        """The checker with the two documents' roles exchanged (for ``not``: W ⊆ not R when R ⊆ not W)."""
        if self._swapped is None:
            self._swapped = _Checker(self.writer, self.reader, asserted=self.asserted)
            self._swapped._swapped = self
        return self._swapped

    def sub(self, writer: Sequence[Sub], reader: Sequence[Sub]) -> Outcome:
        """Whether every document valid under all of ``writer`` is valid under all of ``reader``."""
        key = (frozenset(p for p, _ in writer), frozenset(p for p, _ in reader))
        return self.memo.run(key, lambda: self._sub(tuple(writer), tuple(reader)))

    def _sub(self, writer: Conj, reader: Conj) -> Outcome:
        outcome = Outcome()
        parts, groups = self.reader.flatten(reader)
        if not groups and all(_is_trivial(schema, self.asserted) for _, schema in parts):
            return outcome
        try:
            alternatives = self.writer.alternatives(writer)
        except _TooComplex:
            outcome.problem(
                UNPROVABLE_KEYWORD,
                (),
                f"the writer's anyOf/oneOf combine into more than {MAX_ALTERNATIVES} alternatives, or refer to "
                "themselves with nothing in between; compatibility could not be proven",
            )
            return outcome
        for alternative in alternatives:
            view = _View.of(alternative)
            if not view.empty:
                outcome.add((), self.view_within(view, parts, groups))
        return outcome

    def view_within(self, view: _View, parts: list[Sub], groups: list[list[Conj]]) -> Outcome:
        outcome = Outcome()
        for part in parts:
            outcome.add((), self.part(view, part, alone=frozenset() if groups else _sole_evaluators(parts)))
        for group in groups:
            refused = []
            for kind in sorted(view.kinds):
                narrowed = view.only(kind)
                if narrowed.empty:
                    continue
                accepted = False
                for branch in group:
                    attempt = self.view_within(narrowed, *self.reader.flatten(branch))
                    outcome.assumed |= attempt.assumed
                    if attempt.ok:
                        accepted = True
                        break
                if not accepted:
                    refused.append(kind)
            if refused:
                outcome.problem(
                    MISSING_UNION_BRANCH,
                    (),
                    f"no branch of the reader's anyOf/oneOf accepts the writer's {_describe_kinds(frozenset(refused))}"
                    " values",
                )
        return outcome

    def part(self, view: _View, part: Sub, alone: frozenset[str] = frozenset()) -> Outcome:
        """The writer view against one plain reader schema (``alone``: ``object``/``array`` when no other
        part of the reader evaluates properties / items, so its unevaluated* keywords are exact)."""
        pointer, schema = part
        outcome = Outcome()
        if _is_trivial(schema, self.asserted):
            return outcome
        if isinstance(schema, Mapping) and _OPAQUE in schema:
            outcome.problem(
                UNPROVABLE_KEYWORD,
                (),
                f"the reader refers to {schema[_OPAQUE]!r}, which syscontract cannot inline here; compatibility could "
                "not be proven",
            )
            return outcome
        if schema is False or not isinstance(schema, Mapping):
            outcome.problem(
                TYPE_MISMATCH, (), f"the reader accepts no value here; the writer allows {_describe_kinds(view.kinds)}"
            )
            return outcome
        kinds = _kinds_of(schema)
        extra = view.kinds - kinds
        if extra:
            outcome.problem(
                TYPE_MISMATCH,
                (),
                f"the writer allows {_describe_kinds(extra)} where the reader accepts only {_describe_kinds(kinds)}",
            )
        common = view.kinds & kinds
        if not common:
            return outcome
        self.enums(view, schema, kinds, outcome)
        self.constraints(view, pointer, schema, common, outcome)
        for kind, compare, keyword, exact in (
            ("object", self.objects, "unevaluatedProperties", "additionalProperties" in schema),
            ("array", self.arrays, "unevaluatedItems", "items" in schema),
        ):
            if kind not in common:
                continue
            exact = exact or (kind in alone and not any(key in schema for key in _ANNOTATING))
            if keyword not in schema or exact:
                compare(view, pointer, schema, outcome)
                continue
            # the reader's unevaluated* was read more strictly than it is (other parts evaluate too):
            # a problem found that way is one that could not be proven either way
            approximate = Outcome()
            compare(view, pointer, schema, approximate)
            outcome.assumed |= approximate.assumed
            if not approximate.ok:
                outcome.problem(
                    UNPROVABLE_KEYWORD,
                    (keyword,),
                    f"the reader's {keyword} depends on what its other parts evaluate; compatibility could not be "
                    "proven",
                )
        return outcome

    def enums(self, view: _View, schema: Mapping[str, Any], kinds: frozenset[str], outcome: Outcome) -> None:
        allowed = _enum_of(schema)
        if allowed is None:
            return
        shown = ", ".join(_short(v) for v in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
        if view.enum is None:
            outcome.problem(
                MISSING_ENUM_SYMBOLS,
                (),
                f"the reader accepts only [{shown}] but the writer allows any {_describe_kinds(view.kinds & kinds)}",
            )
            return
        missing = [v for v in view.enum if _value_kind(v) in kinds and not any(json_equal(v, a) for a in allowed)]
        if missing:
            outcome.problem(
                MISSING_ENUM_SYMBOLS,
                (),
                f"the writer allows {', '.join(_short(v) for v in missing)}, which the reader's "
                f"enum [{shown}] does not list",
            )

    def constraints(
        self, view: _View, pointer: str, schema: Mapping[str, Any], common: frozenset[str], outcome: Outcome
    ) -> None:
        for table, lower in ((_LOWER, True), (_UPPER, False)):
            for keyword, (exclusive, applies) in table.items():
                value = schema.get(keyword)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                if not common & _APPLIES[applies]:
                    continue
                theirs = view.bound({k: v for k, v in table.items() if v[1] == applies}, lower)
                mine = (value, exclusive)
                if theirs is None or _tighter(mine, theirs, lower):
                    said = (
                        "no such bound"
                        if theirs is None
                        else f"{'>' if lower else '<'}{'' if theirs[1] else '='} {theirs[0]}"
                    )
                    outcome.problem(
                        CONSTRAINT_NARROWED,
                        (),
                        f"the reader requires {keyword} {value}; the writer allows more ({said})",
                    )
        pattern = schema.get("pattern")
        if pattern is not None and common & _APPLIES["string"] and not _has(view, "pattern", pattern):
            outcome.problem(CONSTRAINT_NARROWED, (), f"the reader requires pattern {pattern!r}; the writer does not")
        step = schema.get("multipleOf")
        if (
            isinstance(step, (int, float))
            and not isinstance(step, bool)
            and common & _APPLIES["number"]
            and not _divides(view, step)
        ):
            outcome.problem(CONSTRAINT_NARROWED, (), f"the reader requires multipleOf {step}; the writer does not")
        keywords = [k for k in _UNCHANGED if k in schema]
        keywords += [k for k in sorted(self.asserted) if k in schema]
        for keyword in keywords:
            if keyword == "if" and "then" not in schema and "else" not in schema:
                continue  # if without then/else has no effect
            together = ("if", "then", "else") if keyword == "if" else (keyword,)
            if not all(_has(view, k, schema[k]) for k in together if k in schema):
                outcome.problem(
                    UNPROVABLE_KEYWORD,
                    (),
                    f"the reader uses {keyword!r}, which the writer does not have unchanged; compatibility could "
                    "not be proven",
                )
        self.negation(view, pointer, schema, common, outcome)
        self.dependencies(view, pointer, schema, outcome)
        if common & _APPLIES["array"]:
            self.contains(view, pointer, schema, outcome)
            if schema.get("uniqueItems") is True and not _has(view, "uniqueItems", True):
                bound = view.bound({"maxItems": (False, "array")}, False)
                if bound is None or bound[0] > 1:
                    outcome.problem(
                        CONSTRAINT_NARROWED, (), "the reader requires uniqueItems; the writer allows repeated items"
                    )

    def negation(
        self, view: _View, pointer: str, schema: Mapping[str, Any], common: frozenset[str], outcome: Outcome
    ) -> None:
        """``not: N``: the writer's documents must all fail N. Proven when N accepts none of the writer's
        types, or a writer part says ``not: M`` with N ⊆ M."""
        if "not" not in schema:
            return
        negated = schema["not"]
        if negated is False:
            return
        if not (_kinds_of(negated) & view.kinds):
            return
        for written_pointer, written in view.parts:
            if isinstance(written, Mapping) and "not" in written:
                attempt = self.swapped().sub(
                    ((f"{pointer}/not", negated),), ((f"{written_pointer}/not", written["not"]),)
                )
                outcome.assumed |= attempt.assumed
                if attempt.ok:
                    return
        outcome.problem(
            UNPROVABLE_KEYWORD,
            ("not",),
            "the reader's 'not' may refuse documents the writer allows; compatibility could not be proven",
        )

    def dependencies(self, view: _View, pointer: str, schema: Mapping[str, Any], outcome: Outcome) -> None:
        """``dependentRequired``/``dependentSchemas``/``dependencies``, entry by entry: each reader entry
        must be implied by the writer (the names always required, or the writer's own entry for that name
        at least as strict); removing an entry is always compatible."""
        for keyword in ("dependentRequired", "dependentSchemas", "dependencies"):
            entries = schema.get(keyword)
            if not isinstance(entries, Mapping):
                continue
            for name, wanted in entries.items():
                if _is_closed(view.value_for(name)) or (name not in view.declared and not view.others()):
                    continue  # the writer never sends the property the entry depends on
                if isinstance(wanted, list):
                    if set(wanted) <= view.required or any(set(wanted) <= set(w) for w in _entries(view, name, list)):
                        continue
                    outcome.problem(
                        REQUIRED_PROPERTY_ADDED,
                        (keyword, name),
                        f"the reader requires {', '.join(map(repr, wanted))} when '{name}' is present; "
                        "the writer does not",
                    )
                    continue
                target = ((f"{pointer}/{keyword}/{name}", wanted),)
                proven = False
                for written in [view.parts, *([(p, w)] for p, w in _entries_at(view, name) if not isinstance(w, list))]:
                    attempt = self.sub(written, target)
                    outcome.assumed |= attempt.assumed
                    if attempt.ok:
                        proven = True
                        break
                if not proven:
                    outcome.problem(
                        UNPROVABLE_KEYWORD,
                        (keyword, name),
                        f"the reader's {keyword} entry for '{name}' may refuse documents the writer allows; "
                        "compatibility could not be proven",
                    )

    def contains(self, view: _View, pointer: str, schema: Mapping[str, Any], outcome: Outcome) -> None:
        """``contains`` with ``minContains``/``maxContains``: a writer part with ``contains`` whose items are
        accepted by the reader's, at least as many of them, proves it; a ``maxContains`` needs the same
        ``contains`` schema with a bound at least as tight."""
        if "contains" not in schema:
            return
        low = schema.get("minContains", 1)
        high = schema.get("maxContains")
        if low == 0 and high is None:
            return
        for written_pointer, written in view.parts:
            if not isinstance(written, Mapping) or "contains" not in written:
                continue
            their_low = written.get("minContains", 1)
            their_high = written.get("maxContains")
            if not (isinstance(low, int) and isinstance(their_low, int)) or their_low < low:
                continue
            if high is not None:
                if (
                    json_equal(written["contains"], schema["contains"])
                    and their_high is not None
                    and their_high <= high
                ):
                    return
                continue
            attempt = self.sub(
                ((f"{written_pointer}/contains", written["contains"]),), ((f"{pointer}/contains", schema["contains"]),)
            )
            outcome.assumed |= attempt.assumed
            if attempt.ok:
                return
        outcome.problem(
            UNPROVABLE_KEYWORD,
            ("contains",),
            "the reader's 'contains' may refuse arrays the writer allows; compatibility could not be proven",
        )

    def objects(self, view: _View, pointer: str, schema: Mapping[str, Any], outcome: Outcome) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        patterns: Mapping[str, Any] = schema.get("patternProperties", {})
        # unevaluatedProperties read as additionalProperties: stricter than the reader (it ignores what
        # other parts evaluate), so a proof still holds
        extra = schema.get("additionalProperties", schema.get("unevaluatedProperties"))
        for name in schema.get("required", ()):
            if name not in view.required:
                never = _is_closed(view.value_for(name)) or (name not in view.declared and not view.others())
                why = "never sends it" if never else "does not require it, so its documents may lack it"
                outcome.problem(
                    REQUIRED_PROPERTY_ADDED, ("properties", name), f"the reader requires '{name}'; the writer {why}"
                )
        for name, sub in properties.items():
            wanted = ((f"{pointer}/properties/{name}", sub),)
            written = view.value_for(name)
            if _is_closed(written):
                continue
            if all(_is_trivial(schema) for _, schema in written) and not _is_trivial(sub):
                outcome.problem(
                    PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
                    ("properties", name),
                    f"the writer's content model is open and does not declare '{name}', so its documents may carry "
                    f"any value under that name; the reader constrains it",
                )
                continue
            outcome.add(("properties", name), self.sub(written, wanted))
        for name in view.declared:
            if name in properties:
                continue
            written = view.value_for(name)
            if _is_closed(written):
                continue
            verdicts = [(p, s, _matches(p, name)) for p, s in patterns.items()]
            if any(matched is None for _, _, matched in verdicts):
                outcome.problem(
                    UNPROVABLE_KEYWORD,
                    ("properties", name),
                    f"a reader patternProperties pattern cannot be evaluated here for '{name}'; compatibility "
                    "could not be proven",
                )
                continue
            matching = [(f"{pointer}/patternProperties/{p}", s) for p, s, matched in verdicts if matched]
            if matching:
                outcome.add(("properties", name), self.sub(written, matching))
            elif extra is False:
                outcome.problem(
                    PROPERTY_NOT_ALLOWED,
                    ("properties", name),
                    f"the writer may send '{name}' but the reader's content model is closed "
                    "(additionalProperties: false) and does not list it",
                )
            elif extra is not None:
                outcome.add(("properties", name), self.sub(written, ((f"{pointer}/additionalProperties", extra),)))
        buckets = view.others()
        # names the writer's own patterns match never fall in its bucket of other names
        listed = {p for p, _ in buckets if p is not None}
        for pattern, written in buckets:
            if _is_closed(written):
                continue
            if pattern is not None and pattern in patterns:
                targets = [(f"{pointer}/patternProperties/{pattern}", patterns[pattern])]
                outcome.add(("patternProperties", pattern), self.sub(written, targets))
                continue
            for other, target in patterns.items():
                if pattern is None and other in listed:
                    continue
                outcome.add(
                    ("patternProperties", other), self.sub(written, ((f"{pointer}/patternProperties/{other}", target),))
                )
            if extra is False:
                outcome.problem(
                    PROPERTY_NOT_ALLOWED,
                    ("additionalProperties",),
                    "the writer's content model is open (it allows properties it does not list) but the reader's "
                    "is closed (additionalProperties: false)",
                )
            elif extra is not None:
                outcome.add(("additionalProperties",), self.sub(written, ((f"{pointer}/additionalProperties", extra),)))

    def arrays(self, view: _View, pointer: str, schema: Mapping[str, Any], outcome: Outcome) -> None:
        positions, rest = view.array_shape()
        prefix, tail = _array_shape(pointer, schema)
        if tail is None and "unevaluatedItems" in schema:
            # read as items past the prefix: stricter than the reader (it ignores what other parts
            # evaluate), so a proof still holds
            tail = (f"{pointer}/unevaluatedItems", schema["unevaluatedItems"])
        for index in range(max(len(positions), len(prefix))):
            written = positions[index] if index < len(positions) else rest
            if _is_closed(written):
                return  # the writer's arrays never reach this position
            wanted = prefix[index] if index < len(prefix) else tail
            if wanted is not None:
                outcome.add(tuple(wanted[0][len(pointer) + 1 :].split("/")), self.sub(written, (wanted,)))
        if tail is not None and not _is_closed(rest):
            outcome.add(("items",), self.sub(rest, (tail,)))


_ANNOTATING = (
    "if",
    "dependentSchemas",
    "dependencies",
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "allOf",
    "anyOf",
    "oneOf",
)


_EVALUATE = {
    "object": frozenset(
        {"properties", "patternProperties", "additionalProperties", "unevaluatedProperties", "if", "then", "else",
         "dependentSchemas", "dependencies", "$dynamicRef", "$recursiveRef"}
    ),
    "array": frozenset(
        {"items", "prefixItems", "additionalItems", "unevaluatedItems", "contains", "if", "then", "else",
         "$dynamicRef", "$recursiveRef"}
    ),
}  # fmt: skip


def _sole_evaluators(parts: Sequence[Sub]) -> frozenset[str]:
    """``object``/``array`` when at most one of ``parts`` evaluates properties / items."""
    found = set()
    for kind, keywords in _EVALUATE.items():
        evaluating = [s for _, s in parts if isinstance(s, Mapping) and any(k in s for k in keywords)]
        if len(evaluating) <= 1:
            found.add(kind)
    return frozenset(found)


def _evaluated_alone(schema: Any, sole: frozenset[str]) -> Any:
    """A writer part with ``unevaluatedProperties`` / ``unevaluatedItems`` read as what they are when no
    other part evaluates properties / items: ``additionalProperties`` / the items past the prefix."""
    if not isinstance(schema, Mapping) or any(key in schema for key in _ANNOTATING):
        return schema
    rewritten = dict(schema)
    if "object" in sole and "unevaluatedProperties" in schema and "additionalProperties" not in schema:
        rewritten["additionalProperties"] = schema["unevaluatedProperties"]
    if "array" in sole and "unevaluatedItems" in schema and "items" not in schema:
        rewritten["items"] = schema["unevaluatedItems"]
    return rewritten


def _entries(view: _View, name: str, kind: type) -> list[Any]:
    """The writer's dependency entries for ``name`` of one form (a list of names, or a schema)."""
    return [w for _, w in _entries_at(view, name) if isinstance(w, kind)]


def _entries_at(view: _View, name: str) -> list[tuple[str, Any]]:
    found = []
    for pointer, schema in view.parts:
        if not isinstance(schema, Mapping):
            continue
        for keyword in ("dependentRequired", "dependentSchemas", "dependencies"):
            entries = schema.get(keyword)
            if isinstance(entries, Mapping) and name in entries:
                found.append((f"{pointer}/{keyword}/{name}", entries[name]))
    return found


def _has(view: _View, keyword: str, value: Any) -> bool:
    """Whether some writer part has ``keyword`` with exactly ``value``."""
    return any(
        isinstance(schema, Mapping) and keyword in schema and json_equal(schema[keyword], value)
        for _, schema in view.parts
    )


def _divides(view: _View, step: float) -> bool:
    """Whether some writer part's ``multipleOf`` is a multiple of ``step``."""
    return any(_multiple(schema.get("multipleOf"), step) for _, schema in view.parts if isinstance(schema, Mapping))


def _multiple(value: Any, step: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or step == 0:
        return False
    ratio = value / step
    return math.isfinite(ratio) and ratio == int(ratio)
