"""Hostile contracts: names, docs and symbols that look like code, paths that leave the registry,
manifests and contract.toml files that are malformed, huge, of the wrong type or nested 10,000 deep.

syscontract generates Python from contracts (the per-declaration checks, the handler's wrapper and the
``validate="full"`` validators). Names from a schema must reach that code as string literals only: the
strings below would set a flag on ``builtins`` or create a file if they ever ran, and every test ends
by checking that neither happened. Everything else ends in one syscontract error, never a crash.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import linecache
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from strategies import json_values

import syscontract
import syscontract.validation
from syscontract import (
    Contract,
    ContractDeclarationError,
    ContractError,
    ContractRef,
    FieldTypeError,
    FileRegistry,
    MemoryRegistry,
    MissingCriticalField,
    RegistryError,
    manifest,
    requires,
)
from syscontract.manifest import ManifestError
from syscontract.wire import avro, confluent

DATA = Path(__file__).parent.parent / "data"
FLAG = "SYSCONTRACT_PWNED"
SENTINEL = Path(tempfile.gettempdir()) / f"syscontract-pwned-{os.getpid()}"
SET_FLAG = f"setattr(__import__('builtins'), '{FLAG}', True)"
TOUCH = f"open('{SENTINEL}', 'w')"

HOSTILE = [
    "'); " + SET_FLAG + "; ('",
    '"); ' + SET_FLAG + '; ("',
    "\n" + SET_FLAG + "\n",
    '"""\n' + SET_FLAG + '\n"""',
    "'''\n" + TOUCH + "\n'''",
    "\\'; " + SET_FLAG + " #",
    "{" + SET_FLAG + "}",
    "%(x)s %s %r",
    "a\\",
    "/etc/passwd",
    "C:\\Windows\\System32",
    "a/b\\c",
    "nul\x00byte",
    "lines\u2028\u2029\r\n",
    "except Exception: pass",
    "__class__",
    "_sc_m",
]
"""Field names usable in critical paths (no '.', '[' or ']'): quotes, newlines, backslashes, code."""
assert all("." not in name for name in HOSTILE)

DOTTED = [
    "__import__('builtins')." + FLAG,
    "../../etc/passwd",
    f"__import__('os').system('touch {SENTINEL}')",
]
"""Names a path cannot spell (they hold '.'): checked by ``validate="full"`` only."""


@pytest.fixture(autouse=True)
def _nothing_ran() -> Iterator[None]:
    """No string from a contract ever ran as code: no flag on builtins, no sentinel file."""
    assert not SENTINEL.exists()
    yield
    assert not hasattr(builtins, FLAG), "code from a contract ran: the builtins flag is set"
    assert not SENTINEL.exists(), "code from a contract ran: the sentinel file exists"


@pytest.fixture
def generated() -> Iterator[Callable[[], list[str]]]:
    """The sources syscontract generated during the test (registered with linecache)."""
    before = {name for name in list(linecache.cache) if name.startswith("<syscontract")}

    def sources() -> list[str]:
        # the keys first: a validator's finalizer may drop its entry while the list is built
        names = [name for name in list(linecache.cache) if name.startswith("<syscontract") and name not in before]
        entries = [linecache.cache.get(name) for name in names]
        return ["".join(entry[2]) for entry in entries if entry is not None]

    yield sources


def names_called(source: str) -> set[str]:
    """Every name the generated source calls or reads: a schema string that became code shows here."""
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("handled", call())
    except ContractError as error:
        return (type(error).__name__, error.reason, error.field)


# -- JSON Schema: hostile property names, descriptions, enum symbols, patterns ---------------------


def hostile_jsonschema() -> dict[str, Any]:
    properties = {
        name: {
            "type": "string",
            "title": name,
            "description": name,
            "$comment": name,
            "enum": [name, "other" + name],
            "pattern": "(^|['\"\\n;)(])",
            "examples": [name],
        }
        for name in HOSTILE + DOTTED
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "'); " + SET_FLAG + "; ('",
        "description": '"""\n' + SET_FLAG + "\n'''\\",
        "type": "object",
        "properties": properties,
        "required": HOSTILE + DOTTED,
        "additionalProperties": False,
    }


HOSTILE_JSON = Contract.from_jsonschema("hostile.v1", hostile_jsonschema())
VALID = {name: name for name in HOSTILE + DOTTED}


