"""Roll over (SPEC §8.3): copy goals of one cycle, with their KPIs but not their
values, into another."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from audit.record import items, record
from core.db import lock_row
from core.errors import NOT_FOUND, Errors
from goals.models import LEVEL_RANK, Goal, GoalState, Level
from goals.rollup import lock_chains
from goals.rules import check_objectives
from goals.services import check_open
from kpis.models import Aggregation, Direction, Kpi, KpiSource, KpiState
from kpis.rollup import kpi_rollup
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Member
from org.permissions import MANAGE_CYCLES

from .models import Cycle
from .webhook_data import tell_created

PICK_GOALS = "Pick at least one goal to roll over."


@transaction.atomic
@changes_collected()  # the copies: one INSERT in the changes feed
def cycle_rollover(
    *, actor: Member, source: Cycle, to_cycle: Cycle, goals: Iterable[Goal]
) -> list[Goal]:
    """Copy `goals` of `source` into `to_cycle`, each keeping `copied_from`. The goals
    above a chosen one come too (a copy needs its place in the tree), once: a goal
    copied into `to_cycle` before is reused, not copied again. Dates move with the
    cycle (see _moved). A copied KPI starts from the source's current value as its
    baseline (SPEC §8.3), unless that value already meets the target, or the KPI sums
    its values (a sum starts again from its baseline each cycle). Returns the new
    goals, root first.

    1. Refuse unless the actor manages cycles; check the choice; the target is open.
    2. Add the goals above the chosen ones; find those copied there before.
    3. Rule 1 on the target: its active objectives with the copies added.
    4. Copy the goals root first, then their active KPIs; one roll-up of the copies.
    """
    MANAGE_CYCLES.require(actor)
    goals = list(goals)
    _check_choice(actor, source, to_cycle, goals)
    check_open(to_cycle)
    chosen = _with_goals_above(source, goals)
    copies = {
        copy.copied_from_id: copy
        for copy in Goal.objects.filter(cycle=to_cycle, copied_from_id__in=chosen)
    }
    objectives = sum(1 for g in chosen.values() if g.is_strategic and g.pk not in copies)
    if objectives:  # rule 1, as for one goal: the copies are active objectives there
        lock_row(to_cycle)  # as goal_create does: two writers can't each add the sixth
        held = Goal.objects.filter(
            cycle=to_cycle, level=Level.STRATEGIC, state=GoalState.ACTIVE
        ).count()
        errors = Errors()
        check_objectives(errors, "goals", to_cycle, held=held, added=objectives)
        errors.raise_if_any()
    created = []
    for goal in sorted(chosen.values(), key=lambda g: (LEVEL_RANK[g.level], g.pk)):
        if goal.pk not in copies:
            copies[goal.pk] = _copy_goal(goal, source, to_cycle, copies)
            created.append(copies[goal.pk])
    new_kpis = _copy_kpis(source, {copy.copied_from_id: copy for copy in created})
    # The audit log: one entry for the whole roll-over, listing what it made.
    copied = {
        "from_cycle": source,
        "goals_created": items(created),
        "kpis_created": items(new_kpis),
    }
    record(actor, "cycle.rolled_over", to_cycle, changes={k: [None, v] for k, v in copied.items()})
    organization_id = to_cycle.organization_id
    for kind, objects in ((ChangeKind.GOAL, created), (ChangeKind.KPI, new_kpis)):
        made = ((obj.pk, obj.external_id) for obj in objects)
        note_change(organization_id, kind, ChangeAction.CREATED, *made)
    if created:
        roots = [copy.pk for copy in created]
        lock_chains(roots)
        kpi_rollup(
            kpi_ids=[kpi.pk for kpi in new_kpis],
            goal_ids=roots,
            today=actor.organization.today(),
        )
    tell_created(organization_id, created, new_kpis)
    return created


def _check_choice(actor: Member, source: Cycle, to_cycle: Cycle, goals: list[Goal]) -> None:
    """Another cycle of the actor's organization, and at least one goal, all of `source`."""
    errors = Errors()
    if to_cycle.organization_id != actor.organization_id:
        errors.add("to_cycle", NOT_FOUND)
    elif to_cycle.pk == source.pk:
        errors.add("to_cycle", "Pick another cycle to copy the goals into.")
    if not goals:
        errors.add("goals", PICK_GOALS)
    strays = [goal.pk for goal in goals if goal.cycle_id != source.pk]
    if strays:
        errors.add("goals", f"Not goals of {source.name}: {', '.join(map(str, strays))}.")
    errors.raise_if_any()


