"""What generated (Avro) validators call at run time: precise type tests and failure records, and
the failure record every validator reports with.

Generated code tests the common case inline by exact class (``type(x) is str``) and calls into this
module only when that quick test is not conclusive (a ``bool`` for an int, a ``Decimal``, a logical
type). Nothing here is called per message on a valid reference event.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import numbers
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["MAX_FAILURES", "RUNTIME", "Failure", "Full", "describe", "segment"]

MAX_FAILURES = 20
"""Failures collected for one message before the walk stops (the error says it stopped)."""


class Failure(NamedTuple):
    """One failing place in a message: ``path`` (``customer.id``, ``items[2].qty``, ``$`` for the whole
    message), ``reason`` (``absent`` or the keyword that failed: ``type``, ``enum``, ``minimum``...),
    and ``detail`` (what a person reads)."""

    path: str
    reason: str
    detail: str


class Full(Exception):
    """Raised by :func:`fail` once :data:`MAX_FAILURES` failures are collected."""


_PLAIN_SEGMENT = re.compile(r"[^.\[\]\"'\s]+")


def segment(name: Any) -> str:
    """The path segment for an object key or record field: ``.name``, or ``["we.ird"]`` when the
    name could be misread as path syntax."""
    if isinstance(name, str) and _PLAIN_SEGMENT.fullmatch(name):
        return "." + name
    return "[" + json.dumps(name if isinstance(name, str) else str(name), ensure_ascii=False) + "]"


def _path(raw: str) -> str:
    return raw[1:] if raw.startswith(".") else (raw or "$")


def short(value: Any, limit: int = 40) -> str:
    """A value as it appears in an error message: JSON-like and truncated."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """The JSON type of ``value`` with the value itself: ``string "abc"``, ``integer 5``, ``null``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"boolean {short(value)}"
    if isinstance(value, int):
        return f"integer {short(value)}"
    if isinstance(value, float):
        return f"number {short(value)}"
    if isinstance(value, str):
        return f"string {short(value)}"
    if isinstance(value, Mapping):
        return f"object with {len(value)} keys"
    if isinstance(value, (list, tuple)):
        return f"array of {len(value)} items"
    if isinstance(value, (bytes, bytearray)):
        return f"bytes of length {len(value)}"
    return f"{type(value).__module__}.{type(value).__qualname__} {short(value)}"


_EXPLAIN: dict[str, Callable[[Any, Any], str]] = {
    "type": lambda v, a: f"expected {a}, got {describe(v)}",
    "absent": lambda v, a: "required field is missing",
    "enum": lambda v, a: f"{short(v)} is not one of {a}",
    "false": lambda v, a: "no value is allowed here",
    "range": lambda v, a: f"{short(v)} is outside the {a} range",
    "size": lambda v, a: f"has length {len(v)}, expected {a}",
    "union": lambda v, a: f"expected one of {a}, got {describe(v)}",
    "key": lambda v, a: f"map key {short(v)} is not a string",
    "logical": lambda v, a: f"{describe(v)} is not a valid {a}",
}


def fail(out: list[Failure], path: str, reason: str, value: Any, arg: Any = None) -> None:
    """Record one failure; stop the walk (:class:`Full`) once :data:`MAX_FAILURES` are recorded."""
    explain = _EXPLAIN.get(reason)
    try:
        detail = explain(value, arg) if explain is not None else f"fails {reason}"
    except Exception:  # pragma: no cover - a value whose len() or repr() misbehaves
        detail = f"fails {reason}"
    out.append(Failure(_path(path), reason, detail))
    if len(out) >= MAX_FAILURES:
        raise Full


def key_segment(key: Any) -> str:
    return segment(key)


# -- Avro ----------------------------------------------------------------------------------------

_EXACT = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def avro_int(x: Any) -> bool:
    """Avro int/long before the range test: an integral number that is not a bool (fastavro's rule)."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def avro_float(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def avro_bytes(x: Any) -> bool:
    """Avro bytes: bytes or bytearray, or (Avro's JSON encoding) a string of code points 0-255."""
    if isinstance(x, (bytes, bytearray)):
        return True
    return isinstance(x, str) and _latin1(x)


def avro_fixed(x: Any, size: int) -> bool:
    return avro_bytes(x) and len(x) == size


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def avro_decimal(x: Any, precision: int, scale: int, size: int | None) -> bool:
    """A Decimal the Avro decimal logical type can carry: finite, at most ``scale`` places after the
    point, at most ``precision`` digits once scaled (so at most ``precision - scale`` before the
    point), and (for fixed) an unscaled value that fits ``size`` bytes in two's complement."""
    if not isinstance(x, decimal.Decimal) or not x.is_finite():
        return False
    exponent = x.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > scale:
        return False
    unscaled = int(x.scaleb(scale, _EXACT))
    if len(str(abs(unscaled))) > precision:
        return False
    return size is None or (unscaled if unscaled >= 0 else ~unscaled).bit_length() + 1 <= size * 8


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def avro_uuid(x: Any) -> bool:
    return isinstance(x, uuid.UUID) or (isinstance(x, str) and _UUID.fullmatch(x) is not None)


def is_date(x: Any) -> bool:
    return isinstance(x, _dt.date)


def is_time(x: Any) -> bool:
    return isinstance(x, _dt.time)


def is_datetime(x: Any) -> bool:
    return isinstance(x, _dt.datetime)


def kind(x: Any) -> str:
    """The JSON kind of a value, to pick the one alternative of a union that could have been meant."""
    if x is None:
        return "null"
    if x is True or x is False:
        return "boolean"
    if isinstance(x, int):
        return "integer"
    if isinstance(x, (float, decimal.Decimal)):
        return "number"
    if isinstance(x, str):
        return "string"
    if isinstance(x, (bytes, bytearray)):
        return "bytes"
    if isinstance(x, Mapping):
        return "object"
    if isinstance(x, (list, tuple)):
        return "array"
    return "other"


def alternatives(
    x: Any,
    path: str,
    out: list[Failure],
    reason: str,
    arg: Any,
    branches: Sequence[tuple[frozenset[str] | None, Callable[[Any, str, list[Failure]], None]]],
) -> None:
    """Report a value that matches no alternative. When exactly one alternative could have been
    meant (its kinds include the value's kind), report why that one fails, at its nested paths."""
    value_kind = kind(x)
    kinds = {value_kind, "number"} if value_kind == "integer" else {value_kind}
    candidates = [walk for accepted, walk in branches if accepted is None or accepted & kinds]
    if len(candidates) == 1:
        before = len(out)
        candidates[0](x, path, out)
        if len(out) > before:
            return
    fail(out, path, reason, x, arg)


RUNTIME: dict[str, Any] = {
    "_sc_fail": fail,
    "_sc_key": key_segment,
    "_sc_avro_int": avro_int,
    "_sc_avro_float": avro_float,
    "_sc_avro_bytes": avro_bytes,
    "_sc_avro_fixed": avro_fixed,
    "_sc_avro_decimal": avro_decimal,
    "_sc_avro_uuid": avro_uuid,
    "_sc_is_date": is_date,
    "_sc_is_time": is_time,
    "_sc_is_datetime": is_datetime,
    "_sc_alternatives": alternatives,
    "_sc_Mapping": Mapping,
    "_sc_Decimal": decimal.Decimal,
    "_sc_ListTuple": (list, tuple),
}
"""The helpers every generated module's namespace starts with (all names start with ``_sc_``)."""
