"""Whole-message validation (``validate="full"``): a validator compiled once per contract.

::

    from syscontract.validation import compile_validator

    validator = compile_validator(contract)   # cold path: generate, compile, cache
    validator(payload)                        # hot path: None, or raises a ContractViolation
    validator.is_valid(payload)               # the same verdict as a bool
    validator.errors(payload)                 # every failure: [Failure(path, reason, detail), ...]
    validator.decode_json(raw)                # JSON bytes decoded and validated in one call

For Avro and JSON Schema contracts the schema is compiled into straight-line Python that tests the
common case by exact class and defers to a precise test only when unsure; for a pydantic contract
the model's own validator decides. A violation raises :class:`~syscontract.MissingCriticalField`
(reason ``absent``) when the first failure is a missing required field, and
:class:`~syscontract.FieldTypeError` otherwise (reason: the failing keyword, such as ``type``,
``enum``, ``minimum``); ``error.failures`` lists every failing path (at most :data:`MAX_FAILURES`),
``error.field`` is the first. See docs/validation.md.
"""

from syscontract.validation._runtime import MAX_FAILURES, Failure
from syscontract.validation._validator import CACHE_SIZE, Validator, cache_info, clear_cache, compile_validator

__all__ = ["CACHE_SIZE", "MAX_FAILURES", "Failure", "Validator", "cache_info", "clear_cache", "compile_validator"]
