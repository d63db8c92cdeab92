"""Writes to the goal tree. Every write is judged by the tree rules (goals/rules.py)
and every permission of SPEC §3 is checked here, once, for the pages, the API and the
commands alike."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from audit.record import created, deleted, diff, record, snapshot
from core.errors import Conflict, Errors, check_same_organization, refuse_unless
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Department, Member, WebhookEvent
from org.permissions import (
    CHANGE_GOAL,
    CREATE_GOAL,
    GIVE_GOAL,
    MOVE_GOAL,
    REMOVE_GOAL,
    WEIGH_GOAL,
)
from org.webhooks import emit, webhooks_read_once

from . import rollup
from .models import GOAL_FIELDS, Goal, GoalState
from .rules import StoredGoals, goal_errors
from .signals import cycles_changed
from .webhook_data import goal_created_data, goal_state_changed_data, goal_updated_data

if TYPE_CHECKING:
    from cycles.models import Cycle

# What the audit log keeps of a goal removed for good (its other fields name rows that
# may go with it).
REMOVED_FIELDS = ("cycle", "level", "title", "weight", "state", "start", "due")

# What the roll-up writes on a goal: read back after a write, before the webhooks hear of it.
ROLLED_UP = ("progress", "health", "has_data", "reported_progress")

CLOSED = "This cycle is closed: reopen it on the Cycles page to change its goals, KPIs or values."


def check_open(*cycles: Cycle | None) -> None:
    """SPEC §8.3: a closed cycle refuses every write to its goals, KPIs and values."""
    if any(cycle is not None and cycle.is_closed for cycle in cycles):
        raise Conflict(CLOSED)


def validate_goal(goal: Goal, *, original: dict[str, Any] | None) -> None:
    """Raise every message of the tree rules (goals/rules.py) at once, judged on the
    database as it stands. `original` holds the stored fields of a goal being changed
    (None for a new one)."""
    goal_errors(goal, original=original, facts=StoredGoals()).raise_if_any()


@transaction.atomic
@changes_collected()  # the goal and what the roll-up moved: one row each, one INSERT
@webhooks_read_once()  # `goal.created` and the roll-up's events: one read
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
    parent gives it another weight (SPEC §8.1). Its owner must be someone the actor may
    give goals to: a manager, the people of their departments (SPEC §9.3)."""
    # Another organization's department or owner is unknown (a 400 on its field, never a
    # 403): resolve the objects the permission depends on before deciding it.
    errors = Errors()
    check_same_organization(errors, actor.organization_id, department=department, owner=owner)
    errors.raise_if_any()
    # No cycle, no default date: None, which an unsaved goal may hold until it is
    # validated, but the stubs' date fields don't allow.
    goal = Goal(  # type: ignore[misc]
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
    CREATE_GOAL.require(actor, goal)
    if weight is not None and weight != 1:
        WEIGH_GOAL.require(actor, parent)
    check_open(cycle)
    if parent is not None and parent.organization_id == actor.organization_id:
        rollup.lock_chains([parent.pk])
    validate_goal(goal, original=None)
    goal.save()
    record(actor, "goal.created", goal, changes=created(goal, GOAL_FIELDS))
    note_change(goal.organization_id, ChangeKind.GOAL, ChangeAction.CREATED, _feed(goal))
    rollup.goal_rollup_ancestors(goal_ids=[goal.pk], today=actor.organization.today())
    goal.refresh_from_db(fields=[*ROLLED_UP, "updated_at"])
    emit(goal.organization_id, WebhookEvent.GOAL_CREATED, goal_created_data(goal))
    return goal


@transaction.atomic
@changes_collected()
@webhooks_read_once()  # `goal.updated`, `goal.state_changed`, the roll-up's: one read
def goal_update(*, actor: Member, goal: Goal, **changes: Any) -> Goal:
    """Edit any field of a goal: title, why, dates, weight, state, and moves (level,
    cycle, parent). The goal must be editable where it is and where it goes, and a new
    owner someone the actor may give goals to."""
    unknown = set(changes) - set(GOAL_FIELDS)
    if unknown:
        raise TypeError(f"goal_update() got unknown fields: {', '.join(sorted(unknown))}")
    CHANGE_GOAL.require(actor, goal)
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
    for permission, allowed in (
        (MOVE_GOAL, MOVE_GOAL(actor, goal)),
        (GIVE_GOAL, goal.owner == original["owner"] or GIVE_GOAL(actor, goal.owner)),
        (WEIGH_GOAL, not weighed or WEIGH_GOAL(actor, goal.parent)),
    ):
        if not allowed:
            _restore(goal, original)  # callers see what is stored
            refuse_unless(False, permission.message(actor))
    if original["cycle"].is_closed or goal.cycle.is_closed:
        _restore(goal, original)
        check_open(original["cycle"], goal.cycle)
    old_parent_id = original["parent"].pk if original["parent"] else None
    new_parent_ok = goal.parent is not None and goal.parent.organization_id == goal.organization_id
    new_parent_id = goal.parent.pk if goal.parent is not None and new_parent_ok else None
    rollup.lock_chains([goal.pk, old_parent_id, new_parent_id])
    try:
        validate_goal(goal, original=original)
    except ValidationError:
        _restore(goal, original)
        raise
    goal.save()
    note_change(goal.organization_id, ChangeKind.GOAL, ChangeAction.UPDATED, _feed(goal))
    if changed := diff(original, snapshot(goal, GOAL_FIELDS)):
        record(actor, "goal.updated", goal, changes=changed)
    rollup.goal_rollup_ancestors(
        goal_ids=[goal.pk, old_parent_id], today=actor.organization.today()
    )
    goal.refresh_from_db(fields=[*ROLLED_UP, "updated_at"])
    if changed:
        emit(goal.organization_id, WebhookEvent.GOAL_UPDATED, goal_updated_data(goal, changed))
    if goal.state != original["state"]:
        moved = goal_state_changed_data(goal, original["state"])
        emit(goal.organization_id, WebhookEvent.GOAL_STATE_CHANGED, moved)
    return goal


def _feed(goal: Goal) -> tuple[int, str | None]:
    """A goal as the changes feed (org/changes.py) names it."""
    return goal.pk, goal.external_id


def _restore(goal: Goal, original: dict[str, Any]) -> None:
    """Put back the in-memory fields of a refused change, so callers see what is stored."""
    for field, value in original.items():
        setattr(goal, field, value)


@transaction.atomic
@changes_collected()
def goal_delete(*, actor: Member, goal: Goal) -> bool:
    """Remove a goal (SPEC §8.1): deleted if nothing hangs on it, else cancelled, so
    its goals below, KPIs, values and reviews keep their history. True if deleted.

    The database knows what hangs on a goal (every reference to it is protected), so
    this asks it rather than every app above: the delete is tried in a savepoint and
    refused by any goal below, KPI, review or review item.
    """
    REMOVE_GOAL.require(actor, goal)
    check_open(goal.cycle)
    parent_id = goal.parent_id
    rollup.lock_chains([goal.pk])
    try:
        with transaction.atomic():
            Goal.objects.filter(pk=goal.pk).delete()
    except ProtectedError:
        goal_update(actor=actor, goal=goal, state=GoalState.CANCELLED)
        return False
    record(actor, "goal.deleted", goal, changes=deleted(goal, REMOVED_FIELDS))
    note_change(goal.organization_id, ChangeKind.GOAL, ChangeAction.DELETED, _feed(goal))
    rollup.goal_rollup_ancestors(goal_ids=[parent_id], today=actor.organization.today())
    cycles_changed({goal.cycle_id})
    return True
