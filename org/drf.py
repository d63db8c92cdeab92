"""Who may call the API at all: the token authentication and the default
permission class (settings: DEFAULT_AUTHENTICATION_CLASSES, DEFAULT_PERMISSION_CLASSES).

DRF imports them while it defines its own views, so this module stays free of
rest_framework.views and of anything that imports it."""

from __future__ import annotations

from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import permissions
from rest_framework.exceptions import AuthenticationFailed

from .auth import is_deactivated
from .models import TokenScope
from .selectors import member_for_user
from .tokens import acting_member


class MemberTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, a hashed token (django-rest-knox): unknown,
    expired or revoked keys are a 401, and so is a deactivated member's token. A
    service token acts for its organization (org/tokens.py). Sets request.member
    for the permission class below."""

    def _cleanup_token(self, auth_token) -> bool:
        """Only this token's expiry: knox would also sweep the person's other tokens,
        a query on every call (expired ones go when a new one is issued instead)."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user, token = found
        if token.is_service:
            member = acting_member(token)
            if member is None:
                raise AuthenticationFailed("This service token's maker has left: make another.")
        else:
            member = member_for_user(user)
            if member is None and is_deactivated(user):
                raise AuthenticationFailed("This account is deactivated.")
        request.member = member
        return found


class IsOrganizationMember(permissions.BasePermission):
    """Signed in (session or token) with an active membership; sets request.member.
    A `read` service token may only read."""

    message = "Your account is not an active member of an organization."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        token = request.auth
        if getattr(token, "scope", None) == TokenScope.READ and request.method not in (
            permissions.SAFE_METHODS
        ):
            self.message = "This token may only read (scope read)."
            return False
        member = getattr(request, "member", None)
        if member is None or member.user_id != request.user.pk:
            request.member = member_for_user(request.user)
        return request.member is not None
