"""Numbers as Cascade takes and shows them."""

from __future__ import annotations

import math

MAX_MAGNITUDE = 1e12  # the largest baseline, target or value, either way


def is_finite_number(value) -> bool:
    """A real number: not a bool, not NaN, not infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def display(progress: float) -> float:
    """Progress as shown and returned: one decimal (SPEC §2)."""
    return round(progress, 1)
