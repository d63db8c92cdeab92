"""Two-factor authentication (SPEC §9.1): a code from an authenticator app (TOTP) after
the password, with ten single-use recovery codes, per person; the organization's policy
("required for admins" / "for everyone"); the middleware that holds a session at the
code page, or at enrolment, until it is done.

Built on django-otp: a person's authenticator is a TOTPDevice (unconfirmed until they
type a correct code), their recovery codes a StaticDevice with its StaticTokens (each
deleted when used). `django_otp.login()` marks a session verified; OTPMiddleware reads
that back as `request.user.is_verified()`.

What a session needs, in MfaMiddleware's order:
1. Not signed in, signed in through single sign-on (the identity provider does MFA:
   identity/jit.py), or asking for the code page, logout, static files or health: pass.
2. The person has a confirmed device: the session must be verified; else every page
   redirects to the code page (the API and htmx get a 403 saying so).
3. No device, but the organization's policy covers them: every page but enrolment
   redirects there.
Whether the person had a device is read once, when the session signs in, and kept in
the session: enabling or disabling MFA ends the person's other sessions and updates
its own, so the kept answer never goes stale and pages cost no extra query.

Wrong codes at sign-in are django-axes failures of the username (and address), as a
wrong password is: after AXES_FAILURE_LIMIT the session is signed out and sign-in is
locked for AXES_COOLOFF_TIME. django-otp also slows repeated wrong codes per device (1 s,
2 s, 4 s …); an attempt it refuses for that is not a guess and not counted.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.record import record
from org.models import Member, MfaPolicy
from org.permissions import MANAGE_MFA_POLICY, is_admin
from org.selectors import member_for_user
from org.sessions import sessions_end_others

from . import jit

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
# The session's answer to "did this person have a confirmed device?" (see above).
ENROLLED = "cascade_mfa_enrolled"

TOTP_SHAPE = re.compile(r"^\d{6}$")
WRONG_CODE = "That code is not right. Type the 6 digits your app shows now, or a recovery code."
WRONG_SETUP_CODE = "That code is not right. Type the 6 digits the app shows for Cascade now."
SLOW_DOWN = "Too many wrong codes in a row: wait {wait}, then try again."
POLICY_REQUIRES = (
    "Your organization requires two-factor authentication for you: it can't be turned off. "
    "Set up a new phone by scanning the code again, or ask an admin to reset it."
)
CODE_OR_PASSWORD = "That is neither your password nor a current code."


# -- Who must do what ---------------------------------------------------------------------


def mfa_required(member: Member | None) -> bool:
    """Whether the organization's policy requires two-factor authentication of this
    member (people without a membership — the operators — have no policy; the Django
    admin requires it of them: identity/mfa_admin.py)."""
    if member is None:
        return False
    policy = member.organization.mfa_policy
    return policy == MfaPolicy.EVERYONE or (policy == MfaPolicy.ADMINS and is_admin(member))


def is_enrolled(user) -> bool:
    """The person has a confirmed authenticator or recovery codes."""
    return user_has_device(user, confirmed=True)


def is_sso_session(request: HttpRequest) -> bool:
    return request.session.get(jit.SESSION_KEY) is not None


def session_enrolled(request: HttpRequest) -> bool:
    """Whether the person had a confirmed device when this session began (kept in it)."""
    enrolled = request.session.get(ENROLLED)
    if enrolled is None:  # a session from before this was kept: asked once
        enrolled = request.session[ENROLLED] = is_enrolled(request.user)
    return enrolled


@receiver(user_logged_in, dispatch_uid="identity.mfa.enrolled")
def _note_enrolment(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[ENROLLED] = is_enrolled(user)


# -- Enrolment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What the enrolment page shows: the QR code (inline SVG) and the secret in text."""

    device: TOTPDevice
    qr_svg: str
    secret: str  # base32, in groups of four


