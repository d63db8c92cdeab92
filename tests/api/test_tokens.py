"""SPEC §8.2 tokens: stored hashed, many per person, revocable (DELETE auth/token/ the
one in use; a password change or reset and a deactivation all of them), expiring; and
service tokens made by admins (tokens/, the People page): the key shown once, `read`
ones cannot write, expired or revoked ones are 401, and what one records names it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from kpis.models import KpiUpdate
from org.models import ApiToken
from org.tokens import service_token_create, token_issue

from ..conftest import NOW
from ..pages.helpers import parse
from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = with_key(key).get(f"{API}/me/").status_code
    assert status in (200, 401), status
    return status == 200


# ---------------------------------------------------------------- personal tokens


def test_delete_revokes_the_token_in_use_and_no_other(acme):
    _, first = token_issue(acme.member.user)
    _, second = token_issue(acme.member.user)
    assert with_key(first).delete(f"{API}/auth/token/").status_code == 204
    assert not works(first)
    assert works(second)


def test_delete_without_a_token_is_401_and_revokes_nothing(acme):
    token_issue(acme.member.user)
    client = APIClient()
    client.force_login(acme.member.user)
    with unchanged():
        assert client.delete(f"{API}/auth/token/").status_code in (401, 403)
    assert ApiToken.objects.count() == 1


def test_changing_the_password_revokes_every_token_of_that_person_only(client, acme):
    _, mine = token_issue(acme.member.user)
    _, also_mine = token_issue(acme.member.user)
    _, theirs = token_issue(acme.manager.user)
    client.force_login(acme.member.user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-cascade-test",
            "new_password1": "a-much-longer-passphrase-7",
            "new_password2": "a-much-longer-passphrase-7",
        },
    )
    assert response.status_code == 302, response.content
    assert not works(mine) and not works(also_mine)
    assert works(theirs)


def test_resetting_the_password_revokes_every_token(client, acme):
    _, key = token_issue(acme.member.user)
    user = acme.member.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = client.get(f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/")
    response = client.post(
        link["Location"],
        {"new_password1": "a-fresh-passphrase-42", "new_password2": "a-fresh-passphrase-42"},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_a_token_expires_after_api_token_days(acme, settings):
    token, key = token_issue(acme.member.user)
    assert token.expiry is not None and (token.expiry - NOW).days in (89, 90)
    with time_machine.travel(NOW + dt.timedelta(days=89), tick=True):
        assert works(key)
    with time_machine.travel(NOW + dt.timedelta(days=91), tick=True):
        assert not works(key)
        assert not ApiToken.objects.exists()  # an expired token is deleted when used


def test_members_created_through_the_api_pass_the_password_rules(acme):
    client = client_for(acme.admin)
    for weak in ("12345678", "password", "sam-sam"):
        with unchanged():
            response = client.post(
                f"{API}/members/", {"username": "newbie", "password": weak}, format="json"
            )
        assert response.status_code == 400, weak
        assert response.json()["password"], weak
    response = client.post(
        f"{API}/members/",
        {"username": "newbie", "password": "correct-horse-battery-9"},
        format="json",
    )
    assert response.status_code == 201, response.content


# ---------------------------------------------------------------- service tokens


def make(client, **body):
    return client.post(f"{API}/tokens/", body, format="json")


def test_an_admin_makes_a_service_token_whose_key_is_shown_once(acme):
    admin = client_for(acme.admin)
    response = make(admin, name="Nightly BI sync", scope="write", expires_on="2027-06-30")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["name"] == "Nightly BI sync" and made["scope"] == "write"
    assert made["key"].startswith("cas_") and made["expiry"].startswith("2027-07-01")
    stored = ApiToken.objects.get(pk=made["id"])
    assert made["key"] not in (stored.digest, stored.token_key)
    listed = admin.get(f"{API}/tokens/").json()["results"]
    assert [(t["name"], t["key"]) for t in listed] == [("Nightly BI sync", None)]
    assert works(made["key"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Two\nlines"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Sync", "scope": "admin"}, "scope"),
        ({"name": "Sync", "expires_on": "2027-03-15"}, "expires_on"),  # today
        ({"name": "Sync", "expires_on": "2026-01-01"}, "expires_on"),
        ({"name": "Sync", "expires_on": "someday"}, "expires_on"),
    ],
)
def test_a_bad_service_token_is_refused_with_the_reason(acme, body, field):
    with unchanged():
        response = make(client_for(acme.admin), **body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ApiToken.objects.filter(organization=acme.org).exists()


def test_a_service_tokens_expiry_may_be_given_as_an_instant(acme):
    made = make(client_for(acme.admin), name="Trial", expiry="2027-03-15T18:00:00Z")
    assert made.status_code == 201, made.content
    assert made.json()["expiry"] == "2027-03-15T18:00:00Z"
    assert works(made.json()["key"])
    with time_machine.travel(dt.datetime(2027, 3, 15, 18, 1, tzinfo=dt.UTC), tick=True):
        assert not works(made.json()["key"])


@pytest.mark.parametrize(
    "body",
    [
        {"expiry": "2027-03-15T11:00:00Z"},  # an hour ago
        {"expiry": "2027-06-30T00:00:00Z", "expires_on": "2027-06-30"},  # both
    ],
)
def test_a_bad_service_token_expiry_is_refused(acme, body):
    with unchanged():
        response = make(client_for(acme.admin), name="Trial", **body)
    assert response.status_code == 400 and "expiry" in response.json()
    assert not ApiToken.objects.filter(organization=acme.org).exists()


def test_two_service_tokens_may_not_share_a_name(acme):
    admin = client_for(acme.admin)
    assert make(admin, name="Sync").status_code == 201
    response = make(admin, name="Sync")
    assert response.status_code == 400 and "name" in response.json()
    assert ApiToken.objects.filter(organization=acme.org).count() == 1


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_only_admins_see_make_or_revoke_service_tokens(acme, role):
    token, _ = service_token_create(actor=acme.admin, name="Sync")
    caller = client_for(getattr(acme, role))
    assert caller.get(f"{API}/tokens/").status_code == 403
    assert make(caller, name="Mine").status_code == 403
    assert caller.delete(f"{API}/tokens/{token.pk}/").status_code == 403
    assert list(ApiToken.objects.filter(organization=acme.org)) == [token]


def test_another_organizations_service_token_is_not_found(acme, outsider):
    token, key = service_token_create(actor=outsider, name="Their sync")
    admin = client_for(acme.admin)
    assert admin.get(f"{API}/tokens/").json()["results"] == []
    assert admin.delete(f"{API}/tokens/{token.pk}/").status_code == 404
    assert works(key)


def test_a_read_token_reads_but_cannot_write(acme, tree):
    _, key = service_token_create(actor=acme.admin, name="Dashboard wall", scope="read")
    reader = with_key(key)
    assert reader.get(f"{API}/goals/").status_code == 200
    kpi = tree.individual_kpi
    with unchanged():
        response = reader.post(f"{API}/kpis/{kpi.pk}/updates/", {"value": 5}, format="json")
        assert response.status_code == 403
        assert "read" in response.json()["detail"]
        patched = reader.patch(f"{API}/goals/{tree.strategic.pk}/", {"title": "X"}, format="json")
        assert patched.status_code == 403
        assert reader.delete(f"{API}/auth/token/").status_code == 403


def test_a_write_token_records_values_under_its_own_name(client, acme, tree):
    _, key = service_token_create(actor=acme.admin, name="Nightly BI sync")
    kpi = tree.individual_kpi
    response = with_key(key).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": 5, "date": "2027-03-14"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["author_name"] == "Nightly BI sync"
    history = client_for(acme.member).get(f"{API}/kpis/{kpi.pk}/updates/").json()["results"]
    assert [h["author_name"] for h in history] == ["Nightly BI sync"]
    assert KpiUpdate.objects.get().author_token == "Nightly BI sync"  # kept if revoked
    client.force_login(acme.member.user)
    update = KpiUpdate.objects.get()
    page = client.get(f"/goals/{kpi.goal_id}/")
    row = parse(page).find(id=f"update-{update.pk}")
    assert "Nightly BI sync" in row.text


def test_revoked_and_expired_service_tokens_are_401(acme):
    admin = client_for(acme.admin)
    revoked = make(admin, name="Old sync").json()
    assert admin.delete(f"{API}/tokens/{revoked['id']}/").status_code == 204
    assert not works(revoked["key"])
    expiring = make(admin, name="Trial", expires_on="2027-03-16").json()
    assert works(expiring["key"])
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=True):
        assert works(expiring["key"])  # through its last day
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=True):
        assert not works(expiring["key"])


def test_a_service_token_outlives_its_makers_password_change(acme):
    _, key = service_token_create(actor=acme.admin, name="Sync")
    acme.admin.user.set_password("another-long-passphrase-3")
    acme.admin.user.save()
    assert works(key)
