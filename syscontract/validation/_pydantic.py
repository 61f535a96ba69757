"""Validators for pydantic contracts: the model's own validator decides.

A pydantic contract's source of truth is the model, with its validators, discriminators and
coercions, so the model's compiled validator (pydantic-core) is the engine: a dict is valid when
``Model.model_validate`` accepts it. A field the model gives a default is optional, exactly as the
model says; a field without one that is missing is reported as ``absent`` (``MissingCriticalField``),
and no default ever stands in for it. Whether a *critical* field was filled by a default is the
critical-field check's business (``model_fields_set``), which runs before full validation.

An instance of the model is checked by validating what was actually set on it
(``model_dump(exclude_unset=True, by_alias=True)``): an instance built with ``model_construct`` and
missing a required field, or mutated with a wrong type, fails as a dict would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ValidationError

from syscontract.errors import DecodeError
from syscontract.validation._runtime import MAX_FAILURES, Failure, segment
from syscontract.validation._validator import Validator, decode, violation

if TYPE_CHECKING:
    from syscontract.contract import Contract

__all__ = ["pydantic_validator"]

# pydantic-core error types -> the keyword-like reasons the other engines use
_REASONS = {
    "missing": "absent",
    "literal_error": "enum",
    "enum": "enum",
    "greater_than": "exclusiveMinimum",
    "greater_than_equal": "minimum",
    "less_than": "exclusiveMaximum",
    "less_than_equal": "maximum",
    "multiple_of": "multipleOf",
    "string_too_short": "minLength",
    "string_too_long": "maxLength",
    "string_pattern_mismatch": "pattern",
    "too_short": "minItems",
    "too_long": "maxItems",
    "extra_forbidden": "additionalProperties",
    "union_tag_invalid": "oneOf",
    "union_tag_not_found": "oneOf",
}


def _reason(kind: str) -> str:
    if kind in _REASONS:
        return _REASONS[kind]
    if kind.endswith(("_type", "_parsing")) or kind in ("model_attributes_type", "is_instance_of"):
        return "type"
    return kind


def _path(location: tuple[Any, ...]) -> str:
    raw = "".join(f"[{part}]" if isinstance(part, int) else segment(part) for part in location)
    return raw[1:] if raw.startswith(".") else (raw or "$")


def failures(exc: ValidationError) -> list[Failure]:
    """pydantic's errors as :class:`Failure` records, in pydantic's order, at most MAX_FAILURES."""
    return [
        Failure(_path(tuple(error["loc"])), _reason(error["type"]), error["msg"])
        for error in exc.errors(include_url=False)[:MAX_FAILURES]
    ]


def pydantic_validator(contract: Contract) -> Validator:
    model = contract.model
    assert model is not None, "a pydantic contract has its model"
    ref = str(contract.ref)
    core = model.__pydantic_validator__
    validate_python = core.validate_python

    def data(payload: Any) -> Any:
        if isinstance(payload, BaseModel) and isinstance(payload, model):
            return payload.model_dump(exclude_unset=True, by_alias=True, round_trip=True, warnings=False)
        return payload

    def validate(payload: Any) -> None:
        try:
            validate_python(data(payload))
        except ValidationError as exc:
            raise violation(ref, failures(exc), payload) from exc

    def is_valid(payload: Any) -> bool:
        try:
            validate_python(data(payload))
        except ValidationError:
            return False
        return True

    def errors(payload: Any) -> list[Failure]:
        try:
            validate_python(data(payload))
        except ValidationError as exc:
            return failures(exc)
        return []

    def decode_json(raw: bytes | bytearray | str) -> Any:
        try:
            return core.validate_json(raw)
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
                decode(raw, ref)  # raises DecodeError, unless json.loads accepts what pydantic refuses
                raise DecodeError(
                    f"message is not JSON pydantic can read ({exc.errors()[0]['msg']})",
                    contract=ref,
                    reason="not-json",
                    payload=raw,
                ) from exc
            raise violation(ref, failures(exc), raw) from exc

    validate.is_valid = is_valid  # type: ignore[attr-defined]
    validate.errors = errors  # type: ignore[attr-defined]
    validate.decode_json = decode_json  # type: ignore[attr-defined]
    validate.contract = ref  # type: ignore[attr-defined]
    validate.engine = "pydantic"  # type: ignore[attr-defined]
    validate.source = None  # type: ignore[attr-defined]
    return cast(Validator, validate)
