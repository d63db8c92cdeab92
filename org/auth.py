"""Signing in: a deactivated member can't, on the login page or for a token
(SPEC §8.1). Accounts with no membership at all — the people who operate the
installation and use the Django admin — sign in as usual."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .models import Member


def is_deactivated(user) -> bool:
    """The user belongs to organizations, and is active in none of them."""
    memberships = list(Member.objects.filter(user=user).values_list("is_active", flat=True))
    return bool(memberships) and not any(memberships)


class MemberBackend(ModelBackend):
    """Django's username-and-password sign-in, refusing deactivated members. (Checked
    when signing in, not on every request: a session of someone deactivated since is
    ended by the membership middleware.)"""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        return None if user is None or is_deactivated(user) else user
