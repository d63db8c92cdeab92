"""DRF settings hooks (kept free of rest_framework.views, which imports the settings)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied, ValidationError

from .selectors import member_for_user


def api_exception_handler(exc, context):
    """A service's ValidationError is a 400 with its per-field messages; its
    PermissionDenied a 403 with its message."""
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


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
