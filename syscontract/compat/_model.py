"""What a compatibility check reports: :class:`Problem` and :class:`Compatibility`, and the memo that lets
the Avro and JSON Schema checkers walk recursive types.

Problem kinds mirror Avro's ``SchemaCompatibilityType`` names where they apply, so people who know the
Avro or Confluent tooling recognise them; the JSON Schema and consumer kinds are syscontract's own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONSTRAINT_NARROWED",
    "CONSUMER_FIELD_DEFAULTED",
    "CONSUMER_FIELD_NOT_IN_WRITER",
    "CONSUMER_FIELD_NULLABLE",
    "CONSUMER_FIELD_OPTIONAL",
    "CONSUMER_FIELD_REMOVED",
    "CONSUMER_FIELD_UNKNOWN",
    "FIXED_SIZE_MISMATCH",
    "FORMAT_MISMATCH",
    "MISSING_ENUM_SYMBOLS",
    "MISSING_UNION_BRANCH",
    "NAME_MISMATCH",
    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "PROPERTY_NOT_ALLOWED",
    "READER_FIELD_MISSING_DEFAULT_VALUE",
    "REQUIRED_PROPERTY_ADDED",
    "TYPE_MISMATCH",
    "UNPROVABLE_KEYWORD",
    "Compatibility",
    "Problem",
]

# Avro (the names of Avro's SchemaCompatibilityType); TYPE_MISMATCH, MISSING_ENUM_SYMBOLS and
# MISSING_UNION_BRANCH are used for JSON Schema too.
NAME_MISMATCH = "NAME_MISMATCH"
FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
TYPE_MISMATCH = "TYPE_MISMATCH"
MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
# JSON Schema
REQUIRED_PROPERTY_ADDED = "REQUIRED_PROPERTY_ADDED"
PROPERTY_NOT_ALLOWED = "PROPERTY_NOT_ALLOWED"
PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL = "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
CONSTRAINT_NARROWED = "CONSTRAINT_NARROWED"
UNPROVABLE_KEYWORD = "UNPROVABLE_KEYWORD"
# either
FORMAT_MISMATCH = "FORMAT_MISMATCH"
# consumer-aware
CONSUMER_FIELD_NOT_IN_WRITER = "CONSUMER_FIELD_NOT_IN_WRITER"
CONSUMER_FIELD_REMOVED = "CONSUMER_FIELD_REMOVED"
CONSUMER_FIELD_NULLABLE = "CONSUMER_FIELD_NULLABLE"
CONSUMER_FIELD_DEFAULTED = "CONSUMER_FIELD_DEFAULTED"
CONSUMER_FIELD_OPTIONAL = "CONSUMER_FIELD_OPTIONAL"
CONSUMER_FIELD_UNKNOWN = "CONSUMER_FIELD_UNKNOWN"


@dataclass(frozen=True)
class Problem:
    """One reason a reader cannot read what a writer writes, or a consumer loses a field it depends on.

    ``kind`` is a stable upper-case name (``TYPE_MISMATCH``, ``READER_FIELD_MISSING_DEFAULT_VALUE``,
    ``CONSUMER_FIELD_NOT_IN_WRITER``, ...); ``path`` locates it in the reader's schema, JSON-pointer
    style with field names (``/fields/customer/fields/customerTier``, ``/properties/items/items``);
    ``field`` is the same place as a syscontract field path (``customer.customerTier``, ``items[].sku``;
    empty at the top level); ``message`` says what is wrong in words. ``reader`` and ``writer`` name the
    two versions compared (``order.v3`` reading ``order.v2``) and ``consumer`` the consumer concerned,
    when :func:`syscontract.compat.compare` knows them.
    """

    kind: str
    path: str
    message: str
    field: str = ""
    reader: str | None = None
    writer: str | None = None
    consumer: str | None = None

    def __str__(self) -> str:
        where = self.field or self.path
        who = f" [{self.consumer}]" if self.consumer else ""
        return f"{self.kind} at {where}{who}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready mapping."""
        return {
            "kind": self.kind,
            "path": self.path,
            "field": self.field,
            "message": self.message,
            "reader": self.reader,
            "writer": self.writer,
            "consumer": self.consumer,
        }


@dataclass(frozen=True)
class Compatibility:
    """The verdict of :func:`syscontract.compat.compare`: ``compatible`` exactly when ``problems`` is empty.

    ``bool(result)`` is ``result.compatible``.
    """

    compatible: bool
    problems: list[Problem] = field(default_factory=list)
    mode: str = "BACKWARD"

    def __bool__(self) -> bool:
        return self.compatible

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready mapping."""
        return {
            "compatible": self.compatible,
            "mode": self.mode,
            "problems": [problem.to_dict() for problem in self.problems],
        }


# -- the walk both checkers share ------------------------------------------------------------------

Segments = tuple[str, ...]
Found = tuple[str, Segments, str]  # kind, path segments relative to the compared node, message


class Outcome:
    """What comparing one reader node with one writer node found, and which still-open recursive pairs
    the answer assumed compatible (an answer that assumed nothing can be cached)."""

    __slots__ = ("assumed", "found")

    def __init__(self, found: list[Found] | None = None, assumed: frozenset[Hashable] = frozenset()) -> None:
        self.found: list[Found] = [] if found is None else found
        self.assumed = assumed

    @property
    def ok(self) -> bool:
        return not self.found

    def add(self, prefix: Segments, other: Outcome) -> None:
        """Merge ``other``, found below ``prefix``."""
        self.found.extend((kind, prefix + segs, message) for kind, segs, message in other.found)
        self.assumed |= other.assumed

    def problem(self, kind: str, segs: Segments, message: str) -> None:
        self.found.append((kind, segs, message))


class Memo:
    """Terminates and caches the walk over pairs of (possibly recursive) named types.

    A pair met again while it is being compared is assumed compatible: any incompatibility is found
    on the way out of the first visit. A finished answer is cached only when it did not rest on such an
    assumption about a pair that is still open, so a cached answer is always final.
    """

    def __init__(self) -> None:
        self.open: set[Hashable] = set()
        self.done: dict[Hashable, Outcome] = {}

    def run(self, key: Hashable, compute: Callable[[], Outcome]) -> Outcome:
        cached = self.done.get(key)
        if cached is not None:
            return cached
        if key in self.open:
            return Outcome(assumed=frozenset({key}))
        self.open.add(key)
        try:
            outcome = compute()
        finally:
            self.open.discard(key)
        outcome.assumed = outcome.assumed - {key}
        if not outcome.assumed:
            self.done[key] = outcome
        return outcome


def render(found: Sequence[Found], field_steps: Callable[[Segments], str]) -> list[Problem]:
    """Turn walk results into problems, each once, in the order found."""
    problems: list[Problem] = []
    seen: set[tuple[str, Segments, str]] = set()
    for kind, segs, message in found:
        if (kind, segs, message) in seen:
            continue
        seen.add((kind, segs, message))
        path = "/" + "/".join(segs) if segs else "/"
        problems.append(Problem(kind=kind, path=path, message=message, field=field_steps(segs)))
    return problems
