"""The goal half of the roll-up: applies goals/progress.py to stored goal rows.

A goal's progress is the weighted mean of its own KPIs and of its child goals, and its
reported progress (what its health grades, SPEC §9.3) the same mean over only the parts
that have data (goals/progress.py). This half knows the tree; the KPI half
(kpis/rollup.py) recomputes KPIs from their values and then calls in here. KPIs live
one layer up, in the kpis app, so the tree never reads them itself: it sums a goal's
KPIs the way that app registered (goals/measures.py).

* `lock_chains` + `goal_rollup_ancestors` — used by every service that changes an
  input of the roll-up. The chains from the touched goals up to their strategic
  roots are locked root-first (ordered by level rank, then id: one global order,
  so concurrent writers queue instead of deadlocking), in one statement; then the
  chains are recomputed bottom-up from one read (their goals with their KPIs' sums,
  and their other children as stored) and written in one statement. Queries never
  grow with the size or the depth of the tree.
* `cycle_goals_for_update` + `tree_recompute` + `write_goals` — the goal half of the
  whole-cycle recompute (kpis.rollup.cycle_rollup): load a cycle's goals locked, then
  compute every goal in memory from the KPI numbers handed in. The chains above use
  the same two, with only the chains' goals recomputed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.db.models import Case, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from core.db import bulk_write
from core.numbers import same_row
from org.changes import ChangeAction, ChangeKind, note_change
from org.chat import Fact, News, hears, tell
from org.models import ChatEvent, WebhookEvent
from org.webhooks import emit

from . import progress as formulas
from .measures import keep_history, measures
from .models import LEVEL_RANK, Goal, GoalState, Health, Level
from .rows import GoalFigures, GoalRow, KpiValues, OwnKpis, Weighted
from .signals import cycles_changed

if TYPE_CHECKING:
    from cycles.models import Cycle

RANK_ORDER = Case(*(When(level=level, then=Value(rank)) for level, rank in LEVEL_RANK.items()))


# What the roll-up reads of a goal, in this order.
GOAL_ROW = GoalRow._fields


def _chain(goal_ids: Iterable[int | None]) -> QuerySet[Goal]:
    """The ids of these goals and of all their ancestors, as a subquery: the tree is at
    most four deep, so the parents of the parents reach every root. A union, so that
    PostgreSQL looks each one up by its key (a filter ORing four subqueries would read
    the whole table, and once per row when nested)."""
    goal_ids = sorted({goal_id for goal_id in goal_ids if goal_id is not None})
    hops = [
        Goal.objects.filter(id__in=goal_ids)
        .order_by()
        .values("__".join(["parent"] * depth) + "_id" if depth else "id")
        for depth in range(len(LEVEL_RANK))
    ]
    return hops[0].union(*hops[1:])


def lock_chains(goal_ids: Iterable[int | None]) -> None:
    """Lock these goals and their ancestors, root-first, until the transaction ends."""
    goal_ids = [goal_id for goal_id in goal_ids if goal_id is not None]
    if goal_ids and connection.features.has_select_for_update:
        list(
            Goal.objects.select_for_update(of=("self",))
            .filter(id__in=_chain(goal_ids))
            .order_by(RANK_ORDER, "id")
            .values_list("id", flat=True)
        )


def goal_rollup_ancestors(
    *, goal_ids: Iterable[int | None], today: dt.date, kpis: dict[int, KpiValues] | None = None
) -> None:
    """Recompute the given goals and all their ancestors, bottom-up. Call inside the
    transaction that holds `lock_chains`, after any KPI below them was recomputed.

    One read loads the chains' goals with the sums of their own KPIs (all of them, and
    those with a value), and beside them their other children (stored progress,
    reported progress, weight, state, `has_data`: no subtree is scanned); the chains
    are computed in memory from the deepest level up, and the goals that changed are
    written in one statement. Then the chains' history is kept (goals/measures.py:
    `keep_history`), with `kpis`: the KPIs the caller recomputed.
    """
    goal_ids = {goal_id for goal_id in goal_ids if goal_id is not None}
    if not goal_ids:
        return
    children = Goal.objects.filter(parent__in=_chain(goal_ids)).order_by().values("id")
    rows = (
        measures()
        .sums(Goal.objects.filter(id__in=_chain(goal_ids).union(children)))
        .order_by()
        .values_list(*GOAL_ROW, *OwnKpis._fields)
    )
    goals: dict[int, GoalRow] = {}
    beside: dict[int, OwnKpis] = {}
    for row in rows:
        goal = GoalRow._make(row[: len(GOAL_ROW)])
        goals[goal.id], beside[goal.id] = goal, OwnKpis._make(row[len(GOAL_ROW) :])
    chain: set[int] = set()
    for start_id in goal_ids:
        goal_id: int | None = start_id
        while goal_id is not None and goal_id not in chain and goal_id in goals:
            chain.add(goal_id)
            goal_id = goals[goal_id].parent_id
    if not chain:
        return  # the goals are gone
    own: dict[int, list[Weighted]] = {}
    reported: dict[int, list[Weighted]] = {}
    for goal_id in chain:
        kpis_of_goal = beside[goal_id]
        if kpis_of_goal.own_weight:
            mean = (kpis_of_goal.own_weighted or 0.0) / kpis_of_goal.own_weight
            own[goal_id] = [Weighted(kpis_of_goal.own_weight, mean)]
        if kpis_of_goal.reported_weight:
            mean = (kpis_of_goal.reported_weighted or 0.0) / kpis_of_goal.reported_weight
            reported[goal_id] = [Weighted(kpis_of_goal.reported_weight, mean)]
    cycles_changed({beside[goal_id].cycle_id for goal_id in chain})
    changed = tree_recompute(list(goals.values()), own, reported, today, only=chain)
    # Every goal of the chains is one organization's.
    write_goals(beside[min(chain)].organization_id, goals.values(), changed)
    keep_history(goals, chain, kpis or {})


def cycle_goals_for_update(cycle: Cycle) -> list[GoalRow]:
    """A cycle's goals as rows, locked in the chain writers' order until the transaction ends."""
    goals = Goal.objects.filter(cycle=cycle).order_by(RANK_ORDER, "id")
    if connection.features.has_select_for_update:
        goals = goals.select_for_update(of=("self",))
    return [GoalRow._make(row) for row in goals.values_list(*GOAL_ROW)]


def tree_recompute(
    goals: list[GoalRow],
    own: dict[int, list[Weighted]],
    reported: dict[int, list[Weighted]],
    today: dt.date,
    *,
    only: set[int] | None = None,
) -> list[GoalFigures]:
    """Every goal's figures that differ from its row, computed deepest level first from
    `own`: each goal's own weighted parts (its active KPIs), and `reported`: those of
    them that have a value. With `only`, the other rows are not recomputed: they count
    for their parents as stored.

    Progress weighs every part; reported progress, which health grades, only the parts
    with data: a KPI with a value, a child goal that reported something or is done
    (SPEC §9.3). `has_data` grows upwards: a value anywhere below, or a done goal."""
    parts: dict[int, list[Weighted]] = defaultdict(list)
    reported_parts: dict[int, list[Weighted]] = defaultdict(list)
    for goal_id, goal_parts in own.items():
        parts[goal_id].extend(goal_parts)
    has_data: set[int] = set()
    for goal_id, goal_parts in reported.items():
        reported_parts[goal_id].extend(goal_parts)
        if goal_parts:
            has_data.add(goal_id)
    changed = []
    for goal in sorted(goals, key=lambda row: -LEVEL_RANK[row.level]):
        if only is not None and goal.id not in only:
            progress, reported_progress = goal.progress, goal.reported_progress
            if goal.has_data:
                has_data.add(goal.id)
        else:
            done = goal.state == GoalState.DONE
            progress = 100.0 if done else formulas.goal_progress(parts[goal.id])
            reported_progress = (
                100.0 if done else formulas.reported_progress(reported_parts[goal.id])
            )
            now = GoalFigures(
                goal.id,
                progress,
                formulas.goal_health(
                    progress=progress,
                    reported=reported_progress,
                    today=today,
                    start=goal.start,
                    due=goal.due,
                    state=goal.state,
                ),
                goal.id in has_data,
                reported_progress,
            )
            if not same_row(figures_of(goal), now):
                changed.append(now)
        if goal.parent_id is not None:
            share = formulas.child_goal_contribution(goal.state, progress)
            if share is not None:
                parts[goal.parent_id].append(Weighted(goal.weight, share))
            reported_share = formulas.child_goal_contribution(goal.state, reported_progress)
            if reported_share is not None:
                reported_parts[goal.parent_id].append(Weighted(goal.weight, reported_share))
            if goal.id in has_data or goal.state == GoalState.DONE:
                has_data.add(goal.parent_id)
    return changed


def figures_of(goal: GoalRow) -> GoalFigures:
    """A goal's figures as stored."""
    return GoalFigures(goal.id, goal.progress, goal.health, goal.has_data, goal.reported_progress)


