"""JSON Schema contracts validated by jsonschema-rs: one validator per contract, errors in syscontract's tree.

Cold path: :func:`build` wraps the jsonschema-rs validator the contract was loaded with (its draft from
``$schema``, its reference registry, in which every referenced document was retrieved through the
contract's reference hook at load, so a ``$ref`` never reaches the network, and the ``format`` option).
Hot path: the validator's ``is_valid`` behind a thin closure; a message that fails is then walked once
with ``iter_errors`` for every failing path (at most :data:`MAX_FAILURES`).

Two things jsonschema-rs leaves to its caller are done here:

* values that are not plain JSON types (a ``str`` subclass, a ``Mapping`` that is not a ``dict``)
  are refused by jsonschema-rs with ``ValueError``; they are converted to plain types and validated
  again (a value with no JSON meaning, a ``datetime`` say, fails with reason ``type``);
* jsonschema-rs recurses on the native stack, so a recursive schema walking a hostile message nested
  thousands of levels deep would crash the process: for schemas that can recurse (a reference cycle,
  a ``$dynamicRef``/``$recursiveRef``, a reference the field view could not place) a message nested
  deeper than :data:`MAX_NESTING` fails with reason ``too-deep`` before jsonschema-rs sees it.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema_rs

from syscontract.formats.jsonschema import JsonSchemaContext, build_validator
from syscontract.validation._runtime import MAX_FAILURES, Failure, describe, segment

__all__ = ["MAX_NESTING", "build"]

MAX_NESTING = 256
"""Containers nested inside each other that a message may have when its schema can recurse. A thread
with a 256 KiB stack still validates a message this deep."""

MAX_DETAIL = 300
"""Characters of jsonschema-rs's message kept in a failure's detail (it quotes the failing value)."""

# the reasons of syscontract's tree, for jsonschema-rs error kinds whose names differ
_REASONS = {"falseSchema": "false", "oneOfMultipleValid": "oneOf", "oneOfNotValid": "oneOf"}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNEXPECTED = (
    jsonschema_rs.ValidationErrorKind.AdditionalProperties,
    jsonschema_rs.ValidationErrorKind.UnevaluatedProperties,
)


class _NotJSON(Exception):
    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self.value = value


Built = tuple[Callable[[Any], bool], Callable[[Any], list[Failure]]]


def build(ref: str, schema: Any, context: JsonSchemaContext) -> Built:
    """``(is_valid, errors)`` for the schema, over the jsonschema-rs validator built when the contract
    was loaded."""
    validator = context.validator
    if validator is None:
        validator = build_validator(ref, schema, context)
    rs_is_valid: Callable[[Any], bool] = validator.is_valid
    iter_errors: Callable[[Any], Iterator[Any]] = validator.iter_errors
    guarded = _can_recurse(schema, context)

    def errors(payload: Any) -> list[Failure]:
        if guarded and _too_deep(payload):
            return [Failure("$", "too-deep", f"the message is nested more than {MAX_NESTING} levels deep")]
        try:
            return _failures(iter_errors(payload))
        except _NotJSON as exc:
            return [Failure(exc.path, "type", f"{describe(exc.value)} is not a JSON value")]
        except ValueError:
            pass
        try:
            plain = _plain(payload, "")
        except _NotJSON as exc:
            return [Failure(exc.path, "type", f"{describe(exc.value)} is not a JSON value")]
        except RecursionError:
            return [Failure("$", "too-deep", "the message is nested too deeply to validate")]
        try:
            return _failures(iter_errors(plain))
        except ValueError:
            return [Failure("$", "too-deep", "the message is nested too deeply to validate")]

    def slow_is_valid(payload: Any) -> bool:
        return not errors(payload)

    if guarded:

        def is_valid(payload: Any) -> bool:
            if _too_deep(payload):
                return False
            try:
                return rs_is_valid(payload)
            except ValueError:
                return slow_is_valid(payload)

    else:

        def is_valid(payload: Any) -> bool:
            try:
                return rs_is_valid(payload)
            except ValueError:
                return slow_is_valid(payload)

    return is_valid, errors


def _failures(found: Iterator[Any]) -> list[Failure]:
    failures: list[Failure] = []
    seen: set[str] = set()
    for error in found:
        for failure in _convert(error):
            # one failure per place: the first keyword that failed there (type before enum, say)
            if failure.path not in seen:
                seen.add(failure.path)
                failures.append(failure)
        if len(failures) >= MAX_FAILURES:
            break
    # a missing required field first: it decides the error's class (MissingCriticalField)
    failures.sort(key=lambda failure: failure.reason != "absent")
    return failures[:MAX_FAILURES]


def _convert(error: Any) -> list[Failure]:
    kind = error.kind
    name = kind.name
    at = _path(error.instance_path)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        keyword = next((k for k in ("dependentRequired", "dependencies") if k in error.schema_path), None)
        where = _join(at, kind.property)
        if keyword is not None:
            return [Failure(where, keyword, f"{kind.property!r} is required by another property that is present")]
        return [Failure(where, "absent", "required field is missing")]
    if isinstance(kind, _UNEXPECTED):
        return [Failure(_join(at, key), name, f"property is not allowed ({name})") for key in kind.unexpected]
    message = error.message
    if len(message) > MAX_DETAIL:
        message = message[: MAX_DETAIL - 3] + "..."
    return [Failure(at or "$", _REASONS.get(name, name), message)]


def _path(steps: list[str | int]) -> str:
    text = "".join(f"[{step}]" if isinstance(step, int) else segment(step) for step in steps)
    return text[1:] if text.startswith(".") else text


def _join(at: str, key: str) -> str:
    step = segment(key)
    if not at:
        return step[1:] if step.startswith(".") else step
    return at + step


def _plain(value: Any, path: str) -> Any:
    """``value`` with plain JSON types only (the message is never modified)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        # jsonschema-rs reads UTF-8: a lone surrogate (json.loads accepts "\\ud800") becomes U+FFFD,
        # one character for one, so lengths and patterns see the same string
        return _LONE_SURROGATE.sub("\ufffd", str(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJSON(path or "$", value)
            out[str(key)] = _plain(item, _join(path, key))
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, decimal.Decimal):
        return value
    raise _NotJSON(path or "$", value)


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _too_deep(payload: Any) -> bool:
    """Whether ``payload`` nests containers more than :data:`MAX_NESTING` levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    push = stack.append
    pop = stack.pop
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is dict:
            children: Any = value.values()
        elif kind is list or kind is tuple:
            children = value
        elif kind in _LEAVES:
            continue
        elif isinstance(value, Mapping):
            children = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        if depth > MAX_NESTING:
            return True
        for child in children:
            if type(child) not in _LEAVES:
                push((child, depth + 1))
    return False


def _can_recurse(schema: Any, context: JsonSchemaContext) -> bool:
    """Whether validation may descend further than the schema is deep: a reference cycle, a dynamic
    reference or one the field view could not place (``context.recursive``), or a schema nested deeper
    than :data:`MAX_NESTING`."""
    if context.recursive:
        return True
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        if isinstance(node, Mapping):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return False
