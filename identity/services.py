"""Changing an organization's single sign-on settings (SPEC §9.1): the one service
the Identity page and `PUT /api/v1/sso/` both call.

`sso_update` checks, in order:
1. the caller may (an admin, or a service token of the admin scope);
2. each field on its own, every message at once: the protocol, the provider's
   address (HTTPS), the client, the email domains (host names, lower case, none
   claimed by another organization), the role a person made just in time gets;
3. the provider itself, over the network through core.egress: its OpenID Connect
   discovery document, or its SAML metadata (identity.saml.load_metadata) — a
   failure is a message on that field, and nothing is saved;
then saves, records `sso.updated` (the secret as "(changed)", never its value) and
ends the acting admin's other sessions (SPEC §9.2).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from audit.record import diff, record, snapshot
from core import egress
from core.errors import Errors, one_of, too_long
from org.models import Member, Role
from org.permissions import MANAGE_SSO
from org.sessions import sessions_end_others

from . import oidc
from .models import Protocol, SSOConfig
from .selectors import claims_of

FIELDS = [
    "protocol",
    "issuer",
    "metadata_url",
    "client_id",
    "email_domains",
    "default_role",
    "jit",
    "enforced",
]
SECRET_CHANGED = "(changed)"
MAX_DOMAINS = 50
HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Roles a person made just in time may get: an admin is named by an admin, never made
# by whoever the provider lets in.
JIT_ROLES = [role for role in Role.values if role != Role.ADMIN]
# pg_advisory_xact_lock's key for "saving single sign-on settings" (any fixed number).
ADVISORY_LOCK = 0x550_C0DE
DOMAINS_REQUIRED = "List at least one email domain, such as example.com."


def normalized_domain(raw: Any) -> tuple[str | None, str | None]:
    """(the domain as stored: lower-case ASCII, IDN as punycode; or None, why not)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, "An email domain is a host name, such as example.com."
    text = raw.strip().lower().removeprefix("@").rstrip(".")
    try:
        domain = text.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(HOST_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        shown = raw.strip()[:100]
        return None, f"“{shown}” is not an email domain: write it as example.com (no “@”)."
    return domain, None


def _check_domains(errors: Errors, raw: Any, organization_id: int) -> list[str]:
    if not isinstance(raw, list | tuple) or not raw:
        errors.add("email_domains", DOMAINS_REQUIRED)
        return []
    if len(raw) > MAX_DOMAINS:
        errors.add("email_domains", f"At most {MAX_DOMAINS} email domains.")
        return []
    domains: list[str] = []
    for item in raw:
        domain, refusal = normalized_domain(item)
        if refusal is not None:
            errors.add("email_domains", refusal)
        elif domain not in domains:
            domains.append(domain)
    if domains and "email_domains" not in errors.messages:
        _check_claims(errors, domains, organization_id)
    return domains


def _check_claims(errors: Errors, domains: list[str], organization_id: int) -> None:
    """Tenancy: a domain signs people in to one organization only (one query)."""
    for other in claims_of(domains, exclude_organization_id=organization_id):
        for domain in sorted(set(domains) & {d.lower() for d in other.email_domains}):
            errors.add(
                "email_domains",
                f"{domain} already signs in to another organization on this Cascade: "
                "an email domain belongs to one organization. Ask Cascade's operators "
                "if it is yours.",
            )


def _one_writer_at_a_time(organization_id: int) -> SSOConfig | None:
    """Inside the saving transaction: wait for any other save of single sign-on
    settings to end, then the organization's settings as they are now. Two
    organizations claiming one domain at the same instant would each find it free, and
    two first saves of one organization would both insert; so on PostgreSQL every save
    takes one transaction-level advisory lock (they are rare, an admin's), and the
    checks that depend on other rows are made again under it. (On SQLite, the
    development database, there is no such lock.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
    return SSOConfig.objects.filter(organization_id=organization_id).first()


def _check_text(errors: Errors, field: str, value: Any, limit: int, required: str | None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, "Must be text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(field, required)
    elif len(value) > limit:
        errors.add(field, too_long(limit))
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        errors.add(field, "Keep it to one line: no line breaks, tabs or control characters.")
    return value


def sso_update(
    *,
    actor: Member,
    protocol: str,
    email_domains: list[str],
    issuer: str = "",
    metadata_url: str = "",
    client_id: str = "",
    client_secret: str | None = None,
    default_role: str = Role.MEMBER,
    jit: bool = True,
    enforced: bool = False,
) -> SSOConfig:
    """Set the actor's organization's single sign-on settings; ValidationError (per
    field, nothing saved) or PermissionDenied. A blank or missing `client_secret` keeps
    the one stored."""
    MANAGE_SSO.require(actor)
    organization = actor.organization
    config = SSOConfig.objects.filter(organization=organization).first()
    if config is None:
        config = SSOConfig(organization=organization)
    before = snapshot(config, FIELDS) if config.pk else {}
    errors = Errors()
    if protocol not in Protocol.values:
        errors.add("protocol", one_of(Protocol.values))
    if default_role not in JIT_ROLES:
        errors.add(
            "default_role",
            f"{one_of(JIT_ROLES)} A person signing in for the first time never starts as an admin.",
        )
    if not isinstance(jit, bool):
        errors.add("jit", "Must be true or false.")
    if not isinstance(enforced, bool):
        errors.add("enforced", "Must be true or false.")
    domains = _check_domains(errors, email_domains, organization.pk)
    secret = client_secret.strip() if isinstance(client_secret, str) else ""
    fields: dict[str, Any] = {"issuer": "", "client_id": "", "metadata_url": ""}
    if protocol == Protocol.OIDC:
        limit = SSOConfig._meta.get_field("issuer").max_length
        fields["issuer"] = _check_text(
            errors, "issuer", issuer, limit, "The issuer is required for OpenID Connect."
        )
        if fields["issuer"] and "issuer" not in errors.messages:
            refused = oidc.issuer_refusal(fields["issuer"])
            if refused:
                errors.add("issuer", refused)
        limit = SSOConfig._meta.get_field("client_id").max_length
        fields["client_id"] = _check_text(
            errors, "client_id", client_id, limit, "The client ID is required for OpenID Connect."
        )
        if len(secret) > 2000:
            errors.add("client_secret", too_long(2000))
        if not secret and not (config.pk and config.client_secret):
            errors.add("client_secret", "The client secret is required for OpenID Connect.")
    elif protocol == Protocol.SAML:
        limit = SSOConfig._meta.get_field("metadata_url").max_length
        fields["metadata_url"] = _check_text(
            errors, "metadata_url", metadata_url, limit, "The metadata URL is required for SAML."
        )
    errors.raise_if_any()
    # The provider itself: only once everything typed holds (it is a network call).
    if protocol == Protocol.OIDC:
        try:
            oidc.discover(fields["issuer"], fresh=True)
        except oidc.OidcError as exc:
            errors.add("issuer", str(exc))
    else:
        _load_saml_metadata(errors, config, fields["metadata_url"])
    errors.raise_if_any()

    config.protocol = protocol
    config.issuer, config.client_id = fields["issuer"], fields["client_id"]
    config.metadata_url = fields["metadata_url"]
    config.email_domains = domains
    config.default_role, config.jit, config.enforced = default_role, jit, enforced
    secret_changed = bool(secret) and secret != config.client_secret
    if secret:
        config.client_secret = secret
    if protocol == Protocol.SAML:
        config.client_secret = ""  # no secret of a protocol not in use is kept
    with transaction.atomic():
        now = _one_writer_at_a_time(organization.pk)
        if config.pk is None and now is not None:  # saved meanwhile: this save updates it
            config.pk, config._state.adding = now.pk, False
            before = snapshot(now, FIELDS)
        _check_claims(errors, domains, organization.pk)
        errors.raise_if_any()
        config.full_clean()
        config.save()
        changes = diff(before, snapshot(config, FIELDS))
        if secret_changed:
            changes["client_secret"] = [SECRET_CHANGED if before else None, SECRET_CHANGED]
        if changes:
            record(actor, "sso.updated", config, changes=changes)
            sessions_end_others(actor.user)
    return config


def _load_saml_metadata(errors: Errors, config: SSOConfig, url: str) -> None:
    """The IdP's metadata, read into `config` by the SAML half (identity/saml.py); its
    refusal is the metadata_url field's message."""
    try:
        from . import saml  # noqa: PLC0415 — the SAML half, written beside this one
    except ImportError:
        errors.add("metadata_url", "SAML sign-in is not installed on this Cascade.")
        return
    try:
        saml.load_metadata(config, url)
    except ValidationError as exc:
        for message in exc.messages:
            errors.add("metadata_url", message)
    except (egress.EgressError, ValueError) as exc:
        errors.add("metadata_url", str(exc))
