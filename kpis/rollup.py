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
from typing import TYPE_CHECKING

from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from core.db import bulk_write
from core.numbers import same_row
from goals import progress as formulas
from goals import rollup as goal_rollup
from goals.measures import DatedValue, KpiValues
from goals.models import Goal
from goals.signals import cycles_changed

from .models import Aggregation, Kpi, KpiState, KpiUpdate

if TYPE_CHECKING:
    from cycles.models import Cycle

log = logging.getLogger("cascade.rollup")
LOGGED = 20  # changed rows logged one by one per roll-up; then a count


def kpi_sums(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    """Annotate each goal with `own_weight` (Σ weight) and `own_weighted` (Σ weight ×
    progress) of its active KPIs, and `own_data`: whether one of them has a value."""
    kpis = Kpi.objects.filter(goal=OuterRef("pk"), state=KpiState.ACTIVE).order_by().values("goal")
    return goals.annotate(
        own_weight=Subquery(kpis.annotate(s=Sum("weight")).values("s")),
        own_weighted=Subquery(kpis.annotate(s=Sum(F("weight") * F("progress"))).values("s")),
        own_data=Exists(
            Kpi.objects.filter(goal=OuterRef("pk"), state=KpiState.ACTIVE, current__isnull=False)
        ),
    )


def kpi_values_queryset(kpis: models.QuerySet) -> models.QuerySet:
    """Annotate KPIs with `latest_value` and `latest_date` of their updates (no N+1)."""
    updates = KpiUpdate.objects.live().filter(kpi=OuterRef("pk"))
    return kpis.annotate(
        latest_value=Subquery(updates.order_by("-date", "-created_at", "-id").values("value")[:1]),
        latest_date=Subquery(updates.order_by("-date").values("date")[:1]),
    )


def value_sums(kpis: models.QuerySet) -> dict[int, float]:
    """{kpi id: Σ of its live values} for the KPIs that sum their values, in one read.

    The sum is exact, rounded once (math.fsum): a database's running float sum loses
    small values beside large ones, and two large ones that cancel took the small
    ones with them (1e12 + 0.001 − 1e12 gave 0)."""
    values = defaultdict(list)
    updates = KpiUpdate.objects.live().filter(
        kpi__in=kpis.filter(aggregation=Aggregation.SUM).values("pk")
    )
    for kpi_id, value in updates.values_list("kpi_id", "value"):
        values[kpi_id].append(value)
    return {kpi_id: math.fsum(numbers) for kpi_id, numbers in values.items()}


def kpi_state(
    aggregation: str,
    latest: float | None,
    total: float | None,
    baseline: float,
    target: float,
    start: dt.date,
    due: dt.date,
    today: dt.date,
) -> tuple[float | None, float, str]:
    """A KPI's (current, progress, health) from its latest value and its sum of values."""
    current = None if latest is None else (total if aggregation == Aggregation.SUM else latest)
    progress = formulas.kpi_progress(current, baseline, target)
    health = formulas.health(
        progress=progress, today=today, start=start, due=due, has_data=current is not None
    )
    return current, progress, health


def kpi_rollup(
    *, kpi_ids: Iterable[int], goal_ids: Iterable[int] = (), today: dt.date
) -> dict[int, tuple]:
    """Recompute the given KPIs from their values, then the given goals, the KPIs'
    goals and all their ancestors, bottom-up. Call inside the transaction that holds
    `goals.rollup.lock_chains` for their goals.

    One read loads the KPIs beside their values (live or not: a value counts unless
    it was retracted or corrected), one statement writes them; then the goal half.
    Returns {KPI id: (health before, current, progress, health, last update on)}.
    """
    goal_ids = set(goal_ids)
    kpis: dict[int, tuple] = {}
    values: dict[int, list[DatedValue]] = defaultdict(list)
    rows = Kpi.objects.filter(id__in=set(kpi_ids)).values_list(
        "id",
        "goal_id",
        "aggregation",
        "baseline",
        "target",
        "start",
        "due",
        "health",
        "updates__date",
        "updates__created_at",
        "updates__id",
        "updates__value",
        "updates__retracted_at",
        "updates__replaced_by",
    )
    for pk, goal_id, *kpi, date, created_at, update, value, retracted_at, replaced_by in rows:
        kpis[pk] = kpi
        goal_ids.add(goal_id)
        if update is not None and retracted_at is None and replaced_by is None:
            values[pk].append(DatedValue(date, created_at, update, value))
    now, after = timezone.now(), {}
    for pk, (aggregation, baseline, target, start, due, health_before) in kpis.items():
        history = values[pk]
        latest = max(history, default=None)  # by date, then entry time
        current, progress, health = kpi_state(
            aggregation,
            None if latest is None else latest[3],
            math.fsum(value for *_, value in history),
            baseline,
            target,
            start,
            due,
            today,
        )
        last_date = None if latest is None else latest[0]
        after[pk] = (health_before, current, progress, health, last_date)
    bulk_write(
        Kpi,  # every touched KPI is "updated": `?updated_since=` finds it
        ["current", "progress", "health", "last_update_on", "updated_at"],
        [(pk, *state, now) for pk, (_, *state) in after.items()],
    )
    recomputed = {
        pk: KpiValues(aggregation, baseline, target, values[pk])
        for pk, (aggregation, baseline, target, *_rest) in kpis.items()
    }
    goal_rollup.goal_rollup_ancestors(goal_ids=goal_ids, today=today, kpis=recomputed)
    return after


@transaction.atomic
def cycle_rollup(cycle: Cycle, *, today: dt.date | None = None) -> int:
    """Recompute every KPI and goal of a cycle from scratch; returns how many rows changed.

    1. Lock the cycle's goals (same order as the chain writers) and load them as tuples.
    2. Load its KPIs, and each KPI's latest value and sum of values (one grouped read
       of the history on PostgreSQL).
    3. Compute KPIs, then goals deepest level first, in memory.
    4. Write only the rows that changed, one statement per table.
    """
    today = today or cycle.organization.today()
    goals = goal_rollup.cycle_goals_for_update(cycle)
    kpis = Kpi.objects.filter(goal__cycle=cycle)
    values = _kpi_values(cycle, kpis)
    own: dict[int, list[tuple[float, float]]] = defaultdict(list)
    with_data: set[int] = set()  # goals with an active KPI that has a value
    changed_kpis = []
    columns = ("id", "goal_id", "state", "aggregation", "baseline", "target", "weight")
    stored = ("start", "due", "current", "progress", "health", "last_update_on")
    for (
        pk,
        goal_id,
        state,
        aggregation,
        baseline,
        target,
        weight,
        start,
        due,
        *old,
    ) in kpis.values_list(*columns, *stored):
        latest, total, last_date = values.get(pk, (None, None, None))
        new = kpi_state(aggregation, latest, total, baseline, target, start, due, today)
        new += (last_date,)
        if not same_row(tuple(old), new):
            if len(changed_kpis) < LOGGED:
                log.info("Roll-up changed KPI %s: %s → %s", pk, tuple(old), new)
            changed_kpis.append((pk, *new))
        if state == KpiState.ACTIVE:  # an archived KPI keeps its numbers, but counts no more
            own[goal_id].append((weight, new[1]))
            if new[0] is not None:
                with_data.add(goal_id)
    changed_goals = goal_rollup.tree_recompute(goals, own, today, with_data)
    for goal_id, progress, health, _has_data in changed_goals[:LOGGED]:
        log.info("Roll-up changed goal %s: progress %s, health %s", goal_id, progress, health)
    if len(changed_kpis) > LOGGED or len(changed_goals) > LOGGED:
        log.info(
            "Roll-up of cycle %s changed %d KPIs and %d goals (the first %d of each logged)",
            cycle.pk,
            len(changed_kpis),
            len(changed_goals),
            LOGGED,
        )
    now = timezone.now()  # changed rows are "updated" for `?updated_since=`
    bulk_write(
        Kpi,
        ["current", "progress", "health", "last_update_on", "updated_at"],
        [(*row, now) for row in changed_kpis],
    )
    goal_rollup.write_goals(cycle.organization_id, goals, changed_goals)
    if changed_kpis or changed_goals:
        cycles_changed({cycle.pk})
    return len(changed_kpis) + len(changed_goals)


def _kpi_values(cycle: Cycle, kpis: models.QuerySet) -> dict[int, tuple]:
    """{kpi id: (latest value, sum of values, latest date)} for the KPIs that have values
    (the sum only for those that sum them: value_sums)."""
    sums = value_sums(kpis)
    return {
        pk: (latest, sums.get(pk), last_date)
        for pk, (latest, last_date) in _latest_values(cycle, kpis).items()
    }


def _latest_values(cycle: Cycle, kpis: models.QuerySet) -> dict[int, tuple]:
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
            return {row[0]: row[1:] for row in cursor.fetchall()}
    rows = kpi_values_queryset(kpis).exclude(latest_value=None)
    return {row[0]: row[1:] for row in rows.values_list("id", "latest_value", "latest_date")}
