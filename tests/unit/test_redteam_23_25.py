"""Red team against issue 23 items 2-4 (a Schema Registry's writers named after local contracts by
canonical form, ``default_draft``) and issue 25 item 5 (``syscontract report --html``).

The promises attacked: a writer's name says what it is (the gates judge a writer by the local
version it is named after, so that version must mean what the writer's schema means); gates never
say yes blind and ``report`` agrees with ``drift``; bad input is a clear syscontract error, never a
crash. Doors found are strict xfails naming the cause until closed; ``test_holds_*`` are attacks
that held and add coverage. Each test uses a registry of its own (``mock://`` URLs are shared by
name within a process).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syscontract import FileRegistry, RegistryError
from syscontract._report import Live, page
from syscontract.cli import main
from syscontract.manifest import load_all
from syscontract.system import Finding, carried, drift

SHOP = Path(__file__).parents[2] / "examples" / "shop"
ORDER = Path(__file__).parents[1] / "data" / "contracts" / "order"


def confluent(contracts: Any) -> Any:
    pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")
    from syscontract.registry.confluent import ConfluentRegistry

    return ConfluentRegistry({"url": f"mock://redteam-{uuid.uuid4()}"}, contracts=contracts)


def register(registry: Any, subject: str, text: str, kind: str, references: Any = ()) -> int:
    from confluent_kafka.schema_registry import Schema

    return int(registry.client.register_schema(subject, Schema(text, kind, list(references))))


# -- a writer is named after a local version only when it means what that version means -----------------

# In draft 7 the keywords beside "$ref" are ignored; from 2019-09 on they apply. The same document
# requires customerTier in 2020-12 and leaves it optional in draft 7.
BESIDE_REF = {
    "type": "object",
    "$ref": "#/definitions/base",
    "required": ["customerTier"],
    "definitions": {"base": {"type": "object", "properties": {"customerTier": {"type": "string"}}}},
}


def test_a_json_writer_is_not_named_after_a_local_version_read_in_another_draft(tmp_path: Path) -> None:
    """Door closed: JSON Schema writers were matched by canonical JSON alone, so a local version read
    in 2020-12 (``contracts=FileRegistry(...)``, whose default that is) named a draft-7 writer that
    leaves customerTier out, and the gates judged that writer as sending it."""
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v4.schema.json").write_text(json.dumps(BESIDE_REF))
    registry = confluent(FileRegistry(tmp_path))  # a registry object: its own default draft, 2020-12
    writer = registry.by_id(register(registry, "orders-value", json.dumps(BESIDE_REF), "JSON"))

    assert "optional" == carried(writer, "customerTier")  # what the registered schema says (draft 7)
    # the gates judge a writer by the local version it is named after: it must say the same
    if not str(writer.ref).startswith("schema:"):
        assert carried(writer, "customerTier") == carried(registry.get(writer.ref), "customerTier")
    assert "schema:orders-value@" in str(writer.ref)


def test_a_producer_is_told_why_the_same_json_text_has_no_id(tmp_path: Path) -> None:
    """id_of follows the same rule, and says why a version of the very same text is not the local one."""
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v4.schema.json").write_text(json.dumps(BESIDE_REF))
    registry = confluent(FileRegistry(tmp_path))
    registered = register(registry, "order", json.dumps(BESIDE_REF), "JSON")
    with pytest.raises(RegistryError) as caught:
        registry.id_of("order.v4")
    assert "its version 1 has the same JSON text but means otherwise (read in draft7 there and draft2020-12 here)" in (
        str(caught.value)
    )
    from syscontract.registry.confluent import ConfluentRegistry

    # the directory itself is read in the registry's draft: the same text is the same schema
    assert registered == ConfluentRegistry(registry.client, contracts=tmp_path).id_of("order.v4")


ROOT = {"type": "object", "required": ["customer"], "properties": {"customer": {"$ref": "customer.schema.json"}}}
TIER = {"type": "object", "properties": {"customerTier": {"type": "string"}}}


def referencing(tmp_path: Path, registered_customer: dict[str, Any]) -> Any:
    """The local order.v4 reaches a customer.schema.json that requires customerTier; the registry's
    order schema has the same text, its reference reaches ``registered_customer``."""
    pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")
    from confluent_kafka.schema_registry import SchemaReference

    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v4.schema.json").write_text(json.dumps(ROOT))
    (tmp_path / "order" / "customer.schema.json").write_text(json.dumps({**TIER, "required": ["customerTier"]}))
    registry = confluent(tmp_path)
    register(registry, "customer", json.dumps(registered_customer), "JSON")
    reference = SchemaReference("customer.schema.json", "customer", 1)
    return registry, registry.by_id(register(registry, "orders-value", json.dumps(ROOT), "JSON", [reference]))


def test_a_json_writer_is_not_named_after_a_local_version_whose_references_differ(tmp_path: Path) -> None:
    """Door closed: JSON Schema writers were matched by the canonical JSON of the root document alone,
    so a writer whose $ref reaches a customer without a required tier was named order.v4, whose
    customer requires it."""
    registry, writer = referencing(tmp_path, TIER)  # the registry's customer: the tier is optional
    assert ("optional", "sent") == (
        carried(writer, "customer.customerTier"),
        carried(registry.get("order.v4"), "customer.customerTier"),
    )
    assert "schema:orders-value@" in str(writer.ref)


def test_holds_a_json_writer_whose_references_reach_the_same_documents_is_the_local_version(tmp_path: Path) -> None:
    registry, writer = referencing(tmp_path, {**TIER, "required": ["customerTier"]})
    assert ("order.v4", "sent", "sent") == (
        str(writer.ref),
        carried(writer, "customer.customerTier"),
        carried(registry.get(writer.ref), "customer.customerTier"),
    )


def test_holds_a_json_writer_in_the_local_draft_is_named_after_the_local_version(tmp_path: Path) -> None:
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v4.schema.json").write_text(json.dumps(BESIDE_REF))
    registry = confluent(tmp_path)  # a directory: read in the registry's draft, 7
    writer = registry.by_id(register(registry, "orders-value", json.dumps(BESIDE_REF), "JSON"))
    assert ("order.v4", "optional") == (str(writer.ref), carried(registry.get("order.v4"), "customerTier"))


def test_holds_of_two_local_versions_of_one_canonical_form_the_identical_one_names_the_writer(tmp_path: Path) -> None:
    """v2 and v3 differ only in what the Parsing Canonical Form drops (a doc, a default, an alias):
    the writer registered with v3's text is v3, whatever the order the versions are searched in."""
    v2 = json.loads((ORDER / "v2.avsc").read_text())
    v3 = json.loads(json.dumps(v2))
    v3["doc"] = "v3: the same fields"
    v3["fields"][0]["aliases"] = ["id"]
    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v2.avsc").write_text(json.dumps(v2))
    (tmp_path / "order" / "v3.avsc").write_text(json.dumps(v3))
    registry = confluent(tmp_path)
    assert registry.get("order.v2").avro_fingerprint == registry.get("order.v3").avro_fingerprint
    later = register(registry, "orders-value", json.dumps(v3), "AVRO")
    earlier = register(registry, "orders-value", json.dumps(v2), "AVRO")
    assert ("order.v3", "order.v2") == (str(registry.by_id(later).ref), str(registry.by_id(earlier).ref))


