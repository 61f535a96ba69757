"""The plugin's tests run pytest on sample projects through ``pytester``.

``pytest_plugins = ["pytester"]`` is only allowed in the top-level conftest (pytest fails the whole
collection when a nested conftest declares it), so pytester is registered here when this conftest is
loaded, unless it is already (``-p pytester``, or a top-level ``pytest_plugins``).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
