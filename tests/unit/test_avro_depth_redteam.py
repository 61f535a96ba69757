"""Red team of the recursive-Avro bound (``wire/avro.py`` ``recursive``, ``check_bounds``,
``MAX_DEPTH``; ``encode``'s ``TooDeep``). Anything that may crash runs in a child process.

The tests marked DEFECT found one (each says which promise the code broke and what was observed
before the fix); all are fixed and stay as regression tests, beside the strongest probes that held."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import textwrap

import fastavro
import pytest

from syscontract import Contract, DecodeError
from syscontract.wire import avro

NODE = {
    "type": "record",
    "name": "Node",
    "fields": [{"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}],
}


def _child(code: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


# -- promise 3: detection of recursion ---------------------------------------------------------


def test_recursion_through_a_schema_reference_is_detected() -> None:
    # DEFECT, fixed (promise 3). A Schema Registry reference (Contract.from_avro(..., references=[...])) that
    # defines a recursive type: fastavro's parsed root only names it ("ns.Node"), its definition lives
    # in __named_schemas, and recursive() never follows a name. Observed: recursive() is False, so the
    # decoder plans no scan (see the crash test below).
    node = {**NODE, "namespace": "ns"}
    root = {"type": "record", "name": "Root", "namespace": "ns", "fields": [{"name": "head", "type": "Node"}]}
    contract = Contract.from_avro("root.v1", root, references=[node])
    assert avro.recursive(contract.native)


_DEEP_READ = """
    import sys, syscontract
    from syscontract import Contract, ContractError, MemoryRegistry
    from syscontract.integrations._messaging import GuardCheck
    from syscontract.wire import confluent
    node = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}
    shape, nodes = sys.argv[1], int(sys.argv[2])
    chain = b"\\x02\\x02" * (nodes - 1) + b"\\x02\\x00"
    if shape == "reference":  # Root {head: Node}, Node defined by a schema reference
        contract = Contract.from_avro("deep.v1", {"type": "record", "name": "Root", "fields": [
            {"name": "head", "type": "Node"}]}, references=[node])
        body = chain
    else:  # a top-level union ["null", Node]
        contract = Contract.from_avro("deep.v1", ["null", node])
        body = b"\\x02" + chain
    registry = MemoryRegistry()
    registry.add(contract, schema_id=1)
    syscontract.configure(registry=registry)
    raw = confluent.encode(1, body)
    routes = {
        "check": lambda: syscontract.check("deep.v1", raw),
        "guard": lambda: GuardCheck("deep.v1", []).run(raw, None),
    }
    for name, route in routes.items():
        try:
            route()
            print(name, "ok", flush=True)
        except ContractError as error:
            print(name, error.reason, flush=True)
