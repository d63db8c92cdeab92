from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from .digest import weekly_digests_send_due
from .invitations import invitations_send
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


@shared_task(ignore_result=True)
def send_review_invitations(review_id: int) -> int:
    """Once a review's change commits: the calendar emails it owes (reviews/invitations.py)."""
    return invitations_send(review_id=review_id)


@shared_task
def resend_owed_invitations() -> int:
    """Every minute: the calendar emails still owed (the broker was down when they were
    asked for, a worker died, the mail server failed), each once its backoff has passed."""
    return invitations_send()


@shared_task
def send_weekly_digests(now: str | None = None) -> int:
    """Every 15 minutes: the weekly digests of the people whose Monday morning has come
    (claimed once a week each), and those an earlier run left owed; `now` (ISO 8601
    with an offset) runs it as of that moment."""
    return weekly_digests_send_due(now=dt.datetime.fromisoformat(now) if now else None)
