"""Validators for protobuf contracts: the message class decides.

A message of the contract's class (or of any generated class, read by field numbers) is whole by
construction: protobuf parsed or built it. What full validation adds is the payloads that are not
yet that message: a dict in protobuf's JSON mapping is valid when ``json_format.ParseDict`` accepts
it into the contract's class (known field names, values of the field's type, enum names or numbers
the enum defines); a message of another class when its bytes parse as the contract's class (a proto2
``required`` field it lacks fails); a proto2 message of the contract's own class when every required
field is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from syscontract.errors import DecodeError
from syscontract.validation._runtime import Failure
from syscontract.validation._validator import Validator, violation

if TYPE_CHECKING:
    from syscontract.contract import Contract

__all__ = ["protobuf_validator"]


def protobuf_validator(contract: Contract) -> Validator:
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError as ProtoDecodeError
    from google.protobuf.message import Message

    cls = contract.native.message_class
    ref = str(contract.ref)

    def errors(payload: Any) -> list[Failure]:
        try:
            if isinstance(payload, Message):
                if type(payload) is cls:
                    missing = payload.FindInitializationErrors()
                    return [Failure(path, "absent", "a required field is not set") for path in missing]
                cls.FromString(payload.SerializePartialToString())
                return []
            if isinstance(payload, dict):
                json_format.ParseDict(payload, cls())
                return []
        except (json_format.ParseError, ProtoDecodeError, TypeError, ValueError) as exc:
            return [Failure("$", "type", f"{cls.DESCRIPTOR.full_name} cannot hold it: {exc}")]
        return [Failure("$", "type", f"a {type(payload).__name__} is not a {cls.DESCRIPTOR.full_name} message")]

    def validate(payload: Any) -> None:
        found = errors(payload)
        if found:
            raise violation(ref, found, payload) from None

    def is_valid(payload: Any) -> bool:
        return not errors(payload)

    def decode_json(raw: bytes | bytearray | str) -> Any:
        try:
            return json_format.Parse(raw, cls())
        except json_format.ParseError as exc:
            raise DecodeError(
                f"not JSON for {cls.DESCRIPTOR.full_name}: {exc}", contract=ref, reason="not-json", payload=raw
            ) from exc

    function: Any = validate
    function.is_valid = is_valid
    function.errors = errors
    function.decode_json = decode_json
    function.contract = ref
    function.engine = "protobuf"
    function.source = None
    return cast(Validator, function)
