"""The KPI half of the roll-up: recompute KPIs from their values, then hand their
numbers to the goal half (goals/rollup.py).

* `kpi_rollup` — used by every service that changes a KPI or its values, inside the
  transaction that holds `goals.rollup.lock_chains`: recompute the touched KPIs
  (one read, one write each), then their goals and every ancestor.
* `cycle_rollup` — recomputes a whole cycle in a fixed number of queries: load goals
  (locked) and KPIs with their current values, compute in memory, write what changed
  in one statement per table. It repairs any drift; the scheduled job runs it.
* `kpi_sums` — how the goal half sums a goal's own KPIs (registered in apps.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, TypedDict, cast

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from core.db import bulk_write
from core.numbers import same_row
from goals import progress as formulas
from goals import rollup as goal_rollup
from goals.models import Goal
from goals.rows import DatedValue, GoalFigures, GoalRow, KpiValues, Weighted
from goals.signals import cycles_changed
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change

from .models import Aggregation, Kpi, KpiState, KpiUpdate

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from cycles.models import Cycle

    class LatestValue(TypedDict):
        """What kpi_values_queryset annotates a KPI with (None: it has no live value)."""

        latest_value: float | None
        latest_date: dt.date | None


log = logging.getLogger("cascade.rollup")
LOGGED = 20  # changed rows logged one by one per roll-up; then a count


def kpi_sums(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    """Annotate each goal with `own_weight` (Σ weight) and `own_weighted` (Σ weight ×
    progress) of its active KPIs, and `reported_weight` and `reported_weighted`: the
    same sums over those that have a value (None when none has one)."""
    kpis = Kpi.objects.filter(goal=OuterRef("pk"), state=KpiState.ACTIVE).order_by()
    reported = kpis.filter(current__isnull=False)
    weighted = F("weight") * F("progress")
    return goals.annotate(
        own_weight=Subquery(kpis.values("goal").annotate(s=Sum("weight")).values("s")),
        own_weighted=Subquery(kpis.values("goal").annotate(s=Sum(weighted)).values("s")),
        reported_weight=Subquery(reported.values("goal").annotate(s=Sum("weight")).values("s")),
        reported_weighted=Subquery(reported.values("goal").annotate(s=Sum(weighted)).values("s")),
    )


def kpi_values_queryset(kpis: QuerySet[Kpi]) -> QuerySet[WithAnnotations[Kpi, LatestValue]]:
    """Annotate KPIs with `latest_value` and `latest_date` of their updates (no N+1)."""
    updates = KpiUpdate.objects.live().filter(kpi=OuterRef("pk"))
    return kpis.annotate(
        latest_value=Subquery(updates.order_by("-date", "-created_at", "-id").values("value")[:1]),
        latest_date=Subquery(updates.order_by("-date").values("date")[:1]),
    )


def value_sums(kpis: QuerySet[Kpi]) -> dict[int, float]:
    """{kpi id: Σ of its live values} for the KPIs that sum their values, in one read.

    The sum is exact, rounded once (math.fsum): a database's running float sum loses
    small values beside large ones, and two large ones that cancel took the small
    ones with them (1e12 + 0.001 − 1e12 gave 0)."""
    values: defaultdict[int, list[float]] = defaultdict(list)
    updates = KpiUpdate.objects.live().filter(
        kpi__in=kpis.filter(aggregation=Aggregation.SUM).values("pk")
    )
    for kpi_id, value in updates.values_list("kpi_id", "value"):
        values[kpi_id].append(value)
    return {kpi_id: math.fsum(numbers) for kpi_id, numbers in values.items()}


class KpiFigures(NamedTuple):
    """A KPI's figures as its values give them."""

    current: float | None
    progress: float
    health: str


class Recomputed(NamedTuple):
    """What `kpi_rollup` did to a KPI: its health before, and its new stored figures."""

    health_before: str
    current: float | None
    progress: float
    health: str
    last_update_on: dt.date | None


class Changed(NamedTuple):
    """A KPI whose stored figures the whole-cycle roll-up rewrites (after its id)."""

    id: int
    current: float | None
    progress: float
    health: str
    last_update_on: dt.date | None


class _KpiBesideValue(NamedTuple):
    """A KPI beside one of its values (the value's fields None when it has none)."""

    id: int
    goal_id: int
    aggregation: str
    baseline: float
    target: float
    start: dt.date
    due: dt.date
    health: str
    organization_id: int
    date: dt.date | None
    created_at: dt.datetime | None
    update_id: int | None
    value: float | None
    retracted_at: dt.datetime | None
    replaced_by: int | None

    def live_value(self) -> DatedValue | None:
        """Its value, if it has one that counts (neither retracted nor corrected)."""
        if self.update_id is None or self.retracted_at is not None or self.replaced_by:
            return None
        assert self.date and self.created_at and self.value is not None  # a value has them
        return DatedValue(self.date, self.created_at, self.update_id, self.value)


