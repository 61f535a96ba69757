"""syscontract.testing.record_reads(): what handlers read, seen while they run, without changing
what they see (syscontract/lint/recorder.py)."""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import threading
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import syscontract
from syscontract import ContractError, requires
from syscontract.lint.recorder import RecordingDict, RecordingList
from syscontract.testing import record_reads

pytestmark = pytest.mark.usefixtures("registry")


def entry(reads: Any, handler: Any) -> dict[str, Any]:
    """The report's entry for ``handler`` (a function decorated with @requires)."""
    name = f"{handler.__module__}.{handler.__qualname__}"
    found = [h for h in reads.report()["handlers"] if h["handler"] == name]
    assert 1 == len(found), reads.report()
    return found[0]


# -- the hot path is untouched ----------------------------------------------------------------------


def test_outside_recording_the_handler_receives_the_original_object(order: dict[str, Any]) -> None:
    received = []

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> None:
        received.append(event)

    on_order(order)
    assert received[0] is order


def test_while_recording_the_handler_receives_a_view_and_after_it_the_original_again(order: dict[str, Any]) -> None:
    received = []

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> None:
        received.append(event)

    with record_reads():
        on_order(order)
    on_order(order)
    assert [RecordingDict, dict] == [type(e) for e in received]
    assert received[1] is order


def test_the_wrapper_calls_the_users_function_again_after_recording(order: dict[str, Any]) -> None:
    def on_order(event: dict[str, Any]) -> None:
        pass

    wrapper = requires("order.v3", ["customer.id"])(on_order)
    namespace = wrapper.__syscontract__._wrapper.namespace  # type: ignore[attr-defined]
    with record_reads():
        assert namespace["_sc_h"] is not on_order
    assert namespace["_sc_h"] is on_order


def test_recording_stops_when_the_block_raises(order: dict[str, Any]) -> None:
    received = []

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> None:
        received.append(event)

    with pytest.raises(KeyError), record_reads():
        raise KeyError("boom")
    on_order(order)
    assert received[0] is order


def test_a_handler_declared_while_recording_is_recorded(order: dict[str, Any]) -> None:
    with record_reads() as reads:

        @requires("order.v3", ["customer.id"])
        def on_order(event: dict[str, Any]) -> str:
            return str(event["currency"])

        on_order(order)
    assert ["currency"] == entry(reads, on_order)["read"]


def test_producers_declared_in_the_process_are_left_alone(order: dict[str, Any]) -> None:
    @syscontract.produces("order.v3")
    def emit() -> dict[str, Any]:
        return order

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> str:
        return str(event["currency"])

    with record_reads() as reads:
        emit()
        on_order(order)
    assert ["currency"] == entry(reads, on_order)["read"]


def test_the_broker_guards_identity_check_is_left_alone(order: dict[str, Any]) -> None:
    from syscontract.integrations._messaging import GuardCheck

    guard = GuardCheck("order.v3", ["customer.id"])
    with record_reads() as reads:
        checked = guard._check(order)
        decoded = guard(json.dumps(order).encode(), None)
    assert checked is order
    assert (dict, order) == (type(decoded), decoded)
    assert {"handlers": []} == reads.report()