def pending_authenticator(user) -> TOTPDevice:
    """The person's unconfirmed authenticator: the one begun before, or a new one."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def setup_for(device: TOTPDevice) -> Setup:
    secret = base64.b32encode(device.bin_key).decode()
    image = qrcode.make(
        device.config_url,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
    )
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    svg = svg[svg.index("<svg") :]  # no XML declaration inside HTML
    # Its size comes from the stylesheet (.qr svg), the picture from its viewBox.
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg role="img" aria-label="QR code"', svg)
    return Setup(device, svg, " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)))


def _new_recovery_codes(user) -> list[str]:
    """Replace the person's recovery codes with ten new ones; returns them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _actor(user) -> Member | str:
    """Who did it, for the audit log: their membership, or their username."""
    return member_for_user(user) or user.get_username()


def _audit(user, action: str, changes: dict | None = None) -> None:
    actor = _actor(user)
    if isinstance(actor, Member):
        record(actor, action, actor, changes=changes)
    else:
        record(actor, action, object_type="user", object_id=user.pk, label=actor, changes=changes)


@transaction.atomic
def authenticator_confirm(request: HttpRequest, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the person's pending authenticator with a code it shows. On success: the
    device counts, ten recovery codes are made (returned, to be shown once), this
    session is verified, the person's other sessions end, and it is audited. None: the
    code was wrong and nothing changed. Refused: a wrong code came too soon before (django-otp
    slows repeated tries down), so this one was not checked; its message says how long to
    wait."""
    user = request.user
    token = normalize(token)
    wait = slow_down(device)
    if wait:
        raise Refused(wait)
    if not TOTP_SHAPE.match(token) or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Any other authenticator (a lost phone's) goes: one device per person.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _new_recovery_codes(user)
    otp_login(request, device)
    request.session[ENROLLED] = True
    sessions_end_others(user)
    _audit(user, "mfa.enabled", {"mfa": [False, True]})
    return codes


@transaction.atomic
def recovery_codes_regenerate(user) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    codes = _new_recovery_codes(user)
    _audit(user, "mfa.recovery_codes_regenerated", {"recovery_codes": [None, len(codes)]})
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@dataclass(frozen=True)
class Refused(Exception):
    """A change the rules refuse (403, nothing changed) or an answer that does not
    prove the person (400); `message` says which and why."""

    message: str
    status: int = 400


@transaction.atomic
def mfa_disable(request: HttpRequest, *, proof: str) -> None:
    """Turn the person's two-factor authentication off: refused while the policy
    requires it of them, and unless `proof` is their password or a current code. Ends
    their other sessions; audited."""
    user = request.user
    if mfa_required(member_for_user(user)):
        raise Refused(POLICY_REQUIRES, status=403)
    if not (user.has_usable_password() and user.check_password(proof)) and not _matching_device(
        user, proof
    ):
        raise Refused(CODE_OR_PASSWORD)
    _remove_devices(user)
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    request.session[ENROLLED] = False
    sessions_end_others(user)
    _audit(user, "mfa.disabled", {"mfa": [True, False]})


def _remove_devices(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def mfa_reset(*, actor: Member, member: Member) -> None:
    """An admin turns a person's two-factor authentication off (a lost phone): all of
    the person's sessions end; they sign in with their password and, where the policy
    requires it, enrol again at once. The permission is checked by the caller's
    loader (MANAGE_PEOPLE over a member of the actor's organization)."""
    had = is_enrolled(member.user)
    _remove_devices(member.user)
    sessions_end_others(member.user)
    record(actor, "mfa.reset", member, changes={"mfa": [had, False]})


# -- The organization's policy ------------------------------------------------------------


@transaction.atomic
def mfa_policy_set(*, actor: Member, policy: str) -> bool:
    """Set the actor's organization's policy (admins only: MANAGE_MFA_POLICY). Returns
    whether the actor is now required to enrol and is not (the page says so, and the
    middleware sends them to enrolment)."""
    MANAGE_MFA_POLICY.require(actor)
    organization = actor.organization
    if policy not in MfaPolicy.values:
        raise Refused(f"Choose one of: {', '.join(MfaPolicy.labels)}.")
    old = organization.mfa_policy
    if old != policy:
        organization.mfa_policy = policy
        organization.save(update_fields=["mfa_policy"])
        record(actor, "mfa.policy_changed", organization, changes={"mfa_policy": [old, policy]})
    return mfa_required(actor) and not is_enrolled(actor.user)


# -- Signing in with a code ---------------------------------------------------------------


def normalize(token: str) -> str:
    """What people type: spaces and dashes dropped, any case."""
    return re.sub(r"[\s-]", "", token or "").lower()[:64]


def _devices_for(user, token: str) -> list:
    """The devices that could accept this token, locked for the check: six digits are
    for the authenticator, anything else for the recovery codes (so a recovery code
    never slows the authenticator down, nor the other way round)."""
    model = TOTPDevice if TOTP_SHAPE.match(token) else StaticDevice
    return list(model.objects.filter(user=user, confirmed=True).select_for_update())


def _matching_device(user, token: str):
    token = normalize(token)
    with transaction.atomic():
        for device in _devices_for(user, token):
            if device.verify_token(token):
                return device
    return None


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    message: str = ""


def _axes_credentials(user) -> dict:
    return {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}


def sign_in_locked(request: HttpRequest) -> bool:
    """Whether django-axes locks this username or address out right now."""
    return AxesProxyHandler.is_locked(request, _axes_credentials(request.user))


def slow_down(device) -> str:
    """Why the device checks no code just now (django-otp's 1 s, 2 s, 4 s … after wrong
    ones), as a message saying how long to wait; "" when it does."""
    allowed, data = device.verify_is_allowed()
    if allowed:
        return ""
    until = (data or {}).get("locked_until")
    left = (until - timezone.now()).total_seconds() if until else 1
    seconds = max(1, math.ceil(left))
    return SLOW_DOWN.format(wait="1 second" if seconds == 1 else f"{seconds} seconds")


def verify_sign_in(request: HttpRequest, token: str) -> CodeCheck:
    """Check the code typed at sign-in. Right: the session is verified (a recovery code
    is used up, and audited). Wrong: audited as `signin.mfa_failed` and counted by
    django-axes like a wrong password; at the limit the session is signed out and
    `request.axes_locked_out` is set (AxesMiddleware answers with the lockout page)."""
    user = request.user
    token = normalize(token)
    with transaction.atomic():
        devices = _devices_for(user, token) if token else []
        for device in devices:
            wait = slow_down(device)
            if wait:
                return CodeCheck(False, wait)
        device = next((d for d in devices if d.verify_token(token)), None)
    if device is not None:
        otp_login(request, device)
        if isinstance(device, StaticDevice):
            _audit(
                user,
                "signin.recovery_code_used",
                {"recovery_codes_left": [None, recovery_codes_left(user)]},
            )
        return CodeCheck(True)
    _audit(user, "signin.mfa_failed")
    credentials = _axes_credentials(user)
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        logout(request)
    return CodeCheck(False, WRONG_CODE)


# -- The middleware -----------------------------------------------------------------------

ALWAYS_OPEN = ("/static/", "/healthz/", "/accounts/logout/")
VERIFY_FIRST = "Enter the code from your authenticator app (or a recovery code) first."
ENROL_FIRST = "Your organization requires two-factor authentication: set it up to continue."


def _enrolment_paths() -> tuple[str, ...]:
    return (reverse("identity:mfa"), reverse("identity:mfa-setup"))


class MfaMiddleware:
    """Holds a signed-in session at the code page until it is verified, or at
    enrolment while the policy requires it and the person has no device (see the
    module's docstring). After the session limits, which may have ended the session;
    before django-axes, which turns a lockout flagged on the code page into its answer.
    Token requests (an Authorization header) are the token's business, not the
    session's: untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.held(request) or self.get_response(request)

    def held(self, request) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or is_sso_session(request):
            return None
        path = request.path_info
        if path.startswith(ALWAYS_OPEN) or "HTTP_AUTHORIZATION" in request.META:
            return None
        verify = reverse("identity:mfa-verify")
        if session_enrolled(request):
            if path == verify or user.is_verified():
                return None
            return _stop(request, verify, VERIFY_FIRST)
        if mfa_required(getattr(request, "member", None)):
            if path in _enrolment_paths():
                return None
            return _stop(request, reverse("identity:mfa-setup"), ENROL_FIRST)
        return None


def _stop(request: HttpRequest, to: str, message: str) -> HttpResponse:
    """A page goes to `to` (and back afterwards); the API and htmx get a 403."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=403)
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
        response["HX-Redirect"] = to
        return response
    if request.method == "GET":
        return redirect(f"{to}?{urlencode({'next': request.get_full_path()})}")
    return redirect(to)
