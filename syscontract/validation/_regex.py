"""JSON Schema ``pattern`` (ECMA-262 regular expressions) on Python's ``re``, and the load-time guard
against patterns that backtrack catastrophically.

Translation (so that a pattern means what ECMA-262 says): compiled with ``re.ASCII`` so ``\\d``, ``\\w``
and ``\\b`` are ASCII as in ECMA-262; ``\\s`` is spelled out as ECMA-262's whitespace set; ``$`` matches
only at the very end (Python's also matches before a final newline); ``[]`` and ``[^]`` mean "nothing"
and "anything"; ``(?<name>...)`` and ``\\k<name>`` become Python's named groups; ``\\cX`` becomes the
control character. ``\\p{...}`` (Unicode property escapes) has no equivalent in ``re`` and is refused.

Guard: Python's ``re`` backtracks and has no time limit, so a pattern such as ``^(a+)+$`` takes
exponential time on a short hostile string. A pattern is refused at load when a repetition that may
run long (``*``, ``+``, ``{n,}`` or more than 16 times) repeats a body that can split the same text
in several ways: a body holding a variable-width repetition that no mandatory delimiter (a
character the inner repetition cannot match) closes, or alternatives that may start with the same
character. ``([a-z]+\\.)*`` and ``(\\d{1,3}\\.){3}`` are accepted; ``(a+)+``, ``(\\w+\\s?)*`` and
``(a|ab)*`` are refused.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c
    import sre_parse as _p

__all__ = ["UnsupportedPattern", "compile_pattern"]

_ECMA_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_LONG = 16  # a repetition allowed more times than this is treated as unbounded


class UnsupportedPattern(ValueError):
    """A pattern that cannot be evaluated faithfully or safely; the message says why."""


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an ECMA-262 ``pattern`` for ``search``; :class:`UnsupportedPattern` when it cannot be
    translated or could backtrack catastrophically."""
    translated = translate(pattern)
    try:
        compiled = re.compile(translated, re.ASCII)
    except re.error as exc:
        raise UnsupportedPattern(f"pattern {pattern!r} is not a regular expression Python can evaluate: {exc}") from exc
    problem = _ambiguity(_p.parse(translated, re.ASCII))
    if problem:
        raise UnsupportedPattern(
            f"pattern {pattern!r} could take exponential time on hostile input ({problem}); "
            "rewrite it so that repeated parts cannot match the same text in more than one way"
        )
    return compiled


def translate(pattern: str) -> str:
    """ECMA-262 pattern syntax into Python ``re`` syntax with the same meaning (see the module doc)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise UnsupportedPattern(f"pattern {pattern!r} ends with a lone backslash")
            esc = pattern[i + 1]
            i += 2
            if esc in "pP":
                raise UnsupportedPattern(
                    f"pattern {pattern!r} uses a Unicode property escape (\\{esc}{{...}}), which Python's re "
                    "cannot evaluate"
                )
            if esc == "s":
                out.append(_ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]")
            elif esc == "S" and not in_class:
                out.append(f"[^{_ECMA_SPACE}]")
            elif esc == "c" and i < n and pattern[i].isascii() and pattern[i].isalpha():
                out.append(re.escape(chr(ord(pattern[i]) % 32)))
                i += 1
            elif esc == "k" and not in_class and i < n and pattern[i] == "<":
                end = pattern.find(">", i)
                if end < 0:
                    raise UnsupportedPattern(f"pattern {pattern!r} has an unterminated \\k<name>")
                out.append(f"(?P={pattern[i + 1 : end]})")
                i = end + 1
            elif esc == "u" and i < n and pattern[i] == "{":
                end = pattern.find("}", i)
                if end < 0:
                    raise UnsupportedPattern(f"pattern {pattern!r} has an unterminated \\u{{...}}")
                out.append(f"\\U{int(pattern[i + 1 : end], 16):08x}")
                i = end + 1
            else:
                out.append("\\" + esc)
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":
                ch = "\\["  # a literal '[' in ECMA-262; Python warns about possible set syntax
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            if pattern.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            if pattern.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
                continue
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            continue
        if ch == "$":
            out.append("\\Z")  # the very end: Python's '$' also matches before a final newline
        elif ch == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# -- the catastrophic-backtracking guard ---------------------------------------------------------

_Ranges = list[tuple[int, int]]
_ALL: _Ranges = [(0, 0x10FFFF)]
_CATEGORIES: dict[Any, _Ranges] = {
    _c.CATEGORY_DIGIT: [(48, 57)],
    _c.CATEGORY_WORD: [(48, 57), (65, 90), (95, 95), (97, 122)],
    _c.CATEGORY_SPACE: [(9, 13), (32, 32)],
}
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({_c.POSSESSIVE_REPEAT} if hasattr(_c, "POSSESSIVE_REPEAT") else set())


def _complement(ranges: _Ranges) -> _Ranges:
    result, start = [], 0
    for lo, hi in sorted(ranges):
        if lo > start:
            result.append((start, lo - 1))
        start = max(start, hi + 1)
    if start <= 0x10FFFF:
        result.append((start, 0x10FFFF))
    return result


def _category(cat: Any) -> _Ranges:
    if cat in _CATEGORIES:
        return _CATEGORIES[cat]
    for positive, ranges in _CATEGORIES.items():
        if str(cat) == str(positive).replace("CATEGORY_", "CATEGORY_NOT_"):
            return _complement(ranges)
    return _ALL  # line breaks and anything unusual: assume it may match anything


def _chars(items: Any) -> _Ranges:
    """Every character the (sub)pattern's items may consume, over-approximated."""
    ranges: _Ranges = []
    for op, av in items:
        if op is _c.LITERAL:
            ranges.append((av, av))
        elif op is _c.NOT_LITERAL or op is _c.ANY:
            return _ALL
        elif op is _c.IN:
            ranges += _in_ranges(av)
        elif op in _REPEATS:
            ranges += _chars(av[2])
        elif op is _c.SUBPATTERN:
            ranges += _chars(av[-1])
        elif op is _c.BRANCH:
            for alternative in av[1]:
                ranges += _chars(alternative)
        elif op in (_c.GROUPREF, getattr(_c, "GROUPREF_EXISTS", None)):
            return _ALL
    return ranges


