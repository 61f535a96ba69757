"""``syscontract init``: a contract, and its next version, from sample messages."""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import syscontract
from syscontract import MissingCriticalField
from syscontract._infer import MAX_NESTING
from syscontract.cli import main
from syscontract.contract import parse_path

SAMPLES = [
    {"orderId": "o-1", "customer": {"id": "c-1", "customerTier": "VIP"}, "total": 12.5, "coupon": None},
    {"orderId": "o-2", "customer": {"id": "c-2", "customerTier": "BASIC"}, "total": 3.25, "coupon": "X"},
    {"orderId": "o-3", "customer": {"id": "c-3", "customerTier": "GOLD"}, "total": 7.0},
]


@pytest.fixture
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples").mkdir()
    names = []
    for index, sample in enumerate(SAMPLES):
        path = tmp_path / "samples" / f"{index}.json"
        path.write_text(json.dumps(sample))
        names.append(str(path.relative_to(tmp_path)))
    return names


def forward(root: Path) -> None:
    """Make the contract FORWARD compatible: consumers of v1 must read what v2 producers send (adding an
    optional field to an open JSON Schema is FORWARD compatible, and under BACKWARD it is not: v1 data
    may carry any value under that name)."""
    toml = root / "contracts" / "order" / "contract.toml"
    toml.write_text(toml.read_text().replace('compatibility = "BACKWARD"', 'compatibility = "FORWARD"'))


def requires_line(output: str) -> tuple[str, list[str]]:
    """The contract and fields of the printed ``@requires`` line, read as Python reads the pasted line."""
    match = re.search(r"@requires\(contract=(?P<ref>\"[^\"]+\"), fields=(?P<fields>\[.*\])\)$", output, re.MULTILINE)
    assert match is not None, output
    return ast.literal_eval(match["ref"]), ast.literal_eval(match["fields"])


def test_three_samples_make_a_json_schema_contract_and_a_requires_line(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    output = capsys.readouterr().out
    schema = json.loads(Path("contracts/order/v1.schema.json").read_text())
    assert ["customer", "orderId", "total"] == schema["required"]  # coupon is not in every sample
    assert 'compatibility = "BACKWARD"' in Path("contracts/order/contract.toml").read_text()
    ref, fields = requires_line(output)
    assert ("order.v1", ["orderId", "customer.id", "customer.customerTier", "total"]) == (ref, fields)

    # the printed line works as pasted: every sample passes, a sample without a field is refused
    syscontract.configure(registry="contracts")

    @syscontract.requires(contract=ref, fields=fields)
    def on_order(event: dict[str, object]) -> object:
        return event["customer"]

    assert [] == on_order.__syscontract__.problems()  # type: ignore[attr-defined]  # what verify() checks
    assert [s["customer"] for s in SAMPLES] == [on_order(json.dumps(s).encode()) for s in SAMPLES]
    with pytest.raises(MissingCriticalField):
        on_order({"orderId": "o-4", "customer": {"id": "c-4"}, "total": 1.5})


def test_avro_samples_make_an_avro_contract_that_reads_its_own_encoding(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--avro", "--from", *samples])
    schema = json.loads(Path("contracts/order/v1.avsc").read_text())
    assert "record" == schema["type"]
    coupon = next(f for f in schema["fields"] if f["name"] == "coupon")
    assert (["null", "string"], None) == (coupon["type"], coupon["default"])
    contract = syscontract.Contract.from_avro("order.v1", schema)
    encoded = syscontract.encode(contract, SAMPLES[0], format="avro")
    assert SAMPLES[0]["customer"] == syscontract.check(contract, encoded.value, ["customer.customerTier"],
                                                       headers=encoded.headers)["customer"]  # fmt: skip


def test_json_lines_on_stdin_are_samples(
    samples: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(s) for s in SAMPLES) + "\n"))
    assert 0 == main(["init", "order"])
    assert "from 3 samples" in capsys.readouterr().out


