"""``pytest --syscontract-reads=PATH``: the session's reads report, run on a sample project through
``pytester`` (a subprocess per run: recording is process-wide)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ORDER = Path(__file__).parent.parent / "data" / "contracts" / "order"

HANDLERS = """
import asyncio
from typing import Any

from syscontract import requires

FACTOR = {"VIP": 0.8, "GOLD": 0.9}


@requires("order.v3", ["customer.id"])
def price(event: dict[str, Any]) -> float:
    tier = event["customer"].get("customerTier", "BASIC")
    return FACTOR.get(tier, 1.0) * sum(item["price"] * item["qty"] for item in event["items"])


@requires("order.v2", ["customer.id"])
async def grant(event: dict[str, Any]) -> list[str]:
    await asyncio.sleep(0)
    return [event["customer"]["id"] + ":" + item["sku"] for item in event["items"]]


@requires("order.v3", ["customer.id"])
def exact_type(event: dict[str, Any]) -> bool:
    return type(event) is dict


@requires("order.v3", ["customer.id"])
def never_called(event: dict[str, Any]) -> None:
    event["total"]
"""

TESTS = """
import asyncio

import handlers

ORDER = {
    "orderId": "o-1", "eventType": "OrderPlaced", "schemaVersion": 3, "createdAt": "t", "updatedAt": "t",
    "customer": {"id": "c-1", "customerTier": "VIP", "email": "e"},
    "items": [{"sku": "A", "qty": 2, "price": 10.0}], "currency": "EUR", "subtotal": 20.0, "tax": 0.0,
    "shipping": 0.0, "total": 20.0, "channel": "web", "couponCode": None, "notes": None,
    "shippingAddressId": None,
}


def test_price():
    assert 16.0 == handlers.price(ORDER)


def test_grant():
    assert ["c-1:A"] == asyncio.run(handlers.grant(ORDER))


def test_exact_type(request):
    recording = request.config.getoption("syscontract_reads") is not None
    assert (not recording) == handlers.exact_type(ORDER)
"""

EXPECTED = """\
{
  "handlers": [
    {
      "contract": "order.v3",
      "declared": [
        "customer.customerTier",
        "customer.id"
      ],
      "handler": "handlers.exact_type",
      "read": [],
      "read_with_fallback": []
    },
    {
      "contract": "order.v2",
      "declared": [
        "customer.id"
      ],
      "handler": "handlers.grant",
      "read": [
        "customer.id",
        "items[].sku"
      ],
      "read_with_fallback": []
    },
    {
      "contract": "order.v3",
      "declared": [
        "customer.customerTier",
        "customer.id"
      ],
      "handler": "handlers.price",
      "read": [
        "customer.customerTier",
        "items[].price",
        "items[].qty"
      ],
      "read_with_fallback": [
        "customer.customerTier"
      ]
    }
  ]
}
"""


def project(pytester: pytest.Pytester) -> None:
    """``contracts/order/`` (order v2 and v3, Avro; customer.customerTier critical in v3's
    contract.toml), ``handlers.py`` and ``test_shop.py``."""
    directory = pytester.path / "contracts" / "order"
    directory.mkdir(parents=True)
    for name in ("v2.avsc", "v3.avsc", "contract.toml"):
        (directory / name).write_text((ORDER / name).read_text())
    pytester.makepyfile(handlers=HANDLERS, test_shop=TESTS)


def test_the_option_is_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--syscontract-reads=PATH*", "*what every @requires handler reads*"])


def test_the_session_writes_what_each_called_handler_read(pytester: pytest.Pytester) -> None:
    project(pytester)
    result = pytester.runpytest_subprocess("--syscontract-reads=reads.json", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["syscontract: what 3 handlers read: reads.json"])
    assert EXPECTED == (pytester.path / "reads.json").read_text(encoding="utf-8")


def test_the_report_is_the_same_bytes_on_every_run_in_any_test_order(pytester: pytest.Pytester) -> None:
    project(pytester)
    runs = []
    for order in (["test_shop.py"], ["test_shop.py::test_grant", "test_shop.py::test_exact_type",
                                     "test_shop.py::test_price"]):  # fmt: skip
        result = pytester.runpytest_subprocess("--syscontract-reads=reads.json", "-p", "no:randomly", *order)
        result.assert_outcomes(passed=3)
        runs.append((pytester.path / "reads.json").read_bytes())
    assert [EXPECTED.encode()] * 2 == runs


def test_without_the_option_handlers_get_the_original_message_and_nothing_is_written(
    pytester: pytest.Pytester,
) -> None:
    project(pytester)
    pytester.makepyfile(
        test_identity="""
        from syscontract import requires

        def test_the_handler_gets_the_very_object():
            seen = []

            @requires("order.v3", ["customer.id"])
            def handler(event):
                seen.append(event)

            message = {"customer": {"id": "c", "customerTier": "VIP"}}
            handler(message)
            assert seen[0] is message
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=4)
    assert [] == sorted(p.name for p in pytester.path.glob("*.json"))


def test_a_handler_declared_inside_a_test_is_recorded(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_inline="""
        from syscontract import requires

        def test_inline():
            @requires("order.v3", ["customer.id"])
            def handler(event):
                return event.get("couponCode", "NONE")

            assert "NONE" == handler({"customer": {"id": "c", "customerTier": "VIP"}})
        """
    )
    result = pytester.runpytest_subprocess("--syscontract-reads=reads.json", "test_inline.py")
    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "reads.json").read_text(encoding="utf-8"))
    assert [("test_inline.test_inline.<locals>.handler", ["couponCode"], ["couponCode"])] == [
        (h["handler"], h["read"], h["read_with_fallback"]) for h in report["handlers"]
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/reads.json", "--syscontract-reads=missing/reads.json: no such directory to write the report in"),
        (".", "--syscontract-reads=.: is a directory, not a file"),
    ],
)
def test_a_path_that_cannot_be_written_is_a_usage_error(pytester: pytest.Pytester, target: str, message: str) -> None:
    project(pytester)
    result = pytester.runpytest_subprocess(f"--syscontract-reads={target}")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_recording_refuses_to_run_distributed(pytester: pytest.Pytester) -> None:
    project(pytester)
    # pytest-xdist's option under its own dest (xdist itself is not needed to see the refusal; only a
    # plugin may register the short -n, a conftest may not)
    pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--numprocesses", dest="numprocesses", default=None)
        """
    )
    result = pytester.runpytest_subprocess("--syscontract-reads=reads.json", "--numprocesses=2")
    assert pytest.ExitCode.USAGE_ERROR == result.ret
    result.stderr.fnmatch_lines(["*--syscontract-reads records in one process: run it without -n (pytest-xdist)*"])
    assert not (pytester.path / "reads.json").exists()
