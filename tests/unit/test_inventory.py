"""One name for a handler (issue 25, item 2): imported, run as a script or with ``python -m``, the
handler is named as ``syscontract inventory`` writes it in the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HANDLER = """\
from syscontract import requires

@requires("order.v1", ["id"])  # from ./contracts
def on_order(event):
    return event["id"]

if __name__ == "__main__":
    from syscontract import inventory
    print(*sorted(d.name for d in inventory.declarations()))
"""


def _run(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False,
                            env={"PYTHONPATH": str(Path(__file__).parents[2]), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert 0 == result.returncode, result.stderr
    return result.stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "shop" / "pricing").mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "pricing" / "__init__.py").write_text("")
    (tmp_path / "shop" / "pricing" / "handlers.py").write_text(HANDLER)
    (tmp_path / "contracts" / "order").mkdir(parents=True)
    schema = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    (tmp_path / "contracts" / "order" / "v1.schema.json").write_text(json.dumps(schema))
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "pricing.py").write_text(HANDLER)
    return tmp_path


def test_a_script_outside_any_package_is_named_by_its_file(tree: Path) -> None:
    assert "pricing.on_order" == _run("loose/pricing.py", cwd=tree)


def test_a_script_inside_packages_is_named_from_its_package_root(tree: Path) -> None:
    assert "shop.pricing.handlers.on_order" == _run("shop/pricing/handlers.py", cwd=tree)


def test_python_dash_m_names_the_module_it_was_given(tree: Path) -> None:
    assert "shop.pricing.handlers.on_order" == _run("-m", "shop.pricing.handlers", cwd=tree)


def test_an_import_keeps_the_module_name(tree: Path) -> None:
    script = "import shop.pricing.handlers; from syscontract import inventory; print(inventory.declarations()[0].name)"
    assert "shop.pricing.handlers.on_order" == _run("-c", script, cwd=tree)


def test_code_without_a_file_stays_main(tree: Path) -> None:
    assert "__main__.on_order" == _run("-c", HANDLER, cwd=tree)


@pytest.mark.parametrize("path", ["loose/pricing.py", "shop/pricing/handlers.py"])
def test_the_inventory_of_a_file_names_what_a_script_run_of_it_reports(tree: Path, path: str) -> None:
    reported = _run(path, cwd=tree)
    manifest = json.loads(_run("-m", "syscontract", "inventory", path, "--service", "pricing", "--environment", "prod",
                               cwd=tree))  # fmt: skip
    assert [reported] == [d["handler"] for d in manifest["declarations"]]