def test_nested_recorders_both_record_and_the_outer_keeps_recording(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> str:
        return str(event["currency"])

    with record_reads() as outer:
        with record_reads() as inner:
            on_order(order)
        on_order({**order, "channel": "web"})
        assert RecordingDict is type(_received(on_order, order))
    assert ["currency"] == entry(outer, on_order)["read"] == entry(inner, on_order)["read"]


def _received(handler: Any, message: Any) -> Any:
    """What ``handler``'s function would receive for ``message`` now (called through its wrapper)."""
    declaration = handler.__syscontract__
    seen = []
    original = declaration.handler
    try:
        declaration.handler = lambda event: seen.append(event)  # only this helper's own declaration
        syscontract._requires._route(declaration)
        handler(message)
    finally:
        declaration.handler = original
        syscontract._requires._route(declaration)
    return seen[0]


# -- what the handler sees ----------------------------------------------------------------------------


def seen_by(handler_body: Any, message: Any, fields: tuple[str, ...] = ("customer.id",)) -> Any:
    """Run ``handler_body(event)`` as a @requires handler while recording; return its result."""
    results = []

    @requires("order.v3", list(fields))
    def on_order(event: dict[str, Any]) -> None:
        results.append(handler_body(event))

    with record_reads():
        on_order(message)
    return results[0]


def test_the_view_is_a_dict_equal_to_the_message(order: dict[str, Any]) -> None:
    assert (True, True, False, len(order), repr(order)) == seen_by(
        lambda e: (isinstance(e, dict), e == order, type(e) is dict, len(e), repr(e)), order
    )


def test_type_is_dict_is_false_while_recording_as_documented(order: dict[str, Any]) -> None:
    assert "RecordingDict" == seen_by(lambda e: type(e).__name__, order)


def test_json_dumps_gives_the_same_bytes(order: dict[str, Any]) -> None:
    assert json.dumps(order) == seen_by(json.dumps, order)
    assert json.dumps(order, indent=2, sort_keys=True) == seen_by(
        lambda e: json.dumps(e, indent=2, sort_keys=True), order
    )


def test_dict_of_the_view_is_a_plain_dict_of_the_original_values(order: dict[str, Any]) -> None:
    copied = seen_by(dict, order)
    assert (dict, dict, list) == (type(copied), type(copied["customer"]), type(copied["items"]))
    assert order == copied
    assert order["customer"] is copied["customer"]


def test_star_star_unpacking_passes_the_same_values(order: dict[str, Any]) -> None:
    def keywords(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    unpacked, merged = seen_by(lambda e: (keywords(**e), {**e}), order)
    assert order == unpacked == merged
    assert (dict, dict) == (type(unpacked["customer"]), type(merged))


def test_copy_and_deepcopy_give_plain_copies_of_the_original(order: dict[str, Any]) -> None:
    shallow, deep, method = seen_by(lambda e: (copy.copy(e), copy.deepcopy(e), e.copy()), order)
    assert (dict, dict, dict) == (type(shallow), type(deep), type(method))
    assert order == shallow == deep == method
    assert shallow["customer"] is order["customer"]
    assert deep["customer"] is not order["customer"]


def test_pickling_gives_the_original_back(order: dict[str, Any]) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(seen_by(lambda e, p=protocol: pickle.dumps(e, protocol=p), order))
        assert (dict, order) == (type(loaded), loaded)


def test_a_missing_key_raises_the_same_keyerror(order: dict[str, Any]) -> None:
    def read(e: dict[str, Any]) -> Any:
        with pytest.raises(KeyError) as caught:
            e["nope"]
        with pytest.raises(KeyError) as popped:
            e.pop("nope")
        return caught.value.args, popped.value.args

    assert (("nope",), ("nope",)) == seen_by(read, order)


def test_the_same_exceptions_as_the_original_for_bad_calls(order: dict[str, Any]) -> None:
    def errors(target: Any) -> list[tuple[type[BaseException], str]]:
        found = []
        for attempt in (
            lambda: target.get(),
            lambda: target[["unhashable"]],
            lambda: target.update(5),
            lambda: target["items"]["x"],
            lambda: target["items"][99],
        ):
            try:
                attempt()
            except Exception as exc:
                found.append((type(exc), str(exc)))
        return found

    expected = errors(copy.deepcopy(order))
    assert 5 == len(expected)
    assert expected == seen_by(errors, order)


def test_nested_views_keep_their_identity(order: dict[str, Any]) -> None:
    assert (True, True) == seen_by(lambda e: (e["customer"] is e["customer"], e["items"] is e["items"]), order)


def test_a_view_of_a_list_is_a_list_equal_to_it(order: dict[str, Any]) -> None:
    kind, equal, dumped = seen_by(
        lambda e: (type(e["items"]), e["items"] == order["items"], json.dumps(e["items"])), order
    )
    assert (RecordingList, True, json.dumps(order["items"])) == (kind, equal, dumped)


# -- mutation -----------------------------------------------------------------------------------------


def test_a_handler_that_mutates_its_message_mutates_the_callers(order: dict[str, Any]) -> None:
    def mutate(e: dict[str, Any]) -> Any:
        e["total"] = 0
        del e["notes"]
        e["customer"]["email"] = None
        e["items"].append({"sku": "SKU-9", "qty": 1, "price": 1.0})
        e["items"][0]["qty"] = 5
        e["items"] += [{"sku": "SKU-0", "qty": 1, "price": 2.0}]
        e.setdefault("couponCode", "X")
        e.setdefault("promo", "SPRING")
        e.update(channel="app")
        e |= {"tax": 1.0}
        e["items"].sort(key=lambda item: item["sku"], reverse=True)
        e["items"].remove(e["items"][-1])
        return copy.deepcopy(dict(e))

    expected = copy.deepcopy(order)
    mutate(expected)
    assert expected != order
    assert expected == seen_by(mutate, order)  # what the handler saw of its own changes
    assert expected == order  # the caller's message holds them


def test_mutations_show_in_the_views_c_level_paths_too(order: dict[str, Any]) -> None:
    def mutate(e: dict[str, Any]) -> Any:
        e["extra"] = 1
        e["items"].pop()
        return json.dumps(e), dict(e), list(e), len(e["items"])

    dumped, copied, keys, count = seen_by(mutate, order)
    assert (json.dumps(order), order, list(order), 2) == (dumped, copied, keys, count)


# -- what is recorded ---------------------------------------------------------------------------------


def test_nested_paths_and_array_elements_are_recorded(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> float:
        tier = event["customer"]["customerTier"]
        return sum(item["price"] * item["qty"] for item in event["items"]) * (0.9 if tier == "GOLD" else 1.0)

    with record_reads() as reads:
        on_order(order)
    report = entry(reads, on_order)
    assert ["customer.customerTier", "items[].price", "items[].qty"] == report["read"]
    assert [] == report["read_with_fallback"]
    assert ["customer.customerTier", "customer.id"] == report["declared"]  # the contract's critical list too


def test_an_indexed_element_is_an_array_path(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> str:
        return str(event["items"][0]["sku"]) + str(event["items"][-1:][0]["qty"])

    with record_reads() as reads:
        on_order(order)
    assert ["items[].qty", "items[].sku"] == entry(reads, on_order)["read"]


def test_get_with_a_default_is_a_fallback_and_get_without_one_is_a_read(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> Any:
        return event.get("couponCode", "NONE"), event.get("notes"), event["customer"].get("customerTier", "BASIC")

    with record_reads() as reads:
        on_order(order)
    report = entry(reads, on_order)
    assert ["couponCode", "customer.customerTier", "notes"] == report["read"]
    assert ["couponCode", "customer.customerTier"] == report["read_with_fallback"]


def test_a_get_chain_with_default_dicts_records_the_leaf_as_a_fallback(order: dict[str, Any]) -> None:
    del order["customer"]["customerTier"]

    @requires("order.v3", ["customer.id"], on_violation="observe")
    def on_order(event: dict[str, Any]) -> Any:
        return event.get("customer", {}).get("customerTier", "BASIC"), event.get("loyalty", {"level": 0})["level"]

    with record_reads() as reads:
        assert ("BASIC", 0) == on_order(order)
    report = entry(reads, on_order)
    assert ["customer.customerTier", "loyalty.level"] == report["read"]
    assert ["customer.customerTier", "loyalty.level"] == report["read_with_fallback"]


def test_pop_and_setdefault_with_a_default_are_fallbacks(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> Any:
        return event.pop("couponCode", None), event.setdefault("channel", "web"), event.pop("currency")

    with record_reads() as reads:
        on_order(order)
    report = entry(reads, on_order)
    assert ["channel", "couponCode", "currency"] == report["read"]
    assert ["channel", "couponCode"] == report["read_with_fallback"]


def test_reads_after_the_handler_returned_are_not_recorded(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> dict[str, Any]:
        return event

    with record_reads() as reads:
        kept = on_order(order)
        assert "GOLD" == kept["customer"]["customerTier"]
    assert [] == entry(reads, on_order)["read"]


def test_a_handler_never_called_is_not_reported() -> None:
    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any]) -> None:
        pass

    with record_reads() as reads:
        pass
    assert {"handlers": []} == reads.report()


def test_a_method_handler_records_its_message_not_self(order: dict[str, Any]) -> None:
    class Pricing:
        @requires("order.v3", ["customer.id"])
        def price(self, event: dict[str, Any], factor: float = 1.0) -> float:
            return float(event["total"]) * factor

    with record_reads() as reads:
        assert order["total"] * 2 == Pricing().price(order, factor=2.0)
    assert ["total"] == entry(reads, Pricing.price)["read"]


def test_a_message_given_by_keyword_is_recorded(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"], message="event")
    def on_order(key: str, *, event: dict[str, Any]) -> str:
        return key + str(event["currency"])

    with record_reads() as reads:
        assert "kEUR" == on_order("k", event=order)
    assert ["currency"] == entry(reads, on_order)["read"]


# -- threads and async --------------------------------------------------------------------------------


def test_handlers_on_many_threads_record_their_own_messages(order: dict[str, Any]) -> None:
    fields = ["currency", "channel", "tax", "shipping"]

    @requires("order.v3", ["customer.id"])
    def on_order(event: dict[str, Any], name: str) -> Any:
        return event["orderId"], event[name]

    results: dict[int, Any] = {}
    barrier = threading.Barrier(8)

    def run(index: int) -> None:
        message = {**copy.deepcopy(order), "orderId": f"ord-{index}"}
        barrier.wait()
        results[index] = [on_order(message, fields[(index + n) % 4]) for n in range(50)]

    with record_reads() as reads:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert {i: f"ord-{i}" for i in range(8)} == {i: {r[0] for r in rs}.pop() for i, rs in results.items()}
    assert sorted(["orderId", *fields]) == entry(reads, on_order)["read"]


def test_async_handlers_record_reads_after_an_await(order: dict[str, Any]) -> None:
    @requires("order.v3", ["customer.id"])
    async def on_order(event: dict[str, Any]) -> Any:
        first = event["currency"]
        await asyncio.sleep(0)
        return type(event), first, event.get("couponCode", "NONE")

    async def both() -> list[Any]:
        return list(await asyncio.gather(on_order(order), on_order({**order, "couponCode": "C"})))

    with record_reads() as reads:
        results = asyncio.run(both())
    assert [(RecordingDict, "EUR", None), (RecordingDict, "EUR", "C")] == results  # couponCode: null
    report = entry(reads, on_order)
    assert (["couponCode", "currency"], ["couponCode"]) == (report["read"], report["read_with_fallback"])


# -- pydantic models ----------------------------------------------------------------------------------


class Customer(BaseModel):
    id: str
    customerTier: Literal["BASIC", "SILVER", "GOLD", "VIP"] = "BASIC"


class Line(BaseModel):
    sku: str
    qty: int = 1


class Order(BaseModel):
    orderId: str
    customer: Customer
    items: list[Line] = []
    note: str | None = None


@pytest.fixture
def model_order() -> Order:
    syscontract.contract("shop.order.v3")(Order)
    return Order(orderId="o-1", customer=Customer(id="c-1", customerTier="VIP"), items=[Line(sku="A", qty=2)])


def test_a_model_message_stays_an_instance_of_the_contracts_model(model_order: Order) -> None:
    seen = []

    @requires("shop.order.v3", ["customer.id"])
    def on_order(event: Order) -> None:
        kinds = (isinstance(event, Order), type(event) is Order, type(event).__name__)
        seen.append((*kinds, event == model_order, model_order == event, event.model_dump(), repr(event)))

    with record_reads():
        on_order(model_order)
    assert [(True, False, "Order", True, True, model_order.model_dump(), repr(model_order))] == seen


def test_a_model_messages_attribute_reads_are_recorded(model_order: Order) -> None:
    @requires("shop.order.v3", ["customer.id"])
    def on_order(event: Order) -> Any:
        return (
            event.customer.customerTier,
            [line.qty for line in event.items],
            getattr(event, "note", "none"),
            getattr(event.customer, "id"),  # noqa: B009 (the form itself is what is tested)
        )

    with record_reads() as reads:
        assert ("VIP", [2], None, "c-1") == on_order(model_order)
    report = entry(reads, on_order)
    assert ["customer.customerTier", "customer.id", "items[].qty", "note"] == report["read"]
    assert ["note"] == report["read_with_fallback"]


def test_a_model_view_copies_and_pickles_as_the_model(model_order: Order) -> None:
    @requires("shop.order.v3", ["customer.id"])
    def on_order(event: Order) -> Any:
        return copy.copy(event), copy.deepcopy(event), pickle.loads(pickle.dumps(event)), event.model_copy()

    with record_reads():
        copies = on_order(model_order)
    assert [Order] * 4 == [type(c) for c in copies]
    assert [model_order] * 4 == list(copies)


def test_a_model_handler_that_assigns_an_attribute_changes_the_callers_model(model_order: Order) -> None:
    @requires("shop.order.v3", ["customer.id"])
    def on_order(event: Order) -> None:
        event.note = "seen"
        event.customer.customerTier = "GOLD"

    with record_reads():
        on_order(model_order)
    assert ("seen", "GOLD") == (model_order.note, model_order.customer.customerTier)


# -- Avro resolved through a reader schema --------------------------------------------------------------


WRITER = {"type": "record", "name": "Order", "fields": [{"name": "orderId", "type": "string"}]}
READER = {"type": "record", "name": "Order", "fields": [
    {"name": "orderId", "type": "string"}, {"name": "customerTier", "type": "string", "default": "BASIC"}]}  # fmt: skip


def test_a_message_handed_on_to_a_stricter_check_gets_the_verdict_it_gets_without_recording() -> None:
    registry = syscontract.MemoryRegistry()
    registry.add(syscontract.Contract.from_avro("laundry.v1", WRITER), schema_id=1)
    registry.add(syscontract.Contract.from_avro("laundry.v2", READER), schema_id=2)
    syscontract.configure(registry=registry)
    body = syscontract.encode("laundry.v1", {"orderId": "o-1"}, format="confluent").value
    seen = []

    @requires("laundry.v2", ["orderId"])
    def on_order(event: dict[str, Any]) -> None:
        try:
            syscontract.check("laundry.v2", event, ["customerTier"])
        except syscontract.MissingCriticalField:
            seen.append(("customerTier" in event, "refused"))
        else:
            seen.append(("customerTier" in event, "passed"))

    on_order(body)
    with record_reads():
        on_order(body)
    assert (False, "refused") == seen[0]  # customerTier was not sent: never the reader default
    assert seen[0] == seen[1]


# -- the report -----------------------------------------------------------------------------------------


def test_the_report_is_sorted_and_the_same_bytes_every_time(order: dict[str, Any], tmp_path: Path) -> None:
    @requires("order.v3", ["customer.id", "customer.customerTier"])
    def zeta(event: dict[str, Any]) -> Any:
        return event["total"], event["items"][0]["sku"], event.get("couponCode", "-")

    @requires("order.v2", ["customer.id"])
    def alpha(event: dict[str, Any]) -> Any:
        return event["customer"]["id"]

    texts = []
    for _ in range(2):
        with record_reads() as reads:
            zeta(order)
            alpha(order)
        reads.write(tmp_path / "reads.json")
        texts.append((tmp_path / "reads.json").read_bytes())
    prefix = f"{__name__}.test_the_report_is_sorted_and_the_same_bytes_every_time.<locals>"
    expected = f"""{{
  "handlers": [
    {{
      "contract": "order.v2",
      "declared": [
        "customer.id"
      ],
      "handler": "{prefix}.alpha",
      "read": [
        "customer.id"
      ],
      "read_with_fallback": []
    }},
    {{
      "contract": "order.v3",
      "declared": [
        "customer.customerTier",
        "customer.id"
      ],
      "handler": "{prefix}.zeta",
      "read": [
        "couponCode",
        "items[].sku",
        "total"
      ],
      "read_with_fallback": [
        "couponCode"
      ]
    }}
  ]
}}
"""
    assert [expected.encode()] * 2 == texts


def test_a_report_that_cannot_be_written_is_a_contract_error(tmp_path: Path) -> None:
    with record_reads() as reads:
        pass
    with pytest.raises(ContractError, match="cannot write the reads report to"):
        reads.write(tmp_path / "no" / "such" / "dir" / "reads.json")
