"""Whole-message validation of pydantic contracts: the model's own validator decides."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, field_validator

from syscontract import Contract, ContractViolation, DecodeError, FieldTypeError, MissingCriticalField
from syscontract.validation import Failure, compile_validator

DATA = Path(__file__).parent.parent / "data"
ORDER = json.loads((DATA / "order_event.json").read_text())


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    email: str


class LineItem(BaseModel):
    sku: str
    qty: int = Field(ge=1)
    price: float


class Order(BaseModel):
    orderId: str
    customer: Customer
    items: list[LineItem]
    currency: str
    total: float
    couponCode: str | None = None

    @field_validator("currency")
    @classmethod
    def three_letters(cls, value: str) -> str:
        if len(value) != 3:
            raise ValueError("currency must be a three-letter code")
        return value


@pytest.fixture
def validator() -> Any:
    return compile_validator(Contract.from_model("pyorder.v1", Order))


def test_a_valid_dict_returns_none(validator: Any) -> None:
    assert None is validator(copy.deepcopy(ORDER))


def test_the_engine_is_the_model(validator: Any) -> None:
    assert ("pydantic", None) == (validator.engine, validator.source)


def test_a_missing_field_without_default_is_absent(validator: Any) -> None:
    order = copy.deepcopy(ORDER)
    del order["customer"]["email"]
    with pytest.raises(MissingCriticalField) as raised:
        validator(order)
    assert ("customer.email", "absent") == (raised.value.field, raised.value.reason)


def test_a_missing_field_with_a_default_is_valid_the_model_makes_it_optional(validator: Any) -> None:
    order = copy.deepcopy(ORDER)
    del order["customer"]["customerTier"], order["couponCode"]
    assert None is validator(order)


def test_every_failure_is_named_with_keyword_like_reasons(validator: Any) -> None:
    order = copy.deepcopy(ORDER)
    order["customer"]["customerTier"] = "PLATINUM"
    order["items"][1]["qty"] = 0
    order["total"] = "a lot"
    with pytest.raises(FieldTypeError) as raised:
        validator(order)
    assert [("customer.customerTier", "enum"), ("items[1].qty", "minimum"), ("total", "type")] == [
        (f.path, f.reason) for f in raised.value.failures
    ]


def test_the_model_validators_run(validator: Any) -> None:
    order = {**copy.deepcopy(ORDER), "currency": "EURO"}
    assert [
        Failure("currency", "value_error", "Value error, currency must be a three-letter code")
    ] == validator.errors(order)


def test_the_pydantic_error_is_chained(validator: Any) -> None:
    with pytest.raises(ContractViolation) as raised:
        validator({})
    assert "ValidationError" == type(raised.value.__cause__).__name__


def test_a_valid_instance_is_valid(validator: Any) -> None:
    assert None is validator(Order.model_validate(ORDER))


def test_an_instance_built_without_a_required_field_is_absent(validator: Any) -> None:
    instance = Order.model_construct(**{k: v for k, v in ORDER.items() if k != "orderId"})
    assert [("orderId", "absent")] == [(f.path, f.reason) for f in validator.errors(instance)]


def test_decode_json_returns_the_model_instance(validator: Any) -> None:
    decoded = validator.decode_json(json.dumps(ORDER).encode())
    assert Order.model_validate(ORDER) == decoded


def test_decode_json_refuses_bytes_that_are_not_json(validator: Any) -> None:
    with pytest.raises(DecodeError) as raised:
        validator.decode_json(b"{not json")
    assert "not-json" == raised.value.reason


def test_decode_json_reports_violations_with_the_raw_payload(validator: Any) -> None:
    raw = json.dumps({**ORDER, "total": "a lot"}).encode()
    with pytest.raises(FieldTypeError) as raised:
        validator.decode_json(raw)
    assert ("total", raw) == (raised.value.field, raised.value.payload)
