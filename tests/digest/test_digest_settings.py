"""The settings the digest reads (SPEC §9.6): each person turns it off and picks their
own time zone on the Notifications page (a zone that is none is refused, nothing
changed); admins set the organization's time zone on the People page and through the
API (`GET/PATCH /api/v1/organization/`): others are refused, another organization is
out of reach, every change audited; each page and read in the same queries at two
sizes."""

from __future__ import annotations

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import Entry
from org.models import Member, Organization

from ..api.helpers import API, client_for
from ..factories import MemberFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
BAD_ZONE = "“Mars/Olympus” is not a known time zone (try Europe/Berlin or UTC)."


def stored(member: Member) -> tuple[bool, bool, str]:
    member.refresh_from_db()
    return member.reminder_emails, member.digest_emails, member.timezone


# --- The Notifications page: the person's own settings ------------------------------


def test_the_email_card_offers_the_digest_and_every_time_zone(client, acme):
    acme.org.timezone = "Europe/Berlin"
    acme.org.save()
    client.force_login(acme.member.user)
    page = client.get("/notifications/").content.decode()
    assert "Email me a weekly digest on Monday morning" in page
    assert 'name="digest_emails" aria-describedby="digest-help" checked' in page
    assert '<label for="id_timezone">Your time zone</label>' in page
    assert '<option value="">The organization\'s (Europe/Berlin)</option>' in page
    assert "<option>Asia/Tokyo</option>" in page and "<option>UTC</option>" in page


