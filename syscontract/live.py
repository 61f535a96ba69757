"""Live drift: what each environment's services declared and received, read back from Prometheus.

Every service reports, through OpenTelemetry, the gauge ``syscontract.declarations`` (one point per
``@requires``/``@produces`` declaration) and the counter ``syscontract.messages`` (by contract, role,
outcome and writer version). Scraped by Prometheus, or written to it by a Collector, they become
``syscontract_declarations`` and ``syscontract_messages_total``. This module asks Prometheus's HTTP
query API (or Thanos, Mimir, VictoriaMetrics: anything that speaks it) for them, aggregated on the
server, and turns the answer into the same matrix and finding kinds as file-based drift
(:mod:`syscontract.system`), with the evidence: writer versions received, with counts, and violations.

::

    from syscontract import live

    with live.Prometheus("http://prometheus:9090") as prometheus:
        snapshot = live.observe(prometheus, window="1h", environments=["prod"])
    report = live.drift(snapshot, contracts=FileRegistry("contracts"))

**Attribution.** The OpenTelemetry Prometheus exporter puts the resource attributes
(``service.name``, ``deployment.environment.name``) on ``target_info`` only, not on each series; a
Collector with ``resource_to_telemetry_conversion`` (or Prometheus's ``promote_resource_attributes``)
puts them on every series as ``service_name`` and ``deployment_environment_name``. Each query takes
series that carry ``service_name`` as they are, and joins the others with ``target_info`` on
``job`` and ``instance``.

**Aggregation on the server.** Three queries, whatever the size of the fleet: the declarations
(``count by``), the messages (``sum by``) and the number of declaration series that could not be
attributed. Answers hold one row per (environment, service, contract, ...) group, not per instance.

**Counts.** A message count over the window is the counter's last value in the window minus its value
at the window's start, exactly; a series born inside the window (a process started, or first met that
writer) counts from zero; across a counter reset (a restart on the same address) Prometheus's
``increase()`` estimate is used. So a burst counted before the first scrape is not lost.

**Failing closed.** Unreachable, an error answer, a non-2xx answer (whatever its body says), a partial
answer (warnings), a malformed one, a sample that is not a finite, non-negative count, or no data at all
for an environment that was asked about: :class:`~syscontract.errors.PrometheusError` (exit 2), never an
empty report. A fractional count is rounded up: traffic is never read as none.

**The gates' rule.** Exit 0 only when every input was read and judged: what cannot be judged is an
error finding, never left out (``no-producer``, ``not-judged``, ``unattributed``); ``external`` (the
CLI's ``--external``) is the one opt-out, for contracts produced outside what reports to Prometheus.

The HTTP client is urllib3 (extra ``live``), imported when a :class:`Prometheus` is made.
"""

from __future__ import annotations

import json
import math
import os
import re
import ssl
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from syscontract import telemetry
from syscontract.compat import can_read
from syscontract.compat.consumers import DEFAULTED, NULLABLE, OPTIONAL, REMOVED, SENT
from syscontract.contract import Contract, ContractRef
from syscontract.errors import ContractDeclarationError, ContractError, MissingDependencyError, PrometheusError
from syscontract.manifest import Manifest, ManifestError
from syscontract.system import Finding, carried

__all__ = [
    "BASIC_PASSWORD_ENV",
    "BASIC_USER_ENV",
    "DECLARATIONS_METRIC",
    "MESSAGES_METRIC",
    "TOKEN_ENV",
    "Declared",
    "Flow",
    "LiveFinding",
    "LiveReport",
    "Prometheus",
    "PrometheusError",
    "Snapshot",
    "drift",
    "observe",
    "queries",
]

# -- names as Prometheus sees them -----------------------------------------------------------------


def _prometheus_name(otel_name: str) -> str:
    # what the OpenTelemetry Prometheus exporter and the Collector do to names: dots become underscores
    return otel_name.replace(".", "_")


DECLARATIONS_METRIC: Final = _prometheus_name(telemetry.DECLARATIONS)
"""``syscontract_declarations``: the gauge, one series per declaration and process."""
MESSAGES_METRIC: Final = _prometheus_name(telemetry.MESSAGES) + "_total"
"""``syscontract_messages_total``: the counter (monotonic counters get ``_total``)."""

SERVICE: Final = "service_name"
ENVIRONMENT: Final = "deployment_environment_name"
CONTRACT: Final = _prometheus_name(telemetry.CONTRACT)
ROLE: Final = _prometheus_name(telemetry.ROLE)
OUTCOME: Final = _prometheus_name(telemetry.OUTCOME)
WRITER: Final = _prometheus_name(telemetry.WRITER_VERSION)
HANDLER: Final = _prometheus_name(telemetry.HANDLER)
FIELDS: Final = _prometheus_name(telemetry.FIELDS)

