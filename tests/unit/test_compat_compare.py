"""``syscontract.compat.compare``: Confluent's modes over the order contracts, and consumer-aware problems."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from syscontract import Contract, ContractDeclarationError, FileRegistry
from syscontract.compat import Compatibility, Consumer, compare
from syscontract.contract import parse_path


@pytest.fixture
def files(contracts_dir: Any) -> FileRegistry:
    return FileRegistry(contracts_dir)


@pytest.fixture
def v2(files: FileRegistry) -> Contract:
    return files.get("order.v2")


@pytest.fixture
def v3(files: FileRegistry) -> Contract:
    return files.get("order.v3")


def avro_variant(base: Contract, ref: str, change: Any) -> Contract:
    """A copy of ``base``'s Avro schema, changed by ``change(schema)``."""
    schema = copy.deepcopy(base.schema)
    change(schema)
    return Contract.from_avro(ref, schema)


def field_named(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in record["fields"] if f["name"] == name)


def without_customer_id(schema: dict[str, Any]) -> None:
    customer = field_named(schema, "customer")["type"]
    customer["fields"] = [f for f in customer["fields"] if f["name"] != "id"]


def make_order_id_nullable(schema: dict[str, Any]) -> None:
    field_named(schema, "orderId").update({"type": ["null", "string"], "default": None})


# -- registry-level modes ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FULL_TRANSITIVE", "NONE"])
def test_adding_a_field_with_a_default_is_compatible_in_every_mode(v2: Contract, v3: Contract, mode: str) -> None:
    assert Compatibility(True, [], mode) == compare(v3, v2, mode)


