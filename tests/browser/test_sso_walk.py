"""SPEC §9.1 in the browser, through a real OpenID provider (oidc-provider: its own
login form and consent page): an admin sets up single sign-on on the Identity page;
a member starts on the login page with "Sign in with your organization", signs in at
the provider and lands in Cascade as themselves; a person of the domain Cascade does
not know yet is made a member just in time, with the default role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from identity.models import SSOConfig
from org.models import Member
from tests.factories import MemberFactory
from tests.identity.oidc import oidc_provider  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-cascade-test"  # every factory-made user's password


@pytest.fixture(autouse=True)
def _fixed_clock():
    """The provider signs with the real clock: keep it (no travel to 2027)."""
    yield


# A page answered "not like that" (a form with its errors, 400) or "not you" (the
# refusal page, 403) keeps its status, which Chromium notes in the console.
STATUS_NOTES = {
    f"Failed to load resource: the server responded with a status of {status}"
    for status in ("400 (Bad Request)", "403 (Forbidden)")
}


@pytest.fixture
def console(page, live_server):
    """Cascade's pages' console errors, uncaught exceptions and server errors (the
    provider's own pages are not Cascade's to answer for)."""
    errors: list[str] = []

    def seen(message):
        where = message.location.get("url", "")
        ours = where.startswith(live_server.url)
        if message.type == "error" and ours and message.text not in STATUS_NOTES:
            errors.append(f"{where}: {message.text}")

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return errors


@pytest.fixture
def walk(acme, oidc_provider, live_server, settings):  # noqa: F811
    """The provider sends people back to this live server; alice is a member already."""
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    settings.SITE_URL = live_server.url
    acme.alice = MemberFactory(
        organization=acme.org,
        user__username="alice",
        user__email="alice@acme.example",
        user__first_name="Alice",
        user__last_name="Martin",
    )
    return acme


def sign_in_at_the_provider(page, login: str) -> None:
    """The provider's own pages: its login form (any password), then its consent
    (asked each time here: every walk's browser is new to the provider)."""
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any password")
    page.locator('button[type="submit"]').click()
    page.get_by_role("button", name=re.compile("Continue", re.I)).click()


def set_up_single_sign_on(page, live_server, provider, snap, axe) -> None:
    """Ada, the admin, signs in with her password and fills in the Identity page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{live_server.url}/people/")
    axe("people page")
    page.get_by_role("link", name=re.compile("Identity")).click()
    expect(page.get_by_role("heading", name="Identity", exact=True)).to_be_visible()
    axe("identity page")
    expect(page.locator("#redirect-uri")).to_have_text(f"{live_server.url}/sso/acme/oidc/callback/")
    page.get_by_role("radio", name="OpenID Connect").check()
    page.get_by_label("Issuer URL (OpenID Connect)").fill(provider.issuer)
    page.get_by_label("Client ID (OpenID Connect)").fill(provider.client_id)
    page.get_by_label("Client secret (OpenID Connect)").fill("")
    page.get_by_label("Email domains").fill("acme.example")
    page.get_by_role("button", name="Save single sign-on settings").click()
    # No secret yet: said beside its field, what was typed kept.
    expect(page.locator("#id_client_secret_error")).to_have_text(
        "The client secret is required for OpenID Connect."
    )
    expect(page.get_by_label("Issuer URL (OpenID Connect)")).to_have_value(provider.issuer)
    snap("identity-error")
    page.get_by_label("Client secret (OpenID Connect)").fill(provider.client_secret)
    page.get_by_label("Role of a person made a member on first sign-in").select_option("reviewer")
    page.get_by_role("button", name="Save single sign-on settings").click()
    expect(page.get_by_text("Single sign-on settings saved.")).to_be_visible()
    secret = page.locator(".field", has=page.get_by_label("Client secret (OpenID Connect)"))
    expect(secret).to_contain_text("A client secret is stored: leave the field blank to keep it.")
    snap("identity-saved")
    page.context.clear_cookies()


def test_a_member_signs_in_through_the_organizations_provider_and_a_newcomer_joins(
    walk,
    oidc_provider,  # noqa: F811
    page,
    live_server,
    snap,
    axe,
    console,
):
    set_up_single_sign_on(page, live_server, oidc_provider, snap, axe)
    config = SSOConfig.objects.get(organization=walk.org)
    assert config.issuer == oidc_provider.issuer and config.default_role == "reviewer"

    # Alice, a member: the login page, her work email, the provider, back in Cascade.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Work email").fill("alice@acme.example")
    snap("login")
    page.get_by_role("button", name="Sign in with your organization").click()
    expect(page.get_by_role("heading", name="Sign in with Acme")).to_be_visible()
    snap("found")
    page.get_by_role("link", name="Continue to Acme's sign-in").click()
    page.wait_for_url(re.compile(re.escape(oidc_provider.issuer)))
    sign_in_at_the_provider(page, "alice")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_text("Alice Martin").first).to_be_visible()
    snap("alice-home")

    # Bruno: nobody Cascade knows, on acme.example: made a member on the way in.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/sso/acme/login/")
    sign_in_at_the_provider(page, "bruno")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_text("Bruno Diaz").first).to_be_visible()
    snap("bruno-home")
    bruno = Member.objects.select_related("user").get(user__email="bruno@acme.example")
    assert bruno.organization_id == walk.org.pk and bruno.role == "reviewer"

    # Ursula's address is not verified by the provider: refused, with what to do.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/sso/acme/login/")
    sign_in_at_the_provider(page, "ursula")
    expect(page.get_by_role("heading", name="You could not be signed in")).to_be_visible()
    expect(page.get_by_text("has not verified ursula@acme.example")).to_be_visible()
    snap("refused")
    assert not Member.objects.filter(user__email="ursula@acme.example").exists()
    assert console == []


def test_with_single_sign_on_enforced_the_password_leads_to_the_organizations_sign_in(
    walk,
    oidc_provider,  # noqa: F811
    page,
    live_server,
    snap,
    axe,
    console,
):
    SSOConfig.objects.create(
        organization=walk.org,
        protocol="oidc",
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
        email_domains=["acme.example"],
        enforced=True,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Acme signs in through its identity provider")
    snap("enforced")
    page.get_by_label("Work email").fill("alice@acme.example")
    page.get_by_role("button", name="Sign in with your organization").click()
    expect(page.get_by_role("heading", name="Sign in with Acme")).to_be_visible()
    axe("found")
    page.get_by_role("link", name="Continue to Acme's sign-in").click()
    sign_in_at_the_provider(page, "alice")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_text("Alice Martin").first).to_be_visible()
    assert console == []
