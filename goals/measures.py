"""What goals need of the apps above them, without importing them.

A goal's progress weighs its own KPIs beside its child goals, and a goal may only
move to a cycle its KPIs' dates fit in. KPIs live in the kpis app, one layer up, so
that app hands goals these two reads when it loads (kpis/apps.py → `register`).
Until then — goals on their own — a goal has no KPIs.

The roll-up also keeps the progress history of the chains it recomputes, in the same
transaction; the history is the cycles app's (cycles/history.py), which hands in its
keeper when it loads (cycles/apps.py → `register_history`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet, Value

from .rows import GoalRow, KpiValues

if TYPE_CHECKING:
    from cycles.models import Cycle

    from .models import Goal


@dataclass(frozen=True)
class Measures:
    # Annotate goals with `own_weight` (Σ weight) and `own_weighted` (Σ weight ×
    # progress) of their active KPIs, and `reported_weight` and `reported_weighted`:
    # the same sums over those that have a value (None when none has one).
    sums: Callable[[QuerySet[Goal]], QuerySet[Goal]]
    # The names of a goal's KPIs whose dates fall outside a cycle: (goal, cycle) → names.
    outside: Callable[[Goal, Cycle], list[str]]


NONE = Measures(
    sums=lambda goals: goals.annotate(
        own_weight=Value(None),
        own_weighted=Value(None),
        reported_weight=Value(None),
        reported_weighted=Value(None),
    ),
    outside=lambda goal, cycle: [],
)
_registered = NONE


def register(measures: Measures) -> None:
    global _registered
    _registered = measures


def measures() -> Measures:
    return _registered


# Keep the history of the chains the roll-up just recomputed: (the roll-up's rows of the
# chains and their children, the chains' ids, the KPIs it recomputed) → None.
HistoryKeeper = Callable[[dict[int, GoalRow], set[int], dict[int, KpiValues]], None]


def _no_history(goals: dict[int, GoalRow], chain: set[int], kpis: dict[int, KpiValues]) -> None:
    """Goals on their own keep no history."""


_keeper: HistoryKeeper = _no_history


def register_history(keeper: HistoryKeeper) -> None:
    global _keeper
    _keeper = keeper


def keep_history(goals: dict[int, GoalRow], chain: set[int], kpis: dict[int, KpiValues]) -> None:
    _keeper(goals, chain, kpis)
