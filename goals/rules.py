"""The tree rules of SPEC §1 (rules 1–3, and the dates of goals and KPIs): one
validator for a goal, used by the goal services and by the import alike, so that each
rule and its message exist once.

`goal_errors` judges the goal it is handed. What it must know beyond the goal — how many
objectives its cycle holds, who holds an external id, the goals below a goal that moves
— it asks a `GoalFacts`: the services answer from the database (`StoredGoals`, which
locks the cycle before counting its objectives), the import from the cycle and the
file as planned so far (cycles/import_cycle.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from django.db.models import QuerySet

from core.dates import out_of_range
from core.db import lock_row
from core.errors import (
    AFTER_START,
    DUE_REQUIRED,
    START_REQUIRED,
    TITLE_REQUIRED,
    Errors,
    check_external_id,
    check_same_organization,
    check_text,
    check_weight,
    external_id_taken,
    one_of,
)

from .measures import measures
from .models import Goal, GoalState, Level

if TYPE_CHECKING:
    from cycles.models import Cycle

MAX_STRATEGIC = 5
NEW_GOAL_ACTIVE = "A new goal starts active: mark it done or cancel it once it exists."


class Holder(NamedTuple):
    """Which cycle holds the goal or KPI that has an external id."""

    cycle_id: int
    cycle_name: str


class GoalFacts(Protocol):
    """What judging a goal needs to know beyond the goal itself."""

    def active_objectives(self, goal: Goal) -> int:
        """The active strategic objectives of the goal's cycle, the goal left out."""
        ...

    def external_id_holder(self, goal: Goal) -> Holder | None:
        """Where another goal of the organization with the goal's external id is."""
        ...

    def children(self, goal: Goal) -> Iterable[Goal]:
        """The goals right below it (a goal that changes level or cycle)."""
        ...

    def kpis_outside(self, goal: Goal, cycle: Cycle) -> list[str]:
        """The names of its KPIs whose dates fall outside `cycle` (a goal that moves)."""
        ...


class StoredGoals:
    """The facts as the database holds them (the services')."""

    def active_objectives(self, goal: Goal) -> int:
        lock_row(goal.cycle)  # two writers can't each add the sixth
        return (
            Goal.objects.filter(cycle=goal.cycle, level=Level.STRATEGIC, state=GoalState.ACTIVE)
            .exclude(pk=goal.pk)
            .count()
        )

    def external_id_holder(self, goal: Goal) -> Holder | None:
        others = Goal.objects.filter(organization_id=goal.organization_id).exclude(pk=goal.pk)
        return external_ids_held(others.filter(external_id=goal.external_id), "cycle").get(
            goal.external_id or ""
        )

    def children(self, goal: Goal) -> Iterable[Goal]:
        return goal.children.all()

    def kpis_outside(self, goal: Goal, cycle: Cycle) -> list[str]:
        return measures().outside(goal, cycle)


def external_ids_held(rows: QuerySet[Any], cycle: str) -> dict[str, Holder]:
    """{external id: the cycle that holds it} of these goals or KPIs; `cycle` is the way
    from one of them to its cycle ("cycle" from a goal, "goal__cycle" from a KPI)."""
    return {
        external_id: Holder(cycle_id, name)
        for external_id, cycle_id, name in rows.filter(external_id__isnull=False).values_list(
            "external_id", f"{cycle}_id", f"{cycle}__name"
        )
    }


def goal_errors(goal: Goal, *, original: dict[str, Any] | None, facts: GoalFacts) -> Errors:
    """Every message of SPEC §1 tree rules 1–3 and the dates, by field. `original` holds
    the stored fields of a goal being changed (None for a new one)."""
    errors = Errors()
    check_same_organization(
        errors,
        goal.organization_id,
        cycle=goal.cycle,
        parent=goal.parent,
        department=goal.department,
        owner=goal.owner,
    )
    if errors.messages:
        return errors
    if goal.level not in Level.values:
        errors.add("level", one_of(Level.values))
        return errors
    if goal.state not in GoalState.values:
        errors.add("state", one_of(GoalState.values))
    if original is None and goal.state != GoalState.ACTIVE:
        errors.add("state", NEW_GOAL_ACTIVE)
    check_text(errors, "title", goal.title, required=TITLE_REQUIRED)
    check_weight(errors, goal.weight)
    if check_external_id(errors, goal):
        holder = facts.external_id_holder(goal)
        if holder is not None:
            elsewhere = holder.cycle_name if holder.cycle_id != goal.cycle_id else None
            errors.add("external_id", external_id_taken("goal", elsewhere))
    if goal.level == Level.STRATEGIC:
        _check_objective(errors, goal, original, facts)
    else:
        _check_parent(errors, goal)
    moved = original is not None and original["cycle"] != goal.cycle
    if original is not None and (original["level"] != goal.level or moved):
        _check_children_stay_below(errors, goal, facts.children(goal))
    _check_who_it_is_for(errors, goal)
    check_dates(errors, goal.cycle, goal.start, goal.due)
    if moved:
        for name in facts.kpis_outside(goal, goal.cycle):
            errors.add("cycle", f"The KPI “{name}” has dates outside “{goal.cycle.name}”.")
    return errors


