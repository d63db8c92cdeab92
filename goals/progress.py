"""The progress and health formulas of the spec, as pure functions.

Nothing here touches the database: the roll-up (goals/rollup.py, kpis/rollup.py)
feeds these functions plain numbers and dates and writes the results back. A KPI's
current value (its latest value by date, or the sum of its values) is read from its
history by the roll-up's queries (kpis/rollup.py).

A goal has two means of its parts (SPEC §2, §9.3): its *progress* counts every part,
a KPI without a value as 0; its *reported progress* counts only the parts that have
data (a KPI with a value, a child goal with data at or below it, a done child as 100),
and its health compares that with the expected progress — so a KPI added without a
value lowers the goal's progress but not its health, nor any ancestor's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .models import GoalState, Health


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def kpi_progress(current: float | None, baseline: float, target: float) -> float:
    """100 × clamp((current − baseline) / (target − baseline), 0, 1); 0 without a value."""
    if current is None or target == baseline:
        return 0.0
    return 100.0 * clamp((current - baseline) / (target - baseline), 0.0, 1.0)


def goal_progress(weighted: Iterable[tuple[float, float]]) -> float:
    """Weighted mean Σ wᵢ·pᵢ / Σ wᵢ of (weight, progress) pairs; 0 when there are none.

    The caller leaves out cancelled child goals and passes 100 for done ones.
    """
    total_weight = total = 0.0
    for weight, progress in weighted:
        total_weight += weight
        total += weight * progress
    if total_weight <= 0:
        return 0.0
    return clamp(total / total_weight, 0.0, 100.0)


def reported_progress(weighted: Iterable[tuple[float, float]]) -> float | None:
    """The weighted mean of the parts that have data, (weight, reported progress)
    pairs; None when there are none: nothing is reported yet (health `no_data`).

    The caller passes a KPI only if it has a value, and a child goal only if it is
    done (as 100) or has a reported progress of its own (child_goal_contribution)."""
    parts = list(weighted)
    if sum(weight for weight, _progress in parts) <= 0:
        return None
    return goal_progress(parts)


def kpi_reported_progress(current: float | None, progress: float) -> float | None:
    """What a KPI reports: its progress once it has a value, else nothing."""
    return None if current is None else progress


def child_goal_contribution(state: str, progress: float | None) -> float | None:
    """What a child goal adds to its parent (its progress, or its reported progress):
    nothing if cancelled, 100 if done, else its own (None: a child that reported
    nothing adds nothing to its parent's reported progress)."""
    if state == GoalState.CANCELLED:
        return None
    if state == GoalState.DONE:
        return 100.0
    return progress


def expected_progress(today: dt.date, start: dt.date, due: dt.date) -> float:
    """Where progress should be on `today`: the share of the period elapsed, in days."""
    span = (due - start).days
    if span <= 0:
        return 100.0 if today >= due else 0.0
    return 100.0 * clamp((today - start).days / span, 0.0, 1.0)


def health(
    *,
    progress: float,
    today: dt.date,
    start: dt.date,
    due: dt.date,
    state: str = GoalState.ACTIVE,
    has_data: bool = True,
) -> str:
    """SPEC §2, with §8.3's `no_data`: a KPI without a value yet, or a goal with no
    value recorded on any KPI at or below it (nor a done goal below it), is not "off
    track" but has had no check-in yet — though its progress, 0, still counts above."""
    if state == GoalState.CANCELLED:
        return Health.CANCELLED
    if state == GoalState.DONE or progress >= 100:
        return Health.DONE
    if today < start:
        return Health.NOT_STARTED
    if not has_data:
        return Health.NO_DATA
    return _against_expected(progress, today, start, due)


def goal_health(
    *,
    progress: float,
    reported: float | None,
    today: dt.date,
    start: dt.date,
    due: dt.date,
    state: str = GoalState.ACTIVE,
) -> str:
    """SPEC §9.3: a goal's health grades its reported progress (the parts that have
    data), not its progress: a part without a check-in yet is left out of health. It is
    done on its progress (or state), and reads `no_data` while nothing is reported."""
    if state == GoalState.CANCELLED:
        return Health.CANCELLED
    if state == GoalState.DONE or progress >= 100:
        return Health.DONE
    if today < start:
        return Health.NOT_STARTED
    if reported is None:
        return Health.NO_DATA
    return _against_expected(reported, today, start, due)


def _against_expected(progress: float, today: dt.date, start: dt.date, due: dt.date) -> str:
    """On track within 10 points below the expected progress, at risk within 25."""
    expected = expected_progress(today, start, due)
    if progress >= expected - 10:
        return Health.ON_TRACK
    if progress >= expected - 25:
        return Health.AT_RISK
    return Health.OFF_TRACK