TOKEN_ENV: Final = "SYSCONTRACT_PROMETHEUS_TOKEN"
"""A bearer token for Prometheus (or the gateway in front of it)."""
BASIC_USER_ENV: Final = "SYSCONTRACT_PROMETHEUS_USER"
BASIC_PASSWORD_ENV: Final = "SYSCONTRACT_PROMETHEUS_PASSWORD"
"""Basic auth for Prometheus: both set, or neither."""

DEFAULT_TIMEOUT: Final = 30.0
_WINDOW = re.compile(r"^(?=\d)((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_RESOURCE = f"{SERVICE}, {ENVIRONMENT}"

# -- the HTTP client ---------------------------------------------------------------------------------


def _urllib3() -> Any:
    try:
        import urllib3
    except ImportError as exc:
        raise MissingDependencyError(
            "syscontract drift --prometheus needs an HTTP client: pip install 'syscontract[live]'",
            reason="missing-dependency",
        ) from exc
    return urllib3


class Prometheus:
    """A Prometheus HTTP API endpoint (``/api/v1/query`` below ``url``), queried with POST.

    Credentials come from the environment, never from the command line or the URL: a bearer token
    in ``SYSCONTRACT_PROMETHEUS_TOKEN``, or basic auth in ``SYSCONTRACT_PROMETHEUS_USER`` and
    ``SYSCONTRACT_PROMETHEUS_PASSWORD`` (``environ`` replaces ``os.environ``). TLS certificates are
    verified, against ``ca_bundle`` (a PEM file) when given, else the system's trust store. No
    redirects are followed and nothing is retried: an answer is Prometheus's own or an error.
    ``queries`` counts the queries sent."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ca_bundle: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.url = _base_url(url)
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ContractDeclarationError(f"the timeout must be a positive number of seconds, not {timeout!r}")
        self.timeout = float(timeout)
        self.queries = 0
        environ = os.environ if environ is None else environ
        urllib3 = _urllib3()
        self._headers = {"Accept": "application/json", **_auth_headers(environ, urllib3)}
        options: dict[str, Any] = {}
        if self.url.startswith("https:"):
            context = ssl.create_default_context()  # verifies certificates and host names
            if ca_bundle is not None:
                try:
                    context.load_verify_locations(cafile=os.fspath(ca_bundle))
                except (OSError, ssl.SSLError) as exc:
                    raise ContractDeclarationError(
                        f"cannot read the CA bundle {os.fspath(ca_bundle)!r}: {exc}"
                    ) from exc
            options["ssl_context"] = context
        self._errors = urllib3.exceptions
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout), retries=False, **options
        )

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.clear()

    def query(self, expression: str, at: float) -> list[tuple[dict[str, str], float]]:
        """The instant vector ``expression`` evaluates to at ``at`` (Unix seconds): ``(labels, value)``
        rows. Raises :class:`PrometheusError` for anything but a complete, successful answer."""
        self.queries += 1
        endpoint = f"{self.url}/api/v1/query"
        # partial_response: Thanos answers with an error instead of dropping an unreachable store
        fields = {"query": expression, "time": f"{at:.3f}", "partial_response": "false"}
        try:
            response = self._pool.request(
                "POST", endpoint, fields=fields, encode_multipart=False, headers=self._headers, redirect=False
            )
        except self._errors.HTTPError as exc:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.url}: {_reason(exc)}", reason="unreachable"
            ) from exc
        return _vector(self.url, response.status, response.headers, response.data)


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ContractDeclarationError(f"--prometheus needs an http:// or https:// URL, not {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ContractDeclarationError(
            f"put Prometheus credentials in {TOKEN_ENV} or {BASIC_USER_ENV}/{BASIC_PASSWORD_ENV}, not in the URL"
        )
    if parts.query or parts.fragment:
        raise ContractDeclarationError("the Prometheus URL is its base address, without a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _auth_headers(environ: Mapping[str, str], urllib3: Any) -> dict[str, str]:
    token = environ.get(TOKEN_ENV)
    user, password = environ.get(BASIC_USER_ENV), environ.get(BASIC_PASSWORD_ENV)
    if token and (user or password):
        raise ContractDeclarationError(f"set {TOKEN_ENV} or {BASIC_USER_ENV}/{BASIC_PASSWORD_ENV}, not both")
    if token:
        return {"Authorization": f"Bearer {token}"}
    if user or password:
        if not (user and password):
            raise ContractDeclarationError(f"basic auth needs both {BASIC_USER_ENV} and {BASIC_PASSWORD_ENV}")
        made = urllib3.util.make_headers(basic_auth=f"{user}:{password}")
        return {"Authorization": str(made["authorization"])}
    return {}


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "no answer in time"
    detail = str(getattr(exc, "reason", None) or exc)
    if "Connection refused" in detail:
        return "connection refused"
    return detail.split(": ", 1)[-1] if ">: " in detail else detail


def _vector(url: str, status: int, headers: Any, data: bytes) -> list[tuple[dict[str, str], float]]:
    """The rows of a query API answer, or :class:`PrometheusError`: only a 2xx answer whose JSON says
    ``success``, without warnings, holding an instant vector of well-formed, finite samples is data."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        body = None
    location = headers.get("Location") if 300 <= status < 400 else None
    where = f" (redirected to {location})" if location else ""
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {status}{where}, not with its query API's JSON: is this the "
            "right URL, and are the credentials right?",
            reason="bad-answer",
        )
    if body["status"] == "error":
        error = str(body.get("error", "?"))
        hint = ""
        if "many-to-many" in error or "duplicate series" in error:
            hint = (
                " (two services reported target_info on the same job and instance within the window: use a "
                "shorter --window, or give each service its own scrape job or address)"
            )
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {status}: {body.get('errorType', 'error')}: {error}{hint}",
            reason="error-answer",
        )
    if not 200 <= status < 300:
        # the query API answers success with 200 only: a proxy's or cache's page that happens to be JSON
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {status}{where} with a body that says success: only a 2xx answer "
            "is data (is something in front of Prometheus answering for it?)",
            reason="bad-answer",
        )
    warnings = body.get("warnings")
    if warnings is not None and (not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings)):
        raise PrometheusError(
            f"Prometheus at {url} answered with warnings that are not a list of strings ({_excerpt(warnings)}), "
            "so the data may be incomplete",
            reason="bad-answer",
        )
    if warnings:
        raise PrometheusError(
            f"Prometheus at {url} answered with warnings, so the data may be incomplete: {'; '.join(warnings)}",
            reason="partial-answer",
        )
    result = body.get("data", {})
    if (
        not isinstance(result, dict)
        or result.get("resultType") != "vector"
        or not isinstance(result.get("result"), list)
    ):
        raise PrometheusError(f"Prometheus at {url} did not answer with an instant vector", reason="bad-answer")
    rows = []
    for item in result["result"]:
        metric = item.get("metric") if isinstance(item, dict) else None
        point = item.get("value") if isinstance(item, dict) else None
        if (
            not isinstance(metric, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items())
            or not isinstance(point, list)
            or len(point) != 2
            or not isinstance(point[1], str)
        ):
            raise PrometheusError(
                f"Prometheus at {url} answered a malformed sample: {_excerpt(item)}", reason="bad-answer"
            )
        try:
            value = float(point[1])
        except ValueError as exc:
            raise PrometheusError(
                f"Prometheus at {url} answered a sample whose value is not a number: {_excerpt(item)}",
                reason="bad-answer",
            ) from exc
        if not math.isfinite(value):
            raise PrometheusError(
                f"Prometheus at {url} answered a sample whose value is {point[1]}, not a finite count: "
                f"{_excerpt(metric)}",
                reason="bad-answer",
            )
        rows.append((dict(metric), value))
    return rows


