"""Issue 21, findings 1-3: silent defaults through union branches, ``Annotated`` validators and nested
dataclasses.

The rule each test pins: a critical value counts as sent only when it can be traced to the input the
producer wrote, by the name the model pydantic actually chose reads (union branches and aliases
included); any code that may write the field (every validator form pydantic has, ``__post_init__``,
default factories) makes an instance that syscontract did not validate itself ``unverifiable``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    PlainValidator,
    WrapValidator,
    field_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import core_schema

import syscontract
from syscontract import Contract, ContractError, MissingCriticalField, requires

# -- how a caller sees a verdict ----------------------------------------------------------------------


def verdict(contract: Contract, fields: list[str], message: Any, entry: str = "requires") -> Any:
    """("ok", what the handler received) or (error class, field, reason), through one entry point."""
    received: list[Any] = []

    def handler(event: Any) -> None:
        received.append(event)

    async def async_handler(event: Any) -> None:
        received.append(event)

    try:
        if entry == "requires":
            requires(contract, fields)(handler)(message)
        elif entry == "requires-async":
            asyncio.run(requires(contract, fields)(async_handler)(message))
        else:
            received.append(syscontract.check(contract, message, fields))
    except ContractError as error:
        return (type(error).__name__, error.field, error.reason)
    return ("ok", received[0])


def forms(content: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(content)
    return {"dict": content, "json-bytes": text.encode(), "json-str": text}


ENTRIES = ["requires", "requires-async", "check"]

# -- 1. a union of models: the branch pydantic chose reads the field under another name --------------


class Person(BaseModel):
    kind: Literal["person"] = "person"
    name: str
    ssn: str
    tier: str


class Company(BaseModel):
    kind: Literal["company"] = "company"
    name: str
    tier: str = Field("BASIC", alias="level")


class PlainUnion(BaseModel):
    orderId: str
    payer: Union[Person, Company]  # noqa: UP007 - the typing form is the one users write


class Discriminated(BaseModel):
    orderId: str
    payer: Annotated[Union[Person, Company], Field(discriminator="kind")]  # noqa: UP007


class OptionalUnion(BaseModel):
    orderId: str
    payer: Optional[Union[Person, Company]] = None  # noqa: UP007, UP045


class PipeUnion(BaseModel):
    orderId: str
    payer: Person | Company


class ListOfUnion(BaseModel):
    orderId: str
    payers: list[Union[Person, Company]] = []  # noqa: UP007


UNIONS = {
    "plain": (PlainUnion, "payer.tier", {"orderId": "o", "payer": {"name": "a", "tier": "VIP"}}),
    "pipe": (PipeUnion, "payer.tier", {"orderId": "o", "payer": {"name": "a", "tier": "VIP"}}),
    "discriminated": (
        Discriminated,
        "payer.tier",
        {"orderId": "o", "payer": {"kind": "company", "name": "a", "tier": "VIP"}},
    ),
    "optional": (OptionalUnion, "payer.tier", {"orderId": "o", "payer": {"name": "a", "tier": "VIP"}}),
    "list": (
        ListOfUnion,
        "payers[].tier",
        {"orderId": "o", "payers": [{"name": "p", "ssn": "1", "tier": "GOLD"}, {"name": "a", "tier": "VIP"}]},
    ),
}


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("form", ["dict", "json-bytes", "json-str"])
@pytest.mark.parametrize("shape", sorted(UNIONS))
def test_a_union_branch_that_reads_the_field_under_an_alias_does_not_take_the_raw_key_as_sent(
    shape: str, form: str, entry: str
) -> None:
    # the cause: presence was judged on the raw key 'tier'; pydantic chose Company, which reads
    # 'level', and filled Company's default 'BASIC'
    model, path, content = UNIONS[shape]
    contract = Contract.from_model(f"third.union.{shape}.v1", model)
    assert ("MissingCriticalField", path, "absent") == verdict(contract, [path], forms(content)[form], entry)


@pytest.mark.parametrize("shape", sorted(UNIONS))
def test_a_union_branch_instance_is_judged_by_its_own_class(shape: str) -> None:
    model, path, content = UNIONS[shape]
    contract = Contract.from_model(f"third.union-instance.{shape}.v1", model)
    assert ("MissingCriticalField", path, "absent") == verdict(contract, [path], model.model_validate(content))


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("shape", sorted(UNIONS))
def test_a_union_branch_sent_under_the_name_it_reads_is_accepted(shape: str, entry: str) -> None:
    model, path, content = UNIONS[shape]
    sent = json.loads(json.dumps(content))
    company = sent["payers"][-1] if shape == "list" else sent["payer"]
    company["level"] = company.pop("tier")
    contract = Contract.from_model(f"third.union-sent.{shape}.v1", model)
    outcome = verdict(contract, [path], json.dumps(sent).encode(), entry)
    assert "ok" == outcome[0], outcome
    payers = outcome[1].payers if shape == "list" else [outcome[1].payer]
    assert ["VIP"] == [p.tier for p in payers if isinstance(p, Company)]


def test_a_union_branch_inside_another_models_instance_handed_on_is_traced_too() -> None:
    class Other(BaseModel):
        orderId: str
        payer: dict[str, Any]

    contract = Contract.from_model("third.union-other.v1", PlainUnion)
    handed = Other(orderId="o", payer={"name": "a", "tier": "VIP"})
    assert ("MissingCriticalField", "payer.tier", "absent") == verdict(contract, ["payer.tier"], handed)


# -- 2. validators pydantic keeps outside __pydantic_decorators__ -------------------------------------


def _fill(value: Any) -> Any:
    return "BASIC" if value is None or value == "" else value


class FilledType(str):
    """A type whose own core schema fills a null: a validator no decorator registry lists."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_fill, core_schema.str_schema())


