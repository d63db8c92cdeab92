"""The org app's background jobs, where Celery looks for them: webhook deliveries and
the outbox."""

from __future__ import annotations

from .outbox import do_owed_job, sweep_owed_jobs
from .webhooks import deliver_webhook, resend_due_webhooks

__all__ = ["deliver_webhook", "do_owed_job", "resend_due_webhooks", "sweep_owed_jobs"]
