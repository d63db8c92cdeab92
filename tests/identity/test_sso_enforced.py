"""Enforced single sign-on (SPEC §9.1) and the Identity page.

Enforced: a member of the organization signs in only through its identity provider —
the login page and `POST /api/v1/auth/token/` refuse the password, with a message that
leads to "Sign in with your organization", whether the password was right or not.
Break-glass: an admin with a confirmed authenticator still signs in with the password,
then the code. The Identity page is the admins' (its settings are the service's, as
the API's are)."""

from __future__ import annotations

import re
import socket
from types import SimpleNamespace

import pytest
from django.contrib.auth import SESSION_KEY
from rest_framework.test import APIClient

from audit.models import Entry
from identity.enforcement import SIGN_IN_WITH_ORGANIZATION
from identity.models import SSOConfig
from org.models import ApiToken
from tests.conftest import AnswerClient
from tests.factories import MemberFactory, OrganizationFactory
from tests.identity.oidc import oidc_provider  # noqa: F401

from .mfa_helpers import code_for, enrol

pytestmark = pytest.mark.django_db

PASSWORD = "pw-cascade-test"  # every factory-made user's password
LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
ENFORCED = "Acme signs in through its identity provider: use “Sign in with your organization”"


def enforce(organization, *, enforced: bool = True, domain: str = "acme.example") -> SSOConfig:
    """Single sign-on for `domain`, enforced (a row: the provider is not asked)."""
    config, _ = SSOConfig.objects.update_or_create(
        organization=organization,
        defaults={
            "protocol": "oidc",
            "issuer": "https://login.acme.example",
            "client_id": "cascade",
            "client_secret": "secret",
            "email_domains": [domain],
            "enforced": enforced,
        },
    )
    return config


def password_sign_in(member, password: str = PASSWORD) -> AnswerClient:
    client = AnswerClient()
    client.answer = client.post(
        LOGIN, {"username": member.user.username, "password": password, "next": "/"}
    )
    return client


def signed_in_as(client) -> str | None:
    return client.session.get(SESSION_KEY)


# -- refused: the login page and the token endpoint ---------------------------------------


@pytest.mark.parametrize("role", ["member", "manager", "leader", "reviewer"])
@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
def test_a_members_password_is_refused_on_the_login_page_right_or_wrong(acme, role, password):
    enforce(acme.org)
    member = getattr(acme, role)
    client = password_sign_in(member, password)
    answer = client.answer
    assert answer.status_code == 200  # the login page again, with the reason
    html = answer.content.decode()
    assert ENFORCED in html
    assert f'<button type="submit" class="secondary">{SIGN_IN_WITH_ORGANIZATION}</button>' in html
    assert "Please enter a correct username and password" not in html
    assert signed_in_as(client) is None
    entry = Entry.objects.filter(action="signin.refused").latest("id")
    assert entry.actor_id == member.pk and ENFORCED in entry.changes["reason"][1]


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
def test_a_members_password_is_refused_at_the_token_endpoint(acme, password):
    enforce(acme.org)
    answer = APIClient().post(TOKEN, {"username": "sam", "password": password}, format="json")
    assert answer.status_code == 403
    assert ENFORCED in answer.json()["detail"]
    assert not ApiToken.objects.exists()


def test_an_admin_without_an_authenticator_is_refused_too(acme):
    enforce(acme.org)
    client = password_sign_in(acme.admin)
    assert ENFORCED in client.answer.content.decode()
    assert signed_in_as(client) is None


def test_without_enforcement_the_password_still_signs_members_in(acme):
    enforce(acme.org, enforced=False)
    client = password_sign_in(acme.member)
    assert client.answer.status_code == 302
    assert signed_in_as(client) == str(acme.member.user_id)
    token = APIClient().post(TOKEN, {"username": "sam", "password": PASSWORD}, format="json")
    assert token.status_code == 200


def test_another_organizations_enforcement_leaves_these_members_alone(acme):
    enforce(OrganizationFactory(name="Globex"), domain="globex.example")
    client = password_sign_in(acme.member)
    assert client.answer.status_code == 302
    assert signed_in_as(client) == str(acme.member.user_id)


