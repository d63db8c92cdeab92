"""The org app's background jobs, where Celery looks for them: webhook deliveries."""

from __future__ import annotations

from .webhooks import deliver_webhook, resend_due_webhooks

__all__ = ["deliver_webhook", "resend_due_webhooks"]
