"""An organization's single sign-on settings (SPEC §9.1): which identity provider
signs its people in, over OpenID Connect or SAML 2.0, and what happens to a person it
vouches for whom Cascade does not know yet."""

from __future__ import annotations

from django.db import models

from core.crypto import EncryptedTextField
from org.models import Organization, Role


class Protocol(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class SSOConfig(models.Model):
    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="sso")
    protocol = models.CharField(max_length=4, choices=Protocol.choices)
    # OpenID Connect: the issuer (its discovery document is <issuer>/.well-known/
    # openid-configuration), the client Cascade is registered as, and its secret.
    issuer = models.URLField(max_length=500, blank=True, default="")
    client_id = models.CharField(max_length=300, blank=True, default="")
    client_secret = EncryptedTextField(blank=True, default="")
    # SAML: where the IdP publishes its metadata, and the copy read from there (its
    # entity id, sign-in address and signing certificates), so that a sign-in reads
    # nothing from the network.
    metadata_url = models.URLField(max_length=500, blank=True, default="")
    metadata_xml = models.TextField(blank=True, default="")
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    # Who may come in: verified emails on these domains ("example.com", lower case).
    email_domains = models.JSONField(default=list)
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    jit = models.BooleanField(
        default=True, help_text="Make a member of a person the provider vouches for."
    )
    enforced = models.BooleanField(
        default=False,
        help_text="Members sign in only through the provider (admins keep a password with MFA).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "single sign-on setting"

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} for {self.organization}"


class ScimDeprovision(models.Model):
    """A member the identity provider deleted over SCIM (DELETE /scim/v2/Users/<id>):
    deactivated, their history kept, and out of SCIM's sight from then on (a GET is a
    404, as RFC 7644 §3.6 asks) — until the provider creates the same userName again,
    which brings the member back (identity/scim/users.py)."""

    member = models.OneToOneField(
        "org.Member", on_delete=models.CASCADE, related_name="scim_deprovision"
    )
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.member_id} deprovisioned over SCIM"
