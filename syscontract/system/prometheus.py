"""The Prometheus HTTP API client live drift and the gates read traffic through.

Credentials come from the environment, never from the command line or the URL; TLS is verified; no
redirect is followed and nothing is retried. Anything but a complete, successful answer holding an
instant vector of finite samples is :class:`~syscontract.errors.PrometheusError` (the gates fail closed).
The HTTP client is urllib3 (extra ``live``), imported when a :class:`Prometheus` is made.
"""

from __future__ import annotations

import math
import os
import ssl
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import orjson

from syscontract.errors import ContractDeclarationError, MissingDependencyError, PrometheusError

__all__ = ["BASIC_PASSWORD_ENV", "BASIC_USER_ENV", "DEFAULT_TIMEOUT", "TOKEN_ENV", "Prometheus", "PrometheusError"]

TOKEN_ENV: Final = "SYSCONTRACT_PROMETHEUS_TOKEN"
"""A bearer token for Prometheus (or the gateway in front of it)."""
BASIC_USER_ENV: Final = "SYSCONTRACT_PROMETHEUS_USER"
BASIC_PASSWORD_ENV: Final = "SYSCONTRACT_PROMETHEUS_PASSWORD"
"""Basic auth for Prometheus: both set, or neither."""

DEFAULT_TIMEOUT: Final = 30.0
_CHUNK: Final = 1 << 16


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
        # the timeout is per query: the socket's bounds each read only, and an answer trickled a few bytes
        # at a time (a stuck proxy) would hold the gate for ever
        deadline = time.monotonic() + self.timeout
        try:
            response = self._pool.request(
                "POST", endpoint, fields=fields, encode_multipart=False, headers=self._headers, redirect=False,
                preload_content=False,
            )  # fmt: skip
            try:
                data = self._read(response, deadline)
            except BaseException:
                response.close()  # never back to the pool with an answer half read
                raise
            response.release_conn()
        except self._errors.HTTPError as exc:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.url}: {_reason(exc)}", reason="unreachable"
            ) from exc
        return _vector(self.url, response.status, response.headers, data)

    def _read(self, response: Any, deadline: float) -> bytes:
        parts: list[bytes] = []
        while True:
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"cannot reach Prometheus at {self.url}: no answer in time (the answer was still arriving after "
                    f"{self.timeout:g} s)",
                    reason="unreachable",
                )
            chunk = response.read1(_CHUNK)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)


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
        body = orjson.loads(data)  # a label with a lone surrogate is no answer: no output could write it
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
