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
* Beside it, its reported progress that day (SPEC §9.3): the same mean over only the
  parts that had data then — KPIs with a value dated by that day, child goals that had
  reported something (a done one at 100) — None while nothing was.
* Health is not stored: for a past day it is computed from that day's reported
  progress, with that day as "today" (`health_on`), as the roll-up grades it today.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery

from core.dates import out_of_range
from core.numbers import same_row
from goals import progress as formulas
from goals import rollup as goal_rollup
from goals.models import LEVEL_RANK, Goal, GoalState
from goals.rows import DatedValue, GoalRow, KpiValues, Weighted
from kpis.models import Aggregation, Kpi, KpiState, KpiUpdate

from .models import Cycle, GoalPoint, KpiPoint


class KpiDay(NamedTuple):
    """A KPI from this day on (until its next point): its current value and progress."""

    day: dt.date
    current: float
    progress: float


class GoalDay(NamedTuple):
    """A goal from this day on: its progress, whether a value stands at or below it,
    and its reported progress (None: nothing reported yet)."""

    day: dt.date
    progress: float
    has_data: bool
    reported_progress: float | None


KpiSeries = list[KpiDay]  # sorted by day
GoalSeries = list[GoalDay]  # sorted by day
PointIds = dict[tuple[str, int, dt.date], int]  # ("kpi" or "goal", owner, day) → its row


class KpiWeight(NamedTuple):
    """An active KPI of a goal, with its weight in the goal's progress."""

    id: int
    weight: float


def kpi_series(
    aggregation: str, baseline: float, target: float, values: Iterable[DatedValue]
) -> KpiSeries:
    """A KPI's points from its live values: on each dated day, its current value (the
    latest value by date then entry, or the exact sum of the values so far) and
    progress — a point only where one of them changed."""
    points: KpiSeries = []
    ordered = sorted(values)
    seen: list[float] = []
    for i, value in enumerate(ordered):
        seen.append(value.value)
        if i + 1 < len(ordered) and ordered[i + 1].date == value.date:
            continue  # the day's last value (by entry) is the one that stands
        current = math.fsum(seen) if aggregation == Aggregation.SUM else value.value
        point = KpiDay(value.date, current, formulas.kpi_progress(current, baseline, target))
        if not points or not same_row(_figures(points[-1]), _figures(point)):
            points.append(point)
    return points


def _figures(point: KpiDay | GoalDay) -> tuple[Any, ...]:
    """What a point says, beside its day: equal figures make no new point."""
    if isinstance(point, KpiDay):
        return (point.current, point.progress)
    return (point.progress, point.has_data, point.reported_progress)


def _standing[P: (KpiDay, GoalDay)](
    series: Sequence[P], days: list[dt.date], day: dt.date
) -> P | None:
    """The point standing on `day` (the last one dated on or before it), or None;
    `days` are the series' days."""
    i = bisect_right(days, day)
    return series[i - 1] if i else None


def goal_series(
    goal: GoalRow,
    kpis: list[tuple[float, KpiSeries]],
    children: list[tuple[GoalRow, GoalSeries]],
) -> GoalSeries:
    """A goal's points from its active KPIs' series (weight, series) and its child goals'
    (child, series), evaluated on every day one of them moves (and the goal's start).
    The parts are summed in the roll-up's order: KPIs, then children (by id)."""
    if goal.state == GoalState.DONE:
        return [GoalDay(goal.start, 100.0, True, 100.0)]
    kpi_parts = [(weight, series, [p.day for p in series]) for weight, series in kpis]
    child_parts = [(child, series, [p.day for p in series]) for child, series in children]
    always_data = any(child.state == GoalState.DONE for child, _series in children)
    days = sorted(
        {goal.start}
        | {day for _weight, _series, kpi_days in kpi_parts for day in kpi_days}
        | {day for _child, _series, child_days in child_parts for day in child_days}
    )
    points: GoalSeries = []
    last: tuple[float, bool, float | None] = (0.0, False, None)  # before any point: nothing
    for day in days:
        parts: list[Weighted] = []
        reported: list[Weighted] = []  # the parts that had data that day
        has_data = always_data
        for weight, series, kpi_days in kpi_parts:
            kpi_point = _standing(series, kpi_days, day)
            parts.append(Weighted(weight, kpi_point.progress if kpi_point else 0.0))
            if kpi_point is not None:
                reported.append(Weighted(weight, kpi_point.progress))
            has_data = has_data or kpi_point is not None
        for child, child_series, child_days in child_parts:
            if child.state == GoalState.DONE:
                parts.append(Weighted(child.weight, 100.0))  # 100 all along
                reported.append(Weighted(child.weight, 100.0))
                continue
            point = _standing(child_series, child_days, day)
            if child.state != GoalState.CANCELLED:  # counts for data, not for progress
                parts.append(Weighted(child.weight, point.progress if point else 0.0))
                if point is not None and point.reported_progress is not None:
                    reported.append(Weighted(child.weight, point.reported_progress))
            has_data = has_data or (point is not None and point.has_data)
        now = (formulas.goal_progress(parts), has_data, formulas.reported_progress(reported))
        if not same_row(last, now):
            points.append(GoalDay(day, *now))
            last = now
    return points


