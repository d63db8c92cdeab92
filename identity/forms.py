"""The Identity page's forms: the single sign-on settings (the service judges them:
identity/services.py, the same messages as the API) and "Sign in with your
organization" on the login page."""

from __future__ import annotations

import re

from django import forms

from core.forms import RuleForm
from org.models import Role

from .models import Protocol, SSOConfig
from .services import JIT_ROLES

SEPARATORS = re.compile(r"[\s,;]+")


class SSOForm(RuleForm):
    protocol = forms.ChoiceField(
        choices=Protocol.choices, widget=forms.RadioSelect, initial=Protocol.OIDC
    )
    issuer = forms.CharField(
        required=False,
        max_length=SSOConfig._meta.get_field("issuer").max_length,
        label="Issuer URL (OpenID Connect)",
        help_text="As your provider shows it, e.g. https://acme.okta.com or "
        "https://login.microsoftonline.com/<tenant id>/v2.0.",
        widget=forms.URLInput(attrs={"placeholder": "https://login.example.com"}),
    )
    client_id = forms.CharField(
        required=False,
        max_length=SSOConfig._meta.get_field("client_id").max_length,
        label="Client ID (OpenID Connect)",
    )
    client_secret = forms.CharField(
        required=False,
        max_length=2000,
        strip=False,
        label="Client secret (OpenID Connect)",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    metadata_url = forms.CharField(
        required=False,
        max_length=SSOConfig._meta.get_field("metadata_url").max_length,
        label="IdP metadata URL (SAML)",
        widget=forms.URLInput(attrs={"placeholder": "https://idp.example.com/metadata"}),
    )
    email_domains = forms.CharField(
        label="Email domains",
        help_text="Whose people sign in here, separated by commas: example.com, example.org.",
        error_messages={"required": "List at least one email domain, such as example.com."},
    )
    default_role = forms.ChoiceField(
        choices=[(role, Role(role).label) for role in JIT_ROLES],
        initial=Role.MEMBER,
        label="Role of a person made a member on first sign-in",
    )
    jit = forms.BooleanField(
        required=False,
        initial=True,
        label="Make a member of anyone your provider signs in with a verified email on "
        "these domains (just in time)",
    )
    enforced = forms.BooleanField(
        required=False,
        label="Enforce: members sign in only through the provider (admins with two-factor "
        "authentication keep their password as a way in)",
    )

    def clean_email_domains(self) -> list[str]:
        return [part for part in SEPARATORS.split(self.cleaned_data["email_domains"]) if part]


class FindOrganizationForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        max_length=254,
        error_messages={
            "required": "Enter your work email.",
            "invalid": "Enter your work email, such as you@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)
