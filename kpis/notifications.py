"""Telling people about their KPIs: a goal's owner hears when one slips."""

from __future__ import annotations

from typing import cast

from core.errors import fit
from goals.models import Health
from org.models import Notification

from .models import KpiUpdate

# A CharField's: always set (the field is looked up by name, so typed as any field's).
TITLE_LENGTH = cast(int, Notification._meta.get_field("title").max_length)

# How bad each health is: a notification goes out only when a KPI gets worse.
WORSE: dict[str, int] = {
    Health.ON_TRACK: 0,
    Health.NOT_STARTED: 0,
    Health.NO_DATA: 0,
    Health.DONE: 0,
    Health.AT_RISK: 1,
    Health.OFF_TRACK: 2,
}


def slipped(before: str, after: str) -> bool:
    """Whether a KPI whose health went from `before` to `after` got worse."""
    return WORSE.get(after, 0) > WORSE.get(before, 0)


def kpi_health_notify(*, update_id: int, health_before: str) -> int:
    """Notify the goal's owner (when not the author) that a KPI's health got worse;
    once per value, even when the task runs twice."""
    update = (
        KpiUpdate.objects.select_related("kpi__goal__owner", "author__user")
        .filter(pk=update_id)
        .first()
    )
    if update is None:
        return 0
    kpi, owner = update.kpi, update.kpi.goal.owner
    if owner is None or owner.pk == update.author_id:
        return 0
    if not slipped(health_before, kpi.health):
        return 0
    _, made = Notification.objects.get_or_create(
        member=owner,
        key=f"kpi_health:{update.pk}",  # once per value, however often the task runs
        defaults=dict(
            kind="kpi_health",
            link=f"/goals/{kpi.goal_id}/#kpi-{kpi.pk}",
            title=fit(f"“{kpi.name}” is now {kpi.get_health_display().lower()}", TITLE_LENGTH),
            body=f"{_who(update)} recorded {update.value:g} {kpi.unit} on {update.date}.",
        ),
    )
    return int(made)


def _who(update: KpiUpdate) -> str:
    """The value's author as a sentence starts: "Ada Lovelace", "The source CRM"."""
    return update.author_name if update.author_id else f"The source {update.source_name}"