class ViaBefore(BaseModel):
    orderId: str
    customerTier: Annotated[Optional[str], BeforeValidator(_fill)] = None  # noqa: UP045


class ViaWrap(BaseModel):
    orderId: str
    customerTier: Annotated[Optional[str], WrapValidator(lambda v, h: _fill(v) if v is None else h(v))] = None  # noqa: UP045


class ViaPlain(BaseModel):
    orderId: str
    customerTier: Annotated[Optional[str], PlainValidator(_fill, json_schema_input_type=Optional[str])] = None  # noqa: UP045


class ViaAfter(BaseModel):
    orderId: str
    customerTier: Annotated[Optional[str], AfterValidator(_fill)] = None  # noqa: UP045


class ViaInnerAnnotated(BaseModel):
    orderId: str
    customerTier: Optional[Annotated[str, AfterValidator(_fill)]] = None  # noqa: UP045


class ViaNestedAnnotated(BaseModel):
    orderId: str
    customerTier: Annotated[Annotated[Optional[str], BeforeValidator(_fill)], Field(description="x")] = None  # noqa: UP045


class ViaOwnType(BaseModel):
    orderId: str
    customerTier: Optional[FilledType] = None  # noqa: UP045


class ViaAfterDecorator(BaseModel):
    orderId: str
    customerTier: Optional[str] = None  # noqa: UP045

    @field_validator("customerTier", mode="after")
    @classmethod
    def _filled(cls, value: Any) -> Any:
        return _fill(value)


VALIDATED = {
    "before": ViaBefore,
    "wrap": ViaWrap,
    "plain": ViaPlain,
    "after": ViaAfter,
    "inner-annotated": ViaInnerAnnotated,
    "nested-annotated": ViaNestedAnnotated,
    "own-type": ViaOwnType,
    "after-decorator": ViaAfterDecorator,
}


# a validator inside Optional[...] never sees None (pydantic returns it first): it fills "" instead
FILLED_FROM = {form: "" if form in ("inner-annotated", "own-type") else None for form in VALIDATED}


@pytest.mark.parametrize("form", sorted(VALIDATED))
def test_an_instance_whose_annotated_validator_filled_a_value_is_unverifiable(form: str) -> None:
    model = VALIDATED[form]
    contract = Contract.from_model(f"third.annotated.{form}.v1", model)
    filled = model.model_validate({"orderId": "o", "customerTier": FILLED_FROM[form]})
    assert "BASIC" == filled.customerTier  # the validator filled what the producer sent
    assert ("MissingCriticalField", "customerTier", "unverifiable") == verdict(contract, ["customerTier"], filled)


@pytest.mark.parametrize("form", sorted(form for form, sent in FILLED_FROM.items() if sent is None))
def test_the_same_null_as_json_is_refused_as_null(form: str) -> None:
    contract = Contract.from_model(f"third.annotated-json.{form}.v1", VALIDATED[form])
    as_json = b'{"orderId": "o", "customerTier": null}'
    assert ("MissingCriticalField", "customerTier", "null") == verdict(contract, ["customerTier"], as_json)


@pytest.mark.parametrize("form", sorted(VALIDATED))
def test_an_instance_syscontract_validated_is_judged_by_what_was_sent(form: str) -> None:
    model = VALIDATED[form]
    contract = Contract.from_model(f"third.annotated-sent.{form}.v1", model)
    checked = syscontract.check(contract, {"orderId": "o", "customerTier": "VIP"}, ["customerTier"])
    assert ("ok", checked) == verdict(contract, ["customerTier"], checked)
    assert "VIP" == checked.customerTier


@pytest.mark.parametrize("form", sorted(VALIDATED))
def test_a_nested_model_whose_annotated_validator_filled_a_null_is_unverifiable(form: str) -> None:
    inner = VALIDATED[form]

    class Outer(BaseModel):
        orderId: str
        customer: inner  # type: ignore[valid-type]

    contract = Contract.from_model(f"third.annotated-nested.{form}.v1", Outer)
    filled = Outer.model_validate({"orderId": "o", "customer": {"orderId": "c", "customerTier": FILLED_FROM[form]}})
    assert ("MissingCriticalField", "customer.customerTier", "unverifiable") == verdict(
        contract, ["customer.customerTier"], filled
    )