def health_on(day: dt.date, point: GoalDay | None, start: dt.date, due: dt.date, state: str) -> str:
    """A goal's health on a past day from its point then (None: no point yet): its
    reported progress that day against that day's expected progress."""
    return formulas.goal_health(
        progress=point.progress if point else 0.0,
        reported=point.reported_progress if point else None,
        today=day,
        start=start,
        due=due,
        state=state,
    )


# --- Keeping the history as the roll-up goes ----------------------------------------


def kpi_points(kpis: dict[int, KpiValues]) -> dict[int, KpiSeries]:
    """The new series of these KPIs, from their live values."""
    return {
        pk: kpi_series(kpi.aggregation, kpi.baseline, kpi.target, kpi.values)
        for pk, kpi in kpis.items()
    }


def _bottom_up(
    goals: dict[int, GoalRow],
    goal_ids: set[int],
    kpis_of: dict[int, list[KpiWeight]],
    kpi_series: dict[int, KpiSeries],
    known: dict[int, GoalSeries],
) -> dict[int, GoalSeries]:
    """The series of the goals `goal_ids`, deepest level first, from their active KPIs'
    (`kpis_of`) and their children's; a child not recomputed counts as `known`
    (stored). Children in id order, so every path sums alike."""
    children: dict[int, list[GoalRow]] = defaultdict(list)
    for goal in sorted(goals.values(), key=lambda goal: goal.id):
        if goal.parent_id is not None:
            children[goal.parent_id].append(goal)
    series = dict(known)
    for goal_id in sorted(goal_ids, key=lambda pk: (-LEVEL_RANK[goals[pk].level], pk)):
        series[goal_id] = goal_series(
            goals[goal_id],
            [(kpi.weight, kpi_series.get(kpi.id, [])) for kpi in kpis_of[goal_id]],
            [(child, series.get(child.id, [])) for child in children[goal_id]],
        )
    return series


def _goal_points(points: models.QuerySet[GoalPoint], point_ids: PointIds) -> dict[int, GoalSeries]:
    """Stored goal points ({goal id: series}), noting each row's id in `point_ids`."""
    stored: dict[int, GoalSeries] = defaultdict(list)
    rows = points.order_by("goal_id", "day").values_list(
        "id", "goal_id", "day", "progress", "has_data", "reported_progress"
    )
    for point_id, goal_id, day, progress, has_data, reported in rows:
        stored[goal_id].append(GoalDay(day, progress, has_data, reported))
        point_ids["goal", goal_id, day] = point_id
    return stored


class _KpiBesidePoint(NamedTuple):
    """A KPI beside one of its stored points (the point's fields None when it has none)."""

    id: int
    goal_id: int
    state: str
    weight: float
    point_id: int | None
    day: dt.date | None
    current: float | None
    progress: float | None

    def point(self) -> KpiDay | None:
        if self.day is None or self.current is None or self.progress is None:
            return None
        return KpiDay(self.day, self.current, self.progress)


def refresh(goals: dict[int, GoalRow], chain: set[int], kpis: dict[int, KpiValues]) -> None:
    """Store the new series of the KPIs the roll-up recomputed (`kpis`) and recompute the
    history of the goals of `chain` (deepest first), given `goals`: the roll-up's rows
    of the chains and their children. Two reads (the chains' KPIs with their points;
    the points of the chains and their children), then at most two writes per table
    (`_write`), only for what changed."""
    kpi_series = kpi_points(kpis)
    kpis_of: dict[int, list[KpiWeight]] = defaultdict(list)
    stored_kpi: dict[int, KpiSeries] = defaultdict(list)
    point_ids: PointIds = {}
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
    for kpi in map(_KpiBesidePoint._make, rows):
        if kpi.id not in seen and kpi.state == KpiState.ACTIVE and kpi.goal_id in chain:
            kpis_of[kpi.goal_id].append(KpiWeight(kpi.id, kpi.weight))
        seen.add(kpi.id)
        point = kpi.point()
        if point is not None and kpi.point_id is not None:
            stored_kpi[kpi.id].append(point)
            point_ids["kpi", kpi.id, point.day] = kpi.point_id
    series = {pk: kpi_series.get(pk, stored_kpi[pk]) for pk in {*stored_kpi, *kpi_series}}
    stored_goal = _goal_points(GoalPoint.objects.filter(goal_id__in=list(goals)), point_ids)
    new_goal = _bottom_up(goals, chain, kpis_of, series, stored_goal)
    _write(
        point_ids,
        {pk: (stored_kpi[pk], kpi_series[pk]) for pk in kpi_series},
        {pk: (stored_goal[pk], new_goal[pk]) for pk in chain},
    )


