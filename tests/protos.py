"""The protobuf test schemas (tests/data/protobuf/acme/...), compiled at test time.

No generated code is committed: grpcio-tools' protoc (the ``protobuf-compiler`` extra, in the ``test``
extra) writes the ``*_pb2.py`` modules and the descriptor sets into one temporary directory per
process, the first time a test asks for them. The generated classes live in protobuf's default pool,
so each version has its own package (``acme.order.v2``, ``acme.order.v3``): two files defining the
same full name cannot both be imported.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parent / "data" / "protobuf"

FILES = (
    "acme/order/common.proto",
    "acme/order/v2.proto",
    "acme/order/v3.proto",
    "acme/order/v4.proto",
    "acme/order/several.proto",
    "acme/legacy/v1.proto",
    "acme/legacy/v2.proto",
)


@functools.cache
def _out() -> Path:
    out = Path(tempfile.mkdtemp(prefix="syscontract-protos-"))
    atexit.register(shutil.rmtree, out, True)
    import grpc_tools

    bundled = Path(grpc_tools.__file__).parent / "_proto"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT}", f"-I{bundled}", f"--python_out={out}", *FILES],
        check=True,
        cwd=ROOT,
    )
    for name in FILES:
        target = out / (name.replace("/", "_").removesuffix(".proto") + ".binpb")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{ROOT}",
                f"-I{bundled}",
                "--include_imports",
                f"--descriptor_set_out={target}",
                name,
            ],
            check=True,
            cwd=ROOT,
        )
    sys.path.insert(0, str(out))
    return out


def module(name: str) -> ModuleType:
    """The generated module of ``acme/order/v3.proto`` as ``module("acme/order/v3")``."""
    _out()
    return importlib.import_module(name.replace("/", ".") + "_pb2")


def descriptor_set(name: str) -> bytes:
    """The FileDescriptorSet (imports included) of ``name`` (``"acme/order/v3"``)."""
    return (_out() / (name.replace("/", "_") + ".binpb")).read_bytes()
