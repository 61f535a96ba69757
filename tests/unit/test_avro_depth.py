"""A recursive Avro schema (a tree, a linked list) lets a small message nest without bound, and
fastavro's C reader recurses once per level: 10 KB crashed the process. The decoder walks such a
body's bounds first, without recursion (``wire/avro.py`` ``check_bounds``, ``MAX_DEPTH``)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syscontract import DecodeError
from syscontract.wire import avro

TREE = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Tree",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "children", "type": {"type": "array", "items": "Tree"}},
            {"name": "next", "type": ["null", "Tree"]},
            {"name": "tags", "type": {"type": "map", "values": "string"}},
        ],
    }
)


def _height(tree: dict[str, Any]) -> int:
    below = [*tree["children"], *([tree["next"]] if tree["next"] is not None else [])]
    return 1 + max(map(_height, below), default=0)


_TREES = st.recursive(
    st.builds(lambda v: {"value": v, "children": [], "next": None, "tags": {}}, st.integers(-(2**31), 2**31 - 1)),
    lambda inner: st.builds(
        lambda v, children, nxt, tags: {"value": v, "children": children, "next": nxt, "tags": tags},
        st.integers(-5, 5),
        st.lists(inner, max_size=3),
        st.none() | inner,
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(tree=_TREES, limit=st.integers(1, 30))
def test_the_walk_refuses_exactly_the_trees_nested_past_the_limit(tree: dict[str, Any], limit: int) -> None:
    body = avro.encode(tree, TREE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(avro, "MAX_DEPTH", limit)
        # a Tree is a record (one level) whose array, union and map are one level below it, and whose
        # child trees are one more below those: the deepest levels are 2 x height - 1
        if 2 * _height(tree) - 1 >= limit:
            with pytest.raises(DecodeError) as caught:
                avro.check_bounds(body, 0, TREE)
            assert "too-deep" == caught.value.reason
        else:
            avro.check_bounds(body, 0, TREE)  # walked to the end without a doubt
    assert tree == fastavro.schemaless_reader(io.BytesIO(body), TREE)


@settings(max_examples=300, deadline=None)
@given(tree=_TREES, data=st.data())
def test_a_damaged_body_is_walked_to_a_verdict(tree: dict[str, Any], data: st.DataObject) -> None:
    body = bytearray(avro.encode(tree, TREE))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at] = data.draw(st.integers(0, 255))
    try:
        avro.check_bounds(bytes(body), 0, TREE)
    except DecodeError as error:
        assert error.reason in ("bad-avro", "too-large", "too-deep")


def test_recursion_is_found_through_unions_collections_and_other_types() -> None:
    assert avro.recursive(TREE)
    mutual = {
        "type": "record",
        "name": "A",
        "fields": [
            {"name": "b", "type": {"type": "record", "name": "B", "fields": [{"name": "a", "type": ["null", "A"]}]}}
        ],
    }
    assert avro.recursive(fastavro.parse_schema(mutual))
    reused = {
        "type": "record",
        "name": "Pair",
        "fields": [
            {"name": "left", "type": {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "int"}]}},
            {"name": "right", "type": "Point"},  # used twice, never inside itself
        ],
    }
    assert not avro.recursive(fastavro.parse_schema(reused))


_CHILD = textwrap.dedent(
    """
    import json, sys
    import syscontract
    from syscontract import Contract, ContractError, MemoryRegistry, requires
    from syscontract.integrations._messaging import GuardCheck
    from syscontract.wire import confluent

    node = Contract.from_avro("node.v1", {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]})
    registry = MemoryRegistry()
    registry.add(node, schema_id=1)
    syscontract.configure(registry=registry)
    nodes = int(sys.argv[1])
    body = confluent.encode(1, b"\\x02\\x02" * (nodes - 1) + b"\\x02\\x00")  # value 1, then the next node

    @requires("node.v1", ["value"])
    def handle(message):
        return "ok"

    guard = GuardCheck("node.v1", ["value"])
    routes = {
        "check": lambda: syscontract.check("node.v1", body, ["value"]) and "ok",
        "requires": lambda: handle(body),
        "guard": lambda: guard.run(body, None) and "ok",
    }
    for name, route in routes.items():
        for _ in range(2):  # the first call plans the writer, the second meets it planned
            try:
                print(name, route())
            except ContractError as error:
                print(name, error.reason)
    """
)


@pytest.mark.parametrize("nodes", [1, 100, 512, 513, 5_000, 1_000_000])
def test_a_deep_linked_list_is_refused_on_every_route_never_a_crash(nodes: int) -> None:
    # in a child process: without the bound, fastavro crashes the process that reads it
    run = subprocess.run([sys.executable, "-c", _CHILD, str(nodes)], capture_output=True, text=True, timeout=120)
    assert 0 == run.returncode, run.stderr[-2000:]
    expected = "ok" if 2 * nodes - 1 < avro.MAX_DEPTH else "too-deep"
    assert [f"{route} {expected}" for route in ("check", "requires", "guard") for _ in range(2)] == run.stdout.split(
        "\n"
    )[:-1]


_PRODUCER = textwrap.dedent(
    """
    import sys
    from syscontract import Contract, ContractError
    from syscontract.encoding import encode

    node = Contract.from_avro("node.v1", {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]})
    head = None
    for value in range(int(sys.argv[1])):
        head = {"value": value, "next": head}
    try:
        print(type(encode(node, head, format="avro").value).__name__)
    except ContractError as error:
        print(type(error).__name__, error.reason)
    """
)


@pytest.mark.parametrize("nodes", [1, 512, 513, 20_000])
def test_a_producer_writes_what_readers_accept_and_refuses_the_rest_never_a_crash(nodes: int) -> None:
    # fastavro's C writer crashes the process at some thousands of levels, as its reader does
    run = subprocess.run([sys.executable, "-c", _PRODUCER, str(nodes)], capture_output=True, text=True, timeout=120)
    assert 0 == run.returncode, run.stderr[-2000:]
    assert ("bytes" if 2 * nodes - 1 < avro.MAX_DEPTH else "FieldTypeError too-deep") == run.stdout.strip()


def test_zero_width_items_named_under_a_union_root_are_bounded() -> None:
    # a union root keeps its named types on its branches: the zero-width scan must look there too,
    # or six bytes ask fastavro for two billion empty records
    from syscontract import Contract, MemoryRegistry, check
    from syscontract.wire import confluent

    schema = [
        "null",
        {"type": "record", "name": "Empty", "fields": []},
        {"type": "record", "name": "Batch", "fields": [{"name": "xs", "type": {"type": "array", "items": "Empty"}}]},
    ]
    registry = MemoryRegistry()
    registry.add(Contract.from_avro("batch.v1", schema), schema_id=1)
    assert avro.zero_width(fastavro.parse_schema(schema))
    huge = confluent.encode(1, b"\x04" + b"\xfe\xff\xff\xff\x0f" + b"\x00")  # branch Batch, 2**31 - 1 items
    with pytest.raises(DecodeError) as caught:
        check("batch.v1", huge, registry=registry)
    assert "too-large" == caught.value.reason
    three = confluent.encode(1, b"\x04\x06\x00")
    assert {"xs": [{}, {}, {}]} == check("batch.v1", three, registry=registry)