def test_a_compatible_next_version_is_written_with_what_changed(
    samples: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    forward(tmp_path)
    capsys.readouterr()
    newer = [{**s, "channel": "web"} if i == 0 else s for i, s in enumerate(SAMPLES)]  # an optional field
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert 0 == main(["init", "order", "--from", "newer.json"])
    output = capsys.readouterr().out
    assert "+ channel: string (optional)" in output
    assert "order.v2 after order.v1 (FORWARD): compatible" in output
    assert Path("contracts/order/v2.schema.json").is_file()


def test_an_incompatible_next_version_is_refused_unless_forced(
    samples: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    forward(tmp_path)
    (tmp_path / "stale.jsonl").write_text(json.dumps({"orderId": "o-9", "customer": {"id": "c-9"}, "total": 1.5}))
    assert 1 == main(["init", "order", "--from", "stale.jsonl"])
    captured = capsys.readouterr()
    assert "- customer.customerTier" in captured.out
    assert "INCOMPATIBLE" in captured.out and "not written" in captured.err
    assert not Path("contracts/order/v2.schema.json").exists()
    assert 0 == main(["init", "order", "--from", "stale.jsonl", "--force"])
    assert Path("contracts/order/v2.schema.json").is_file()


def test_samples_that_match_the_latest_version_write_nothing(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["init", "order", "--from", *samples])
    assert 0 == main(["init", "order", "--from", *samples])
    assert "order.v1: the samples match it; nothing written" in capsys.readouterr().out
    assert not Path("contracts/order/v2.schema.json").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"a": 1}\nnot json\n', "line 2 is not JSON"),
        ("", "no sample messages"),
    ],
)
def test_bad_samples_are_a_usage_error(
    samples: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (tmp_path / "bad.json").write_text(text)
    assert 2 == main(["init", "order", "--from", "bad.json"])
    assert expected in capsys.readouterr().err
    assert not Path("contracts/order").exists()


def test_a_bad_name_and_an_avro_unfriendly_field_are_usage_errors(
    samples: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == main(["init", "../escape", "--from", *samples])
    (tmp_path / "dashed.json").write_text(json.dumps({"order-id": "o-1"}))
    assert 2 == main(["init", "order", "--avro", "--from", "dashed.json"])
    assert "not a valid Avro field name" in capsys.readouterr().err


# -- samples nested deeper than inference can go (finding 12) ------------------------------------------


def _nested_objects(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def _nested_arrays(depth: int) -> str:
    return '{"a": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


DEEP = 100_000


@pytest.mark.parametrize(
    ("text", "where", "depth"),
    [
        (_nested_objects(DEEP), "deep.json", DEEP),
        (_nested_arrays(DEEP), "deep.json", DEEP),
        ("\n".join('{"a": ' for _ in range(DEEP)) + "1" + "}" * DEEP, "deep.json", DEEP),  # one document, many lines
        ('{"a": 1}\n' + _nested_objects(DEEP) + "\n", "deep.json: line 2", DEEP),  # JSON lines, one of them deep
        ("[" + _nested_objects(MAX_NESTING + 1) + "]", "deep.json", MAX_NESTING + 1),  # an array of samples
        (_nested_objects(MAX_NESTING + 1), "deep.json", MAX_NESTING + 1),
    ],
    ids=["objects", "arrays", "pretty-printed", "json-lines", "in-an-array", "one-past-the-limit"],
)
def test_a_sample_nested_past_the_limit_is_a_one_line_usage_error_not_a_recursion_error(
    samples: list[str], capsys: pytest.CaptureFixture[str], text: str, where: str, depth: int
) -> None:
    """json's scanner and genson recurse per level: nesting is counted first, without recursion."""
    Path("deep.json").write_text(text)
    for avro in ([], ["--avro"]):
        assert 2 == main(["init", "order", "--from", "deep.json", *avro])
        err = capsys.readouterr().err
        assert [
            f"syscontract init: error: {where}: a sample nests {depth} levels of arrays and objects; samples may "
            f"nest at most {MAX_NESTING}"
        ] == err.splitlines()
        assert not Path("contracts/order").exists()


def test_deep_json_lines_on_stdin_are_a_usage_error(
    samples: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(_nested_arrays(DEEP) + "\n"))
    assert 2 == main(["init", "order"])
    assert "<stdin>: a sample nests" in capsys.readouterr().err


@pytest.mark.parametrize("nested", [_nested_objects, _nested_arrays], ids=["objects", "arrays"])
@pytest.mark.parametrize("avro", [False, True], ids=["jsonschema", "avro"])
def test_a_sample_at_the_nesting_limit_makes_a_contract_and_a_line_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nested: Any, avro: bool
) -> None:
    (tmp_path / "deep.json").write_text(f"[{nested(MAX_NESTING)}, {nested(MAX_NESTING)}]")  # an array of samples
    root = tmp_path / "contracts"
    assert 0 == main(["init", "order", "--from", str(tmp_path / "deep.json"), "--contracts", str(root)]
                     + ["--avro"] * avro)  # fmt: skip
    handler = paste(capsys.readouterr().out, root)
    assert [] == handler.__syscontract__.problems()
    assert json.loads(nested(MAX_NESTING)) == handler(nested(MAX_NESTING).encode())


# -- keys a field path cannot name (finding 13) ---------------------------------------------------------


def paste(output: str, root: Path) -> Any:
    """The printed ``@requires`` line pasted on a handler, as a user would, against the contracts in
    ``root``: the handler it declares (the declaration fails here if the line does not work)."""
    (line,) = [line for line in output.splitlines() if line.lstrip().startswith("@requires(")]
    source = f"from syscontract import requires\n\n{line.strip()}\ndef on_event(event):\n    return event\n"
    syscontract.configure(registry=str(root))
    namespace: dict[str, Any] = {}
    exec(compile(source, "<pasted>", "exec"), namespace)
    return namespace["on_event"]


def left_out(output: str) -> list[tuple[str, ...]]:
    """The key chains listed under "left out of that line"."""
    lines = output.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("left out of that line")]
    if not heads:
        return []
    chains = []
    for line in lines[heads[0] + 1 :]:
        match = re.match(r"^    (?P<chain>\[.*\]): ", line)
        assert match is not None, line
        chains.append(tuple(ast.literal_eval(match["chain"])))
    return chains


def test_keys_with_dots_brackets_or_no_name_are_left_out_of_the_line_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = {"a.b": 1, "a": {"b": 2}, "c[]": 3, "": 4, "d": {"e.f": 5, "g": 6}, "é": 7, "😀": 8, "x y": 9}
    (tmp_path / "s.json").write_text(json.dumps(sample))
    root = tmp_path / "contracts"
    assert 0 == main(["init", "odd", "--from", str(tmp_path / "s.json"), "--contracts", str(root)])
    output = capsys.readouterr().out
    assert ("odd.v1", ["a.b", "d.g", "é", "😀", "x y"]) == requires_line(output)  # "a.b" once: a, then b
    assert [("a.b",), ("c[]",), ("",), ("d", "e.f")] == left_out(output)
    assert '    ["d", "e.f"]: \'.\' in the name: a path reads it as nesting' in output.splitlines()
    handler = paste(output, root)
    assert [] == handler.__syscontract__.problems()
    assert 2 == handler(json.dumps(sample).encode())["a"]["b"]


def test_a_lone_surrogate_key_is_refused_as_not_unicode_naming_where(
    samples: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("odd.json").write_text('{"orderId": "o-1", "customer": {"id": "c", "\\ud800/x": 1}}')
    assert 2 == main(["init", "order", "--from", "odd.json"])
    (line,) = capsys.readouterr().err.splitlines()
    assert "odd.json: the key at '/customer/\\ud800~1x' holds a lone surrogate, which is not Unicode text" in line
    assert "reference" not in line
    assert not Path("contracts/order").exists()


_KEY_PARTS = st.sampled_from(
    ["a", "b", "0", ".", "[", "]", "[]", "é", "😀", " ", "\n", "\t", "\u2028", "\x00", "\x85", '"', "'", "\\", "*",
     "$ref"]
)  # fmt: skip
_KEYS = st.one_of(st.just(""), st.lists(_KEY_PARTS, min_size=1, max_size=3).map("".join), st.text(max_size=3))
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5), st.text(max_size=3))
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=2), st.dictionaries(_KEYS, children, max_size=3)),
    max_leaves=8,
)


