"""The Notifications page's Calendar card (SPEC §9.6): a person makes their private
calendar address, sees it (webcal:// to subscribe, the same over https), resets it (the
old one stops working) or turns it off — each asked first (hx-confirm), in place with
htmx and as plain forms without JavaScript. The same through the API: GET, POST and
DELETE /api/v1/me/calendar/. Nobody sees or changes another person's address."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from org.calendar_feeds import calendar_feed_create
from org.models import CalendarFeed
from org.tokens import service_token_create

from ..api.helpers import API, client_for
from ..factories import MemberFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ADDRESS = re.compile(r"webcal://127\.0\.0\.1:8000/calendar/([A-Za-z0-9_-]{43})\.ics")


def page(client) -> str:
    answer = client.get("/notifications/")
    assert answer.status_code == 200
    return answer.content.decode()


def card(html: str) -> str:
    return html[
        html.index('id="calendar-card"') : html.index(
            "</section>", html.index('id="calendar-card"')
        )
    ]


def test_without_an_address_the_card_offers_to_make_one(client, acme):
    client.force_login(acme.member.user)
    shown = card(page(client))
    assert "Create my calendar address" in shown
    assert 'action="/notifications/calendar/"' in shown
    assert "webcal://" not in shown and "Reset address" not in shown


def test_making_resetting_and_turning_off_without_javascript(client, acme, tree):
    client.force_login(acme.member.user)
    made = client.post("/notifications/calendar/")
    assert made.status_code == 302 and made["Location"] == "/notifications/#calendar-h"
    html = page(client)
    assert "Your calendar address is ready" in html  # the message, on top
    shown = card(html)
    [key] = set(ADDRESS.findall(shown))
    assert CalendarFeed.objects.get(member=acme.member).key == key
    assert re.search(r"<textarea id=\"calendar-address\"[^>]* readonly", shown)
    assert '<label for="calendar-address">' in shown
    assert f'href="http://127.0.0.1:8000/calendar/{key}.ics"' in shown  # the https variant
    assert 'data-copy="calendar-address" hidden' in shown  # shown by cascade.js only
    assert 'hx-confirm="Reset your calendar address? The one you have stops working' in shown
    assert 'hx-confirm="Turn your calendar address off?' in shown
    assert client.get(f"/calendar/{key}.ics").status_code == 200

    reset = client.post("/notifications/calendar/reset/")
    assert reset.status_code == 302
    [new_key] = set(ADDRESS.findall(card(page(client))))
    assert new_key != key
    assert client.get(f"/calendar/{key}.ics").status_code == 404
    assert client.get(f"/calendar/{new_key}.ics").status_code == 200

    off = client.post("/notifications/calendar/off/")
    assert off.status_code == 302
    html = page(client)
    assert "Your calendar address is turned off" in html
    assert "Create my calendar address" in card(html)
    assert client.get(f"/calendar/{new_key}.ics").status_code == 404
    assert not CalendarFeed.objects.exists()


def test_in_place_each_answer_is_the_card_again(client, acme, tree):
    client.force_login(acme.member.user)
    made = client.post("/notifications/calendar/", headers=HTMX)
    assert made.status_code == 200
    html = made.content.decode()
    assert html.lstrip().startswith('<section class="card" id="calendar-card"')
    assert "<html" not in html and "Signing in" not in html
    assert 'role="status">Your calendar address is ready' in html
    [key] = set(ADDRESS.findall(html))
    reset = client.post("/notifications/calendar/reset/", headers=HTMX).content.decode()
    [new_key] = set(ADDRESS.findall(reset))
    assert new_key != key and "the old one no longer works" in reset
    off = client.post("/notifications/calendar/off/", headers=HTMX).content.decode()
    assert "Create my calendar address" in off and not ADDRESS.search(off)


def test_making_twice_keeps_one_address(client, acme, tree):
    client.force_login(acme.member.user)
    client.post("/notifications/calendar/")
    key = CalendarFeed.objects.get().key
    client.post("/notifications/calendar/")
    assert list(CalendarFeed.objects.values_list("key", flat=True)) == [key]


def test_each_person_sees_and_changes_only_their_own_address(client, acme, tree):
    sams = calendar_feed_create(actor=acme.member)
    client.force_login(acme.manager.user)
    assert sams.key not in page(client)
    client.post("/notifications/calendar/reset/")  # max's: made, sam's untouched
    client.post("/notifications/calendar/off/")
    assert CalendarFeed.objects.get().key == sams.key
    assert client.get(f"/calendar/{sams.key}.ics").status_code == 200


def test_signed_out_nothing_is_made_and_a_get_changes_nothing(client, acme, tree):
    for path in ("/notifications/calendar/", "/notifications/calendar/reset/",
                 "/notifications/calendar/off/"):  # fmt: skip
        answer = client.post(path)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert not CalendarFeed.objects.exists()
    client.force_login(acme.member.user)
    assert client.get("/notifications/calendar/").status_code == 405
    assert not CalendarFeed.objects.exists()


def test_the_notifications_page_takes_the_same_queries_however_many_addresses(client, acme, tree):
    client.force_login(acme.member.user)
    calendar_feed_create(actor=acme.member)

    def count() -> int:
        page(client)
        with CaptureQueriesContext(connection) as done:
            page(client)
        return len(done.captured_queries)

    few = count()
    for _ in range(30):
        calendar_feed_create(actor=MemberFactory(organization=acme.org))
    assert count() == few


# -- The API -------------------------------------------------------------------------------


def test_the_api_reads_makes_resets_and_turns_off_the_callers_address(acme, tree, client):
    api = client_for(acme.member)
    none = api.get(f"{API}/me/calendar/")
    assert none.status_code == 200
    assert none.json() == {"active": False, "url": None, "webcal": None, "created_at": None,
                           "last_read_at": None}  # fmt: skip
    made = api.post(f"{API}/me/calendar/")
    assert made.status_code == 201
    body = made.json()
    assert body["active"] is True and body["webcal"] == body["url"].replace("http://", "webcal://")
    path = body["url"].removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200
    assert api.get(f"{API}/me/calendar/").json()["url"] == body["url"]
    again = api.post(f"{API}/me/calendar/").json()  # a new address: the old one stops
    assert again["url"] != body["url"]
    assert client.get(path).status_code == 404
    assert api.delete(f"{API}/me/calendar/").status_code == 204
    assert api.get(f"{API}/me/calendar/").json()["active"] is False
    assert client.get(again["url"].removeprefix("http://127.0.0.1:8000")).status_code == 404
    assert api.delete(f"{API}/me/calendar/").status_code == 204  # nothing to turn off: fine


def test_the_api_refuses_the_anonymous(acme, tree, client):
    for method in ("get", "post", "delete"):
        assert getattr(client, method)(f"{API}/me/calendar/").status_code == 401
    assert not CalendarFeed.objects.exists()


def test_the_api_shows_another_persons_address_to_nobody(acme, tree):
    sams = calendar_feed_create(actor=acme.member)
    body = client_for(acme.admin).get(f"{API}/me/calendar/").json()
    assert body["active"] is False and sams.key not in str(body)


def test_a_service_token_neither_reads_nor_changes_its_makers_address(acme, tree):
    admins = calendar_feed_create(actor=acme.admin)
    _token, key = service_token_create(actor=acme.admin, name="Sync")
    integration = APIClient()
    integration.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for method in ("get", "post", "delete"):
        answer = getattr(integration, method)(f"{API}/me/calendar/")
        assert answer.status_code == 403
        assert "a service token can't" in answer.json()["detail"]
        assert admins.key not in answer.content.decode()
    assert CalendarFeed.objects.get().key == admins.key
