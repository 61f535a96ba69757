"""syscontract.testing without pytest's plugin: the registry scope, messages built from schemas, the
stale producer, and the SDK-free telemetry capture."""

from __future__ import annotations

import asyncio
import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel, Field

import syscontract
from syscontract import Contract, ContractDeclarationError, MemoryRegistry, MissingCriticalField, requires
from syscontract import _config as config
from syscontract.testing import (
    InMemoryMeterProvider,
    InMemoryTracerProvider,
    StaleProducer,
    StaleProducerError,
    TelemetryCapture,
    minimal_payload,
    project_payload,
    stale_producer,
    use_registry,
)
from syscontract.wire import avro

TIER = "customer.customerTier"
ORDER = Path(__file__).parent.parent / "data" / "contracts" / "order"


@pytest.fixture
def bare(tmp_path: Path) -> syscontract.FileRegistry:
    """order v2 and v3 (Avro), without contract.toml: no contract-level critical list, no schema ids."""
    (tmp_path / "order").mkdir()
    for name in ("v2.avsc", "v3.avsc"):
        shutil.copy(ORDER / name, tmp_path / "order" / name)
    registry = syscontract.FileRegistry(tmp_path)
    syscontract.configure(registry=registry)
    return registry


# -- use_registry ------------------------------------------------------------------------------


def test_use_registry_configures_a_directory_and_puts_the_previous_registry_back(contracts_dir: Path) -> None:
    before = MemoryRegistry()
    syscontract.configure(registry=before)
    with use_registry(contracts_dir) as registry:
        assert registry is config.settings().registry
        assert [2, 3, 4] == registry.versions("order")
    assert before is config.settings().explicit_registry


def test_use_registry_goes_back_to_the_default_when_none_was_configured(contracts_dir: Path) -> None:
    with use_registry(contracts_dir):
        pass
    assert None is config.settings().explicit_registry


def test_use_registry_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ContractDeclarationError, match="no such contracts directory"), use_registry(tmp_path / "x"):
        pass


def test_handlers_resolve_against_the_registry_of_the_block(contracts_dir: Path, order: dict[str, Any]) -> None:
    handler = requires("order.v3", [TIER])(lambda event: event)
    with use_registry(contracts_dir):
        assert order == handler(order)


# -- messages built from a schema ---------------------------------------------------------------


def test_a_minimal_avro_message_has_every_field_and_encodes(registry: syscontract.FileRegistry) -> None:
    v3 = registry.get("order.v3")
    message = minimal_payload(v3)
    assert {"id": "x", "customerTier": "BASIC", "email": "x"} == message["customer"]
    assert [{"sku": "x", "qty": 1, "price": 1.0}] == message["items"]
    assert "x" == message["couponCode"]  # a union's first non-null branch
    assert message == avro.decode(avro.encode(message, v3.native), 0, v3.native)


def test_a_minimal_json_schema_message_has_the_required_and_critical_properties(
    registry: syscontract.FileRegistry,
) -> None:
    v4 = registry.get("order.v4")
    message = minimal_payload(v4, [TIER])
    assert "couponCode" not in message
    assert "BASIC" == message["customer"]["customerTier"]
    assert message == syscontract.check(v4, message, [TIER], validate="full")


def test_a_minimal_message_follows_refs_consts_and_any_of(registry: syscontract.FileRegistry) -> None:
    shipment = registry.get("shipment.v1")
    assert {"shipmentId": "x", "parcels": [{"weight": 0.0}]} == minimal_payload(shipment) | {
        "parcels": [{"weight": 0.0}]
    }
    message = minimal_payload(shipment, ["kind", "carrier.code", "priority", "route"])
    assert ("shipment", "DHL", 1, ["x", "x"]) == (
        message["kind"],
        message["carrier"]["code"],
        message["priority"],
        message["route"],
    )
    assert message == syscontract.check(shipment, message, validate="full")


