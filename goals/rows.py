"""The rows the roll-up and the progress history pass between their steps: named
tuples, so a reader writes `row.parent_id`, never `row[1]`, and one more field can't
shift the others. They are read straight from `values_list(*Row._fields)`."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple


class GoalRow(NamedTuple):
    """A goal as the roll-up reads and recomputes it."""

    id: int
    parent_id: int | None
    level: str
    state: str
    weight: float
    start: dt.date
    due: dt.date
    progress: float
    health: str
    has_data: bool
    reported_progress: float | None


class OwnKpis(NamedTuple):
    """Beside a goal of a chain: the sums of its own active KPIs (goals/measures.py),
    and where it belongs."""

    own_weight: float | None  # Σ weight
    own_weighted: float | None  # Σ weight × progress
    reported_weight: float | None  # Σ weight of those with a value (None: none has one)
    reported_weighted: float | None  # Σ weight × progress of those with a value
    cycle_id: int
    organization_id: int


class Weighted(NamedTuple):
    """One part of a goal's progress (or of its reported progress): a KPI or a child
    goal, with its weight."""

    weight: float
    progress: float


class GoalFigures(NamedTuple):
    """A goal's recomputed figures, as the roll-up writes them (after its id)."""

    id: int
    progress: float
    health: str
    has_data: bool
    reported_progress: float | None


class DatedValue(NamedTuple):
    """A live KPI value as the roll-up reads it: sorted, by date, then by entry."""

    date: dt.date
    created_at: dt.datetime
    id: int
    value: float


class KpiValues(NamedTuple):
    """A KPI the roll-up just recomputed, with its live values: what its history needs."""

    aggregation: str
    baseline: float
    target: float
    values: list[DatedValue]
