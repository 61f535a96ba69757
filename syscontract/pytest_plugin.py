"""syscontract's pytest plugin (entry point ``pytest11``): three fixtures over :mod:`syscontract.testing`.

- ``syscontract_registry``: the project's contracts, configured process-wide for the test and the
  previous registry restored afterwards. The directory is, first found: the test's
  ``@pytest.mark.syscontract_contracts("path")`` marker (a path, or a registry object), the ini option
  ``syscontract_contracts``, or ``contracts/`` in pytest's rootdir. Relative paths are relative to
  the rootdir.
- ``stale_producer``: :class:`syscontract.testing.StaleProducer`; ``stale_producer(handler)`` plays
  every older version of the handler's contract at it and fails the test if a message lacking a
  critical field gets through.
- ``syscontract_telemetry``: :class:`syscontract.testing.TelemetryCapture`, started for the test.

And one option: ``--syscontract-reads=PATH`` records, for the whole session, what every ``@requires``
handler reads (:func:`syscontract.testing.record_reads`) and writes the report to PATH at the end,
for ``syscontract lint --reads PATH``. Without the option nothing is recorded and nothing changes.

This module is imported in every test run of every project that installs syscontract, so it imports
nothing at module level but pytest: the helpers are imported inside the fixtures that use them, and
nothing is configured until a fixture is requested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from syscontract.registry import Registry
    from syscontract.testing import ReadRecorder, StaleProducer, TelemetryCapture

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "stale_producer",
    "syscontract_registry",
    "syscontract_telemetry",
]

CONTRACTS_OPTION = "syscontract_contracts"
"""The ini option naming the contracts directory (relative to the rootdir)."""

CONTRACTS_MARKER = "syscontract_contracts"
"""``@pytest.mark.syscontract_contracts("path")``: the contracts directory (or a registry) for one test."""


READS_OPTION = "--syscontract-reads"
"""The command-line option naming the file the session's reads report is written to."""