def _in_ranges(av: Any) -> _Ranges:
    ranges: _Ranges = []
    negate = False
    for op, value in av:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            ranges.append((value, value))
        elif op is _c.RANGE:
            ranges.append(value)
        elif op is _c.CATEGORY:
            ranges += _category(value)
        else:
            return _ALL
    return _complement(ranges) if negate else ranges


def _overlap(a: _Ranges, b: _Ranges) -> bool:
    return any(lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in a for lo2, hi2 in b)


def _first(items: Any) -> _Ranges:
    """Characters a match of ``items`` may start with (everything, when unsure)."""
    for op, av in items:
        if op is _c.LITERAL:
            return [(av, av)]
        if op is _c.IN:
            return _in_ranges(av)
        if op in (_c.AT,):
            continue
        if op is _c.SUBPATTERN:
            return _first(av[-1])
        if op in _REPEATS and av[0] > 0:
            return _first(av[2])
        return _ALL
    return _ALL


def _variable_repeats(items: Any) -> list[Any]:
    found = []
    for op, av in items:
        if op in _REPEATS:
            if av[0] != av[1]:
                found.append(av)
            found += _variable_repeats(av[2])
        elif op is _c.SUBPATTERN:
            found += _variable_repeats(av[-1])
        elif op is _c.BRANCH:
            for alternative in av[1]:
                found += _variable_repeats(alternative)
    return found


def _ambiguity(items: Any) -> str | None:
    """Why ``items`` could backtrack catastrophically, or None."""
    for op, av in items:
        if op in _REPEATS:
            _, high, body = av
            if high is _c.MAXREPEAT or high > _LONG:
                problem = _ambiguous_body(body)
                if problem:
                    return problem
            problem = _ambiguity(body)
        elif op is _c.SUBPATTERN:
            problem = _ambiguity(av[-1])
        elif op is _c.BRANCH:
            problem = next((p for alt in av[1] if (p := _ambiguity(alt))), None)
        else:
            problem = None
        if problem:
            return problem
    return None


def _ambiguous_body(body: Any) -> str | None:
    items = list(body)
    while len(items) == 1 and items[0][0] is _c.SUBPATTERN:
        items = list(items[0][1][-1])
    inner = _variable_repeats(items)
    if inner:
        inner_chars: _Ranges = []
        for repeat in inner:
            inner_chars += _chars(repeat[2])
        last = items[-1] if items else None
        delimited = last is not None and last[0] in (_c.LITERAL, _c.IN) and not _overlap(_chars([last]), inner_chars)
        if not delimited:
            return "a repeated group contains a repetition of varying length with no delimiter after it"
    for op, av in items:
        if op is _c.BRANCH:
            firsts = [_first(alternative) for alternative in av[1]]
            for index, first in enumerate(firsts):
                if any(_overlap(first, other) for other in firsts[index + 1 :]):
                    return "a repeated group has alternatives that can start with the same character"
    return None