def check_dates(errors: Errors, cycle: Cycle, start: dt.date | None, due: dt.date | None) -> None:
    """Goals and KPIs alike: cycle start ≤ start < due ≤ cycle end, in 2000–2100."""
    if start is None:
        errors.add("start", START_REQUIRED)
    if due is None:
        errors.add("due", DUE_REQUIRED)
    if start is None or due is None:
        return
    far = {field: out_of_range(day) for field, day in (("start", start), ("due", due))}
    for field, message in far.items():
        if message:
            errors.add(field, message)
    if any(far.values()):
        return
    if start < cycle.start:
        errors.add("start", f"Starts before the cycle “{cycle.name}” ({cycle.start:%Y-%m-%d}).")
    if due > cycle.end:
        errors.add("due", f"Is due after the cycle “{cycle.name}” ends ({cycle.end:%Y-%m-%d}).")
    if start >= due:
        errors.add("due", AFTER_START)


def check_objectives(errors: Errors, field: str, cycle: Cycle, *, held: int, added: int) -> None:
    """Rule 1: a cycle holds at most MAX_STRATEGIC active strategic objectives; `held`
    are active there now, `added` more would be (one goal, or a roll-over's copies)."""
    if held + added > MAX_STRATEGIC:
        errors.add(
            field,
            f"The cycle “{cycle.name}” would then have {held + added} active strategic "
            f"objectives; it may have at most {MAX_STRATEGIC}.",
        )


def _check_objective(
    errors: Errors, goal: Goal, original: dict[str, Any] | None, facts: GoalFacts
) -> None:
    """Rule 1: a strategic goal is a root, and a cycle has at most five active ones."""
    if goal.parent is not None:
        errors.add("parent", "A strategic objective has no parent goal.")
    became_active_objective = goal.state == GoalState.ACTIVE and (
        original is None
        or original["level"] != Level.STRATEGIC
        or original["state"] != GoalState.ACTIVE
        or original["cycle"] != goal.cycle
    )
    if not became_active_objective:
        return
    field = "state" if original and original["state"] != GoalState.ACTIVE else "level"
    if original and original["cycle"] != goal.cycle:
        field = "cycle"
    check_objectives(errors, field, goal.cycle, held=facts.active_objectives(goal), added=1)


def _check_parent(errors: Errors, goal: Goal) -> None:
    """Rule 2: any other goal has a parent of a strictly higher level, in its cycle."""
    level_label = Level(goal.level).label.lower()
    if goal.parent is None:
        errors.add("parent", f"A {level_label} goal needs a parent goal of a higher level.")
        return
    if goal.parent.rank >= goal.rank:
        errors.add(
            "parent",
            f"The parent must be of a higher level than {level_label} "
            f"(“{goal.parent.title}” is {goal.parent.level}).",
        )
    if goal.parent.cycle_id != goal.cycle.pk:
        errors.add("parent", "The parent goal belongs to another cycle.")


def _check_children_stay_below(errors: Errors, goal: Goal, children: Iterable[Goal]) -> None:
    """Rule 2 for the goals under a goal whose level or cycle changes."""
    for child in children:
        if child.rank <= goal.rank:
            errors.add(
                "level",
                f"The {child.level} goal “{child.title}” under it would then "
                "not be below its parent.",
            )
        if child.cycle_id != goal.cycle.pk:
            errors.add(
                "cycle",
                f"The goal “{child.title}” under it stays in its cycle; "
                "move the goals under it first.",
            )


def _check_who_it_is_for(errors: Errors, goal: Goal) -> None:
    """Rule 3: department and team goals name a department; individual goals an owner."""
    if goal.level in (Level.DEPARTMENT, Level.TEAM) and goal.department is None:
        errors.add("department", f"A {Level(goal.level).label.lower()} goal names a department.")
    if goal.level == Level.INDIVIDUAL and goal.owner is None:
        errors.add("owner", "An individual goal names an owner.")
