"""Background jobs of the audit log."""

from __future__ import annotations

from celery import shared_task

from .retention import purge_expired


@shared_task
def purge_old_entries() -> int:
    """Nightly: delete the entries older than AUDIT_RETENTION_DAYS."""
    return purge_expired()