@pytest.mark.parametrize("form", sorted(VALIDATED))
def test_another_models_instance_whose_validator_filled_a_null_is_unverifiable(form: str) -> None:
    # the instance of another model is handed on as what it says was set: a validator of that model
    # may have set it
    class Plain(BaseModel):
        orderId: str
        customerTier: Optional[str] = None  # noqa: UP045

    contract = Contract.from_model(f"third.annotated-other.{form}.v1", Plain)
    filled = VALIDATED[form].model_validate({"orderId": "o", "customerTier": FILLED_FROM[form]})
    assert ("MissingCriticalField", "customerTier", "unverifiable") == verdict(contract, ["customerTier"], filled)


# -- 3. nested dataclasses: what a dataclass holds cannot prove it was sent ---------------------------


@dataclasses.dataclass
class WithFactory:
    id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))


@dataclasses.dataclass
class WithPostInit:
    id: Optional[str] = None  # noqa: UP045

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = "generated"


@dataclasses.dataclass
class PostInitNoDefault:
    id: str

    def __post_init__(self) -> None:
        self.id = self.id or "generated"


@pydantic_dataclass
class PydanticValidated:
    id: Annotated[Optional[str], BeforeValidator(_fill)]  # noqa: UP045


@pydantic_dataclass
class PydanticDefault:
    id: str = "BASIC"


FILLED_DATACLASSES = {
    "factory": lambda: WithFactory(),
    "post-init": lambda: WithPostInit(),
    "post-init-no-default": lambda: PostInitNoDefault(""),
    "pydantic-validator": lambda: PydanticValidated(None),
    "pydantic-default": lambda: PydanticDefault(),
}


def _json_contract(ref: str) -> Contract:
    schema = {
        "type": "object",
        "properties": {"customer": {"type": "object", "properties": {"id": {"type": "string"}}}},
        "required": ["customer"],
    }
    return Contract.from_jsonschema(ref, schema)


@pytest.mark.parametrize("form", sorted(FILLED_DATACLASSES))
def test_a_nested_dataclass_whose_value_was_filled_is_unverifiable_in_a_dict(form: str) -> None:
    contract = _json_contract(f"third.dc.{form}.v1")
    message = {"customer": FILLED_DATACLASSES[form]()}
    assert ("MissingCriticalField", "customer.id", "unverifiable") == verdict(contract, ["customer.id"], message)


@pytest.mark.parametrize("form", sorted(FILLED_DATACLASSES))
def test_a_nested_dataclass_whose_value_was_filled_is_unverifiable_in_a_model(form: str) -> None:
    made = FILLED_DATACLASSES[form]()

    class Holder(BaseModel):
        orderId: str
        customer: type(made)  # type: ignore[valid-type]

    contract = Contract.from_model(f"third.dc-model.{form}.v1", Holder)
    instance = Holder.model_construct(orderId="o", customer=made)
    assert ("MissingCriticalField", "customer.id", "unverifiable") == verdict(contract, ["customer.id"], instance)


@pytest.mark.parametrize("form", sorted(FILLED_DATACLASSES))
def test_a_dataclass_at_the_top_gets_the_verdict_it_gets_nested(form: str) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    contract = Contract.from_jsonschema(f"third.dc-top.{form}.v1", schema)
    made = FILLED_DATACLASSES[form]()
    top = verdict(contract, ["id"], made)
    nested = verdict(_json_contract(f"third.dc-nested.{form}.v1"), ["customer.id"], {"customer": made})
    assert ("MissingCriticalField", "id", "unverifiable") == top
    assert (top[0], top[2]) == (nested[0], nested[2])


def test_a_nested_dataclass_whose_field_the_constructor_required_is_sent() -> None:
    @dataclasses.dataclass
    class Plain:
        id: str

    contract = _json_contract("third.dc-plain.v1")
    assert "ok" == verdict(contract, ["customer.id"], {"customer": Plain("c-1")})[0]
    assert ("MissingCriticalField", "customer.id", "null") == verdict(
        contract,
        ["customer.id"],
        {"customer": Plain(None)},  # type: ignore[arg-type]
    )


def test_a_model_holding_a_dataclass_validated_from_json_is_judged_on_the_json() -> None:
    # syscontract validated it itself: the dataclass's fields are traced to the JSON, a factory's
    # fresh value is not taken for a sent one
    class Holder(BaseModel):
        orderId: str
        customer: WithFactory

    contract = Contract.from_model("third.dc-json.v1", Holder)
    assert ("MissingCriticalField", "customer.id", "absent") == verdict(
        contract, ["customer.id"], b'{"orderId": "o", "customer": {}}'
    )
    outcome = verdict(contract, ["customer.id"], b'{"orderId": "o", "customer": {"id": "c-1"}}')
    assert "ok" == outcome[0]
    assert "c-1" == outcome[1].customer.id


def test_missing_critical_field_is_what_every_refusal_here_raises() -> None:
    contract = Contract.from_model("third.class.v1", PlainUnion)
    with pytest.raises(MissingCriticalField, match=r"payer\.tier"):
        syscontract.check(contract, {"orderId": "o", "payer": {"name": "a", "tier": "VIP"}}, ["payer.tier"])
