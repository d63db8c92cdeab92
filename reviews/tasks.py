from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task
def send_review_reminders(day: str | None = None) -> int:
    """Daily: remind participants of reviews in the next two days (once each)."""
    from .reminders import review_reminders_send_due

    return review_reminders_send_due(day=dt.date.fromisoformat(day) if day else None)