def _excerpt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


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
    series born inside the window counts from zero; a series that was reset (within the window, or
    between its start and the first sample in it, which makes last minus first negative) falls back
    to increase()."""
    last = f"last_over_time({selector}[{window}])"
    start = f"{selector} offset {window}"
    reset = f"resets({selector}[{window}]) > 0"
    return f"((({last} - {start} >= 0) or ({last} unless {start})) unless {reset}\n  or increase({selector}[{window}]))"


def queries(window: str = "1h", environments: Sequence[str] = ()) -> dict[str, str]:
    """The PromQL syscontract sends, by name: ``declarations``, ``messages``, ``unattributed``."""
    _check_window(window)
    declared = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {HANDLER}, {FIELDS}"
    flowed = f"{ENVIRONMENT}, {SERVICE}, {ROLE}, {CONTRACT}, {OUTCOME}, {WRITER}"
    declarations = _attributed(DECLARATIONS_METRIC, lambda s: f"last_over_time({s}[{window}])", environments, window)
    messages = _attributed(MESSAGES_METRIC, lambda s: _exact_count(s, window), environments, window)
    unattributed = (
        f'count(last_over_time({DECLARATIONS_METRIC}{{{SERVICE}=""}}[{window}])\n'
        f'  unless on (job, instance) last_over_time(target_info{{{SERVICE}!=""}}[{window}]))'
    )
    return {
        "declarations": f"count by ({declared}) (\n{declarations}\n)",
        "messages": f"sum by ({flowed}) (\n{messages}\n)",
        "unattributed": unattributed,
    }


def _check_window(window: str) -> None:
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


# -- findings ----------------------------------------------------------------------------------------

_WHY = {
    REMOVED: "which has no {field}",
    NULLABLE: "which may send {field} as null",
    DEFAULTED: "which gives {field} a default, so it may be left out",
    OPTIONAL: "which does not require {field}",
}
# the violation reason (as in MissingCriticalField.reason) a writer's schema implies for a field
_REASON = {REMOVED: "not-in-writer-schema", NULLABLE: "null", DEFAULTED: "defaulted", OPTIONAL: "absent"}
_SEVERITY = {"error": 0, "warning": 1}


@dataclass(frozen=True)
class LiveFinding(Finding):
    """A finding read from live traffic; ``evidence`` holds what Prometheus counted."""

    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "evidence": dict(self.evidence)}


@dataclass
class LiveReport:
    """Live drift: the matrix (the file-based one, plus ``received`` and ``produced`` counts), the findings."""

    snapshot: Snapshot
    matrix: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    findings: list[LiveFinding] = field(default_factory=list)
    contracts_known: bool = False

    @property
    def errors(self) -> list[LiveFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict[str, Any]:
        return {
            "prometheus": self.snapshot.url,
            "window": self.snapshot.window,
            "environments": sorted(self.matrix),
            "matrix": self.matrix,
            "findings": [f.to_json() for f in self.findings],
        }


ContractSource = Callable[[ContractRef], Contract | None]


def drift(
    snapshot: Snapshot, *, contracts: Any = None, manifests: Sequence[Manifest] = (), external: Iterable[str] = ()
) -> LiveReport:
    """The matrix and findings for ``snapshot``.

    ``contracts`` (a registry with ``get(ref)``, e.g. ``FileRegistry``, or a mapping of references to
    contracts) and the manifests' own contracts let each consumer's critical fields be looked up in
    every writer version it received or that a producer there declares, as file-based drift does. With
    ``manifests``, each manifest is compared with what its service declared and received.

    The gates' rule: what cannot be judged is an error, never left out. A consumer no declared
    producer feeds (``no-producer``), a writer version (or the consumer's own version) whose contract
    is not at hand (``not-judged``), series nobody can attribute (``unattributed``). ``external`` names
    contracts produced outside what reports to Prometheus (a partner's system, as ``--external``):
    for those, ``no-producer``, ``not-judged`` and ``writer-not-in-manifests`` are warnings."""
    outside = frozenset(_name(text) for text in external)
    lookup = _lookup(contracts, manifests)
    report = LiveReport(snapshot, contracts_known=contracts is not None or bool(manifests))
    by_environment: dict[str, tuple[list[Declared], list[Flow]]] = defaultdict(lambda: ([], []))
    for one in snapshot.declared:
        by_environment[one.environment][0].append(one)
    for flow in snapshot.flows:
        by_environment[flow.environment][1].append(flow)
    for environment in sorted(by_environment):
        declared, flows = by_environment[environment]
        report.matrix[environment] = _matrix(declared, flows)
        report.findings += _environment(environment, declared, flows, lookup, snapshot.window, outside)
    if manifests:
        report.findings += _against_manifests(snapshot, by_environment, manifests, outside)
    if snapshot.unattributed:
        report.findings.append(
            LiveFinding(
                environment="",
                severity="error",
                kind="unattributed",
                consumer="",
                handler="",
                contract="",
                message=f"{snapshot.unattributed} {DECLARATIONS_METRIC} series have no {SERVICE} label and no "
                "target_info for their job and instance: their service and environment are unknown, so what they "
                "declare cannot be judged (see docs/live.md, attribution)",
                evidence={"series": snapshot.unattributed},
            )
        )
    report.findings.sort(key=_finding_key)
    return report


def _name(text: str) -> str:
    """A contract's name from ``partner.order`` or ``partner.order.v2``."""
    ref = _ref(text)
    return ref.name if ref is not None else text


def _finding_key(f: Finding) -> tuple[Any, ...]:
    return (f.environment, _SEVERITY.get(f.severity, 2), f.kind, f.consumer, f.contract, f.field or "", f.handler,
            f.produced or "", f.message)  # fmt: skip


def _lookup(contracts: Any, manifests: Sequence[Manifest]) -> ContractSource:
    known: dict[ContractRef, Contract] = {}
    for manifest in manifests:
        known.update(manifest.contracts)

    def lookup(ref: ContractRef) -> Contract | None:
        if ref in known:
            return known[ref]
        if contracts is None:
            return None
        if isinstance(contracts, Mapping):
            found = contracts.get(ref)
            return found if isinstance(found, Contract) else None
        try:
            found = contracts.get(ref)
        except ContractError as exc:
            if getattr(exc, "reason", None) in _NOT_FOUND:
                return None
            raise  # a contract that is there but cannot be read: an input error (exit 2), never "unknown"
        return found if isinstance(found, Contract) else None

    return lookup


_NOT_FOUND = frozenset({"unknown-contract", "unknown-schema"})


def _ref(text: str | None) -> ContractRef | None:
    if not text:
        return None
    try:
        return ContractRef.parse(text)
    except ContractDeclarationError:
        return None


def _version(text: str) -> tuple[str, str]:
    ref = _ref(text)
    return (ref.name, f"v{ref.version}") if ref else (text, text)


def _matrix(declared: list[Declared], flows: list[Flow]) -> dict[str, dict[str, Any]]:
    matrix: dict[str, dict[str, Any]] = {}
    for d in declared:
        name, version = _version(d.contract)
        versions = matrix.setdefault(name, {}).setdefault(d.role, {}).setdefault(d.service, [])
        if version not in versions:
            versions.append(version)
    for f in flows:
        name, _ = _version(f.contract)
        roles = matrix.setdefault(name, {})
        if f.role == "consumer":
            writer = f.writer or "unknown"
            outcomes = roles.setdefault("received", {}).setdefault(f.service, {}).setdefault(writer, {})
            outcomes[f.outcome] = outcomes.get(f.outcome, 0) + f.count
        elif f.role == "producer" and f.outcome == telemetry.OK:
            produced = roles.setdefault("produced", {}).setdefault(f.service, {})
            _, version = _version(f.contract)
            produced[version] = produced.get(version, 0) + f.count
    for roles in matrix.values():
        for services in (roles.get("producer", {}), roles.get("consumer", {})):
            for versions in services.values():
                versions.sort(key=lambda v: (len(v), v))
    return _sorted(matrix)


def _sorted(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted_value(value[k]) for k in sorted(value)}


def _sorted_value(value: Any) -> Any:
    return _sorted(value) if isinstance(value, dict) else value


_ROLES = ("consumer", "producer")
_OUTCOMES = (telemetry.OK, telemetry.VIOLATION, telemetry.DECODE_ERROR)


def _environment(
    environment: str,
    declared: list[Declared],
    flows: list[Flow],
    lookup: ContractSource,
    window: str,
    external: frozenset[str] = frozenset(),
) -> list[LiveFinding]:
    found: list[LiveFinding] = _unknown_labels(environment, declared, flows)
    producers: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # name -> ref -> services
    for d in declared:
        ref = _ref(d.contract)
        if d.role == "producer" and ref is not None and d.service not in producers[ref.name][str(ref)]:
            producers[ref.name][str(ref)].append(d.service)
    # consumer service and contract -> writer -> outcome -> count
    received: dict[tuple[str, str], dict[str | None, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for f in flows:
        if f.role == "consumer":
            outcomes = received[(f.service, f.contract)][f.writer]
            outcomes[f.outcome] = outcomes.get(f.outcome, 0) + f.count
    explained: set[tuple[str, str, str | None]] = set()
    for d in declared:
        if d.role != "consumer":
            continue
        base = {"environment": environment, "consumer": d.service, "handler": d.handler, "contract": d.contract}
        ref = _ref(d.contract)
        if ref is None:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    message=f"{environment}: {d.service} declares a consumer of {d.contract!r} in {d.handler}, which "
                    "is not a contract reference (such as order.v3): what it requires cannot be judged",
                    evidence={"instances": d.instances},
                    **base,
                )
            )
            continue
        outside = ref.name in external
        flow = received.get((d.service, d.contract), {})
        declared_writers = producers.get(ref.name, {})
        if not declared_writers:
            got = sum(sum(outcomes.values()) for outcomes in flow.values())
            it_got = (
                f" (it received {_n(got, 'message')} of it)" if got else f" and {d.service} received no message of it"
            )
            found.append(
                LiveFinding(
                    severity="warning" if outside else "error",
                    kind="no-producer",
                    message=f"{environment}: {d.service} consumes {d.contract}, but in the last {window} no service "
                    f"in {environment} declared a producer of {ref.name}{it_got}"
                    + (
                        " (produced outside what reports to Prometheus: --external)"
                        if outside
                        else f", so nothing confirms what it receives (a producer that does not report to "
                        f"Prometheus: --external {ref.name})"
                    ),
                    evidence={"instances": d.instances, "messages": got},
                    **base,
                )
            )
        reader = lookup(ref)
        for writer_text in sorted({*declared_writers, *(w for w in flow if w is not None)}):
            writer_ref = _ref(writer_text)
            makers = producers[writer_ref.name].get(writer_text, []) if writer_ref else []
            counts = flow.get(writer_text, {})
            other_version = writer_ref != ref
            needs_writer = bool(d.fields) or other_version
            writer = lookup(writer_ref) if writer_ref is not None and needs_writer else None
            missing = [] if writer_ref is not None else [writer_text]
            if writer_ref is not None and needs_writer and writer is None:
                missing.append(writer_text)
            if other_version and reader is None:
                missing.append(str(ref))
            if missing:
                found.append(
                    _not_judged(environment, d, writer_text, makers, counts, window, base, missing,
                                outside or (writer_ref is not None and writer_ref.name in external))
                )  # fmt: skip
                continue
            if writer is None:
                continue  # the consumer's own version, and no field to look up: nothing to judge
            new = _fields(environment, d, writer, makers, counts, window, base)
            if reader is not None and reader.format == writer.format and reader.fingerprint != writer.fingerprint:
                new += _unreadable(environment, d, reader, writer, makers, counts, window, base)
            if new:
                explained.add((d.service, d.contract, writer_text))
            found += new
    handlers: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for d in declared:
        handlers[(d.role, d.service, d.contract)].add(d.handler)
    found += _producers(environment, flows, handlers, window)
    for (service, contract), by_writer in sorted(received.items(), key=lambda item: item[0]):
        named = ", ".join(sorted(handlers.get(("consumer", service, contract), ())))
        base = {"environment": environment, "consumer": service, "handler": named, "contract": contract}
        for written_by, outcomes in sorted(by_writer.items(), key=lambda item: item[0] or ""):
            total = sum(outcomes.values())
            violations = outcomes.get(telemetry.VIOLATION, 0)
            undecodable = outcomes.get(telemetry.DECODE_ERROR, 0)
            written = f"written with {written_by}" if written_by else "whose writer the wire did not name"
            if violations and (service, contract, written_by) not in explained:
                found.append(
                    LiveFinding(
                        severity="error",
                        kind="violations",
                        produced=written_by,
                        message=f"{environment}: in the last {window} {service} received {_n(total, 'message')} of "
                        f"{contract} {written}: {_n(violations, 'violation')}.",
                        evidence={"writer": written_by, "messages": total, "violations": violations},
                        **base,
                    )
                )
            if undecodable:
                found.append(
                    LiveFinding(
                        severity="warning",
                        kind="decode-errors",
                        produced=written_by,
                        message=f"{environment}: in the last {window} {service} could not decode "
                        f"{_n(undecodable, 'message')} of {total} for {contract} {written}.",
                        evidence={"writer": written_by, "messages": total, "decode_errors": undecodable},
                        **base,
                    )
                )
    return found


def _unknown_labels(environment: str, declared: list[Declared], flows: list[Flow]) -> list[LiveFinding]:
    """Series whose role or outcome this syscontract does not know: what they say cannot be judged."""
    found = []
    for d in declared:
        if d.role not in _ROLES:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    message=f"{environment}: {d.service} declared {d.contract} in {d.handler} with role {d.role!r}, "
                    "which is neither consumer nor producer: it cannot be judged",
                    evidence={"role": d.role, "instances": d.instances},
                    environment=environment,
                    consumer=d.service,
                    handler=d.handler,
                    contract=d.contract,
                )
            )
    for f in flows:
        if f.role not in _ROLES or f.outcome not in _OUTCOMES:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    produced=f.writer,
                    message=f"{environment}: {f.service} counted {_n(f.count, 'message')} of {f.contract} with role "
                    f"{f.role!r} and outcome {f.outcome!r}, which this syscontract does not know: they cannot be "
                    "judged",
                    evidence={"role": f.role, "outcome": f.outcome, "messages": f.count},
                    environment=environment,
                    consumer=f.service,
                    handler="",
                    contract=f.contract,
                )
            )
    return found


