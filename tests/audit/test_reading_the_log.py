"""SPEC §9.2: admins read the audit log on the Audit page and at
`GET /api/v1/audit/?actor= &object= &since=` — their organization's entries only,
newest first, paginated; a bad filter is a 400 saying what to give; nobody else reads
it (403), and nothing there changes it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from audit.models import Entry
from audit.record import record
from core.dates import OUT_OF_RANGE
from goals.services import goal_update
from org.tokens import service_token_create

from ..api.helpers import API, client_for
from ..conftest import NOW
from ..pages.helpers import parse

pytestmark = pytest.mark.django_db

AUDIT = f"{API}/audit/"


@pytest.fixture
def history(acme, tree, outsider):
    """Entries of acme on three days (by the leader and the manager), and one of Globex."""
    entries = {}
    with time_machine.travel(NOW - dt.timedelta(days=10), tick=False):
        entries["old"] = record(
            acme.leader, "goal.updated", tree.strategic, changes={"title": ["A", "B"]}
        )
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        entries["kpi"] = record(
            acme.manager, "kpi.updated", tree.department_kpi, changes={"target": [8, 7]}
        )
    with time_machine.travel(NOW - dt.timedelta(hours=1), tick=False):
        entries["recent"] = record(
            acme.leader, "goal.updated", tree.department, changes={"weight": [1.0, 2.0]}
        )
    entries["globex"] = record(
        outsider, "cycle.updated", outsider.cycle, changes={"name": ["X", "Y"]}
    )
    return entries


def text(response) -> str:
    """A page's text, its spaces made one."""
    return " ".join(parse(response).text.split())


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# -- the API ------------------------------------------------------------------------------


def test_admins_list_their_organizations_entries_newest_first(acme, history):
    response = client_for(acme.admin).get(AUDIT)
    listed = ids(response)
    ours = [history[name].pk for name in ("recent", "kpi", "old")]
    assert [pk for pk in listed if pk in ours] == ours
    assert history["globex"].pk not in listed
    row = next(r for r in response.json()["results"] if r["id"] == history["kpi"].pk)
    assert row["actor_id"] == acme.manager.pk and row["actor"] == "max"
    assert row["action"] == "kpi.updated"
    assert (row["object_type"], row["object_label"]) == ("kpi", "First response time")
    assert row["changes"] == {"target": [8, 7]}
    assert row["at"].startswith("2027-03-13T12:00")
    assert set(row) >= {"token", "token_id", "ip", "object_id"}


def test_the_filters_narrow_by_actor_object_and_since(acme, tree, history):
    api = client_for(acme.admin)
    assert set(ids(api.get(AUDIT, {"actor": acme.manager.pk}))) == {history["kpi"].pk}
    goals = api.get(AUDIT, {"object": "goal", "actor": acme.leader.pk})
    assert {history["old"].pk, history["recent"].pk} <= set(ids(goals))
    assert {row["object_type"] for row in goals.json()["results"]} == {"goal"}
    one = api.get(AUDIT, {"object": f"goal:{tree.department.pk}", "actor": acme.leader.pk})
    assert history["recent"].pk in ids(one)  # and its creation, by the tree fixture
    assert {row["object_id"] for row in one.json()["results"]} == {str(tree.department.pk)}
    since_day = set(ids(api.get(AUDIT, {"since": "2027-03-13", "actor": acme.leader.pk})))
    assert history["recent"].pk in since_day and history["old"].pk not in since_day
    since_instant = ids(api.get(AUDIT, {"since": "2027-03-13T12:00:00+00:00", "object": "kpi"}))
    assert history["kpi"].pk in since_instant
    later = ids(api.get(AUDIT, {"since": "2027-03-13T12:00:01Z", "object": "kpi"}))
    assert history["kpi"].pk not in later


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"actor": "ada"}, "actor", "Give a person's id"),
        ({"actor": "0"}, "actor", "Give a person's id"),
        ({"actor": "-4"}, "actor", "Give a person's id"),
        ({"actor": "99999999999999999999999"}, "actor", "Give a person's id"),
        ({"object": "Goal 42"}, "object", "goal:42"),
        ({"object": "goal:"}, "object", "goal:42"),
        ({"since": "yesterday"}, "since", "YYYY-MM-DD"),
        ({"since": "2027-02-30"}, "since", "YYYY-MM-DD"),
        ({"since": "9999-12-31"}, "since", OUT_OF_RANGE),
        ({"since": "1970-01-01T00:00:00Z"}, "since", OUT_OF_RANGE),
    ],
)
def test_a_bad_filter_is_a_400_saying_what_to_give(acme, history, params, field, message):
    response = client_for(acme.admin).get(AUDIT, params)
    assert response.status_code == 400, response.content
    assert message in response.json()[field][0]


def test_another_organizations_entries_are_invisible(acme, outsider, history):
    api = client_for(outsider)
    assert ids(api.get(AUDIT)) == [history["globex"].pk]
    assert ids(api.get(AUDIT, {"actor": acme.leader.pk})) == []
    assert ids(api.get(AUDIT, {"object": f"goal:{history['recent'].object_id}"})) == []


