"""SPEC §8.2 sign-in lockout (django-axes): 5 failed attempts for one username, or from
one address, within 15 minutes refuse further attempts — a correct password too — for
15 minutes; the token endpoint answers 429 with `Retry-After`, the login page says so.
What is not locked out: another username from another address."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from org.models import ApiToken

from ..api.helpers import API
from ..conftest import NOW

pytestmark = pytest.mark.django_db

PASSWORD = "pw-cascade-test"  # every factory-made user's password


def token_request(username: str, password: str, address: str):
    return APIClient().post(
        f"{API}/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
    )


def fail_five_times(username: str, address: str) -> list[int]:
    return [token_request(username, "wrong-password", address).status_code for _ in range(5)]


def test_five_failures_for_a_username_lock_it_out_of_the_token_endpoint(acme):
    assert fail_five_times("sam", "10.0.0.1") == [400, 400, 400, 400, 429]
    response = token_request("sam", PASSWORD, "10.0.0.1")  # the right password, now
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "try again in 15 minutes" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_a_locked_username_is_locked_from_every_address(acme):
    for attempt in range(5):
        token_request("sam", "wrong-password", f"10.0.1.{attempt}")
    assert token_request("sam", PASSWORD, "10.0.2.1").status_code == 429
    assert not ApiToken.objects.exists()


def test_a_locked_address_refuses_every_username_but_others_sign_in_elsewhere(acme):
    """One address tries five usernames: that address is locked out, for sam too; sam
    from his own address is not (his username has no failure)."""
    for username in ("ada", "lena", "max", "mia", "nobody"):
        token_request(username, "wrong-password", "203.0.113.9")
    assert token_request("sam", PASSWORD, "203.0.113.9").status_code == 429
    response = token_request("sam", PASSWORD, "198.51.100.7")
    assert response.status_code == 200, response.content
    assert ApiToken.objects.filter(user=acme.member.user).count() == 1


def test_four_failures_do_not_lock_and_the_lockout_ends_after_fifteen_minutes(acme):
    for _ in range(4):
        token_request("lena", "wrong-password", "10.0.0.4")
    assert token_request("lena", PASSWORD, "10.0.0.4").status_code == 200
    fail_five_times("sam", "10.0.0.5")
    with time_machine.travel(NOW + dt.timedelta(minutes=14), tick=True):
        assert token_request("sam", PASSWORD, "10.0.0.6").status_code == 429
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=True):
        assert token_request("sam", PASSWORD, "10.0.0.6").status_code == 200


def test_the_login_page_locks_out_too_and_says_what_to_do(client, acme):
    form = {"username": "sam", "password": "wrong-password"}
    answers = [client.post("/accounts/login/", form).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    response = client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The token endpoint counts the same failures: one lockout for every door.
    assert token_request("sam", PASSWORD, "127.0.0.1").status_code == 429