def _not_judged(
    environment: str,
    d: Declared,
    writer: str,
    makers: list[str],
    counts: Mapping[str, int],
    window: str,
    base: dict[str, str],
    missing: list[str],
    external: bool,
) -> LiveFinding:
    """A consumer against a writer version when a contract it takes is not at hand (or not a reference)."""
    subject = f"{d.service} requires {d.contract} {', '.join(d.fields)}" if d.fields else (
        f"{d.service} consumes {d.contract}")  # fmt: skip
    who = f"{', '.join(makers)} in {environment} produces {writer}" if makers else f"it receives {writer}"
    questions = []
    if d.fields:
        questions.append(f"{writer} sends {', '.join(d.fields)}")
    if _ref(writer) != _ref(d.contract):
        questions.append(f"{d.contract} can read {writer}")
    unknown = [m for m in missing if _ref(m) is not None]
    if len(unknown) < len(missing):
        why = f"{writer!r} is not a contract reference (such as order.v3)"
    else:
        are = "is" if len(unknown) == 1 else "are"
        why = f"{' and '.join(unknown)} {are} in neither --contracts nor a manifest given"
    said, evidence = _evidence(writer, counts, window, d.service)
    return LiveFinding(
        severity="warning" if external else "error",
        kind="not-judged",
        producer=", ".join(makers) or None,
        produced=writer,
        message=f"{environment}: {subject}; {who}, but {why}, so whether {' and whether '.join(questions)} cannot be "
        f"judged{' (produced outside: --external)' if external else ''}.{said}",
        evidence={**evidence, "unknown": list(missing)},
        **base,
    )