def test_a_person_turns_the_digest_off_and_picks_their_time_zone(client, acme):
    client.force_login(acme.member.user)
    answer = client.post(
        "/notifications/preferences/",
        {"reminder_emails": "on", "timezone": "Asia/Tokyo"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/notifications/#prefs-h"
    assert stored(acme.member) == (True, False, "Asia/Tokyo")
    page = client.get("/notifications/").content.decode()
    assert "Your email settings are saved." in page
    assert "<option selected>Asia/Tokyo</option>" in page
    assert 'name="digest_emails" aria-describedby="digest-help">' in page  # unchecked
    # Back to the organization's, the digest on again, reminders off.
    client.post("/notifications/preferences/", {"digest_emails": "on", "timezone": ""})
    assert stored(acme.member) == (False, True, "")


def test_the_email_card_saves_in_place_with_htmx(client, acme):
    client.force_login(acme.member.user)
    answer = client.post(
        "/notifications/preferences/",
        {"digest_emails": "on", "timezone": "America/New_York"},
        headers=HTMX,
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith('<section class="card" id="email-card"')
    assert "Your email settings are saved." in html
    assert "<option selected>America/New_York</option>" in html
    assert stored(acme.member) == (False, True, "America/New_York")


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_time_zone_that_is_none_is_refused_and_nothing_changes(client, acme, htmx):
    acme.member.timezone = "Europe/Paris"
    acme.member.save()
    client.force_login(acme.member.user)
    answer = client.post(
        "/notifications/preferences/",
        {"timezone": "Mars/Olympus"},  # both boxes unticked too
        headers=HTMX if htmx else {},
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert BAD_ZONE in html
    assert 'role="alert">' + BAD_ZONE in html.replace('id="timezone-error" ', "")
    assert 'aria-invalid="true"' in html
    assert stored(acme.member) == (True, True, "Europe/Paris")


def test_a_person_changes_only_their_own_settings(client, acme):
    client.force_login(acme.member.user)
    client.post("/notifications/preferences/", {"timezone": "Asia/Tokyo"})
    assert stored(acme.manager) == (True, True, "")
    assert Member.objects.filter(timezone="Asia/Tokyo").get() == acme.member


def test_the_preferences_take_a_signed_in_post(client, acme):
    anonymous = client.post("/notifications/preferences/", {"timezone": "UTC"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    client.force_login(acme.member.user)
    assert client.get("/notifications/preferences/").status_code == 405
    assert stored(acme.member) == (True, True, "")


# --- The People page: the organization's time zone ----------------------------------


def test_an_admin_sets_the_organizations_time_zone_on_the_people_page(client, acme):
    client.force_login(acme.admin.user)
    page = client.get("/people/").content.decode()
    assert '<h2 id="organization-h">Organization</h2>' in page
    assert "<option selected>UTC</option>" in page
    answer = client.post("/people/organization/", {"timezone": "Europe/Berlin"})
    assert answer.status_code == 302
    assert Organization.objects.get(pk=acme.org.pk).timezone == "Europe/Berlin"
    again = html.unescape(client.get("/people/").content.decode())
    assert "The organization's time zone is now Europe/Berlin." in again
    assert "<option selected>Europe/Berlin</option>" in again
    [entry] = Entry.objects.filter(action="organization.updated")
    assert entry.changes == {"timezone": ["UTC", "Europe/Berlin"]}
    assert entry.actor_id == acme.admin.pk


def test_the_organization_card_saves_in_place_and_refuses_a_zone_that_is_none(client, acme):
    client.force_login(acme.admin.user)
    saved = client.post("/people/organization/", {"timezone": "Asia/Tokyo"}, headers=HTMX)
    assert saved.status_code == 200
    assert (
        saved.content.decode().lstrip().startswith('<section class="card" id="organization-card"')
    )
    assert "The organization's time zone is now Asia/Tokyo." in saved.content.decode()
    for bad in ("Mars/Olympus", ""):
        refused = client.post("/people/organization/", {"timezone": bad}, headers=HTMX)
        assert refused.status_code == 400
        assert 'aria-invalid="true"' in refused.content.decode()
    page = client.post("/people/organization/", {"timezone": "Mars/Olympus"})
    assert page.status_code == 400 and BAD_ZONE in page.content.decode()
    assert Organization.objects.get(pk=acme.org.pk).timezone == "Asia/Tokyo"
    assert Entry.objects.filter(action="organization.updated").count() == 1


@pytest.mark.parametrize("who", ["leader", "manager", "member", "reviewer"])
def test_only_admins_set_the_organizations_time_zone(client, acme, who):
    client.force_login(getattr(acme, who).user)
    answer = client.post("/people/organization/", {"timezone": "Asia/Tokyo"})
    assert answer.status_code == 403
    assert Organization.objects.get(pk=acme.org.pk).timezone == "UTC"
    assert not Entry.objects.filter(action="organization.updated").exists()


# --- The API: GET/PATCH /api/v1/organization/ --------------------------------------


def test_everyone_reads_their_organization(acme):
    for member in (acme.member, acme.reviewer, acme.admin):
        answer = client_for(member).get(f"{API}/organization/")
        assert answer.status_code == 200
        assert answer.json() == {"id": acme.org.pk, "name": "Acme", "timezone": "UTC"}


def test_an_admin_sets_the_time_zone_through_the_api_audited(acme):
    answer = client_for(acme.admin).patch(
        f"{API}/organization/", {"timezone": "America/Chicago"}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json() == {"id": acme.org.pk, "name": "Acme", "timezone": "America/Chicago"}
    assert Organization.objects.get(pk=acme.org.pk).timezone == "America/Chicago"
    [entry] = Entry.objects.filter(action="organization.updated")
    assert entry.changes == {"timezone": ["UTC", "America/Chicago"]}
    # The same again changes nothing, and records nothing.
    client_for(acme.admin).patch(f"{API}/organization/", {"timezone": "America/Chicago"})
    assert Entry.objects.filter(action="organization.updated").count() == 1


@pytest.mark.parametrize("who", ["leader", "manager", "member", "reviewer"])
def test_others_are_refused_and_nothing_changes(acme, who):
    answer = client_for(getattr(acme, who)).patch(
        f"{API}/organization/", {"timezone": "Asia/Tokyo"}, format="json"
    )
    assert answer.status_code == 403
    assert "Only admins change the organization's settings" in answer.json()["detail"]
    assert Organization.objects.get(pk=acme.org.pk).timezone == "UTC"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": "x" * 65}, "timezone"),
        ({"timezone": 7}, "timezone"),
    ],
)
def test_a_time_zone_that_is_none_is_a_400_and_changes_nothing(acme, body, field):
    answer = client_for(acme.admin).patch(f"{API}/organization/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert Organization.objects.get(pk=acme.org.pk).timezone == "UTC"
    assert not Entry.objects.filter(action="organization.updated").exists()


def test_the_name_is_not_changed_through_the_api(acme):
    answer = client_for(acme.admin).patch(
        f"{API}/organization/", {"name": "Evil Corp"}, format="json"
    )
    assert answer.status_code == 200
    assert Organization.objects.get(pk=acme.org.pk).name == "Acme"


def test_another_organization_is_out_of_reach(acme, outsider):
    mine = client_for(outsider).get(f"{API}/organization/").json()
    assert mine["name"] == "Globex" and mine["id"] != acme.org.pk
    client_for(outsider).patch(f"{API}/organization/", {"timezone": "Asia/Tokyo"}, format="json")
    assert Organization.objects.get(pk=acme.org.pk).timezone == "UTC"
    assert Organization.objects.get(pk=outsider.organization_id).timezone == "Asia/Tokyo"


def test_anonymous_callers_are_refused(acme):
    assert APIClient().get(f"{API}/organization/").status_code == 401
    assert APIClient().patch(f"{API}/organization/", {"timezone": "UTC"}).status_code == 401


# --- Queries at two sizes -----------------------------------------------------------


def queries(call) -> int:
    with CaptureQueriesContext(connection) as sql:
        call()
    return len(sql.captured_queries)


def test_the_notifications_page_and_the_organization_read_take_the_same_queries_at_two_sizes(
    client, acme
):
    client.force_login(acme.member.user)
    api = client_for(acme.member)
    counts = []
    for extra in (0, 40):
        for n in range(extra):
            MemberFactory(organization=acme.org, timezone="Asia/Tokyo", user__username=f"q{n}")
        client.get("/notifications/")  # warm (the session)
        counts.append(
            (
                queries(lambda: client.get("/notifications/")),
                queries(lambda: client.post("/notifications/preferences/", {"timezone": "UTC"})),
                queries(lambda: api.get(f"{API}/organization/")),
            )
        )
    assert counts[0] == counts[1]
    assert counts[0][2] <= 5


def test_setting_the_organizations_zone_takes_the_same_queries_at_two_sizes(client, acme):
    client.force_login(acme.admin.user)
    api = client_for(acme.admin)
    counts = []
    for extra, on_page, by_api in ((0, "Asia/Tokyo", "Europe/Berlin"), (40, "UTC", "Asia/Dubai")):
        for n in range(extra):
            MemberFactory(organization=acme.org, user__username=f"z{n}")
        counts.append(
            (
                queries(
                    lambda zone=on_page: client.post(
                        "/people/organization/", {"timezone": zone}, headers=HTMX
                    )
                ),
                queries(
                    lambda zone=by_api: api.patch(
                        f"{API}/organization/", {"timezone": zone}, format="json"
                    )
                ),
            )
        )
    assert counts[0] == counts[1]
    assert max(counts[0]) <= 10