"""


@pytest.mark.parametrize("shape", ["reference", "union"])
def test_a_deep_list_of_a_recursive_type_the_detection_misses_is_refused_never_a_crash(shape: str) -> None:
    # DEFECT, fixed (promise 1, via promise 3). 100,000 linked nodes (~200 KB), Confluent-framed:
    # - "reference": the recursive type comes from a schema reference; recursive() is False, no scan.
    # - "union": the contract's root is the union ["null", Node]; recursive() is True, but
    #   check_bounds takes named types only from a dict root's __named_schemas, so for a list
    #   root the reference "Node" inside Node is walked as `bytes` (a length, skipped) and the walk
    #   stops 3 levels down; the walk does not require the body to end there either.
    # Expected: "check too-deep" then "guard too-deep". Observed: the child dies with SIGSEGV (-11)
    # inside fastavro's reader on the first route.
    run = _child(_DEEP_READ, shape, 100_000)
    assert 0 == run.returncode, f"the consumer crashed (returncode {run.returncode}): {run.stderr[-500:]}"
    assert ["check too-deep", "guard too-deep"] == run.stdout.split("\n")[:-1]


# -- promise 2: the walk agrees with fastavro ---------------------------------------------------


def test_the_walk_resolves_named_types_of_a_top_level_union_schema() -> None:
    # DEFECT, fixed (promise 2). Root ["null", Node]; body: branch Node{value 0, next: branch Node{value
    # 100, next null}}, 6 bytes that fastavro reads. The walk treats the inner "Node" reference as
    # bytes, reads 0xc8 0x01 (100) as a length and runs off the end.
    # Expected: the walk passes. Observed: DecodeError bad-avro "Avro body ends inside a value",
    # so syscontract.check refuses a valid message.
    schema = Contract.from_avro("u.v1", ["null", NODE]).native
    body = b"\x02\x00\x02\xc8\x01\x00"
    assert {"value": 0, "next": {"value": 100, "next": None}} == fastavro.schemaless_reader(io.BytesIO(body), schema)
    avro.check_bounds(body, 0, schema)


_RICH = {
    "type": "record",
    "name": "Node",
    "namespace": "a.b",
    "aliases": ["Old"],
    "fields": [
        {"name": "f", "type": {"type": "fixed", "name": "F4", "size": 4}},
        {"name": "e", "type": {"type": "enum", "name": "Color", "namespace": "c", "symbols": ["R", "G", "B"]}},
        {"name": "by", "type": "bytes"},
        {"name": "fl", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "b", "type": "boolean"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "dec", "type": {"type": "fixed", "name": "Dec", "size": 3, "logicalType": "decimal", "precision": 5}},
        {
            "name": "m",
            "type": {
                "type": "map",
                "values": {
                    "type": "array",
                    "items": [
                        "null",
                        "F4",
                        "c.Color",
                        {"type": "record", "name": "Leaf", "fields": [{"name": "x", "type": "long"}]},
                    ],
                },
            },
        },
        {"name": "kids", "type": {"type": "array", "items": "Node"}},
        {
            "name": "alt",
            "type": [
                "null",
                "Leaf",
                {
                    "type": "record",
                    "name": "Other",
                    "namespace": "z",
                    "fields": [{"name": "n", "type": ["null", "a.b.Node"]}],
                },
            ],
        },
        {"name": "f2", "type": "F4"},
        {"name": "e2", "type": "c.Color"},
    ],
}


def test_the_walk_agrees_with_fastavro_on_a_rich_recursive_schema_and_damaged_bodies() -> None:
    # held (promise 2): fixed, enum, bytes, float, double, boolean, logical types, maps of arrays of
    # unions, named types reused across namespaces, recursion through a record of another namespace.
    # Every body fastavro writes passes; a damaged body fastavro reads to its end is refused only for
    # a negative union index (stricter than fastavro, on the safe side).
    schema = fastavro.parse_schema(_RICH)
    assert avro.recursive(schema)
    rnd = random.Random(7)

    def leaf() -> object:
        return rnd.choice([None, b"abcd", rnd.choice("RGB"), {"x": rnd.randint(-(2**40), 2**40)}])

    def node(depth: int) -> dict[str, object]:
        kids = [node(depth - 1) for _ in range(rnd.randint(0, 2))] if depth > 0 else []
        alt = rnd.choice([None, ("a.b.Leaf", {"x": 5}), ("z.Other", {"n": node(depth - 1) if depth > 0 else None})])
        return {
            "f": rnd.randbytes(4), "e": rnd.choice("RGB"), "by": rnd.randbytes(rnd.randint(0, 200)),
            "fl": rnd.random(), "d": rnd.random(), "b": rnd.random() < 0.5, "ts": rnd.randint(0, 2**41),
            "dec": b"\x00\x01\x02",
            "m": {str(i): [leaf() for _ in range(rnd.randint(0, 3))] for i in range(rnd.randint(0, 3))},
            "kids": kids, "alt": alt, "f2": b"wxyz", "e2": "G",
        }  # fmt: skip

    for _ in range(150):
        stream = io.BytesIO()
        fastavro.schemaless_writer(stream, schema, node(rnd.randint(0, 4)))
        body = stream.getvalue()
        avro.check_bounds(body, 0, schema)
        for _ in range(20):
            damaged = bytearray(body)
            for _ in range(rnd.randint(1, 3)):
                damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
            stream = io.BytesIO(bytes(damaged))
            try:
                fastavro.schemaless_reader(stream, schema)
            except Exception:
                continue
            if stream.tell() == len(damaged):
                try:
                    avro.check_bounds(bytes(damaged), 0, schema)
                except DecodeError as error:
                    # the one disagreement found: fastavro takes a negative union index as Python
                    # list indexing from the end (schema[-2]); the walk refuses it (invalid Avro)
                    assert "union index -" in error.detail, error.detail


def test_negative_block_counts_with_sizes_keep_the_walk_in_step() -> None:
    # held (promise 2): arrays and maps written as blocks of negative count plus byte size
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "N",
            "fields": [
                {"name": "xs", "type": {"type": "array", "items": "long"}},
                {"name": "m", "type": {"type": "map", "values": "string"}},
                {"name": "next", "type": ["null", "N"]},
            ],
        }
    )
    one = b"\x03\x04\x02\x04" + b"\x02\x02" + b"\x00" + b"\x01\x08\x02k\x02v" + b"\x00"  # xs [1,2], then [1]; m {k: v}
    body = (one + b"\x02") * 300 + one + b"\x00"
    value = fastavro.schemaless_reader(io.BytesIO(body), schema)
    assert {"k": "v"} == value["m"] and [1, 2, 1] == value["xs"]
    avro.check_bounds(body, 0, schema)
    with pytest.raises(DecodeError) as caught:
        avro.check_bounds((one + b"\x02") * 600 + one + b"\x00", 0, schema)
    assert "too-deep" == caught.value.reason


# -- promise 1: no hang, no huge allocation ----------------------------------------------------

_ZERO_WIDTH = """
    import sys, time, syscontract
    from syscontract import Contract, ContractError, MemoryRegistry
    from syscontract.wire import confluent
    contract = Contract.from_avro("nn.v1", {"type": "record", "name": "N", "fields": [
        {"name": "xs", "type": {"type": "array", "items": {"type": "array", "items": "null"}}}]})
    registry = MemoryRegistry()
    registry.add(contract, schema_id=1)
    inner = b"\\x80\\x89\\x7a\\x00"  # one block of 1,000,000 nulls, then the end: 4 bytes
    outer = int(sys.argv[1])
    body = bytes([outer * 2]) + inner * outer + b"\\x00"
    started = time.monotonic()
    try:
        syscontract.check(contract, confluent.encode(1, body), registry=registry)
        print("ok", round(time.monotonic() - started, 1))
    except ContractError as error:
        print(error.reason, round(time.monotonic() - started, 1))