@pytest.mark.parametrize("validate", ["fields", "full"])
@pytest.mark.parametrize("name", HOSTILE, ids=[f"name{i}" for i in range(len(HOSTILE))])
def test_a_hostile_json_schema_field_name_is_checked_as_data(name: str, validate: str) -> None:
    handler = requires(HOSTILE_JSON, HOSTILE, validate=validate)(lambda event: event)
    missing = {k: v for k, v in VALID.items() if k != name}
    wrong = {**VALID, name: "not one of the enum symbols"}

    assert ("handled", VALID) == outcome(lambda: handler(dict(VALID)))
    assert ("handled", VALID) == outcome(lambda: handler(json.dumps(VALID).encode()))
    assert ("MissingCriticalField", "absent", name) == outcome(lambda: handler(missing))
    assert ("MissingCriticalField", "null", name) == outcome(lambda: handler({**VALID, name: None}))
    assert ("FieldTypeError", name) == outcome(lambda: handler(wrong))[::2]
    assert ("FieldTypeError", name) == outcome(lambda: handler(json.dumps(wrong).encode()))[::2]
    assert ("handled", VALID) == outcome(lambda: syscontract.check(HOSTILE_JSON, VALID, [name], validate=validate))


@pytest.mark.parametrize("name", DOTTED, ids=["import-flag", "traversal", "os-system"])
def test_a_hostile_name_only_full_validation_can_reach_is_checked_as_data(name: str) -> None:
    handler = requires(HOSTILE_JSON, validate="full")(lambda event: event)
    with pytest.raises(MissingCriticalField) as missing:
        handler({k: v for k, v in VALID.items() if k != name})
    with pytest.raises(FieldTypeError) as wrong:
        handler({**VALID, name: "not one of the enum symbols"})

    assert VALID == handler(dict(VALID))
    assert name in str(missing.value.field) and name in str(wrong.value.field)
    assert name in str(missing.value)  # the message renders the name, whatever it holds


def test_hostile_json_schema_names_reach_generated_code_as_literals_only(
    generated: Callable[[], list[str]],
) -> None:
    requires(HOSTILE_JSON, HOSTILE, validate="full")(lambda event: event)(dict(VALID))
    syscontract.validation.clear_cache()
    syscontract.validation.compile_validator(HOSTILE_JSON)(dict(VALID))

    sources = generated()
    assert len(sources) >= 2  # the checks and the wrapper, and the validator
    for source in sources:
        assert not {"setattr", "open", "__import__", "system"} & names_called(source)


# -- Avro: hostile field, record and namespace names, docs, aliases and defaults ---------------------


def hostile_avro(with_all: bool) -> dict[str, Any]:
    """A record whose names all come from HOSTILE; the v1 writer lacks the first hostile field."""
    names = HOSTILE if with_all else HOSTILE[1:]
    inner = {
        "type": "record",
        "name": "Inner'); " + SET_FLAG + "; ('",
        "doc": '"""\n' + SET_FLAG,
        "fields": [{"name": HOSTILE[0], "type": "string", "doc": HOSTILE[3], "default": HOSTILE[2]}],
    }
    fields: list[dict[str, Any]] = [
        {"name": name, "type": "string", "doc": name, "aliases": [name + "_alias"], "default": name} for name in names
    ]
    fields.append({"name": "inner\"'\n", "type": inner})
    return {
        "type": "record",
        "name": "R'\"\n" + SET_FLAG,
        "namespace": "'); " + SET_FLAG + "; ('",
        "doc": "'''\n" + TOUCH + "\n'''",
        "fields": fields,
    }


AVRO_V1 = Contract.from_avro("hostile.avro.v1", hostile_avro(with_all=False))
AVRO_V2 = Contract.from_avro("hostile.avro.v2", hostile_avro(with_all=True))
AVRO_VALUE = {**{name: name for name in HOSTILE}, "inner\"'\n": {HOSTILE[0]: "inner value"}}
AVRO_FIELDS = [*HOSTILE, "inner\"'\n." + HOSTILE[0]]


@pytest.fixture
def avro_registry() -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add(AVRO_V1, schema_id=1)
    registry.add(AVRO_V2, schema_id=2)
    syscontract.configure(registry=registry)
    return registry


