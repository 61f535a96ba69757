"""Violation policies (raise, dead_letter, observe), process-wide settings and verify()."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

import syscontract
from syscontract import (
    ContractDeclarationError,
    DeadLetter,
    DecodeError,
    MissingCriticalField,
    requires,
)

TIER = "customer.customerTier"


@pytest.fixture
def stale(order: dict[str, Any]) -> bytes:
    """A v2-shaped order, as bytes off the wire."""
    del order["customer"]["customerTier"]
    return json.dumps(order).encode()


@pytest.mark.usefixtures("registry")
class TestPolicies:
    def test_raise_is_the_default_and_the_handler_is_not_called(self, stale: bytes) -> None:
        called = []
        handler = requires("order.v3", [TIER])(called.append)
        with pytest.raises(MissingCriticalField):
            handler(stale)
        assert [] == called

    def test_dead_letter_hands_the_sink_the_original_bytes_headers_and_error(self, stale: bytes) -> None:
        letters: list[DeadLetter] = []
        called = []

        @requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=letters.append)
        def on_order(event: dict[str, Any]) -> None:
            called.append(event)

        assert on_order(stale) is None
        assert [] == called
        (letter,) = letters
        assert stale is letter.payload
        assert isinstance(letter.error, MissingCriticalField)
        assert ("order.v3", TIER) == (letter.contract, letter.error.field)
        assert letter.handler is not None and letter.handler.endswith("on_order")

    def test_a_failing_sink_propagates_so_nothing_is_dropped(self, stale: bytes) -> None:
        def broken_sink(letter: DeadLetter) -> None:
            raise ConnectionError("dead-letter queue unreachable")

        handler = requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=broken_sink)(lambda e: e)
        with pytest.raises(ConnectionError) as caught:
            handler(stale)
        assert isinstance(caught.value.__context__, MissingCriticalField) or caught.value.__context__ is None

    def test_dead_letter_without_a_sink_raises_and_keeps_the_message(self, stale: bytes) -> None:
        handler = requires("order.v3", [TIER], on_violation="dead_letter")(lambda e: e)
        with pytest.raises(ContractDeclarationError, match="no dead-letter sink") as caught:
            handler(stale)
        assert stale is caught.value.payload
        assert isinstance(caught.value.__cause__, MissingCriticalField)

    def test_decode_errors_are_dead_lettered_too(self) -> None:
        letters: list[DeadLetter] = []
        handler = requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=letters.append)(lambda e: e)
        handler(b"{not json")
        assert isinstance(letters[0].error, DecodeError)
        assert b"{not json" == letters[0].payload

    def test_an_unknown_schema_id_is_dead_lettered_with_its_bytes(self) -> None:
        letters: list[DeadLetter] = []
        handler = requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=letters.append)(lambda e: e)
        handler(b"\x00\x00\x00\x03\xe7garbage")
        assert isinstance(letters[0].error, syscontract.RegistryError)
        assert "schema id 999" in str(letters[0].error)
        assert b"\x00\x00\x00\x03\xe7garbage" == letters[0].payload

    def test_observe_logs_at_error_and_calls_the_handler(self, stale: bytes, caplog: pytest.LogCaptureFixture) -> None:
        received = []
        handler = requires("order.v3", [TIER], on_violation="observe")(received.append)
        with caplog.at_level(logging.ERROR, logger="syscontract"):
            handler(stale)
        assert [json.loads(stale)] == received
        (record,) = caplog.records
        assert ("syscontract", logging.ERROR) == (record.name, record.levelno)
        assert TIER in record.getMessage()
        assert ("order.v3", TIER, "absent", "observe") == (
            getattr(record, "syscontract.contract"),
            getattr(record, "syscontract.field"),
            getattr(record, "syscontract.reason"),
            getattr(record, "syscontract.policy"),
        )

    def test_observe_never_hands_undecodable_bytes_to_the_handler(self) -> None:
        received = []
        handler = requires("order.v3", [TIER], on_violation="observe")(received.append)
        with pytest.raises(DecodeError):
            handler(b"not json")
        assert [] == received

    def test_a_raised_violation_is_reported_once_by_its_exception_not_also_logged(
        self, stale: bytes, caplog: pytest.LogCaptureFixture
    ) -> None:
        handler = requires("order.v3", [TIER])(lambda e: e)
        with caplog.at_level(logging.ERROR, logger="syscontract"), pytest.raises(MissingCriticalField):
            handler(stale)
        assert [] == caplog.records

    @pytest.mark.parametrize(("policy", "logged"), [("dead_letter", 1), ("observe", 1)])
    def test_a_violation_that_does_not_propagate_is_logged_once(
        self, stale: bytes, caplog: pytest.LogCaptureFixture, policy: str, logged: int
    ) -> None:
        handler = requires("order.v3", [TIER], on_violation=policy, dead_letter=lambda letter: None)(lambda e: e)
        with caplog.at_level(logging.ERROR, logger="syscontract"):
            handler(stale)
        assert logged == len(caplog.records)

    @pytest.mark.parametrize(("setting", "logged"), [("all", 1), ("none", 0), ("handled", 0)])
    def test_log_violations_decides_what_a_raised_violation_logs(
        self, stale: bytes, caplog: pytest.LogCaptureFixture, setting: str, logged: int
    ) -> None:
        syscontract.configure(log_violations=setting)
        handler = requires("order.v3", [TIER])(lambda e: e)
        with caplog.at_level(logging.ERROR, logger="syscontract"), pytest.raises(MissingCriticalField):
            handler(stale)
        assert logged == len(caplog.records)

    def test_log_violations_none_silences_the_handled_ones_too(
        self, stale: bytes, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from syscontract import _config

        monkeypatch.setenv("SYSCONTRACT_LOG_VIOLATIONS", "none")
        _config.reset()
        syscontract.configure(registry=Path(__file__).parent.parent / "data" / "contracts")
        handler = requires("order.v3", [TIER], on_violation="observe")(lambda e: "called")
        with caplog.at_level(logging.ERROR, logger="syscontract"):
            assert "called" == handler(stale)
        assert [] == caplog.records

    def test_a_bad_log_violations_setting_is_a_clear_error(self) -> None:
        with pytest.raises(ContractDeclarationError, match="expected 'handled'"):
            syscontract.configure(log_violations="sometimes")

    def test_the_process_wide_policy_applies_to_declarations_without_their_own(self, stale: bytes) -> None:
        letters: list[DeadLetter] = []
        handler = requires("order.v3", [TIER])(lambda e: "called")
        syscontract.configure(on_violation="dead_letter", dead_letter=letters.append)
        assert handler(stale) is None
        assert 1 == len(letters)

    def test_a_declarations_own_policy_wins_over_the_process_wide_one(self, stale: bytes) -> None:
        syscontract.configure(on_violation="observe")
        handler = requires("order.v3", [TIER], on_violation="raise")(lambda e: "called")
        with pytest.raises(MissingCriticalField):
            handler(stale)

    def test_the_policy_can_come_from_the_environment(self, stale: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
        from syscontract import _config

        monkeypatch.setenv("SYSCONTRACT_ON_VIOLATION", "observe")
        _config.reset()
        syscontract.configure(registry=Path(__file__).parent.parent / "data" / "contracts")
        handler = requires("order.v3", [TIER])(lambda e: "called")
        assert "called" == handler(stale)

    def test_a_bad_policy_in_the_environment_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from syscontract import _config

        monkeypatch.setenv("SYSCONTRACT_ON_VIOLATION", "shrug")
        _config.reset()
        with pytest.raises(ContractDeclarationError, match="SYSCONTRACT_ON_VIOLATION: unknown violation policy"):
            syscontract.configure(service="pricing")

    def test_async_handlers_await_an_async_sink(self, stale: bytes) -> None:
        letters: list[DeadLetter] = []

        async def sink(letter: DeadLetter) -> None:
            await asyncio.sleep(0)
            letters.append(letter)

        @requires("order.v3", [TIER], on_violation="dead_letter", dead_letter=sink)
        async def on_order(event: dict[str, Any]) -> str:
            return "called"

        assert asyncio.run(on_order(stale)) is None
        assert stale is letters[0].payload

    def test_async_handlers_under_observe_are_awaited(self, stale: bytes) -> None:
        @requires("order.v3", [TIER], on_violation="observe")
        async def on_order(event: dict[str, Any]) -> str:
            return event["orderId"]

        assert "ord-2024-000123456" == asyncio.run(on_order(stale))


class TestResolution:
    def test_a_contract_the_registry_cannot_find_yet_fails_at_the_first_call(
        self, tmp_path: Path, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)  # no ./contracts here
        handler = requires("order.v3", [TIER])(lambda e: "called")
        with pytest.raises(ContractDeclarationError, match="cannot resolve the contract") as caught:
            handler(order)
        assert "does not exist" in str(caught.value)
        assert caught.value.handler is not None

    def test_configuring_the_registry_later_resolves_pending_declarations(
        self, tmp_path: Path, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch, contracts_dir: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)
        handler = requires("order.v3", [TIER])(lambda e: "called")
        assert not handler.__syscontract__.resolved
        syscontract.configure(registry=contracts_dir)
        assert "called" == handler(order)
        assert handler.__syscontract__.resolved

    def test_the_default_registry_is_contracts_in_the_working_directory(
        self, tmp_path: Path, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch, contracts_dir: Path
    ) -> None:
        (tmp_path / "contracts").symlink_to(contracts_dir, target_is_directory=True)
        monkeypatch.chdir(tmp_path)
        assert "called" == requires("order.v3", [TIER])(lambda e: "called")(order)

    def test_the_default_registry_can_come_from_the_environment(
        self, tmp_path: Path, order: dict[str, Any], monkeypatch: pytest.MonkeyPatch, contracts_dir: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("SYSCONTRACT_CONTRACTS", str(contracts_dir))
        assert "called" == requires("order.v3", [TIER])(lambda e: "called")(order)

    def test_a_new_registry_re_resolves_declarations(self, order: dict[str, Any], registry: Any) -> None:
        handler = requires("order.v3", ["orderId"])(lambda e: "called")
        assert "called" == handler(order)
        schema = {"type": "object", "properties": {"orderId": {"type": "integer"}}}
        syscontract.configure(
            registry=syscontract.MemoryRegistry([syscontract.Contract.from_jsonschema("order.v3", schema)])
        )
        with pytest.raises(syscontract.FieldTypeError):
            handler(order)

    def test_an_explicit_registry_is_used_instead_of_the_process_wide_one(self, order: dict[str, Any]) -> None:
        schema = {"type": "object", "properties": {"orderId": {"type": "string"}}}
        memory = syscontract.MemoryRegistry([syscontract.Contract.from_jsonschema("other.v1", schema)])
        assert "called" == requires("other.v1", ["orderId"], registry=memory)(lambda e: "called")(order)

    def test_verify_reports_every_problem_at_once(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contracts_dir: Path
    ) -> None:
        import gc

        gc.collect()  # declarations of earlier tests are gone with their handlers
        monkeypatch.chdir(tmp_path)
        keep = [
            requires("order.v3", ["customer.tier"])(lambda e: e),
            requires("nothing.v1", ["x"])(lambda e: e),
            requires("order.v3", [TIER], on_violation="dead_letter")(lambda e: e),
        ]
        syscontract.configure(registry=contracts_dir)
        with pytest.raises(ContractDeclarationError) as caught:
            syscontract.verify()
        problems = caught.value.problems
        assert 3 == len(problems)
        text = str(caught.value)
        assert "3 declaration problems" in text
        assert "customer.tier" in text and "nothing.v1" in text and "no dead-letter sink" in text
        assert keep

    def test_verify_passes_when_everything_resolves(self, registry: Any) -> None:
        import gc

        gc.collect()
        keep = requires("order.v3", [TIER])(lambda e: e)
        assert syscontract.verify() is None
        assert keep.__syscontract__.resolved


def test_configure_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ContractDeclarationError, match="registry"):
        syscontract.configure(registry=42)  # type: ignore[arg-type]
    with pytest.raises(ContractDeclarationError, match="callable"):
        syscontract.configure(dead_letter="queue")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        syscontract.configure(colour="red")  # type: ignore[call-arg]


def test_service_and_environment_come_from_opentelemetry_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from syscontract import _config

    monkeypatch.setenv("OTEL_SERVICE_NAME", "pricing")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=a, deployment.environment.name=staging")
    _config.reset()
    assert ("pricing", "staging") == (_config.settings().service, _config.settings().environment)
    syscontract.configure(service="billing")
    assert "billing" == _config.settings().service
