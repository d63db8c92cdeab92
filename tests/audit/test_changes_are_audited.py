"""SPEC §9.2: every change to a goal, a KPI, a cycle or a member is one entry of the
audit log — who, when, from where, what, old → new — whether it is made on its page
or through the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import Entry
from cycles.services import cycle_set_state
from goals.services import goal_create, goal_update
from kpis.services import kpi_edit
from org.tokens import service_token_create

from ..api.helpers import API, client_for
from ..factories import CycleFactory
from .conftest import entries_about

pytestmark = pytest.mark.django_db

CHANNELS = ("page", "api")
PAGE_ADDRESS = "198.51.100.20"  # where the page's person sits
API_ADDRESS = "203.0.113.30"  # where the API's caller sits


@dataclass
class Change:
    """One change, as the API's body, as the page's form, and as the entry says it."""

    api: dict[str, Any]
    page: dict[str, Any]
    expected: dict[str, list[Any]]
    action: str = ""
    setup: dict[str, Any] = field(default_factory=dict)


def ref(obj, label: str) -> dict[str, Any]:
    return {"id": obj.pk, "label": label}


# -- goals -------------------------------------------------------------------------------


@pytest.fixture
def other_objective(acme, tree):
    return goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Grow revenue")


def goal_change(name: str, acme, tree, goal, other) -> Change:
    return {
        "title": Change(
            api={"title": "Open a third site"},
            page={"title": "Open a third site"},
            expected={"title": ["Open a second site", "Open a third site"]},
        ),
        "parent": Change(
            api={"parent": other.pk},
            page={"parent": other.pk},
            expected={
                "parent": [
                    ref(tree.strategic, "Improve customer experience"),
                    ref(other, "Grow revenue"),
                ]
            },
        ),
        "weight": Change(
            api={"weight": 2.5}, page={"weight": "2.5"}, expected={"weight": [1.0, 2.5]}
        ),
        "owner": Change(
            api={"owner": acme.member.pk},
            page={"owner": acme.member.pk},
            expected={"owner": [ref(acme.manager, "max"), ref(acme.member, "sam")]},
        ),
        "state": Change(
            api={"state": "done"}, page={"state": "done"}, expected={"state": ["active", "done"]}
        ),
        "start": Change(
            api={"start": "2027-02-01"},
            page={"start": "2027-02-01"},
            expected={"start": ["2027-01-01", "2027-02-01"]},
        ),
        "due": Change(
            api={"due": "2027-11-30"},
            page={"due": "2027-11-30"},
            expected={"due": ["2027-12-31", "2027-11-30"]},
        ),
    }[name]


def goal_form(goal, **typed) -> dict[str, Any]:
    """The goal's edit form as it stands, with `typed` typed over it."""
    return {
        "title": goal.title,
        "rationale": goal.rationale,
        "level": goal.level,
        "department": goal.department_id or "",
        "owner": goal.owner_id or "",
        "weight": goal.weight,
        "parent": goal.parent_id or "",
        "state": goal.state,
        "start": goal.start.isoformat(),
        "due": goal.due.isoformat(),
    } | typed


def signed_in(client, member):
    client.force_login(member.user)
    return client


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", ["title", "parent", "weight", "owner", "state", "start", "due"])
def test_a_goal_change_is_one_entry_old_to_new(
    channel, name, acme, tree, goal, other_objective, client
):
    change = goal_change(name, acme, tree, goal, other_objective)
    if channel == "api":
        response = client_for(acme.leader).patch(
            f"{API}/goals/{goal.pk}/", change.api, format="json", REMOTE_ADDR=API_ADDRESS
        )
        assert response.status_code == 200, response.content
    else:
        page = signed_in(client, acme.leader)
        if name == "state":  # the goal page's Done button
            response = page.post(f"/goals/{goal.pk}/state/", change.page, REMOTE_ADDR=PAGE_ADDRESS)
        else:
            form = goal_form(goal, **change.page)
            response = page.post(f"/goals/{goal.pk}/edit/", form, REMOTE_ADDR=PAGE_ADDRESS)
        assert response.status_code == 302, response.content

    [entry] = entries_about(goal, "goal.updated")
    assert entry.changes == change.expected
    assert (entry.actor_id, entry.actor) == (acme.leader.pk, "lena")
    assert entry.organization_id == acme.org.pk
    assert entry.ip == (API_ADDRESS if channel == "api" else PAGE_ADDRESS)
    assert entry.object_label == goal.title or name == "title"


