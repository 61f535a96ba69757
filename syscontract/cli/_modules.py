"""Importing the user's modules, so that their ``@requires``/``@produces`` declarations exist."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from syscontract.errors import ContractDeclarationError
from syscontract.inventory import module_name

__all__ = ["import_modules"]


def import_modules(names: Sequence[str]) -> None:
    """Import each module: a dotted name (found from the working directory too) or a ``.py`` file.

    A module that fails to import is one clear :class:`ContractDeclarationError`, naming it and why."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in names:
        try:
            if name.endswith(".py") or "/" in name:
                path = Path(name)
                if not path.is_file():
                    raise ImportError(f"no such file: {name}")
                # the name a script run of it reports its handlers under (inventory.handler_name)
                dotted = module_name(path.resolve())
                spec = importlib.util.spec_from_file_location(dotted, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"no such file: {name}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[dotted] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except ContractDeclarationError:
            raise
        except Exception as exc:  # the user's module: anything can go wrong in it
            raise ContractDeclarationError(
                f"cannot import {name}: {type(exc).__name__}: {exc}", reason="bad-module"
            ) from exc
