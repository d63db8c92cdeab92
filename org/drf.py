"""Who may call the API at all: the token authentication and the default
permission class (settings: DEFAULT_AUTHENTICATION_CLASSES, DEFAULT_PERMISSION_CLASSES).

A service token acts as its maker, restricted by its scope (org/tokens.py says how):
here it is a 401 when its maker is deactivated or gone, and a 403 when its scope
refuses the call whatever it asks.

DRF imports them while it defines its own views, so this module stays free of
rest_framework.views and of anything that imports it."""

from __future__ import annotations

import re

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import permissions
from rest_framework.exceptions import AuthenticationFailed

from .auth import is_deactivated
from .selectors import member_for_user
from .tokens import acting_member, maker_refusal, scope_refusal

# What a key can be: knox's prefix (cas_) and hex digits, printable ASCII at any rate,
# and short. Anything else is refused before it reaches the database (which would
# refuse a NUL itself, as a server error) or the UTF-8 decoding knox does.
KEY = re.compile(r"[\x21-\x7e]{1,128}")
BLANKS = re.compile(r"[ \t]+")
NO_KEY = "The Authorization header names no key: send `Authorization: Token <key>`."
NOT_A_KEY = (
    "The Authorization header holds no valid key: send `Authorization: Token <key>`, the "
    "key exactly as it was shown when it was made (ASCII letters, digits and _, no spaces)."
)


def _key(request) -> str | None:
    """The key of an `Authorization: Token <key>` header; None without a Token header
    (another scheme is another authenticator's); AuthenticationFailed (a 401) for a
    malformed one. A WSGI server hands the header's bytes over decoded as Latin-1, so
    non-ASCII bytes arrive here as characters beyond ASCII, and fail KEY."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if isinstance(header, bytes):
        header = header.decode("iso-8859-1")
    scheme, *rest = BLANKS.split(header.strip(" \t"), maxsplit=1)
    if scheme.lower() != knox_settings.AUTH_HEADER_PREFIX.lower():
        return None
    if not rest or not rest[0].strip(" \t"):
        raise AuthenticationFailed(NO_KEY)
    key = rest[0].strip(" \t")
    if not KEY.fullmatch(key):
        raise AuthenticationFailed(NOT_A_KEY)
    return key


class MemberTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, a hashed token (django-rest-knox): a malformed
    header, an unknown, expired or revoked key are a 401, and so is a deactivated
    member's token, or a service token whose maker is deactivated or gone. Sets
    request.member (for a service token: its maker, carrying the token) for the
    permission class below."""

    def _cleanup_token(self, auth_token) -> bool:
        """Only this token's expiry: knox would also sweep the person's other tokens,
        a query on every call (expired ones go when a new one is issued instead)."""
        if auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def authenticate(self, request):
        key = _key(request)
        if key is None:
            return None
        user, token = self.authenticate_credentials(key.encode("ascii"))
        if token.is_service:
            member = acting_member(token)
            refusal = maker_refusal(member)
            if refusal is not None:
                raise AuthenticationFailed(refusal)
        else:
            member = member_for_user(user)
            if member is None and is_deactivated(user):
                raise AuthenticationFailed("This account is deactivated.")
        request.member = member
        return user, token


class IsOrganizationMember(permissions.BasePermission):
    """Signed in (session or token) with an active membership; sets request.member.
    A service token's scope may refuse the call outright (org/tokens.py)."""

    message = "Your account is not an active member of an organization."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        member = getattr(request, "member", None)
        if member is not None and member.via_scope:
            refusal = scope_refusal(member, request.method)
            if refusal is not None:
                self.message = refusal
                return False
            return True
        if member is None or member.user_id != request.user.pk:
            request.member = member_for_user(request.user)
        return request.member is not None


class WithinTokenScope(permissions.BasePermission):
    """For an endpoint open to anonymous callers (the token endpoint, which takes a
    password): anyone, but a service token only within its scope (org/tokens.py)."""

    def has_permission(self, request, view) -> bool:
        member = getattr(request, "member", None)
        if member is not None and member.via_scope:
            refusal = scope_refusal(member, request.method)
            if refusal is not None:
                self.message = refusal
                return False
        return True
