"""The goal half of the roll-up: applies goals/progress.py to stored goal rows.

A goal's progress is the weighted mean of its own KPIs and of its child goals. This
half knows the tree; the KPI half (kpis/rollup.py) recomputes KPIs from their values
and then calls in here. KPIs live one layer up, in the kpis app, so the tree never
reads them itself: it sums a goal's KPIs the way that app registered (goals/measures.py).

* `lock_chains` + `goal_rollup_ancestors` — used by every service that changes an
  input of the roll-up. The chains from the touched goals up to their strategic
  roots are locked root-first (ordered by level rank, then id: one global order,
  so concurrent writers queue instead of deadlocking), then each goal of the chains
  is recomputed bottom-up from one aggregate read of its KPIs and children. Queries
  grow with the depth of the tree (at most four levels), never with its size.
* `cycle_goals_for_update` + `tree_recompute` — the goal half of the whole-cycle
  recompute (kpis.rollup.cycle_rollup): load a cycle's goals locked, then compute
  every goal in memory from the KPI numbers handed in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import Case, Exists, F, OuterRef, Subquery, Sum, Value, When
from django.utils import timezone

from core.numbers import same_row
from org.models import WebhookEvent
from org.webhooks import emit

from . import progress as formulas
from .measures import measures
from .models import LEVEL_RANK, Cycle, Goal, GoalState, under
from .signals import cycles_changed

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


def health_changed(
    organization_id: int, goal_id: int, before: str, after: str, progress: float
) -> None:
    """Tell the organization's webhooks (SPEC §8.4: `goal.health_changed`)."""
    emit(
        organization_id,
        WebhookEvent.GOAL_HEALTH_CHANGED,
        {"goal": goal_id, "from": before, "to": after, "progress": round(progress, 1)},
    )


def _apply_goal(
    goal: Goal, pairs: Iterable[tuple[float, float]], today: dt.date, has_data: bool
) -> bool:
    progress = 100.0 if goal.state == GoalState.DONE else formulas.goal_progress(pairs)
    health = formulas.health(
        progress=progress,
        today=today,
        start=goal.start,
        due=goal.due,
        state=goal.state,
        has_data=has_data,
    )
    changed = (goal.progress, goal.health) != (progress, health)
    goal.progress, goal.health = progress, health
    return changed


def goal_rollup_ancestors(*, goal_ids: Iterable[int], today: dt.date) -> None:
    """Recompute the given goals and all their ancestors, bottom-up. Call inside the
    transaction that holds `lock_chains`, after any KPI below them was recomputed.

    Walk the chains' goals from the deepest level up; for each, read the weighted sums
    of its KPIs and of its non-cancelled children in one query, apply the formula, and
    write it before its parent is read.
    """
    chain = Goal.objects.filter(id__in=_chain_ids(goal_ids))
    child_sums = (
        Goal.objects.filter(parent=OuterRef("pk"))
        .exclude(state=GoalState.CANCELLED)
        .order_by()
        .values("parent")
    )
    done_as_100 = Case(When(state=GoalState.DONE, then=Value(100.0)), default=F("progress"))
    done_below = Goal.objects.filter(
        under("", OuterRef("pk"), including_itself=False), state=GoalState.DONE
    )
    goals = sorted(
        chain.only(
            "id",
            "organization_id",
            "cycle_id",
            "title",
            "level",
            "state",
            "start",
            "due",
            "progress",
            "health",
        ),
        key=lambda goal: -goal.rank,
    )
    cycles_changed({goal.cycle_id for goal in goals})
    for goal in goals:
        sums = (
            measures()
            .sums(Goal.objects.filter(pk=goal.pk))
            .annotate(
                child_w=Subquery(child_sums.annotate(s=Sum("weight")).values("s")),
                child_wp=Subquery(
                    child_sums.annotate(s=Sum(F("weight") * done_as_100)).values("s")
                ),
                done_below=Exists(done_below),
            )
            .values(
                "own_weight", "own_weighted", "child_w", "child_wp", "kpi_data_below", "done_below"
            )
            .get()
        )
        weight = (sums["own_weight"] or 0) + (sums["child_w"] or 0)
        weighted = (sums["own_weighted"] or 0) + (sums["child_wp"] or 0)
        pairs = [(weight, weighted / weight)] if weight else []
        has_data = bool(sums["kpi_data_below"] or sums["done_below"])
        before = goal.health
        if _apply_goal(goal, pairs, today, has_data):
            Goal.objects.filter(pk=goal.pk).update(
                progress=goal.progress, health=goal.health, updated_at=timezone.now()
            )
            if goal.health != before:
                health_changed(goal.organization_id, goal.pk, before, goal.health, goal.progress)


GoalRow = tuple  # (id, parent_id, level, state, weight, start, due, progress, health)


def cycle_goals_for_update(cycle: Cycle) -> list[GoalRow]:
    """A cycle's goals as rows, locked in the chain writers' order until the transaction ends."""
    goals = Goal.objects.filter(cycle=cycle).order_by(RANK_ORDER, "id")
    if connection.features.has_select_for_update:
        goals = goals.select_for_update(of=("self",))
    return list(
        goals.values_list(
            "id", "parent_id", "level", "state", "weight", "start", "due", "progress", "health"
        )
    )


def tree_recompute(
    goals: list[GoalRow],
    own: dict[int, list[tuple[float, float]]],
    today: dt.date,
    with_data: set[int] = frozenset(),
) -> list[tuple[int, float, str]]:
    """Every goal's (id, progress, health) that differs from its row, computed deepest
    level first from `own`: each goal's own (weight, progress) pairs (its KPIs), and
    `with_data`: the goals with a KPI that has a value (for `no_data`)."""
    pairs: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for goal_id, goal_pairs in own.items():
        pairs[goal_id].extend(goal_pairs)
    has_data = set(with_data)  # grows upwards: a value anywhere below, or a done goal
    changed = []
    for pk, parent_id, _level, state, weight, start, due, *old in sorted(
        goals, key=lambda row: -LEVEL_RANK[row[2]]
    ):
        progress = 100.0 if state == GoalState.DONE else formulas.goal_progress(pairs[pk])
        health = formulas.health(
            progress=progress,
            today=today,
            start=start,
            due=due,
            state=state,
            has_data=pk in has_data,
        )
        if not same_row(tuple(old), (progress, health)):
            changed.append((pk, progress, health))
        share = formulas.child_goal_contribution(state, progress)
        if parent_id is not None and share is not None:
            pairs[parent_id].append((weight, share))
        if parent_id is not None and (pk in has_data or state == GoalState.DONE):
            has_data.add(parent_id)
    return changed
