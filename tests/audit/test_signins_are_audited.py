"""SPEC §9.2: every sign-in attempt is one entry — succeeded, failed, or locked out —
on the login page and on the token endpoint alike, saying from where."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from audit.models import Entry
from audit.record import serving

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db

PASSWORD = "pw-cascade-test"  # every factory-made user's password
DOORS = ("page", "token")


def sign_in(door: str, username: str, password: str, address: str) -> int:
    """One attempt through the login page or the token endpoint; its status."""
    credentials = {"username": username, "password": password}
    if door == "page":
        return Client().post("/accounts/login/", credentials, REMOTE_ADDR=address).status_code
    return (
        APIClient()
        .post(f"{API}/auth/token/", credentials, format="json", REMOTE_ADDR=address)
        .status_code
    )


def signins(action: str | None = None) -> list[Entry]:
    found = Entry.objects.filter(action__startswith="signin.")
    if action:
        found = found.filter(action=action)
    return list(found.order_by("at", "id"))


@pytest.mark.parametrize("door", DOORS)
def test_a_sign_in_is_one_entry_with_who_and_from_where(door, acme):
    assert sign_in(door, "sam", PASSWORD, "198.51.100.7") in (200, 302)
    [entry] = signins()
    assert entry.action == "signin.succeeded"
    assert (entry.actor_id, entry.actor, entry.ip) == (acme.member.pk, "sam", "198.51.100.7")
    assert (entry.object_type, entry.object_id) == ("member", str(acme.member.pk))
    assert entry.organization_id == acme.org.pk


@pytest.mark.parametrize("door", DOORS)
def test_a_failed_sign_in_is_one_entry(door, acme):
    assert sign_in(door, "sam", "wrong-password", "198.51.100.8") in (200, 400)
    [entry] = signins()
    assert entry.action == "signin.failed"
    assert (entry.actor_id, entry.ip, entry.organization_id) == (
        acme.member.pk,
        "198.51.100.8",
        acme.org.pk,
    )
    assert "wrong-password" not in str(entry.changes) + entry.object_label


@pytest.mark.parametrize("door", DOORS)
def test_a_failed_sign_in_of_an_unknown_name_belongs_to_no_organization(door, acme):
    sign_in(door, "nobody-here", "guess", "198.51.100.9")
    [entry] = signins("signin.failed")
    assert entry.organization_id is None
    assert (entry.actor_id, entry.actor, entry.object_label) == (None, "nobody-here", "nobody-here")
    listed = client_for(acme.admin).get(f"{API}/audit/", {"object": "user"}).json()
    assert listed["count"] == 0


@pytest.mark.parametrize("door", DOORS)
def test_a_lockout_is_one_entry_and_each_refused_attempt_another(door, acme):
    """Four failures, then the fifth locks sam out (one entry, as a lockout); the right
    password while locked out is refused, and recorded as such, not as a sign-in."""
    for _ in range(5):
        sign_in(door, "sam", "wrong-password", "198.51.100.10")
    assert [e.action for e in signins()] == ["signin.failed"] * 4 + ["signin.locked_out"]
    [lockout] = signins("signin.locked_out")
    assert (lockout.actor_id, lockout.ip) == (acme.member.pk, "198.51.100.10")

    assert sign_in(door, "sam", PASSWORD, "198.51.100.10") == 429
    assert len(signins("signin.locked_out")) == 2
    assert signins("signin.succeeded") == []


def test_a_deactivated_person_signing_in_is_a_failure_in_their_organization(acme):
    acme.member.is_active = False
    acme.member.save()
    assert sign_in("token", "sam", PASSWORD, "198.51.100.11") == 400
    [entry] = signins()
    assert (entry.action, entry.organization_id) == ("signin.failed", acme.org.pk)


def test_a_password_change_is_one_entry_by_its_owner_and_never_holds_the_password(client, acme):
    client.force_login(acme.member.user)
    new = "a-long-and-uncommon-passphrase"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "pw-cascade-test", "new_password1": new, "new_password2": new},
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302, response.content
    [entry] = Entry.objects.filter(action="member.password_changed")
    assert (entry.object_type, entry.object_id) == ("member", str(acme.member.pk))
    assert (entry.actor_id, entry.organization_id, entry.ip) == (
        acme.member.pk,
        acme.org.pk,
        "198.51.100.7",
    )
    assert new not in str(entry.changes) and new not in entry.object_label


def test_a_password_set_by_someone_else_names_who_set_it(acme):
    request = RequestFactory().post("/admin/", REMOTE_ADDR="198.51.100.8")
    request.user = acme.admin.user
    with serving(request):
        acme.member.user.set_password("another-long-passphrase")
        acme.member.user.save()
    [entry] = Entry.objects.filter(action="member.password_changed")
    assert entry.object_id == str(acme.member.pk)
    assert entry.actor_id == acme.admin.pk
