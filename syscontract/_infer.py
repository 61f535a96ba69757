"""A first contract from sample messages: JSON Schema inferred by genson, or Avro derived from it.

genson (a well-kept JSON Schema generator) does the inference: types merged across samples, and a
property ``required`` exactly when every sample has it. For ``--avro`` the inferred JSON Schema is
turned into an Avro record here: no maintained library infers Avro from JSON samples (the ones that
exist generate Avro from Python classes, or from JSON Schema with other conventions), and the mapping
is small: objects become records named after their path, integers ``long``, numbers ``double``, a
property not in every sample ``["null", T]`` with default null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from syscontract.errors import ContractDeclarationError, MissingDependencyError

__all__ = ["critical_candidates", "load_samples", "to_avro", "to_jsonschema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def load_samples(texts: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Sample messages from ``(source, text)`` pairs: a JSON object, a JSON array of objects, or
    JSON lines. Anything else is a :class:`ContractDeclarationError` naming the source."""
    samples: list[dict[str, Any]] = []
    for source, text in texts:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
            values = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    values.append(json.loads(line))
                except ValueError as exc:
                    raise ContractDeclarationError(
                        f"{source}: line {number} is not JSON ({exc}); give one JSON object, an array of objects, "
                        "or JSON lines",
                        reason="bad-sample",
                    ) from exc
        else:
            values = document if isinstance(document, list) else [document]
        for value in values:
            if not isinstance(value, dict):
                raise ContractDeclarationError(
                    f"{source}: a sample message must be a JSON object, not {type(value).__name__}",
                    reason="bad-sample",
                )
            samples.append(value)
    if not samples:
        raise ContractDeclarationError(
            "no sample messages: give files with --from, or JSON lines on standard input", reason="bad-sample"
        )
    return samples


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


def critical_candidates(schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Paths every sample sent, never null, down to the leaves (objects are walked into): the fields
    a handler may reasonably require."""
    found: list[str] = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        if name not in required:
            continue
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        if "null" in types or "anyOf" in prop:
            continue
        path = f"{prefix}{name}"
        if types == ["object"] and prop.get("properties"):
            found.extend(critical_candidates(prop, f"{path}."))
        else:
            found.append(path)
    return found


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
                    f"{where}.{field_name}: {field_name!r} is not a valid Avro field name (letters, digits and '_', "
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