@st.composite
def sample_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to three samples: the first drawn, the others it with top-level keys dropped or nulled; now
    and then a key holding a lone surrogate (which JSON's escapes can carry) somewhere in the first."""
    first = draw(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=5))
    if draw(st.integers(0, 7)) == 0:
        holders = [value for value in [first, *_containers(first)] if isinstance(value, dict)]
        draw(st.sampled_from(holders))[draw(st.sampled_from(["\ud800", "a\udfff", "\ud83d.x"]))] = draw(_VALUES)
    samples = [first]
    for _ in range(draw(st.integers(0, 2))):
        other = copy.deepcopy(first)
        for key in draw(st.lists(st.sampled_from(sorted(first)), max_size=2)):
            if draw(st.booleans()):
                other.pop(key, None)
            else:
                other[key] = None
        samples.append(other)
    return samples


def _containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value``."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        inner = list(item.values()) if isinstance(item, dict) else item if isinstance(item, list) else []
        found.extend(child for child in inner if isinstance(child, (dict, list)))
        stack.extend(inner)
    return found


def _keys(value: Any) -> list[str]:
    """Every key anywhere in ``value``."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _names(key: str) -> bool:
    """Whether a path segment can name ``key``: the path grammar reads it back as exactly ``key``."""
    try:
        return ((key, 0),) == parse_path(key).steps
    except syscontract.ContractDeclarationError:
        return False


def _offered(schema: dict[str, Any], chain: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key chains of the leaves every sample sent non-null, read from the written schema: each must
    be on the line, or it (or a key above it) listed as left out."""
    found = []
    for name, prop in schema.get("properties", {}).items():
        types = prop.get("type")
        types = types if isinstance(types, list) else [types]
        if name not in schema.get("required", ()) or "null" in types or "anyOf" in prop:
            continue
        if types == ["object"] and prop.get("properties"):
            found.extend(_offered(prop, (*chain, name)))
        else:
            found.append((*chain, name))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples=sample_sets(), avro=st.booleans(), lines=st.booleans(), ascii_only=st.booleans())