def write_goals(organization_id: int, goals: Iterable[GoalRow], changed: list[GoalFigures]) -> None:
    """Store what tree_recompute changed, in one statement, and tell the webhooks of
    every health that moved, and the chat targets of those of strategic and department
    goals."""
    rows = {row.id: row for row in goals}
    health_before = {goal_id: row.health for goal_id, row in rows.items()}
    tell_health_changes(
        organization_id,
        [
            (rows[figures.id], figures)
            for figures in changed
            if figures.health != health_before[figures.id]
            and figures.health in GRADED
            and rows[figures.id].level in TOLD
        ],
    )
    emit(  # SPEC §8.4: `goal.health_changed`
        organization_id,
        WebhookEvent.GOAL_HEALTH_CHANGED,
        *(
            {
                "goal": figures.id,
                "from": health_before[figures.id],
                "to": figures.health,
                "progress": round(figures.progress, 1),
            }
            for figures in changed
            if figures.health != health_before[figures.id]
        ),
    )
    now = timezone.now()  # changed rows are "updated" for `?updated_since=`
    bulk_write(
        Goal,
        ["progress", "health", "has_data", "reported_progress", "updated_at"],
        [(*row, now) for row in changed],
    )
    # and for the changes feed (with the write's other rows, when it collects them)
    note_change(
        organization_id,
        ChangeKind.GOAL,
        ChangeAction.UPDATED,
        *((figures.id, None) for figures in changed),
    )


