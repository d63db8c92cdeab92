from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from .reminders import review_emails_resend, review_reminders_send_due


# A run that meets another one's lock (SQLite: "database is locked") rolled back and sent
# nothing; it tries again shortly and finds the reminders already claimed.
@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=5,
)
def send_review_reminders(day: str | None = None) -> int:
    """Daily: remind participants of reviews in the next two days (once each)."""
    return review_reminders_send_due(day=dt.date.fromisoformat(day) if day else None)


@shared_task
def resend_owed_review_emails(day: str | None = None) -> int:
    """Every minute: the review emails a dead mail server or a killed worker left
    owed, each once its backoff has passed."""
    return review_emails_resend(day=dt.date.fromisoformat(day) if day else None)