def test_every_printed_requires_line_declares_when_pasted(
    samples: list[dict[str, Any]], avro: bool, lines: bool, ascii_only: bool
) -> None:
    """Whatever the sample keys (dots, brackets, empty, unicode, surrogates, nesting), init either
    refuses in one line, or prints a line that, pasted on a handler, declares against the contract it
    wrote and accepts every sample; what the line could not name is listed after it."""
    keys = _keys(samples)
    ascii_only = ascii_only or any(_surrogate(text) for text in [*keys, str(samples)])  # no UTF-8 for those
    text = (
        "\n".join(json.dumps(sample, ensure_ascii=ascii_only) for sample in samples)
        if lines
        else json.dumps(samples, ensure_ascii=ascii_only)
    )
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "samples.json").write_text(text, encoding="utf-8")
        root = work / "contracts"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["init", "ev", "--from", str(work / "samples.json"), "--contracts", str(root)]
                        + ["--avro"] * avro)  # fmt: skip
        output = out.getvalue()
        if any(_surrogate(key) for key in keys):
            assert (2, 1) == (code, len(err.getvalue().splitlines())), err.getvalue()
            assert "holds a lone surrogate, which is not Unicode text" in err.getvalue()
            event("refused: a surrogate key")
            return
        if code == 2 and avro:  # Avro names fields with letters, digits and '_' only
            assert 1 == len(err.getvalue().splitlines()) and "syscontract init: error: " in err.getvalue()
            return
        assert 0 == code, err.getvalue()
        event("pasted")
        assert all(
            line.startswith(("wrote ", "required (in every sample): ", "paste on the handler", "    ", "left out of"))
            for line in output.splitlines()
        ), output  # every key on one line, whatever it holds

        handler = paste(output, root)
        assert [] == handler.__syscontract__.problems()
        for sample in samples:  # every field listed was in every sample, never null
            handler(json.dumps(sample).encode())
        _, fields = requires_line(output)
        for path in fields:
            assert all(step == 0 for _, step in parse_path(path).steps)
        unnamed = left_out(output)
        if not avro:  # all the written schema offers is either on the line or said to be left out
            schema = json.loads((root / "ev" / "v1.schema.json").read_text())
            for chain in _offered(schema):
                named = all(_names(key) for key in chain)
                assert (".".join(chain) in fields) if named else any(chain[: len(u)] == u for u in unnamed), chain

        toml = root / "ev" / "contract.toml"  # the commented critical line works when uncommented
        toml.write_text(toml.read_text().replace("# critical = [", "critical = ["))
        assert tuple(fields[:3]) == syscontract.FileRegistry(root).get("ev.v1").critical
