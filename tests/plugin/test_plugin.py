"""The pytest plugin, run on sample projects through ``pytester``: a ``contracts/`` directory with
order v2 and v3 (Avro; ``contract.toml`` marks nothing critical, so only the declarations say what
is), a module of guarded handlers, and test files that use the fixtures.

Every run is a subprocess: syscontract's state is process-wide (settings, the declarations of
``verify()``), and an in-process run would leave the sample project's handlers alive in this one."""

from __future__ import annotations

from pathlib import Path

import pytest

ORDER = Path(__file__).parent.parent / "data" / "contracts" / "order"

CONTRACT_TOML = """\
compatibility = "BACKWARD"
owner = "checkout"

[ids]
v2 = 7
v3 = 8
"""

HANDLERS = """
from typing import Any

from syscontract import requires

DISCOUNTS = {"VIP": 0.8, "GOLD": 0.9}


@requires("order.v3", ["customer.customerTier"])
def price(event: dict[str, Any]) -> float:
    return DISCOUNTS.get(event["customer"]["customerTier"], 1.0) * event["total"]


@requires("order.v3", [])
def price_with_default(event: dict[str, Any]) -> float:
    return DISCOUNTS.get(event["customer"].get("customerTier", "BASIC"), 1.0) * event["total"]


@requires("order.v3", ["customer.customerTier"])
async def price_async(event: dict[str, Any]) -> float:
    return DISCOUNTS.get(event["customer"]["customerTier"], 1.0) * event["total"]
"""


def project(pytester: pytest.Pytester, contracts: str = "contracts") -> None:
    """Write the sample project: ``<contracts>/order/{v2,v3}.avsc`` and ``handlers.py``."""
    directory = pytester.path / contracts / "order"
    directory.mkdir(parents=True)
    for name in ("v2.avsc", "v3.avsc"):
        (directory / name).write_text((ORDER / name).read_text())
    (directory / "contract.toml").write_text(CONTRACT_TOML)
    pytester.makepyfile(handlers=HANDLERS)


def test_the_plugin_offers_its_fixtures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures")
    result.stdout.fnmatch_lines(["syscontract_registry -- *pytest_plugin.py*", "*The project's contracts*"])
    result.stdout.fnmatch_lines(["stale_producer -- *pytest_plugin.py*", "*older version*"])
    result.stdout.fnmatch_lines(["syscontract_telemetry -- *pytest_plugin.py*", "*without an OpenTelemetry SDK*"])


def test_a_handler_that_declares_its_critical_field_passes(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        import handlers

        def test_price_refuses_stale_orders(syscontract_registry, stale_producer):
            report = stale_producer(handlers.price)
            assert ["dict", "json", "avro", "confluent"] == [case.framing for case in report.cases]
            assert {"MissingCriticalField"} == {type(case.error).__name__ for case in report.cases}
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_a_handler_that_defaults_the_field_fails_naming_version_framing_and_field(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        import handlers

        def test_price_with_default_refuses_stale_orders(syscontract_registry, stale_producer):
            stale_producer(handlers.price_with_default)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*StaleProducerError: stale producers of order.v3 -> handlers.price_with_default (critical fields: none*",
            "*4 of 4 messages from older producers got through:",
            "*order.v2 via dict: the handler's body read customer.customerTier, which order.v2 does not send, and "
            "returned 1.0 (it ran on a default)*",
            "*order.v2 via json: *customer.customerTier*",
            "*order.v2 via avro: *customer.customerTier*",
            # fnmatch: [[] is a literal [
            "*order.v2 via confluent: *customer.customerTier*"
            'declare it: @requires("order.v3", [[]"customer.customerTier"])',
            "*every case:",
            "*version*framing*expected*outcome*",
            "*order.v2*dict*accepted*returned 1.0; the body read customer.customerTier, not sent*FAILED",
        ]
    )


def test_a_declared_field_missing_from_an_old_version_is_named_when_the_handler_lets_it_through(
    pytester: pytest.Pytester,
) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        from syscontract.testing import StaleProducer
        import handlers

        def test_price_with_default(syscontract_registry):
            StaleProducer(critical=["customer.customerTier"], framings=["avro"])(handlers.price_with_default)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*order.v2 via avro: expected MissingCriticalField (order.v2 does not have customer.customerTier), "
            "but the handler returned 1.0: its body ran on a default"
        ]
    )


