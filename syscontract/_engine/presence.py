"""Was a critical field *sent*? Decided on what the writer wrote, before anything can fill a gap.

Avro schema resolution fills gaps silently: a reader field the writer lacks takes the reader's
default, a writer enum symbol the reader lacks becomes the reader enum's ``default``, a union branch
without the field resolves into a reader record that defaults it, and an alias can make a reader field
take its value from somewhere else (or nowhere). So presence is never judged on a resolved datum
alone. For each (reader, writer) pair and critical path this module decides once, on the two
schemas:

- ``MISSING``: no writer record on the path has a field that maps to the step: every message from
  this writer would be filled by a reader default (the reader-default trap);
- ``DIRECT``: the writer sends the field in every message, through records and arrays only, with the
  same enum symbols and no alias: what resolution produces is what was written, so the resolved
  datum can be checked like any dict (null included);
- ``PER_MESSAGE``: it depends on the message (a union branch, an enum symbol the reader lacks, a
  field reached through an alias, a null the reader cannot hold): the writer's own datum is read and
  walked, and the resolved value must be the written one.

Names are matched as Avro resolution does and as fastavro does it: a reader field takes the writer
field of its own name; failing that, a writer field named by one of its aliases, unless a reader field
of that name takes it already.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from syscontract.contract import FieldPath
from syscontract.formats.avro import named_types

__all__ = ["DIRECT", "MISSING", "PER_MESSAGE", "AvroPair", "Written", "equal"]

MISSING = "missing"
DIRECT = "direct"
PER_MESSAGE = "per-message"

_RECORDS = ("record", "error")


def _branches(schema: Any, table: dict[str, Any]) -> list[Any]:
    """The concrete types a schema may be: unions flattened, names resolved."""
    if isinstance(schema, list):
        return [found for branch in schema for found in _branches(branch, table)]
    if isinstance(schema, str):
        return _branches(table[schema], table) if schema in table else [schema]
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, (dict, list)):
            return _branches(kind, table)
        if isinstance(kind, str) and kind in table and kind not in _RECORDS:
            return _branches(table[kind], table)
    return [schema]


def _kind(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("type"))
    return str(schema)


def _records(types: list[Any]) -> list[dict[str, Any]]:
    return [t for t in types if _kind(t) in _RECORDS]


def _writer_field(reader_record: dict[str, Any] | None, name: str, writer: dict[str, Any]) -> tuple[Any, bool]:
    """The writer field that reader field ``name`` takes its value from, and whether an alias was
    needed; (None, False) when none does."""
    fields = {entry["name"]: entry for entry in writer.get("fields", [])}
    if name in fields:
        return fields[name], False
    reader_names = {entry["name"] for entry in (reader_record or {}).get("fields", [])}
    entry = next((f for f in (reader_record or {}).get("fields", []) if f["name"] == name), None)
    for alias in (entry or {}).get("aliases", ()):
        if alias in fields and alias not in reader_names:
            return fields[alias], True
    return None, False


def _aliases_in_play(record: dict[str, Any], name: str) -> bool:
    """Whether any field of a reader record has aliases, where one of them names ``name`` or the field
    is ``name`` itself: resolution may then take a value through an alias."""
    for entry in record.get("fields", []):
        aliases = entry.get("aliases", ())
        if aliases and (entry["name"] == name or name in aliases):
            return True
    return False


def _reader_field(types: list[Any], name: str) -> dict[str, Any] | None:
    for record in _records(types):
        for entry in record.get("fields", []):
            if entry["name"] == name:
                return entry  # type: ignore[no-any-return]
    return None


def _reader_record_for(writer_record: dict[str, Any], reader_types: list[Any]) -> dict[str, Any] | None:
    """The reader record a writer record resolves into: the same name (or an alias), else the first
    reader record (as fastavro resolves a union)."""
    records = _records(reader_types)
    name = _short(str(writer_record.get("name")))
    for record in records:
        names = {_short(str(record.get("name"))), *(_short(a) for a in record.get("aliases", ()))}
        if name in names:
            return record
    return records[0] if len(records) == 1 else None


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class AvroPair:
    """A reader schema and a writer schema (plain JSON), for questions about critical paths."""

    def __init__(self, reader: Any, writer: Any) -> None:
        self.reader = reader
        self.writer = writer
        self.reader_table: dict[str, Any] = named_types(reader, aliases=True)
        self.writer_table: dict[str, Any] = named_types(writer, aliases=True)

    # -- decided once, on the schemas --------------------------------------------------------------

    def status(self, path: FieldPath) -> str:
        """Decided once, on the two schemas. DIRECT only when resolution hands on the written value by
        construction: one writer record and one reader record at every step, the field by its own
        name with no alias in play, and below the leaf no enum whose symbols differ and no union
        of named types; anything less certain is decided per message."""
        reader_types = _branches(self.reader, self.reader_table)
        writer_types = _branches(self.writer, self.writer_table)
        per_message = False
        for name, arrays in path.steps:
            writer_records = _records(writer_types)
            reader_records = _records(reader_types)
            if len(writer_types) != len(writer_records) or len(writer_records) != 1 or len(reader_records) != 1:
                per_message = True  # a union (with null, or of several records): decided per message
            found = [
                (entry, alias)
                for record in writer_records
                for entry, alias in [_writer_field(_reader_record_for(record, reader_types), name, record)]
                if entry is not None
            ]
            if not found:
                return MISSING
            # a writer record without the field implies several writer records, and a field found
            # through an alias implies an alias in play: both decided per message by the clauses
            # around this one (tests/unit/test_presence_pairs.py holds the two to that)
            if any(_aliases_in_play(record, name) for record in reader_records):
                per_message = True  # fastavro may fill this field through an alias from another writer field
            reader_field = _reader_field(reader_types, name)
            reader_types = _branches(reader_field["type"], self.reader_table) if reader_field else []
            writer_types = [t for entry, _ in found for t in _branches(entry["type"], self.writer_table)]
            for _ in range(arrays):
                if any(_kind(t) != "array" for t in writer_types):
                    per_message = True
                reader_types = [
                    b for t in reader_types if _kind(t) == "array" for b in _branches(t["items"], self.reader_table)
                ]
                writer_types = [
                    b for t in writer_types if _kind(t) == "array" for b in _branches(t["items"], self.writer_table)
                ]
        if any(_kind(t) == "null" for t in writer_types) and not any(_kind(t) == "null" for t in reader_types):
            per_message = True  # a null the reader cannot hold: resolution fails, the writer's datum says why
        if not self._same_below(reader_types, writer_types, set()):
            per_message = True
        return PER_MESSAGE if per_message else DIRECT

    def _same_below(self, reader_types: list[Any], writer_types: list[Any], seen: set[str]) -> bool:
        """Whether the values below a leaf resolve as written: no enum symbol the reader lacks, no
        union of named types, through arrays and maps (records below a critical leaf are not
        critical, but a collection of enums is one value)."""
        named = [t for t in (*reader_types, *writer_types) if _kind(t) in ("record", "error", "enum", "fixed")]
        if len([t for t in writer_types if _kind(t) != "null"]) > 1 and named:
            return False
        if self._symbol_gap(reader_types, writer_types):
            return False
        for container, key in (("array", "items"), ("map", "values")):
            writer_inner = [
                b for t in writer_types if _kind(t) == container for b in _branches(t[key], self.writer_table)
            ]
            reader_inner = [
                b for t in reader_types if _kind(t) == container for b in _branches(t[key], self.reader_table)
            ]
            marker = f"{container}:{id(writer_inner and writer_inner[0])}"
            if writer_inner and marker not in seen:
                seen.add(marker)
                if not self._same_below(reader_inner, writer_inner, seen):
                    return False
        return True

    @staticmethod
    def _symbol_gap(reader_types: list[Any], writer_types: list[Any]) -> bool:
        reader_symbols = {s for t in reader_types if _kind(t) == "enum" for s in t.get("symbols", ())}
        return any(_kind(t) == "enum" and not set(t.get("symbols", ())) <= reader_symbols for t in writer_types) or any(
            _kind(t) == "enum" for t in writer_types
        ) != any(_kind(t) == "enum" for t in reader_types)

    def reader_default(self, path: FieldPath) -> tuple[bool, Any]:
        """Whether the reader's field at ``path`` has a default, and which."""
        types = _branches(self.reader, self.reader_table)
        entry: dict[str, Any] | None = None
        for name, arrays in path.steps:
            entry = _reader_field(types, name)
            if entry is None:
                return False, None
            types = _branches(entry["type"], self.reader_table)
            for _ in range(arrays):
                types = [b for t in types if _kind(t) == "array" for b in _branches(t["items"], self.reader_table)]
        if entry is None or "default" not in entry:
            return False, None
        return True, entry["default"]

    def enumerable(self) -> bool:
        """Whether the contract's field paths reach every field of every reader record: no record
        below a map's values, inside a record of its own name (recursion) or below more than four
        nested arrays (:meth:`Contract.fields` goes no further). Where they do not, what resolution
        filled is found per message by :meth:`strip`, not by paths."""
        pending: list[tuple[Any, int, bool, frozenset[str]]] = [(self.reader, 0, False, frozenset())]
        while pending:
            schema, arrays, mapped, seen = pending.pop()
            for branch in _branches(schema, self.reader_table):
                kind = _kind(branch)
                if kind in _RECORDS:
                    name = str(branch.get("name"))
                    if mapped or arrays > 4 or name in seen:
                        return False
                    pending.extend((f["type"], 0, False, seen | {name}) for f in branch.get("fields", []))
                elif kind == "array":
                    pending.append((branch["items"], arrays + 1, mapped, seen))
                elif kind == "map":
                    pending.append((branch["values"], arrays, True, seen))
        return True

    def strip(self, resolved: Any, datum: Any) -> None:
        """Remove from ``resolved`` (this writer's datum resolved into the reader's schema) every
        record field whose value is not what the writer wrote there (``datum``, read with the writer's
        schema and its record names): a field the writer lacks, an enum symbol the reader lacks, a
        value taken through an alias from elsewhere, at any depth, through maps and recursion. A
        value inside an array or a map that is not the written one takes its whole field with it."""
        self._kept(resolved, datum, _branches(self.writer, self.writer_table),
                   _branches(self.reader, self.reader_table))  # fmt: skip

    def _kept(self, got: Any, datum: Any, w_types: list[Any], r_types: list[Any]) -> bool:
        """Strip inside ``got``; whether what remains of it is what ``datum`` holds."""
        if _is_branch(datum):
            name, datum = datum
            w_types = [
                t for t in w_types if _short(str(t.get("name", "") if isinstance(t, dict) else "")) == _short(name)
            ]
        if datum is None or got is None:
            return datum is None and got is None
        records = _records(w_types)
        if isinstance(datum, dict) and records:
            reader_record = _reader_record_for(records[0], r_types) if len(records) == 1 else None
            if reader_record is None or not isinstance(got, dict):
                return False
            for field in reader_record.get("fields", []):
                key = field["name"]
                if key not in got:
                    continue
                source, _ = _writer_field(reader_record, key, records[0])
                if (
                    source is None
                    or source["name"] not in datum
                    or not self._kept(
                        got[key],
                        datum[source["name"]],
                        _branches(source["type"], self.writer_table),
                        _branches(field["type"], self.reader_table),
                    )
                ):
                    del got[key]
            return True
        for container, items in (("array", "items"), ("map", "values")):
            if not any(_kind(t) == container for t in w_types):
                continue
            w_inner = [b for t in w_types if _kind(t) == container for b in _branches(t[items], self.writer_table)]
            r_inner = [b for t in r_types if _kind(t) == container for b in _branches(t[items], self.reader_table)]
            if container == "array" and isinstance(datum, list) and isinstance(got, list) and len(got) == len(datum):
                pairs = list(zip(got, datum, strict=True))
            elif (
                container == "map" and isinstance(datum, dict) and isinstance(got, dict) and got.keys() == datum.keys()
            ):
                pairs = [(got[key], datum[key]) for key in datum]
            else:
                return False
            kept = True
            for inner_got, inner_datum in pairs:  # every element stripped, whatever the others hold
                kept = self._kept(inner_got, inner_datum, w_inner, r_inner) and kept
            return kept
        if isinstance(datum, str) and any(_kind(t) == "enum" for t in w_types):
            symbols = {s for t in r_types if _kind(t) == "enum" for s in t.get("symbols", ())}
            return datum in symbols and got == datum
        return equal(got, datum)

    # -- per message, on the writer's own datum (decoded with ``return_record_name=True``) ---------

    def written(self, path: FieldPath, datum: Any) -> Iterator[Written]:
        """What the writer wrote along ``path``: one :class:`Written` per leaf reached (one per array
        element), or the first step where it wrote nothing usable."""
        yield from self._walk(path, 0, datum, _branches(self.writer, self.writer_table),
                              _branches(self.reader, self.reader_table), "")  # fmt: skip

    def _walk(
        self, path: FieldPath, index: int, datum: Any, writer_types: list[Any], reader_types: list[Any], here: str
    ) -> Iterator[Written]:
        name, arrays = path.steps[index]
        record, datum = self._record(datum, writer_types)
        where = f"{here}.{name}" if here else name
        if record is None or not isinstance(datum, dict):
            yield Written(path, "absent", where, None, None)
            return
        reader_record = _reader_record_for(record, reader_types)
        entry, _ = _writer_field(reader_record, name, record)
        if entry is None or entry["name"] not in datum:
            yield Written(path, "absent", where, None, None)
            return
        reader_field = _reader_field([reader_record] if reader_record else [], name)
        value = datum[entry["name"]]
        w_types = _branches(entry["type"], self.writer_table)
        r_types = _branches(reader_field["type"], self.reader_table) if reader_field else []
        yield from self._arrays(path, index, value, arrays, w_types, r_types, where)

    def _unknown_symbol(self, value: Any, w_types: list[Any], r_types: list[Any]) -> tuple[str, list[Any]] | None:
        """The first enum symbol in ``value`` (through arrays, maps and named union branches) that
        the reader's enum lacks, with the reader's types there; None when there is none."""
        if _is_branch(value):
            name, value = value
            w_types = [t for t in w_types if _short(str(t.get("name", ""))) == _short(name)] or w_types
        if isinstance(value, str):
            writer_enums = [t for t in w_types if _kind(t) == "enum"]
            if writer_enums:
                reader_enums = [t for t in r_types if _kind(t) == "enum"]
                symbols = {s for t in reader_enums for s in t.get("symbols", ())}
                if value not in symbols:
                    return value, r_types
            return None
        for container, key in (("array", "items"), ("map", "values")):
            if not any(_kind(t) == container for t in w_types):
                continue
            w_inner = [b for t in w_types if _kind(t) == container for b in _branches(t[key], self.writer_table)]
            r_inner = [b for t in r_types if _kind(t) == container for b in _branches(t[key], self.reader_table)]
            items = value.values() if container == "map" and isinstance(value, dict) else value
            if isinstance(items, (list, type({}.values()))):
                for item in items:
                    found = self._unknown_symbol(item, w_inner, r_inner)
                    if found is not None:
                        return found
        return None

    def _arrays(
        self, path: FieldPath, index: int, value: Any, arrays: int, w_types: list[Any], r_types: list[Any], where: str
    ) -> Iterator[Written]:
        if _is_branch(value) and not isinstance(value[1], dict):
            value = value[1]  # a named non-record type read through a union: ("Tier", "GOLD")
        if value is None:
            yield Written(path, "null", where, None, None)
            return
        if arrays:
            w_items = [b for t in w_types if _kind(t) == "array" for b in _branches(t["items"], self.writer_table)]
            r_items = [b for t in r_types if _kind(t) == "array" for b in _branches(t["items"], self.reader_table)]
            if not isinstance(value, list):
                yield Written(path, "absent", where, None, None)
                return
            for position, element in enumerate(value):
                yield from self._arrays(path, index, element, arrays - 1, w_items, r_items, f"{where}[{position}]")
            return
        if index == len(path.steps) - 1:
            unknown = self._unknown_symbol(value, w_types, r_types)
            if unknown is not None:
                yield Written(path, "unknown-symbol", where, unknown[0], unknown[1])
                return
            yield Written(path, "sent", where, value, r_types)
            return
        yield from self._walk(path, index + 1, value, w_types, r_types, where)

    def _record(self, datum: Any, writer_types: list[Any]) -> tuple[dict[str, Any] | None, Any]:
        records = _records(writer_types)
        if type(datum) is tuple and len(datum) == 2 and isinstance(datum[0], str):
            name, datum = datum
            for record in records:
                if _short(str(record.get("name"))) == _short(name):
                    return record, datum
            return None, datum
        return (records[0], datum) if len(records) == 1 else (None, datum)


def equal(got: Any, written: Any) -> bool:
    """Whether a resolved value is the written one (Avro promotions: int to long, float or double;
    string to bytes and back)."""
    if isinstance(written, bool) or isinstance(got, bool):
        return type(got) is type(written) and got == written
    if isinstance(written, str) and isinstance(got, bytes):
        return got == written.encode()
    if isinstance(written, bytes) and isinstance(got, str):
        return got.encode() == written
    return bool(got == written)


def _is_branch(value: Any) -> bool:
    """A named type read through a union with ``return_record_name=True``: ``(name, value)``."""
    return type(value) is tuple and len(value) == 2 and isinstance(value[0], str)


@dataclass(frozen=True)
class Written:
    """What the writer wrote at one leaf of a critical path: ``kind`` is ``sent``, ``absent``,
    ``null`` or ``unknown-symbol`` (an enum symbol the reader's enum lacks); ``where`` is the concrete
    path (``items[2].sku``)."""

    path: FieldPath
    kind: str
    where: str
    value: Any
    reader_types: Any
