"""Progress over time: one point per goal and per KPI for each day its progress changed.

What a point says: from that day on (until the next point), the goal or KPI stood at
this progress, computed from the values *dated* up to that day that are live today
(a corrected or retracted value never counted) on the tree as it is today (its
parents, weights, states and archived KPIs). So the history is a function of the KPI
updates and the tree, and `cycle_history` rebuilds it exactly from them; the roll-up
keeps it up to date as it goes (`refresh`: the KPIs it recomputes and the chains of
goals above them, handed in through goals/measures.py), in a fixed number of queries.

* A KPI has a point on each day one of its live values is dated (when its current
  value or progress changed that day). Before its first value it has none: no data.
* A goal's progress on a day is the weighted mean of its active KPIs and of its child
  goals that are not cancelled, each as it stood that day (SPEC §2). A done goal reads
  100 from its start; a goal has data from the first day a value is dated anywhere
  below it (or if a done goal is below it), as `no_data` is decided today.
* Health is not stored: for a past day it is computed from that day's progress, with
  that day as "today" (`health_on`).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from core.numbers import same_row
from goals import progress as formulas
from goals import rollup as goal_rollup
from goals.measures import DatedValue, KpiValues
from goals.models import LEVEL_RANK, Goal, GoalState
from kpis.models import Aggregation, Kpi, KpiState, KpiUpdate

from .models import Cycle, GoalPoint, KpiPoint

# A series: points sorted by day. KPI: (day, current, progress); goal: (day, progress, has_data).
Series = list[tuple]


def kpi_series(aggregation: str, baseline: float, target: float, values: Iterable[tuple]) -> Series:
    """A KPI's points from its live values, each (date, created_at, id, value): on each
    dated day, its current value (the latest value by date then entry, or the exact sum
    of the values so far) and progress — a point only where one of them changed."""
    points: Series = []
    ordered = sorted(values)
    seen: list[float] = []
    for i, (day, _created, _id, value) in enumerate(ordered):
        seen.append(value)
        if i + 1 < len(ordered) and ordered[i + 1][0] == day:
            continue  # the day's last value (by entry) is the one that stands
        current = math.fsum(seen) if aggregation == Aggregation.SUM else value
        point = (day, current, formulas.kpi_progress(current, baseline, target))
        if not points or not same_row(points[-1][1:], point[1:]):
            points.append(point)
    return points


@dataclass
class Node:
    """A goal as its history needs it."""

    id: int
    parent_id: int | None
    level: str
    state: str
    weight: float
    start: dt.date


def _at(series: Series, day: dt.date, days: list[dt.date]) -> tuple | None:
    """The point standing on `day` (the last one dated on or before it), or None."""
    i = bisect_right(days, day)
    return series[i - 1] if i else None


def goal_series(
    goal: Node,
    kpis: list[tuple[float, Series]],
    children: list[tuple[Node, Series]],
) -> Series:
    """A goal's points from its active KPIs' series (weight, series) and its child goals'
    (child, series), evaluated on every day one of them moves (and the goal's start)."""
    if goal.state == GoalState.DONE:
        return [(goal.start, 100.0, True)]
    parts = [(weight, series, "kpi") for weight, series in kpis]
    always_data = False
    for child, series in children:
        if child.state == GoalState.DONE:
            always_data = True
            parts.append((child.weight, [], "done"))  # 100 all along
        elif child.state == GoalState.CANCELLED:
            parts.append((0.0, series, "cancelled"))  # counts for data, not for progress
        else:
            parts.append((child.weight, series, "goal"))
    indexed = [
        (weight, series, kind, [point[0] for point in series]) for weight, series, kind in parts
    ]
    days = sorted({goal.start} | {point[0] for _w, series, _k, _d in indexed for point in series})
    points: Series = []
    last = (0.0, False)  # before any point: no progress, no data
    for day in days:
        pairs, has_data = [], always_data
        for weight, series, kind, series_days in indexed:
            point = _at(series, day, series_days)
            if kind == "kpi":
                pairs.append((weight, point[2] if point else 0.0))
                has_data = has_data or point is not None
            elif kind == "done":
                pairs.append((weight, 100.0))
            else:
                if kind == "goal":
                    pairs.append((weight, point[1] if point else 0.0))
                has_data = has_data or (point is not None and point[2])
        now = (formulas.goal_progress(pairs), has_data)
        if not same_row(last, now):
            points.append((day, *now))
            last = now
    return points


def health_on(day: dt.date, point: tuple | None, start: dt.date, due: dt.date, state: str) -> str:
    """A goal's health on a past day from its point then (None: no point yet)."""
    progress, has_data = (point[1], point[2]) if point else (0.0, False)
    return formulas.health(
        progress=progress, today=day, start=start, due=due, state=state, has_data=has_data
    )


# --- Keeping the history as the roll-up goes ----------------------------------------


def kpi_points(kpis: dict[int, KpiValues]) -> dict[int, Series]:
    """The new series of these KPIs, from their live values."""
    return {
        pk: kpi_series(kpi.aggregation, kpi.baseline, kpi.target, kpi.values)
        for pk, kpi in kpis.items()
    }


def _bottom_up(
    nodes: dict[int, Node],
    goal_ids: set[int],
    kpis_of: dict[int, list[tuple[int, float]]],
    kpi_series: dict[int, Series],
    known: dict[int, Series],
) -> dict[int, Series]:
    """The series of the goals `goal_ids`, deepest level first, from their active KPIs'
    (`kpis_of`: goal → (KPI, weight)) and their children's; a child not recomputed
    counts as `known` (stored). Children in id order, so every path sums alike."""
    children: dict[int, list[Node]] = defaultdict(list)
    for node in sorted(nodes.values(), key=lambda node: node.id):
        if node.parent_id is not None:
            children[node.parent_id].append(node)
    series = dict(known)
    for goal_id in sorted(goal_ids, key=lambda pk: (-LEVEL_RANK[nodes[pk].level], pk)):
        series[goal_id] = goal_series(
            nodes[goal_id],
            [(weight, kpi_series.get(pk, [])) for pk, weight in kpis_of[goal_id]],
            [(child, series.get(child.id, [])) for child in children[goal_id]],
        )
    return series


def _goal_points(points, point_ids: dict[tuple, int]) -> dict[int, Series]:
    """Stored goal points ({goal id: series}), noting each row's id in `point_ids`."""
    stored: dict[int, Series] = defaultdict(list)
    for point_id, goal_id, day, progress, has_data in points.order_by("goal_id", "day").values_list(
        "id", "goal_id", "day", "progress", "has_data"
    ):
        stored[goal_id].append((day, progress, has_data))
        point_ids["goal", goal_id, day] = point_id
    return stored


def refresh(goals: dict[int, tuple], chain: set[int], kpis: dict[int, KpiValues]) -> None:
    """Store the new series of the KPIs the roll-up recomputed (`kpis`) and recompute the
    history of the goals of `chain` (deepest first), given `goals`: the roll-up's rows
    (goals.rollup.GOAL_ROW: id, parent, level, state, weight, start, …) of the chains and
    their children. Two reads (the chains' KPIs with their points; the points of the
    chains and their children), then at most two writes per table (`_write`), only for
    what changed."""
    kpi_series = kpi_points(kpis)
    nodes = {row[0]: Node(*row[:6]) for row in goals.values()}
    kpis_of: dict[int, list[tuple[int, float]]] = defaultdict(list)  # goal → (KPI, weight)
    stored_kpi: dict[int, Series] = defaultdict(list)
    point_ids: dict[tuple, int] = {}
    rows = (
        Kpi.objects.filter(Q(goal_id__in=chain) | Q(id__in=list(kpi_series)))
        .order_by("id", "points__day")
        .values_list(
            "id",
            "goal_id",
            "state",
            "weight",
            "points__id",
            "points__day",
            "points__current",
            "points__progress",
        )
    )
    seen = set()
    for pk, goal_id, state, weight, point_id, day, current, progress in rows:
        if pk not in seen and state == KpiState.ACTIVE and goal_id in chain:
            kpis_of[goal_id].append((pk, weight))
        seen.add(pk)
        if point_id is not None:
            stored_kpi[pk].append((day, current, progress))
            point_ids["kpi", pk, day] = point_id
    series = {pk: kpi_series.get(pk, stored_kpi[pk]) for pk in {*stored_kpi, *kpi_series}}
    stored_goal = _goal_points(GoalPoint.objects.filter(goal_id__in=list(nodes)), point_ids)
    new_goal = _bottom_up(nodes, chain, kpis_of, series, stored_goal)
    _write(
        point_ids,
        {("kpi", pk): (stored_kpi[pk], kpi_series[pk]) for pk in kpi_series},
        {("goal", pk): (stored_goal[pk], new_goal[pk]) for pk in chain},
    )


def _write(point_ids: dict[tuple, int], *changes: dict[tuple, tuple[Series, Series]]) -> int:
    """Store what differs between old and new series (by owner): the days that no longer
    have a point are deleted, new and changed points are upserted — at most two
    statements per table. Returns how many points were removed, added or changed."""
    gone: dict[str, list[int]] = {"kpi": [], "goal": []}
    put: dict[str, list] = {"kpi": [], "goal": []}
    for change in changes:
        for (kind, pk), (old, new) in change.items():
            old_by_day = {point[0]: point for point in old}
            new_by_day = {point[0]: point for point in new}
            gone[kind] += [point_ids[kind, pk, day] for day in old_by_day.keys() - new_by_day]
            put[kind] += [
                (pk, point)
                for day, point in new_by_day.items()
                if day not in old_by_day or not same_row(old_by_day[day][1:], point[1:])
            ]
    if gone["kpi"]:
        KpiPoint.objects.filter(id__in=gone["kpi"]).delete()
    if gone["goal"]:
        GoalPoint.objects.filter(id__in=gone["goal"]).delete()
    if put["kpi"]:
        KpiPoint.objects.bulk_create(
            [
                KpiPoint(kpi_id=pk, day=day, current=current, progress=progress)
                for pk, (day, current, progress) in put["kpi"]
            ],
            update_conflicts=True,
            unique_fields=["kpi", "day"],
            update_fields=["current", "progress"],
        )
    if put["goal"]:
        GoalPoint.objects.bulk_create(
            [
                GoalPoint(goal_id=pk, day=day, progress=progress, has_data=has_data)
                for pk, (day, progress, has_data) in put["goal"]
            ],
            update_conflicts=True,
            unique_fields=["goal", "day"],
            update_fields=["progress", "has_data"],
        )
    return sum(len(rows) for rows in (*gone.values(), *put.values()))


# --- Rebuilding a cycle's history from its values -----------------------------------


@transaction.atomic
def cycle_history(cycle: Cycle) -> int:
    """Rebuild a cycle's whole history from its KPI updates and its tree as they are
    (`manage.py rollup --history`, and after an import); returns how many points were
    added or removed: 0 when the stored history was exact. A fixed number of queries."""
    # Locked as the roll-up locks them: a value recorded meanwhile waits, so its points
    # are not overwritten by this rebuild's older view.
    nodes = {
        row[0]: Node(*row[:6])
        for row in sorted(goal_rollup.cycle_goals_for_update(cycle), key=lambda row: row[0])
    }
    kpis = {
        row[0]: row[1:]
        for row in Kpi.objects.filter(goal__cycle=cycle)
        .order_by("id")
        .values_list("id", "aggregation", "baseline", "target", "goal_id", "state", "weight")
    }
    values: dict[int, list[DatedValue]] = defaultdict(list)
    for kpi_id, *value in (
        KpiUpdate.objects.live()
        .filter(kpi__goal__cycle=cycle)
        .values_list("kpi_id", "date", "created_at", "id", "value")
    ):
        values[kpi_id].append(DatedValue(*value))
    new_kpi = kpi_points(
        {
            pk: KpiValues(aggregation, baseline, target, values[pk])
            for pk, (aggregation, baseline, target, *_rest) in kpis.items()
        }
    )
    kpis_of: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for pk, (*_numbers, goal_id, state, weight) in kpis.items():
        if state == KpiState.ACTIVE:
            kpis_of[goal_id].append((pk, weight))
    new_goal = _bottom_up(nodes, set(nodes), kpis_of, new_kpi, {})
    point_ids: dict[tuple, int] = {}
    old_kpi, old_goal = stored_points(cycle, point_ids)
    return _write(
        point_ids,
        {("kpi", pk): (old_kpi.get(pk, []), series) for pk, series in new_kpi.items()},
        {("goal", pk): (old_goal.get(pk, []), series) for pk, series in new_goal.items()},
    )


def stored_points(cycle: Cycle, point_ids: dict | None = None) -> tuple[dict, dict]:
    """The cycle's stored history: ({KPI id: series}, {goal id: series})."""
    point_ids = {} if point_ids is None else point_ids
    kpi: dict[int, Series] = defaultdict(list)
    for point_id, pk, *point in (
        KpiPoint.objects.filter(kpi__goal__cycle=cycle)
        .order_by("kpi_id", "day")
        .values_list("id", "kpi_id", "day", "current", "progress")
    ):
        kpi[pk].append(tuple(point))
        point_ids["kpi", pk, point[0]] = point_id
    goal = _goal_points(GoalPoint.objects.filter(goal__cycle=cycle), point_ids)
    return dict(kpi), dict(goal)


# --- Reading the past ------------------------------------------------------------------


def _standing(model, owner: str, objects: list, day: dt.date, *fields: str) -> dict[int, tuple]:
    """{object id: (day, *fields) of its point standing on `day`: its last on or before it}"""
    standing: dict[int, tuple] = {}
    for owner_id, *point in (
        model.objects.filter(**{f"{owner}__in": [obj.pk for obj in objects], "day__lte": day})
        .order_by(owner, "day")
        .values_list(owner, "day", *fields)
    ):
        standing[owner_id] = tuple(point)  # the last one stands
    return standing


def as_of(goals: Iterable[Goal], day: dt.date) -> list[Goal]:
    """Give each goal its progress, health and `has_data` as they stood on `day` (one
    query for all of them); `expected` is then the expected progress on that day."""
    goals = list(goals)
    standing = _standing(GoalPoint, "goal_id", goals, day, "progress", "has_data")
    for goal in goals:
        point = standing.get(goal.pk)
        goal.progress = point[1] if point else 0.0
        goal.has_data = bool(point and point[2])
        goal.health = health_on(day, point, goal.start, goal.due, goal.state)
        goal.as_of = day
    return goals


def kpis_as_of(kpis: Iterable[Kpi], day: dt.date) -> list[Kpi]:
    """Give each KPI its current value, progress and health as they stood on `day`."""
    kpis = list(kpis)
    standing = _standing(KpiPoint, "kpi_id", kpis, day, "current", "progress")
    for kpi in kpis:
        point = standing.get(kpi.pk)
        kpi.current = point[1] if point else None
        kpi.progress = point[2] if point else 0.0
        kpi.health = formulas.health(
            progress=kpi.progress, today=day, start=kpi.start, due=kpi.due, has_data=bool(point)
        )
        kpi.as_of = day
    return kpis


def as_of_day(raw: str | None, today: dt.date, *, blank: bool = False) -> dt.date | None:
    """The past day of `?as_of=`: None for today's tree — when absent, blank (if `blank`
    may be: a page's emptied date field), today or later (nothing is dated later: the
    tree stands as it is). A ValidationError on `as_of` for anything but an ISO date."""
    if raw is None or (blank and raw == ""):
        return None
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError({"as_of": ["Use a date as YYYY-MM-DD, e.g. 2027-03-31."]})
    return day if day < today else None


def goal_points(goal: Goal) -> list[GoalPoint]:
    return list(GoalPoint.objects.filter(goal=goal).order_by("day"))


def goal_history(goal: Goal) -> list[dict]:
    """A goal's points with the expected progress and the health on each day."""
    return [
        {
            "date": point.day,
            "progress": point.progress,
            "has_data": point.has_data,
            "expected": formulas.expected_progress(point.day, goal.start, goal.due),
            "health": health_on(
                point.day,
                (point.day, point.progress, point.has_data),
                goal.start,
                goal.due,
                goal.state,
            ),
        }
        for point in goal_points(goal)
    ]
