"""Sign-ins in the audit log (SPEC §9.2): each attempt, on the login page, the Django
admin or the token endpoint, is one entry — `signin.succeeded`, `signin.failed`, or
`signin.locked_out` (the failure that locks the username or address out, and every
attempt refused while it is). Connected in OrgConfig.ready()."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.record import current_request, record

from .models import Member

SUCCEEDED, FAILED, LOCKED_OUT = "signin.succeeded", "signin.failed", "signin.locked_out"
REFUSED = "signin.refused"  # a password sign-in not allowed at all (enforced single sign-on)


def signin_succeeded(user: Any) -> None:
    """Record a successful sign-in (the token endpoint calls this; the login page's
    comes through Django's user_logged_in)."""
    _record(SUCCEEDED, user.get_username(), _membership(user=user))


def _membership(**user: Any) -> Member | None:
    """The membership a sign-in is about: the active one, else a deactivated one."""
    return Member.objects.select_related("user").filter(**user).order_by("-is_active", "id").first()


def _named(username: str) -> Member | None:
    field = get_user_model().USERNAME_FIELD
    return _membership(**{f"user__{field}": username}) if username else None


def _record(action: str, username: str, member: Member | None) -> None:
    """One entry: about the member (in their organization's log), or, for a name that
    is nobody's membership, about that name (in no organization's)."""
    if member is not None:
        record(member, action, member, label=username)
    else:
        name = username or None
        record(name, action, object_type="user", object_id=username[:64], label=username)


def password_changed(user: Any) -> None:
    """Record that a person's password was set: by themselves (the change page, a
    reset or invitation link), by an operator in the Django admin, or by a command.
    Never the password itself."""
    member = _membership(user=user)
    if member is None:
        return  # an operator's own account: no organization's log
    request = current_request()
    by = getattr(request, "user", None)
    actor: Member | str | None = member
    if by is not None and by.is_authenticated and by.pk != user.pk:
        actor = _membership(user=by) or by.get_username()
    record(actor, "member.password_changed", member, label=user.get_username())


@receiver(user_logged_in, dispatch_uid="audit-signin-succeeded")
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    signin_succeeded(user)


@receiver(user_login_failed, dispatch_uid="audit-signin-failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # django-axes handles this signal first: an attempt it locked out, or refused as
    # locked out, is recorded once, as such, by _locked_out below.
    if getattr(request, "axes_locked_out", False):
        return
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")
    refusal = getattr(request, "signin_refusal", None)
    if refusal:  # not with a password, whatever it was (org/auth.py): with the reason
        member = _named(username)
        changes = {"reason": [None, refusal]}
        if member is not None:
            record(member, REFUSED, member, label=username, changes=changes)
        else:
            record(username or None, REFUSED, object_type="user", label=username, changes=changes)
        return
    _record(FAILED, username, _named(username))


@receiver(user_locked_out, dispatch_uid="audit-signin-locked-out")
def _locked_out(sender: Any, request: Any, username: str | None, **kwargs: Any) -> None:
    name = str(username or "")
    _record(LOCKED_OUT, name, _named(name))
