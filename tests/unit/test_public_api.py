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


def test_imports_point_down_the_package_map() -> None:
    # front ends and integrations use the engine; the engine uses registry, wire, formats and contract;
    # nothing below imports upward (telemetry learns about declarations by being told)
    import ast

    package = Path(syscontract.__file__).parent
    above = {
        "_engine": ("syscontract._requires", "syscontract._produces", "syscontract.integrations", "syscontract.cli",
                    "syscontract.testing", "syscontract.demo", "syscontract.system", "syscontract.manifest"),
        "registry": ("syscontract._engine", "syscontract._requires", "syscontract.telemetry", "syscontract.inventory"),
        "wire": ("syscontract._engine", "syscontract.registry", "syscontract._requires", "syscontract.telemetry"),
        "telemetry.py": ("syscontract._engine", "syscontract._requires", "syscontract._produces"),
        "inventory.py": ("syscontract._engine", "syscontract._requires", "syscontract._produces"),
    }  # fmt: skip
    found = []
    for where, forbidden in above.items():
        files = [package / where] if where.endswith(".py") else sorted((package / where).rglob("*.py"))
        for file in files:
            for node in ast.walk(ast.parse(file.read_text())):
                upward = isinstance(node, ast.ImportFrom) and (node.module or "").startswith(forbidden)
                if upward and not _only_for_typing(file, node):
                    found.append(f"{file.relative_to(package)} imports {node.module}")
    assert [] == found


def _only_for_typing(file: Path, node: object) -> bool:
    import ast

    tree = ast.parse(file.read_text())
    for block in ast.walk(tree):
        typing_only = isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        line = getattr(node, "lineno", -2)
        if typing_only and any(getattr(child, "lineno", -1) == line for child in ast.walk(block)):
            return True
    return False
