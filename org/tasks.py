"""The org app's background jobs, where Celery looks for them: webhook deliveries, chat
messages, the outbox and the changes feed's purge."""

from __future__ import annotations

from celery import shared_task

from .changes import changes_purge
from .chat import deliver_chat_message, resend_due_chat_messages
from .outbox import do_owed_job, sweep_owed_jobs
from .webhooks import deliver_webhook, resend_due_webhooks

__all__ = [
    "deliver_chat_message",
    "deliver_webhook",
    "do_owed_job",
    "purge_old_changes",
    "resend_due_chat_messages",
    "resend_due_webhooks",
    "sweep_owed_jobs",
]


@shared_task(ignore_result=True)
def purge_old_changes() -> int:
    """Daily: the changes feed forgets deletions, and changes a later one supersedes,
    after 90 days (org/changes.py)."""
    return changes_purge()
