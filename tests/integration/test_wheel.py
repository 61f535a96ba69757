"""The package as a user installs it (issue 23, item 3): syscontract is not on PyPI, so the README
installs it from a clone, and ``make dist`` builds the sdist and the wheel.

Here the sources a clone has (what git tracks, plus new files it does not ignore) are copied to a
scratch directory, built into an sdist and a wheel *from that sdist* (``python -m build``, as
``make dist`` runs it), and the wheel is installed into a fresh virtual environment, without this
checkout on any path. ``syscontract demo`` must then run from an empty directory: a contract, a
module or a data file the wheel leaves out fails it.

pip fetches the dependencies (from the index and find-links pip is configured with). Without a
network that serves them the test is skipped, saying so; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from syscontract._version import __version__

ROOT = Path(__file__).parents[2]

pytest.importorskip("build", reason="python -m build is in the dev extra: pip install -e '.[dev]'")

# what pip says when it cannot reach an index (or the index lacks a dependency, as an offline
# find-links directory does)
NETWORK = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ConnectTimeoutError",
    "No matching distribution found",
    "Could not find a version that satisfies",
)


def _env() -> dict[str, str]:
    """The environment without anything that would put this checkout or its venv on a path."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("SYSCONTRACT_", "OTEL_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(command: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)


def _sources(destination: Path) -> Path:
    """A copy of what a clone holds: git's tracked and not-ignored files (the whole tree, less what
    .gitignore names, when git cannot say)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        for name in sorted({n for n in listed.stdout.decode().split("\0") if n}):
            source = ROOT / name
            if source.is_file():
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination / name)
    else:
        ignored = [line.rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
        shutil.copytree(ROOT, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git", *ignored))
    return destination


def _build(sources: Path, out: Path) -> None:
    """``python -m build``: in this environment when its setuptools can build (no network needed),
    else in build's own isolated one, which pip fills."""
    try:
        import setuptools

        here = int(setuptools.__version__.split(".")[0]) >= 77  # pyproject's [build-system] requires
    except ImportError:
        here = False
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(sources)]
    _network_or(_run(command + (["--no-isolation"] if here else []), sources), "building the sdist and the wheel")


def _network_or(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode == 0:
        return
    output = done.stdout + done.stderr
    if os.environ.get("CI") != "true" and any(marker in output for marker in NETWORK):
        pytest.skip(f"{what} needs packages from an index this machine cannot reach; CI=true fails instead")
    pytest.fail(f"{what} failed (exit {done.returncode}):\n{output[-4000:]}", pytrace=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from a copy of the clone's sources."""
    scratch = tmp_path_factory.mktemp("wheel")
    _build(_sources(scratch / "clone"), scratch / "dist")
    return scratch / "dist"


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel: its ``bin/``."""
    venv = tmp_path_factory.mktemp("venv")
    created = _run([sys.executable, "-m", "venv", str(venv)], venv)
    assert 0 == created.returncode, created.stderr
    bin_ = venv / "bin"
    wheel = next(dist.glob("syscontract-*.whl"))
    _network_or(
        _run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", str(wheel)], venv),
        "installing the wheel's dependencies",
    )
    return bin_


def test_make_dist_builds_one_sdist_and_one_wheel(dist: Path) -> None:
    expected = [f"syscontract-{__version__}-py3-none-any.whl", f"syscontract-{__version__}.tar.gz"]
    assert expected == sorted(p.name for p in dist.iterdir())


def test_the_wheel_holds_the_demo_contracts_and_the_type_marker(dist: Path) -> None:
    package = ROOT / "syscontract"
    contracts = {
        f"syscontract/{p.relative_to(package).as_posix()}"
        for p in (package / "demo" / "contracts").rglob("*")
        if p.suffix in (".avsc", ".toml")
    }
    assert contracts, "the demo ships contracts"
    with zipfile.ZipFile(next(dist.glob("syscontract-*.whl"))) as wheel:
        names = set(wheel.namelist())
    assert contracts | {"syscontract/py.typed"} <= names


def test_the_installed_wheel_runs_the_demo_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c", "import syscontract; print(syscontract.__file__)"], tmp_path)
    assert 0 == where.returncode, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the wheel's copy, not this checkout's"

    demo = _run([str(installed / "syscontract"), "demo"], tmp_path, timeout=300)
    assert (0, "") == (demo.returncode, demo.stderr)
    assert "priced as BASIC, no error, no alert" in demo.stdout
    assert "refused, dead-lettered" in demo.stdout

    story = _run([str(installed / "syscontract"), "demo", "--format", "json"], tmp_path, timeout=300)
    assert 0 == story.returncode, story.stderr
    assert json.loads(story.stdout)["story_held"] is True
    assert [] == sorted(p.name for p in tmp_path.iterdir())  # the demo writes nothing where it runs
