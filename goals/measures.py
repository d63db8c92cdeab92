"""What goals need to know of their KPIs, without importing them.

A goal's progress weighs its own KPIs beside its child goals, and a goal may only
move to a cycle its KPIs' dates fit in. KPIs live in the kpis app, one layer up, so
that app hands goals these two reads when it loads (kpis/apps.py → `register`).
Until then — goals on their own — a goal has no KPIs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet, Value


@dataclass(frozen=True)
class Measures:
    # Annotate goals with `own_weight` (Σ weight) and `own_weighted` (Σ weight ×
    # progress) of their active KPIs, and `own_data`: whether one of those has a value.
    sums: Callable[[QuerySet], QuerySet]
    # The names of a goal's KPIs whose dates fall outside a cycle: (goal, cycle) → names.
    outside: Callable[[object, object], list[str]]
    # Keep the history of the chains the roll-up just recomputed: (their rows and their
    # children's, the chains' ids, the new series of the KPIs it recomputed) → None.
    history: Callable[[dict, set, dict], None]


NONE = Measures(
    sums=lambda goals: goals.annotate(
        own_weight=Value(None), own_weighted=Value(None), own_data=Value(False)
    ),
    outside=lambda goal, cycle: [],
    history=lambda goals, chain, kpi_series: None,
)
_registered = NONE


def register(measures: Measures) -> None:
    global _registered
    _registered = measures


def measures() -> Measures:
    return _registered
