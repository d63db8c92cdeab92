"""Enforced single sign-on (SPEC §9.1): a member of an organization whose SSO is
enforced signs in through its identity provider, not with a password — on the login
page and at `POST /api/v1/auth/token/` alike.

Break-glass: an admin keeps the password path if they have a confirmed MFA device, on
the login page only (whose sign-in then asks for the device's code: identity/mfa.py),
so an outage of the provider never locks the organization out of its own settings.
The token endpoint asks for no code, so it is no break-glass: an admin there is
refused as everyone is (a service token made on the People page still works).

org never imports identity: org/auth.py's MemberBackend calls `password_refusal`
through the PASSWORD_SIGNIN_CHECK setting (a dotted path) and refuses with its
sentence; the refusal counts as a failed sign-in (django-axes, the audit log).
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import resolve_url
from django_otp import devices_for_user

from org.models import Member
from org.permissions import can_manage_org

from .models import SSOConfig

SIGN_IN_WITH_ORGANIZATION = "Sign in with your organization"


def enforced_message(organization_name: str) -> str:
    return (
        f"{organization_name} signs in through its identity provider: use “"
        f"{SIGN_IN_WITH_ORGANIZATION}” with your work email."
    )


def asks_for_a_code(request) -> bool:
    """Whether this password sign-in is the login page's, after which the session is
    held at the MFA code page until the code is typed."""
    return request is not None and request.path == resolve_url(settings.LOGIN_URL)


def password_refusal(user, request=None) -> str | None:
    """Why this account may not sign in with a password, or None (two queries; a
    third for an admin's MFA devices)."""
    member = (
        Member.objects.select_related("organization")
        .filter(user=user, is_active=True)
        .order_by("id")
        .first()
    )
    if member is None:
        return None
    enforced = SSOConfig.objects.filter(organization_id=member.organization_id, enforced=True)
    if not enforced.exists():
        return None
    if (
        can_manage_org(member)
        and asks_for_a_code(request)
        and any(devices_for_user(user, confirmed=True))
    ):
        return None  # break-glass: password, then the MFA code
    return enforced_message(member.organization.name)
