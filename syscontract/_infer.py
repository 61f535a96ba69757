"""A first contract from sample messages: JSON Schema inferred by genson, or Avro derived from it.

genson (a well-kept JSON Schema generator) does the inference: types merged across samples, and a
property ``required`` exactly when every sample has it. For ``--avro`` the inferred JSON Schema is
turned into an Avro record here: no maintained library infers Avro from JSON samples (the ones that
exist generate Avro from Python classes, or from JSON Schema with other conventions), and the mapping
is small: objects become records named after their path, integers ``long``, numbers ``double``, a
property not in every sample ``["null", T]`` with default null.

A sample is refused with a :class:`ContractDeclarationError` (a usage error, one line) when it is
nested deeper than :data:`MAX_NESTING` (json, genson and the contract's own parser all recurse per
level) or has a key that is not Unicode text (a lone surrogate, which no validator reading UTF-8 can
name). Keys a field path cannot name (empty, or holding ``.``, ``[`` or ``]``) stay in the contract
and are left out of the fields offered for ``@requires``, with why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from syscontract.contract import parse_path
from syscontract.errors import ContractDeclarationError, MissingDependencyError
from syscontract.wire.json import nesting

__all__ = ["MAX_NESTING", "Candidates", "critical_candidates", "load_samples", "to_avro", "to_jsonschema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_NESTING = 100
"""Arrays and objects a sample may nest inside each other. Reading a sample (json), inferring its
schema (genson) and parsing that schema into a contract all recurse once or more per level: a sample
this deep leaves each of them room on the stack, a deeper one is refused before it is parsed. (A JSON
Schema contract nested much deeper is refused by jsonschema-rs anyway: its own limit is near 128
levels of sample.)"""


def load_samples(texts: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Sample messages from ``(source, text)`` pairs: a JSON object, a JSON array of objects, or
    JSON lines. Anything else is a :class:`ContractDeclarationError` naming the source: text that is
    not JSON, a sample that is not an object, nested deeper than :data:`MAX_NESTING`, or with a key
    that is not Unicode text."""
    samples: list[dict[str, Any]] = []
    for source, text in texts:
        for where, value in _documents(source, text):
            if not isinstance(value, dict):
                raise ContractDeclarationError(
                    f"{where}: a sample message must be a JSON object, not {type(value).__name__}",
                    reason="bad-sample",
                )
            _refuse_surrogate_keys(where, value)
            samples.append(value)
    if not samples:
        raise ContractDeclarationError(
            "no sample messages: give files with --from, or JSON lines on standard input", reason="bad-sample"
        )
    return samples


