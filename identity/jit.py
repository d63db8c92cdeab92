"""The end of every single sign-on, whatever the protocol (SPEC §9.1): the identity
provider of `config.organization` vouched for a person; sign them in as that
organization's member, make them one just in time, or refuse with a reason that says
what to do. OpenID Connect (identity/oidc.py) and SAML (identity/saml.py) both end here,
so the rules below hold for both."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model, login
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from audit.record import created, record
from org.changes import ChangeAction, ChangeKind, note_change
from org.models import Member
from org.selectors import member_for_user

from .models import SSOConfig

# The session key saying how this session signed in: the organization whose provider
# vouched (MFA is then the provider's: identity/mfa.py).
SESSION_KEY = "identity_sso_organization"


@dataclass(frozen=True)
class Refusal(Exception):
    """A sign-in the provider vouched for that Cascade still refuses; `reason` is shown
    to the person and kept in the audit log."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def sign_in(
    request: HttpRequest,
    config: SSOConfig,
    *,
    email: str,
    email_verified: bool,
    first_name: str = "",
    last_name: str = "",
) -> Member:
    """Sign the person in and return their membership, or raise Refusal (recorded)."""
    organization = config.organization
    email = (email or "").strip()
    try:
        member = _member_for(config, email, email_verified, first_name, last_name)
    except Refusal as refusal:
        record_failure(config, "signin.sso_refused", refusal.reason, who=email or "(no email)")
        raise
    login(request, member.user, backend="org.auth.MemberBackend")
    request.session[SESSION_KEY] = organization.pk
    return member


def record_failure(
    config: SSOConfig, action: str, reason: str, *, who: str = "single sign-on"
) -> None:
    """An SSO sign-in that did not happen, in the audit log of the organization it was
    for: `signin.sso_refused` (the provider vouched, Cascade said no) or
    `signin.sso_failed` (an answer Cascade could not take), with the reason."""
    organization = config.organization
    record(
        who,
        action,
        object_type="organization",
        object_id=organization.pk,
        label=organization.name,
        changes={"reason": [None, reason]},
        organization_id=organization.pk,
    )


def _member_for(
    config: SSOConfig, email: str, verified: bool, first_name: str, last_name: str
) -> Member:
    organization = config.organization
    if not email or "@" not in email:
        raise Refusal(
            f"{organization.name}'s identity provider did not send an email address: "
            "ask your IT to release the email claim (or attribute) to Cascade."
        )
    if not verified:
        # Never link an address nobody proved to an existing member (SPEC §9.1).
        raise Refusal(
            f"Your identity provider has not verified {email}. Verify the address there, "
            "then sign in again."
        )
    domains = [d.lower() for d in config.email_domains]
    if email_domain(email) not in domains:
        raise Refusal(
            f"{email} is not on a domain {organization.name} signs in with "
            f"({', '.join(domains) or 'none set'}). Sign in with your work address."
        )
    User = get_user_model()
    users = list(User.objects.filter(email__iexact=email).order_by("id")[:2])
    member = Member.objects.select_related("user").filter(
        organization=organization, user__email__iexact=email
    )
    found = list(member[:2])
    if len(found) > 1:
        raise Refusal(
            f"More than one member of {organization.name} has the address {email}: "
            "ask an admin to give each person their own address."
        )
    if found:
        member = found[0]
        if not member.is_active:
            raise Refusal(f"Your membership of {organization.name} is deactivated: ask an admin.")
        active = member_for_user(member.user)
        if active is None or active.organization_id != organization.pk:
            raise Refusal(
                f"{email} belongs to another organization's account too: ask an admin of "
                f"{organization.name} to sort out the address."
            )
        return member
    if users:
        # An account of another organization: a provider of this one never reaches it.
        raise Refusal(
            f"{email} already has a Cascade account outside {organization.name}: ask an "
            "admin to sort out the address."
        )
    if not config.jit:
        raise Refusal(
            f"You are not a member of {organization.name} in Cascade yet: ask an admin to add you."
        )
    return _make_member(config, email, first_name, last_name)


def _make_member(config: SSOConfig, email: str, first_name: str, last_name: str) -> Member:
    """A new account (no password: it signs in through the provider) and membership."""
    User = get_user_model()
    base = User.normalize_username(email.lower())[:140]
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username,
                email=email,
                password=None,
                first_name=first_name[:150],
                last_name=last_name[:150],
            )
            member = Member.objects.create(
                organization=config.organization, user=user, role=config.default_role
            )
            note_change(
                member.organization_id, ChangeKind.MEMBER, ChangeAction.CREATED, (member.pk, None)
            )
    except IntegrityError:
        # The same person's second sign-in, a moment behind: theirs made the member.
        member = Member.objects.select_related("user").get(
            organization=config.organization, user__email__iexact=email
        )
        return member
    account = {"username": [None, username], "email": [None, email]}
    record(
        "single sign-on",
        "member.created",
        member,
        changes=account | created(member, ["role"]) | {"via": [None, "single sign-on"]},
    )
    return member