def test_async_handlers_are_checked_with_asyncio_run_or_check_async(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        import asyncio
        import handlers

        def test_sync(syscontract_registry, stale_producer):
            assert stale_producer(handlers.price_async).ok

        def test_in_a_loop(syscontract_registry, stale_producer):
            async def main():
                return await stale_producer.check_async(handlers.price_async)
            assert 4 == len(asyncio.run(main()).cases)
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_the_telemetry_fixture_sees_counts_and_violations_without_an_sdk(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makeconftest(
        """
        import sys

        sys.modules["opentelemetry.sdk"] = None  # the SDK cannot even be imported in this run
        """
    )
    pytester.makepyfile(
        """
        import copy
        import sys

        import pytest
        from syscontract import MissingCriticalField
        from syscontract._config import settings
        from syscontract.testing import minimal_payload
        import handlers

        def test_counts_and_violations(syscontract_registry, syscontract_telemetry):
            order = minimal_payload(syscontract_registry.get("order.v3"))
            stale = copy.deepcopy(order)
            del stale["customer"]["customerTier"]
            with syscontract_telemetry.span("consume"):
                handlers.price(order)
            with pytest.raises(MissingCriticalField), syscontract_telemetry.span("consume"):
                handlers.price(stale)

            assert 1 == syscontract_telemetry.messages(contract="order.v3", outcome="ok")
            assert 1 == syscontract_telemetry.messages(contract="order.v3", outcome="violation")
            assert [("customer.customerTier", "absent")] == [
                (event.attributes["syscontract.field"], event.attributes["syscontract.reason"])
                for event in syscontract_telemetry.violations()
            ]
            handlers_declared = {p.attributes["syscontract.handler"] for p in syscontract_telemetry.declarations()}
            assert "handlers.price" in handlers_declared
            assert not [name for name in sys.modules if name.startswith("opentelemetry.sdk.")]

        def test_the_providers_are_restored_afterwards():
            assert (None, None) == (settings().tracer_provider, settings().meter_provider)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_the_ini_option_selects_the_contracts_directory(pytester: pytest.Pytester) -> None:
    project(pytester, contracts="schemas")
    pytester.makeini("[pytest]\nsyscontract_contracts = schemas\n")
    pytester.makepyfile(
        """
        from syscontract._config import settings
        import handlers

        def test_registry(syscontract_registry, stale_producer):
            assert "schemas" == syscontract_registry.path.name
            assert syscontract_registry is settings().registry
            assert stale_producer(handlers.price).ok
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_the_marker_selects_a_directory_or_a_registry(pytester: pytest.Pytester) -> None:
    project(pytester, contracts="elsewhere")
    pytester.makepyfile(
        """
        import pytest
        from syscontract import MemoryRegistry

        MEMORY = MemoryRegistry()

        @pytest.mark.syscontract_contracts("elsewhere")
        def test_directory(syscontract_registry):
            assert [2, 3] == syscontract_registry.versions("order")

        @pytest.mark.syscontract_contracts(MEMORY)
        def test_registry_object(syscontract_registry):
            assert MEMORY is syscontract_registry
        """
    )
    pytester.runpytest_subprocess("--strict-markers").assert_outcomes(passed=2)


def test_a_missing_contracts_directory_is_a_setup_error_that_says_what_to_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_registry(syscontract_registry):
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*syscontract_registry: no contracts directory at *contracts (create it, set the ini option "
            "syscontract_contracts, or mark the test @pytest.mark.syscontract_contracts(*"
        ]
    )


def test_the_default_registry_is_back_after_the_test(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        from syscontract._config import settings

        def test_uses_the_fixture(syscontract_registry):
            assert syscontract_registry is settings().explicit_registry

        def test_afterwards():
            assert None is settings().explicit_registry
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_the_registry_fixture_restores_what_was_there(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        """
        import pytest
        import syscontract
        from syscontract import MemoryRegistry
        from syscontract._config import settings

        BEFORE = MemoryRegistry()

        @pytest.fixture
        def checked():
            syscontract.configure(registry=BEFORE)
            yield
            assert BEFORE is settings().explicit_registry   # syscontract_registry put it back
            syscontract.configure(registry=None)

        def test_registry(checked, syscontract_registry):
            assert syscontract_registry is not BEFORE
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
