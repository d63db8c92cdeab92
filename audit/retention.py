"""How long the audit log keeps its entries (AUDIT_RETENTION_DAYS, default 730)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .models import Entry


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS (0 keeps them all); how many
    went. Running it twice, or twice at once, deletes nothing twice."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    return Entry.objects.purge(cutoff)
