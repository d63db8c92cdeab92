"""API tokens (SPEC §8.2): hashed by django-rest-knox, many per person, revocable.

A person's own token comes from the token endpoint and acts as them; it is revoked
when they sign out of it, change or reset their password, or are deactivated. A
service token is made by an admin for an integration: it acts for the organization
with an admin's rights (scope `write`) or only reads (scope `read`), until it expires
or an admin revokes it; values it records name it as their author."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import Errors, check_text, refuse_unless

from .models import ApiToken, Member, Role, TokenScope
from .permissions import MANAGE_TOKENS

TOKEN_NAME_REQUIRED = "Name the token (e.g. Nightly BI sync)."


def token_issue(user) -> tuple[ApiToken, str]:
    """A new personal token for a signed-in user: the row, and the key (shown once).
    The person's expired tokens go now."""
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return ApiToken.objects.create(user=user)


def token_revoke(token: ApiToken) -> None:
    token.delete()


def tokens_revoke_personal(user) -> int:
    """Revoke every token the person holds for themselves (service tokens they made
    belong to their organization and stay)."""
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
    """A service token for the actor's organization: the row and its key, which is
    never shown again (only its hash is kept). It expires at `expiry`, or at the end
    of `expires_on` (in the organization's time zone), or never."""
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
        errors.add("scope", "Choose read or write.")
    today = actor.organization.today()
    if expires_on is not None and expiry is not None:
        errors.add("expiry", "Give the expiry or the last day (expires_on), not both.")
    elif expires_on is not None:
        if expires_on <= today:
            errors.add("expires_on", f"Must be after today ({today:%Y-%m-%d}).")
        end = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time())
        expiry = end.replace(tzinfo=actor.organization.now().tzinfo)
    elif expiry is not None and expiry <= timezone.now():
        errors.add("expiry", "Must be in the future.")
    errors.raise_if_any()
    token, key = ApiToken.objects.create(
        user=actor.user,
        expiry=None,
        name=name,
        scope=scope,
        organization_id=actor.organization_id,
    )
    if expiry is not None:  # the instant itself (knox would add a lifetime to its own now)
        token.expiry = expiry
        token.save(update_fields=["expiry"])
    return token, key


def service_token_revoke(*, actor: Member, token: ApiToken) -> None:
    refuse_unless(
        MANAGE_TOKENS(actor, token.organization_id) and token.is_service, MANAGE_TOKENS.refusal
    )
    token.delete()


def service_tokens(organization_id: int) -> QuerySet[ApiToken]:
    """The organization's live service tokens (expired ones are left out), by name."""
    return (
        ApiToken.objects.filter(organization_id=organization_id)
        .exclude(expiry__lt=timezone.now())
        .select_related("user")
        .order_by("name")
    )


def acting_member(token: ApiToken) -> Member | None:
    """Who a service token acts as: its organization, with an admin's rights, under
    the token's name. (Stored as author: the admin who made it.)"""
    member = (
        Member.objects.select_related("organization", "user")
        .filter(user_id=token.user_id, organization_id=token.organization_id)
        .first()
    )
    if member is not None:
        member.role, member.is_active, member.via_token = Role.ADMIN, True, token.name
    return member


class RevokeTokensOnPasswordChange:
    """Not a rule for passwords: Django tells every password validator when a password
    changes (a change, a reset, an admin setting it), and this one revokes the person's
    tokens then, and says so under the password field. In AUTH_PASSWORD_VALIDATORS."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            tokens_revoke_personal(user)

    def get_help_text(self) -> str:
        return "Changing your password revokes the API tokens you hold."