@pytest.mark.parametrize("validate", ["fields", "full"])
def test_hostile_avro_names_decode_and_check_as_data(
    validate: str, avro_registry: MemoryRegistry, generated: Callable[[], list[str]]
) -> None:
    handler = requires("hostile.avro.v2", AVRO_FIELDS, validate=validate, registry=avro_registry)(lambda event: event)
    current = confluent.encode(2, avro.encode(AVRO_VALUE, AVRO_V2.native))
    old = {k: v for k, v in AVRO_VALUE.items() if k != HOSTILE[0]}
    stale = confluent.encode(1, avro.encode(old, AVRO_V1.native))

    assert AVRO_VALUE == handler(current)
    assert AVRO_VALUE == handler(current)  # the writer is known now: the inline fast path
    with pytest.raises(MissingCriticalField) as caught:
        handler(stale)
    assert ("not-in-writer-schema", HOSTILE[0], "hostile.avro.v1") == (
        caught.value.reason, caught.value.field, caught.value.writer,
    )  # fmt: skip
    assert "the reader default" in str(caught.value)  # the default is rendered, not run
    with pytest.raises(MissingCriticalField) as absent:
        handler({k: v for k, v in AVRO_VALUE.items() if k != HOSTILE[5]})
    assert HOSTILE[5] == absent.value.field
    for source in generated():
        assert not {"setattr", "open", "__import__"} & names_called(source)


@pytest.mark.usefixtures("avro_registry")
def test_hostile_avro_names_through_check() -> None:
    raw = confluent.encode(2, avro.encode(AVRO_VALUE, AVRO_V2.native))
    assert AVRO_VALUE == syscontract.check("hostile.avro.v2", raw, AVRO_FIELDS, validate="full")
    with pytest.raises(FieldTypeError) as caught:
        syscontract.check(AVRO_V2, {**AVRO_VALUE, HOSTILE[4]: 5}, AVRO_FIELDS, validate="full")
    assert HOSTILE[4] == caught.value.field


# -- pydantic: hostile aliases -------------------------------------------------------------------


