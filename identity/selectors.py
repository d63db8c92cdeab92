"""Reading single sign-on settings: an organization's, the one a work email's domain
leads to, and the addresses an admin pastes into the identity provider."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from org.models import Organization

from .jit import email_domain
from .models import Protocol, SSOConfig


def sso_of(organization_id: int) -> SSOConfig | None:
    """The organization's settings, if it has any (one query)."""
    return (
        SSOConfig.objects.select_related("organization")
        .filter(organization_id=organization_id)
        .first()
    )


def sso_by_slug(slug: str) -> SSOConfig | None:
    """The settings behind /sso/<slug>/ (one query); None for an unknown slug."""
    return SSOConfig.objects.select_related("organization").filter(organization__slug=slug).first()


def claims_of(domains: list[str], *, exclude_organization_id: int | None = None) -> list[SSOConfig]:
    """The settings (of organizations other than the one excluded) that sign in people
    of any of these domains (one query). The JSON list is matched as text, which every
    database can, then checked exactly."""
    wanted = {domain.lower() for domain in domains}
    if not wanted:
        return []
    query = SSOConfig.objects.select_related("organization")
    if exclude_organization_id is not None:
        query = query.exclude(organization_id=exclude_organization_id)
    text_match = Q()
    for domain in sorted(wanted):
        text_match |= Q(email_domains__icontains=f'"{domain}"')
    found = query.filter(text_match).order_by("pk")
    return [config for config in found if wanted & {d.lower() for d in config.email_domains}]


def sso_for_email(email: str) -> SSOConfig | None:
    """The settings whose email domains hold this address's domain, if exactly one
    organization's do (a domain is never claimed twice: identity/services.py)."""
    domain = email_domain(email)
    if not domain:
        return None
    found = claims_of([domain])
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Addresses:
    """What an admin pastes into the identity provider, and the sign-in address."""

    login_url: str
    redirect_uri: str  # OpenID Connect: the callback
    acs_url: str  # SAML: the assertion consumer service
    metadata_url_sp: str  # SAML: Cascade's service provider metadata


def _address(name: str, slug: str, fallback: str) -> str:
    try:
        path = reverse(name, args=[slug])
    except NoReverseMatch:  # that protocol's pages are not installed
        path = fallback.format(slug=slug)
    return settings.SITE_URL + path


def addresses(organization: Organization) -> Addresses:
    slug = organization.slug
    return Addresses(
        login_url=_address("identity:sso-login", slug, "/sso/{slug}/login/"),
        redirect_uri=_address("identity:oidc-callback", slug, "/sso/{slug}/oidc/callback/"),
        acs_url=_address("identity:saml-acs", slug, "/sso/{slug}/saml/acs/"),
        metadata_url_sp=_address("identity:saml-metadata", slug, "/sso/{slug}/saml/metadata/"),
    )


def is_saml(config: SSOConfig | None) -> bool:
    return config is not None and config.protocol == Protocol.SAML
