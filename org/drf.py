"""The API's default permission class (settings: DEFAULT_PERMISSION_CLASSES).

DRF imports it while it defines its own views, so this module stays free of
rest_framework.views and of anything that imports it."""

from __future__ import annotations

from rest_framework import permissions

from .selectors import member_for_user


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