def _producers(
    environment: str, flows: list[Flow], handlers: Mapping[tuple[str, str, str], set[str]], window: str
) -> list[LiveFinding]:
    """Producers whose own messages broke the contract they declare (``@produces`` checks what it sends)."""
    produced: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for f in flows:
        if f.role == "producer":
            produced[(f.service, f.contract)][f.outcome] = produced[(f.service, f.contract)].get(f.outcome, 0) + f.count
    found = []
    for (service, contract), outcomes in sorted(produced.items()):
        broken = outcomes.get(telemetry.VIOLATION, 0)
        if not broken:
            continue
        total = sum(outcomes.values())
        found.append(
            LiveFinding(
                environment=environment,
                severity="error",
                kind="violations",
                consumer="",
                handler=", ".join(sorted(handlers.get(("producer", service, contract), ()))),
                contract=contract,
                producer=service,
                produced=contract,
                message=f"{environment}: in the last {window} {service} produced {_n(total, 'message')} of {contract}: "
                f"{_n(broken, 'violation')} (messages that broke the contract it declares).",
                evidence={"messages": total, "violations": broken},
            )
        )
    return found


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _evidence(writer: str, counts: Mapping[str, int], window: str, consumer: str) -> tuple[str, dict[str, Any]]:
    total = sum(counts.values())
    violations = counts.get(telemetry.VIOLATION, 0)
    if not total:
        return f" {consumer} received no message written with {writer} in the last {window}.", {
            "writer": writer, "messages": 0, "violations": 0}  # fmt: skip
    return (
        f" In the last {window} {consumer} received {_n(total, 'message')} written with {writer}: "
        f"{_n(violations, 'violation')}.",
        {"writer": writer, "messages": total, "violations": violations},
    )