_KPI_BESIDE_VALUE = (
    *_KpiBesideValue._fields[:9],
    *(f"updates__{name}" for name in ("date", "created_at", "id", "value", "retracted_at")),
    "updates__replaced_by",
)


class _StoredKpi(NamedTuple):
    """A KPI as the whole-cycle roll-up reads it: its inputs and its stored figures."""

    id: int
    goal_id: int
    state: str
    aggregation: str
    baseline: float
    target: float
    weight: float
    start: dt.date
    due: dt.date
    current: float | None
    progress: float
    health: str
    last_update_on: dt.date | None


class LatestValues(NamedTuple):
    """A KPI's latest live value, the sum of its live values (for a KPI that sums
    them), and the date of the latest."""

    latest: float
    total: float | None
    last_date: dt.date


STORED = ["current", "progress", "health", "last_update_on", "updated_at"]


def kpi_state(
    aggregation: str,
    latest: float | None,
    total: float | None,
    baseline: float,
    target: float,
    start: dt.date,
    due: dt.date,
    today: dt.date,
) -> KpiFigures:
    """A KPI's figures from its latest value and its sum of values."""
    current = None if latest is None else (total if aggregation == Aggregation.SUM else latest)
    progress = formulas.kpi_progress(current, baseline, target)
    health = formulas.health(
        progress=progress, today=today, start=start, due=due, has_data=current is not None
    )
    return KpiFigures(current, progress, health)


@changes_collected()  # the KPIs and goals it moves: one INSERT in the changes feed
def kpi_rollup(
    *, kpi_ids: Iterable[int], goal_ids: Iterable[int] = (), today: dt.date
) -> dict[int, Recomputed]:
    """Recompute the given KPIs from their values, then the given goals, the KPIs'
    goals and all their ancestors, bottom-up. Call inside the transaction that holds
    `goals.rollup.lock_chains` for their goals.

    One read loads the KPIs beside their values (live or not: a value counts unless
    it was retracted or corrected), one statement writes them; then the goal half.
    """
    goal_ids = set(goal_ids)
    kpis: dict[int, _KpiBesideValue] = {}
    values: dict[int, list[DatedValue]] = defaultdict(list)
    rows = Kpi.objects.filter(id__in=set(kpi_ids)).values_list(*_KPI_BESIDE_VALUE)
    for row in map(_KpiBesideValue._make, rows):
        kpis[row.id] = row
        goal_ids.add(row.goal_id)
        value = row.live_value()
        if value is not None:
            values[row.id].append(value)
    after: dict[int, Recomputed] = {}
    for pk, kpi in kpis.items():
        history = values[pk]
        latest = max(history, default=None)  # by date, then entry time
        figures = kpi_state(
            kpi.aggregation,
            None if latest is None else latest.value,
            math.fsum(value.value for value in history),
            kpi.baseline,
            kpi.target,
            kpi.start,
            kpi.due,
            today,
        )
        after[pk] = Recomputed(kpi.health, *figures, None if latest is None else latest.date)
    now = timezone.now()  # every touched KPI is "updated": `?updated_since=` finds it
    bulk_write(
        Kpi,
        STORED,
        [(pk, r.current, r.progress, r.health, r.last_update_on, now) for pk, r in after.items()],
    )
    for organization_id in {kpi.organization_id for kpi in kpis.values()}:  # and the feed
        touched = (pk for pk, kpi in kpis.items() if kpi.organization_id == organization_id)
        note_change(
            organization_id, ChangeKind.KPI, ChangeAction.UPDATED, *((pk, None) for pk in touched)
        )
    recomputed = {
        pk: KpiValues(kpi.aggregation, kpi.baseline, kpi.target, values[pk])
        for pk, kpi in kpis.items()
    }
    goal_rollup.goal_rollup_ancestors(goal_ids=goal_ids, today=today, kpis=recomputed)
    return after


@transaction.atomic
@changes_collected()
def cycle_rollup(cycle: Cycle, *, today: dt.date | None = None) -> int:
    """Recompute every KPI and goal of a cycle from scratch; returns how many rows changed.

    1. Lock the cycle's goals (same order as the chain writers) and load them as rows.
    2. Load its KPIs, and each KPI's latest value and sum of values (one grouped read
       of the history on PostgreSQL).
    3. Compute KPIs, then goals deepest level first, in memory.
    4. Write only the rows that changed, one statement per table.
    """
    today = today or cycle.organization.today()
    goals, changed_kpis, changed_goals = cycle_drift(cycle, today=today)
    for goal in changed_goals[:LOGGED]:
        log.info(
            "Roll-up changed goal %s: progress %s, health %s", goal.id, goal.progress, goal.health
        )
    if len(changed_kpis) > LOGGED or len(changed_goals) > LOGGED:
        log.info(
            "Roll-up of cycle %s changed %d KPIs and %d goals (the first %d of each logged)",
            cycle.pk,
            len(changed_kpis),
            len(changed_goals),
            LOGGED,
        )
    now = timezone.now()  # changed rows are "updated" for `?updated_since=`
    bulk_write(Kpi, STORED, [(*row, now) for row in changed_kpis])
    kpis_changed = ((row.id, None) for row in changed_kpis)
    note_change(cycle.organization_id, ChangeKind.KPI, ChangeAction.UPDATED, *kpis_changed)
    goal_rollup.write_goals(cycle.organization_id, goals, changed_goals)
    if changed_kpis or changed_goals:
        cycles_changed({cycle.pk})
    return len(changed_kpis) + len(changed_goals)


