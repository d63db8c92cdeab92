"""Signing in: the login page, and pages refusing anonymous visitors."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_demo_leader_logs_in_and_sees_the_strategic_objectives(client):
    call_command("demo", stdout=None)
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        "/accounts/login/", {"username": "lena", "password": "cascade-demo"}, follow=True
    )
    assert response.status_code == 200
    assert b"Improve customer experience" in response.content
    assert b"Lena Leader" in response.content


def test_wrong_password_shows_an_error_and_does_not_sign_in(client):
    call_command("demo", stdout=None)
    response = client.post("/accounts/login/", {"username": "lena", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_user_without_membership_is_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("drifter", password="pw-drifter-1")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"not a member" in response.content