def test_a_json_schema_minimum_is_respected() -> None:
    contract = Contract.from_jsonschema(
        "weights.v1",
        {
            "type": "object",
            "required": ["grams", "ratio", "code"],
            "properties": {
                "grams": {"type": "integer", "minimum": 10, "multipleOf": 5},
                "ratio": {"type": "number", "exclusiveMaximum": 1},
                "code": {"type": "string", "minLength": 3, "format": "uuid"},
            },
        },
    )
    message = minimal_payload(contract)
    assert (10, 0.0) == (message["grams"], message["ratio"])
    assert message == syscontract.check(contract, message, validate="full")


def test_avro_logical_types_maps_fixed_and_recursion_get_values_avro_can_write() -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
            {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
            {"name": "tags", "type": {"type": "map", "values": "string"}},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["LEAF", "BRANCH"]}},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    contract = Contract.from_avro("node.v1", schema)
    message = minimal_payload(contract)
    assert {"k": "x"} == message["tags"]
    assert "LEAF" == message["kind"]
    assert bytes(4) == message["hash"]
    assert isinstance(message["next"], dict)  # the first non-null branch, until the depth limit
    avro.encode(message, contract.native)  # fastavro can write every value


def test_a_pydantic_contract_is_built_from_its_json_schema() -> None:
    class Customer(BaseModel):
        id: str
        tier: str = Field("BASIC", alias="customerTier")

    class Order(BaseModel):
        orderId: str
        customer: Customer
        note: str | None = None

    contract = Contract.from_model("order.v9", Order)
    message = minimal_payload(contract, [TIER])
    assert {"orderId": "x", "customer": {"id": "x", "customerTier": "x"}} == message
    assert "x" == Order.model_validate(message).customer.tier


def test_projecting_drops_what_the_old_version_lacks_and_fills_what_it_requires(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    v2 = registry.get("order.v2")
    order["customer"]["customerTier"] = "VIP"
    del order["channel"]
    stale = project_payload(order, v2, [TIER])
    assert {"id": "cust-98765", "email": "jane.doe@example.com"} == stale["customer"]
    assert "x" == stale["channel"]
    avro.encode(stale, v2.native)


def test_projecting_replaces_a_symbol_the_old_enum_does_not_have() -> None:
    tier = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "GOLD"]}
    old = Contract.from_avro("tier.v1", {"type": "record", "name": "T", "fields": [{"name": "tier", "type": tier}]})
    assert {"tier": "BASIC"} == project_payload({"tier": "VIP"}, old)
    assert {"tier": "GOLD"} == project_payload({"tier": "GOLD"}, old)


def test_projecting_keeps_the_union_branch_that_fits_the_sample_best() -> None:
    pick = {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}, "c": {"type": "string"}}}
    contract = Contract.from_jsonschema(
        "pick.v1",
        {
            "type": "object",
            "required": ["e"],
            "properties": {
                "e": {"oneOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}, pick]}
            },
        },
    )
    assert {"e": {"b": "x", "c": "y"}} == project_payload({"e": {"b": "x", "c": "y"}}, contract)
    assert {"e": {"a": "x"}} == minimal_payload(contract)


def test_an_any_of_beside_properties_keeps_both() -> None:
    contract = Contract.from_jsonschema(
        "both.v1",
        {
            "type": "object",
            "required": ["k"],
            "properties": {"k": {"type": "string"}},
            "anyOf": [{"required": ["a"], "properties": {"a": {"type": "integer", "minimum": 3}}}, {"required": ["b"]}],
        },
    )
    message = minimal_payload(contract)
    assert {"k": "x", "a": 3} == message
    assert message == syscontract.check(contract, message, validate="full")


def test_draft_7_positional_items_and_the_rest() -> None:
    contract = Contract.from_jsonschema(
        "tuple.v1",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["t"],
            "properties": {
                "t": {
                    "type": "array",
                    "items": [{"type": "integer"}],
                    "additionalItems": {"type": "boolean"},
                    "minItems": 3,
                }
            },
        },
    )
    assert {"t": [1, True, True]} == minimal_payload(contract)
    assert {"t": [7, False, True]} == project_payload({"t": [7, False, "x"]}, contract)


def test_an_avro_field_takes_its_value_from_a_sample_under_an_alias() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "tier", "aliases": ["level"], "type": "string"}]}
    assert {"tier": "VIP"} == project_payload({"level": "VIP"}, Contract.from_avro("r.v1", schema))


