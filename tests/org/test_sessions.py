"""SPEC §9.2 sessions: a signed-in session ends after 2 hours without a request and 7
days after signing in, whatever happens (SESSION_IDLE_MINUTES, SESSION_MAX_DAYS); the
person then meets the login page with the reason, and the API answers 401. Changing a
password or a role ends the person's other sessions; the one that changed their own
password or role is kept. "Last seen" is written at most once a minute."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from org.services import member_update
from org.sessions import CHANGED

from ..api.helpers import API
from ..conftest import NOW, AnswerClient
from ..factories import MemberFactory
from ..pages.helpers import HTMX

pytestmark = pytest.mark.django_db

IDLE = "You were signed out after 2 hours without activity."
LIFETIME = "You were signed out: a sign-in lasts at most 7 days. Please sign in again."
PASSWORD = "pw-cascade-test"  # every factory-made user's password


def at(**delta):
    """Travel to NOW + delta (the clock keeps ticking from there)."""
    return time_machine.travel(NOW + dt.timedelta(**delta), tick=True)


def signed_in(user) -> AnswerClient:
    client = AnswerClient()
    client.force_login(user)
    return client


def is_signed_in(client) -> bool:
    return client.get("/").status_code == 200


def signed_out_with(client, message: str) -> bool:
    """The next page sends the person to the login page, which says why."""
    response = client.get("/", follow=True)
    login = response.redirect_chain and response.redirect_chain[-1][0].startswith(
        "/accounts/login/?next=/"
    )
    return (
        bool(login)
        and message in response.content.decode()
        and not client.session.keys() & {"_auth_user_id"}
    )


def test_a_session_idle_for_two_hours_ends_and_the_login_page_says_why(acme):
    client = signed_in(acme.member.user)
    with at(hours=1, minutes=59):
        assert is_signed_in(client)
    with at(hours=3, minutes=58):  # 1 h 59 after the last request: still on
        assert is_signed_in(client)
    with at(hours=5, minutes=59):  # 2 h 01 after it: over
        assert signed_out_with(client, IDLE)
        assert client.get("/").status_code == 302  # and it stays over


def test_a_session_ends_seven_days_after_signing_in_however_active(acme):
    client = signed_in(acme.member.user)
    minutes = 0
    while minutes < 7 * 24 * 60 - 100:
        minutes += 100
        with at(minutes=minutes):
            assert is_signed_in(client), f"signed out after {minutes} minutes"
    with at(days=7, minutes=1):
        assert signed_out_with(client, LIFETIME)


def test_the_limits_come_from_the_settings(acme, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client = signed_in(acme.member.user)
    with at(minutes=29):
        assert is_signed_in(client)
    with at(minutes=60):
        assert signed_out_with(client, "You were signed out after 30 minutes without activity.")


def test_the_api_answers_401_for_an_ended_session(acme):
    client = APIClient()
    client.force_login(acme.member.user)
    assert client.get(f"{API}/me/").status_code == 200
    with at(hours=2, minutes=1):
        response = client.get(f"{API}/me/")
        assert response.status_code == 401, response.content
        assert client.get(f"{API}/me/").status_code == 401


def test_last_seen_is_written_at_most_once_a_minute(acme):
    client = signed_in(acme.member.user)

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{API}/me/").status_code == 200
        return sum(
            1
            for q in queries.captured_queries
            if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith("UPDATE")
        )

    with at(seconds=10):
        assert session_writes() == 0
    with at(seconds=50):
        assert session_writes() == 0
    with at(seconds=70):
        assert session_writes() == 1
    with at(seconds=80):
        assert session_writes() == 0


# -------------------------------------------------- a change ends the person's other sessions


def test_changing_a_members_role_ends_every_session_they_have(acme):
    phone, laptop = signed_in(acme.member.user), signed_in(acme.member.user)
    admin = signed_in(acme.admin.user)
    response = admin.post(
        f"/people/{acme.member.pk}/",
        {f"m{acme.member.pk}-role": "manager", f"m{acme.member.pk}-is_active": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.content
    assert signed_out_with(phone, CHANGED)
    assert signed_out_with(laptop, CHANGED)
    assert is_signed_in(admin)
    again = signed_in(acme.member.user)  # signing in again works, under the new role
    assert is_signed_in(again)
    assert again.get("/").context["request"].member.role == "manager"


def test_changing_a_members_department_leaves_their_sessions_alone(acme):
    phone = signed_in(acme.member.user)
    member_update(actor=acme.admin, member=acme.member, department=acme.marketing)
    assert is_signed_in(phone)


def test_an_admin_changing_their_own_role_keeps_the_session_they_use(acme):
    MemberFactory(organization=acme.org, role="admin", user__username="adele")
    here, elsewhere = signed_in(acme.admin.user), signed_in(acme.admin.user)
    response = here.post(
        f"/people/{acme.admin.pk}/",
        {f"m{acme.admin.pk}-role": "leader", f"m{acme.admin.pk}-is_active": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.content
    assert is_signed_in(here)
    with at(minutes=1):
        assert is_signed_in(here)
    assert signed_out_with(elsewhere, CHANGED)


def test_a_role_change_through_the_api_ends_the_persons_sessions(acme):
    phone = signed_in(acme.member.user)
    admin = APIClient()
    admin.force_login(acme.admin.user)
    response = admin.patch(f"{API}/members/{acme.member.pk}/", {"role": "reviewer"})
    assert response.status_code == 200, response.content
    assert signed_out_with(phone, CHANGED)
    assert admin.get(f"{API}/me/").status_code == 200


def test_changing_the_password_keeps_this_session_and_ends_the_others(acme):
    here, elsewhere = signed_in(acme.member.user), signed_in(acme.member.user)
    response = here.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-passphrase-7",
            "new_password2": "a-much-longer-passphrase-7",
        },
    )
    assert response.status_code == 302, response.content
    assert is_signed_in(here)
    assert elsewhere.get("/").status_code == 302  # to the login page
    assert "_auth_user_id" not in elsewhere.session


def test_a_refused_role_change_ends_no_session(acme):
    phone = signed_in(acme.admin.user)  # the only admin can't stop being one
    with pytest.raises(Exception, match="needs an admin"):
        member_update(actor=acme.admin, member=acme.admin, role="member")
    assert is_signed_in(phone)
    acme.admin.refresh_from_db()
    assert acme.admin.sessions_ended_at is None
