"""Writes to KPIs and their history of values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone as django_timezone

from audit.record import created, diff, record, snapshot
from core.errors import NOT_FOUND, Conflict, Errors, too_long
from goals.models import Goal
from goals.rollup import lock_chains
from goals.services import check_open
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Member, WebhookEvent
from org.outbox import owe
from org.permissions import ADD_KPI, CHANGE_KPI, CORRECT_VALUE, GIVE_KPI, MOVE_KPI, RECORD_VALUE
from org.webhooks import emit, webhooks_read_once

from .models import KPI_FIELDS, Aggregation, Direction, Kpi, KpiSource, KpiState, KpiUpdate
from .notifications import slipped
from .rollup import kpi_rollup
from .rules import StoredKpis, kpi_errors, value_errors
from .tasks import notify_kpi_health
from .webhook_data import kpi_event_data


def validate_kpi(kpi: Kpi, *, new: bool = False) -> None:
    """Raise every message of a KPI's rules (kpis/rules.py) at once, judged on the
    database as it stands."""
    kpi_errors(kpi, new=new, facts=StoredKpis()).raise_if_any()


@transaction.atomic
@changes_collected()  # the KPI and what the roll-up moved: one row each, one INSERT
@webhooks_read_once()  # `kpi.created` and the roll-up's events: one read
def kpi_create(
    *,
    actor: Member,
    goal: Goal,
    name: str,
    unit: str,
    baseline: float,
    target: float,
    direction: str = Direction.INCREASE,
    aggregation: str = Aggregation.LATEST,
    description: str = "",
    weight: float = 1.0,
    owner: Member | None = None,
    start: dt.date | None = None,
    due: dt.date | None = None,
    state: str = KpiState.ACTIVE,
    external_id: str | None = None,
) -> Kpi:
    """A new KPI on a goal, active (it may be archived once it exists), owned by the
    actor or by someone they may give KPIs to (SPEC §9.3)."""
    if goal.organization_id != actor.organization_id:
        raise ValidationError({"goal": [NOT_FOUND]})
    ADD_KPI.require(actor, goal)
    if owner is not None and owner != actor:
        GIVE_KPI.require(actor, owner)
    check_open(goal.cycle)
    kpi = Kpi(
        organization_id=actor.organization_id,
        goal=goal,
        name=name.strip() if isinstance(name, str) else name,
        unit=unit,
        baseline=baseline,
        target=target,
        direction=direction,
        aggregation=aggregation,
        description=description or "",
        weight=weight,
        owner=owner or actor,
        start=start or goal.start,
        due=due or goal.due,
        state=state,
        external_id=external_id,
    )
    lock_chains([goal.pk])
    validate_kpi(kpi, new=True)
    kpi.save()
    record(actor, "kpi.created", kpi, changes=created(kpi, KPI_FIELDS))
    note_change(
        kpi.organization_id, ChangeKind.KPI, ChangeAction.CREATED, (kpi.pk, kpi.external_id)
    )
    _roll_up(kpi, today=actor.organization.today())
    emit(kpi.organization_id, WebhookEvent.KPI_CREATED, kpi_event_data(kpi))
    return kpi


@transaction.atomic
@changes_collected()
@webhooks_read_once()  # `kpi.archived` and the roll-up's events: one read
def kpi_edit(*, actor: Member, kpi: Kpi, **changes: Any) -> Kpi:
    """Edit a KPI, or move it to another goal (`goal=`); both goals must be editable."""
    unknown = set(changes) - set(KPI_FIELDS)
    if unknown:
        raise TypeError(f"kpi_edit() got unknown fields: {', '.join(sorted(unknown))}")
    CHANGE_KPI.require(actor, kpi)
    new_goal = changes.get("goal", kpi.goal)
    if new_goal is not None and new_goal.organization_id != kpi.organization_id:
        raise ValidationError({"goal": [NOT_FOUND]})
    MOVE_KPI.require(actor, new_goal, kpi)
    if changes.get("owner", kpi.owner) != kpi.owner:
        GIVE_KPI.require(actor, changes["owner"])
    check_open(kpi.goal.cycle, new_goal.cycle if new_goal else None)
    original = {field: getattr(kpi, field) for field in KPI_FIELDS}
    if isinstance(changes.get("name"), str):
        changes["name"] = changes["name"].strip()
    for field, value in changes.items():
        setattr(kpi, field, value)
    lock_chains([original["goal"].pk, new_goal.pk if new_goal else None])
    try:
        validate_kpi(kpi)
    except ValidationError:
        for field, value in original.items():
            setattr(kpi, field, value)
        raise
    kpi.save()
    note_change(
        kpi.organization_id, ChangeKind.KPI, ChangeAction.UPDATED, (kpi.pk, kpi.external_id)
    )
    if changed := diff(original, snapshot(kpi, KPI_FIELDS)):
        record(actor, _edit_action(changed), kpi, changes=changed)
    _roll_up(kpi, goal_ids=[original["goal"].pk], today=actor.organization.today())
    if kpi.state == KpiState.ARCHIVED and original["state"] != KpiState.ARCHIVED:
        emit(kpi.organization_id, WebhookEvent.KPI_ARCHIVED, kpi_event_data(kpi))
    return kpi


def _edit_action(changed: dict[str, list[Any]]) -> str:
    """What the audit log calls an edit: archiving or restoring a KPI is said as such."""
    if "state" not in changed:
        return "kpi.updated"
    return "kpi.archived" if changed["state"][1] == KpiState.ARCHIVED else "kpi.unarchived"


@transaction.atomic
@changes_collected()
def kpi_record_value(
    *,
    actor: Member,
    kpi: Kpi,
    value: Any,
    date: dt.date | None = None,
    note: str = "",
    confidence: str = "",
) -> KpiUpdate:
    """Append a value to a KPI's history and refresh the KPI and every goal above it.

    1. Refuse unless the actor may record on this KPI; then check the input.
    2. Lock the chain from the KPI's goal to its strategic root (root-first).
    3. Insert the update, recompute the KPI and the chain bottom-up.
    4. If the KPI's health changed, tell the goal's owner once this commits.
    """
    RECORD_VALUE.require(actor, kpi)
    check_open(kpi.goal.cycle)
    today = actor.organization.today()
    date = min(today, kpi.goal.cycle.end) if date is None else date
    _check_value(kpi, value=value, date=date, confidence=confidence, today=today)
    lock_chains([kpi.goal_id])
    return append_value(
        kpi, actor=actor, today=today, value=value, date=date, note=note, confidence=confidence
    )


@transaction.atomic
@changes_collected()
def kpi_value_correct(
    *,
    actor: Member,
    update: KpiUpdate,
    value: Any,
    date: dt.date | None = None,
    note: str = "",
    confidence: str = "",
) -> KpiUpdate:
    """Replace a recorded value by a corrected one (a new update; the old one stays in
    the history, struck): its author, the KPI's owner or whoever may record on it.

    1. Refuse unless allowed; lock the chain, then the update (two corrections of one
       value at once: the second finds it corrected already).
    2. Only a live update can be corrected; the input is checked as a new value's
       (the date defaults to the corrected value's).
    3. Insert the correction, recompute the KPI and the chain.
    """
    kpi = update.kpi
    CORRECT_VALUE.require(actor, update)
    check_open(kpi.goal.cycle)
    lock_chains([kpi.goal_id])
    _require_live(update)
    date = update.date if date is None else date
    today = actor.organization.today()
    _check_value(kpi, value=value, date=date, confidence=confidence, today=today)
    return append_value(
        kpi,
        actor=actor,
        today=today,
        value=value,
        date=date,
        note=note,
        confidence=confidence,
        replaces=update,
    )


@transaction.atomic
@changes_collected()
def kpi_value_retract(*, actor: Member, update: KpiUpdate, reason: str) -> KpiUpdate:
    """Withdraw a recorded value, saying why; it stays in the history, struck, and no
    longer counts. Allowed as for corrections."""
    kpi = update.kpi
    CORRECT_VALUE.require(actor, update)
    check_open(kpi.goal.cycle)
    lock_chains([kpi.goal_id])
    _require_live(update)
    errors = Errors()
    if not (reason or "").strip():
        errors.add("reason", "Say why the value is withdrawn.")
    elif len(reason) > 1000:
        errors.add("reason", too_long(1000))
    errors.raise_if_any()
    now = django_timezone.now()
    KpiUpdate.objects.filter(pk=update.pk).update(
        retracted_at=now, retracted_by=actor, retract_reason=reason.strip(), updated_at=now
    )
    note_change(kpi.organization_id, ChangeKind.UPDATE, ChangeAction.UPDATED, (update.pk, None))
    kpi_rollup(kpi_ids=[kpi.pk], today=actor.organization.today())
    update.refresh_from_db()
    return update


def _roll_up(kpi: Kpi, *, goal_ids: Iterable[int] = (), today: dt.date) -> str:
    """Recompute the KPI and its chain (kpi_rollup), give it its new figures and return
    its health before."""
    figures = kpi_rollup(kpi_ids=[kpi.pk], goal_ids=goal_ids, today=today)[kpi.pk]
    kpi.current, kpi.progress = figures.current, figures.progress
    kpi.health, kpi.last_update_on = figures.health, figures.last_update_on
    return figures.health_before


def _require_live(update: KpiUpdate) -> None:
    """Refuse to correct or retract a value that no longer counts (a state conflict:
    a 409 in the API)."""
    fresh = KpiUpdate.objects.filter(pk=update.pk)
    list(fresh.select_for_update().values_list("pk", flat=True))
    retracted, corrected = fresh.values_list("retracted_at", "replaced_by").get()
    if retracted is not None:
        raise Conflict({"update": ["This value was retracted: it can't change any more."]})
    if corrected is not None:
        raise Conflict(
            {"update": ["This value was corrected already: correct the correction instead."]}
        )


def check_value_of(kpi: Kpi, row: dict[str, Any], today: dt.date) -> None:
    """A value about to be recorded on `kpi` (a row of a bulk request), checked as one
    recorded alone is: its cycle open (else a Conflict), then its fields."""
    check_open(kpi.goal.cycle)
    _check_value(
        kpi,
        value=row.get("value"),
        date=row.get("date"),
        confidence=row.get("confidence") or "",
        today=today,
    )


def _check_value(kpi: Kpi, *, value: Any, date: Any, confidence: str, today: dt.date) -> None:
    value_errors(kpi, value=value, date=date, confidence=confidence, today=today).raise_if_any()


@webhooks_read_once()  # the roll-up's events and the value's: one read
def append_value(
    kpi: Kpi,
    *,
    actor: Member | None,
    today: dt.date,
    replaces: KpiUpdate | None = None,
    source: KpiSource | None = None,
    **fields: Any,
) -> KpiUpdate:
    """Insert a checked value and refresh the KPI and its chain (locked by the caller);
    if the KPI's health got worse, owe its goal's owner a word (org/outbox.py). Its
    author is `actor`, or, for a value a data source fetched, `source` (kpis/feeds.py)."""
    update = KpiUpdate.objects.create(
        kpi=kpi,
        value=float(fields["value"]),
        date=fields["date"],
        note=fields.get("note") or "",
        confidence=fields.get("confidence") or "",
        author=actor,
        author_token=actor.via_token if actor is not None else "",
        source=source,
        source_name=source.name if source is not None else "",
        replaces=replaces,
    )
    corrected = []
    if replaces is not None:  # its `replaced_by` changed: for `?updated_since=` and the feed
        KpiUpdate.objects.filter(pk=replaces.pk).update(updated_at=update.created_at)
        corrected.append((replaces.pk, None))
    note_change(kpi.organization_id, ChangeKind.UPDATE, ChangeAction.UPDATED, *corrected)
    note_change(kpi.organization_id, ChangeKind.UPDATE, ChangeAction.CREATED, (update.pk, None))
    health_before = _roll_up(kpi, today=today)
    if slipped(health_before, kpi.health):
        owe(notify_kpi_health, {"update_id": update.pk, "health_before": health_before})
    KpiUpdate.replaced_by.related.set_cached_value(update, None)  # nothing corrects it yet
    recorded(update)
    return update


def recorded(*updates: KpiUpdate) -> None:
    """Tell the organization's webhooks (SPEC §8.4: `kpi.update_recorded`) of each
    value, with where its KPI stands after it (each update's `kpi` loaded)."""
    if updates:
        emit(
            updates[0].kpi.organization_id,
            WebhookEvent.KPI_UPDATE_RECORDED,
            *(
                {
                    "kpi": update.kpi.pk,
                    "external_id": update.kpi.external_id,
                    "update": update.pk,
                    "value": update.value,
                    "date": update.date.isoformat(),
                    "replaces": update.replaces_id,
                    "current": update.kpi.current,
                    "progress": round(update.kpi.progress, 1),
                    "health": update.kpi.health,
                }
                for update in updates
            ),
        )
