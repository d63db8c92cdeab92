from __future__ import annotations

from .selectors import member_for_user


class MembershipMiddleware:
    """Sets `request.member`: the signed-in user's active membership, or None."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.member = member_for_user(request.user)
        return self.get_response(request)
