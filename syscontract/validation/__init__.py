"""Whole-message validation (``validate="full"``): a validator built once per contract.

::

    from syscontract.validation import compile_validator

    validator = compile_validator(contract)   # cold path: build, cache
    validator(payload)                        # hot path: None, or raises a ContractViolation
    validator.is_valid(payload)               # the same verdict as a bool
    validator.errors(payload)                 # every failure: [Failure(path, reason, detail), ...]
    validator.decode_json(raw)                # JSON bytes decoded and validated in one call

JSON Schema contracts are validated by jsonschema-rs (the validator built when the contract was
loaded, with every reference already resolved); Avro schemas are compiled into straight-line Python
that tests the common case by exact class and defers to a precise test only when unsure; for a
pydantic contract the model's own validator decides. A violation raises
:class:`~syscontract.MissingCriticalField` (reason ``absent``) when a required field is missing (those
come first), and :class:`~syscontract.FieldTypeError` otherwise (reason: the failing keyword, such as
``type``, ``enum``, ``minimum``); ``error.failures`` lists every failing path (at most
:data:`MAX_FAILURES`), ``error.field`` is the first. See docs/validation.md.
"""

from syscontract.validation._runtime import MAX_FAILURES, Failure
from syscontract.validation._validator import CACHE_SIZE, Validator, cache_info, clear_cache, compile_validator

__all__ = ["CACHE_SIZE", "MAX_FAILURES", "Failure", "Validator", "cache_info", "clear_cache", "compile_validator"]
