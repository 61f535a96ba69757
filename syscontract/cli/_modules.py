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

    While a module is imported, ``sys.argv`` is that module alone (``[its file]``), as if it were run
    by itself: a module that parses its command line at import reads its own, not this command's.
    A module that fails to import (or exits while imported) is one clear
    :class:`ContractDeclarationError`, naming it and why."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in names:
        saved = sys.argv
        sys.argv = [name]  # before any of the user's code runs: finding a module's file imports its packages
        try:
            sys.argv = [_argv0(name)]
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
        except SystemExit as exc:  # argparse or sys.exit() at import: the module is not importable
            raise ContractDeclarationError(
                f"cannot import {name}: it exited while imported (SystemExit: {exc.code!r}); guard its "
                'start-up with `if __name__ == "__main__":`',
                reason="bad-module",
            ) from exc
        except Exception as exc:  # the user's module: anything can go wrong in it
            raise ContractDeclarationError(
                f"cannot import {name}: {type(exc).__name__}: {exc}", reason="bad-module"
            ) from exc
        finally:
            sys.argv = saved


def _argv0(name: str) -> str:
    """What ``sys.argv[0]`` would be were the module run by itself: its file (``python consumer.py``,
    ``python -m pkg.consumer``), or its name when it has none. Finding the file of ``pkg.consumer``
    imports ``pkg``: the user's code, run inside the caller's ``try`` with ``sys.argv`` already set
    (``SystemExit`` is not caught here: an exit while imported is the caller's error to report)."""
    if name.endswith(".py") or "/" in name:
        return str(Path(name))
    try:
        spec = importlib.util.find_spec(name)
    except Exception:  # its package fails to import: the import below says why
        return name
    origin = spec.origin if spec is not None else None
    return origin if isinstance(origin, str) and origin not in ("built-in", "frozen") else name
