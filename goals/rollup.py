"""The writer half of the roll-up: applies goals/progress.py to stored rows.

Two ways in:

* `lock_chains` + `goal_rollup_ancestors` — used by every service that changes an
  input of the roll-up. The chains from the touched goals up to their strategic
  roots are locked root-first (ordered by level rank, then id: one global order,
  so concurrent writers queue instead of deadlocking), then the touched KPIs are
  recomputed, then each goal of the chains bottom-up from one aggregate read of
  its children. Queries grow with the depth of the tree (at most four levels),
  never with its size.
* `cycle_rollup` — recomputes a whole cycle in a fixed number of queries: load
  goals (locked) and KPIs with their current values, compute in memory, write
  what changed in one statement per table. It repairs any drift.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, models, transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When

from . import progress as formulas
from .models import LEVEL_RANK, Cycle, Goal, GoalState

RANK_ORDER = Case(*(When(level=level, then=Value(rank)) for level, rank in LEVEL_RANK.items()))


def _chain_ids(goal_ids: Iterable[int]) -> set[int]:
    """The goals and all their ancestors, in one query (the tree is at most four deep)."""
    goal_ids = {goal_id for goal_id in goal_ids if goal_id is not None}
    if not goal_ids:
        return set()
    rows = Goal.objects.filter(id__in=goal_ids).values_list(
        "id", "parent_id", "parent__parent_id", "parent__parent__parent_id"
    )
    return {goal_id for row in rows for goal_id in row if goal_id is not None}


def lock_chains(goal_ids: Iterable[int]) -> None:
    """Lock these goals and their ancestors, root-first, until the transaction ends."""
    ids = _chain_ids(goal_ids)
    if ids and connection.features.has_select_for_update:
        list(
            Goal.objects.select_for_update(of=("self",))
            .filter(id__in=ids)
            .order_by(RANK_ORDER, "id")
            .values_list("id", flat=True)
        )


def kpi_values_queryset(kpis: models.QuerySet) -> models.QuerySet:
    """Annotate KPIs with `latest_value` and `total_value` of their updates (no N+1)."""
    from kpis.models import KpiUpdate

    updates = KpiUpdate.objects.filter(kpi=OuterRef("pk"))
    return kpis.annotate(
        latest_value=Subquery(updates.order_by("-date", "-created_at", "-id").values("value")[:1]),
        latest_date=Subquery(updates.order_by("-date").values("date")[:1]),
        total_value=Subquery(
            updates.order_by().values("kpi").annotate(total=Sum("value")).values("total")[:1]
        ),
    )


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
    current = None if latest is None else (total if aggregation == formulas.SUM else latest)
    progress = formulas.kpi_progress(current, baseline, target)
    return current, progress, formulas.health(progress=progress, today=today, start=start, due=due)


def _apply_kpi(kpi, today: dt.date) -> bool:
    """Set a KPI's current, progress, health and latest value's date from its
    annotations; True if any changed."""
    new = kpi_state(
        kpi.aggregation,
        kpi.latest_value,
        kpi.total_value,
        kpi.baseline,
        kpi.target,
        kpi.start,
        kpi.due,
        today,
    ) + (kpi.latest_date,)
    changed = (kpi.current, kpi.progress, kpi.health, kpi.last_update_on) != new
    kpi.current, kpi.progress, kpi.health, kpi.last_update_on = new
    return changed


def _apply_goal(goal: Goal, pairs: Iterable[tuple[float, float]], today: dt.date) -> bool:
    progress = 100.0 if goal.state == GoalState.DONE else formulas.goal_progress(pairs)
    health = formulas.health(
        progress=progress, today=today, start=goal.start, due=goal.due, state=goal.state
    )
    changed = (goal.progress, goal.health) != (progress, health)
    goal.progress, goal.health = progress, health
    return changed


def goal_rollup_ancestors(
    *, kpi_ids: Iterable[int] = (), goal_ids: Iterable[int] = (), today: dt.date
) -> None:
    """Recompute the given KPIs, then the given goals, the KPIs' goals and all their
    ancestors, bottom-up. Call inside the transaction that holds `lock_chains`.

    1. Recompute each KPI from its updates (one read, one write per KPI).
    2. Walk the chains' goals from the deepest level up; for each, read the
       weighted sums of its KPIs and of its non-cancelled children in one query,
       apply the formula, and write it before its parent is read.
    """
    from kpis.models import Kpi

    kpi_ids = set(kpi_ids)
    start_goal_ids = set(goal_ids)
    if kpi_ids:
        for kpi in kpi_values_queryset(Kpi.objects.filter(id__in=kpi_ids)):
            _apply_kpi(kpi, today)
            Kpi.objects.filter(pk=kpi.pk).update(
                current=kpi.current,
                progress=kpi.progress,
                health=kpi.health,
                last_update_on=kpi.last_update_on,
            )
            start_goal_ids.add(kpi.goal_id)

    chain = Goal.objects.filter(id__in=_chain_ids(start_goal_ids))
    kpi_sums = Kpi.objects.filter(goal=OuterRef("pk")).order_by().values("goal")
    child_sums = (
        Goal.objects.filter(parent=OuterRef("pk"))
        .exclude(state=GoalState.CANCELLED)
        .order_by()
        .values("parent")
    )
    done_as_100 = Case(When(state=GoalState.DONE, then=Value(100.0)), default=F("progress"))
    goals = sorted(
        chain.only("id", "cycle_id", "level", "state", "start", "due", "progress", "health"),
        key=lambda goal: -goal.rank,
    )
    changed_cycles({goal.cycle_id for goal in goals})
    for goal in goals:
        sums = (
            Goal.objects.filter(pk=goal.pk)
            .annotate(
                kpi_w=Subquery(kpi_sums.annotate(s=Sum("weight")).values("s")),
                kpi_wp=Subquery(kpi_sums.annotate(s=Sum(F("weight") * F("progress"))).values("s")),
                child_w=Subquery(child_sums.annotate(s=Sum("weight")).values("s")),
                child_wp=Subquery(
                    child_sums.annotate(s=Sum(F("weight") * done_as_100)).values("s")
                ),
            )
            .values("kpi_w", "kpi_wp", "child_w", "child_wp")
            .get()
        )
        weight = (sums["kpi_w"] or 0) + (sums["child_w"] or 0)
        pairs = (
            [(weight, ((sums["kpi_wp"] or 0) + (sums["child_wp"] or 0)) / weight)] if weight else []
        )
        if _apply_goal(goal, pairs, today):
            Goal.objects.filter(pk=goal.pk).update(progress=goal.progress, health=goal.health)


@transaction.atomic
def cycle_rollup(cycle: Cycle, *, today: dt.date | None = None) -> int:
    """Recompute every KPI and goal of a cycle from scratch; returns how many rows changed.

    1. Lock the cycle's goals (same order as the chain writers) and load them as tuples.
    2. Load its KPIs, and each KPI's latest value and sum of values (one grouped read
       of the history on PostgreSQL).
    3. Compute KPIs, then goals deepest level first, in memory.
    4. Write only the rows that changed, one statement per table.
    """
    from kpis.models import Kpi

    today = today or cycle.organization.today()
    goals_qs = Goal.objects.filter(cycle=cycle).order_by(RANK_ORDER, "id")
    if connection.features.has_select_for_update:
        goals_qs = goals_qs.select_for_update(of=("self",))
    goals = list(
        goals_qs.values_list(
            "id", "parent_id", "level", "state", "weight", "start", "due", "progress", "health"
        )
    )
    kpis = Kpi.objects.filter(goal__cycle=cycle)
    values = _kpi_values(cycle, kpis)
    pairs: dict[int, list[tuple[float, float]]] = defaultdict(list)
    changed_kpis = []
    for pk, goal_id, aggregation, baseline, target, weight, start, due, *old in kpis.values_list(
        "id",
        "goal_id",
        "aggregation",
        "baseline",
        "target",
        "weight",
        "start",
        "due",
        "current",
        "progress",
        "health",
        "last_update_on",
    ):
        latest, total, last_date = values.get(pk, (None, None, None))
        new = kpi_state(aggregation, latest, total, baseline, target, start, due, today)
        new += (last_date,)
        if tuple(old) != new:
            changed_kpis.append((pk, *new))
        pairs[goal_id].append((weight, new[1]))

    changed_goals = []
    for pk, parent_id, _level, state, weight, start, due, *old in sorted(
        goals, key=lambda row: -LEVEL_RANK[row[2]]
    ):
        progress = 100.0 if state == GoalState.DONE else formulas.goal_progress(pairs[pk])
        health = formulas.health(progress=progress, today=today, start=start, due=due, state=state)
        if (progress, health) != tuple(old):
            changed_goals.append((pk, progress, health))
        share = formulas.child_goal_contribution(state, progress)
        if parent_id is not None and share is not None:
            pairs[parent_id].append((weight, share))

    bulk_write(Kpi, ["current", "progress", "health", "last_update_on"], changed_kpis)
    bulk_write(Goal, ["progress", "health"], changed_goals)
    if changed_kpis or changed_goals:
        changed_cycles({cycle.pk})
    return len(changed_kpis) + len(changed_goals)


def changed_cycles(cycle_ids: set[int]) -> None:
    """Once committed, cached summaries of these cycles are stale."""
    from .selectors import bump_cycle_versions

    if cycle_ids:
        transaction.on_commit(lambda: bump_cycle_versions(cycle_ids))


def _kpi_values(cycle: Cycle, kpis: models.QuerySet) -> dict[int, tuple]:
    """{kpi id: (latest value, sum of values, latest date)} for the KPIs that have values."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT u.kpi_id, (array_agg(u.value ORDER BY u.date DESC, u.created_at DESC,"
                " u.id DESC))[1], SUM(u.value), MAX(u.date) FROM kpis_kpiupdate u"
                " JOIN kpis_kpi k ON k.id = u.kpi_id JOIN goals_goal g ON g.id = k.goal_id"
                " WHERE g.cycle_id = %s GROUP BY u.kpi_id",
                [cycle.pk],
            )
            return {row[0]: row[1:] for row in cursor.fetchall()}
    rows = kpi_values_queryset(kpis).exclude(latest_value=None)
    return {
        row[0]: row[1:]
        for row in rows.values_list("id", "latest_value", "total_value", "latest_date")
    }


_PG_TYPES = {"current": "float8", "progress": "float8", "health": "text", "last_update_on": "date"}


def bulk_write(model, fields: list[str], rows: list[tuple]) -> None:
    """Write `fields` of rows given as (pk, *values) in one statement (PostgreSQL:
    UPDATE … FROM unnest; elsewhere Django's bulk_update)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [model(pk=pk, **dict(zip(fields, values, strict=True))) for pk, *values in rows]
        model.objects.bulk_update(objs, fields)
        return
    table = model._meta.db_table
    columns = ", ".join(f"{name} = v.{name}" for name in fields)
    arrays = ", ".join(f"%s::{_PG_TYPES[name]}[]" for name in fields)
    sql = (
        f'UPDATE "{table}" AS t SET {columns} '
        f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(fields)}) WHERE t.id = v.id"
    )
    params = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def goal_ids_below(goal_ids: Iterable[int]) -> Q:
    """A filter for goals under any of `goal_ids`, at any depth (the tree is at most four deep)."""
    ids = list(goal_ids)
    return (
        Q(parent_id__in=ids) | Q(parent__parent_id__in=ids) | Q(parent__parent__parent_id__in=ids)
    )