"""


def test_nested_zero_width_collections_are_bounded_per_message_not_per_collection() -> None:
    # DEFECT, fixed (promise 1). MAX_COLLECTION bounds each array on its own: an array of 20 arrays of
    # 1,000,000 nulls is 87 bytes (4 bytes per inner array) and declares 20,000,000 items. The walk
    # steps through every one in Python, then fastavro builds them all: about 250,000 items per
    # byte, so a 1 MB message (MAX_MESSAGE_BYTES allows it) asks for ~2.5e11.
    # Expected: too-large, quickly. Observed: "ok" after ~4.7 s and ~185 MB RSS for 87 bytes.
    run = _child(_ZERO_WIDTH, 20)
    assert 0 == run.returncode, run.stderr[-500:]
    reason, seconds = run.stdout.split()
    assert "too-large" == reason, f"{reason} after {seconds} s: 20,000,000 nulls were accepted from 87 bytes"


_RESOLVED = """
    import sys, syscontract
    from syscontract import Contract, ContractError, MemoryRegistry
    from syscontract.wire import confluent
    writer = Contract.from_avro("node.v2", {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]})
    if sys.argv[1] == "both":
        fields = [{"name": "value", "type": "long"}, {"name": "tag", "type": "string", "default": "x"},
                  {"name": "next", "type": ["null", "Node"]}]
    else:  # the reader is not recursive: fastavro skips the writer's chain
        fields = [{"name": "value", "type": "long"}]
    reader = Contract.from_avro("node.v3", {"type": "record", "name": "Node", "fields": fields})
    registry = MemoryRegistry()
    registry.add(writer, schema_id=1)
    registry.add(reader, schema_id=2)
    for nodes in (512, 100_000):
        raw = confluent.encode(1, b"\\x02\\x02" * (nodes - 1) + b"\\x02\\x00")
        for _ in range(2):
            try:
                syscontract.check(reader, raw, ["value"], registry=registry)
                print("ok", flush=True)
            except ContractError as error:
                print(error.reason, flush=True)
