"""Reads about organizations and their people."""

from __future__ import annotations

from .models import Member


def member_for_user(user) -> Member | None:
    """The user's active membership (the first one, if several), with its organization."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Member.objects.select_related("organization", "department", "user")
        .filter(user=user, is_active=True)
        .order_by("id")
        .first()
    )
