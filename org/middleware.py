from __future__ import annotations

import zoneinfo

from django.contrib.auth import logout
from django.utils import timezone

from .auth import is_deactivated
from .selectors import member_for_user


class MembershipMiddleware:
    """Sets `request.member`: the signed-in user's active membership, or None."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.member = member_for_user(request.user)
        if (
            request.member is None
            and request.user.is_authenticated
            and is_deactivated(request.user)
        ):
            logout(request)  # deactivated since signing in: signed out now
        if request.member is not None:
            # Times shown and typed on pages are the organization's (SPEC §1, §4).
            timezone.activate(zoneinfo.ZoneInfo(request.member.organization.timezone))
        else:
            timezone.deactivate()
        return self.get_response(request)
