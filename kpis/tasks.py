"""Background jobs about KPIs: each loads by id or date and calls one function."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from .notifications import kpi_health_notify
from .reminders import checkin_emails_resend, checkin_reminders_send_due


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
    """Every minute: the check-in emails a dead mail server or a killed worker left
    owed, each once its backoff has passed (for reminders due today, or on `day`)."""
    return checkin_emails_resend(day=dt.date.fromisoformat(day) if day else None)


@shared_task
def notify_kpi_health(update_id: int, health_before: str) -> int:
    """After a value is recorded: tell the goal's owner when a KPI slips."""
    return kpi_health_notify(update_id=update_id, health_before=health_before)
