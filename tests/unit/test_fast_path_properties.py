"""The generated fast path never disagrees with the precise check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import mutated_orders

from syscontract import ContractViolation, FileRegistry, requires
from syscontract._engine.checker import Checker

DATA = Path(__file__).parent.parent / "data"
ORDER = {**json.loads((DATA / "order_event.json").read_text()), "couponCode": "WELCOME10"}
FIELDS = ["orderId", "currency", "customer.customerTier", "customer.id", "items[].qty", "items[].price", "couponCode"]
REGISTRY = FileRegistry(DATA / "contracts")


@pytest.fixture(params=["order.v3", "order.v4"], ids=["avro", "jsonschema"])
def checker(request: pytest.FixtureRequest) -> Checker:
    return Checker(REGISTRY.get(request.param), FIELDS)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=mutated_orders(ORDER))
def test_the_fast_path_only_accepts_what_the_precise_check_accepts(checker: Checker, message: dict[str, Any]) -> None:
    if checker.fast(message):
        assert checker.diagnose(message) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(message=mutated_orders(ORDER))
def test_the_decorated_handler_agrees_with_the_precise_check(checker: Checker, message: dict[str, Any]) -> None:
    handler = requires(checker.contract, FIELDS)(lambda event: "handled")
    expected = checker.diagnose(message)
    try:
        outcome: object = handler(message)
    except ContractViolation as error:
        outcome = (type(error), error.field, error.reason)
    if expected is None:
        assert "handled" == outcome
    else:
        assert (type(expected), expected.field, expected.reason) == outcome


def test_the_reference_order_passes_both_paths(checker: Checker) -> None:
    message = dict(ORDER)
    assert (True, None) == (checker.fast(message), checker.diagnose(message))