def test_a_new_goal_is_one_entry_with_what_it_was_given(acme, tree):
    response = client_for(acme.leader).post(
        f"{API}/goals/",
        {
            "cycle": acme.cycle.pk,
            "level": "individual",
            "title": "Answer 20 tickets a day",
            "parent": tree.department.pk,
            "owner": acme.member.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    new = tree.department.children.get(title="Answer 20 tickets a day")
    [entry] = entries_about(new, "goal.created")
    assert entry.changes["title"] == [None, "Answer 20 tickets a day"]
    assert entry.changes["parent"] == [None, ref(tree.department, tree.department.title)]
    assert entry.changes["owner"] == [None, ref(acme.member, "sam")]
    assert entry.changes["state"] == [None, "active"]
    assert entry.changes["start"] == [None, "2027-01-01"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_deleted_goal_is_one_entry_that_keeps_its_title(channel, acme, goal, client):
    if channel == "api":
        response = client_for(acme.leader).delete(f"{API}/goals/{goal.pk}/")
        assert response.status_code == 204, response.content
    else:
        response = signed_in(client, acme.leader).post(f"/goals/{goal.pk}/delete/")
        assert response.status_code == 302, response.content
    [entry] = entries_about(goal, "goal.deleted")
    assert entry.object_label == "Open a second site"
    assert entry.changes["title"] == ["Open a second site", None]
    assert entry.changes["state"] == ["active", None]


def test_a_goal_saved_unchanged_records_nothing(acme, goal, client):
    page = signed_in(client, acme.leader)
    assert page.post(f"/goals/{goal.pk}/edit/", goal_form(goal)).status_code == 302
    assert entries_about(goal, "goal.updated") == []


def test_a_refused_change_records_nothing(acme, goal):
    before = Entry.objects.count()
    response = client_for(acme.marketing_member).patch(
        f"{API}/goals/{goal.pk}/", {"title": "Not mine"}, format="json"
    )
    assert response.status_code == 403
    invalid = client_for(acme.leader).patch(
        f"{API}/goals/{goal.pk}/", {"weight": -1}, format="json"
    )
    assert invalid.status_code == 400
    assert Entry.objects.count() == before


def test_a_change_through_a_service_token_names_the_token(acme, goal):
    token, key = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    answer = api.patch(f"{API}/goals/{goal.pk}/", {"title": "Synced"}, format="json")
    assert answer.status_code == 200, answer.content
    [entry] = entries_about(goal, "goal.updated")
    assert (entry.actor_id, entry.actor) == (acme.admin.pk, "ada")
    assert (entry.token_id, entry.token) == (token.pk, "Nightly BI sync")


# -- KPIs --------------------------------------------------------------------------------


def kpi_change(name: str, acme, kpi) -> Change:
    return {
        "name": Change(
            api={"name": "Sites opened"},
            page={"name": "Sites opened"},
            expected={"name": ["Sites open", "Sites opened"]},
        ),
        "baseline": Change(
            api={"baseline": 0}, page={"baseline": "0"}, expected={"baseline": [1.0, 0.0]}
        ),
        "target": Change(api={"target": 4}, page={"target": "4"}, expected={"target": [3.0, 4.0]}),
        # A decreasing KPI's target lies below its baseline: both change.
        "direction": Change(
            api={"direction": "decrease", "target": 0},
            page={"direction": "decrease", "target": "0"},
            expected={"direction": ["increase", "decrease"], "target": [3.0, 0.0]},
        ),
        "owner": Change(
            api={"owner": acme.member.pk},
            page={"owner": acme.member.pk},
            expected={"owner": [ref(acme.manager, "max"), ref(acme.member, "sam")]},
        ),
        "archive": Change(
            api={"state": "archived"},
            page={"state": "archived"},
            expected={"state": ["active", "archived"]},
            action="kpi.archived",
        ),
        "unarchive": Change(
            api={"state": "active"},
            page={"state": "active"},
            expected={"state": ["archived", "active"]},
            action="kpi.unarchived",
            setup={"state": "archived"},
        ),
    }[name]


def kpi_form(kpi, **typed) -> dict[str, Any]:
    return {
        "name": kpi.name,
        "description": kpi.description,
        "unit": kpi.unit,
        "direction": kpi.direction,
        "aggregation": kpi.aggregation,
        "baseline": kpi.baseline,
        "target": kpi.target,
        "weight": kpi.weight,
        "owner": kpi.owner_id,
        "start": kpi.start.isoformat(),
        "due": kpi.due.isoformat(),
    } | typed


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    "name", ["name", "baseline", "target", "direction", "owner", "archive", "unarchive"]
)
def test_a_kpi_change_is_one_entry_old_to_new(channel, name, acme, kpi, client):
    change = kpi_change(name, acme, kpi)
    if change.setup:
        kpi_edit(actor=acme.leader, kpi=kpi, **change.setup)
    action = change.action or "kpi.updated"
    before = len(entries_about(kpi, action))
    if channel == "api":
        response = client_for(acme.leader).patch(
            f"{API}/kpis/{kpi.pk}/", change.api, format="json", REMOTE_ADDR=API_ADDRESS
        )
        assert response.status_code == 200, response.content
    else:
        page = signed_in(client, acme.leader)
        if "state" in change.page:  # the goal page's Archive / Restore button
            url, form = f"/kpis/{kpi.pk}/archive/", change.page
        else:
            url, form = f"/kpis/{kpi.pk}/edit/", kpi_form(kpi, **change.page)
        response = page.post(url, form, REMOTE_ADDR=PAGE_ADDRESS)
        assert response.status_code == 302, response.content

    entries = entries_about(kpi, action)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.changes == change.expected
    assert (entry.actor_id, entry.ip) == (
        acme.leader.pk,
        API_ADDRESS if channel == "api" else PAGE_ADDRESS,
    )


# -- cycles ------------------------------------------------------------------------------


def cycle_change(name: str) -> Change:
    return {
        "name": Change(
            api={"name": "FY 2027"},
            page={"name": "FY 2027"},
            expected={"name": ["2027", "FY 2027"]},
        ),
        "start": Change(
            api={"start": "2026-12-01"},
            page={"start": "2026-12-01"},
            expected={"start": ["2027-01-01", "2026-12-01"]},
        ),
        "end": Change(
            api={"end": "2028-01-31"},
            page={"end": "2028-01-31"},
            expected={"end": ["2027-12-31", "2028-01-31"]},
        ),
        "cadence": Change(
            api={"cadence": "monthly"},
            page={"cadence": "monthly"},
            expected={"cadence": ["quarterly", "monthly"]},
        ),
        "current": Change(
            api={"is_current": True},
            page={"action": "current"},
            expected={"is_current": [False, True]},
        ),
        "close": Change(
            api={},
            page={"action": "close"},
            expected={"state": ["open", "closed"]},
            action="cycle.closed",
        ),
        "reopen": Change(
            api={},
            page={"action": "reopen"},
            expected={"state": ["closed", "open"]},
            action="cycle.reopened",
            setup={"state": "closed"},
        ),
    }[name]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", ["name", "start", "end", "cadence", "current", "close", "reopen"])
def test_a_cycle_change_is_one_entry_old_to_new(channel, name, acme, tree, client):
    cycle = acme.cycle
    change = cycle_change(name)
    if change.setup:
        cycle_set_state(actor=acme.leader, cycle=cycle, state=change.setup["state"])
    action = change.action or "cycle.updated"
    before = len(entries_about(cycle, action))
    if channel == "api":
        api = client_for(acme.leader)
        if name in ("close", "reopen"):
            response = api.post(f"{API}/cycles/{cycle.pk}/{name}/", REMOTE_ADDR=API_ADDRESS)
        else:
            response = api.patch(
                f"{API}/cycles/{cycle.pk}/", change.api, format="json", REMOTE_ADDR=API_ADDRESS
            )
        assert response.status_code == 200, response.content
    else:
        page = signed_in(client, acme.leader)
        if "action" in change.page:  # the Cycles page's Close / Reopen / Make current
            url, form = f"/cycles/{cycle.pk}/state/", change.page
        else:
            fields = {"name": cycle.name, "start": cycle.start, "end": cycle.end}
            url, form = (
                f"/cycles/{cycle.pk}/edit/",
                fields | {"cadence": cycle.cadence} | change.page,
            )
        response = page.post(url, form, REMOTE_ADDR=PAGE_ADDRESS)
        assert response.status_code == 302, response.content

    entries = entries_about(cycle, action)
    assert len(entries) == before + 1
    assert entries[-1].changes == change.expected
    assert entries[-1].ip == (API_ADDRESS if channel == "api" else PAGE_ADDRESS)


def test_marking_a_cycle_current_records_the_one_it_replaces(acme):
    current = CycleFactory(
        organization=acme.org,
        name="2026",
        is_current=True,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
    )
    response = client_for(acme.leader).patch(
        f"{API}/cycles/{acme.cycle.pk}/", {"is_current": True}, format="json"
    )
    assert response.status_code == 200, response.content
    [unmarked] = entries_about(current, "cycle.updated")
    assert unmarked.changes == {"is_current": [True, False]}


def test_a_new_cycle_is_one_entry(acme):
    response = client_for(acme.leader).post(
        f"{API}/cycles/",
        {"name": "FY 2028", "start": "2028-01-01", "end": "2028-12-31"},
        format="json",
    )
    assert response.status_code == 201, response.content
    [entry] = Entry.objects.filter(action="cycle.created")
    assert entry.object_label == "FY 2028"
    assert entry.changes["start"] == [None, "2028-01-01"]
    assert entry.changes["state"] == [None, "open"]


# -- members -----------------------------------------------------------------------------


def member_change(name: str, acme) -> Change:
    return {
        "role": Change(
            api={"role": "manager"},
            page={"role": "manager"},
            expected={"role": ["member", "manager"]},
        ),
        "department": Change(
            api={"department": acme.marketing.pk},
            page={"department": acme.marketing.pk},
            expected={
                "department": [
                    ref(acme.support, "Customer Support"),
                    ref(acme.marketing, "Marketing"),
                ]
            },
        ),
        "active": Change(
            api={"is_active": False}, page={"is_active": ""}, expected={"is_active": [True, False]}
        ),
    }[name]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", ["role", "department", "active"])
def test_a_member_change_is_one_entry_old_to_new(channel, name, acme, client):
    person = acme.member
    change = member_change(name, acme)
    if channel == "api":
        response = client_for(acme.admin).patch(
            f"{API}/members/{person.pk}/", change.api, format="json", REMOTE_ADDR=API_ADDRESS
        )
        assert response.status_code == 200, response.content
    else:
        row = {
            "role": person.role,
            "department": person.department_id,
            "manager": person.manager_id,
            "is_active": "on",
        } | change.page
        form = {f"m{person.pk}-{key}": value for key, value in row.items() if value != ""}
        response = signed_in(client, acme.admin).post(
            f"/people/{person.pk}/", form, REMOTE_ADDR=PAGE_ADDRESS
        )
        assert response.status_code == 302, response.content

    [entry] = entries_about(person, "member.updated")
    assert entry.changes == change.expected
    assert (entry.actor_id, entry.actor) == (acme.admin.pk, "ada")
    assert entry.ip == (API_ADDRESS if channel == "api" else PAGE_ADDRESS)
    assert entry.object_label == "sam"


def test_a_new_member_is_one_entry(acme):
    response = client_for(acme.admin).post(
        f"{API}/members/",
        {"username": "nina", "email": "nina@example.com", "role": "member"},
        format="json",
    )
    assert response.status_code == 201, response.content
    [entry] = Entry.objects.filter(action="member.created")
    assert entry.object_id == str(response.json()["id"])
    assert entry.changes["username"] == [None, "nina"]
    assert entry.changes["role"] == [None, "member"]


def test_a_job_outside_a_request_is_recorded_with_no_address(acme, goal):
    goal_update(actor=acme.leader, goal=goal, title="Renamed by a script")
    [entry] = entries_about(goal, "goal.updated")
    assert entry.ip is None
    assert entry.actor == "lena"
