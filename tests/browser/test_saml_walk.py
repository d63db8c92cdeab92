"""SAML 2.0 single sign-on in Chromium, through a real IdP (SimpleSAMLphp,
tests/identity/saml_idp.py): from Cascade's login page, "Sign in with your
organization" with a work email, the IdP's own login form, and back in Cascade as the
right member, with no error in any page's console."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from audit.models import Entry
from tests.identity.saml_idp import KNOWN, idp_clock, saml_idp  # noqa: F401  (fixtures)
from tests.identity.test_saml import saml_config

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def saml_acme(acme, saml_idp, idp_clock, settings, live_server):  # noqa: F811
    """Acme signs in with SAML through the test IdP, its SP at the live server; sam
    is sam@acme.test there and at the IdP."""
    settings.SITE_URL = live_server.url
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the IdP's metadata is on 127.0.0.1
    acme.member.user.email = KNOWN.email
    acme.member.user.save()
    acme.config = saml_config(acme.org, saml_idp)
    acme.idp = saml_idp
    return acme


def test_a_member_signs_in_through_the_organizations_saml_idp(
    saml_acme, page, live_server, snap, axe
):
    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    acs_posts = []
    page.on(
        "request",
        lambda request: (
            acs_posts.append(request.url)
            if request.method == "POST" and "/saml/acs/" in request.url
            else None
        ),
    )
    member = saml_acme.member

    page.goto(f"{live_server.url}/accounts/login/")
    sso = page.get_by_role("region", name="Sign in with your organization")
    sso.get_by_label("Work email").fill(KNOWN.email)
    snap("login-page")
    sso.get_by_role("button", name="Sign in with your organization").click()

    expect(page.get_by_role("heading", name="Sign in with Acme")).to_be_visible()
    axe("found")
    page.get_by_role("link", name="Continue to Acme's sign-in").click()

    # The IdP's own login form, on its own origin.
    page.wait_for_url(re.compile(re.escape(saml_acme.idp.url) + r"/.*loginuserpass"))
    page.get_by_label("Username").fill(KNOWN.username)
    page.get_by_label("Password").fill(KNOWN.password)
    snap("idp-login-form")
    # Cascade's "Signing you in" page, which the IdP's answer opens, posts itself on at
    # once with its script: the script is held back until the page is checked.
    held = []
    page.route("**/identity/saml-continue.js", lambda route: held.append(route))
    page.locator("#submit_button").click()
    expect(page.get_by_role("heading", name="Signing you in to Acme")).to_be_visible(timeout=20_000)
    axe("signing in")
    for route in held:
        route.continue_()

    # The IdP posts its signed answer to the ACS; Cascade takes it and goes home.
    page.wait_for_url(f"{live_server.url}/", timeout=20_000)
    expect(page.locator(".me")).to_contain_text(member.display_name)
    expect(page.locator(".me")).to_contain_text("Member")
    snap("signed-in")

    assert acs_posts and set(acs_posts) == {f"{live_server.url}/sso/acme/saml/acs/"}
    signed_in = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(member.user.pk) in signed_in
    entry = Entry.objects.get(action="signin.succeeded")
    assert entry.organization_id == saml_acme.org.pk and entry.object_id == str(member.pk)
    assert problems == []