class Hostile(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first: str = Field(alias=HOSTILE[0])
    second: str = Field(default=HOSTILE[1], alias=HOSTILE[3], description=HOSTILE[4])
    third: int = Field(alias=HOSTILE[14])


@pytest.fixture
def hostile_model() -> type[Hostile]:
    return syscontract.contract("hostile.model.v1")(Hostile)


@pytest.mark.parametrize("validate", ["fields", "full"])
def test_hostile_pydantic_aliases_are_checked_as_data(hostile_model: type[Hostile], validate: str) -> None:
    fields = [HOSTILE[0], HOSTILE[3], HOSTILE[14]]
    handler = requires("hostile.model.v1", fields, validate=validate)(lambda event: event)
    whole = {HOSTILE[0]: "a", HOSTILE[3]: "b", HOSTILE[14]: 3}

    assert "b" == handler(hostile_model.model_validate(whole)).second
    assert "b" == handler(json.dumps(whole).encode()).second
    with pytest.raises(MissingCriticalField) as defaulted:
        handler(hostile_model.model_validate({HOSTILE[0]: "a", HOSTILE[14]: 3}))
    assert ("absent", HOSTILE[3]) == (defaulted.value.reason, defaulted.value.field)
    with pytest.raises(FieldTypeError) as wrong:
        handler(json.dumps({**whole, HOSTILE[14]: "three"}).encode())
    assert HOSTILE[14] == wrong.value.field


# -- contract references that leave the registry ----------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A registry root with the test contracts, next to a valid contract *outside* it."""
    root = tmp_path / "root"
    shutil.copytree(DATA / "contracts", root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "v1.schema.json").write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    return root


def escaping_refs(tree: Path) -> list[str]:
    outside = tree.parent / "outside"
    return [
        "../../etc/passwd.v1",
        "../outside.v1",
        "order/../../outside.v1",
        "..\\outside.v1",
        "/etc/passwd.v1",
        f"{outside}.v1",  # an absolute path to a real, valid contract directory
        f"{tree}/../outside.v1",
        "~/outside.v1",
        "C:\\Windows\\System32.v1",
    ]


ESCAPES = 9


@pytest.mark.parametrize("index", range(ESCAPES))
def test_a_reference_that_leaves_the_registry_is_a_registry_error_and_nothing_outside_is_read(
    tree: Path, index: int
) -> None:
    ref = escaping_refs(tree)[index]
    registry = FileRegistry(tree)
    read: list[Path] = []
    real = registry._read

    def recording(path: Path, name: str) -> str:
        read.append(path)
        return real(path, name)

    registry._read = recording  # type: ignore[method-assign]

    with pytest.raises(RegistryError) as direct:
        registry.get(ref)
    with pytest.raises(ContractDeclarationError) as checked:
        syscontract.check(ref, {"a": "x"}, ["a"], registry=registry)
    syscontract.configure(registry=registry)
    handler = requires(ref, ["a"])(lambda event: event)
    with pytest.raises(ContractDeclarationError) as called:
        handler({"a": "x"})
    with pytest.raises(ContractDeclarationError) as verified:
        syscontract.verify()

    assert direct.value.reason in ("outside-registry", "unknown-contract")
    assert isinstance(checked.value.__cause__, RegistryError)
    assert isinstance(called.value.__cause__, RegistryError)
    assert any(
        problem.contract == str(ContractRef.parse(ref)) and isinstance(problem.__cause__, RegistryError)
        for problem in verified.value.problems
    )
    assert all(path.resolve().is_relative_to(tree.resolve()) for path in read), read


@pytest.mark.parametrize("index", range(ESCAPES))
def test_a_writer_header_naming_a_contract_outside_the_registry_is_refused(tree: Path, index: int) -> None:
    ref = escaping_refs(tree)[index]
    registry = FileRegistry(tree)
    v3 = registry.get("order.v3")
    body = avro.encode(json.loads((DATA / "order_event.json").read_text()), v3.native)
    with pytest.raises(ContractError) as caught:
        syscontract.check("order.v3", body, registry=registry, headers={"syscontract-contract": ref.encode()})
    assert isinstance(caught.value, (RegistryError,)) or isinstance(caught.value.__cause__, RegistryError)


# -- manifests: malformed, huge, wrong types, deep ---------------------------------------------------


def valid_manifest() -> dict[str, Any]:
    return {
        "manifest": "syscontract/1",
        "service": "pricing",
        "environment": "prod",
        "declarations": [{"role": "consumer", "contract": "o.v1", "handler": "h", "fields": ["a"]}],
        "contracts": {
            "o.v1": {
                "format": "jsonschema",
                "fingerprint": "x",
                "critical": [],
                "compatibility": "BACKWARD",
                "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
            }
        },
    }


def nested(depth: int, leaf: str = "{}", key: str = '"items"') -> str:
    return ("{" + key + ": ") * depth + leaf + "}" * depth


MALFORMED: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"manifest": "syscontract/1", "service": ',
    "null": b"null",
    "list": b"[]",
    "number": b"42",
    "string": b'"syscontract/1"',
    "boolean": b"true",
    "nan": b"NaN",
    "not utf-8": b'{"service": "\xff\xfe"}',
    "utf-16": '{"manifest": "syscontract/1"}'.encode("utf-16"),
    "lone surrogate": b'{"service": "\\ud800"}',
    "10,000 nested arrays": b"[" * 10_000 + b"]" * 10_000,
    "10,000 nested objects": nested(10_000, leaf="1", key='"a"').encode(),
    "10,000 nested schema": (
        b'{"manifest": "syscontract/1", "service": "s", "environment": "e", "declarations": [], '
        b'"contracts": {"o.v1": {"format": "jsonschema", "schema": ' + nested(10_000).encode() + b"}}}"
    ),
}


@pytest.mark.parametrize("content", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_manifest_file_is_one_manifest_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=r"manifest\.json"):
        manifest.load(path)


@pytest.mark.parametrize("depth", [500, 800])
@pytest.mark.parametrize("form", ["jsonschema", "pydantic"])
def test_a_manifest_with_a_schema_nested_deeper_than_python_recurses_is_one_manifest_error(
    tmp_path: Path, depth: int, form: str
) -> None:
    """JSON reads it (less than the parser's limit), the schema walk would recurse past Python's."""
    path = tmp_path / "deep.json"
    schema = '{"type": "array", "items": ' * depth + "{}" + "}" * depth
    path.write_text(
        '{"manifest": "syscontract/1", "service": "s", "environment": "e", "declarations": [], '
        f'"contracts": {{"o.v1": {{"format": "{form}", "schema": {schema}}}}}}}'
    )
    with pytest.raises(ManifestError, match=r"deep\.json"):
        manifest.load(path)


