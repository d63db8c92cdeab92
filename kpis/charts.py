"""Server-side SVG trend charts: a KPI's values over time against the line from its
baseline (at start) to its target (at due), on axes that say what they show: the
value range on the left, the dates below, the target and today named.

The box is about as wide as the chart is shown (a 340 px column at 1280 px, the full
width at 390 px), so its 11-unit labels read at about 10 px on either screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.numbers import compact
from goals.models import Goal

from .models import Aggregation, Kpi, KpiUpdate

if TYPE_CHECKING:
    from cycles.models import GoalPoint

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 18, 26  # room for the value labels and the dates


@dataclass
class Chart:
    width: int
    height: int
    box: tuple[float, float, float, float]  # plot area: left, top, right, bottom
    points: str  # polyline of the values
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    target_line: tuple[float, float, float, float]  # x1, y1, x2, y2: baseline → target
    target_label: tuple[float, float, str] | None  # x, y, text on the target's level
    value_ticks: list[tuple[float, str]]  # y, label
    date_ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    today_x: float | None
    low: float
    high: float


def trend_chart(kpi: Kpi, updates: list[KpiUpdate], today: dt.date | None) -> Chart:
    """Scale the KPI's running value (latest: each value; sum: the cumulative sum) onto
    the plot box spanning its start..due, and the values the target line needs."""
    series, running = [], 0.0
    for update in sorted(updates, key=lambda u: (u.date, u.created_at, u.pk)):
        running = running + update.value if kpi.aggregation == Aggregation.SUM else update.value
        series.append((update.date, running))
    first = min([kpi.start, *(day for day, _ in series)])
    last = max([kpi.due, *(day for day, _ in series)])
    span = max((last - first).days, 1)
    values = [kpi.baseline, kpi.target, *(value for _, value in series)]
    low, high = min(values), max(values)
    if high == low:
        high = low + 1
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(day: dt.date) -> float:
        return round(left + (right - left) * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * (value - low) / (high - low), 1)

    target_x, target_y = x(kpi.due), y(kpi.target)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        box=(left, top, right, bottom),
        points=" ".join(f"{x(day)},{y(value)}" for day, value in series),
        dots=[(x(day), y(value), f"{compact(value)} on {day:%Y-%m-%d}") for day, value in series],
        target_line=(x(kpi.start), y(kpi.baseline), target_x, target_y),
        # Named at the left, where the plan line is furthest from it and values rarely are.
        target_label=(
            left + 4,
            target_y - 4 if target_y - 4 > top + 8 else target_y + 13,
            f"target {compact(kpi.target)}",
        ),
        value_ticks=[(y(value), compact(value)) for value in (high, (high + low) / 2, low)],
        date_ticks=_date_ticks(first, last, x),
        today_x=x(today) if today and first <= today <= last else None,
        low=low,
        high=high,
    )


def _date_ticks(
    first: dt.date, last: dt.date, x: Callable[[dt.date], float]
) -> list[tuple[float, str, str]]:
    """The first and last day of a chart, and the middle one if it spans four weeks."""
    span = max((last - first).days, 1)
    ticks = [(x(first), _day(first), "start"), (x(last), _day(last), "end")]
    if span >= 28:
        middle = first + dt.timedelta(days=span // 2)
        ticks.insert(1, (x(middle), _day(middle), "middle"))
    return ticks


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def progress_chart(goal: Goal, points: list[GoalPoint], today: dt.date) -> Chart:
    """A goal's progress over time (its history points: each holds until the next, so
    the line steps) against the expected line from 0 % at its start to 100 % at its
    due date, on a 0–100 % scale."""
    first = min([goal.start, *(point.day for point in points)])
    last = max([goal.due, *(point.day for point in points)])
    span = max((last - first).days, 1)
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(day: dt.date) -> float:
        return round(left + (right - left) * (day - first).days / span, 1)

    def y(progress: float) -> float:
        return round(bottom - (bottom - top) * progress / 100, 1)

    steps, level = [], 0.0
    if points and points[0].day > first:
        steps.append((x(first), y(0.0)))
    for point in points:
        steps += [(x(point.day), y(level)), (x(point.day), y(point.progress))]
        level = point.progress
    end = min(max(today, points[-1].day), last) if points else None
    if end is not None and x(end) > steps[-1][0]:
        steps.append((x(end), y(level)))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        box=(left, top, right, bottom),
        points=" ".join(f"{px},{py}" for px, py in steps),
        dots=[
            (x(point.day), y(point.progress), f"{point.progress:.1f}% from {point.day:%Y-%m-%d}")
            for point in points
        ],
        target_line=(x(goal.start), y(0.0), x(goal.due), y(100.0)),
        target_label=None,  # the line ends at 100 % on the due date: no target to name
        value_ticks=[(y(value), f"{value:g}%") for value in (100, 50, 0)],
        date_ticks=_date_ticks(first, last, x),
        today_x=x(today) if first <= today <= last else None,
        low=0.0,
        high=100.0,
    )
