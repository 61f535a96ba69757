"""The public surface, and what importing syscontract pulls in."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import syscontract

PACKAGE = Path(syscontract.__file__).parent


def test_all_is_sorted_and_exact() -> None:
    # submodules are attributes of the package once imported, not part of __all__
    public = {
        name
        for name in dir(syscontract)
        if not name.startswith("_") and not inspect.ismodule(getattr(syscontract, name))
    }
    assert sorted(syscontract.__all__) == syscontract.__all__
    assert public | {"__version__"} == set(syscontract.__all__)


def test_every_exported_name_has_a_docstring() -> None:
    for name in syscontract.__all__:
        if name != "__version__":
            assert getattr(syscontract, name).__doc__, name


def test_the_error_tree_is_the_designed_one() -> None:
    from syscontract import (
        ContractDeclarationError,
        ContractError,
        ContractViolation,
        DecodeError,
        FieldTypeError,
        MissingCriticalField,
        MissingDependencyError,
        RegistryError,
    )

    assert ContractDeclarationError.__bases__ == (ContractError,)
    assert RegistryError.__bases__ == (ContractError,)
    assert DecodeError.__bases__ == (ContractError, ValueError)
    assert ContractViolation.__bases__ == (ContractError, ValueError)
    assert MissingCriticalField.__bases__ == (ContractViolation,)
    assert FieldTypeError.__bases__ == (ContractViolation,)
    assert MissingDependencyError.__bases__ == (ContractError, ImportError)


def test_errors_survive_pickling_with_their_attributes() -> None:
    import pickle

    error = syscontract.MissingCriticalField(
        "critical field 'x' was not sent", contract="a.v1", field="x", reason="absent", handler="m.h", payload=b"{}"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (str(error), b"{}", "absent") == (str(copy), copy.payload, copy.reason)


def test_importing_syscontract_pulls_in_no_sdk_and_no_integration() -> None:
    code = (
        "import sys, syscontract; "
        "bad = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'confluent_kafka', 'nats', 'pika', "
        "'redis', 'cloudevents', 'msgspec', 'pytest', 'hypothesis'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert 0 == result.returncode, result.stdout + result.stderr


def test_the_package_never_imports_the_opentelemetry_sdk() -> None:
    offenders = [str(path) for path in PACKAGE.rglob("*.py") if "opentelemetry.sdk" in path.read_text(encoding="utf-8")]
    assert [] == offenders


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()


def test_attributes_set_after_raising_survive_pickling_too() -> None:
    import pickle

    error = syscontract.FieldTypeError("2 fields are wrong", contract="a.v1", field="x", reason="type")
    error.failures = [("x", "type", "expected string")]  # type: ignore[attr-defined]
    assert [("x", "type", "expected string")] == pickle.loads(pickle.dumps(error)).failures


def test_public_names_are_not_shadowed_by_implementation_modules() -> None:
    # the decorators are functions; the modules that implement them are private (_requires, _produces)
    # (``syscontract.contract`` is both DESIGN's decorator and DESIGN's module of Contract/ContractRef:
    # ``from syscontract.contract import Contract`` works, the attribute is the decorator)
    for name in ("requires", "produces", "check", "verify", "configure", "encode"):
        assert callable(getattr(syscontract, name))
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"syscontract.{name}")


def test_every_public_error_class_lives_in_the_errors_module() -> None:
    import syscontract.errors
    import syscontract.integrations.rabbitmq
    import syscontract.manifest
    import syscontract.testing

    for module in (syscontract, syscontract.manifest, syscontract.testing, syscontract.integrations.rabbitmq):
        for value in vars(module).values():
            error = inspect.isclass(value) and issubclass(value, (syscontract.ContractError, AssertionError))
            if error and value.__module__.startswith("syscontract"):
                assert "syscontract.errors" == value.__module__, value


ARCHITECTURE = Path(__file__).parents[2] / "docs" / "architecture.md"


def _package_map() -> list[tuple[list[str], list[str]]]:
    """docs/architecture.md's table of packages: each row's units (``cli/`` -> ``cli``, ``_config.py``
    -> ``_config``) and the units its "depends on" column names."""
    import re

    text = ARCHITECTURE.read_text(encoding="utf-8")
    table = text[text.index("| where | what | depends on |") :].split("\n\n")[0].splitlines()[2:]
    rows = []
    for line in table:
        where, _, depends = (cell.strip() for cell in line.strip("|").split("|"))
        units = [name.rstrip("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", where)]
        rows.append((units, [name.removesuffix(".py") for name in re.findall(r"`([^`]+)`", depends)]))
    return rows


def _imports(file: Path) -> set[str]:
    """The syscontract units ``file`` imports (function-level imports included; TYPE_CHECKING not)."""
    import ast

    tree = ast.parse(file.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "syscontract":
            modules = [f"syscontract.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found.update(m.split(".")[1] for m in modules if m.startswith("syscontract.") and len(m.split(".")) > 1)
    return found


def test_imports_point_down_the_package_map() -> None:
    # docs/architecture.md's table is the map: a unit imports what its row names and what those rows
    # name in turn (the last row anywhere), nothing above it and nothing in a circle
    package = Path(syscontract.__file__).parent
    rows = _package_map()
    row_of = {unit: index for index, (units, _) in enumerate(rows) for unit in units}
    units = {path.relative_to(package).parts[0].removesuffix(".py") for path in package.rglob("*.py")}
    assert [] == sorted(units - set(row_of)), "packages missing from docs/architecture.md's table"
    assert [] == sorted(set(row_of) - units), "the table names packages that do not exist"
    anywhere = set(rows[-1][0])
    below: dict[int, set[str]] = {}
    for index in reversed(range(len(rows))):
        reach = set(rows[index][0])
        for name in rows[index][1]:
            assert name in row_of, f"row {rows[index][0]} depends on {name!r}, which is not in the table"
            assert row_of[name] > index or name in rows[index][0], f"{rows[index][0]} depends upward on {name!r}"
            reach |= below.get(row_of[name], {name})
        below[index] = reach
    found = []
    graph: dict[str, set[str]] = {}
    for file in sorted(package.rglob("*.py")):
        unit = file.relative_to(package).parts[0].removesuffix(".py")
        imported = _imports(file) - {unit}
        graph.setdefault(unit, set()).update(imported)
        allowed = below[row_of[unit]] | anywhere
        if row_of[unit] == 0:
            continue  # the public surface and __main__ may import everything below
        found += [f"{file.relative_to(package)} imports {name}" for name in sorted(imported - allowed)]
    assert [] == found
    # no circle between units, function-level imports included
    for start in graph:
        seen, pending = set(), list(graph[start])
        while pending:
            unit = pending.pop()
            assert unit != start, f"{start} imports itself back through {sorted(seen)}"
            if unit not in seen:
                seen.add(unit)
                pending.extend(graph.get(unit, ()))


def _only_for_typing(file: Path, node: object) -> bool:
    import ast

    tree = ast.parse(file.read_text())
    for block in ast.walk(tree):
        typing_only = isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        line = getattr(node, "lineno", -2)
        if typing_only and any(getattr(child, "lineno", -1) == line for child in ast.walk(block)):
            return True
    return False
