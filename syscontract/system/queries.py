"""The PromQL syscontract sends, and what the answers say: declarations, message counts, violations.

**Attribution.** The OpenTelemetry Prometheus exporter puts the resource attributes
(``service.name``, ``deployment.environment.name``) on ``target_info`` only, not on each series; a
Collector with ``resource_to_telemetry_conversion`` (or Prometheus's ``promote_resource_attributes``)
puts them on every series as ``service_name`` and ``deployment_environment_name``. Each query takes
series that carry ``service_name`` as they are, and joins the others with ``target_info`` on
``job`` and ``instance``.

**Aggregation on the server.** A fixed number of queries, whatever the size of the fleet: the
declarations (``count by``), the messages (``sum by``), the violations by field and reason (``sum by``)
and the number of declaration series that could not be attributed. Answers hold one row per
(environment, service, contract, ...) group, not per instance.

**Counts.** A message count over the window is the counter's last value in the window minus its value
at the window's start, exactly; a series born inside the window (a process started, or first met that
writer) counts from zero; across a counter reset (a restart on the same address) Prometheus's
``increase()`` estimate is used, or what is known to have grown around the reset when more. So a burst
counted before the first scrape is not lost, and traffic is never counted as none.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from syscontract import telemetry
from syscontract.errors import ContractDeclarationError, PrometheusError
from syscontract.system.prometheus import Prometheus, _excerpt

__all__ = [
    "DECLARATIONS_METRIC",
    "MESSAGES_METRIC",
    "VIOLATIONS_METRIC",
    "Declared",
    "Flow",
    "Snapshot",
    "Violated",
    "check_window",
    "gate_queries",
    "observe",
    "queries",
    "seconds",
    "step",
]

# -- names as Prometheus sees them -----------------------------------------------------------------


def _prometheus_name(otel_name: str) -> str:
    # what the OpenTelemetry Prometheus exporter and the Collector do to names: dots become underscores
    return otel_name.replace(".", "_")


DECLARATIONS_METRIC: Final = _prometheus_name(telemetry.DECLARATIONS)
"""``syscontract_declarations``: the gauge, one series per declaration and process."""
MESSAGES_METRIC: Final = _prometheus_name(telemetry.MESSAGES) + "_total"
"""``syscontract_messages_total``: the counter (monotonic counters get ``_total``)."""
VIOLATIONS_METRIC: Final = _prometheus_name(telemetry.VIOLATIONS) + "_total"
"""``syscontract_violations_total``: violations by critical field and reason."""

SERVICE: Final = "service_name"
ENVIRONMENT: Final = "deployment_environment_name"
CONTRACT: Final = _prometheus_name(telemetry.CONTRACT)
ROLE: Final = _prometheus_name(telemetry.ROLE)
OUTCOME: Final = _prometheus_name(telemetry.OUTCOME)
WRITER: Final = _prometheus_name(telemetry.WRITER_VERSION)
HANDLER: Final = _prometheus_name(telemetry.HANDLER)
FIELDS: Final = _prometheus_name(telemetry.FIELDS)
FIELD: Final = _prometheus_name(telemetry.FIELD)
REASON: Final = _prometheus_name(telemetry.REASON)
FAMILY: Final = "syscontract_family"
"""A label the gates' ``reporting`` query adds: the contract's name without its version (``order``)."""
_WINDOW = re.compile(r"^(?=\d)((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_RESOURCE = f"{SERVICE}, {ENVIRONMENT}"

# -- the queries -------------------------------------------------------------------------------------


def _string(text: str) -> str:
    """A PromQL string literal (Go escapes, which JSON's are a subset of)."""
    return json.dumps(text, ensure_ascii=False)


def _environment_matcher(environments: Sequence[str]) -> str:
    if not environments:
        return ""
    alternatives = "|".join(re.escape(e) for e in sorted(set(environments)))
    return f", {ENVIRONMENT}=~{_string(alternatives)}"


def _attributed(metric: str, per_series: Callable[[str], str], environments: Sequence[str], window: str) -> str:
    """``per_series`` over the series that carry the resource labels, or that the join gives them."""
    only = _environment_matcher(environments)
    resources = f'max by (job, instance, {_RESOURCE}) (last_over_time(target_info{{{SERVICE}!=""{only}}}[{window}]))'
    labelled = per_series(f'{metric}{{{SERVICE}!=""{only}}}')
    joined = per_series(f'{metric}{{{SERVICE}=""}}')
    return f"{labelled}\nor\n({joined}\n  * on (job, instance) group_left ({_RESOURCE})\n  {resources})"


def _exact_count(selector: str, window: str) -> str:
    """A counter's growth over the window, per series, without extrapolation: last minus first; a
    series born inside the window counts from zero. Across a reset the count is never less than what
    is known to have flowed, so traffic is never read as none (``--unused-after`` proves silence from
    these counts):

    - a reset between the window's start and its first sample (last below first): everything since
      the reset, the last value (it may hold what came in the look-back before the window's start);
    - a reset inside the window: Prometheus's ``increase()``, or what grew before a reset (the highest
      value less the start, or the highest value after a reset before the first sample) when more:
      ``increase()`` does not see the growth between the window's start and its first sample."""
    last = f"last_over_time({selector}[{window}])"
    start = f"{selector} offset {window}"
    top = f"max_over_time({selector}[{window}])"
    reset = f"resets({selector}[{window}]) > 0"
    grown = f"(({top} - {start} >= 0) or {top})"
    estimate = f"((increase({selector}[{window}]) >= {grown}) or {grown})"
    return f"(((({last} - {start} >= 0) or {last}) unless {reset})\n  or {estimate})"


def queries(window: str = "1h", environments: Sequence[str] = ()) -> dict[str, str]:
    """The PromQL syscontract sends, by name: ``declarations``, ``messages``, ``violations``, ``unattributed``."""
    check_window(window)
    declared = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {HANDLER}, {FIELDS}"
    flowed = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {OUTCOME}, {WRITER}"
    declarations = _attributed(DECLARATIONS_METRIC, lambda s: f"last_over_time({s}[{window}])", environments, window)
    messages = _attributed(MESSAGES_METRIC, lambda s: _exact_count(s, window), environments, window)
    violated = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {WRITER}, {FIELD}, {REASON}"
    violations = _attributed(VIOLATIONS_METRIC, lambda s: _exact_count(s, window), environments, window)
    unattributed = (
        f'count(last_over_time({DECLARATIONS_METRIC}{{{SERVICE}=""}}[{window}])\n'
        f'  unless on (job, instance) last_over_time(target_info{{{SERVICE}!=""}}[{window}]))'
    )
    return {
        "declarations": f"count by ({declared}) (\n{declarations}\n)",
        "messages": f"sum by ({flowed}) (\n{messages}\n)",
        "violations": f"sum by ({violated}) (\n{violations}\n)",
        "unattributed": unattributed,
    }


def seconds(window: str) -> float:
    """A Prometheus duration (``7d``, ``1h30m``) in seconds."""
    check_window(window)
    match = _WINDOW.match(window)
    assert match is not None
    units = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
    return sum(int(match.group(2 * i + 2) or 0) * unit for i, unit in enumerate(units))


def step(window: str) -> str:
    """The resolution of the gates' window queries: a tenth of a window under 10 minutes (at least a
    second), else a minute, or a thousandth of the window when longer (7d: 11m), so a query evaluates
    at most about 1,000 steps."""
    total = seconds(window)
    if total < 600:
        return f"{max(1, math.ceil(total / 10))}s"
    return f"{max(1, math.ceil(total / 1000 / 60))}m"


def _grew(selector: str, every: str) -> str:
    """When the counters of ``selector`` grew within ``every``: an increase, or a series born with a
    count above zero (no earlier sample to increase from)."""
    return (
        f"(timestamp(increase({selector}[{every}]) > 0)"
        f" or timestamp(({selector} > 0) unless ({selector} offset {every})))"
    )


def _twice(duration: str) -> str:
    return f"{2 * int(duration[:-1])}{duration[-1]}"


def gate_queries(environment: str, window: str) -> dict[str, str]:
    """The queries the gates add for ``environment`` over ``window`` (beside :func:`queries`):

    - ``last_seen``: per (service, role, contract, writer version), the last step of the window at
      which its message counter grew, or first appeared with messages counted (traffic that all came
      before the series' first scrape shows no increase, only a birth; a busy machine makes that
      common), in Unix seconds;
    - ``covered``: 1 or more when the environment reported syscontract declarations at every step of
      the window, 0 when a step had none (a gap in the data);
    - ``reporting``: per (service, role, contract name), how many steps of the window it reported no
      declaration, or no message series, at, negated (0: it reported both at every step). The
      environment reporting proves nothing about a service that does not: its silence in Prometheus is
      not silence on the wire. A declaration's message counter is exported from the start (a zero
      series until messages come), so message series that are missing (dropped by relabelling, a
      sample limit) are counts nobody can see, never none."""
    every = step(window)
    flowed = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {WRITER}"
    grew = _attributed(
        MESSAGES_METRIC,
        # now first (the subquery's steps are aligned to the step, so its last one may be up to a step ago)
        lambda s: f"({_grew(s, every)} or max_over_time(({_grew(s, every)})[{window}:{every}]))",
        [environment],
        window,
    )
    # a declaration seen within two steps: one missed scrape is not a gap, a missing step's worth is
    lookback = _twice(every)
    present = _attributed(DECLARATIONS_METRIC, lambda s: f"last_over_time({s}[{lookback}])", [environment], lookback)
    counting = _attributed(MESSAGES_METRIC, lambda s: f"last_over_time({s}[{lookback}])", [environment], lookback)
    steps = f"count_over_time(vector(1)[{window}:{every}])"
    by = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {FAMILY}"
    reporting = f"count by ({by}) ({_named(present)})\n  and on ({by})\n  count by ({by}) ({_named(counting)})"
    return {
        "last_seen": f"max by ({flowed}) (\n{grew}\n)",
        "covered": f"min_over_time((count(\n{present}\n) or vector(0))[{window}:{every}])",
        "reporting": f"count_over_time(({reporting})[{window}:{every}])\n  - scalar({steps})",
    }


_FAMILY = r"(.+)\.v(?:0|[1-9][0-9]*)"  # a contract reference's name (contract.ContractRef's form)


def _named(vector: str) -> str:
    """``vector`` with the contract's name (without its version) as ``syscontract_family``."""
    return f'label_replace(\n{vector}\n, {_string(FAMILY)}, "$1", {_string(CONTRACT)}, {_string(_FAMILY)})'


def check_window(window: str) -> None:
    if not isinstance(window, str) or not _WINDOW.match(window) or not any(c in "123456789" for c in window):
        raise ContractDeclarationError(
            f"--window must be a Prometheus duration such as 1h, 30m or 1d12h, not {window!r}", reason="bad-window"
        )


# -- what was observed -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Declared:
    """A declaration reported in the window, by ``instances`` processes of ``service``."""

    environment: str
    service: str
    role: str
    contract: str
    handler: str
    fields: tuple[str, ...]
    instances: int


@dataclass(frozen=True, order=True)
class Flow:
    """Messages checked in the window: ``count`` of ``outcome`` for ``contract`` in ``role``, written
    with ``writer`` (None when the wire did not say: a dict or model handed over in process)."""

    environment: str
    service: str
    role: str
    contract: str
    outcome: str
    writer: str | None
    count: int


@dataclass(frozen=True, order=True)
class Violated:
    """Violations counted in the window, by the critical ``field`` (empty when the failing field is not
    one the declaration names critical) and ``reason`` (``absent``, ``null``, ``not-in-writer-schema``,
    ..., or ``other``: see docs/telemetry.md), of messages of ``contract`` written with ``writer``."""

    environment: str
    service: str
    role: str
    contract: str
    writer: str | None
    field: str
    reason: str
    count: int


@dataclass(frozen=True)
class Snapshot:
    """What Prometheus said, as of ``at``, over ``window``."""

    url: str
    window: str
    at: float
    environments: tuple[str, ...]
    declared: tuple[Declared, ...]
    flows: tuple[Flow, ...]
    unattributed: int
    queries: int
    violations: tuple[Violated, ...] = ()


def observe(
    prometheus: Prometheus, window: str = "1h", environments: Iterable[str] = (), at: float | None = None
) -> Snapshot:
    """Ask ``prometheus`` what was declared and what flowed over ``window`` ending ``at`` (default:
    now), in ``environments`` (default: every environment). Every query is evaluated at the same
    instant. Raises :class:`PrometheusError` when an asked environment (or, with none asked, any
    environment) has no syscontract series at all."""
    asked = tuple(sorted(set(environments)))
    for environment in asked:
        if not environment:
            raise ContractDeclarationError("--environment needs a name", reason="bad-environment")
    expressions = queries(window, asked)
    when = time.time() if at is None else at
    before = prometheus.queries
    declared = []
    for labels, value in prometheus.query(expressions["declarations"], when):
        fields = tuple(f for f in labels.get(FIELDS, "").split(",") if f)
        declared.append(
            Declared(
                labels.get(ENVIRONMENT, ""),
                labels.get(SERVICE, ""),
                labels.get(ROLE, ""),
                labels.get(CONTRACT, ""),
                labels.get(HANDLER, ""),
                fields,
                _count(prometheus.url, value, labels, "number of processes"),
            )
        )
    flows = []
    for labels, value in prometheus.query(expressions["messages"], when):
        count = _count(prometheus.url, value, labels, "message count")
        if count:
            flows.append(
                Flow(
                    labels.get(ENVIRONMENT, ""),
                    labels.get(SERVICE, ""),
                    labels.get(ROLE, ""),
                    labels.get(CONTRACT, ""),
                    labels.get(OUTCOME, ""),
                    labels.get(WRITER) or None,
                    count,
                )
            )
    violations = []
    for labels, value in prometheus.query(expressions["violations"], when):
        count = _count(prometheus.url, value, labels, "violation count")
        if count:
            violations.append(
                Violated(
                    labels.get(ENVIRONMENT, ""),
                    labels.get(SERVICE, ""),
                    labels.get(ROLE, ""),
                    labels.get(CONTRACT, ""),
                    labels.get(WRITER) or None,
                    labels.get(FIELD, ""),
                    labels.get(REASON, ""),
                    count,
                )
            )
    unattributed = sum(
        _count(prometheus.url, value, labels, "number of series")
        for labels, value in prometheus.query(expressions["unattributed"], when)
    )
    seen = {d.environment for d in declared} | {f.environment for f in flows}
    missing = [e for e in asked if e not in seen]
    if missing or not seen:
        what = f"environment {', '.join(repr(e) for e in missing)}" if missing else "any environment"
        raise PrometheusError(
            f"Prometheus at {prometheus.url} has no syscontract series for {what} in the last {window}: are the "
            f"services exporting {telemetry.DECLARATIONS} with deployment.environment.name set, and is Prometheus "
            "scraping them?",
            reason="no-data",
        )
    return Snapshot(
        prometheus.url,
        window,
        when,
        asked,
        tuple(sorted(declared, key=_declared_key)),
        tuple(sorted(flows, key=_flow_key)),
        unattributed,
        prometheus.queries - before,
        tuple(
            sorted(
                violations,
                key=lambda v: (v.environment, v.service, v.role, v.contract, v.writer or "", v.field, v.reason),
            )
        ),
    )


def _count(url: str, value: float, labels: Mapping[str, str], what: str) -> int:
    """A count Prometheus answered, as a whole number: any part of a message is a message (0.4 is
    traffic, never none); a negative count is not an answer to trust."""
    if value < 0:
        raise PrometheusError(
            f"Prometheus at {url} answered a negative {what} ({value:g}) for {_excerpt(dict(labels))}: a count "
            "cannot be negative",
            reason="bad-answer",
        )
    return math.ceil(value)


def _declared_key(d: Declared) -> tuple[str, ...]:
    return (d.environment, d.service, d.role, d.contract, d.handler, ",".join(d.fields))


def _flow_key(f: Flow) -> tuple[str, ...]:
    return (f.environment, f.service, f.role, f.contract, f.outcome, f.writer or "")
