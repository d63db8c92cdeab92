"""Who may call the API at all: the token authentication and the default
permission class (settings: DEFAULT_AUTHENTICATION_CLASSES, DEFAULT_PERMISSION_CLASSES).

DRF imports them while it defines its own views, so this module stays free of
rest_framework.views and of anything that imports it."""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .auth import is_deactivated
from .selectors import member_for_user


class MemberTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; a deactivated member's token no longer works
    (401). Sets request.member for the permission class below."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, _token = found
        member = member_for_user(user)
        if member is None and is_deactivated(user):
            raise AuthenticationFailed("This account is deactivated.")
        request.member = member
        return found


class IsOrganizationMember(permissions.BasePermission):
    """Signed in (session or token) with an active membership; sets request.member."""

    message = "Your account is not an active member of an organization."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        member = getattr(request, "member", None)
        if member is None or member.user_id != request.user.pk:
            request.member = member_for_user(request.user)
        return request.member is not None