def test_a_writer_is_renamed_when_the_local_version_it_was_named_after_is_replaced() -> None:
    """Door closed: a writer's name was kept with its schema for good, so after the local contracts
    replaced the version it was named after (which registry._changes announces) the writer kept a
    name that led to a schema of another canonical form. Its schema is not fetched again."""
    from syscontract import Contract, MemoryRegistry

    v2 = json.loads((ORDER / "v2.avsc").read_text())
    v3 = json.loads((ORDER / "v3.avsc").read_text())
    local = MemoryRegistry([Contract.from_avro("order.v2", v2)])
    registry = confluent(local)
    schema_id = register(registry, "orders-value", json.dumps(v2), "AVRO")
    assert "order.v2" == str(registry.by_id(schema_id).ref)

    local.add(Contract.from_avro("order.v2", v3), replace=True)  # order.v2 now means another schema
    fetched = registry.client.get_schema
    registry.client.get_schema = None  # what an id means never changes: it is not asked again
    try:
        writer = registry.by_id(schema_id)
    finally:
        registry.client.get_schema = fetched
    assert f"schema:orders-value@{schema_id}.v1" == str(writer.ref)
    assert writer.avro_fingerprint == registry.get(writer.ref).avro_fingerprint


class _Garbage:
    """A Schema Registry client that answers every schema id with ``schema``."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def get_schema(self, schema_id: int) -> Any:
        return self.schema

    def get_subjects(self) -> list[str]:
        return []

    def get_schema_versions(self, schema_id: int) -> Any:
        raise RuntimeError("not implemented")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[" * 5000 + "]" * 5000, "AVRO"),
        ("[" * 5000 + "]" * 5000, "JSON"),
        ('{"type": 5}', "JSON"),
        ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}', "AVRO"),
        ('{"$ref": "http://elsewhere.example/x"}', "JSON"),
        ("{}", "PROTOBUF"),
    ],
)
def test_holds_a_registry_answering_garbage_is_a_registry_error_with_local_contracts(
    tmp_path: Path, text: str, kind: str
) -> None:
    pytest.importorskip("confluent_kafka", reason="the kafka extra: pip install -e '.[kafka]'")
    from confluent_kafka.schema_registry import Schema

    from syscontract.registry.confluent import ConfluentRegistry

    (tmp_path / "order").mkdir()
    (tmp_path / "order" / "v2.avsc").write_text((ORDER / "v2.avsc").read_text())
    registry = ConfluentRegistry(_Garbage(Schema(text, kind)), contracts=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(RegistryError) as caught:
        registry.by_id(7)
    assert "bad-schema" == caught.value.reason


@pytest.mark.parametrize("value", ["7", '"draft3"', '""', '["draft7"]', '"draft7 "', "{ a = 1 }"])
def test_holds_a_malformed_default_draft_in_contract_toml_names_the_file(tmp_path: Path, value: str) -> None:
    (tmp_path / "pair").mkdir()
    (tmp_path / "pair" / "v1.schema.json").write_text('{"type": "object"}')
    (tmp_path / "pair" / "contract.toml").write_text(f"default_draft = {value}\n")
    with pytest.raises(RegistryError) as caught:
        FileRegistry(tmp_path).get("pair.v1")
    assert "contract.toml" in str(caught.value)
    assert "'default_draft' must be one of draft4, draft6, draft7" in str(caught.value)


# -- report: what drift says, never a crash --------------------------------------------------------------


@pytest.mark.parametrize("writer", ["order.v²", "order.v٣", "order.v" + "9" * 5000])
def test_report_draws_a_writer_label_that_is_no_version(writer: str) -> None:
    """Door closed: the page sorted writer labels from Prometheus with int() on what follows '.v', and
    a non-ASCII digit or a 5,000-digit version crashed the command (ValueError)."""
    live = Live(
        "Prometheus", {"prod": {"order": {"received": {"pricing": {writer: {"ok": 3}, "order.v2": {"ok": 1}}}}}}
    )
    text = page([], [], live=live).html
    assert f"received 3 written with {writer}" in text
    assert text.index("written with order.v2") < text.index(f"written with {writer}")  # versions first


def manifest(service: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "manifest": "syscontract/1",
        "service": service,
        "environment": "prod",
        "declarations": [{"role": "consumer", "contract": "topic.v1", "handler": "h", "fields": ["tier"]}],
        "contracts": {
            "topic.v1": {
                "format": "jsonschema",
                "schema": {"type": "object", "properties": {"tier": {"type": "string"}}},
            }
        },
    }
    body.update(overrides)
    return body


def test_a_manifest_string_with_a_lone_surrogate_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.json").write_text(json.dumps(manifest("svc\ud800")))
    code = main(["report", str(tmp_path / "m"), "--html", str(tmp_path / "r.html")])
    assert 2 == code
    assert "a.json" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.fixture
def prometheus_with_a_surrogate() -> Iterator[str]:
    """A Prometheus whose one declared series names its service with a lone surrogate (JSON '\\ud800')."""
    import http.server
    import threading

    series = {"deployment_environment_name": "prod", "service_name": "svc\ud800", "syscontract_role": "consumer",
              "syscontract_contract": "topic.v1", "syscontract_handler": "h", "syscontract_fields": "tier"}  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            rows = [{"metric": series, "value": [1.0, "1"]}] if "count+by" in body or "count by" in body else []
            data = json.dumps({"status": "success", "data": {"resultType": "vector", "result": rows}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_prometheus_label_with_a_lone_surrogate_is_an_input_error(
    tmp_path: Path,
    prometheus_with_a_surrogate: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SYSCONTRACT_PROMETHEUS_TOKEN", "SYSCONTRACT_PROMETHEUS_USER", "SYSCONTRACT_PROMETHEUS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.json").write_text(json.dumps(manifest("svc")))
    target = tmp_path / "r.html"
    code = main(["report", str(tmp_path / "m"), "--prometheus", prometheus_with_a_surrogate, "--html", str(target)])
    assert 2 == code
    assert "Prometheus" in capsys.readouterr().err
    assert not target.exists()


def _inputs(root: Path) -> dict[str, Path]:
    """Odd inputs, each a directory: what drift says of it, report must say too."""
    cases: dict[str, Any] = {
        "empty": None,
        "not-a-manifest": {"foo": 1},
        "no-declarations": manifest("svc", declarations=[], contracts={}),
        "no-producer": manifest("svc"),
        "truncated": '{"manifest": "syscontract/1", "service"',
    }
    found = {}
    for name, body in cases.items():
        directory = root / name
        directory.mkdir()
        if body is not None:
            text = body if isinstance(body, str) else json.dumps(body)
            (directory / "a.json").write_text(text)
        found[name] = directory
    return found


@pytest.mark.parametrize("case", ["empty", "not-a-manifest", "no-declarations", "no-producer", "truncated", "shop"])
def test_holds_report_exits_as_drift_does(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    directory = SHOP / "deployments" if case == "shop" else _inputs(tmp_path)[case]
    target = tmp_path / "r.html"
    expected = main(["drift", str(directory), "--format", "json"])
    capsys.readouterr()
    assert expected == main(["report", str(directory), "--html", str(target)])
    assert (expected != 2) == target.exists()  # an input error writes no page
    if expected == 1:
        assert 'data-state="error"' in target.read_text().split("</header>")[0]


def test_holds_a_finding_of_a_service_no_manifest_declares_is_on_the_grid() -> None:
    """A live finding about a service that no manifest names still has its red cell and row."""
    manifests = load_all([SHOP / "deployments" / "prod"])
    findings = drift(manifests).findings
    live_only = Finding(
        severity="error",
        kind="violations",
        environment="prod",
        consumer="ghost",
        handler="",
        contract="order.v2",
        message="prod: ghost received 3 violations",
    )
    result = page(manifests, [*findings, live_only])
    assert "ghost" in result.services
    assert 'data-service="ghost" data-state="error"' in result.html


# -- check MODULE: a dotted module's packages are the user's code too -----------------------------------


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package of its own name in the working directory, with an empty ``consumer`` module; forgotten after."""
    name = f"redteam_{uuid.uuid4().hex}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "consumer.py").write_text("")
    (tmp_path / "contracts").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["syscontract", "check", f"{name}.consumer"])
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_check_of_a_module_whose_package_exits_while_imported_is_an_input_error(
    package: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Door closed: check found a dotted module's file (importlib.util.find_spec imports its packages)
    before it set sys.argv and outside its try, so a package that exits at import ended check with its
    code: 0, having examined nothing."""
    (tmp_path / package / "__init__.py").write_text("import sys\nsys.exit(0)\n")
    assert 2 == main(["check", f"{package}.consumer", "--contracts", "contracts"])
    assert f"cannot import {package}.consumer: it exited while imported (SystemExit: 0)" in capsys.readouterr().err
    assert ["syscontract", "check", f"{package}.consumer"] == sys.argv


def test_check_imports_a_modules_package_without_its_own_command_line(
    package: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Door closed: the package's __init__ read check's own command line."""
    (tmp_path / package / "__init__.py").write_text(
        "import json, sys\nwith open('argv.json', 'w') as out:\n    json.dump(sys.argv, out)\n"
    )
    assert 0 == main(["check", f"{package}.consumer", "--contracts", "contracts"]), capsys.readouterr()
    assert "check" not in json.loads((tmp_path / "argv.json").read_text())


# -- Avro: a field's default outside its enum's symbols ---------------------------------------------------


def tier_field(field_type: Any, default: Any) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Order",
        "namespace": "com.acme",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "customerTier", "type": field_type, "default": default},
        ],
    }


