"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st


class StrSubclass(str):
    """A str that is not exactly str: the fast path must defer, the precise path decide."""


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["BASIC", "SILVER", "GOLD", "VIP", "PLATINUM"]),
    st.builds(StrSubclass, st.sampled_from(["GOLD", "EUR", "x"])),
)

json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)

ABSENT = object()

# where a mutation may land in the reference order event, as key paths ("*" = a random item)
MUTATION_POINTS = [
    ("orderId",),
    ("currency",),
    ("customer",),
    ("customer", "customerTier"),
    ("customer", "id"),
    ("items",),
    ("items", "*"),
    ("items", "*", "qty"),
    ("items", "*", "price"),
    ("couponCode",),
]


@st.composite
def mutated_orders(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """The reference order with up to three points replaced by random JSON values or removed."""
    order = copy.deepcopy(base)
    for point in draw(st.lists(st.sampled_from(MUTATION_POINTS), max_size=3)):
        value = draw(st.one_of(st.just(ABSENT), json_values))
        container: Any = order
        for key in point[:-1]:
            if key == "*":
                if not isinstance(container, list) or not container:
                    break
                key = draw(st.integers(0, len(container) - 1))
            elif not isinstance(container, dict) or key not in container:
                break
            container = container[key]
        else:
            last = point[-1]
            if last == "*":
                if isinstance(container, list) and container:
                    index = draw(st.integers(0, len(container) - 1))
                    container[index] = None if value is ABSENT else value
            elif isinstance(container, dict):
                if value is ABSENT:
                    container.pop(last, None)
                else:
                    container[last] = value
    return order
