"""Whole-message validators: building one per contract, the bounded cache, and the error raised.

Cold path: :func:`compile_validator` (building a jsonschema-rs validator, generating and compiling
Avro source, or reading the cache). Hot path: the function it returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from cachetools import LRUCache
from pydantic_core import from_json

from syscontract.errors import (
    ContractDeclarationError,
    ContractViolation,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
)
from syscontract.validation._codegen import Engine
from syscontract.validation._runtime import MAX_FAILURES, Failure, Full

if TYPE_CHECKING:
    from syscontract.contract import Contract

__all__ = ["CACHE_SIZE", "Validator", "cache_info", "clear_cache", "compile_validator", "violation"]

CACHE_SIZE = 256
"""Validators kept, keyed by the contract's format and schema fingerprint (for JSON Schema also its
draft, base URI and ``format`` option; a JSON Schema contract with references to other documents is
not shared). Building the same schema again within this many distinct schemas costs a lookup."""

_cache: LRUCache[Any, Any] = LRUCache(maxsize=CACHE_SIZE)
_lock = threading.Lock()


class Validator(Protocol):
    """A compiled whole-message validator for one contract.

    ``validator(payload)`` returns None for a valid message and raises a
    :class:`~syscontract.ContractViolation` naming every failing path otherwise.
    """

    contract: str
    """The contract reference (``order.v3``) errors carry."""
    engine: str
    """``"jsonschema-rs"`` (JSON Schema), ``"compiled"`` (generated Python, Avro) or ``"pydantic"``
    (the model's own validator)."""
    source: str | None
    """The generated source (also shown by tracebacks through :mod:`linecache`); None unless compiled."""

    def __call__(self, payload: Any, /) -> None: ...

    def is_valid(self, payload: Any, /) -> bool:
        """True when ``payload`` is valid; never raises for an invalid message."""
        ...

    def errors(self, payload: Any, /) -> list[Failure]:
        """Every failure of ``payload`` (at most :data:`MAX_FAILURES`), empty when it is valid."""
        ...

    def decode_json(self, raw: bytes | bytearray | str, /) -> Any:
        """Decode JSON and validate the result in one step; returns the payload (the model instance
        for a pydantic contract). :class:`~syscontract.DecodeError` for bytes that are not JSON."""
        ...


def compile_validator(contract: Contract) -> Validator:
    """The whole-message validator for ``contract``, compiled once (see the module docs).

    ::

        validator = compile_validator(contract)
        validator(payload)             # None, or raises ContractViolation naming every failing path
        validator.is_valid(payload)    # the same verdict as a bool

    Raises :class:`~syscontract.ContractDeclarationError` when the schema cannot be evaluated (a JSON
    Schema jsonschema-rs refuses, such as a ``pattern`` that is not a regular expression).
    """
    ref = str(contract.ref)
    if contract.format == "pydantic":
        from syscontract.validation._pydantic import pydantic_validator

        return pydantic_validator(contract)
    if contract.format == "protobuf":
        from syscontract.validation._protobuf import protobuf_validator

        return protobuf_validator(contract)
    if contract.format not in ("avro", "jsonschema"):
        raise ContractDeclarationError(
            f"no validator for contracts of format {contract.format!r}", contract=ref, reason="bad-schema"
        )
    if contract.format == "jsonschema":
        return _jsonschema(contract, ref)
    key = (contract.format, contract.fingerprint)
    with _lock:
        engine = _cache.get(key)
    if engine is None:
        from syscontract.validation._avro import compile_avro

        engine = compile_avro(ref, contract.schema, ref)
        with _lock:
            engine = _cache.setdefault(key, engine)
    return _bind(engine, ref)


def _jsonschema(contract: Contract, ref: str) -> Validator:
    from syscontract.formats.jsonschema import JsonSchemaContext
    from syscontract.validation._jsonschema import build

    context = contract.native
    if not isinstance(context, JsonSchemaContext):
        raise ContractDeclarationError(
            "a JSON Schema contract must be built by Contract.from_jsonschema (no reference context)",
            contract=ref,
            reason="bad-schema",
        )
    key: Any = None
    if not context.external:
        key = ("jsonschema", contract.fingerprint, context.draft, context.base_uri, context.assert_format)
        with _lock:
            built = _cache.get(key)
        if built is not None:
            return _wrap(built, ref)
    built = build(ref, contract.schema, context)
    if key is not None:
        with _lock:
            built = _cache.setdefault(key, built)
    return _wrap(built, ref)


def _wrap(built: tuple[Callable[[Any], bool], Callable[[Any], list[Failure]]], ref: str) -> Validator:
    is_valid, errors = built

    def validate(payload: Any) -> None:
        if is_valid(payload):
            return None
        failures = errors(payload)
        if failures:
            raise violation(ref, failures, payload) from None
        return None

    def decode_json(raw: bytes | bytearray | str) -> Any:
        payload = decode(raw, ref)
        validate(payload)
        return payload

    function: Any = validate
    function.is_valid = is_valid
    function.errors = errors
    function.decode_json = decode_json
    function.contract = ref
    function.engine = "jsonschema-rs"
    function.source = None
    return cast(Validator, function)


def _bind(engine: Engine, ref: str) -> Validator:
    walk: Callable[[Any, str, list[Failure]], None]

    def errors(payload: Any) -> list[Failure]:
        out: list[Failure] = []
        try:
            walk(payload, "", out)
        except Full:
            pass
        except RecursionError:
            out.append(Failure("$", "too-deep", "the message is nested too deeply to validate"))
        return out

    def report(payload: Any) -> None:
        failures = errors(payload)
        if failures:
            raise violation(ref, failures, payload) from None

    namespace = engine.bind(report)
    walk = namespace["_sc_walk"]
    validate = namespace["_sc_validate"]

    def decode_json(raw: bytes | bytearray | str) -> Any:
        payload = decode(raw, ref)
        validate(payload)
        return payload

    validate.is_valid = namespace["_sc_is_valid"]
    validate.errors = errors
    validate.decode_json = decode_json
    validate.contract = ref
    validate.engine = "compiled"
    validate.source = engine.source
    return cast(Validator, validate)


def decode(raw: bytes | bytearray | str, ref: str) -> Any:
    """JSON text into Python values: pydantic-core's parser (about 2.5 times faster than
    :func:`json.loads`, same values), and :func:`json.loads` for what it refuses and ``json`` accepts
    (lone surrogates, for instance) so that the verdict is exactly ``json.loads``'s."""
    try:
        return from_json(raw)
    except ValueError:
        pass
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise DecodeError(f"message is not valid JSON ({exc})", contract=ref, reason="not-json", payload=raw) from exc


def violation(ref: str, failures: Sequence[Failure], payload: Any) -> ContractViolation:
    """The error for a message with ``failures`` (in the order found; the first one decides the class,
    ``field`` and ``reason``): :class:`MissingCriticalField` when it is a missing required field,
    :class:`FieldTypeError` otherwise. ``error.failures`` lists them all."""
    first = failures[0]
    cls = MissingCriticalField if first.reason == "absent" else FieldTypeError
    count = len(failures)
    more = f" (stopped after the first {MAX_FAILURES})" if count >= MAX_FAILURES else ""
    places = "1 place" if count == 1 else f"{count} places"
    listed = "; ".join(f"{f.path}: {f.detail} [{f.reason}]" for f in failures)
    error: ContractViolation = cls(
        f"message breaks its contract at {places}{more}: {listed}",
        contract=ref,
        field=first.path,
        reason=first.reason,
        payload=payload,
    )
    error.failures = list(failures)  # type: ignore[attr-defined]  # an instance attribute: errors.py is not ours
    return error


def clear_cache() -> None:
    """Forget every cached validator (validators already returned keep working)."""
    with _lock:
        _cache.clear()


def cache_info() -> tuple[int, int]:
    """``(entries, capacity)`` of the compile cache."""
    with _lock:
        return len(_cache), int(_cache.maxsize)