TIER_ENUM = {"type": "enum", "name": "Tier", "symbols": ["BASIC", "VIP"]}


@pytest.mark.parametrize(
    "field_type",
    [TIER_ENUM, [TIER_ENUM, "null"], "Tier", "com.acme.Tier"],
    ids=["inline", "union", "short-name", "full-name"],
)
def test_a_field_default_outside_its_enums_symbols_names_the_field(field_type: Any) -> None:
    """Door closed: only an enum's own default was checked against its symbols; a field's default
    outside its enum's symbols (inline, first in a union, the enum by name) was a schema, and check
    said no problems."""
    from syscontract import Contract, ContractDeclarationError

    schema = tier_field(field_type, "GOLD")
    if isinstance(field_type, str):  # the enum defined by an earlier field, used by name
        schema["fields"].insert(0, {"name": "previousTier", "type": TIER_ENUM})
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_avro("order.v9", schema)
    assert "field 'customerTier': default 'GOLD' is not one of enum 'Tier''s symbols (BASIC, VIP)" in str(caught.value)
    assert "customerTier" == caught.value.field


def test_holds_a_field_default_among_its_enums_symbols_is_a_schema() -> None:
    from syscontract import Contract

    for field_type, default in (
        (TIER_ENUM, "VIP"),
        ([TIER_ENUM, "null"], "VIP"),
        (["null", TIER_ENUM], None),
        ([TIER_ENUM, "null"], None),  # a union default matching a later branch: fastavro (and Avro 1.12) accept it
        ([TIER_ENUM, "string"], "GOLD"),  # the string branch holds it
    ):
        assert "customerTier" in Contract.from_avro("order.v9", tier_field(field_type, default)).fields


def test_a_named_type_used_outside_its_namespace_names_the_field() -> None:
    """Door closed: the unknown-type locator matched a reference by its short name anywhere, so a name
    used outside its namespace (the commonest Avro mistake) was left to fastavro's bare message,
    'invalid Avro schema: com.acme.Customer', which names no field."""
    from syscontract import Contract, ContractDeclarationError

    customer = {"type": "record", "name": "Customer", "namespace": "com.partner", "fields": []}
    schema = {
        "type": "record",
        "name": "Order",
        "namespace": "com.acme",
        "fields": [{"name": "buyer", "type": customer}, {"name": "payer", "type": "Customer"}],
    }
    with pytest.raises(ContractDeclarationError) as caught:
        Contract.from_avro("order.v9", schema)
    assert "field 'payer': unknown type 'Customer' (read as 'com.acme.Customer'; defined: com.partner.Customer" in str(
        caught.value
    )
    assert "payer" == caught.value.field
