"""@requires on dicts, JSON bytes and pydantic models: the seed incident and everything around it."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import syscontract
from syscontract import (
    ContractDeclarationError,
    DecodeError,
    FieldTypeError,
    MissingCriticalField,
    requires,
)

pytestmark = pytest.mark.usefixtures("registry")

TIER = "customer.customerTier"


def test_a_v3_order_reaches_the_handler_unchanged(order: dict[str, Any]) -> None:
    received = []

    @requires("order.v3", [TIER, "customer.id"])
    def on_order(event: dict[str, Any]) -> str:
        received.append(event)
        return "priced"

    assert "priced" == on_order(order)
    assert received[0] is order


def test_the_seed_incident_a_v2_shaped_order_raises_instead_of_defaulting(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]
    called = []

    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> str:
        called.append(event)
        return event["customer"].get("customerTier", "BASIC")

    with pytest.raises(MissingCriticalField) as caught:
        on_order(order)
    assert [] == called
    error = caught.value
    assert ("order.v3", TIER, "absent") == (error.contract, error.field, error.reason)
    assert error.handler is not None
    assert error.handler.endswith("raises_instead_of_defaulting.<locals>.on_order")
    assert order is error.payload
    assert str(error) == (
        f"order.v3: critical field '{TIER}' was not sent (absent from the message) in {error.handler}"
    )


def test_a_null_critical_field_is_missing(order: dict[str, Any]) -> None:
    order["customer"]["customerTier"] = None
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", order, [TIER])
    assert "null" == caught.value.reason
    assert "sent as null" in str(caught.value)


def test_a_critical_field_of_the_wrong_type_is_a_field_type_error(order: dict[str, Any]) -> None:
    order["orderId"] = 123456

    @requires("order.v3", ["orderId"])
    def on_order(event: dict[str, Any]) -> None: ...

    with pytest.raises(FieldTypeError) as caught:
        on_order(order)
    assert ("orderId", "type") == (caught.value.field, caught.value.reason)
    assert "is int 123456, expected string" in str(caught.value)


def test_an_enum_value_outside_the_symbols_is_a_field_type_error(order: dict[str, Any]) -> None:
    order["customer"]["customerTier"] = "PLATINUM"
    with pytest.raises(FieldTypeError, match="PLATINUM"):
        syscontract.check("order.v3", order, [TIER])


def test_a_missing_intermediate_object_names_the_missing_step(order: dict[str, Any]) -> None:
    del order["customer"]
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", order, ["customer.id"])
    assert "absent" == caught.value.reason
    assert "no 'customer'" in str(caught.value)


def test_an_intermediate_that_is_not_an_object_is_a_field_type_error(order: dict[str, Any]) -> None:
    order["customer"] = "cust-1"
    with pytest.raises(FieldTypeError, match=r"field 'customer' \(on the path to 'customer\.id'\) is str"):
        syscontract.check("order.v3", order, ["customer.id"])


def test_an_array_path_requires_the_field_in_every_element(order: dict[str, Any]) -> None:
    del order["items"][2]["sku"]
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", order, ["items[].sku"])
    assert "items[].sku" == caught.value.field


def test_an_array_path_checks_the_type_of_every_element(order: dict[str, Any]) -> None:
    order["items"][1]["qty"] = "two"
    with pytest.raises(FieldTypeError, match=r"items\[1\]\.qty"):
        syscontract.check("order.v3", order, ["items[].qty"])


def test_an_array_path_on_an_empty_array_passes(order: dict[str, Any]) -> None:
    order["items"] = []
    assert order is syscontract.check("order.v3", order, ["items[].sku"])


def test_a_null_array_element_is_missing(order: dict[str, Any]) -> None:
    order["items"][0] = None
    with pytest.raises(MissingCriticalField, match="element 0 of 'items' is null"):
        syscontract.check("order.v3", order, ["items[].sku"])


def test_a_subclass_of_the_expected_type_passes_through_the_precise_check(order: dict[str, Any]) -> None:
    class Tier(str):
        pass

    order["customer"]["customerTier"] = Tier("VIP")
    assert order is syscontract.check("order.v3", order, [TIER])


def test_a_mapping_that_is_not_a_dict_is_checked_too(order: dict[str, Any]) -> None:
    from types import MappingProxyType

    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField):
        syscontract.check("order.v3", MappingProxyType(order), [TIER])


def test_a_message_that_is_not_an_object_is_a_field_type_error() -> None:
    with pytest.raises(FieldTypeError, match="the message is a list"):
        syscontract.check("order.v3", [1, 2], [TIER])


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_json_bytes_are_decoded_once_and_the_handler_receives_the_dict(kind: Any, order: dict[str, Any]) -> None:
    text = json.dumps(order)
    raw = kind(text.encode()) if kind is not str else text
    received = []

    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> None:
        received.append(event)

    on_order(raw)
    assert [order] == received


def test_json_bytes_missing_a_critical_field_keep_the_raw_bytes(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]
    raw = json.dumps(order).encode()
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("order.v3", raw, [TIER])
    assert raw is caught.value.payload


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"", "[1, 2", b'{"a": 1}{'])
def test_bytes_that_are_not_json_are_a_decode_error_carrying_them(raw: Any) -> None:
    @requires("order.v4", [TIER])  # a JSON Schema contract: its messages are JSON
    def on_order(event: dict[str, Any]) -> None: ...

    with pytest.raises(DecodeError) as caught:
        on_order(raw)
    assert raw is caught.value.payload
    assert "not-json" == caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_unframed_bytes_for_an_avro_contract_say_the_writer_is_unknown() -> None:
    with pytest.raises(DecodeError, match="writer is unknown") as caught:
        syscontract.check("order.v3", b"\x02\x03binary", [TIER])
    assert "no-framing" == caught.value.reason


def test_deeply_nested_json_is_a_decode_error_not_a_crash() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(DecodeError):
        syscontract.check("order.v3", raw, [TIER])


def test_the_contracts_own_critical_list_adds_to_the_consumers_fields(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]

    @requires("order.v3", ["orderId"])  # contract.toml marks customer.customerTier critical
    def on_order(event: dict[str, Any]) -> None: ...

    assert ("orderId", TIER) == on_order.__syscontract__.checker.fields
    with pytest.raises(MissingCriticalField, match="customerTier"):
        on_order(order)


def test_a_version_without_the_contracts_critical_field_does_not_require_it(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]

    @requires("order.v2", ["orderId"])
    def on_order(event: dict[str, Any]) -> str:
        return "ok"

    assert "ok" == on_order(order)


def test_a_json_schema_contract_is_checked_the_same_way(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField):
        syscontract.check("order.v4", order, [TIER])


# -- pydantic -----------------------------------------------------------------------------------


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"
    email: str | None = None


class Line(BaseModel):
    sku: str | None = None
    qty: int = 1


class Order(BaseModel):
    orderId: str
    customer: Customer
    items: list[Line] = []
    note: str | None = None


@pytest.fixture
def model_contract() -> type[Order]:
    return syscontract.contract("shop.order.v3")(Order)


def test_a_pydantic_default_is_not_a_sent_value(model_contract: type[Order]) -> None:
    message = Order(orderId="o-1", customer=Customer(id="c-1"))  # customerTier filled with BASIC

    @requires("shop.order.v3", [TIER])
    def on_order(event: Order) -> str:
        return event.customer.customerTier

    with pytest.raises(MissingCriticalField) as caught:
        on_order(message)
    assert "absent" == caught.value.reason
    assert "the model default 'BASIC'" in str(caught.value)


def test_a_pydantic_instance_with_the_field_set_passes(model_contract: type[Order]) -> None:
    message = Order(orderId="o-1", customer=Customer(id="c-1", customerTier="VIP"))

    @requires("shop.order.v3", [TIER, "orderId"])
    def on_order(event: Order) -> str:
        return event.customer.customerTier

    assert "VIP" == on_order(message)


def test_a_pydantic_field_explicitly_set_to_none_is_null(model_contract: type[Order]) -> None:
    message = Order(orderId="o-1", customer=Customer(id="c-1"), note=None)
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.order.v3", message, ["note"])
    assert "null" == caught.value.reason


def test_pydantic_array_paths_check_every_element(model_contract: type[Order]) -> None:
    message = Order(orderId="o-1", customer=Customer(id="c-1"), items=[Line(sku="a"), Line(qty=2)])
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.order.v3", message, ["items[].sku"])
    assert "absent" == caught.value.reason


def test_a_subclass_instance_takes_the_precise_path_with_the_same_verdict(model_contract: type[Order]) -> None:
    class SpecialOrder(Order):
        pass

    message = SpecialOrder(orderId="o-1", customer=Customer(id="c-1"))
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.order.v3", message, [TIER])
    assert "absent" == caught.value.reason


def test_json_bytes_for_a_model_contract_are_decoded_into_the_model(model_contract: type[Order]) -> None:
    received = []

    @requires("shop.order.v3", [TIER])
    def on_order(event: Order) -> None:
        received.append(event)

    on_order(b'{"orderId": "o-1", "customer": {"id": "c-1", "customerTier": "GOLD"}}')
    assert isinstance(received[0], Order)
    assert "GOLD" == received[0].customer.customerTier


def test_json_bytes_relying_on_a_model_default_raise(model_contract: type[Order]) -> None:
    # presence is decided on what was sent, before the model fills its default: absent, as for a dict
    raw = b'{"orderId": "o-1", "customer": {"id": "c-1"}}'
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.order.v3", raw, [TIER])
    assert ("absent", raw) == (caught.value.reason, caught.value.payload)


def test_json_bytes_missing_a_required_model_field_raise_missing(model_contract: type[Order]) -> None:
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("shop.order.v3", b'{"customer": {"id": "c-1", "customerTier": "VIP"}}', [TIER])
    assert ("orderId", "absent") == (caught.value.field, caught.value.reason)


def test_json_bytes_with_a_wrong_type_for_a_model_contract_raise_field_type_error(model_contract: type[Order]) -> None:
    with pytest.raises(FieldTypeError) as caught:
        syscontract.check("shop.order.v3", b'{"orderId": "o", "customer": {"id": "c", "customerTier": "X"}}', [TIER])
    assert TIER == caught.value.field


def test_malformed_json_for_a_model_contract_is_a_decode_error(model_contract: type[Order]) -> None:
    with pytest.raises(DecodeError):
        syscontract.check("shop.order.v3", b"{oops", [TIER])


def test_a_dict_is_checked_against_a_model_contract_by_its_wire_names(model_contract: type[Order]) -> None:
    message = {"orderId": "o-1", "customer": {"id": "c-1"}}
    with pytest.raises(MissingCriticalField):
        syscontract.check("shop.order.v3", message, [TIER])


def test_aliases_are_the_wire_names_of_a_model_contract() -> None:
    from pydantic import Field

    @syscontract.contract("aliased.v1")
    class Aliased(BaseModel):
        tier: str = Field("BASIC", alias="customerTier")

    assert Aliased(customerTier="VIP") is not None
    with pytest.raises(MissingCriticalField) as caught:
        syscontract.check("aliased.v1", Aliased(), ["customerTier"])
    assert "absent" == caught.value.reason
    passing = Aliased(customerTier="VIP")
    assert passing is syscontract.check("aliased.v1", passing, ["customerTier"])


def test_registering_a_different_model_under_a_taken_reference_is_refused(model_contract: type[Order]) -> None:
    class Other(BaseModel):
        x: int

    with pytest.raises(ContractDeclarationError, match="already registered"):
        syscontract.contract("shop.order.v3")(Other)


# -- handler shapes -------------------------------------------------------------------------------


def test_async_handlers_are_checked_and_stay_coroutine_functions(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER])
    async def on_order(event: dict[str, Any]) -> str:
        return event["customer"]["customerTier"]

    assert inspect.iscoroutinefunction(on_order)
    assert "GOLD" == asyncio.run(on_order(order))
    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField):
        asyncio.run(on_order(order))


def test_methods_take_the_message_after_self(order: dict[str, Any]) -> None:
    class Pricing:
        tier = "x"

        @requires("order.v3", [TIER])
        def on_order(self, event: dict[str, Any], factor: int = 1) -> tuple[str, int]:
            return self.tier, factor

        @requires("order.v3", [TIER])
        @classmethod
        def build(cls, event: dict[str, Any]) -> str:
            return cls.__name__

        @requires("order.v3", [TIER])
        @staticmethod
        def pure(event: dict[str, Any]) -> str:
            return "static"

    assert ("x", 3) == Pricing().on_order(order, factor=3)
    assert "Pricing" == Pricing.build(order)
    assert "static" == Pricing.pure(order)
    del order["customer"]["customerTier"]
    for call in (Pricing().on_order, Pricing.build, Pricing.pure):
        with pytest.raises(MissingCriticalField):
            call(order)


def test_the_message_parameter_can_be_named(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER], message="event")
    def on_order(context: str, *, event: dict[str, Any]) -> str:
        return context

    assert "ctx" == on_order("ctx", event=order)
    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField):
        on_order("ctx", event=order)


def test_the_wrapper_keeps_name_doc_signature_and_annotations() -> None:
    def on_order(event: dict[str, Any], /, retries: int = 3, *args: Any, flag: bool = False, **extra: Any) -> str:
        """Price an order."""
        return "ok"

    wrapped = requires("order.v3", [TIER])(on_order)
    assert inspect.signature(on_order) == inspect.signature(wrapped)
    assert ("on_order", "Price an order.") == (wrapped.__name__, wrapped.__doc__)
    assert on_order.__annotations__ == wrapped.__annotations__
    assert on_order is wrapped.__wrapped__


def test_arguments_reach_the_handler_in_every_form(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any], /, retries: int = 3, *args: Any, flag: bool = False, **extra: Any) -> Any:
        return retries, args, flag, extra

    assert (5, (6, 7), True, {"x": 1}) == on_order(order, 5, 6, 7, flag=True, x=1)
    assert (3, (), False, {}) == on_order(order)


def test_keyword_calls_pass_the_message(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> str:
        return "ok"

    assert "ok" == on_order(event=order)


def test_handler_exceptions_propagate_unchanged(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> None:
        raise KeyError("from the handler")

    with pytest.raises(KeyError, match="from the handler") as caught:
        on_order(order)
    assert caught.value.__context__ is None


def test_generated_code_is_visible_in_tracebacks(order: dict[str, Any]) -> None:
    import linecache

    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> None: ...

    filename = on_order.__code__.co_filename
    assert filename.startswith("<syscontract @requires")
    assert "_sc_h(_sc_m)" in "".join(linecache.getlines(filename))


def test_hostile_field_names_cannot_inject_code(order: dict[str, Any]) -> None:
    name = "x' or exec('raise SystemExit') or '\n\"\\"
    schema = {"type": "object", "properties": {name: {"type": "string"}}}
    contract = syscontract.Contract.from_jsonschema("hostile.v1", schema)

    @requires(contract, [name])
    def on_message(event: dict[str, Any]) -> str:
        return event[name]

    assert "v" == on_message({name: "v"})
    with pytest.raises(MissingCriticalField):
        on_message({})


# -- declarations --------------------------------------------------------------------------------


def test_an_unknown_field_is_refused_at_decoration() -> None:
    with pytest.raises(ContractDeclarationError) as caught:

        @requires("order.v3", ["customer.tier"])
        def on_order(event: dict[str, Any]) -> None: ...

    assert ("order.v3", "customer.tier", "unknown-field") == (
        caught.value.contract,
        caught.value.field,
        caught.value.reason,
    )
    assert "customerTier" in str(caught.value)  # the fields that do exist there are listed
    assert "on_order" in str(caught.value)


@pytest.mark.parametrize("path", ["", "customer..id", "items[", "items[0].sku", ".x"])
def test_a_malformed_path_is_refused_at_decoration(path: str) -> None:
    with pytest.raises(ContractDeclarationError, match="bad field path"):
        requires("order.v3", [path])


def test_an_array_step_on_a_non_array_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="not an array"):
        requires("order.v3", ["customer[].id"])(lambda event: None)


@pytest.mark.parametrize("ref", ["order", "order.3", "order.v", "order.v-1", "", "order v3.v1"])
def test_a_malformed_reference_names_the_expected_form(ref: str) -> None:
    with pytest.raises(ContractDeclarationError, match=r"expected '<name>\.v<N>'"):
        requires(ref, [TIER])


def test_unknown_options_are_refused_at_decoration() -> None:
    with pytest.raises(ContractDeclarationError, match="unknown violation policy 'ignore'"):
        requires("order.v3", [TIER], on_violation="ignore")
    with pytest.raises(ContractDeclarationError, match="validate='everything': expected 'fields'"):
        requires("order.v3", [TIER], validate="everything")
    with pytest.raises(TypeError):
        requires("order.v3", [TIER], retries=3)  # type: ignore[call-arg]


def test_a_handler_without_a_message_parameter_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="takes no message parameter"):
        requires("order.v3", [TIER])(lambda: None)
    with pytest.raises(ContractDeclarationError, match="no parameter 'msg'"):
        requires("order.v3", [TIER], message="msg")(lambda event: None)


def test_a_single_string_is_one_field(order: dict[str, Any]) -> None:
    wrapped = requires("order.v3", "orderId")(lambda event: "ok")
    assert "orderId" in wrapped.__syscontract__.checker.fields


def test_handler_parameters_may_be_named_like_builtins(order: dict[str, Any]) -> None:
    @requires("order.v3", [TIER], message="event")
    def on_order(event: dict[str, Any], type: str = "t", dict: int = 1, bytes: int = 2, len: int = 3) -> Any:
        return type, dict, bytes, len

    assert ("t", 1, 2, 3) == on_order(order)
    raw = syscontract.encode("order.v3", order, format="confluent").value
    assert ("x", 1, 2, 3) == on_order(raw, type="x")
    assert ("x", 1, 2, 3) == on_order(raw, type="x")  # the inline Avro branch
    del order["customer"]["customerTier"]
    with pytest.raises(MissingCriticalField):
        on_order(order, "y")


def test_checks_evicted_from_the_cache_release_their_generated_source() -> None:
    # 3,000 check() calls with different field lists: the bounded cache keeps 1,024 checkers, and the
    # linecache entries of the evicted ones go with them
    import gc
    import importlib
    import itertools

    from syscontract._codegen import live_sources

    requires_module = importlib.import_module("syscontract._requires")
    names = [f"f{i}" for i in range(12)]
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    contract = syscontract.Contract.from_jsonschema("wide.v1", schema)
    message = dict.fromkeys(names, "x")
    subsets = itertools.islice((combo for size in range(1, 13) for combo in itertools.combinations(names, size)), 3000)
    gc.collect()
    before = live_sources()
    for fields in subsets:
        assert message is syscontract.check(contract, message, list(fields))
    gc.collect()
    grown = live_sources() - before
    assert len(requires_module._checkers) <= requires_module._CHECKERS_MAX
    assert 0 < grown <= 2 * requires_module._CHECKERS_MAX