# The levels whose health changes chat targets hear of (SPEC §9.6): a team's or a
# person's goal is their own business.
TOLD = (Level.STRATEGIC, Level.DEPARTMENT)
# The healths they hear a goal move into: a grade or done. A goal that starts, or gets
# its first KPI ("no check-in yet"), is not news; its first value is.
GRADED = (Health.ON_TRACK, Health.AT_RISK, Health.OFF_TRACK, Health.DONE)


def tell_health_changes(organization_id: int, moved: list[tuple[GoalRow, GoalFigures]]) -> None:
    """One chat message per goal whose health moved (org/chat.py): “Grow revenue” is now
    Off track (was At risk) · 42 % · Sales, with a link to the goal. A department
    goal's news is its department's; a strategic one's, the whole organization's. The
    goals' titles and departments are read only when a target hears of it."""
    if not moved or not hears(organization_id, ChatEvent.HEALTH_CHANGED):
        return
    read = {
        goal.pk: goal
        for goal in Goal.objects.filter(pk__in=[row.id for row, _ in moved])
        .select_related("department", "cycle")
        .only("id", "title", "level", "department__name", "cycle__name")
    }
    news = []
    for row, figures in moved:
        goal = read.get(row.id)
        if goal is None:
            continue
        now, was = Health(figures.health).label, Health(row.health).label
        where = goal.department.name if goal.department else "Strategic objective"
        progress = f"{figures.progress:.0f} %"
        news.append(
            News(
                title=f"“{goal.title}” is now {now} (was {was})",
                department_id=goal.department_id if row.level == Level.DEPARTMENT else None,
                lines=(f"{progress} · {where}",),
                facts=(
                    Fact("Progress", progress),
                    Fact("Department" if goal.department else "Level", where),
                    Fact("Cycle", goal.cycle.name),
                ),
                link=settings.SITE_URL + reverse("goal-detail", args=[goal.pk]),
                link_label="Open the goal",
                footer="Cascade · goal health",
            )
        )
    tell(organization_id, ChatEvent.HEALTH_CHANGED, *news)
