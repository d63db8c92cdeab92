"""How long a signed-in session lasts (SPEC §9.2, README "Security").

A session ends after SESSION_IDLE_MINUTES without a request, SESSION_MAX_DAYS after
signing in whatever happens, and when the person's role, MFA or SSO setting changes
(`sessions_end_others`). A password change needs nothing here: Django mixes the password
into every session's hash, so the person's other sessions fail it and end, while the
page that changes it keeps its own session.

The session carries when it began and when it was last seen. "Last seen" is written
at most once a minute, so an active person's requests don't each write their session.
A change that ends the person's sessions stamps their memberships with the moment
(`Member.sessions_ended_at`, read with the membership every request loads anyway); a
session begun earlier ends at its next request. The session making the change, when
it is the person's own, is kept.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.utils import timezone

from .models import Member

SIGNED_IN_AT = "cascade_signed_in_at"
SEEN_AT = "cascade_seen_at"
VALID_FROM = "cascade_valid_from"  # later than SIGNED_IN_AT when kept through a change
SEEN_EVERY = 60  # seconds between two writes of "last seen"

# The session of the request being served: a change its own person makes keeps it.
_current_session: contextvars.ContextVar[SessionBase | None] = contextvars.ContextVar(
    "current_session", default=None
)


def idle_message(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        span = "1 hour" if hours == 1 else f"{hours} hours"
    else:
        span = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"You were signed out after {span} without activity."


def lifetime_message(days: int) -> str:
    span = "1 day" if days == 1 else f"{days} days"
    return f"You were signed out: a sign-in lasts at most {span}. Please sign in again."


CHANGED = "You were signed out because your role or sign-in settings changed. Please sign in again."


@receiver(user_logged_in, dispatch_uid="org.sessions.stamp")
def stamp_new_session(sender, request, user, **kwargs) -> None:
    """A new sign-in: its session begins now."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = request.session[SEEN_AT] = now
        request.session.pop(VALID_FROM, None)


def sessions_end_others(user) -> dt.datetime:
    """End every session of this person but the one making the request, when it is
    theirs (an admin changing someone's role ends all of that person's sessions).
    Returns the moment stamped on their memberships."""
    ended_at = timezone.now()
    Member.objects.filter(user=user).update(sessions_ended_at=ended_at)
    session = _current_session.get()
    if session is not None and session.get(SESSION_KEY) == str(user.pk):
        session[VALID_FROM] = ended_at.timestamp()
    return ended_at


def ended_because(session, member: Member | None, now: float) -> str | None:
    """Why this signed-in session is over, or None while it lasts."""
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        return None
    if now - signed_in_at > settings.SESSION_MAX_DAYS * 86400:
        return lifetime_message(settings.SESSION_MAX_DAYS)
    if now - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return idle_message(settings.SESSION_IDLE_MINUTES)
    ended_at = member.sessions_ended_at if member is not None else None
    if ended_at is not None and session.get(VALID_FROM, signed_in_at) < ended_at.timestamp():
        return CHANGED
    return None


class SessionLimitsMiddleware:
    """Ends a session that was idle too long, is too old, or was ended by a change; the
    person then meets the login page with the reason (the API answers 401). After the
    membership middleware, whose `request.member` it reads."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session:
            now = time.time()
            reason = ended_because(session, getattr(request, "member", None), now)
            if reason is not None:
                logout(request)
                request.member = None
                timezone.deactivate()
                messages.info(request, reason)
            elif session.get(SIGNED_IN_AT) is None:
                # Signed in before sessions were stamped: it begins now.
                session[SIGNED_IN_AT] = session[SEEN_AT] = now
            elif now - session[SEEN_AT] >= SEEN_EVERY:
                session[SEEN_AT] = now
        token = _current_session.set(session)
        try:
            return self.get_response(request)
        finally:
            _current_session.reset(token)