def test_a_string_sample_is_not_kept_for_avro_bytes() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "raw", "type": "bytes"}]}
    contract = Contract.from_avro("r.v1", schema)
    assert {"raw": b"x"} == project_payload({"raw": "text"}, contract)  # a writer needs bytes


# -- the stale producer ---------------------------------------------------------------------------


def test_a_handler_that_declares_its_field_refuses_every_stale_framing(registry: syscontract.FileRegistry) -> None:
    @requires("order.v3", [TIER])
    def on_order(event: dict[str, Any]) -> str:
        return str(event["customer"]["customerTier"])

    report = stale_producer(on_order)

    assert [("order.v2", framing, "MissingCriticalField") for framing in ("dict", "json", "avro", "confluent")] == [
        (case.version, case.framing, case.expected) for case in report.cases
    ]
    assert all(isinstance(case.error, MissingCriticalField) for case in report.cases)
    assert "not-in-writer-schema" == report.cases[3].error.reason  # type: ignore[union-attr]
    assert report.ok


def test_a_handler_that_defaults_an_undeclared_field_fails_naming_version_framing_and_field(
    bare: syscontract.FileRegistry,
) -> None:
    @requires("order.v3", [])
    def on_order(event: dict[str, Any]) -> str:
        return str(event["customer"].get("customerTier", "BASIC"))

    with pytest.raises(StaleProducerError) as caught:
        stale_producer(on_order)

    text = str(caught.value)
    assert "4 of 4 messages from older producers got through" in text
    assert (
        "order.v2 via dict: the handler's body read customer.customerTier, which order.v2 does not send, and "
        "returned 'BASIC' (it ran on a default)" in text
    )
    assert '@requires("order.v3", ["customer.customerTier"])' in text
    assert ["dict", "json", "avro", "confluent"] == [case.framing for case in caught.value.report.failures]
    assert isinstance(caught.value, AssertionError)


def test_a_critical_field_given_to_the_stale_producer_is_required_too(bare: syscontract.FileRegistry) -> None:
    @requires("order.v3", [])
    def on_order(event: dict[str, Any]) -> Any:
        return event["customer"]["customerTier"]

    with pytest.raises(StaleProducerError) as caught:
        StaleProducer(critical=[TIER], framings=["json", "avro"])(on_order)

    assert [
        "order.v2 via json: expected MissingCriticalField (order.v2 does not have customer.customerTier), but the "
        "handler raised KeyError: 'customerTier'",
        # Avro resolution would fill the reader default 'BASIC'; what is handed on holds only what the
        # writer wrote, so the handler meets the same missing key as with JSON (issue 21, finding 4)
        "order.v2 via avro: expected MissingCriticalField (order.v2 does not have customer.customerTier), but the "
        "handler raised KeyError: 'customerTier'",
    ] == [case.describe() for case in caught.value.report.failures]


def test_an_unknown_critical_path_is_a_declaration_error(bare: syscontract.FileRegistry) -> None:
    handler = requires("order.v3", [])(lambda event: event)
    with pytest.raises(ContractDeclarationError, match="customerTeir"):
        stale_producer.using(critical=["customer.customerTeir"])(handler)


def test_cases_that_miss_no_critical_field_are_run_and_reported_without_failing(
    bare: syscontract.FileRegistry,
) -> None:
    seen = []

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> None:
        seen.append(event["customer"]["id"])

    sample = {**minimal_payload(bare.get("order.v3")), "customer": {"id": "c-1", "email": "e"}}
    report = stale_producer(on_order, sample)

    assert ["c-1"] * 4 == seen
    assert {"accepted"} == {case.expected for case in report.cases}
    assert "accepted (returned None)" == report.cases[0].outcome


def test_the_policy_is_forced_to_raise_and_restored(registry: syscontract.FileRegistry) -> None:
    @requires("order.v3", [TIER], on_violation="observe")
    def on_order(event: dict[str, Any]) -> str:
        return str(event["customer"].get("customerTier", "BASIC"))

    assert stale_producer(on_order).ok
    assert "observe" == on_order.__syscontract__.policy.on_violation  # type: ignore[attr-defined]


