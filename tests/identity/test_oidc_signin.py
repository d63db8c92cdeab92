"""OpenID Connect sign-in against a real provider (oidc-provider, tests/identity/oidc.py):
who gets in as whom, who is made a member just in time, who is refused and how, and
that one organization's sign-in never signs anyone into another."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache

from audit.models import Entry
from identity.jit import SESSION_KEY as SSO_SESSION_KEY
from identity.models import SSOConfig
from identity.services import sso_update
from org.models import Member
from tests.factories import MemberFactory, OrganizationFactory
from tests.identity.oidc import oidc_provider, sign_in_at_provider  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fixed_clock():
    """The provider signs with the real clock, so these tests keep it (instead of the
    suite's travel to a fixed instant in 2027, which would find every token expired)."""
    yield


def configure(actor, provider, domains, **extra):
    return sso_update(
        actor=actor,
        protocol="oidc",
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        email_domains=domains,
        **extra,
    )


@pytest.fixture
def sso(acme, oidc_provider, settings):  # noqa: F811
    """Acme signs in through the provider for acme.example; alice is already a member."""
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    acme.alice = MemberFactory(
        organization=acme.org,
        user__username="alice",
        user__email="alice@acme.example",
        user__first_name="Alice",
        user__last_name="Martin",
    )
    acme.config = configure(acme.admin, oidc_provider, ["acme.example"], default_role="reviewer")
    return acme


@pytest.fixture
def globex(db, oidc_provider, settings):  # noqa: F811
    """Another organization on the same provider, for globex.example."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    org = OrganizationFactory(name="Globex")
    admin = MemberFactory(organization=org, role="admin", user__username="gus")
    configure(admin, oidc_provider, ["globex.example"])
    return org


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def provider_callback(client, slug: str, login: str) -> str:
    """Start the organization's sign-in, sign in at the provider as `login`: the
    callback address (path and query) the provider sends the browser back to."""
    start = client.get(f"/sso/{slug}/login/")
    assert start.status_code == 302, start.content
    return path_of(sign_in_at_provider(start["Location"], login))


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def test_the_sign_in_asks_for_a_code_with_pkce_s256_state_and_nonce(client, sso):
    start = client.get("/sso/acme/login/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == ["cascade"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/sso/acme/oidc/callback/"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}


def test_a_member_signs_in_through_the_provider_as_themselves(client, sso):
    answer = client.get(provider_callback(client, "acme", "alice"))
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in_user_id(client) == str(sso.alice.user_id)
    assert client.session[SSO_SESSION_KEY] == sso.org.pk
    page = client.get("/")
    assert "Alice Martin" in page.content.decode()
    entry = Entry.objects.filter(action="signin.succeeded").latest("id")
    assert entry.actor_id == sso.alice.pk and entry.organization_id == sso.org.pk


def test_the_page_asked_for_before_signing_in_is_where_the_sign_in_ends(client, sso):
    start = client.get("/sso/acme/login/?next=/people/")
    answer = client.get(path_of(sign_in_at_provider(start["Location"], "alice")))
    assert answer["Location"] == "/people/"


def test_a_next_address_on_another_site_is_ignored(client, sso):
    start = client.get("/sso/acme/login/?next=https://evil.example/")
    answer = client.get(path_of(sign_in_at_provider(start["Location"], "alice")))
    assert answer["Location"] == "/"


def test_an_unknown_person_with_a_verified_email_becomes_a_member_with_the_default_role(
    client, sso
):
    answer = client.get(provider_callback(client, "acme", "bruno"))
    assert answer.status_code == 302
    bruno = Member.objects.select_related("user").get(user__email="bruno@acme.example")
    assert bruno.organization_id == sso.org.pk and bruno.role == "reviewer"
    assert bruno.user.get_full_name() == "Bruno Diaz"
    assert not bruno.user.has_usable_password()
    assert signed_in_user_id(client) == str(bruno.user_id)
    assert Entry.objects.filter(action="member.created", object_id=str(bruno.pk)).exists()


def test_without_just_in_time_an_unknown_person_is_refused(client, sso):
    sso.config.jit = False
    sso.config.save()
    answer = client.get(provider_callback(client, "acme", "bruno"))
    assert answer.status_code == 403
    assert "not a member of Acme" in answer.content.decode()
    assert not Member.objects.filter(user__email="bruno@acme.example").exists()


def test_an_unverified_email_is_refused_with_the_refusal_page(client, sso):
    answer = client.get(provider_callback(client, "acme", "ursula"))
    assert answer.status_code == 403
    body = answer.content.decode()
    assert "has not verified ursula@acme.example" in body
    assert "You could not be signed in" in body
    assert signed_in_user_id(client) is None
    assert not Member.objects.filter(user__email="ursula@acme.example").exists()
    entry = Entry.objects.get(action="signin.sso_refused")
    assert entry.organization_id == sso.org.pk and entry.actor == "ursula@acme.example"


def test_an_unverified_email_never_links_to_an_existing_member(client, sso):
    MemberFactory(organization=sso.org, user__username="ursula", user__email="ursula@acme.example")
    answer = client.get(provider_callback(client, "acme", "ursula"))
    assert answer.status_code == 403 and signed_in_user_id(client) is None


def test_a_replayed_callback_is_a_400_and_signs_nobody_in(client, sso):
    callback = provider_callback(client, "acme", "alice")
    assert client.get(callback).status_code == 302
    client.logout()
    again = client.get(callback)
    assert again.status_code == 400
    assert "not one this browser is waiting for" in again.content.decode()
    assert signed_in_user_id(client) is None


def test_a_callback_in_another_browser_is_a_400(client, sso):
    from django.test import Client

    callback = provider_callback(client, "acme", "alice")
    other = Client()
    assert other.get(callback).status_code == 400
    assert other.session.get(SESSION_KEY) is None


def test_the_provider_refusing_is_a_400_page_and_recorded(client, sso):
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get(
        "/sso/acme/oidc/callback/",
        {"state": state, "error": "access_denied", "error_description": "The user said no"},
    )
    assert answer.status_code == 400
    assert "access_denied: The user said no" in answer.content.decode()
    entry = Entry.objects.get(action="signin.sso_failed")
    assert entry.organization_id == sso.org.pk


def test_a_code_the_provider_did_not_issue_is_refused(client, sso):
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get("/sso/acme/oidc/callback/", {"state": state, "code": "made-up"})
    assert answer.status_code == 400
    assert "refused the sign-in code (invalid_grant)" in answer.content.decode()
    assert signed_in_user_id(client) is None


# -- tenancy ------------------------------------------------------------------------------


def test_a_callback_of_one_organization_with_the_state_of_anothers_flow_signs_nobody_in(
    client, sso, globex
):
    callback = provider_callback(client, "globex", "gina")
    assert callback.startswith("/sso/globex/oidc/callback/")
    hijacked = callback.replace("/sso/globex/", "/sso/acme/")
    answer = client.get(hijacked)
    assert answer.status_code == 400
    assert signed_in_user_id(client) is None
    assert not Member.objects.filter(user__email="gina@globex.example").exists()


def test_a_person_of_another_organizations_domain_is_not_signed_in_here(client, sso, globex):
    answer = client.get(provider_callback(client, "acme", "gina"))
    assert answer.status_code == 403
    assert "not on a domain Acme signs in with" in answer.content.decode()
    assert not Member.objects.filter(user__email="gina@globex.example").exists()
    assert signed_in_user_id(client) is None


def test_the_other_organizations_provider_signs_its_own_people_into_it_only(client, sso, globex):
    answer = client.get(provider_callback(client, "globex", "gina"))
    assert answer.status_code == 302
    gina = Member.objects.get(user__email="gina@globex.example")
    assert gina.organization_id == globex.pk
    assert not Member.objects.filter(organization=sso.org, user=gina.user).exists()


def test_a_member_of_acme_is_refused_by_globexs_sign_in(client, sso, globex):
    globex.sso.email_domains = ["globex.example", "acme.example"]  # as if it claimed it
    globex.sso.save()
    answer = client.get(provider_callback(client, "globex", "alice"))
    assert answer.status_code == 403
    assert signed_in_user_id(client) is None
    assert not Member.objects.filter(organization=globex, user=sso.alice.user).exists()


def test_an_unknown_organization_address_is_a_404_page(client, db):
    assert client.get("/sso/nobody/login/").status_code == 404
    assert client.get("/sso/nobody/oidc/callback/?state=x&code=y").status_code == 400


def test_the_provider_saying_no_is_a_400_even_while_it_cannot_be_reached(client, sso):
    """A person who cancels at the provider is told so: Cascade has nothing to ask the
    provider for, so its being unreachable now is no 502."""
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    cache.clear()  # the discovery document is read again, from an address that is gone
    SSOConfig.objects.filter(pk=sso.config.pk).update(issuer="http://127.0.0.1:9")
    answer = client.get("/sso/acme/oidc/callback/", {"state": state, "error": "access_denied"})
    assert answer.status_code == 400
    assert "did not sign you in (access_denied)" in answer.content.decode()
    assert signed_in_user_id(client) is None
