"""Test helpers: a registry for a test, stale producers, and telemetry without an OpenTelemetry SDK.

Usable from any test runner; the pytest plugin (:mod:`syscontract.pytest_plugin`) wraps them as the
fixtures ``syscontract_registry``, ``stale_producer`` and ``syscontract_telemetry``.

- :func:`use_registry`: a registry (or a contracts directory) configured process-wide for a block,
  the previous one restored afterwards.
- :class:`StaleProducer` (and the ready-made :data:`stale_producer`): plays every *older* version of
  a handler's contract at it, in every framing the handler accepts, and asserts that whenever that
  version does not have a critical field the handler raises
  :class:`~syscontract.MissingCriticalField` instead of running on a default::

      from syscontract.testing import stale_producer

      report = stale_producer(on_order)        # AssertionError listing every case that got through
      print(report)                            # every case: version, framing, expected, outcome

- :class:`TelemetryCapture`: in-memory ``TracerProvider`` and ``MeterProvider`` implementations of
  the OpenTelemetry *API* (no SDK needed), configured for syscontract for a block::

      with TelemetryCapture() as capture, capture.span("consume"):
          on_order(order)
      assert 1 == capture.messages(contract="order.v3", outcome="ok")

- :func:`record_reads`: what ``@requires`` handlers read while a block runs (the paths, and those
  read with a fallback), as the report ``syscontract lint --reads`` merges; the plugin's
  ``--syscontract-reads=PATH`` records a whole test session (:mod:`syscontract.lint.recorder`).

- :func:`minimal_payload` and :func:`project_payload`: the messages :class:`StaleProducer` sends,
  built from a contract's schema (Avro, JSON Schema, or a pydantic model's JSON Schema).

The package holds one module per job: ``_registry`` (:func:`use_registry`), ``_payloads`` (messages
built from a contract's normalized type graph), ``_stale`` (the stale producer), ``_otel`` (the
in-memory OpenTelemetry API providers) and ``_capture`` (:class:`TelemetryCapture`).
"""

from __future__ import annotations

from syscontract.errors import StaleProducerError
from syscontract.lint.recorder import ReadRecorder, record_reads
from syscontract.testing._capture import TelemetryCapture
from syscontract.testing._otel import (
    InMemoryMeter,
    InMemoryMeterProvider,
    InMemoryObservable,
    InMemorySpan,
    InMemoryTracer,
    InMemoryTracerProvider,
    Point,
    SpanEvent,
)
from syscontract.testing._payloads import minimal_payload, project_payload
from syscontract.testing._registry import use_registry
from syscontract.testing._stale import FRAMINGS, StaleCase, StaleProducer, StaleReport, stale_producer

__all__ = [
    "FRAMINGS",
    "InMemoryMeter",
    "InMemoryMeterProvider",
    "InMemoryObservable",
    "InMemorySpan",
    "InMemoryTracer",
    "InMemoryTracerProvider",
    "Point",
    "ReadRecorder",
    "SpanEvent",
    "StaleCase",
    "StaleProducer",
    "StaleProducerError",
    "StaleReport",
    "TelemetryCapture",
    "minimal_payload",
    "project_payload",
    "record_reads",
    "stale_producer",
    "use_registry",
]