def _documents(source: str, text: str) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` for each sample in ``text``: the whole text as one JSON value (an array is
    its items), or else JSON lines (split on ``\\n`` only: a JSON string may hold U+2028 and the other
    characters ``str.splitlines`` also breaks at). Nesting is counted before each parse, without
    recursion: json's scanner would otherwise raise RecursionError on a deep enough text."""
    depth = _depth(text)
    if depth <= MAX_NESTING:
        try:
            document = json.loads(text)
        except ValueError:
            pass
        else:
            for value in document if isinstance(document, list) else [document]:
                yield source, value
            return
    lines = [(number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip()]
    values = []
    for number, line in lines:
        where = f"{source}: line {number}" if len(lines) > 1 else source
        line_depth = _depth(line)
        if line_depth > MAX_NESTING:
            raise _too_deep(where, line_depth)
        try:
            values.append((where, json.loads(line)))
        except ValueError as exc:
            if depth > MAX_NESTING:  # one document nested too deep, written over several lines
                raise _too_deep(source, depth) from None
            raise ContractDeclarationError(
                f"{source}: line {number} is not JSON ({exc}); give one JSON object, an array of objects, "
                "or JSON lines",
                reason="bad-sample",
            ) from exc
    yield from values


def _depth(text: str) -> int:
    """How deep the samples in ``text`` nest: an array's items are samples, so the array does not count."""
    return nesting(text) - (1 if text.lstrip().startswith("[") else 0)


def _too_deep(where: str, depth: int) -> ContractDeclarationError:
    return ContractDeclarationError(
        f"{where}: a sample nests {depth} levels of arrays and objects; samples may nest at most {MAX_NESTING}",
        reason="bad-sample",
    )


def _refuse_surrogate_keys(where: str, sample: dict[str, Any]) -> None:
    """A key holding a lone surrogate (``json.loads`` reads ``"\\ud800"`` as one) is not Unicode text:
    no contract can name it, so the sample is refused, naming the key by its JSON Pointer."""
    stack: list[tuple[Any, str]] = [(sample, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                inner = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
                if _SURROGATE.search(key):
                    raise ContractDeclarationError(
                        f"{where}: the key at {inner!a} holds a lone surrogate, which is not Unicode text: "
                        "no contract can name it (JSON between systems is UTF-8, RFC 8259 section 8.2); "
                        "fix the sample",
                        reason="bad-sample",
                    )
                stack.append((item, inner))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{index}") for index, item in enumerate(value))


def to_jsonschema(samples: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) genson infers from ``samples``."""
    try:
        from genson import SchemaBuilder
    except ImportError as exc:  # pragma: no cover - genson is a dependency
        raise MissingDependencyError("syscontract init needs genson: pip install genson") from exc
    builder = SchemaBuilder(schema_uri=DRAFT)
    for sample in samples:
        builder.add_object(sample)
    inferred: dict[str, Any] = builder.to_schema()
    return {"$schema": DRAFT, "title": title, **{k: v for k, v in inferred.items() if k != "$schema"}}


class Candidates(NamedTuple):
    """The fields to offer for ``@requires``, and the keys left out because no path names them."""

    fields: list[str]
    """Paths of the leaves every sample sent, never null (objects are walked into)."""
    unnamed: list[tuple[tuple[str, ...], str]]
    """Such keys (and what they hold) that no field path names: the chain of keys to each, and why."""


def critical_candidates(schema: dict[str, Any]) -> Candidates:
    """Paths every sample sent, never null, down to the leaves (objects are walked into): the fields
    a handler may reasonably require. A path joins names with ``.`` and marks arrays with ``[]``, so
    a key that is empty or holds ``.``, ``[`` or ``]`` cannot be named by one (``"a.b"`` would name
    ``b`` inside ``a``): such a key, and everything under it, goes to ``unnamed`` instead."""
    found = Candidates([], [])
    _candidates(schema, (), found)
    return found


def _candidates(schema: dict[str, Any], keys: tuple[str, ...], found: Candidates) -> None:
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        if name not in required:
            continue
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        if "null" in types or "anyOf" in prop:
            continue
        chain = (*keys, name)
        why = _unnamable(name)
        if why:
            found.unnamed.append((chain, why))
        elif types == ["object"] and prop.get("properties"):
            _candidates(prop, chain, found)
        else:
            found.fields.append(".".join(chain))


def _unnamable(name: str) -> str:
    """Why no field path can name the key ``name`` ("" when one can): a segment of a path names
    ``name`` when :func:`parse_path` reads it back as exactly that name."""
    try:
        if parse_path(name).steps == ((name, 0),):
            return ""
    except ContractDeclarationError:
        pass
    if not name:
        return "an empty name"
    if "." in name:
        return "'.' in the name: a path reads it as nesting"
    if "[" in name or "]" in name:
        return "'[' or ']' in the name: a path reads '[]' as every element of an array"
    return "a path reads it as another name"  # pragma: no cover - parse_path refuses only the above


def to_avro(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """An Avro record schema for the inferred JSON Schema ``schema`` (a top-level object)."""
    record = _avro(schema, _record_name(name), name)
    if not isinstance(record, dict) or record.get("type") != "record":
        raise ContractDeclarationError("the samples are not objects: an Avro contract is a record", reason="bad-sample")
    return record


def _record_name(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(part[:1].upper() + part[1:] for part in parts if part)
    return text if _AVRO_NAME.match(text) else f"R{text}"


def _avro(schema: dict[str, Any], record: str, where: str) -> Any:
    if "anyOf" in schema:
        branches: list[Any] = []
        for index, option in enumerate(schema["anyOf"]):
            branch = _avro(option, f"{record}{index}", where)
            branches.extend(branch if isinstance(branch, list) else [branch])
        return _union(branches)
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "integer" in types and "number" in types:
        types = [t for t in types if t != "integer"]
    converted = [_avro_type(kind, schema, record, where) for kind in types]
    if not converted:
        raise ContractDeclarationError(f"{where}: no type could be inferred from the samples", reason="bad-sample")
    return converted[0] if len(converted) == 1 else _union(converted)


def _union(branches: list[Any]) -> list[Any]:
    unique: list[Any] = []
    for branch in branches:
        if branch not in unique:
            unique.append(branch)
    return sorted(unique, key=lambda b: b != "null")  # null first: a default of null is then allowed


def _avro_type(kind: str, schema: dict[str, Any], record: str, where: str) -> Any:
    if kind == "object":
        fields = []
        required = set(schema.get("required", ()))
        for field_name, prop in schema.get("properties", {}).items():
            if not _AVRO_NAME.match(field_name):
                raise ContractDeclarationError(
                    f"{where}: {field_name!r} is not a valid Avro field name (letters, digits and '_', "
                    "not starting with a digit); use a JSON Schema contract (drop --avro)",
                    reason="bad-sample",
                )
            field_type = _avro(prop, f"{record}{field_name[:1].upper()}{field_name[1:]}", f"{where}.{field_name}")
            entry: dict[str, Any] = {"name": field_name, "type": field_type}
            if field_name not in required:
                branches = field_type if isinstance(field_type, list) else [field_type]
                entry = {"name": field_name, "type": _union(["null", *branches]), "default": None}
            fields.append(entry)
        return {"type": "record", "name": record, "fields": fields}
    if kind == "array":
        items = schema.get("items")
        item_type = _avro(items, f"{record}Item", f"{where}[]") if items else "string"
        return {"type": "array", "items": item_type}
    simple = {"string": "string", "integer": "long", "number": "double", "boolean": "boolean", "null": "null"}
    if kind not in simple:
        raise ContractDeclarationError(f"{where}: cannot express JSON type {kind!r} in Avro", reason="bad-sample")
    return simple[kind]
