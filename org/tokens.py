"""API tokens (SPEC §8.2, §9.2): hashed by django-rest-knox, many per person,
revocable, and every one expires within a year of being made.

A person's own token comes from the token endpoint (POST auth/token/) and acts as
them. It lasts API_TOKEN_DAYS (90; between 1 and 365) and is revoked when they sign
out of it, change or reset their password, or are deactivated.

A service token is made by an admin for an integration (tokens/, the People page),
and it answers to its maker: it acts as the admin who made it — their membership as
it is now, with their current role, department and active state — never as more,
and restricted by its scope:

- `read`: reads only (GET, HEAD, OPTIONS); any other call is a 403.
- `write`: what its maker's role may write, except the admin area: service tokens,
  people (members/ writes) and webhooks, the things SPEC §9.2 says only `admin` may
  create (SSO settings belong there too). Departments are not in it: they are the
  organization's structure, give nobody a credential, and a `write` token of an
  admin changes them as its maker may.
- `admin`: everything its maker may do, the admin area included, and only while its
  maker is an admin: once they are not, every call with it is a 403 ("admin scope
  lapsed").
- `scim`: only the SCIM endpoints (/scim/v2/), whose views accept it themselves;
  every call under /api/v1/ is a 403.

Its maker deactivated (or gone from the organization): every call with it is a 401;
it works again if an admin reactivates them. Its maker demoted: it keeps what their
new role allows and nothing more (`GET me/` shows that role). Only an admin — signed
in, with their own token, or through an `admin` token — makes service tokens, of any
scope. Each expires on the day it is given (at most a year ahead; 90 days unless
told). Values recorded through it name it as their author (Member.via_token), and
the audit log names it by id (Member.via_token_id)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from knox.models import get_digest_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import permissions

from audit.record import created, deleted, record
from core.dates import out_of_range
from core.errors import Errors, check_text, one_of, refuse_unless

from .models import ApiToken, Member, TokenScope
from .permissions import MANAGE_TOKENS, role_allows_scope
from .signals import password_changed

TOKEN_NAME_REQUIRED = "Name the token (e.g. Nightly BI sync)."
DEFAULT_LIFETIME = dt.timedelta(days=90)
AUDITED = ("name", "scope", "expiry")  # what the audit log keeps of a token (never its key)

MAKER_LEFT = (
    "The person who made this service token is no longer in the organization, so it "
    "no longer works: ask an admin to make a new one (People page, Service tokens)."
)
MAKER_DEACTIVATED = (
    "The admin who made this token is deactivated, so it no longer works: ask an admin "
    "to make a new one (People page, Service tokens), or to reactivate its maker."
)
ADMIN_SCOPE_LAPSED = (
    "This token's admin scope lapsed: its maker is no longer an admin. Ask an admin to "
    "make a new token."
)
SCIM_ONLY = (
    "This token's scope is scim: it works only on the SCIM endpoints (/scim/v2/), not "
    "under /api/v1/. Use a read, write or admin token here."
)
READ_ONLY = "This token may only read (scope read): writing needs a token of scope write."


def a_year_after[T: (dt.date, dt.datetime)](moment: T) -> T:
    """The same date (and time) a year later; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


def latest_last_day(today: dt.date) -> dt.date:
    """The furthest last day a service token made today may have: it then stops at the
    end of the day before today's date next year, within a year of being made."""
    return a_year_after(today) - dt.timedelta(days=1)


def _made(user, *, expiry: dt.datetime, **fields) -> tuple[ApiToken, str]:
    """A new token row expiring at `expiry` exactly, and its key (knox's hashing; only
    the hash and the key's first characters are kept)."""
    digest, key = get_digest_token()
    token = ApiToken(
        user=user,
        token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
        digest=digest,
        expiry=expiry,
        **fields,
    )
    token.save(force_insert=True)
    return token, key


def token_issue(user) -> tuple[ApiToken, str]:
    """A new personal token for a signed-in user: the row, and the key (shown once).
    It lasts API_TOKEN_DAYS (knox's TOKEN_TTL), never more than a year. The person's
    expired tokens go now."""
    now = timezone.now()
    ApiToken.objects.filter(user=user, expiry__lt=now).delete()
    lifetime = knox_settings.TOKEN_TTL or DEFAULT_LIFETIME
    return _made(user, expiry=min(now + lifetime, a_year_after(now)))


def token_revoke(token: ApiToken) -> None:
    token.delete()


def tokens_revoke_personal(user) -> int:
    """Revoke every token the person holds for themselves (service tokens they made
    belong to their organization and stay; they stop working while their maker is
    deactivated)."""
    deleted, _ = ApiToken.objects.filter(user=user, organization__isnull=True).delete()
    return deleted