def test_an_unknown_username_is_answered_as_a_wrong_password_is(acme):
    enforce(acme.org)
    answer = AnswerClient().post(LOGIN, {"username": "nobody", "password": PASSWORD})
    html = answer.content.decode()
    assert ENFORCED not in html and "signs in through its identity provider" not in html


# -- break-glass -----------------------------------------------------------------------------


def test_an_admin_with_an_authenticator_signs_in_with_password_and_code(acme):
    enforce(acme.org)
    device, _codes = enrol(acme.admin.user)
    client = password_sign_in(acme.admin)
    assert client.answer.status_code == 302
    assert signed_in_as(client) == str(acme.admin.user_id)
    # The password alone reaches nothing: the code first.
    assert client.get("/identity/")["Location"].startswith("/mfa/verify/")
    verified = client.post("/mfa/verify/", {"code": code_for(device), "next": "/identity/"})
    assert verified.status_code == 302 and verified["Location"] == "/identity/"
    assert client.get("/identity/").status_code == 200


def test_an_admins_unconfirmed_authenticator_is_no_way_in(acme):
    enforce(acme.org)
    device, _codes = enrol(acme.admin.user)
    device.confirmed = False
    device.save()
    acme.admin.user.staticdevice_set.all().delete()
    client = password_sign_in(acme.admin)
    assert ENFORCED in client.answer.content.decode()
    assert signed_in_as(client) is None


def test_a_member_with_an_authenticator_is_still_refused(acme):
    enforce(acme.org)
    enrol(acme.member.user)
    client = password_sign_in(acme.member)
    assert ENFORCED in client.answer.content.decode()
    assert signed_in_as(client) is None


def test_the_token_endpoint_asks_no_code_so_it_is_no_break_glass(acme):
    enforce(acme.org)
    enrol(acme.admin.user)
    answer = APIClient().post(TOKEN, {"username": "ada", "password": PASSWORD}, format="json")
    assert answer.status_code == 403
    assert ENFORCED in answer.json()["detail"]
    assert not ApiToken.objects.exists()


# -- the Identity page ------------------------------------------------------------------------


def admin_page(acme, client):
    client.force_login(acme.admin.user)
    return client


def form_data(provider, **changes) -> dict:
    return {
        "protocol": "oidc",
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "metadata_url": "",
        "email_domains": "acme.example, acme.example.org",
        "default_role": "member",
        "jit": "on",
    } | changes


def test_the_identity_page_shows_the_addresses_to_paste(acme, client):
    page = admin_page(acme, client).get("/identity/")
    assert page.status_code == 200
    html = page.content.decode()
    for path in ("/sso/acme/login/", "/sso/acme/oidc/callback/", "/sso/acme/saml/acs/"):
        assert f"http://127.0.0.1:8000{path}" in html
    assert "Not set up" in html


def test_an_admin_saves_the_settings_on_the_identity_page(acme, client, oidc_provider, settings):  # noqa: F811
    settings.OUTBOUND_ALLOW_PRIVATE = True
    admin = admin_page(acme, client)
    saved = admin.post("/identity/", form_data(oidc_provider, enforced="on"))
    assert saved.status_code == 302 and saved["Location"] == "/identity/"
    config = SSOConfig.objects.get(organization=acme.org)
    assert config.email_domains == ["acme.example", "acme.example.org"]
    assert config.enforced and config.client_secret == oidc_provider.client_secret
    page = admin.get("/identity/")
    html = page.content.decode()
    assert "Single sign-on settings saved." in html
    assert "A client secret is stored" in html
    assert oidc_provider.client_secret not in html
    assert Entry.objects.filter(action="sso.updated", actor_id=acme.admin.pk).exists()


