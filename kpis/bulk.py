"""Bulk recording (SPEC §8.4): up to 500 values in one request, for an integration
that syncs a BI tool's numbers every night — all recorded or none, in one roll-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.record import record
from core.errors import Conflict, RowErrors, by_field, refuse_unless
from goals.rollup import lock_chains
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Member
from org.outbox import owe
from org.permissions import RECORD_VALUE, may_record
from org.webhooks import webhooks_read_once

from .models import Kpi, KpiUpdate
from .notifications import slipped
from .rollup import kpi_rollup
from .services import check_value_of, recorded
from .tasks import notify_kpi_health

MAX_ROWS = 500
RECORD_VALUES_REFUSED = "You may not record values on the KPIs of rows {rows}."


def require_recording(actor: Member, kpis: Sequence[tuple[str, Kpi]]) -> None:
    """Refuse (a 403) if the actor may not record on any of these KPIs (by row index),
    saying which rows."""
    refused = [index for index, kpi in kpis if not RECORD_VALUE(actor, kpi)]
    if refused:
        refusal = RECORD_VALUES_REFUSED.format(rows=", ".join(refused[:20]))
        refuse_unless(False, f"{refusal} {may_record(actor)}")


@transaction.atomic
@changes_collected()  # the values, KPIs and goals: one INSERT in the changes feed
@webhooks_read_once()  # the roll-up's events and the values': one read
def kpi_record_values(*, actor: Member, rows: Sequence[dict[str, Any]]) -> list[KpiUpdate]:
    """Record every row ({kpi, value, date?, note?, confidence?}, `kpi` a Kpi) or none.

    1. Refuse (403) if any row names a KPI the actor may not record on, saying which.
    2. Check every row as a single value is checked; collect the messages by row index
       and raise them all at once (RowErrors: a 409 when the only trouble is closed
       cycles, else a 400).
    3. Lock every chain involved (root-first, once), insert the values, recompute the
       KPIs and their chains in one pass, and tell goal owners of changed health.
    """
    require_recording(actor, [(str(index), row["kpi"]) for index, row in enumerate(rows)])
    today = actor.organization.today()
    errors: dict[str, dict[str, list[str]]] = {}
    conflicts_only = True
    for index, row in enumerate(rows):
        kpi = row["kpi"]
        if row.get("date") is None:
            row["date"] = min(today, kpi.goal.cycle.end)
        try:
            check_value_of(kpi, row, today)
        except ValidationError as exc:
            conflicts_only &= isinstance(exc, Conflict)
            errors[str(index)] = by_field(exc)
    if errors:
        raise RowErrors(errors, conflict=conflicts_only)
    kpis = {row["kpi"].pk: row["kpi"] for row in rows}
    lock_chains({kpi.goal_id for kpi in kpis.values()})
    before = dict(Kpi.objects.filter(pk__in=kpis).values_list("pk", "health"))
    updates = KpiUpdate.objects.bulk_create(
        KpiUpdate(
            kpi=row["kpi"],
            value=float(row["value"]),
            date=row["date"],
            note=row.get("note") or "",
            confidence=row.get("confidence") or "",
            author=actor,
            author_token=actor.via_token,
        )
        for row in rows
    )
    created = ((update.pk, None) for update in updates)
    note_change(actor.organization_id, ChangeKind.UPDATE, ChangeAction.CREATED, *created)
    kpi_rollup(kpi_ids=kpis, today=today)
    after = dict(Kpi.objects.filter(pk__in=kpis).values_list("pk", "health"))
    latest: dict[int, KpiUpdate] = {}
    for update in updates:
        latest[update.kpi_id] = update
    owe(
        notify_kpi_health,
        *(
            {"update_id": latest[kpi_id].pk, "health_before": before[kpi_id]}
            for kpi_id, health in after.items()
            if slipped(before[kpi_id], health)
        ),
    )
    shown = list(  # as the API shows them, each with what it needs read in one query
        KpiUpdate.objects.filter(pk__in=[update.pk for update in updates])
        .select_related("replaced_by", "author__user", "kpi")
        .order_by("id")
    )
    recorded(*shown)
    # The audit log: one entry for the whole request, listing every value recorded.
    values = [{"id": u.pk, "kpi": u.kpi, "value": u.value, "date": u.date} for u in shown]
    record(actor, "kpi.values_recorded", object_type="kpi", changes={"values": [None, values]})
    return shown