def test_the_process_wide_registry_is_the_same_object_afterwards(registry: syscontract.FileRegistry) -> None:
    handler = requires("order.v3", [TIER])(lambda event: event)
    stale_producer(handler)
    assert registry is config.settings().explicit_registry


def test_without_confluent_kafka_schema_ids_come_from_a_memory_registry(
    registry: syscontract.FileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka.schema_registry", None)
    handler = requires("order.v3", [TIER])(lambda event: event)

    report = stale_producer(handler)

    assert "confluent" == report.cases[3].framing and not report.cases[3].failed
    assert ["confluent framing: confluent-kafka is not installed, schema ids from a MemoryRegistry"] == report.notes


def test_a_handler_with_its_own_registry_gets_confluent_framing_with_that_registrys_ids(
    contracts_dir: Path, bare: syscontract.FileRegistry
) -> None:
    own = syscontract.FileRegistry(contracts_dir)  # contract.toml: [ids] v2 = 7
    with_ids = requires("order.v3", [TIER], registry=own)(lambda event: event)
    without_ids = requires("order.v3", [TIER], registry=bare)(lambda event: event)

    assert "confluent" == stale_producer(with_ids).cases[3].framing
    report = stale_producer(without_ids)
    assert ["dict", "json", "avro"] == [case.framing for case in report.cases]
    assert "order.v2 via confluent: not sent (the handler's registry has no schema id for order.v2)" in report.notes


def test_async_handlers_run_with_asyncio_run_or_check_async(registry: syscontract.FileRegistry) -> None:
    @requires("order.v3", [TIER])
    async def on_order(event: dict[str, Any]) -> Any:
        return event["customer"]["customerTier"]

    assert stale_producer(on_order).ok

    async def inside_a_loop() -> None:
        assert (await stale_producer.check_async(on_order)).ok
        with pytest.raises(RuntimeError, match="check_async"):
            stale_producer(on_order)

    asyncio.run(inside_a_loop())


def test_an_async_handler_that_defaults_fails_too(bare: syscontract.FileRegistry) -> None:
    @requires("order.v3", [])
    async def on_order(event: dict[str, Any]) -> Any:
        return event["customer"].get("customerTier", "BASIC")

    with pytest.raises(StaleProducerError, match=r"order\.v2 via dict"):
        asyncio.run(stale_producer.check_async(on_order))


def test_other_arguments_are_passed_to_the_handler(bare: syscontract.FileRegistry) -> None:
    calls = []

    class Consumer:
        @requires("order.v3", ["customer.id"])
        def on_order(self, event: dict[str, Any], topic: str, *, partition: int) -> None:
            calls.append((topic, partition))

    stale_producer(Consumer().on_order, None, "orders", partition=3)
    assert [("orders", 3)] * 4 == calls


def test_a_message_parameter_named_by_the_declaration_is_passed_by_name(registry: syscontract.FileRegistry) -> None:
    @requires("order.v3", [TIER], message="event")
    def on_order(topic: str, event: dict[str, Any]) -> Any:
        return event["customer"]["customerTier"]

    assert stale_producer(on_order, None, "orders").ok


def test_pydantic_contracts_get_the_model_framing_where_defaults_fill_the_gap() -> None:
    class CustomerV2(BaseModel):
        id: str

    class OrderV2(BaseModel):
        orderId: str
        customer: CustomerV2

    class Customer(BaseModel):
        id: str
        customerTier: str = "BASIC"

    class Order(BaseModel):
        orderId: str
        customer: Customer

    syscontract.contract("shop.v2")(OrderV2)
    syscontract.contract("shop.v3")(Order)
    syscontract.configure(registry=MemoryRegistry())

    @requires("shop.v3", [TIER])
    def on_order(event: Any) -> None:
        pass

    report = stale_producer(on_order)

    assert ["dict", "json", "model"] == [case.framing for case in report.cases]
    assert "absent" == report.cases[2].error.reason  # type: ignore[union-attr]


def test_json_schema_versions_are_projected_too() -> None:
    def version(number: int, customer: dict[str, Any]) -> Contract:
        schema = {
            "type": "object",
            "required": ["orderId", "customer"],
            "properties": {"orderId": {"type": "string"}, "customer": customer},
        }
        return Contract.from_jsonschema(f"shop.v{number}", schema)

    old = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    new = {
        "type": "object",
        "required": ["id", "tier"],
        "properties": {"id": {"type": "string"}, "tier": {"enum": ["BASIC", "VIP"]}},
    }
    syscontract.configure(registry=MemoryRegistry([version(1, old), version(2, new)]))

    @requires("shop.v2", [])
    def on_order(event: dict[str, Any]) -> Any:
        return event["customer"].get("tier", "BASIC")

    with pytest.raises(StaleProducerError) as caught:
        stale_producer(on_order)
    assert [("shop.v1", "dict"), ("shop.v1", "json")] == [(c.version, c.framing) for c in caught.value.report.failures]


def test_a_contract_without_older_versions_has_nothing_to_play(registry: syscontract.FileRegistry) -> None:
    handler = requires("shipment.v1", ["shipmentId"])(lambda event: event)
    report = stale_producer(handler)
    assert [] == report.cases
    assert "no older version of the contract to play" in str(report)


def test_a_sample_that_cannot_be_written_fails_and_says_so(registry: syscontract.FileRegistry) -> None:
    handler = requires("order.v3", [TIER])(lambda event: event)
    sample = {**minimal_payload(registry.get("order.v3")), "orderId": "\ud800"}  # a lone surrogate: no UTF-8
    with pytest.raises(StaleProducerError) as caught:
        stale_producer(handler, sample)
    assert [("avro", True), ("confluent", True)] == [(c.framing, c.failed) for c in caught.value.report.failures]
    assert "could not build the message order.v2's producer would send" in str(caught.value)
    assert "order.v2 via json: not sent (the message holds values JSON cannot carry" in str(caught.value)


def test_only_guarded_handlers_can_be_checked() -> None:
    with pytest.raises(TypeError, match="decorated with @requires"):
        stale_producer(lambda event: event)


def test_an_unknown_framing_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="'xml'"):
        StaleProducer(framings=["xml"])


