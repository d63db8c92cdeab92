from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def notifications(request):
    """`unread_count` for the bell, counted only when a page shows it."""
    member = getattr(request, "member", None)
    if member is None:
        return {}

    def count() -> int:
        return member.notifications.filter(read_at__isnull=True).count()

    return {"unread_count": SimpleLazyObject(count)}