def _with_goals_above(source: Cycle, goals: list[Goal]) -> dict[int, Goal]:
    """The chosen goals and every goal above each of them, by id."""
    chosen = {goal.pk: goal for goal in goals}
    source_goals = {goal.pk: goal for goal in Goal.objects.filter(cycle=source)}
    for goal in goals:
        parent_id = goal.parent_id
        while parent_id is not None and parent_id not in chosen:
            chosen[parent_id] = source_goals[parent_id]
            parent_id = chosen[parent_id].parent_id
    return chosen


def _copy_goal(goal: Goal, source: Cycle, to_cycle: Cycle, copies: dict[int | None, Goal]) -> Goal:
    """A copy of `goal` in `to_cycle`, under the copy of its parent (`copies`)."""
    start, due = _moved(goal, source, to_cycle.start, to_cycle.end)
    return Goal.objects.create(
        organization_id=goal.organization_id,
        cycle=to_cycle,
        level=goal.level,
        title=goal.title,
        rationale=goal.rationale,
        parent=copies[goal.parent_id] if goal.parent_id else None,
        department_id=goal.department_id,
        owner_id=goal.owner_id,
        weight=goal.weight,
        start=start,
        due=due,
        copied_from=goal,
    )


def _copy_kpis(source: Cycle, copied: dict[int | None, Goal]) -> list[Kpi]:
    """Copies of the active KPIs of the goals copied (`copied`: source goal id → its
    copy), each on the copy of its goal, in one statement."""
    new_kpis = []
    for kpi in Kpi.objects.filter(goal_id__in=list(copied), state=KpiState.ACTIVE).order_by("id"):
        goal = copied[kpi.goal_id]
        start, due = _moved(kpi, source, goal.start, goal.due)
        new_kpis.append(
            Kpi(
                organization_id=kpi.organization_id,
                goal=goal,
                name=kpi.name,
                description=kpi.description,
                unit=kpi.unit,
                direction=kpi.direction,
                aggregation=kpi.aggregation,
                baseline=carried_baseline(kpi),
                target=kpi.target,
                weight=kpi.weight,
                owner_id=kpi.owner_id,
                start=start,
                due=due,
                copied_from=kpi,
            )
        )
    made = Kpi.objects.bulk_create(new_kpis)
    _copy_sources(made)
    return made


def _copy_sources(copies: list[Kpi]) -> None:
    """Each copied KPI fed by a data source is fed by the same source in the new cycle
    (secrets included), due at once; the closed cycle's source stops with its cycle."""
    of = {kpi.copied_from_id: kpi for kpi in copies}
    sources = KpiSource.objects.filter(kpi_id__in=list(of))
    now = timezone.now()
    KpiSource.objects.bulk_create(
        KpiSource(
            organization_id=source.organization_id,
            kpi=of[source.kpi_id],
            name=source.name,
            kind=source.kind,
            url=source.url,
            pointer=source.pointer,
            headers=source.headers,
            database_url=source.database_url,
            query=source.query,
            schedule=source.schedule,
            next_fetch_at=now,
            created_by_id=source.created_by_id,
        )
        for source in sources
    )


def carried_baseline(kpi: Kpi) -> float:
    """Where a copy of `kpi` starts: the source's current value, where it has one that
    still leaves the way to the target open."""
    current = kpi.current
    if current is None or kpi.aggregation == Aggregation.SUM:
        return kpi.baseline
    short = current < kpi.target if kpi.direction == Direction.INCREASE else current > kpi.target
    return current if short else kpi.baseline


def _moved(
    row: Goal | Kpi, source: Cycle, first: dt.date, last: dt.date
) -> tuple[dt.date, dt.date]:
    """A goal's or KPI's period in the new cycle: it starts as long after the new
    cycle's start, and is due as long before its end, as in `source` (a goal spanning
    the cycle spans the new one), kept inside first…last and at least a day long."""
    start = first + (row.start - source.start)
    due = last - (source.end - row.due)
    start = min(max(start, first), last - dt.timedelta(days=1))
    due = max(min(due, last), start + dt.timedelta(days=1))
    return start, due