@pytest.mark.parametrize("role", ["leader", "manager", "reviewer", "member"])
def test_only_admins_read_the_log(acme, history, role):
    api = client_for(getattr(acme, role))
    response = api.get(AUDIT)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only admins read the audit log."
    assert api.get(AUDIT, {"since": "never"}).status_code == 403  # 403 before 400
    assert APIClient().get(AUDIT).status_code == 401


def test_the_log_cannot_be_written_through_the_api(acme, history):
    api = client_for(acme.admin)
    before = list(Entry.objects.order_by("pk").values())
    pk = history["recent"].pk
    assert api.post(AUDIT, {"action": "forged"}, format="json").status_code == 405
    assert api.patch(f"{AUDIT}{pk}/", {"actor": "x"}, format="json").status_code in (404, 405)
    assert api.delete(f"{AUDIT}{pk}/").status_code in (404, 405)
    assert list(Entry.objects.order_by("pk").values()) == before


def test_the_list_is_paginated_like_the_others(acme, tree):
    for n in range(5):
        record(acme.leader, "goal.updated", tree.strategic, changes={"weight": [n, n + 1]})
    page = client_for(acme.admin).get(AUDIT, {"page_size": 2, "object": "goal"}).json()
    assert page["count"] == Entry.objects.filter(object_type="goal").count() >= 5
    assert len(page["results"]) == 2
    assert page["next"]


def test_an_entry_made_through_a_service_token_names_it(acme, tree):
    token, key = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    patched = api.patch(f"{API}/goals/{tree.department.pk}/", {"weight": 3}, format="json")
    assert patched.status_code == 200, patched.content
    found = client_for(acme.admin).get(AUDIT, {"object": f"goal:{tree.department.pk}"})
    row = found.json()["results"][0]  # the newest
    assert row["action"] == "goal.updated"
    assert (row["actor"], row["token"], row["token_id"]) == ("ada", "Nightly BI sync", token.pk)


# -- the page -----------------------------------------------------------------------------


def test_the_audit_page_shows_who_when_from_where_what_and_old_to_new(client, acme, tree):
    acme.org.timezone = "Europe/Berlin"
    acme.org.save()
    client.force_login(acme.admin.user)
    token, key = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    api.patch(
        f"{API}/goals/{tree.department.pk}/",
        {"title": "Halve the response time"},
        format="json",
        REMOTE_ADDR="203.0.113.5",
    )
    page = client.get("/audit/")
    assert page.status_code == 200
    row = parse(page).find(id=f"entry-{Entry.objects.get(action='goal.updated').pk}")
    text = " ".join(row.text.split())
    assert "2027-03-15 13:00" in text  # noon UTC, in Berlin
    assert "ada" in text and "via token “Nightly BI sync”" in text
    assert "203.0.113.5" in text
    assert "goal.updated" in text and tree.department.title in text
    assert "title: Reduce average response time by 20% → Halve the response time" in text


def test_the_page_filters_with_a_form_and_says_what_is_wrong(client, acme, tree, history):
    client.force_login(acme.admin.user)
    page = client.get("/audit/", {"actor": acme.manager.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="entry-{history["kpi"].pk}"' in html
    assert f'id="entry-{history["recent"].pk}"' not in html
    assert f'<option value="{acme.manager.pk}" selected>' in html

    bad = client.get("/audit/", {"since": "9999-12-31"})
    assert bad.status_code == 400
    assert OUT_OF_RANGE in bad.content.decode()


def test_the_page_is_paginated_newest_first(client, acme, tree):
    for n in range(60):
        record(acme.leader, "goal.updated", tree.strategic, changes={"weight": [n, n + 1]})
    client.force_login(acme.admin.user)
    first = client.get("/audit/", {"object": "goal"})
    assert "weight: 59 → 60" in text(first) and "weight: 0 → 1" not in text(first)
    assert 'rel="next"' in first.content.decode()
    second = client.get("/audit/", {"object": "goal", "page": 2})
    assert "weight: 0 → 1" in text(second)


def test_the_page_shows_no_other_organizations_entries(client, outsider, history):
    client.force_login(outsider.user)
    html = client.get("/audit/").content.decode()
    assert f'id="entry-{history["globex"].pk}"' in html
    assert f'id="entry-{history["recent"].pk}"' not in html


@pytest.mark.parametrize("role", ["leader", "manager", "reviewer", "member"])
def test_only_admins_open_the_page_or_see_its_link(client, acme, role):
    client.force_login(getattr(acme, role).user)
    assert client.get("/audit/").status_code == 403
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_admins_find_the_audit_log_beside_people(client, acme):
    client.force_login(acme.admin.user)
    nav = parse(client.get("/people/")).find(**{"aria-label": "Main"})
    assert "Audit log" in nav.text
    assert 'href="/audit/"' in client.get("/people/").content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_change_made_on_a_page_appears_on_the_audit_page(client, acme, tree):
    goal_update(actor=acme.leader, goal=tree.department, weight=2)
    client.force_login(acme.admin.user)
    page = client.get("/audit/", {"object": f"goal:{tree.department.pk}"})
    assert "weight: 1 → 2" in text(page)
