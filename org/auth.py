"""Signing in: a deactivated member can't, on the login page or for a token
(SPEC §8.1). Accounts with no membership at all — the people who operate the
installation and use the Django admin — sign in as usual. Too many failures lock
sign-in out for a while (django-axes, SPEC §8.2): what that is answered."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

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
