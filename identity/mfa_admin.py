"""The Django admin requires two-factor authentication (SPEC §9.1): django-otp's
OTPAdminSite lets in only a session verified with a device. Its sign-in is Cascade's
own — the login page, then the code page — so one lockout and one audit trail cover
every door; operators (superusers) enrol on the same "Two-factor authentication" page
as everyone (/mfa/). Installed on `admin.site` when the identity app is ready."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django_otp.admin import OTPAdminSite

from . import mfa


class MfaAdminSite(OTPAdminSite):
    def login(self, request, extra_context=None):
        next_url = request.GET.get("next") or request.get_full_path()
        if not request.user.is_authenticated:
            return redirect_to_login(next_url, settings.LOGIN_URL)
        if not mfa.is_enrolled(request.user):
            messages.info(
                request,
                "The admin site requires two-factor authentication: set it up, then open "
                "the admin site again.",
            )
            return redirect("identity:mfa-setup")
        # Verified (the middleware saw to it) and still refused: not staff. Django's
        # page says so and offers to sign in as someone else.
        return super().login(request, extra_context)


def install() -> None:
    admin.site.__class__ = MfaAdminSite
