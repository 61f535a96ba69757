"""`syscontract lint`: the fields handlers read, found in their source; the corpus of handlers with the
findings expected beside each (tests/data/lint_corpus), the shop, the demo, hostile files, the CLI."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syscontract.cli import main
from syscontract.lint import lint

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "lint_corpus"
EXPECT = re.compile(r"#\s*expect:\s*(\S+)(?:\s+(\S+))?")

# -- the corpus -----------------------------------------------------------------------------------


def _expectations() -> dict[tuple[str, int], set[tuple[str, str]]]:
    """(file, line of the def) -> the expected (kind, field), from the comments inside each function."""
    found: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for path in sorted(CORPUS.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        functions = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for number, line in enumerate(source.splitlines(), start=1):
            match = EXPECT.search(line)
            if match is None:
                continue
            spans = [f for f in functions if f.lineno - len(f.decorator_list) <= number <= (f.end_lineno or 0)]
            innermost = max(spans, key=lambda f: f.lineno)
            key = (str(path.relative_to(ROOT)), innermost.lineno)
            field = match[2] if match[2] not in (None, "-") else ""
            found.setdefault(key, set())
            if match[1] != "none":
                found[key].add((match[1], field))
    return found


Findings = dict[tuple[str, int], set[tuple[str, str]]]


@pytest.fixture(scope="module")
def corpus() -> tuple[Findings, Findings]:
    """What the comments expect and what the lint found, per handler (its file and def line)."""
    report = lint([str(CORPUS)])
    actual = {
        (str(Path(h.file).relative_to(ROOT)), h.line): {(f.kind, f.field) for f in h.findings} for h in report.handlers
    }
    return _expectations(), actual


NOT_A_HANDLER = ("not-a-handler", "")
INFO = {"declared-never-read", "declared-fallback", "unknown-contract"}

# what the lint gets wrong on the corpus, named: each changes precision or recall below
MISSED = {
    ("four_calls_deep", "undeclared-fallback", "channel"),  # past CALL_DEPTH: reported as opaque
    ("keys_from_a_loop", "undeclared-fallback", "currency"),  # e.get(key) for key in a tuple of literals
    ("keys_from_a_loop", "undeclared-fallback", "channel"),
}
WRONG: set[tuple[str, str, str]] = set()


def _function_at(file: str, line: int) -> str:
    tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
    return next(
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.lineno == line
    )


def test_the_corpus_has_at_least_thirty_handlers_each_with_its_expectation(corpus: tuple[Findings, Findings]) -> None:
    expected, actual = corpus
    handlers = {key for key, kinds in expected.items() if NOT_A_HANDLER not in kinds}
    assert len(handlers) >= 30
    assert handlers == set(actual)  # every expected handler found, nothing else taken for one


def test_a_function_of_the_project_named_requires_is_not_a_handler(corpus: tuple[Findings, Findings]) -> None:
    expected, actual = corpus
    decoys = [key for key, kinds in expected.items() if NOT_A_HANDLER in kinds]
    assert decoys and not set(decoys) & set(actual)


def test_every_info_finding_is_the_expected_one(corpus: tuple[Findings, Findings]) -> None:
    expected, actual = corpus
    for key, found in actual.items():
        assert {f for f in expected[key] if f[0] in INFO} == {f for f in found if f[0] in INFO}, key


def test_every_error_and_warning_is_expected_but_the_named_misses(corpus: tuple[Findings, Findings]) -> None:
    expected, actual = corpus
    missed, wrong = set(), set()
    for key, found in actual.items():
        want = {f for f in expected[key] if f[0] not in INFO}
        got = {f for f in found if f[0] not in INFO}
        missed |= {(_function_at(*key), *f) for f in want - got}
        wrong |= {(_function_at(*key), *f) for f in got - want}
    assert (MISSED, WRONG) == (missed, wrong)


def test_precision_and_recall_on_the_corpus(corpus: tuple[Findings, Findings]) -> None:
    expected, actual = corpus
    counts: Counter[str] = Counter()
    for key, found in actual.items():
        want = {f for f in expected[key] if f[0] not in INFO}
        got = {f for f in found if f[0] not in INFO}
        counts["tp"] += len(want & got)
        counts["fp"] += len(got - want)
        counts["fn"] += len(want - got)
    precision = counts["tp"] / (counts["tp"] + counts["fp"])
    recall = counts["tp"] / (counts["tp"] + counts["fn"])
    print(f"lint corpus: {dict(counts)} precision {precision:.4f} recall {recall:.4f}")
    assert (counts["tp"], counts["fp"], counts["fn"]) == (57, 0, 3)
    assert (round(precision, 4), round(recall, 4)) == (1.0, 0.95)


# -- the shop and the demo ------------------------------------------------------------------------


def test_lint_fails_on_the_shops_undeclared_tier_fallback_with_the_line_that_fixes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 1 == main(["lint", str(ROOT / "examples" / "shop")])
    out = capsys.readouterr().out
    assert "loyalty.award (" in out
    assert "ERROR   undeclared-fallback customerTier  (" in out
    fix = '  fix: @requires("order.v3", ["customer.id", "items[].qty", "items[].unitPrice", "customerTier"])'
    assert fix in out.splitlines()
    assert out.endswith("4 handlers in 12 files: 1 error, 3 warnings, 2 infos\n")  # 4 of them the shop's tests


def test_lint_finds_the_demos_naive_consumer() -> None:
    report = lint([str(ROOT / "syscontract" / "demo")])
    naive = [h for h in report.handlers if h.handler == "syscontract.demo.pricing_naive"]
    assert [("error", "undeclared-fallback", "customerTier")] == [
        (f.severity, f.kind, f.field) for f in naive[0].findings if f.severity == "error"
    ]
    assert [] == [f for h in report.handlers if h.handler == "syscontract.demo.pricing" for f in h.findings
                  if f.severity == "error"]  # fmt: skip


def test_the_suggested_line_declares_every_field_of_the_shops_handler_when_pasted() -> None:
    from syscontract import requires

    report = lint([str(ROOT / "examples" / "shop" / "pricing" / "loyalty.py")])
    (handler,) = report.handlers
    namespace: dict[str, object] = {"requires": requires}
    exec(compile(f"{handler.suggested}\ndef award(order): return order\n", "<pasted>", "exec"), namespace)
    declared = [p.text for p in namespace["award"].__syscontract__.fields]  # type: ignore[attr-defined]
    assert ["customer.id", "items[].qty", "items[].unitPrice", "customerTier"] == declared


# -- naming: what the recorder's report is matched by ----------------------------------------------


def test_handlers_are_named_as_python_names_them_at_run_time(tmp_path: Path) -> None:
    package = tmp_path / "svc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handlers.py").write_text(
        "from syscontract import requires\n\n"
        "@requires('naming.v1', [])\n"
        "def top(e):\n    return e.get('a', 1)\n\n"
        "class Consumer:\n"
        "    @requires('naming.v1', [])\n"
        "    def on(self, e):\n        return e.get('b', 2)\n\n"
        "def factory():\n"
        "    @requires('naming.v1', [])\n"
        "    def inner(e):\n        return e.get('c', 3)\n"
        "    return inner\n"
    )
    names = (
        "import svc.handlers as m\n"
        "for f in (m.top, m.Consumer.on, m.factory()): print(f'{f.__module__}.{f.__qualname__}')\n"
    )  # in its own process: the declarations it makes stay there
    result = subprocess.run([sys.executable, "-c", names], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert sorted(result.stdout.split()) == sorted(h.handler for h in lint([str(package)]).handlers)


# -- what the tests saw (--reads) ------------------------------------------------------------------


def _reads(tmp_path: Path, handlers: list[dict[str, object]]) -> str:
    path = tmp_path / "reads.json"
    path.write_text(json.dumps({"handlers": handlers}))
    return str(path)


def test_a_fallback_seen_in_tests_that_the_static_pass_missed_is_an_error(tmp_path: Path) -> None:
    handler = tmp_path / "svc.py"
    handler.write_text(
        "from syscontract import requires\nfrom library import tier\n\n"
        "@requires('order.v3', ['customer.id'])\ndef on_order(e):\n    return e['customer']['id'], tier(e)\n"
    )
    seen = {"handler": "svc.on_order", "contract": "order.v3", "declared": ["customer.id"],
            "read": ["customer.id", "customerTier"], "read_with_fallback": ["customerTier"]}  # fmt: skip
    reads = _reads(tmp_path, [seen])
    static = lint([str(handler)])
    assert [] == [f for f in static.findings if f.severity == "error"]
    merged = lint([str(handler)], reads=reads)
    errors = [f for f in merged.findings if f.severity == "error"]
    assert [("undeclared-fallback", "customerTier")] == [(f.kind, f.field) for f in errors]
    assert "seen in tests" in errors[0].message
    assert merged.handlers[0].suggested == '@requires("order.v3", ["customer.id", "customerTier"])'


def test_a_handler_only_the_tests_saw_is_reported_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    reads = _reads(tmp_path, [{"handler": "elsewhere.on_order", "contract": "order.v3", "declared": [],
                              "read": ["channel"], "read_with_fallback": ["channel"]}])  # fmt: skip
    assert 1 == main(["lint", str(tmp_path / "empty.py"), "--reads", reads])
    out = capsys.readouterr().out
    assert "elsewhere.on_order (seen in tests only, order.v3)" in out
    assert '  fix: @requires("order.v3", ["channel"])' in out.splitlines()


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"handlers": {}}', '{"handlers": [1]}', '{"handlers": [{"handler": 1, "contract": "a.v1"}]}',
     '{"handlers": [{"handler": "a", "contract": "a.v1", "read": "x"}]}', "[" * 100_000],
)  # fmt: skip
def test_a_malformed_reads_report_is_an_input_error(
    body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "reads.json").write_text(body)
    assert 2 == main(["lint", str(tmp_path / "empty.py"), "--reads", str(tmp_path / "reads.json")])
    err = capsys.readouterr().err
    assert err.startswith("syscontract lint: error: ") and "not a reads report" in err and err.count("\n") == 1


# -- hostile input ----------------------------------------------------------------------------------

HOSTILE = {
    "unparseable": lambda: b"def broken(:\n",
    "not-utf8": lambda: b'x = "caf\xe9"\n',
    "nested-100k": lambda: b"x = " + b"-" * 100_000 + b"1\n",
    "parens-100k": lambda: b"x = " + b"(" * 100_000 + b"1" + b")" * 100_000 + b"\n",
    "huge": lambda: b"# a generated line of nothing much, repeated\n" * 200_000,
    "null-byte": lambda: b"x = 1\x00\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_file_that_cannot_be_linted_is_one_line_and_exit_2(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.py"
    path.write_bytes(HOSTILE[kind]())
    result = subprocess.run(
        [sys.executable, "-m", "syscontract", "lint", str(path)], capture_output=True, text=True, check=False
    )
    assert (2, "") == (result.returncode, result.stdout)
    assert result.stderr.startswith(f"syscontract lint: error: {path}: cannot lint: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_file_that_declares_its_encoding_is_read_in_it(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom syscontract import requires\n\n"
        b"@requires('o.v1', [])\ndef h(e):\n    return e.get('caf\xe9', 1)\n"
    )
    assert [("undeclared-fallback", "café")] == [(f.kind, f.field) for f in lint([str(path)]).findings
                                                 if f.severity == "error"]  # fmt: skip


def test_a_missing_path_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["lint", str(tmp_path / "nowhere")])
    assert "no such file or directory" in capsys.readouterr().err


# -- the command line -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("return e['customer']['id']", 0),  # declared: clean
        ("return e['orderId'], e['customer']['id']", 0),  # orderId is critical in contract.toml
        ("return e['currency']", 0),  # a warning does not fail the build
        ("return e['customerTier']", 1),  # a reader default fills it
        ("return e.get('currency', 'EUR')", 1),
    ],
)
def test_exit_codes(body: str, code: int, tmp_path: Path) -> None:
    path = tmp_path / "h.py"
    path.write_text(
        f"from syscontract import requires\n\n@requires('order.v3', ['customer.id'])\ndef h(e):\n    {body}\n"
    )
    contracts = str(CORPUS / "contracts")
    assert code == main(["lint", str(path), "--contracts", contracts, "--format", "json"])


def test_json_output_is_the_same_bytes_every_time(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        main(["lint", str(CORPUS), "--format", "json"])
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    body = json.loads(outputs[0])
    first = body["handlers"][0]
    assert {"handler", "file", "line", "contract", "declared", "findings", "suggested"} <= set(first)
    assert all({"severity", "kind", "field", "line"} <= set(f) for h in body["handlers"] for f in h["findings"])


def test_a_missing_contracts_directory_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text("x = 1\n")
    assert 2 == main(["lint", str(tmp_path / "h.py"), "--contracts", str(tmp_path / "nowhere")])


# -- a property over generated handlers --------------------------------------------------------------

_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(lambda s: not s.startswith("__"))
_defaults = st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.just([]), st.just({}))


@settings(max_examples=60, deadline=None)
@given(declared=st.lists(_names, max_size=3, unique=True), read=_names, default=_defaults, nested=st.booleans())
def test_a_generated_fallback_is_found_and_the_suggested_line_declares_it(
    declared: list[str], read: str, default: object, nested: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from syscontract import requires

    path = tmp_path_factory.mktemp("gen") / "handler.py"
    access = f"e.get('outer', {{}}).get({read!r}, {default!r})" if nested else f"e.get({read!r}, {default!r})"
    path.write_text(f"from syscontract import requires\n\n@requires('gen.v1', {declared!r})\ndef h(e):\n"
                    f"    return {access}\n")  # fmt: skip
    field = f"outer.{read}" if nested else read
    (handler,) = lint([str(path)]).handlers
    errors = [(f.kind, f.field) for f in handler.findings if f.severity == "error"]
    assert ([] if field in declared else [("undeclared-fallback", field)]) == errors
    namespace: dict[str, object] = {"requires": requires}
    exec(compile(f"{handler.suggested}\ndef h(e): return e\n", "<pasted>", "exec"), namespace)
    pasted = [p.text for p in namespace["h"].__syscontract__.fields]  # type: ignore[attr-defined]
    assert pasted[: len(declared)] == declared and field in pasted


# -- in the pipeline ---------------------------------------------------------------------------------


def _check(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``syscontract check`` in its own process: it reads the declarations the process has made."""
    command = [sys.executable, "-m", "syscontract", "check", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_check_with_lint_reports_the_lint_errors_as_problems() -> None:
    shop = ROOT / "examples" / "shop"
    contracts = str(shop / "contracts")
    result = _check("--contracts", contracts, "--lint", str(shop), "--format", "json")
    assert 1 == result.returncode
    problems = json.loads(result.stdout)["problems"]
    assert [("lint:undeclared-fallback", "loyalty.award")] == [(p["kind"], p["where"]) for p in problems]
    clean = _check("--contracts", contracts, "--lint", str(shop / "entitlements"))
    assert (0, "") == (clean.returncode, clean.stderr)
    assert "linted" in clean.stdout


def test_check_with_lint_of_a_file_that_does_not_parse_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def (:\n")
    result = _check("--contracts", str(ROOT / "examples" / "shop" / "contracts"), "--lint", str(tmp_path / "bad.py"))
    assert 2 == result.returncode
    assert "cannot lint" in result.stderr and "Traceback" not in result.stderr


def test_the_pre_commit_hook_runs_syscontract_lint_on_python_files() -> None:
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert ("syscontract-lint", "syscontract lint", "python", ["python"]) == (
        hook["id"], hook["entry"], hook["language"], hook["types"]
    )  # fmt: skip


def test_text_output_fits_100_columns_and_a_wrapped_fix_pastes_as_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from syscontract import requires

    monkeypatch.chdir(ROOT)  # paths print relative to the working directory, however deep the clone is
    main(["lint", str(ROOT / "examples" / "shop")])
    lines = capsys.readouterr().out.splitlines()
    assert [] == [line for line in lines if len(line) > 100]
    start = lines.index("pricing.price (examples/shop/pricing/pricing.py:32, order.v3)")
    fix = next(i for i in range(start, len(lines)) if lines[i].startswith("  fix: "))
    end = next(i for i in range(fix + 1, len(lines)) if not lines[i].startswith("   "))
    assert end - fix == 2  # wrapped once
    pasted = "\n".join([lines[fix].removeprefix("  fix: "), *lines[fix + 1 : end]]) + "\ndef price(order): ...\n"
    namespace: dict[str, object] = {"requires": requires, "dead_letter": print}
    exec(compile(pasted, "<pasted>", "exec"), namespace)
    declared = [p.text for p in namespace["price"].__syscontract__.fields]  # type: ignore[attr-defined]
    assert ["customerTier", "customer.id", "items[].qty", "items[].unitPrice"] == declared


def test_a_location_too_long_for_its_finding_line_goes_on_a_line_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 3)
    deep.mkdir(parents=True)
    (deep / "h.py").write_text(
        "from syscontract import requires\n\n"
        "@requires(contract='order.v3', fields=['orderId'])\n"
        "def price(order):\n"
        "    return order.get('customerTier', 'BASIC')\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the file is not under it: its absolute path is printed
    main(["lint", str(deep)])
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("  ERROR   undeclared-fallback customerTier")
    assert f"    ({deep / 'h.py'}:5)" == lines[at + 1]
    monkeypatch.chdir(deep.parent)  # under it: relative, and on the finding's line
    main(["lint", str(deep)])
    lines = capsys.readouterr().out.splitlines()
    relative = Path("a-rather-long-directory-name", "h.py")
    assert f"  ERROR   undeclared-fallback customerTier  ({relative}:5)" in lines


def test_two_files_with_one_module_name_are_each_read_with_their_own_helpers_and_contracts(tmp_path: Path) -> None:
    for name, key in (("a", "x"), ("b", "y")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.py").write_text(
            "from syscontract import requires\n\n"
            f"def helper(e):\n    return e.get({key!r}, 1), e['z']\n\n"
            "@requires('thing.v1', [])\ndef handle(e):\n    return helper(e)\n"
        )
    schema = {"type": "record", "name": "Thing", "fields": [{"name": n, "type": "int", "default": 0} for n in "xyz"]}
    (tmp_path / "a" / "contracts" / "thing").mkdir(parents=True)
    (tmp_path / "a" / "contracts" / "thing" / "v1.avsc").write_text(json.dumps(schema))
    (tmp_path / "pyproject.toml").write_text("")  # the project's root: no contracts/ is looked for above it
    report = lint([str(tmp_path)])
    found = {Path(h.file).parent.name: sorted((f.kind, f.field) for f in h.findings) for h in report.handlers}
    assert {
        "a": [("undeclared-default", "z"), ("undeclared-fallback", "x")],
        "b": [("undeclared-fallback", "y"), ("undeclared-read", "z"), ("unknown-contract", "")],
    } == found


def test_a_json_schema_default_is_a_reader_default_too(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"tier": {"type": "string", "default": "BASIC"}, "id": {"type": "string"}},
    }
    (tmp_path / "contracts" / "account").mkdir(parents=True)
    (tmp_path / "contracts" / "account" / "v1.schema.json").write_text(json.dumps(schema))
    (tmp_path / "h.py").write_text(
        "from syscontract import requires\n\n"
        "@requires('account.v1', ['id'])\ndef h(e):\n    return e['id'], e['tier']\n"
    )
    (finding,) = [f for f in lint([str(tmp_path)]).findings if f.severity == "error"]
    assert ("undeclared-default", "tier") == (finding.kind, finding.field)
    assert 'the JSON Schema default "BASIC" fills it' in finding.message


def test_the_recorders_report_of_the_shops_handler_merges_by_its_name(tmp_path: Path) -> None:
    shop = ROOT / "examples" / "shop"
    record = (
        "import sys\n"
        f"sys.path[:0] = [{str(shop / 'pricing')!r}, {str(shop)!r}]\n"
        "import shop, loyalty\n"
        "from syscontract.testing import record_reads\n"
        "shop.setup('pricing')\n"
        "order = {'orderId': 'o', 'customer': {'id': 'c', 'name': 'n'}, 'currency': 'EUR',\n"
        "         'items': [{'sku': 's', 'qty': 1, 'unitPrice': 2.0}]}\n"
        "with record_reads() as reads:\n"
        "    loyalty.award(order)\n"
        f"reads.write({str(tmp_path / 'reads.json')!r})\n"
    )  # in its own process: the handler it declares stays there
    subprocess.run([sys.executable, "-c", record], check=True, capture_output=True)
    recorded = json.loads((tmp_path / "reads.json").read_text())["handlers"]
    assert [("loyalty.award", ["customerTier"])] == [(h["handler"], h["read_with_fallback"]) for h in recorded]
    report = lint([str(shop / "pricing" / "loyalty.py")], reads=str(tmp_path / "reads.json"))
    assert ["loyalty.award"] == [h.handler for h in report.handlers]  # one handler: the names matched
    (error,) = [f for f in report.findings if f.severity == "error"]
    assert ("undeclared-fallback", "customerTier") == (error.kind, error.field)
    assert error.message.endswith("; seen in tests too")


def test_a_faststream_guard_is_a_handler_and_its_fix_keeps_the_dead_letter(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "from faststream.nats import NatsBroker\n"
        "from syscontract.integrations import faststream as fs\n"
        "from syscontract.integrations.faststream import guard\n\n"
        "broker = NatsBroker()\n"
        "dead = broker.publisher('orders-dead', stream='dead')\n\n"
        "@guard('order.v3', ['orderId'], dead_letter=dead)\n"
        "@broker.subscriber('orders', stream='orders')\n"
        "async def price(order: dict) -> None:\n"
        "    return order.get('customerTier', 'BASIC')\n\n"
        "@fs.guard(contract='order.v3', fields=['orderId', 'customerTier'], dead_letter=dead)\n"
        "@broker.subscriber('more', stream='orders')\n"
        "async def declared(order: dict) -> None:\n"
        "    return order.get('customerTier', 'BASIC')\n"
    )
    report = lint([str(tmp_path)])
    by_handler = {h.handler: h for h in report.handlers}
    assert ["svc.declared", "svc.price"] == sorted(by_handler)
    (error,) = [f for f in by_handler["svc.price"].findings if f.severity == "error"]
    assert ("undeclared-fallback", "customerTier") == (error.kind, error.field)
    assert '@guard("order.v3", ["orderId", "customerTier"], dead_letter=dead)' == by_handler["svc.price"].suggested
    assert not [f for f in by_handler["svc.declared"].findings if f.severity == "error"]
