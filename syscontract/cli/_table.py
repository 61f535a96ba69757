"""Aligned text tables that fit in 100 columns: the last column wraps."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

__all__ = ["WIDTH", "table"]

WIDTH = 100


def table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH) -> str:
    """``rows`` under ``header``; every column but the last as wide as its widest cell (at most 28),
    the last wrapped into what is left of ``width``."""
    everything = [tuple(header), *(tuple(r) for r in rows)]
    widths = [min(28, max(len(row[i]) for row in everything)) for i in range(len(header) - 1)]
    indent = sum(widths) + 2 * len(widths)
    last = max(20, width - indent)
    lines = []
    for row in everything:
        cells = [
            cell[:w].ljust(w) if len(cell) <= w else cell[: w - 1] + "…" for cell, w in zip(row, widths, strict=False)
        ]
        wrapped = textwrap.wrap(row[-1], last) or [""]
        lines.append(("  ".join([*cells, wrapped[0]])).rstrip())
        lines += [" " * indent + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"