def _diff[P: (KpiDay, GoalDay)](
    kind: str, point_ids: PointIds, changes: dict[int, tuple[list[P], list[P]]]
) -> tuple[list[int], list[tuple[int, P]]]:
    """Between old and new series (by owner): the rows of the days that no longer have
    a point, and the new and changed points."""
    gone: list[int] = []
    put: list[tuple[int, P]] = []
    for pk, (old, new) in changes.items():
        old_by_day = {point.day: point for point in old}
        new_by_day = {point.day: point for point in new}
        gone += [point_ids[kind, pk, day] for day in old_by_day.keys() - new_by_day]
        put += [
            (pk, point)
            for day, point in new_by_day.items()
            if day not in old_by_day or not same_row(_figures(old_by_day[day]), _figures(point))
        ]
    return gone, put


def _write(
    point_ids: PointIds,
    kpis: dict[int, tuple[KpiSeries, KpiSeries]],
    goals: dict[int, tuple[GoalSeries, GoalSeries]],
) -> int:
    """Store what differs between the old and new series ({owner: (old, new)}): the
    days that no longer have a point are deleted, new and changed points are upserted —
    at most two statements per table. Returns how many points were removed, added or
    changed."""
    kpis_gone, kpis_put = _diff("kpi", point_ids, kpis)
    goals_gone, goals_put = _diff("goal", point_ids, goals)
    if kpis_gone:
        KpiPoint.objects.filter(id__in=kpis_gone).delete()
    if goals_gone:
        GoalPoint.objects.filter(id__in=goals_gone).delete()
    if kpis_put:
        KpiPoint.objects.bulk_create(
            [
                KpiPoint(kpi_id=pk, day=p.day, current=p.current, progress=p.progress)
                for pk, p in kpis_put
            ],
            update_conflicts=True,
            unique_fields=["kpi", "day"],
            update_fields=["current", "progress"],
        )
    if goals_put:
        GoalPoint.objects.bulk_create(
            [
                GoalPoint(
                    goal_id=pk,
                    day=p.day,
                    progress=p.progress,
                    has_data=p.has_data,
                    reported_progress=p.reported_progress,
                )
                for pk, p in goals_put
            ],
            update_conflicts=True,
            unique_fields=["goal", "day"],
            update_fields=["progress", "has_data", "reported_progress"],
        )
    return len(kpis_gone) + len(kpis_put) + len(goals_gone) + len(goals_put)


# --- Rebuilding a cycle's history from its values -----------------------------------


class _CycleKpi(NamedTuple):
    id: int
    aggregation: str
    baseline: float
    target: float
    goal_id: int
    state: str
    weight: float


@transaction.atomic
def cycle_history(cycle: Cycle) -> int:
    """Rebuild a cycle's whole history from its KPI updates and its tree as they are
    (`manage.py rollup --history`, and after an import); returns how many points were
    added or removed: 0 when the stored history was exact. A fixed number of queries."""
    # Locked as the roll-up locks them: a value recorded meanwhile waits, so its points
    # are not overwritten by this rebuild's older view.
    goals = {
        row.id: row
        for row in sorted(goal_rollup.cycle_goals_for_update(cycle), key=lambda row: row.id)
    }
    kpis = [
        _CycleKpi._make(row)
        for row in Kpi.objects.filter(goal__cycle=cycle)
        .order_by("id")
        .values_list(*_CycleKpi._fields)
    ]
    values: dict[int, list[DatedValue]] = defaultdict(list)
    for kpi_id, *value in (
        KpiUpdate.objects.live()
        .filter(kpi__goal__cycle=cycle)
        .values_list("kpi_id", *DatedValue._fields)
    ):
        values[kpi_id].append(DatedValue._make(value))
    new_kpi = kpi_points(
        {
            kpi.id: KpiValues(kpi.aggregation, kpi.baseline, kpi.target, values[kpi.id])
            for kpi in kpis
        }
    )
    kpis_of: dict[int, list[KpiWeight]] = defaultdict(list)
    for kpi in kpis:
        if kpi.state == KpiState.ACTIVE:
            kpis_of[kpi.goal_id].append(KpiWeight(kpi.id, kpi.weight))
    new_goal = _bottom_up(goals, set(goals), kpis_of, new_kpi, {})
    point_ids: PointIds = {}
    old_kpi, old_goal = stored_points(cycle, point_ids)
    return _write(
        point_ids,
        {pk: (old_kpi.get(pk, []), series) for pk, series in new_kpi.items()},
        {pk: (old_goal.get(pk, []), series) for pk, series in new_goal.items()},
    )