def test_backward_means_the_new_version_reads_the_old(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", lambda s: s["fields"].append({"name": "region", "type": "string"}))

    result = compare(v4, v3, "BACKWARD")

    assert not result.compatible
    (problem,) = result.problems
    assert ("READER_FIELD_MISSING_DEFAULT_VALUE", "region") == (problem.kind, problem.field)
    assert ("order.v4", "order.v3") == (problem.reader, problem.writer)
    assert compare(v4, v3, "FORWARD").compatible  # the old version skips the new field


def test_forward_means_the_old_version_reads_the_new(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", without_customer_id)

    assert compare(v4, v3, "BACKWARD").compatible  # the new reader ignores the writer's extra field
    result = compare(v4, v3, "FORWARD")
    assert ["READER_FIELD_MISSING_DEFAULT_VALUE"] == [p.kind for p in result.problems]
    assert ("order.v3", "order.v4", "customer.id") == (
        result.problems[0].reader,
        result.problems[0].writer,
        result.problems[0].field,
    )


def test_full_reports_both_directions(v3: Contract) -> None:
    def retype(schema: dict[str, Any]) -> None:
        field_named(schema, "schemaVersion")["type"] = "long"

    v4 = avro_variant(v3, "order.v4", retype)

    result = compare(v4, v3, "FULL")

    assert [("order.v3", "order.v4")] == [(p.reader, p.writer) for p in result.problems]  # long -> int fails only
    assert compare(v4, v3, "BACKWARD").compatible


def test_non_transitive_compares_with_the_latest_previous_version_only(v2: Contract, v3: Contract) -> None:
    def drop_default(schema: dict[str, Any]) -> None:
        customer = field_named(schema, "customer")["type"]
        field_named(customer, "customerTier").pop("default")

    v4 = avro_variant(v3, "order.v4", drop_default)

    assert compare(v4, [v2, v3], "BACKWARD").compatible
    result = compare(v4, [v2, v3], "BACKWARD_TRANSITIVE")
    assert [("READER_FIELD_MISSING_DEFAULT_VALUE", "order.v2")] == [(p.kind, p.writer) for p in result.problems]


def test_none_is_always_compatible(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", lambda s: field_named(s, "orderId").update({"type": "int"}))

    assert not compare(v4, v3, "FULL").compatible
    assert compare(v4, v3, "NONE").compatible


def test_no_previous_version_is_compatible(v3: Contract) -> None:
    assert compare(v3, [], "FULL_TRANSITIVE").compatible


def test_modes_are_case_insensitive(v2: Contract, v3: Contract) -> None:
    assert "FULL" == compare(v3, v2, "full").mode


def test_unknown_mode_is_refused(v2: Contract, v3: Contract) -> None:
    with pytest.raises(ContractDeclarationError, match="unknown compatibility mode 'SIDEWAYS'"):
        compare(v3, v2, "SIDEWAYS")


def test_avro_and_json_schema_versions_cannot_read_each_other(files: FileRegistry, v3: Contract) -> None:
    result = compare(files.get("order.v4"), v3, "BACKWARD")

    assert ["FORMAT_MISMATCH"] == [p.kind for p in result.problems]


def test_raw_avro_schemas_are_accepted(v2: Contract, v3: Contract) -> None:
    assert compare(v3.schema, v2.schema, "FULL").compatible


# -- consumer-aware ------------------------------------------------------------------------------------


def test_the_incident_breaks_the_consumer_that_requires_customer_tier(v2: Contract, v3: Contract) -> None:
    result = compare(v3, v2, "BACKWARD", consumers=[Consumer("pricing", ["customer.customerTier"])])

    assert not result.compatible
    (problem,) = result.problems
    assert "CONSUMER_FIELD_NOT_IN_WRITER" == problem.kind
    assert ("pricing", "customer.customerTier") == (problem.consumer, problem.field)
    assert ("order.v3", "order.v2") == (problem.reader, problem.writer)
    assert "/fields/customer/fields/customerTier" == problem.path
    assert "'BASIC'" in problem.message


def test_the_incident_is_invisible_to_consumers_of_other_fields(v2: Contract, v3: Contract) -> None:
    # the test registry's contract.toml marks customer.customerTier critical: it adds to every consumer
    plain_v2 = Contract.from_avro("order.v2", v2.schema)
    plain_v3 = Contract.from_avro("order.v3", v3.schema)

    assert compare(plain_v3, plain_v2, "BACKWARD", consumers=[Consumer("audit", ["customer.id"])]).compatible


def test_the_contracts_own_critical_fields_add_to_every_consumer(v2: Contract, v3: Contract) -> None:
    result = compare(v3, v2, "BACKWARD", consumers=[Consumer("audit", ["customer.id"])])

    assert [("audit", "customer.customerTier")] == [(p.consumer, p.field) for p in result.problems]


def test_forward_does_not_show_the_incident(v2: Contract, v3: Contract) -> None:
    # old readers (v2) of new data (v3) do not have the field at all
    assert compare(v3, v2, "FORWARD", consumers=[Consumer("pricing", ["customer.customerTier"])]).compatible


def test_a_required_field_made_nullable_breaks_its_consumer(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", make_order_id_nullable)

    assert compare(v4, v3, "BACKWARD").compatible  # the registry says fine
    result = compare(v4, v3, "BACKWARD", consumers=[Consumer("shipping", ["orderId"])])
    (problem,) = result.problems
    assert ("CONSUMER_FIELD_NULLABLE", "shipping", "orderId") == (problem.kind, problem.consumer, problem.field)


def test_a_required_field_given_a_default_breaks_its_consumer(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", lambda s: field_named(s, "currency").update({"default": "EUR"}))

    result = compare(v4, v3, "FULL", consumers=[Consumer("billing", ["currency"])])

    assert ["CONSUMER_FIELD_DEFAULTED"] == [p.kind for p in result.problems]


def test_a_removed_field_breaks_its_consumer_even_under_none(v3: Contract) -> None:
    v4 = avro_variant(v3, "order.v4", without_customer_id)

    result = compare(v4, v3, "NONE", consumers=[Consumer("crm", ["customer.id"])])

    assert ["CONSUMER_FIELD_REMOVED"] == [p.kind for p in result.problems]


def test_a_parent_made_optional_makes_the_child_optional(v3: Contract) -> None:
    def optional_customer(schema: dict[str, Any]) -> None:
        customer = field_named(schema, "customer")
        customer.update({"type": ["null", customer["type"]], "default": None})

    v4 = avro_variant(v3, "order.v4", optional_customer)

    result = compare(v4, v3, "BACKWARD", consumers=[Consumer("crm", ["customer.id"])])

    assert [("CONSUMER_FIELD_NULLABLE", "customer.id")] == [(p.kind, p.field) for p in result.problems]


def test_a_field_no_version_has_is_reported(v2: Contract, v3: Contract) -> None:
    result = compare(v3, v2, "BACKWARD", consumers=[Consumer("crm", ["customer.loyalty"])])

    assert "CONSUMER_FIELD_UNKNOWN" in [p.kind for p in result.problems]


def test_consumers_of_another_contract_are_skipped(v2: Contract, v3: Contract) -> None:
    consumers = [Consumer("pricing", ["customer.customerTier"], contract="shipment.v1")]

    assert compare(v3, v2, "BACKWARD", consumers=consumers).compatible


@dataclass
class Declared:
    """Shaped like syscontract's @requires declaration."""

    name: str
    fields: tuple[Any, ...]
    ref: str


@pytest.mark.parametrize(
    "consumer",
    [
        ("pricing", ["customer.customerTier"]),
        {"name": "pricing", "fields": ["customer.customerTier"], "contract": "order.v3"},
        Declared("pricing", (parse_path("customer.customerTier"),), "order.v3"),
    ],
    ids=["tuple", "mapping", "declaration"],
)
def test_consumers_may_be_tuples_mappings_or_declarations(v2: Contract, v3: Contract, consumer: Any) -> None:
    result = compare(v3, v2, "BACKWARD", consumers=[consumer])

    assert [("pricing", "CONSUMER_FIELD_NOT_IN_WRITER")] == [(p.consumer, p.kind) for p in result.problems]


def test_an_unreadable_consumer_is_refused(v2: Contract, v3: Contract) -> None:
    with pytest.raises(ContractDeclarationError, match="as a consumer"):
        compare(v3, v2, consumers=[42])


def test_a_bad_consumer_path_is_refused() -> None:
    with pytest.raises(ContractDeclarationError, match="bad field path"):
        Consumer("pricing", ["customer..tier"])
