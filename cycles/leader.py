"""The leader's dashboard (SPEC §9.3): how each department carries each strategic
objective (the heatmap), who has checked in for the period shown (compliance), and how
each objective moved lately (movement, with a sparkline of its history).

The heatmap and compliance scan the cycle, so they are counted as the dashboard's other
whole-cycle figures are (cycles/summary.py: stored by a recount after each change in
production, counted on each view otherwise) and kept as JSON: `heatmap_figures`,
`compliance_figures`. The page loads the departments and people they name afresh
(`leader_dashboard`, two queries). Movement reads the objectives' history points, a
handful of rows, in one query on each view.

What a heatmap cell counts. The cell of objective O and department D is the weighted
mean of D's *topmost* goals in O's subtree: the goals of D (department and team goals
by their department, individual goals by their owner's) below O with no goal of D above
them. A department goal of D directly under O is such a goal, and so is a team goal of
D under another department's goal; a goal of D below another goal of D is not, since
it already counts in that one's progress. Each weighs its weight in its parent, as in
the roll-up; a done goal counts 100; a cancelled goal, and everything below one, counts
nothing. Its health grades the same mean over the goals that reported something (their
reported progress, done ones as 100) against the progress expected by today over the
span of its goals — as a goal's own health does (goals/progress.py `goal_health`). A
department with no goal under an objective has no cell there ("—"). The columns are the
departments that have a cell under some objective.

What compliance counts. Per department (the KPI owner's), the KPIs that owe a value in
the period (kpis/reminders.py `kpis_to_check_in`) and how many have one dated in it
(`checked_in`); the people who still owe one, by name.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, FloatField, Max, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from core.periods import Period
from goals import progress as formulas
from goals.models import Goal, GoalState, Level
from kpis.models import CheckinNudge
from kpis.reminders import checked_in, kpis_to_check_in
from org.models import Department, Member

from .models import Cycle, GoalPoint

SHOWN_PEOPLE = 12  # compliance names at most this many people per department, and counts the rest

# --- The heatmap -------------------------------------------------------------------------

# The department a goal counts under: an individual goal's is its owner's (as for
# permissions, org/permissions.goal_department_id); a department or team goal's its own.
_DEPARTMENT = Case(
    When(level=Level.INDIVIDUAL, then=F("owner__department_id")), default=F("department_id")
)
# The strategic objective a goal stands under (the tree is at most four levels deep).
_OBJECTIVE = Coalesce(F("parent__parent__parent_id"), F("parent__parent_id"), F("parent_id"))
_DONE = Q(state=GoalState.DONE)
_COUNTS = Case(When(_DONE, then=Value(100.0)), default=F("progress"), output_field=FloatField())
_REPORTED = Q(reported_progress__isnull=False) | _DONE
_REPORTS = Case(
    When(_DONE, then=Value(100.0)), default=F("reported_progress"), output_field=FloatField()
)


def heatmap_figures(cycle: Cycle, today: dt.date) -> dict[str, dict[str, dict[str, Any]]]:
    """{objective id: {department id: {"progress", "health", "goals"}}} (as stored: JSON
    keys are text), in one query: the cycle's topmost goals of each department under
    each objective, summed per pair (see the module's docstring)."""
    rows = (
        Goal.objects.filter(cycle=cycle)
        .exclude(level=Level.STRATEGIC)
        .exclude(state=GoalState.CANCELLED)
        .exclude(parent__state=GoalState.CANCELLED)
        .exclude(parent__parent__state=GoalState.CANCELLED)
        .annotate(unit=_DEPARTMENT, objective=_OBJECTIVE)
        .filter(unit__isnull=False)
        # Topmost: no goal of the same department above it (a parent is never individual).
        .exclude(parent__department_id=F("unit"))
        .exclude(parent__parent__department_id=F("unit"))
        .order_by()
        .values("objective", "unit")
        .annotate(
            weights=Sum("weight"),
            weighted=Sum(F("weight") * _COUNTS, output_field=FloatField()),
            reported_weight=Sum(Case(When(_REPORTED, then=F("weight")), default=Value(0.0))),
            reported_weighted=Sum(
                Case(When(_REPORTED, then=F("weight") * _REPORTS), default=Value(0.0)),
                output_field=FloatField(),
            ),
            first_start=Min("start"),
            last_due=Max("due"),
            goals=Count("id"),
        )
    )
    figures: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        progress = formulas.goal_progress([(row["weights"], row["weighted"] / row["weights"])])
        reported = (
            formulas.goal_progress(
                [(row["reported_weight"], row["reported_weighted"] / row["reported_weight"])]
            )
            if row["reported_weight"]
            else None
        )
        health = formulas.goal_health(
            progress=progress,
            reported=reported,
            today=today,
            start=row["first_start"],
            due=row["last_due"],
        )
        figures[str(row["objective"])][str(row["unit"])] = {
            "progress": progress,
            "health": health,
            "goals": row["goals"],
        }
    return dict(figures)


@dataclass(frozen=True)
class Cell:
    """One department's part in one objective."""

    department: Department
    progress: float
    health: str
    goals: int


@dataclass
class HeatRow:
    objective: Goal
    cells: list[Cell | None]  # one per department of the heatmap, None: no goals there


@dataclass
class Heatmap:
    departments: list[Department]
    rows: list[HeatRow]


# --- Compliance --------------------------------------------------------------------------


def compliance_figures(cycle: Cycle, period: Period, today: dt.date) -> list[dict[str, Any]]:
    """Per department of the KPI owners (None: people in no department): how many KPIs
    owe a value in `period`, how many have one, and who still owes one (the first
    SHOWN_PEOPLE by username, and how many in all). Two queries."""
    owing = kpis_to_check_in(cycle, today)
    counts = (
        owing.order_by()
        .values("owner__department_id")
        .annotate(kpis=Count("id"), done=Count("id", filter=checked_in(period)))
    )
    figures = {
        row["owner__department_id"]: {
            "department": row["owner__department_id"],
            "kpis": row["kpis"],
            "checked_in": row["done"],
            "missing": [],
            "missing_count": 0,
        }
        for row in counts
    }
    missing = (
        owing.exclude(checked_in(period))
        .order_by("owner__department_id", "owner__user__username", "owner_id")
        .values_list("owner__department_id", "owner_id")
        .distinct()
    )
    for department_id, owner_id in missing:
        row = figures[department_id]
        row["missing_count"] += 1
        if len(row["missing"]) < SHOWN_PEOPLE:
            row["missing"].append(owner_id)
    return list(figures.values())


@dataclass
class ComplianceRow:
    """A department's check-ins for the period (department None: people in none)."""

    department: Department | None
    kpis: int
    checked_in: int
    missing: list[Member]
    missing_count: int
    reminded_today: set[int] = field(default_factory=set)  # of `missing`, by *Remind now*
    can_remind: bool = False  # set by the page, from org/permissions.py

    @property
    def share(self) -> float:
        """The share of its KPIs with a value in the period, in percent."""
        return 100.0 * self.checked_in / self.kpis if self.kpis else 100.0

    @property
    def more(self) -> int:
        """People who owe a value beyond those named."""
        return self.missing_count - len(self.missing)

    @property
    def department_id(self) -> int | None:
        return self.department.pk if self.department else None


# --- Both, with their rows named ------------------------------------------------------------


@dataclass
class Leader:
    heatmap: Heatmap
    compliance: list[ComplianceRow] = field(default_factory=list)


def leader_dashboard(
    objectives: list[Goal],
    heat: dict[str, dict[str, dict[str, Any]]],
    checks: list[dict],
    today: dt.date,
) -> Leader:
    """The heatmap and compliance figures with the departments and people they name,
    loaded afresh (names change), and which of those people were reminded `today`:
    three queries at most."""
    department_ids = {int(pk) for cells in heat.values() for pk in cells}
    department_ids |= {row["department"] for row in checks if row["department"] is not None}
    departments = (
        {d.pk: d for d in Department.objects.filter(pk__in=department_ids)}
        if department_ids
        else {}
    )
    member_ids = {pk for row in checks for pk in row["missing"]}
    people = (
        {m.pk: m for m in Member.objects.filter(pk__in=member_ids).select_related("user")}
        if member_ids
        else {}
    )
    reminded = (
        set(
            CheckinNudge.objects.filter(member__in=member_ids, day=today).values_list(
                "member_id", flat=True
            )
        )
        if member_ids
        else set()
    )
    columns = sorted(
        (
            departments[int(pk)]
            for pk in {pk for cells in heat.values() for pk in cells}
            if int(pk) in departments
        ),
        key=lambda d: (d.name.casefold(), d.pk),
    )
    rows = []
    for objective in objectives:
        cells = heat.get(str(objective.pk), {})
        rows.append(
            HeatRow(
                objective,
                [
                    Cell(department, **cells[str(department.pk)])
                    if str(department.pk) in cells
                    else None
                    for department in columns
                ],
            )
        )
    compliance = [
        ComplianceRow(
            department=departments.get(row["department"]) if row["department"] else None,
            kpis=row["kpis"],
            checked_in=row["checked_in"],
            missing=[people[pk] for pk in row["missing"] if pk in people],
            missing_count=row["missing_count"],
            reminded_today={pk for pk in row["missing"] if pk in reminded},
        )
        for row in checks
        if row["department"] is None or row["department"] in departments
    ]
    # By department name; people in no department last.
    compliance.sort(
        key=lambda row: (
            row.department is None,
            row.department.name.casefold() if row.department else "",
        )
    )
    return Leader(Heatmap(columns, rows), compliance)


# --- Movement ----------------------------------------------------------------------------

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 132, 34, 3
WEEK = dt.timedelta(days=7)


@dataclass
class Sparkline:
    """A small step line of an objective's progress over the cycle so far (0–100 %),
    against the line it is expected to follow (0 % at its start to 100 % at its due
    date), both up to today."""

    width: int
    height: int
    points: str  # the polyline of the progress, up to today
    expected: tuple[float, float, float, float]  # x1, y1, x2, y2
    last: tuple[float, float] | None  # where the line ends (a dot), None: no history
    label: str  # what it shows, in words


@dataclass
class Movement:
    """An objective's change in progress, in points: since the last completed review
    of the cycle (None: none yet) and over the last 7 days."""

    objective: Goal
    now: float
    since_review: float | None
    week: float
    spark: Sparkline

    @property
    def week_trend(self) -> Trend:
        return trend(self.week)

    @property
    def review_trend(self) -> Trend | None:
        return None if self.since_review is None else trend(self.since_review)


@dataclass(frozen=True)
class Trend:
    """A change in progress as the page says it: a direction (up, down, flat: for the
    symbol and colour) and the signed points, to one decimal."""

    direction: str
    text: str


def trend(points: float) -> Trend:
    shown = round(points, 1)
    if shown > 0:
        return Trend("up", f"▲ +{shown:.1f} pts")
    if shown < 0:
        return Trend("down", f"▼ −{-shown:.1f} pts")
    return Trend("flat", "= 0.0 pts")


def movements(
    cycle: Cycle, objectives: list[Goal], today: dt.date, review_day: dt.date | None
) -> list[Movement]:
    """Each objective's movement from its history points (one query for all of them):
    its progress standing today, the day of the review and 7 days ago (a day before its
    first point: 0)."""
    series: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    if objectives:
        for goal_id, day, progress in (
            GoalPoint.objects.filter(goal__in=[goal.pk for goal in objectives])
            .order_by("goal_id", "day")
            .values_list("goal_id", "day", "progress")
        ):
            series[goal_id].append((day, progress))
    moves = []
    for objective in objectives:
        points = series[objective.pk]
        days = [day for day, _progress in points]

        def standing(day: dt.date, points: list = points, days: list = days) -> float:
            i = bisect_right(days, day)
            return points[i - 1][1] if i else 0.0

        now = standing(today)
        moves.append(
            Movement(
                objective=objective,
                now=now,
                since_review=now - standing(review_day) if review_day else None,
                week=now - standing(today - WEEK),
                spark=sparkline(cycle, objective, points, today),
            )
        )
    return moves


def sparkline(
    cycle: Cycle, objective: Goal, points: list[tuple[dt.date, float]], today: dt.date
) -> Sparkline:
    """The step line of `points` (day, progress) from the cycle's start to today (or
    its end, once it ended): the cycle so far across the whole width, each point
    holding until the next; beside it the line of the progress expected until then."""
    first, last = cycle.start, min(max(today, cycle.start), cycle.end)
    span = max((last - first).days, 1)
    width, height, pad = SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD

    def x(day: dt.date) -> float:
        day = min(max(day, first), last)
        return round(pad + (width - 2 * pad) * (day - first).days / span, 1)

    def y(progress: float) -> float:
        return round(height - pad - (height - 2 * pad) * progress / 100, 1)

    steps: list[tuple[float, float]] = []
    level = 0.0
    if today >= first:
        steps.append((x(first), y(0.0)))
        for day, progress in points:
            if day > last:
                break
            steps += [(x(day), y(level)), (x(day), y(progress))]
            level = progress
        steps.append((x(last), y(level)))
    label = (
        f"Progress from {first:%b} {first.day} to {last:%b} {last.day}, now {level:.1f}%"
        if today >= first
        else f"Starts on {first:%b} {first.day}"
    )
    expected = formulas.expected_progress(last, objective.start, objective.due)
    return Sparkline(
        width=width,
        height=height,
        points=" ".join(f"{px},{py}" for px, py in steps),
        expected=(x(objective.start), y(0.0), x(last), y(expected)),
        last=steps[-1] if steps else None,
        label=label,
    )
