"""The progress and health formulas of the spec, as pure functions.

Nothing here touches the database: the roll-up (goals/rollup.py, kpis/rollup.py)
feeds these functions plain numbers and dates and writes the results back. A KPI's
current value (its latest value by date, or the sum of its values) is read from its
history by the roll-up's queries (kpis/rollup.py).
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


def child_goal_contribution(state: str, progress: float) -> float | None:
    """What a child goal adds to its parent: nothing if cancelled, 100 if done."""
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
    expected = expected_progress(today, start, due)
    if progress >= expected - 10:
        return Health.ON_TRACK
    if progress >= expected - 25:
        return Health.AT_RISK
    return Health.OFF_TRACK
