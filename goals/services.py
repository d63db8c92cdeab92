"""Writes to cycles and the goal tree. Every rule of SPEC §1 and every permission
of SPEC §3 is checked here, once, for the pages, the API and the commands alike."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from core.db import lock_row
from core.errors import (
    Conflict,
    Errors,
    check_external_id,
    check_same_organization,
    check_text,
    check_weight,
    refuse_unless,
)
from org.models import Department, Member
from org.permissions import can_edit_goal, can_set_weight

from . import rollup
from .measures import measures
from .models import GOAL_FIELDS, Goal, GoalState, Level
from .signals import cycles_changed

if TYPE_CHECKING:
    from cycles.models import Cycle

MAX_STRATEGIC = 5
CLOSED = "This cycle is closed: reopen it on the Cycles page to change its goals, KPIs or values."


def check_open(*cycles: Cycle | None) -> None:
    """SPEC §8.3: a closed cycle refuses every write to its goals, KPIs and values."""
    if any(cycle is not None and cycle.is_closed for cycle in cycles):
        raise Conflict(CLOSED)


def check_dates(errors: Errors, cycle: Cycle, start: dt.date | None, due: dt.date | None) -> None:
    """Goals and KPIs alike: cycle start ≤ start < due ≤ cycle end."""
    if start is None:
        errors.add("start", "A start date is required.")
    if due is None:
        errors.add("due", "A due date is required.")
    if start is None or due is None:
        return
    if start < cycle.start:
        errors.add("start", f"Starts before the cycle “{cycle.name}” ({cycle.start:%Y-%m-%d}).")
    if due > cycle.end:
        errors.add("due", f"Is due after the cycle “{cycle.name}” ends ({cycle.end:%Y-%m-%d}).")
    if start >= due:
        errors.add("due", "Must be after the start date.")


def _validate_goal(goal: Goal, *, original: dict[str, Any] | None) -> None:
    """Check SPEC §1 tree rules 1–3 and the dates; raise every message at once.
    `original` holds the stored fields of a goal being changed (None for a new one)."""
    errors = Errors()
    check_same_organization(
        errors,
        goal.organization_id,
        cycle=goal.cycle,
        parent=goal.parent,
        department=goal.department,
        owner=goal.owner,
    )
    errors.raise_if_any()
    if goal.level not in Level.values:
        errors.add("level", f"Must be one of: {', '.join(Level.values)}.")
        errors.raise_if_any()
    if goal.state not in GoalState.values:
        errors.add("state", f"Must be one of: {', '.join(GoalState.values)}.")
    if original is None and goal.state != GoalState.ACTIVE:
        errors.add("state", "A new goal starts active: mark it done or cancel it once it exists.")
    check_text(errors, "title", goal.title, required="A title is required.")
    check_weight(errors, goal.weight)
    check_external_id(errors, goal, "goal")
    if goal.level == Level.STRATEGIC:
        _check_objective(errors, goal, original)
    else:
        _check_parent(errors, goal)
    moved = original is not None and original["cycle"] != goal.cycle
    if original is not None and (original["level"] != goal.level or moved):
        _check_children_stay_below(errors, goal)
    _check_who_it_is_for(errors, goal)
    check_dates(errors, goal.cycle, goal.start, goal.due)
    if moved:
        for name in measures().outside(goal, goal.cycle):
            errors.add("cycle", f"The KPI “{name}” has dates outside “{goal.cycle.name}”.")
    errors.raise_if_any()


def _check_objective(errors: Errors, goal: Goal, original: dict[str, Any] | None) -> None:
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
    lock_row(goal.cycle)  # serialize rule 1
    active = (
        Goal.objects.filter(cycle=goal.cycle, level=Level.STRATEGIC, state=GoalState.ACTIVE)
        .exclude(pk=goal.pk)
        .count()
    )
    if active >= MAX_STRATEGIC:
        field = "state" if original and original["state"] != GoalState.ACTIVE else "level"
        if original and original["cycle"] != goal.cycle:
            field = "cycle"
        errors.add(
            field,
            f"The cycle “{goal.cycle.name}” already has {MAX_STRATEGIC} "
            "active strategic objectives, the most it may have.",
        )


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


def _check_children_stay_below(errors: Errors, goal: Goal) -> None:
    """Rule 2 for the goals under a goal whose level or cycle changes."""
    for child in goal.children.all():
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


@transaction.atomic
def goal_create(
    *,
    actor: Member,
    cycle: Cycle,
    level: str,
    title: str,
    parent: Goal | None = None,
    rationale: str = "",
    department: Department | None = None,
    owner: Member | None = None,
    weight: float | None = None,
    start: dt.date | None = None,
    due: dt.date | None = None,
    state: str = GoalState.ACTIVE,
    external_id: str | None = None,
) -> Goal:
    """A new goal, active, weighing 1 in its parent unless someone who may edit the
    parent gives it another weight (SPEC §8.1)."""
    # Another organization's department or owner is unknown (a 400 on its field, never a
    # 403): resolve the objects the permission depends on before deciding it.
    errors = Errors()
    check_same_organization(errors, actor.organization_id, department=department, owner=owner)
    errors.raise_if_any()
    goal = Goal(
        organization_id=actor.organization_id,
        cycle=cycle,
        level=level,
        title=title,
        rationale=rationale or "",
        parent=parent,
        department=department,
        owner=owner,
        weight=1.0 if weight is None else weight,
        state=state,
        start=start or (cycle.start if cycle else None),
        due=due or (cycle.end if cycle else None),
        external_id=external_id,
    )
    refuse_unless(can_edit_goal(actor, goal), "You may not create this goal here.")
    if weight is not None and weight != 1:
        refuse_unless(may_weigh(actor, parent), WEIGHT_REFUSED)
    check_open(cycle)
    if parent is not None and parent.organization_id == actor.organization_id:
        rollup.lock_chains([parent.pk])
    _validate_goal(goal, original=None)
    goal.save()
    rollup.goal_rollup_ancestors(goal_ids=[goal.pk], today=actor.organization.today())
    goal.refresh_from_db(fields=["progress", "health"])
    return goal


@transaction.atomic
def goal_update(*, actor: Member, goal: Goal, **changes: Any) -> Goal:
    """Edit any field of a goal: title, why, dates, weight, state, and moves (level,
    cycle, parent). The goal must be editable where it is and where it goes."""
    unknown = set(changes) - set(GOAL_FIELDS)
    if unknown:
        raise TypeError(f"goal_update() got unknown fields: {', '.join(sorted(unknown))}")
    refuse_unless(can_edit_goal(actor, goal), "You may not change this goal.")
    errors = Errors()  # as in goal_create: a foreign department or owner is a 400 on its field
    placed = {field: changes[field] for field in ("department", "owner") if field in changes}
    check_same_organization(errors, goal.organization_id, **placed)
    errors.raise_if_any()
    original = {field: getattr(goal, field) for field in GOAL_FIELDS}
    for field, value in changes.items():
        setattr(goal, field, value)
    if "cycle" in changes and goal.cycle != original["cycle"]:
        goal.start = changes.get("start") or goal.cycle.start
        goal.due = changes.get("due") or goal.cycle.end
    weighed = goal.weight != original["weight"] or (
        goal.parent != original["parent"] and goal.weight != 1
    )
    for allowed, message in (
        (can_edit_goal(actor, goal), "You may not move this goal there."),
        (not weighed or may_weigh(actor, goal.parent), WEIGHT_REFUSED),
    ):
        if not allowed:
            _restore(goal, original)
            refuse_unless(allowed, message)
    if original["cycle"].is_closed or goal.cycle.is_closed:
        _restore(goal, original)
        check_open(original["cycle"], goal.cycle)
    old_parent_id = original["parent"].pk if original["parent"] else None
    new_parent_ok = goal.parent is not None and goal.parent.organization_id == goal.organization_id
    rollup.lock_chains([goal.pk, old_parent_id, goal.parent.pk if new_parent_ok else None])
    try:
        _validate_goal(goal, original=original)
    except ValidationError:
        _restore(goal, original)
        raise
    goal.save()
    rollup.goal_rollup_ancestors(
        goal_ids=[goal.pk, old_parent_id], today=actor.organization.today()
    )
    goal.refresh_from_db(fields=["progress", "health"])
    return goal


WEIGHT_REFUSED = "Only someone who may change the goal above sets how much this goal weighs in it."


def may_weigh(actor: Member, parent: Goal | None) -> bool:
    """May the actor weigh a goal below `parent`? (Another organization's parent is left
    to validation: a 400 on its field.)"""
    if parent is not None and parent.organization_id != actor.organization_id:
        return True
    return can_set_weight(actor, parent)


def _restore(goal: Goal, original: dict[str, Any]) -> None:
    """Put back the in-memory fields of a refused change, so callers see what is stored."""
    for field, value in original.items():
        setattr(goal, field, value)


@transaction.atomic
def goal_delete(*, actor: Member, goal: Goal) -> bool:
    """Remove a goal (SPEC §8.1): deleted if nothing hangs on it, else cancelled, so
    its goals below, KPIs, values and reviews keep their history. True if deleted.

    The database knows what hangs on a goal (every reference to it is protected), so
    this asks it rather than every app above: the delete is tried in a savepoint and
    refused by any goal below, KPI, review or review item.
    """
    refuse_unless(can_edit_goal(actor, goal), "You may not remove this goal.")
    check_open(goal.cycle)
    parent_id = goal.parent_id
    rollup.lock_chains([goal.pk])
    try:
        with transaction.atomic():
            Goal.objects.filter(pk=goal.pk).delete()
    except ProtectedError:
        goal_update(actor=actor, goal=goal, state=GoalState.CANCELLED)
        return False
    rollup.goal_rollup_ancestors(goal_ids=[parent_id], today=actor.organization.today())
    cycles_changed({goal.cycle_id})
    return True