@pytest.mark.parametrize("form", ["avro", "jsonschema", "pydantic"])
def test_a_manifest_value_nested_ten_thousand_levels_is_one_manifest_error(form: str) -> None:
    deep: Any = "string" if form == "avro" else {}
    for _ in range(10_000):
        deep = {"type": "array", "items": deep}
    data = valid_manifest()
    data["declarations"] = []
    data["contracts"]["o.v1"] = {"format": form, "schema": deep}
    with pytest.raises(ManifestError):
        manifest.parse(data)


def test_a_manifest_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as out:
        out.write(b'{"manifest": "syscontract/1", "service": "')
        out.write(b"x" * (manifest.MAX_MANIFEST_BYTES + 1))
        out.write(b'"}')
    with pytest.raises(ManifestError, match="more than the"):
        manifest.load(path)


def test_a_manifest_that_is_a_directory_or_missing_is_one_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        manifest.load(tmp_path)
    with pytest.raises(ManifestError):
        manifest.load(tmp_path / "nowhere.json")


WRONG = [None, 1, 1.5, True, "x", [], {}, ["a"], {"a": 1}, [[]], [{}]]
SLOTS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "manifest": lambda m, v: m.__setitem__("manifest", v),
    "service": lambda m, v: m.__setitem__("service", v),
    "environment": lambda m, v: m.__setitem__("environment", v),
    "declarations": lambda m, v: m.__setitem__("declarations", v),
    "contracts": lambda m, v: m.__setitem__("contracts", v),
    "declaration": lambda m, v: m["declarations"].__setitem__(0, v),
    "role": lambda m, v: m["declarations"][0].__setitem__("role", v),
    "declaration contract": lambda m, v: m["declarations"][0].__setitem__("contract", v),
    "handler": lambda m, v: m["declarations"][0].__setitem__("handler", v),
    "fields": lambda m, v: m["declarations"][0].__setitem__("fields", v),
    "contract body": lambda m, v: m["contracts"].__setitem__("o.v1", v),
    "format": lambda m, v: m["contracts"]["o.v1"].__setitem__("format", v),
    "critical": lambda m, v: m["contracts"]["o.v1"].__setitem__("critical", v),
    "compatibility": lambda m, v: m["contracts"]["o.v1"].__setitem__("compatibility", v),
    "schema": lambda m, v: m["contracts"]["o.v1"].__setitem__("schema", v),
    "avro schema": lambda m, v: m["contracts"]["o.v1"].update(format="avro", schema=v),
    "pydantic schema": lambda m, v: m["contracts"]["o.v1"].update(format="pydantic", schema=v),
    "property": lambda m, v: m["contracts"]["o.v1"]["schema"]["properties"].__setitem__("a", v),
    "property type": lambda m, v: m["contracts"]["o.v1"]["schema"]["properties"]["a"].__setitem__("type", v),
}


@pytest.mark.parametrize("value", WRONG, ids=[repr(v) for v in WRONG])
@pytest.mark.parametrize("slot", list(SLOTS))
def test_a_manifest_with_a_wrong_type_anywhere_is_a_manifest_error_or_a_manifest(slot: str, value: Any) -> None:
    data = valid_manifest()
    SLOTS[slot](data, value)
    try:
        result = manifest.parse(data, "m.json")
    except ManifestError as error:
        assert str(error).startswith("m.json: ")
    else:
        assert isinstance(result, manifest.Manifest)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_as_a_manifest_is_a_manifest_error_or_a_manifest(value: Any) -> None:
    with contextlib.suppress(ManifestError):
        manifest.parse(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot=st.sampled_from(sorted(SLOTS)), value=json_values)
def test_any_json_value_in_any_slot_of_a_manifest_is_a_manifest_error_or_a_manifest(slot: str, value: Any) -> None:
    data = valid_manifest()
    SLOTS[slot](data, value)
    with contextlib.suppress(ManifestError):
        manifest.parse(data)


# -- contract.toml and schema files: huge, wrong types, deep ------------------------------------------