def _fields(
    environment: str,
    d: Declared,
    writer: Contract,
    makers: list[str],
    counts: Mapping[str, int],
    window: str,
    base: dict[str, str],
) -> list[LiveFinding]:
    found = []
    who = f"{', '.join(makers)} in {environment} produces {writer.ref}" if makers else f"it receives {writer.ref}"
    said, evidence = _evidence(str(writer.ref), counts, window, d.service)
    for path in d.fields:
        try:
            now = carried(writer, path)
        except ContractError as exc:
            found.append(
                LiveFinding(
                    severity="error",
                    kind="not-judged",
                    field=path,
                    producer=", ".join(makers) or None,
                    produced=str(writer.ref),
                    message=f"{environment}: {d.service} requires {d.contract} {path}; {who}, in which {path} "
                    f"cannot be looked up: {exc}.{said}",
                    evidence=evidence,
                    **base,
                )
            )
            continue
        if now == SENT:
            continue
        found.append(
            LiveFinding(
                severity="error",
                kind=f"field-{now}" if now != REMOVED else "field-not-sent",
                field=path,
                producer=", ".join(makers) or None,
                produced=str(writer.ref),
                message=f"{environment}: {d.service} requires {d.contract} {path}; {who}, "
                f"{_WHY[now].format(field=path)}.{said}",
                evidence={**evidence, "reason": _REASON[now]},
                **base,
            )
        )
    return found