def stored_points(
    cycle: Cycle, point_ids: PointIds | None = None
) -> tuple[dict[int, KpiSeries], dict[int, GoalSeries]]:
    """The cycle's stored history: ({KPI id: series}, {goal id: series})."""
    point_ids = {} if point_ids is None else point_ids
    kpi: dict[int, KpiSeries] = defaultdict(list)
    for point_id, pk, day, current, progress in (
        KpiPoint.objects.filter(kpi__goal__cycle=cycle)
        .order_by("kpi_id", "day")
        .values_list("id", "kpi_id", "day", "current", "progress")
    ):
        kpi[pk].append(KpiDay(day, current, progress))
        point_ids["kpi", pk, day] = point_id
    goal = _goal_points(GoalPoint.objects.filter(goal__cycle=cycle), point_ids)
    return dict(kpi), dict(goal)


# --- Reading the past ------------------------------------------------------------------


def _standing_points[P: (KpiDay, GoalDay)](
    model: type[KpiPoint] | type[GoalPoint],
    owner: str,
    objects: list[Any],
    day: dt.date,
    point: type[P],
) -> dict[int, P]:
    """{object id: its point standing on `day` (its last on or before it)}, one query."""
    standing: dict[int, P] = {}
    rows = (
        model.objects.filter(**{f"{owner}__in": [obj.pk for obj in objects], "day__lte": day})
        .order_by(owner, "day")
        .values_list(owner, *point._fields)
    )
    for owner_id, *fields in rows:
        standing[owner_id] = point._make(fields)  # the last one stands
    return standing


def progress_standing_on(day: dt.date, of: str = "goal") -> Subquery:
    """The progress of the point standing on `day` (its last one on or before it, as
    `_standing` finds it) of the goal (`of="goal"`) or KPI (`of="kpi"`) of the outer
    query's row, as a column to annotate it with: NULL when none stood then (no data
    yet). One read of the (goal or KPI, day) unique index a row."""
    model = GoalPoint if of == "goal" else KpiPoint
    points = model.objects.filter(**{of: OuterRef("pk")}, day__lte=day).order_by("-day")
    return Subquery(points.values("progress")[:1])


def as_of(goals: Iterable[Goal], day: dt.date) -> list[Goal]:
    """Give each goal its progress, reported progress, health and `has_data` as they
    stood on `day` (one query for all of them); `expected` is then the expected progress
    on that day."""
    goals = list(goals)
    standing = _standing_points(GoalPoint, "goal_id", goals, day, GoalDay)
    for goal in goals:
        point = standing.get(goal.pk)
        goal.progress = point.progress if point else 0.0
        goal.reported_progress = point.reported_progress if point else None
        goal.has_data = bool(point and point.has_data)
        goal.health = health_on(day, point, goal.start, goal.due, goal.state)
        goal.as_of = day  # read by the bars' template tags
    return goals


def kpis_as_of(kpis: Iterable[Kpi], day: dt.date) -> list[Kpi]:
    """Give each KPI its current value, progress and health as they stood on `day`."""
    kpis = list(kpis)
    standing = _standing_points(KpiPoint, "kpi_id", kpis, day, KpiDay)
    for kpi in kpis:
        point = standing.get(kpi.pk)
        kpi.current = point.current if point else None
        kpi.progress = point.progress if point else 0.0
        kpi.health = formulas.health(
            progress=kpi.progress, today=day, start=kpi.start, due=kpi.due, has_data=bool(point)
        )
        kpi.as_of = day  # read by the bars' template tags
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
    if far := out_of_range(day):
        raise ValidationError({"as_of": [far]})
    return day if day < today else None


def goal_points(goal: Goal) -> list[GoalPoint]:
    return list(GoalPoint.objects.filter(goal=goal).order_by("day"))


def goal_history(goal: Goal) -> list[dict[str, Any]]:
    """A goal's points with the expected progress and the health on each day."""
    return [
        {
            "date": point.day,
            "progress": point.progress,
            "has_data": point.has_data,
            "reported_progress": point.reported_progress,
            "expected": formulas.expected_progress(point.day, goal.start, goal.due),
            "health": health_on(
                point.day,
                GoalDay(point.day, point.progress, point.has_data, point.reported_progress),
                goal.start,
                goal.due,
                goal.state,
            ),
        }
        for point in goal_points(goal)
    ]
