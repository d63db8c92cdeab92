"""The single sign-on settings as `GET/PUT /api/v1/sso/` reads and writes them. The
rules are the service's (identity/services.py); here only the JSON shape. The client
secret is write-only: an answer says whether one is set, never what it is."""

from __future__ import annotations

from rest_framework import serializers

from core.api import InputSerializer
from org.models import Role

from .models import Protocol, SSOConfig
from .services import DOMAINS_REQUIRED, JIT_ROLES, MAX_DOMAINS

URL_MAX = SSOConfig._meta.get_field("issuer").max_length


class SSOSerializer(InputSerializer):
    protocol = serializers.ChoiceField(
        choices=Protocol.choices,
        allow_null=True,
        help_text="oidc (OpenID Connect) or saml (SAML 2.0); null until set.",
    )
    issuer = serializers.CharField(
        max_length=URL_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="OpenID Connect: the provider's issuer (https://…), whose discovery "
        "document Cascade reads when the settings are saved.",
    )
    metadata_url = serializers.CharField(
        max_length=URL_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="SAML: where the identity provider publishes its metadata.",
    )
    client_id = serializers.CharField(
        max_length=SSOConfig._meta.get_field("client_id").max_length,
        required=False,
        allow_blank=True,
        default="",
        help_text="OpenID Connect: the client ID Cascade is registered with.",
    )
    client_secret = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="OpenID Connect: the client secret. Write-only; leave it out (or blank) "
        "to keep the one set.",
    )
    client_secret_set = serializers.BooleanField(
        read_only=True, help_text="Whether a client secret is stored."
    )
    email_domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        max_length=MAX_DOMAINS,
        help_text="Email domains whose people sign in through this provider (example.com).",
    )
    default_role = serializers.ChoiceField(
        choices=[(role, Role(role).label) for role in JIT_ROLES],
        default=Role.MEMBER,
        help_text="The role of a person made a member just in time.",
    )
    jit = serializers.BooleanField(
        default=True,
        help_text="Make a member of an unknown person with a verified email on a domain.",
    )
    enforced = serializers.BooleanField(
        default=False,
        help_text="Members may not sign in with a password (admins with MFA still may).",
    )
    login_url = serializers.CharField(read_only=True, help_text="Where a sign-in starts.")
    redirect_uri = serializers.CharField(
        read_only=True, help_text="OpenID Connect: the redirect URI to register at the provider."
    )
    acs_url = serializers.CharField(
        read_only=True, help_text="SAML: the assertion consumer service (ACS) URL."
    )
    metadata_url_sp = serializers.CharField(
        read_only=True, help_text="SAML: Cascade's service provider metadata (its entity id)."
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def validate_protocol(self, value):
        if value is None:
            raise serializers.ValidationError("Choose oidc or saml.")
        return value


class SSOUpdateSerializer(SSOSerializer):
    """What PUT takes: a protocol (never null), at least one email domain."""

    protocol = serializers.ChoiceField(
        choices=Protocol.choices,
        help_text="oidc (OpenID Connect) or saml (SAML 2.0).",
        error_messages={"null": "Choose oidc or saml."},
    )
    email_domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        min_length=1,
        max_length=MAX_DOMAINS,
        error_messages={"min_length": DOMAINS_REQUIRED, "empty": DOMAINS_REQUIRED},
        help_text="Email domains whose people sign in through this provider (example.com).",
    )