def test_an_issuer_that_does_not_answer_is_said_beside_its_field_and_nothing_is_saved(
    acme, client, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there
    sent = {"issuer": nobody, "client_id": "c", "client_secret": "s"}
    answer = admin_page(acme, client).post(
        "/identity/", form_data(SimpleNamespace(**sent), enforced="on")
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    error = re.search(r'<p class="field-error" id="id_issuer_error" role="alert">([^<]+)<', html)
    assert error and error.group(1).startswith(
        f"Could not read the discovery document at {nobody}/.well-known/openid-configuration"
    )
    assert 'aria-invalid="true"' in html and f'value="{nobody}"' in html
    assert 'name="enforced" id="id_enforced" checked' in html  # what was typed stays
    assert not SSOConfig.objects.exists()


def test_bad_fields_are_each_said_in_place_and_nothing_is_saved(acme, client):
    answer = admin_page(acme, client).post(
        "/identity/",
        {
            "protocol": "oidc",
            "issuer": "http://login.example.com",
            "client_id": "",
            "email_domains": "not a domain!, globex",
            "default_role": "admin",
        },
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Must be one of: leader, manager, reviewer, member." in html
    assert not SSOConfig.objects.exists()
    valid_role = admin_page(acme, client).post(
        "/identity/",
        {
            "protocol": "oidc",
            "issuer": "http://login.example.com",
            "client_id": "",
            "email_domains": "globex",
            "default_role": "member",
        },
    )
    html = valid_role.content.decode()
    assert valid_role.status_code == 400
    assert "The issuer must be an https:// address" in html
    assert "The client ID is required for OpenID Connect." in html
    assert "The client secret is required for OpenID Connect." in html
    assert "“globex” is not an email domain" in html
    assert not SSOConfig.objects.exists()


def test_a_domain_of_another_organization_is_refused_on_the_page(acme, client):
    enforce(OrganizationFactory(name="Globex"))  # claims acme.example
    answer = admin_page(acme, client).post(
        "/identity/",
        {
            "protocol": "oidc",
            "issuer": "https://login.example.com",
            "client_id": "c",
            "client_secret": "s",
            "email_domains": "acme.example",
            "default_role": "member",
        },
    )
    assert answer.status_code == 400
    assert "acme.example already signs in to another organization" in answer.content.decode()
    assert not SSOConfig.objects.filter(organization=acme.org).exists()


@pytest.mark.parametrize("role", ["leader", "manager", "reviewer", "member"])
def test_the_identity_page_is_refused_to_non_admins(acme, client, role):
    config = enforce(acme.org, enforced=False)
    client.force_login(getattr(acme, role).user)
    assert client.get("/identity/").status_code == 403
    posted = client.post(
        "/identity/",
        {"protocol": "oidc", "email_domains": "evil.example", "default_role": "member"},
    )
    assert posted.status_code == 403
    config.refresh_from_db()
    assert config.email_domains == ["acme.example"] and not config.enforced


def test_the_identity_page_asks_anonymous_visitors_to_sign_in(client, db):
    answer = client.get("/identity/")
    assert answer.status_code == 302 and answer["Location"].startswith(LOGIN)


def test_another_organizations_admin_sees_only_their_own_settings(acme, client):
    enforce(acme.org)
    globex = OrganizationFactory(name="Globex")
    gus = MemberFactory(organization=globex, role="admin", user__username="gus")
    client.force_login(gus.user)
    html = client.get("/identity/").content.decode()
    assert "acme.example" not in html and "Not set up" in html
    assert f"/sso/{globex.slug}/login/" in html and "/sso/acme/" not in html


@pytest.mark.parametrize("others", [1, 20])
def test_the_identity_page_costs_the_same_queries_at_any_size(
    acme, client, django_assert_max_num_queries, others
):
    enforce(acme.org)
    for n in range(others):
        MemberFactory(organization=acme.org, user__username=f"extra{n}")
        enforce(OrganizationFactory(name=f"Other {n}"), domain=f"o{n}.example")
    admin_page(acme, client)
    client.get("/identity/")  # the session's first page warms what it keeps
    with django_assert_max_num_queries(12):
        assert client.get("/identity/").status_code == 200


@pytest.mark.parametrize("others", [1, 20])
def test_a_refused_password_sign_in_costs_the_same_queries_at_any_size(
    acme, django_assert_max_num_queries, others
):
    enforce(acme.org)
    for n in range(others):
        MemberFactory(organization=acme.org, user__username=f"extra{n}")
    with django_assert_max_num_queries(25):
        client = password_sign_in(acme.member)
    assert ENFORCED in client.answer.content.decode()