def _unreadable(
    environment: str,
    d: Declared,
    reader: Contract,
    writer: Contract,
    makers: list[str],
    counts: Mapping[str, int],
    window: str,
    base: dict[str, str],
) -> list[LiveFinding]:
    said, evidence = _evidence(str(writer.ref), counts, window, d.service)
    source = f"produced by {', '.join(makers)}" if makers else "received"

    def error(kind: str, message: str) -> list[LiveFinding]:
        producer = ", ".join(makers) or None
        return [LiveFinding(severity="error", kind=kind, producer=producer, produced=str(writer.ref),
                            message=message, evidence=evidence, **base)]  # fmt: skip

    try:
        if can_read(reader, writer):
            return []
    except ContractError as exc:
        return error(
            "not-judged",
            f"{environment}: whether {d.service}'s {d.contract} can read {writer.ref} {source} cannot be "
            f"judged: {exc}.{said}",
        )
    return error(
        "unreadable",
        f"{environment}: {d.service} reads {d.contract}, which cannot read {writer.ref} {source} "
        f"(see syscontract compat {writer.ref} {d.contract}).{said}",
    )


# -- declared (manifests) versus observed ---------------------------------------------------------------


def _against_manifests(
    snapshot: Snapshot,
    by_environment: Mapping[str, tuple[list[Declared], list[Flow]]],
    manifests: Sequence[Manifest],
    external: frozenset[str] = frozenset(),
) -> list[LiveFinding]:
    """Each manifest against what its service declared and received, in the environments the
    manifests cover (and that were asked about, when some were)."""
    covered: dict[str, dict[str, Manifest]] = defaultdict(dict)
    for manifest in sorted(manifests, key=lambda m: m.source):
        if not snapshot.environments or manifest.environment in snapshot.environments:
            other = covered[manifest.environment].get(manifest.service)
            if other is not None:
                raise ManifestError(
                    f"two manifests of {manifest.service} in {manifest.environment}: {other.source} and "
                    f"{manifest.source}"
                )
            covered[manifest.environment][manifest.service] = manifest
    missing = sorted(e for e in covered if e not in by_environment)
    if missing:
        raise PrometheusError(
            f"Prometheus at {snapshot.url} has no syscontract series for environment "
            f"{', '.join(repr(e) for e in missing)} in the last {snapshot.window}, which the manifests describe: "
            "cannot compare them with live data",
            reason="no-data",
        )
    window = snapshot.window
    found: list[LiveFinding] = []
    for environment, services in sorted(covered.items()):
        declared, flows = by_environment[environment]
        listed_producers = {str(e.contract) for m in services.values() for e in m.declarations if e.role == "producer"}
        # a declaration may run with two sets of fields at once (a rollout half done): each is compared
        live: dict[str, dict[tuple[str, str, str], list[Declared]]] = defaultdict(lambda: defaultdict(list))
        for d in declared:
            live[d.service][(d.role, d.contract, d.handler)].append(d)
        produced: dict[tuple[str, str], int] = defaultdict(int)
        for f in flows:
            if f.role == "producer" and f.outcome == telemetry.OK:
                produced[(f.service, f.contract)] += f.count
        for service in sorted(set(services) | set(live)):
            own = services.get(service)
            observed = live.get(service, {})
            listed = {(e.role, str(e.contract), e.handler): e for e in own.declarations} if own else {}
            for key in sorted(set(listed) | set(observed)):
                role, contract, handler = key
                base: dict[str, Any] = {
                    "environment": environment,
                    "consumer": service,
                    "handler": handler,
                    "contract": contract,
                }
                if key not in observed:
                    found.append(
                        LiveFinding(
                            severity="error",
                            kind="not-observed",
                            message=f"{environment}: {_source(own)} declares {role} {contract} in {handler}, "
                            f"which {service} in {environment} did not report in the last {window}: the manifest is "
                            f"out of date, or {service} does not run there",
                            **base,
                        )
                    )
                    continue
                running = observed[key]
                sent = produced.get((service, contract), 0)
                what = f" and produced {_n(sent, 'message')} of it" if role == "producer" and sent else ""
                if key not in listed:
                    where = f"{_source(own)} does not list it" if own else f"it has no manifest in {environment}"
                    found.append(
                        LiveFinding(
                            severity="error",
                            kind="not-in-manifest",
                            message=f"{environment}: {service} declared {role} {contract} in {handler} in the last "
                            f"{window}{what}, but {where}",
                            evidence={"instances": sum(d.instances for d in running), "produced": sent},
                            **base,
                        )
                    )
                    continue
                if own is not None and role == "consumer":
                    wanted = set(own.critical(listed[key]))
                    for live_one in running:
                        if wanted == set(live_one.fields):
                            continue
                        found.append(
                            LiveFinding(
                                severity="error",
                                kind="fields-differ",
                                message=f"{environment}: {service} requires {contract} "
                                f"{', '.join(live_one.fields) or 'no field'} in {handler}, but {_source(own)} "
                                f"says {', '.join(sorted(wanted)) or 'no field'}",
                                evidence={"live": list(live_one.fields), "own": sorted(wanted)},
                                **base,
                            )
                        )
        for f in flows:
            if f.role != "consumer" or f.writer is None or f.writer in listed_producers or f.service not in services:
                continue
            outside = _name(f.writer) in external or _name(f.contract) in external
            found.append(
                LiveFinding(
                    severity="warning" if outside else "error",
                    kind="writer-not-in-manifests",
                    produced=f.writer,
                    message=f"{environment}: {f.service} received {_n(f.count, 'message')} ({f.outcome}) of "
                    f"{f.contract} written with {f.writer} in the last {window}, but no manifest in {environment} "
                    f"produces {f.writer}" + (" (produced outside the manifests: --external)" if outside else ""),
                    evidence={"writer": f.writer, "outcome": f.outcome, "messages": f.count},
                    environment=environment,
                    consumer=f.service,
                    handler="",
                    contract=f.contract,
                )
            )
    return found


def _source(manifest: Manifest | None) -> str:
    return manifest.source if manifest is not None else "none"