BAD_TOML = {
    "compatibility int": "compatibility = 5\n",
    "compatibility list": 'compatibility = ["BACKWARD"]\n',
    "compatibility table": "compatibility = {mode = 'BACKWARD'}\n",
    "critical int": "critical = 5\n",
    "critical of ints": "critical = [5]\n",
    "critical nested": 'critical = [["customer.customerTier"]]\n',
    "ids string": 'ids = "x"\n',
    "id string": '[ids]\nv2 = "seven"\n',
    "id negative": "[ids]\nv2 = -1\n",
    "id boolean": "[ids]\nv2 = true\n",
    "id float": "[ids]\nv2 = 7.0\n",
    "id too big": "[ids]\nv2 = 99999999999\n",
    "id table": "[ids]\nv2 = {a = 1}\n",
    "ids bad key": "[ids]\nx2 = 7\n",
    "guid not a guid": '[guids]\nv2 = "nope"\n',
    "guid int": "[guids]\nv2 = 5\n",
    "guids list": "guids = [1]\n",
    "retired string": 'retired = "v1"\n',
    "retired ints": "retired = [1]\n",
    "owner list": "owner = []\n",
    "doc table": "doc = {a = 1}\n",
    "owner datetime": "owner = 1979-05-27T07:32:00Z\n",
    "unknown keys": "".join(f"k{i} = {i}\n" for i in range(10_000)),
    "nul": 'owner = "a\x00b"\n',
    "10,000 nested arrays": "critical = " + "[" * 10_000 + "]" * 10_000 + "\n",
    "10,000 nested tables": "owner = " + "{a = " * 10_000 + "1" + "}" * 10_000 + "\n",
    "10,000 dotted keys": "a." * 10_000 + "b = 1\n",
}


@pytest.mark.parametrize("toml", list(BAD_TOML.values()), ids=list(BAD_TOML))
def test_a_contract_toml_of_the_wrong_shape_is_one_registry_error(tree: Path, toml: str) -> None:
    (tree / "order" / "contract.toml").write_text(toml)
    registry = FileRegistry(tree)
    with pytest.raises(RegistryError, match=r"contract\.toml"):
        registry.get("order.v3")
    with pytest.raises(RegistryError):
        registry.by_id(7)


@pytest.mark.parametrize("content", [b"\xff\xfe", "doc = 'é'\n".encode("latin-1")], ids=["binary", "latin-1"])
def test_a_contract_toml_that_is_not_utf8_is_one_registry_error(tree: Path, content: bytes) -> None:
    (tree / "order" / "contract.toml").write_bytes(content)
    with pytest.raises(RegistryError, match=r"contract\.toml"):
        FileRegistry(tree).get("order.v3")


def test_a_huge_contract_toml_is_refused_unread(tree: Path) -> None:
    from syscontract.registry import files

    with (tree / "order" / "contract.toml").open("w") as out:
        out.write('doc = """')
        out.write("x" * (files.MAX_FILE_BYTES + 1))
        out.write('"""\n')
    with pytest.raises(RegistryError, match="more than the"):
        FileRegistry(tree).get("order.v3")


def test_a_contract_toml_that_is_a_directory_is_one_registry_error(tree: Path) -> None:
    (tree / "order" / "contract.toml").unlink()
    (tree / "order" / "contract.toml").mkdir()
    with pytest.raises(RegistryError, match=r"contract\.toml"):
        FileRegistry(tree).get("order.v3")


BAD_SCHEMA_FILES = {
    "v1.avsc, 10,000 nested": '{"type": ' * 10_000 + '"string"' + "}" * 10_000,
    "v1.avsc, 10,000 nested arrays": '{"type": "array", "items": ' * 10_000 + '"string"' + "}" * 10_000,
    "v1.schema.json, 10,000 nested": nested(10_000),
    "v1.schema.json, 800 nested items": '{"type": "array", "items": ' * 800 + "{}" + "}" * 800,
    "v1.schema.json, type is an object": '{"type": "object", "properties": {"a": {"type": {}}}}',
    "v1.schema.json, type list of lists": '{"type": [["string"]]}',
    "v1.avsc, a list of numbers": "[1, 2]",
    "v1.schema.json, a list": "[1, 2]",
}


@pytest.mark.parametrize("label", list(BAD_SCHEMA_FILES))
def test_a_schema_file_of_the_wrong_shape_is_one_registry_error(tree: Path, label: str) -> None:
    filename = label.split(",")[0]
    (tree / "deep").mkdir()
    (tree / "deep" / filename).write_text(BAD_SCHEMA_FILES[label])
    with pytest.raises(RegistryError):
        FileRegistry(tree).get("deep.v1")
