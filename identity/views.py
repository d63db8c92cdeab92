"""Single sign-on pages:

- `/identity/`: the Identity page (admins): the addresses to paste into the identity
  provider and the settings form (identity/services.py judges it, as it does the API),
  then the two-factor policy (identity/mfa_views.py's section).
- `/sso/`: "Sign in with your organization": a work email finds the organization by
  its email domain and leads to its sign-in address.
- `/sso/<slug>/login/`: starts the organization's sign-in, OpenID Connect here
  (identity/oidc.py) or SAML (identity/saml.py).
- `/sso/<slug>/oidc/callback/`: the provider sends the person back here. A callback
  that is not one of ours is a 400 page; a refusal (the provider's, or Cascade's:
  identity/jit.py) a page saying what to do; never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from core.forms import save_form
from org.decorators import member_required
from org.permissions import MANAGE_SSO

from . import jit, oidc
from .forms import FindOrganizationForm, SSOForm
from .models import Protocol, SSOConfig
from .selectors import addresses, sso_by_slug, sso_for_email, sso_of
from .services import sso_update

MFA_SECTION = "identity/_mfa_policy.html"  # the two-factor policy's part of the page
SECRET_STORED = "A client secret is stored: leave the field blank to keep it."
NO_SSO_HERE = "No organization signs in with single sign-on at this address: check the link."


def _initial(config: SSOConfig | None) -> dict:
    if config is None:
        return {}
    return {
        "protocol": config.protocol,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "metadata_url": config.metadata_url,
        "email_domains": ", ".join(config.email_domains),
        "default_role": config.default_role,
        "jit": config.jit,
        "enforced": config.enforced,
    }


def _has_template(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def identity_page(request: HttpRequest) -> HttpResponse:
    member = request.member
    MANAGE_SSO.require(member)
    config = sso_of(member.organization_id)
    form = SSOForm(request.POST or None, initial=_initial(config))
    secret_set = bool(config and config.client_secret)
    if secret_set:  # said beside the field it is about
        form.fields["client_secret"].help_text = SECRET_STORED
        form.fields["client_secret"].widget.attrs["placeholder"] = "(stored)"
    if request.method == "POST":
        saved = save_form(form, lambda data: sso_update(actor=member, **data))
        if saved is not None:
            messages.success(request, "Single sign-on settings saved.")
            return redirect("identity:identity")
    context = {
        "nav": "people",
        "form": form,
        "config": config,
        "addresses": addresses(member.organization),
        "secret_set": secret_set,
        "mfa_section": _has_template(MFA_SECTION),
    }
    return render(request, "identity/identity.html", context, status=400 if form.errors else 200)


def _next(request: HttpRequest, raw: str) -> str:
    """A page of this site to land on after signing in, else nothing."""
    if raw and url_has_allowed_host_and_scheme(
        raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return raw
    return ""


@require_http_methods(["GET", "HEAD", "POST"])
def find_organization(request: HttpRequest) -> HttpResponse:
    """A work email → its organization's sign-in. Found: a page leading there (a form
    may not redirect to another site under the CSP's form-action, so a link does)."""
    data = request.POST if request.method == "POST" else None
    form = FindOrganizationForm(data, initial={"next": request.GET.get("next", "")})
    if form.is_valid():
        config = sso_for_email(form.cleaned_data["email"])
        if config is not None:
            login_url = reverse("identity:sso-login", args=[config.organization.slug])
            after = _next(request, form.cleaned_data["next"])
            if after:
                login_url += "?" + urlencode({"next": after})
            context = {"organization": config.organization, "login_url": login_url}
            return render(request, "identity/sso_found.html", context)
        domain = jit.email_domain(form.cleaned_data["email"])
        form.add_error(
            "email",
            f"No organization signs in with single sign-on for {domain}: sign in with your "
            "username and password, or ask your IT for your organization's sign-in address.",
        )
    status = 400 if form.errors else 200
    return render(request, "identity/sso_find.html", {"form": form}, status=status)


def _failed(request: HttpRequest, config: SSOConfig, error: oidc.OidcError) -> HttpResponse:
    """The page for a sign-in that could not go on (400, or 502: no answer)."""
    context = {
        "organization": config.organization,
        "message": str(error),
        "login_url": reverse("identity:sso-login", args=[config.organization.slug]),
    }
    return render(request, "identity/sso_error.html", context, status=error.status)


@require_GET
def sso_login(request: HttpRequest, slug: str) -> HttpResponse:
    """Start the organization's sign-in at its identity provider."""
    config = sso_by_slug(slug)
    if config is None:
        return render(request, "identity/sso_error.html", {"message": NO_SSO_HERE}, status=404)
    if config.protocol == Protocol.SAML:
        from . import saml  # noqa: PLC0415 — the SAML half, only when it is the protocol

        return saml.start(request, config)
    try:
        url = oidc.start(request, config, _next(request, request.GET.get("next", "")))
    except oidc.OidcError as exc:
        return _failed(request, config, exc)
    return HttpResponseRedirect(url)


@require_GET
def oidc_callback(request: HttpRequest, slug: str) -> HttpResponse:
    """The end of an OpenID Connect sign-in: check everything, then sign in."""
    config = sso_by_slug(slug)
    if config is None or config.protocol != Protocol.OIDC:
        return render(request, "identity/sso_error.html", {"message": NO_SSO_HERE}, status=400)
    try:
        finished = oidc.finish(request, config)
    except oidc.Malformed as exc:
        return _failed(request, config, exc)
    except oidc.OidcError as exc:
        # A sign-in this browser began, refused by the provider or by the checks.
        jit.record_failure(config, "signin.sso_failed", str(exc))
        return _failed(request, config, exc)
    person = finished.identity
    try:
        jit.sign_in(
            request,
            config,
            email=person.email,
            email_verified=person.email_verified,
            first_name=person.first_name,
            last_name=person.last_name,
        )
    except jit.Refusal as refusal:
        context = {"organization": config.organization, "reason": str(refusal)}
        return render(request, "identity/refused.html", context, status=403)
    return HttpResponseRedirect(finished.next_url or settings.LOGIN_REDIRECT_URL)
