"""SPEC §8.2 and §9.2 service tokens on the People page: an admin makes one — a scope
(read, write, admin or scim, each explained in a line) and a last day (90 days ahead unless
changed, at most a year) — and sees its key once; bad input shows the form again, the
reason beside its field, and makes nothing; revoking asks first and stops the key; a
token that stopped with its maker says so; nobody else may do any of it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from org.models import ApiToken, Member
from org.services import member_update
from org.tokens import service_token_create

from ..factories import MemberFactory
from .helpers import field_errors, parse

pytestmark = pytest.mark.django_db


def form(**fields) -> dict:
    return {f"token-{name}": value for name, value in fields.items()}


def test_an_admin_makes_a_token_and_sees_its_key_once(client, acme):
    client.force_login(acme.admin.user)
    response = client.post(
        "/people/tokens/", form(name="Nightly BI sync", scope="write", expires_on="2027-12-31")
    )
    assert response.status_code == 200
    key = parse(response).find(id="new-key").text.strip()
    token = ApiToken.objects.get(organization=acme.org)
    assert key.startswith(token.token_key) and key != token.digest
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get("/api/v1/goals/").status_code == 200
    again = client.get("/people/")
    assert key not in again.content.decode()  # never shown again
    assert "<title>People · Cascade</title>" in again.content.decode()
    row = parse(again).find(id=f"token-{token.pk}")
    assert "Nightly BI sync" in row.text and "2027-12-31" in row.text  # works through it


def test_a_bad_token_form_says_why_and_makes_nothing(client, acme):
    client.force_login(acme.admin.user)
    response = client.post("/people/tokens/", form(name="", scope="write", expires_on="2020-01-01"))
    assert response.status_code == 400
    page = parse(response)
    assert field_errors(page, "id_token-name")
    assert page.find(id="new-key") is None
    assert not ApiToken.objects.exists()


def test_revoking_asks_first_and_the_key_stops_working(client, acme):
    token, key = service_token_create(actor=acme.admin, name="Old sync")
    client.force_login(acme.admin.user)
    page = client.get("/people/").content.decode()
    assert 'hx-confirm="Revoke “Old sync”?' in page
    response = client.post(f"/people/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert "revoked" in client.get(response["Location"]).content.decode()
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get("/api/v1/goals/").status_code == 401


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_others_may_neither_make_nor_revoke_tokens(client, acme, role):
    token, _ = service_token_create(actor=acme.admin, name="Sync")
    client.force_login(getattr(acme, role).user)
    assert client.post("/people/tokens/", form(name="Mine", scope="write")).status_code == 403
    assert client.post(f"/people/tokens/{token.pk}/revoke/").status_code == 403
    assert list(ApiToken.objects.all()) == [token]


def test_another_organizations_token_cannot_be_revoked(client, acme, outsider):
    token, _ = service_token_create(actor=outsider, name="Their sync")
    client.force_login(acme.admin.user)
    assert client.post(f"/people/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_form_explains_each_scope_and_offers_90_days_at_most_a_year(client, acme):
    client.force_login(acme.admin.user)
    page = parse(client.get("/people/"))
    scope = page.find(id="id_token-scope")
    options = {o.attrs["value"]: o.text for o in scope.iter() if o.tag == "option"}
    assert list(options) == ["read", "write", "admin", "scim"]
    assert "changes nothing" in options["read"]
    assert "no tokens, people or webhooks" in options["write"]
    assert "while you are an admin" in options["admin"]
    last_day = page.find(id="id_token-expires_on")
    assert (last_day.attrs["value"], last_day.attrs["max"]) == ("2027-06-13", "2028-03-14")


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"expires_on": "2028-03-15"}, "expires_on", "up to 2028-03-14"),
        ({"expires_on": "9999-12-31"}, "expires_on", "between 2000-01-01 and 2100-12-31"),
        ({"expires_on": "2027-03-15"}, "expires_on", "after today"),
        ({"scope": "root"}, "scope", "read, write, admin, scim"),
    ],
)
def test_a_bad_scope_or_last_day_is_refused_beside_its_field(client, acme, fields, field, reason):
    client.force_login(acme.admin.user)
    response = client.post("/people/tokens/", form(**{"name": "Sync", "scope": "read", **fields}))
    assert response.status_code == 400
    page = parse(response)
    assert reason in field_errors(page, f"id_token-{field}")
    assert page.find(id="new-key") is None
    assert not ApiToken.objects.exists()


def test_an_admin_token_made_on_the_page_may_make_tokens(client, acme):
    client.force_login(acme.admin.user)
    response = client.post("/people/tokens/", form(name="Provisioning", scope="admin"))
    key = parse(response).find(id="new-key").text.strip()
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    made = caller.post("/api/v1/tokens/", {"name": "Made by a token"}, format="json")
    assert made.status_code == 201, made.content


def test_a_token_whose_maker_is_deactivated_shows_that_it_stopped(client, acme):
    token, _ = service_token_create(actor=acme.admin, name="Sync")
    boss = MemberFactory(organization=acme.org, role="admin", user__username="bo")
    member_update(actor=boss, member=Member.objects.get(pk=acme.admin.pk), is_active=False)
    client.force_login(boss.user)
    row = parse(client.get("/people/")).find(id=f"token-{token.pk}")
    assert "Stopped: its maker is deactivated." in row.text