@transaction.atomic
def service_token_create(
    *,
    actor: Member,
    name: str,
    scope: str = TokenScope.WRITE,
    expires_on: dt.date | None = None,
    expiry: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A service token for the actor's organization, acting as the actor: the row and
    its key, which is never shown again (only its hash is kept). It expires at
    `expiry`, or at the end of `expires_on` (in the organization's time zone), or 90
    days from now; at most a year from now."""
    MANAGE_TOKENS.require(actor)
    errors = Errors()
    name = (name or "").strip()
    check_text(errors, "name", name, required=TOKEN_NAME_REQUIRED, max_length=100)
    if (
        "name" not in errors.messages
        and ApiToken.objects.filter(organization_id=actor.organization_id, name=name).exists()
    ):
        errors.add("name", "Another service token has this name.")
    if scope not in TokenScope.values:
        errors.add("scope", one_of(TokenScope.values))
    expiry = _expiry(errors, actor, expires_on=expires_on, expiry=expiry)
    errors.raise_if_any()
    assert expiry is not None  # no message: _expiry gave one
    token, key = _made(
        actor.user,
        expiry=expiry,
        name=name,
        scope=scope,
        organization_id=actor.organization_id,
    )
    record(actor, "token.created", token, object_type="token", changes=created(token, AUDITED))
    return token, key


def _expiry(
    errors: Errors, actor: Member, *, expires_on: dt.date | None, expiry: dt.datetime | None
) -> dt.datetime | None:
    """When a new service token stops working, or None with the reason in `errors`:
    the end of its last day, an instant, or 90 days from now; never later than a year
    from now, nor outside the years 2000–2100."""
    now = timezone.now()
    if expires_on is not None and expiry is not None:
        errors.add("expiry", "Give the expiry or the last day (expires_on), not both.")
        return None
    if expires_on is not None:
        today = actor.organization.today()
        latest = latest_last_day(today)
        if message := out_of_range(expires_on):
            errors.add("expires_on", message)
        elif expires_on <= today:
            errors.add("expires_on", f"Must be after today ({today:%Y-%m-%d}).")
        elif expires_on > latest:
            errors.add(
                "expires_on",
                f"A token lasts at most a year: give a last day up to {latest:%Y-%m-%d}.",
            )
        else:
            end = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time())
            return end.replace(tzinfo=actor.organization.now().tzinfo)
        return None
    if expiry is not None:
        latest_instant = a_year_after(now)
        if message := out_of_range(expiry):
            errors.add("expiry", message)
        elif expiry <= now:
            errors.add("expiry", "Must be in the future.")
        elif expiry > latest_instant:
            errors.add(
                "expiry",
                "A token lasts at most a year: give an instant up to "
                f"{latest_instant:%Y-%m-%dT%H:%M:%SZ}.",
            )
        else:
            return expiry
        return None
    return now + DEFAULT_LIFETIME


def service_token_revoke(*, actor: Member, token: ApiToken) -> None:
    refuse_unless(
        MANAGE_TOKENS(actor, token.organization_id) and token.is_service, MANAGE_TOKENS.refusal
    )
    record(actor, "token.revoked", token, object_type="token", changes=deleted(token, AUDITED))
    token.delete()


def service_tokens(organization_id: int) -> QuerySet[ApiToken]:
    """The organization's live service tokens (expired ones are left out), by name,
    each with its maker's standing (`maker_active`, `maker_role`: None if they left)."""
    maker = Member.objects.filter(user_id=OuterRef("user_id"), organization_id=organization_id)
    return (
        ApiToken.objects.filter(organization_id=organization_id)
        .exclude(expiry__lt=timezone.now())
        .annotate(
            maker_active=Subquery(maker.values("is_active")[:1]),
            maker_role=Subquery(maker.values("role")[:1]),
        )
        .select_related("user")
        .order_by("name")
    )


def stopped_because(token: ApiToken) -> str | None:
    """Why a token of service_tokens() no longer works although it has not expired, in
    a few words for the People page; None while it works."""
    active, role = token.maker_active, token.maker_role
    if active is None:
        return "Stopped: its maker left the organization."
    if not active:
        return "Stopped: its maker is deactivated."
    if not role_allows_scope(role, token.scope):
        return "Stopped: its maker is no longer an admin."
    return None


def acting_member(token: ApiToken) -> Member | None:
    """Who a service token acts as: its maker's membership of the token's organization,
    as it is now (role, department, active or not), carrying the token's name, id and
    scope for this request. None if the maker has left the organization."""
    member = (
        Member.objects.select_related("organization", "department", "user")
        .filter(user_id=token.user_id, organization_id=token.organization_id)
        .first()
    )
    if member is not None:
        member.via_token, member.via_token_id, member.via_scope = token.name, token.pk, token.scope
    return member


def maker_refusal(member: Member | None) -> str | None:
    """Why a service token does not work at all (a 401), or None: its maker left the
    organization or is deactivated."""
    if member is None:
        return MAKER_LEFT
    if not member.is_active:
        return MAKER_DEACTIVATED
    return None


def scope_refusal(member: Member, method: str) -> str | None:
    """Why a call through a service token (its maker, `member`, carrying its scope) is
    refused whatever it asks (a 403), or None. What a `write` token may not touch (the
    admin area) the admin area's own permissions refuse (org/permissions.py)."""
    scope = member.via_scope
    if scope == TokenScope.SCIM:
        return SCIM_ONLY
    if not role_allows_scope(member.role, scope):
        return ADMIN_SCOPE_LAPSED
    if scope == TokenScope.READ and method not in permissions.SAFE_METHODS:
        return READ_ONLY
    return None


class RevokeTokensOnPasswordChange:
    """Not a rule for passwords: Django tells every password validator when a password
    changes (a change, a reset, an admin setting it), and this one revokes the person's
    tokens then (and the audit log notes the change), and says so under the password
    field. In AUTH_PASSWORD_VALIDATORS."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            tokens_revoke_personal(user)
            password_changed(user)  # the audit log

    def get_help_text(self) -> str:
        return "Changing your password revokes the API tokens you hold."
