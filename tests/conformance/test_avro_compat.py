"""Avro schema resolution (``syscontract.compat.avro``) against Apache Avro's own verdicts.

Data: ``tests/data/avro_compat_pairs.json`` (131 reader/writer pairs with the expected verdict and,
where upstream asserts one, the incompatibility type) and ``tests/data/avro_resolution_decoding_cases.json``
(a datum written with one schema and read with another). Origin and licence: ``tests/data/SOURCES.md``.

The decoding cases are *datum*-level: each datum happens to be readable. Four of them pair schemas
that are not compatible as schemas, and Avro's own schema-level suite (the pairs file) says so:
cases 06 and 07 are pairs 084 and 085 (writer enum symbols the reader lacks, no reader default:
``MISSING_ENUM_SYMBOLS``), case 10 is pair 088 (a writer union branch, ``int``, the reader union
cannot read: ``MISSING_UNION_BRANCH``), and case 09 is the same writer union against a plain
``string`` reader. For those, ``can_read`` is False, as the specification requires, while the datum
still decodes; the tests assert both.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import fastavro
import pytest

from syscontract.compat import avro

DATA = Path(__file__).parent.parent / "data"
PAIRS = json.loads((DATA / "avro_compat_pairs.json").read_text(encoding="utf-8"))
DECODING = json.loads((DATA / "avro_resolution_decoding_cases.json").read_text(encoding="utf-8"))["cases"]

# decoding cases whose schemas Avro's schema-level suite calls incompatible (see the module docstring)
SCHEMA_INCOMPATIBLE = {
    "avro-resolve-06": "MISSING_ENUM_SYMBOLS",
    "avro-resolve-07": "MISSING_ENUM_SYMBOLS",
    "avro-resolve-09": "TYPE_MISMATCH",
    "avro-resolve-10": "MISSING_UNION_BRANCH",
}


def test_all_pairs_are_present() -> None:
    assert 131 == len(PAIRS)
    assert 11 == len(DECODING)


@pytest.mark.parametrize("pair", PAIRS, ids=[p["id"] for p in PAIRS])
def test_can_read_matches_avro(pair: dict[str, Any]) -> None:
    assert pair["compatible"] == avro.can_read(pair["reader"], pair["writer"])


@pytest.mark.parametrize("pair", PAIRS, ids=[p["id"] for p in PAIRS])
def test_problems_name_avros_incompatibility_type(pair: dict[str, Any]) -> None:
    found = avro.problems(pair["reader"], pair["writer"])
    assert pair["compatible"] == (not found)
    kinds = {problem.kind for problem in found}
    assert set(pair["incompatibility_types"] or ()) <= kinds
    assert all(problem.message for problem in found)


def test_a_pair_that_upstream_leaves_untyped_is_a_missing_default() -> None:
    (pair,) = [p for p in PAIRS if p["id"] == "avro-compat-143"]

    (problem,) = avro.problems(pair["reader"], pair["writer"])

    assert "READER_FIELD_MISSING_DEFAULT_VALUE" == problem.kind
    assert "/fields/newField2" == problem.path
    assert "newField2" == problem.field


def test_problem_paths_follow_upstream_locations_with_field_names() -> None:
    (pair,) = [p for p in PAIRS if p["id"] == "avro-compat-082"]  # upstream location /fields/1/type/size

    (problem,) = avro.problems(pair["reader"], pair["writer"])

    assert ("FIXED_SIZE_MISMATCH", "/fields/b/size", "b") == (problem.kind, problem.path, problem.field)


@pytest.mark.parametrize("case", DECODING, ids=[c["id"] for c in DECODING])
def test_decoding_case_schema_verdict(case: dict[str, Any]) -> None:
    expected_kind = SCHEMA_INCOMPATIBLE.get(case["id"])

    found = avro.problems(case["reader"], case["writer"])

    if expected_kind is None:
        assert [] == found
        assert avro.can_read(case["reader"], case["writer"])
    else:
        assert [expected_kind] == [problem.kind for problem in found]
        assert not avro.can_read(case["reader"], case["writer"])


@pytest.mark.parametrize("case", DECODING, ids=[c["id"] for c in DECODING])
def test_decoding_case_round_trips_through_fastavro(case: dict[str, Any]) -> None:
    writer = fastavro.parse_schema(case["writer"], named_schemas={})
    reader = fastavro.parse_schema(case["reader"], named_schemas={})
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, writer, case["writer_datum"])
    buffer.seek(0)

    decoded = fastavro.schemaless_reader(buffer, writer, reader)

    expected = case["expected_reader_datum"]
    if case["id"] == "avro-resolve-04":
        # Java narrows to a 32-bit float; Python keeps 64 bits, so compare as float32 (shared README)
        assert struct.pack("<f", expected) == struct.pack("<f", decoded)
    else:
        assert expected == decoded
        assert type(expected) is type(decoded)
