"""Signing in: a deactivated member can't, on the login page or for a token
(SPEC §8.1). Accounts with no membership at all — the people who operate the
installation and use the Django admin — sign in as usual. Too many failures lock
sign-in out for a while (django-axes, SPEC §8.2): what that is answered."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.module_loading import import_string

from .models import Member


def is_deactivated(user) -> bool:
    """The user belongs to organizations, and is active in none of them."""
    memberships = list(Member.objects.filter(user=user).values_list("is_active", flat=True))
    return bool(memberships) and not any(memberships)


def password_refusal(user, request=None) -> str | None:
    """Why this account may not sign in with a password here, or None: asked of
    settings.PASSWORD_SIGNIN_CHECK (a dotted path; identity answers for an organization
    whose single sign-on is enforced), so org needs no import of identity."""
    check = getattr(settings, "PASSWORD_SIGNIN_CHECK", "")
    return import_string(check)(user, request) if check else None


class MemberBackend(ModelBackend):
    """Django's username-and-password sign-in, refusing deactivated members. (Checked
    when signing in, not on every request: a session of someone deactivated since is
    ended by the membership middleware.)

    An account that may not use a password (`password_refusal`) is refused before its
    password is checked, so the refusal never tells whether the password was right;
    the reason is left on the request (`signin_refusal`) for the login page and the
    token endpoint to show, and the refusal counts as a failed sign-in (django-axes,
    the audit log) as a wrong password does."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get("username")
        refusal = self._refusal(name, request)
        if refusal is not None:
            if request is not None:
                request.signin_refusal = refusal
            raise PermissionDenied(refusal)  # Django: user_login_failed, then None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        return None if user is None or is_deactivated(user) else user

    def _refusal(self, username, request) -> str | None:
        if not username or not isinstance(username, str):
            return None
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            return None
        return password_refusal(user, request)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """What a locked-out sign-in is answered (django-axes calls this: README,
    "Security"): a 429 with `Retry-After`, as JSON on the API and as the login page,
    with the message, everywhere else."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-ins for this username or from this address: try again in "
        f"{minutes} minutes. Forgotten your password? Reset it meanwhile."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        context = {"lockout": message, "next": request.POST.get("next", "")}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