"""


@pytest.mark.parametrize("reader", ["both", "writer-only"])
def test_a_recursive_writer_read_through_resolution_is_bounded(reader: str) -> None:
    # held (promise 1): a v2 writer read as v3, both recursive or only the writer
    run = _child(_RESOLVED, reader)
    assert 0 == run.returncode, run.stderr[-500:]
    assert ["ok", "ok", "too-deep", "too-deep"] == run.stdout.split("\n")[:-1]


# -- promise 4: the encode side ----------------------------------------------------------------

_DEEP_WRITE = """
    import sys, types, collections
    from syscontract import Contract, ContractError
    from syscontract.encoding import encode
    kind, nodes = sys.argv[1], int(sys.argv[2])
    linked = Contract.from_avro("node.v1", {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]})
    tree = Contract.from_avro("tree.v1", {"type": "record", "name": "T", "fields": [
        {"name": "kids", "type": {"type": "array", "items": "T"}}]})
    branches = Contract.from_avro("map.v1", {"type": "record", "name": "M", "fields": [
        {"name": "kids", "type": {"type": "map", "values": "M"}}]})

    class Kids:  # a sequence that is neither a list nor a tuple
        def __init__(self, item): self.item = item
        def __len__(self): return 1
        def __iter__(self): return iter([self.item])
        def __getitem__(self, index): return [self.item][index]

    contract, head = linked, None
    if kind in ("UserDict", "MappingProxyType", "OrderedDict"):
        wrap = {"UserDict": collections.UserDict, "MappingProxyType": types.MappingProxyType,
                "OrderedDict": collections.OrderedDict}[kind]
        for value in range(nodes):
            head = wrap({"value": value, "next": head})
    elif kind == "union-tuple":
        for value in range(nodes):
            head = {"value": value, "next": None if head is None else ("Node", head)}
    elif kind in ("deque", "Sequence"):
        contract, head = tree, {"kids": []}
        for _ in range(nodes):
            head = {"kids": collections.deque([head]) if kind == "deque" else Kids(head)}
    elif kind == "map-of-MappingProxyType":
        contract, head = branches, {"kids": {}}
        for _ in range(nodes):
            head = {"kids": types.MappingProxyType({"k": head})}
    elif kind == "pydantic":
        from pydantic import BaseModel
        class Node(BaseModel):
            value: int
            next: "Node | None" = None
        for value in range(nodes):
            head = Node.model_construct(value=value, next=head)
    try:
        print(type(encode(contract, head, format="avro").value).__name__)
    except ContractError as error:
        print(type(error).__name__, error.reason)
    except Exception as error:
        print("raised", type(error).__name__)
"""


@pytest.mark.parametrize("kind", ["UserDict", "MappingProxyType", "deque", "Sequence", "map-of-MappingProxyType"])
def test_a_deep_payload_of_other_mapping_or_sequence_types_is_refused_never_a_crash(kind: str) -> None:
    # DEFECT, fixed (promise 4). encode() documents "a mapping or a pydantic model"; fastavro's writer takes
    # any mapping for a record or map and any sized iterable for an array, but _shallow_enough only
    # descends into dict, list and tuple: 50,000 levels of collections.UserDict /
    # types.MappingProxyType records, of deque / custom-Sequence arrays, of MappingProxyType maps
    # are seen as one level. Expected: "FieldTypeError too-deep". Observed: SIGSEGV (-11) in
    # fastavro's C writer. (3 levels of each encode fine.)
    run = _child(_DEEP_WRITE, kind, 50_000)
    assert 0 == run.returncode, f"the producer crashed (returncode {run.returncode})"
    assert "FieldTypeError too-deep" == run.stdout.strip()


@pytest.mark.parametrize("kind", ["OrderedDict", "union-tuple", "pydantic"])
def test_deep_payloads_the_bound_sees_never_crash_the_writer(kind: str) -> None:
    # held (promise 4): dict subclasses and (name, record) union tuples are counted; a deep pydantic
    # model fails in pydantic's own model_dump ("Maximum serialization depth exceeded", a bare
    # ValueError, not a ContractError: encode() calls model_dump outside its try) before any write.
    run = _child(_DEEP_WRITE, kind, 50_000)
    assert 0 == run.returncode, f"the producer crashed (returncode {run.returncode})"
    assert run.stdout.strip() in ("FieldTypeError too-deep", "FieldTypeError type")  # pydantic: its own limit
