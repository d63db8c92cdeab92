"""Background jobs about KPIs: each loads by id or date and calls one function."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from goals.models import Cycle

from .importing import import_job_commit, import_job_plan, import_jobs_forget
from .notifications import kpi_health_notify
from .reminders import checkin_emails_resend, checkin_reminders_send_due
from .rollup import cycle_rollup
from .summary import summary_refresh


# A run that meets another one's lock (SQLite: "database is locked") rolled back and sent
# nothing; it tries again shortly and finds the reminders already claimed.
@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=5,
)
def send_checkin_reminders(day: str | None = None) -> int:
    """Daily: check-in reminders due today (or on `day`, YYYY-MM-DD)."""
    return checkin_reminders_send_due(day=dt.date.fromisoformat(day) if day else None)


@shared_task
def resend_owed_checkin_emails(day: str | None = None) -> int:
    """Every 5 minutes: the check-in emails a dead mail server or a killed worker left
    owed, each once its backoff has passed (for reminders due today, or on `day`)."""
    return checkin_emails_resend(day=dt.date.fromisoformat(day) if day else None)


@shared_task
def notify_kpi_health(update_id: int, health_before: str) -> int:
    """After a value is recorded: tell the goal's owner when a KPI slips."""
    return kpi_health_notify(update_id=update_id, health_before=health_before)


@shared_task
def cycle_rollup_task(cycle_id: int) -> int:
    """Recompute one cycle's stored progress and health."""
    cycle = Cycle.objects.select_related("organization").filter(pk=cycle_id).first()
    return cycle_rollup(cycle) if cycle else 0


@shared_task
def refresh_cycle_summary(cycle_id: int) -> None:
    """Recount one cycle's dashboard figures (after a change, or a new day)."""
    cycle = Cycle.objects.select_related("organization").filter(pk=cycle_id).first()
    if cycle:
        summary_refresh(cycle)


@shared_task
def rollup_all_cycles() -> int:
    """Recompute every cycle: health moves with the calendar even without updates, and
    so do the dashboard's figures (a new period), which are recounted too."""
    changed = 0
    for cycle in Cycle.objects.select_related("organization"):
        rows = cycle_rollup(cycle)  # a change recounts the figures by itself
        if settings.SHARED_CACHE and not rows:
            summary_refresh(cycle)
        changed += rows
    return changed


# A job meeting another writer's lock (SQLite) rolled back; it tries again shortly.
@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=5
)
def plan_import(job_id: int) -> str:
    """Plan a large file's import (its preview), reporting progress on the job."""
    return import_job_plan(job_id=job_id)


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=10, max_retries=5
)
def commit_import(job_id: int) -> str:
    """Import a large file once confirmed: all rows or none, one roll-up at the end."""
    return import_job_commit(job_id=job_id)


@shared_task
def forget_old_import_jobs() -> int:
    """Daily: the import jobs older than a week, with the files they hold, are deleted."""
    return import_jobs_forget()