def test_the_traced_message_is_a_real_dict_for_the_handler(bare: syscontract.FileRegistry) -> None:
    dumped = []

    @requires("order.v3", [])
    def on_order(event: dict[str, Any]) -> None:
        dumped.append(json.loads(json.dumps(event)))
        assert isinstance(event, dict) and isinstance(event["customer"], dict)

    report = StaleProducer(framings=["dict"])(on_order)
    assert report.ok
    assert "customerTier" not in dumped[0]["customer"]


# -- telemetry without an SDK ---------------------------------------------------------------------


def test_in_memory_spans_record_parents_attributes_events_and_exceptions() -> None:
    provider = InMemoryTracerProvider()
    tracer = provider.get_tracer("t")
    with pytest.raises(ValueError), tracer.start_as_current_span("outer") as outer:
        with tracer.start_as_current_span("inner", attributes={"a": 1}) as inner:
            inner.add_event("e", {"k": "v"})
            assert inner is trace.get_current_span()
        raise ValueError("boom")

    assert [outer, inner] == provider.spans
    assert outer.get_span_context() == inner.parent
    assert ({"a": 1}, "e") == (inner.attributes, inner.events[0].name)
    assert StatusCode.ERROR == outer.status.status_code
    assert ["exception"] == [event.name for event in outer.events]
    assert outer.ended and not outer.is_recording()


def test_the_meter_provider_collects_observable_callbacks_and_generators() -> None:
    from opentelemetry.metrics import Observation

    provider = InMemoryMeterProvider()
    meter = provider.get_meter("m")

    def generator() -> Any:
        yield
        while True:
            yield [Observation(2, {"g": 1})]

    meter.create_observable_counter("c", callbacks=[lambda options: [Observation(1, {"a": "b"})]])
    meter.create_observable_gauge("g", callbacks=[generator()])
    meter.create_counter("sync").add(5)  # synchronous instruments are no-ops

    points = provider.collect()
    assert [("c", 1, {"a": "b"}), ("g", 2, {"g": 1})] == [(p.instrument, p.value, p.attributes) for p in points]
    assert 2 == provider.collect()[1].value


