"""Server-side SVG trend charts: a KPI's values over time against the line from
its baseline (at start) to its target (at due)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import Aggregation

WIDTH, HEIGHT, PAD = 320, 120, 10


@dataclass
class Chart:
    width: int
    height: int
    points: str  # polyline of the values
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    target_line: tuple[float, float, float, float]  # x1, y1, x2, y2
    today_x: float | None
    low: float
    high: float


def trend_chart(kpi, updates: list, today: dt.date | None) -> Chart:
    """Scale the KPI's running value (latest: each value; sum: the cumulative sum) onto
    a WIDTH×HEIGHT box spanning its start..due, and the values the target line needs."""
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

    def x(day: dt.date) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * (day - first).days / span, 1)

    def y(value: float) -> float:
        return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value - low) / (high - low), 1)

    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=" ".join(f"{x(day)},{y(value)}" for day, value in series),
        dots=[(x(day), y(value), f"{value:g} on {day:%Y-%m-%d}") for day, value in series],
        target_line=(x(kpi.start), y(kpi.baseline), x(kpi.due), y(kpi.target)),
        today_x=x(today) if today and first <= today <= last else None,
        low=low,
        high=high,
    )
