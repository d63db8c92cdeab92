"""Writes to cycles as a whole (SPEC §8.3): create, edit, mark current, close and reopen.
Leaders and admins only. Roll-over and import are cycles/rollover.py and
cycles/importing.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.record import created, diff, record, snapshot
from core.dates import out_of_range, years_after
from core.errors import (
    AFTER_START,
    START_REQUIRED,
    Errors,
    check_unique_name,
    one_of,
    refuse_unless,
)
from core.periods import Cadence
from goals.models import Goal
from goals.signals import cycles_changed
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Member, WebhookEvent
from org.permissions import MANAGE_CYCLES
from org.webhooks import emit

from .models import Cycle, CycleState
from .selectors import default_cycle
from .webhook_data import cycle_closed_data

CYCLE_FIELDS = ("name", "start", "end", "cadence", "is_current")
MAX_YEARS = 5  # the longest cycle (SPEC §9.3): a strategy period, not a calendar
MAX_NAME = 60  # a cycle's name fits the cycle switcher (SPEC §9.3)
AUDITED_FIELDS = (*CYCLE_FIELDS, "state")  # what the audit log says a new cycle has


@transaction.atomic
@changes_collected()
def cycle_create(
    *, actor: Member, name: str, start: dt.date, end: dt.date, cadence: str = Cadence.QUARTERLY
) -> Cycle:
    """A new open cycle. It changes no one's view by itself (SPEC §8.3): when the
    organization has no current cycle yet, the one everybody sees now is marked current
    first, so the default stays where it was."""
    MANAGE_CYCLES.require(actor)
    cycle = Cycle(
        organization_id=actor.organization_id, name=name, start=start, end=end, cadence=cadence
    )
    validate_cycle(cycle)
    cycles = Cycle.objects.select_for_update().filter(organization_id=actor.organization_id)
    if not any(c.is_current for c in cycles):
        shown = default_cycle(list(cycles), actor.organization.today())
        if shown is not None:
            Cycle.objects.filter(pk=shown.pk).update(is_current=True, updated_at=timezone.now())
            _feed(ChangeAction.UPDATED, shown)
            record(actor, "cycle.updated", shown, changes={"is_current": [False, True]})
    cycle.save()
    _feed(ChangeAction.CREATED, cycle)
    record(actor, "cycle.created", cycle, changes=created(cycle, AUDITED_FIELDS))
    return cycle


@transaction.atomic
@changes_collected()
def cycle_update(*, actor: Member, cycle: Cycle, **changes: Any) -> Cycle:
    """Rename, re-date, change the cadence, or mark the organization's current cycle
    (at most one: marking one unmarks the other)."""
    MANAGE_CYCLES.require(actor)
    refuse_unless(cycle.organization_id == actor.organization_id, MANAGE_CYCLES.refusal)
    for field in changes:
        if field not in CYCLE_FIELDS:
            raise TypeError(f"cycle_update() got an unknown field: {field}")
    original = {field: getattr(cycle, field) for field in changes}
    for field, value in changes.items():
        setattr(cycle, field, value)
    try:
        validate_cycle(cycle)
    except ValidationError:
        for field, value in original.items():  # callers see what is stored
            setattr(cycle, field, value)
        raise
    if changes.get("is_current"):
        others = Cycle.objects.filter(
            organization_id=cycle.organization_id, is_current=True
        ).exclude(pk=cycle.pk)
        for other in others.select_for_update():
            record(actor, "cycle.updated", other, changes={"is_current": [True, False]})
            _feed(ChangeAction.UPDATED, other)
        others.update(is_current=False, updated_at=timezone.now())
    if changed := diff(original, snapshot(cycle, original)):  # else nothing is written
        cycle.save()
        _feed(ChangeAction.UPDATED, cycle)
        record(actor, "cycle.updated", cycle, changes=changed)
    # No progress or health depends on a cycle's own dates (goals and KPIs have theirs),
    # but what counts as time-bound does: cached warnings are stale.
    cycles_changed({cycle.pk})
    return cycle


@transaction.atomic
@changes_collected()
def cycle_set_state(*, actor: Member, cycle: Cycle, state: str) -> Cycle:
    """Close a cycle (its goals, KPIs and values become read-only) or reopen it."""
    MANAGE_CYCLES.require(actor)
    refuse_unless(cycle.organization_id == actor.organization_id, MANAGE_CYCLES.refusal)
    if state not in CycleState.values:
        raise ValidationError({"state": [one_of(CycleState.values)]})
    before, cycle.state = cycle.state, state
    if before != state:
        cycle.save(update_fields=["state", "updated_at"])
        _feed(ChangeAction.UPDATED, cycle)
        action = "cycle.closed" if state == CycleState.CLOSED else "cycle.reopened"
        record(actor, action, cycle, changes={"state": [before, state]})
        if state == CycleState.CLOSED:
            emit(cycle.organization_id, WebhookEvent.CYCLE_CLOSED, cycle_closed_data(cycle, actor))
    cycles_changed({cycle.pk})
    return cycle


def _feed(action: str, cycle: Cycle) -> None:
    """Tell the changes feed (org/changes.py) of a cycle written."""
    note_change(cycle.organization_id, ChangeKind.CYCLE, action, (cycle.pk, None))


def validate_cycle(cycle: Cycle) -> None:
    """A cycle's name (one line, unique), cadence and dates, with its goals inside them."""
    errors = Errors()
    check_unique_name(errors, cycle, "cycle", max_length=MAX_NAME)
    if cycle.cadence not in Cadence.values:
        errors.add("cadence", one_of(Cadence.values))
    if cycle.start is None:
        errors.add("start", START_REQUIRED)
    if cycle.end is None:
        errors.add("end", "An end date is required.")
    for field in ("start", "end"):
        if far := out_of_range(getattr(cycle, field)):
            errors.add(field, far)
    if errors.messages.keys() & {"start", "end"}:
        errors.raise_if_any()
    if cycle.start and cycle.end and cycle.start >= cycle.end:
        errors.add("end", AFTER_START)
    elif cycle.start and cycle.end and cycle.end > (last := years_after(cycle.start, MAX_YEARS)):
        errors.add(
            "end",
            f"A cycle lasts at most {MAX_YEARS} years: end it by {last.isoformat()}, "
            "and plan what comes after in a cycle of its own.",
        )
    if cycle.pk and cycle.start and cycle.end:
        outside = Goal.objects.filter(cycle=cycle).exclude(
            start__gte=cycle.start, due__lte=cycle.end
        )
        if outside.exists():
            errors.add("start", "Some goals of this cycle would fall outside these dates.")
    errors.raise_if_any()