class Drift(NamedTuple):
    """What a cycle's stored figures would become: its goals as stored, and the KPIs and
    goals whose figures differ from what the roll-up computes."""

    goals: list[GoalRow]
    kpis: list[Changed]
    changed_goals: list[GoalFigures]


def cycle_drift(cycle: Cycle, *, today: dt.date) -> Drift:
    """Steps 1–3 of `cycle_rollup`, writing nothing (`manage.py rollup --check` reads it
    alone). Inside a transaction: the cycle's goals stay locked until it ends."""
    goals = goal_rollup.cycle_goals_for_update(cycle)
    own: dict[int, list[Weighted]] = defaultdict(list)
    reported: dict[int, list[Weighted]] = defaultdict(list)  # the active KPIs with a value
    changed_kpis = _cycle_kpis(cycle, today, own, reported)
    return Drift(goals, changed_kpis, goal_rollup.tree_recompute(goals, own, reported, today))


def _cycle_kpis(
    cycle: Cycle,
    today: dt.date,
    own: dict[int, list[Weighted]],
    reported: dict[int, list[Weighted]],
) -> list[Changed]:
    """Recompute every KPI of the cycle from its values: the ones whose stored figures
    differ, and (into `own`, and `reported` for those with a value) what each goal's
    active KPIs give it."""
    kpis = Kpi.objects.filter(goal__cycle=cycle)
    values = _kpi_values(cycle, kpis)
    changed: list[Changed] = []
    for kpi in map(_StoredKpi._make, kpis.values_list(*_StoredKpi._fields)):
        latest = values.get(kpi.id)
        figures = kpi_state(
            kpi.aggregation,
            None if latest is None else latest.latest,
            None if latest is None else latest.total,
            kpi.baseline,
            kpi.target,
            kpi.start,
            kpi.due,
            today,
        )
        new = Changed(kpi.id, *figures, None if latest is None else latest.last_date)
        old = Changed(kpi.id, kpi.current, kpi.progress, kpi.health, kpi.last_update_on)
        if not same_row(old, new):
            if len(changed) < LOGGED:
                log.info("Roll-up changed KPI %s: %s → %s", kpi.id, old, new)
            changed.append(new)
        if kpi.state == KpiState.ACTIVE:  # an archived KPI keeps its numbers, but counts no more
            own[kpi.goal_id].append(Weighted(kpi.weight, figures.progress))
            kpi_reported = formulas.kpi_reported_progress(figures.current, figures.progress)
            if kpi_reported is not None:
                reported[kpi.goal_id].append(Weighted(kpi.weight, kpi_reported))
    return changed


def _kpi_values(cycle: Cycle, kpis: QuerySet[Kpi]) -> dict[int, LatestValues]:
    """The latest value, sum of values (only for the KPIs that sum them: value_sums)
    and latest date of each KPI that has values."""
    sums = value_sums(kpis)
    return {
        pk: LatestValues(latest, sums.get(pk), last_date)
        for pk, (latest, last_date) in _latest_values(cycle, kpis).items()
    }


def _latest_values(cycle: Cycle, kpis: QuerySet[Kpi]) -> dict[int, tuple[float, dt.date]]:
    """{kpi id: (latest value, latest date)} for the KPIs that have values."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT u.kpi_id, (array_agg(u.value ORDER BY u.date DESC, u.created_at DESC,"
                " u.id DESC))[1], MAX(u.date) FROM kpis_kpiupdate u"
                " JOIN kpis_kpi k ON k.id = u.kpi_id JOIN goals_goal g ON g.id = k.goal_id"
                " WHERE g.cycle_id = %s AND u.retracted_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM kpis_kpiupdate c WHERE c.replaces_id = u.id)"
                " GROUP BY u.kpi_id",
                [cycle.pk],
            )
            return {kpi_id: (latest, day) for kpi_id, latest, day in cursor.fetchall()}
    rows = kpi_values_queryset(kpis).exclude(latest_value=None)
    # Only KPIs with a live value are left: neither annotation is None any more.
    valued = cast(
        "QuerySet[Kpi, tuple[int, float, dt.date]]",
        rows.values_list("id", "latest_value", "latest_date"),
    )
    return {kpi_id: (latest, day) for kpi_id, latest, day in valued}