def test_the_capture_counts_messages_of_handlers_decorated_before_it_started(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    on_order = requires("order.v3", [TIER])(lambda event: event)
    on_order(order)  # before the capture: not counted

    with TelemetryCapture() as capture:
        with capture.span("consume") as span:
            on_order(order)
        on_order(order)

        assert 2 == capture.messages(contract="order.v3", outcome="ok")
        assert 0 == capture.messages(outcome="violation")
        assert {"syscontract.contract": "order.v3", "syscontract.outcome": "ok"} == span.attributes
        assert 1 <= len(capture.declarations(contract="order.v3", role="consumer"))


def test_the_capture_sees_violations_on_the_current_span(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    on_order = requires("order.v3", [TIER])(lambda event: event)
    del order["customer"]["customerTier"]

    with TelemetryCapture() as capture, pytest.raises(MissingCriticalField), capture.span("consume") as span:
        on_order(order)

    assert 1 == capture.messages(contract="order.v3", outcome="violation")
    assert [{"syscontract.field": TIER, "syscontract.reason": "absent", "syscontract.policy": "raise"}] == [
        event.attributes for event in capture.violations(contract="order.v3")
    ]
    assert (StatusCode.ERROR, SpanKind.CONSUMER) == (span.status.status_code, span.kind)


def test_the_capture_records_child_spans_under_the_current_one(
    registry: syscontract.FileRegistry, order: dict[str, Any]
) -> None:
    on_order = requires("order.v3", [TIER], spans="child")(lambda event: event)
    with TelemetryCapture() as capture, capture.span("consume") as parent:
        on_order(order)
    child = capture.spans[1]
    assert ("syscontract order.v3", parent.get_span_context()) == (child.name, child.parent)


def test_the_capture_restores_the_providers_configured_before() -> None:
    mine = InMemoryTracerProvider()
    syscontract.configure(tracer_provider=mine)
    with TelemetryCapture() as capture:
        assert capture.tracer_provider is config.settings().tracer_provider
    assert (mine, None) == (config.settings().tracer_provider, config.settings().meter_provider)


def test_clear_forgets_spans_and_counts(registry: syscontract.FileRegistry, order: dict[str, Any]) -> None:
    on_order = requires("order.v3", [TIER])(lambda event: event)
    with TelemetryCapture() as capture:
        with capture.span():
            on_order(order)
        capture.clear()
        assert (0, []) == (capture.messages(), capture.spans)


# -- the package's surface ------------------------------------------------------------------------


def test_the_testing_package_exports_a_sorted_complete_all() -> None:
    import syscontract.testing as testing

    public = {name for name, value in vars(testing).items() if not name.startswith("_") and not inspect.ismodule(value)}
    public.discard("annotations")
    assert sorted(testing.__all__) == testing.__all__
    assert public == set(testing.__all__)
    assert StaleProducerError is syscontract.errors.StaleProducerError


# -- no SDK, and a cheap plugin --------------------------------------------------------------------


def _imported_after(setup: str, module: str) -> list[str]:
    code = (
        f"import sys; {setup}; before = set(sys.modules); import {module}; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_testing_helpers_need_no_opentelemetry_sdk() -> None:
    added = _imported_after("import syscontract", "syscontract.testing")
    assert [] == [m for m in added if m.startswith(("opentelemetry.sdk", "confluent_kafka", "pytest"))]


def test_importing_the_pytest_plugin_adds_nothing_to_syscontracts_core() -> None:
    assert ["syscontract.pytest_plugin"] == _imported_after("import pytest, syscontract", "syscontract.pytest_plugin")


def test_importing_the_pytest_plugin_configures_nothing() -> None:
    code = "import sys, syscontract.pytest_plugin, syscontract._config as c; print(c._settings)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "None" == result.stdout.strip()


def test_the_core_imported_by_the_plugin_is_light() -> None:
    added = _imported_after("import pytest", "syscontract.pytest_plugin")
    heavy = ("opentelemetry.sdk", "confluent_kafka", "syscontract.testing", "syscontract.integrations",
             "syscontract.cli", "syscontract.validation", "syscontract.compat", "hypothesis")  # fmt: skip
    assert [] == [m for m in added if m.startswith(heavy)]
