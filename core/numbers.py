"""Numbers as Cascade takes and shows them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard

MAX_MAGNITUDE = 1e12  # the largest baseline, target or value, either way


def is_finite_number(value: object) -> TypeGuard[float]:
    """A real number: not a bool, not NaN, not infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def display(progress: float) -> float:
    """Progress as shown and returned: one decimal (SPEC §2)."""
    return round(progress, 1)


def compact(value: float | None) -> str:
    """A KPI value without trailing zeros (5, 4.25, -3, 12,345,678); from a billion on,
    compact (987.65 B, 1 T), and past a thousand trillion in e-notation (1.8e+308,
    from before values were bounded): no number runs wider than a few characters."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1e15:
        return f"{value:.2g}"
    for scale, suffix in COMPACT:
        if size >= scale:
            return f"{value / scale:,.2f}".rstrip("0").rstrip(".") + f" {suffix}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


COMPACT = ((1e12, "T"), (1e9, "B"))  # trillions, billions


TOLERANCE = 1e-9  # below this, a recomputed number is float noise, not a change


def same_row(old: Sequence[object], new: Sequence[object]) -> bool:
    """Whether a stored row's values equal recomputed ones: numbers within TOLERANCE
    (relative, or absolute near 0), everything else exactly."""
    return len(old) == len(new) and all(
        math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        if isinstance(a, float) and isinstance(b, float)
        else a == b
        for a, b in zip(old, new, strict=True)
    )