_READS: pytest.StashKey[tuple[ReadRecorder, str]] = pytest.StashKey()
_READS_ERROR: pytest.StashKey[str] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``syscontract_contracts`` ini option and the ``--syscontract-reads`` option."""
    parser.getgroup("syscontract").addoption(
        READS_OPTION,
        metavar="PATH",
        default=None,
        help="syscontract: record what every @requires handler reads while the tests run, and write the "
        "report (for `syscontract lint --reads PATH`) to PATH at the end",
    )
    parser.addini(
        CONTRACTS_OPTION,
        help="syscontract: the contracts directory for the syscontract_registry fixture (default: contracts/ "
        "in the rootdir)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``syscontract_contracts`` marker (so ``--strict-markers`` accepts it); with
    ``--syscontract-reads``, start recording before the test modules (and their handlers) are imported."""
    config.addinivalue_line(
        "markers",
        f"{CONTRACTS_MARKER}(path): the contracts directory (or a registry) the syscontract_registry fixture "
        "configures for this test",
    )
    target = config.getoption("syscontract_reads", None)
    if target is None:
        return
    path = str(target)
    if not path.strip():
        raise pytest.UsageError(f"{READS_OPTION} needs a file to write the reads report to")
    if os.path.isdir(path):
        raise pytest.UsageError(f"{READS_OPTION}={path}: is a directory, not a file")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise pytest.UsageError(f"{READS_OPTION}={path}: no such directory to write the report in")
    if config.getoption("numprocesses", None) not in (None, 0):
        # pytest-xdist: each worker would record its share and the controller, which runs no test,
        # would write an empty report over theirs
        raise pytest.UsageError(f"{READS_OPTION} records in one process: run it without -n (pytest-xdist)")
    from syscontract.testing import record_reads

    config.stash[_READS] = (record_reads().start(), path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``--syscontract-reads``: write what the session's handlers read."""
    found = session.config.stash.get(_READS, None)
    if found is None:
        return
    recorder, path = found
    from syscontract.errors import ContractError

    try:
        recorder.write(path)
    except ContractError as exc:
        session.config.stash[_READS_ERROR] = str(exc)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the reads report went (or why it could not be written)."""
    found = config.stash.get(_READS, None)
    if found is None:
        return
    recorder, path = found
    error = config.stash.get(_READS_ERROR, None)
    if error is not None:
        terminalreporter.write_line(f"syscontract: {error}", red=True)
        return
    count = len(recorder.report()["handlers"])
    terminalreporter.write_line(f"syscontract: what {count} handler{'s' if count != 1 else ''} read: {path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop recording: every handler is called directly again."""
    found = config.stash.get(_READS, None)
    if found is not None:
        found[0].stop()


def _contracts(request: pytest.FixtureRequest) -> tuple[Any, str]:
    """The registry or directory to configure, and where that choice came from."""
    marker = request.node.get_closest_marker(CONTRACTS_MARKER)
    root = request.config.rootpath
    if marker is not None:
        source = marker.args[0] if marker.args else marker.kwargs.get("path")
        if source is None:
            pytest.fail(f"@pytest.mark.{CONTRACTS_MARKER} needs a path (or a registry)", pytrace=False)
        if not isinstance(source, (str, os.PathLike)):
            return source, f"the {CONTRACTS_MARKER} marker"
        where = f"the {CONTRACTS_MARKER} marker"
    else:
        configured = str(request.config.getini(CONTRACTS_OPTION) or "").strip()
        source, where = (configured, f"the ini option {CONTRACTS_OPTION}") if configured else ("contracts", "default")
    path = root / os.fspath(source)
    if not path.is_dir():
        hint = (
            f"create it, set the ini option {CONTRACTS_OPTION}, or mark the test "
            f'@pytest.mark.{CONTRACTS_MARKER}("path")'
            if where == "default"
            else f"from {where}"
        )
        pytest.fail(f"syscontract_registry: no contracts directory at {path} ({hint})", pytrace=False)
    return path, where


@pytest.fixture
def syscontract_registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    """The project's contracts as a registry, configured process-wide for this test (the registry
    configured before is restored afterwards).

    A ``FileRegistry`` of ``contracts/`` in the rootdir, of the ini option ``syscontract_contracts``,
    or of the test's ``@pytest.mark.syscontract_contracts("path")`` (which may also give a registry
    object, such as a ``MemoryRegistry``)."""
    from syscontract.testing import use_registry

    source, _ = _contracts(request)
    with use_registry(source) as registry:
        yield registry


@pytest.fixture
def stale_producer() -> StaleProducer:
    """Plays every older version of a handler's contract at the handler::

        def test_on_order_refuses_stale_orders(syscontract_registry, stale_producer):
            stale_producer(on_order)            # fails the test if a stale order gets through

    For each version older than the one the handler's ``@requires`` declares, the message its
    producer would send (a sample projected onto that version; generated from the contract when no
    sample is given) goes to the handler as a dict, JSON bytes, a bare Avro body with a
    ``syscontract-contract`` header, and Confluent-framed Avro, with the violation policy forced to
    ``"raise"``. Whenever that version lacks a critical field, the handler must raise
    ``MissingCriticalField``. Async handlers: ``await stale_producer.check_async(handler)``.
    See :class:`syscontract.testing.StaleProducer`."""
    from syscontract.testing import StaleProducer

    return StaleProducer()


@pytest.fixture
def syscontract_telemetry() -> Iterator[TelemetryCapture]:
    """syscontract's spans and metrics in memory for this test, without an OpenTelemetry SDK::

        def test_counts(syscontract_telemetry):
            with syscontract_telemetry.span("consume"):
                on_order(order)
            assert 1 == syscontract_telemetry.messages(contract="order.v3", outcome="ok")

    See :class:`syscontract.testing.TelemetryCapture`; the providers configured before are restored
    afterwards."""
    from syscontract.testing import TelemetryCapture

    with TelemetryCapture() as capture:
        yield capture
