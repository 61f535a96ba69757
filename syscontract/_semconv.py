"""The few OpenTelemetry semantic-convention keys syscontract uses, in one place.

Semantic conventions v1.27.0 (https://opentelemetry.io/docs/specs/semconv/): ``error.type`` is
stable since v1.21.0; ``deployment.environment.name`` replaced ``deployment.environment`` in
v1.27.0 (the old key is still read from ``OTEL_RESOURCE_ATTRIBUTES`` for older setups). syscontract's
own keys live under ``syscontract.*`` in :mod:`syscontract.telemetry`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEPLOYMENT_ENVIRONMENT", "DEPLOYMENT_ENVIRONMENT_NAME", "ERROR_TYPE", "SCHEMA_URL", "SERVICE_NAME"]

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.27.0"
"""The convention version the keys below follow."""

ERROR_TYPE: Final = "error.type"
"""The class of error an operation ended with (here: the syscontract error's class name)."""

SERVICE_NAME: Final = "service.name"
"""Resource attribute: the logical service name (set by the user's resource, read by backends)."""

DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
"""Resource attribute: the deployment environment (``staging``, ``production``)."""

DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment"
"""The key ``deployment.environment.name`` replaced (semantic conventions before v1.27.0)."""
