"""SPEC §8.2 service tokens on the People page: an admin makes one and sees its key
once; bad input shows the form again and makes nothing; revoking asks first and stops
the key; nobody else may do either."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from org.models import ApiToken
from org.tokens import service_token_create

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
