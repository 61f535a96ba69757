"""Aligned text tables that fit in 100 columns: the last column wraps."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

__all__ = ["WIDTH", "table"]

WIDTH = 100


def table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH) -> str:
    """``rows`` under ``header``; every column but the last as wide as its widest cell (at most 28),
    the last wrapped into what is left of ``width``, or, when that is under 40 columns, on indented
    lines of its own under each row."""
    everything = [tuple(header), *(tuple(r) for r in rows)]
    widths = [min(28, max(len(row[i]) for row in everything)) for i in range(len(header) - 1)]
    indent = sum(widths) + 2 * len(widths)
    last = width - indent
    if last < 40:
        return _stacked(everything, widths, width)
    lines = []
    for row in everything:
        cells = [
            cell[:w].ljust(w) if len(cell) <= w else cell[: w - 1] + "…" for cell, w in zip(row, widths, strict=False)
        ]
        wrapped = textwrap.wrap(row[-1], last) or [""]
        lines.append(("  ".join([*cells, wrapped[0]])).rstrip())
        lines += [" " * indent + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


def _stacked(everything: list[tuple[str, ...]], widths: list[int], width: int) -> str:
    lines = []
    for index, row in enumerate(everything):
        cells = [cell.ljust(w) if len(cell) <= w else cell[: w - 1] + "…" for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join(cells).rstrip())
        if index:  # the header's last column is implied by the indented text
            lines += textwrap.wrap(row[-1], width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines) + "\n"
