"""SPEC §9.2 passwords: at least 12 characters, not too like the username or email, not
a common one, not only digits — wherever a password is set: `members/` in the API, the
page an invitation's (or a reset's) link opens, the password change page, `createorg`
and `createsuperuser`. A refused password is a 400 (or a command error) with the rule's
message, and nobody's password changes."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from org.models import Member

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db

SHORT = "This password is too short. It must contain at least 12 characters."
NUMERIC = "This password is entirely numeric."
COMMON = "This password is too common."
LIKE_EMAIL = "The password is too similar to the email address."
GOOD = "a-much-longer-passphrase-7"
PASSWORD = "pw-cascade-test"  # every factory-made user's password

# What the outside review found accepted, for a user dave@acme.example in Acme.
WEAK = {
    "83749261": [SHORT, NUMERIC],
    "dave-dave": [SHORT],
    "acmeacme": [SHORT],
    # And each of the other rules on its own, at 12 characters or more.
    "837492618374": [NUMERIC],
    "123456789abc": [COMMON],
    "dave@acme.example": [LIKE_EMAIL],
}


def users() -> list[tuple]:
    return list(get_user_model().objects.order_by("pk").values_list("username", "password"))


@pytest.mark.parametrize("password", WEAK)
def test_the_api_refuses_a_weak_password_for_a_new_member(acme, password):
    before = users()
    response = client_for(acme.admin).post(
        f"{API}/members/",
        {"username": "dave", "email": "dave@acme.example", "password": password},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["password"] == WEAK[password]
    assert users() == before


def test_the_api_takes_a_good_password(acme):
    response = client_for(acme.admin).post(
        f"{API}/members/",
        {"username": "dave", "email": "dave@acme.example", "password": GOOD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert get_user_model().objects.get(username="dave").check_password(GOOD)


@pytest.fixture
def invitation_page(client, acme, django_capture_on_commit_callbacks) -> str:
    """The admin invites dave@acme.example on the People page; the page the link in his
    email opens, where he chooses a password."""
    client.force_login(acme.admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/people/", {"email": "dave@acme.example", "role": "member"})
    assert response.status_code == 200, response.content
    client.logout()
    link = re.search(r"https?://\S+/accounts/reset/\S+", mail.outbox[-1].body).group(0)
    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 302, opened.content
    return opened["Location"]


@pytest.mark.parametrize("password", WEAK)
def test_the_invitation_page_refuses_a_weak_password(client, invitation_page, password):
    page = invitation_page
    before = users()
    response = client.post(page, {"new_password1": password, "new_password2": password})
    assert response.status_code == 400
    text = response.content.decode().replace("&#x27;", "'")
    for message in WEAK[password]:
        assert message in text
    assert users() == before
    assert not Member.objects.get(user__username="dave").user.has_usable_password()


def test_the_invitation_page_takes_a_good_password_and_dave_signs_in(client, invitation_page):
    page = invitation_page
    response = client.post(page, {"new_password1": GOOD, "new_password2": GOOD})
    assert response.status_code == 302, response.content
    assert (
        APIClient()
        .post(f"{API}/auth/token/", {"username": "dave", "password": GOOD}, format="json")
        .status_code
        == 200
    )


@pytest.mark.parametrize("password", ["83749261", "sam-sam-sam", "acmeacme", "123456789abc"])
def test_the_password_change_page_refuses_a_weak_password(client, acme, password):
    client.force_login(acme.member.user)
    before = users()
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["new_password2"]
    assert users() == before


@pytest.mark.parametrize("password", ["83749261", "dave-dave", "acmeacme", "123456789abc"])
def test_createorg_refuses_a_weak_password(acme, password):
    before = users()
    with pytest.raises(CommandError, match="password: "):
        call_command(
            "createorg", "Initech", "--admin", "dave", "--password", password, stdout=io.StringIO()
        )
    assert users() == before


@pytest.mark.parametrize("password", ["83749261", "dave-dave", "acmeacme", "dave@acme.example"])
def test_createsuperuser_without_a_terminal_refuses_a_weak_password(acme, monkeypatch, password):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)
    before = users()
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD: "):
        call_command(
            "createsuperuser",
            interactive=False,
            username="dave",
            email="dave@acme.example",
            stdout=io.StringIO(),
        )
    assert users() == before


def test_createsuperuser_without_a_terminal_takes_a_good_password(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", GOOD)
    call_command(
        "createsuperuser",
        interactive=False,
        username="dave",
        email="dave@acme.example",
        stdout=io.StringIO(),
    )
    dave = get_user_model().objects.get(username="dave")
    assert dave.is_superuser and dave.check_password(GOOD)


def test_the_demo_password_passes_the_rules_for_every_demo_login(db):
    from django.contrib.auth.password_validation import validate_password

    from demo.acme import PASSWORD as DEMO_PASSWORD

    call_command("demo", stdout=io.StringIO())
    for user in get_user_model().objects.all():
        validate_password(DEMO_PASSWORD, user)
        assert user.check_password(DEMO_PASSWORD)


def test_the_password_change_page_is_cascades_own_and_linked_from_notifications(client, acme):
    client.force_login(acme.member.user)
    assert 'href="/accounts/password_change/"' in client.get("/notifications/").content.decode()
    page = client.get("/accounts/password_change/").content.decode()
    assert "<title>Change your password · Cascade</title>" in page
    assert "Django administration" not in page
    new = "a-long-and-uncommon-passphrase"
    done = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    ).content.decode()
    assert "Password changed" in done and "Django administration" not in done
