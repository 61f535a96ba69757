"""A registry configured process-wide for a block: :func:`use_registry`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from syscontract import _config
from syscontract.errors import ContractDeclarationError
from syscontract.registry import Registry

__all__ = ["use_registry"]


@contextlib.contextmanager
def use_registry(registry: Registry | str | os.PathLike[str]) -> Iterator[Registry]:
    """Configure ``registry`` (a registry, or a contracts directory) process-wide for the block, then
    put back the registry that was configured before (or the default, if none was)::

        with use_registry("tests/contracts") as registry:
            assert [2, 3] == registry.versions("order")

    Declarations that use the process-wide registry are resolved against it inside the block, and
    against the previous one again afterwards. A directory that does not exist is refused here
    (:class:`~syscontract.ContractDeclarationError`), not at the first message.
    """
    if isinstance(registry, (str, os.PathLike)) and not os.path.isdir(registry):
        raise ContractDeclarationError(
            f"use_registry({os.fspath(registry)!r}): no such contracts directory", reason="no-registry"
        )
    chosen = _config.as_registry(registry, "use_registry(...)")
    previous = _config.settings().explicit_registry
    _config.configure(registry=chosen)
    try:
        yield chosen
    finally:
        _config.configure(registry=previous)
