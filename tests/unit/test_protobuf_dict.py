"""The dict form of a protobuf message (``_engine.protobuf.as_dict``, what a handler that declares a
dict receives): the same dict as ``json_format.MessageToDict`` for every kind of field, walked from a
plan made once per message type. The schema is tests/data/protobuf/acme/kinds/v1.proto, compiled by
the registry's own compiler."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("google.protobuf")
pytest.importorskip("grpc_tools")

from google.protobuf import json_format

from syscontract import Contract
from syscontract._engine.protobuf import as_dict
from syscontract.errors import DecodeError
from syscontract.formats.protobuf import compile_proto

ROOT = Path(__file__).parents[1] / "data" / "protobuf"


@pytest.fixture(scope="module")
def kinds() -> Any:
    data = compile_proto(ROOT / "acme/kinds/v1.proto", ROOT)
    return Contract.from_protobuf("kinds.v1", data, message="Kinds").native.message_class


def _messages(cls: Any) -> list[Any]:
    from google.protobuf.message_factory import GetMessageClass

    inner = GetMessageClass(cls.DESCRIPTOR.fields_by_name["inner"].message_type)
    everything = cls(
        d=-1.5, f=0.1, i32=-7, i64=-(2**62), u32=2**32 - 1, u64=2**64 - 1, s32=-3, s64=-(2**40), x32=9, x64=2**63,
        sx32=-9, sx64=-(2**63), flag=True, text="héllo", raw=b"\x00\xff", colour=2, maybe_colour=0, maybe_d=0.0,
        ds=[math.inf, -math.inf, math.nan, 1e308, 5e-324], fs=[0.1, 3.4e38, math.inf], colours=[1, 0, 7],
        raws=[b"", b"ab"], inner=inner(name="", counts=[0, -1]), inners=[inner(), inner(name="n")],
        by_name={"a": inner(name="x"), "b": inner()}, by_flag={True: "t", False: "f"}, by_number={-5: 1, 2**40: 9},
        raw_by_number={0: b"z"}, left="l", with_presence=0,
    )  # fmt: skip
    everything.at.FromSeconds(1_700_000_000)
    everything.extra.update({"k": [1, "two", None, {"x": True}]})
    everything.wrapped.value = 5
    everything.any_value.string_value = "v"
    return [
        everything,
        cls(),  # nothing sent: {}
        cls(colour=99, d=math.nan),  # an open enum's unknown number, a NaN
        cls(right=inner(), inner=inner()),  # empty messages that were sent
        cls(i32=0, text="", flag=False, maybe_d=-0.0),  # zeros: only the one with presence is there
    ]


def test_the_walk_gives_message_to_dicts_dict_for_every_kind_of_field(
    kinds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed: list[str] = []
    original = json_format.MessageToDict

    def counted(message: Any, **options: Any) -> Any:
        printed.append(message.DESCRIPTOR.full_name)
        return original(message, **options)

    for message in _messages(kinds):
        expected = original(message)
        monkeypatch.setattr(json_format, "MessageToDict", counted)
        found = as_dict(message)
        monkeypatch.undo()
        assert _same(expected, found), (expected, found)
        assert list(expected) == list(found)  # the same keys in the same order
    # walked, not printed: only the well-known types are left to MessageToDict
    assert {"google.protobuf.Timestamp", "google.protobuf.Struct", "google.protobuf.Int64Value",
            "google.protobuf.Value"} == set(printed)  # fmt: skip


def test_an_unsent_field_is_not_in_the_dict_and_a_sent_zero_with_presence_is(kinds: Any) -> None:
    assert {} == as_dict(kinds())
    assert {"maybeColour": "COLOUR_UNSPECIFIED", "withPresence": 0} == as_dict(
        kinds(maybe_colour=0, with_presence=0, i32=0)
    )


def test_a_message_without_a_json_mapping_is_a_decode_error(kinds: Any) -> None:
    message = kinds()
    message.extra.fields["bad"].number_value = math.nan  # a Struct cannot hold NaN in JSON
    with pytest.raises(DecodeError) as raised:
        as_dict(message)
    assert "bad-protobuf" == raised.value.reason


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, and of the same types (1 and 1.0, True and 1 are not the same)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
