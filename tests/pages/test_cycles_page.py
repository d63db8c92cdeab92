"""The Cycles page (SPEC §8.3): leaders and admins create, edit, close, reopen and
mark cycles current, and roll goals over, with every refusal shown and nothing changed."""

from __future__ import annotations

import datetime as dt

import pytest

from cycles.models import Cycle
from goals.models import Goal
from goals.services import goal_create
from kpis.models import Kpi
from kpis.services import kpi_create, kpi_record_value

from ..factories import CycleFactory
from .helpers import HTMX, parse

NEW = {"name": "Q2 2027", "start": "2027-04-01", "end": "2027-06-30", "cadence": "monthly"}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_a_leader_or_admin_creates_a_cycle_in_place(client, acme, role):
    client.force_login(getattr(acme, role).user)
    page = client.get("/cycles/")
    assert page.status_code == 200 and b"New cycle" in page.content
    response = client.post("/cycles/", NEW, headers=HTMX)
    assert response.status_code == 204 and response["HX-Location"] == "/cycles/"
    created = Cycle.objects.get(organization=acme.org, name="Q2 2027")
    assert (created.start, created.end, created.cadence, created.state) == (
        dt.date(2027, 4, 1),
        dt.date(2027, 6, 30),
        "monthly",
        "open",
    )
    listed = client.get("/cycles/")
    assert "“Q2 2027” is created" in listed.content.decode()
    assert listed.context["cycle"] == acme.cycle  # nobody's view changed


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**NEW, "name": ""}, "name", "This field is required."),
        ({**NEW, "end": "2027-03-01"}, "end", "Must be after the start date."),
        ({**NEW, "name": "2027"}, "name", "Another cycle already has this name."),
        ({**NEW, "start": "soon"}, "start", "Enter a valid date."),
    ],
)
def test_a_bad_cycle_is_answered_in_place_with_its_reason(client, acme, body, field, message):
    client.force_login(acme.leader.user)
    response = client.post("/cycles/", body, headers=HTMX)
    assert response.status_code == 400
    form = parse(response).find(id="cycle-new")
    assert form is not None, "the answer is the form, for its own place"
    assert message in form.text
    assert Cycle.objects.filter(organization=acme.org).count() == 1


@pytest.mark.parametrize("role", ["manager", "member", "reviewer"])
def test_others_are_refused_the_cycles_page_and_change_nothing(client, acme, role):
    client.force_login(getattr(acme, role).user)
    assert client.get("/cycles/").status_code == 403
    assert client.post("/cycles/", NEW, headers=HTMX).status_code == 403
    close = client.post(f"/cycles/{acme.cycle.pk}/state/", {"action": "close"}, headers=HTMX)
    assert close.status_code == 403
    assert b"Only leaders and admins manage cycles." in close.content
    assert fresh(acme.cycle).state == "open"
    assert Cycle.objects.count() == 1
    assert b'href="/cycles/"' not in client.get("/").content


def test_close_then_reopen_from_the_page(client, acme, tree):
    client.force_login(acme.leader.user)
    closed = client.post(f"/cycles/{acme.cycle.pk}/state/", {"action": "close"}, headers=HTMX)
    assert closed.status_code == 204
    assert fresh(acme.cycle).state == "closed"
    client.force_login(acme.member.user)
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert "“2027” is closed" in page
    refused = client.post(
        f"/kpis/{tree.individual_kpi.pk}/record/",
        {f"kpi{tree.individual_kpi.pk}-value": "5"},
        headers=HTMX,
    )
    assert refused.status_code == 400
    assert "This cycle is closed" in refused.content.decode()
    assert not fresh(tree.individual_kpi).current
    client.force_login(acme.admin.user)
    client.post(f"/cycles/{acme.cycle.pk}/state/", {"action": "reopen"})
    assert fresh(acme.cycle).state == "open"


def test_make_current_marks_one_cycle(client, acme):
    other = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    client.force_login(acme.leader.user)
    client.post(f"/cycles/{other.pk}/state/", {"action": "current"})
    assert list(Cycle.objects.filter(is_current=True)) == [other]
    client.force_login(acme.member.user)
    assert client.get("/").context["cycle"] == other


def test_edit_a_cycle_on_its_page(client, acme):
    client.force_login(acme.leader.user)
    body = {"name": "FY 2027", "start": "2027-01-01", "end": "2027-12-31", "cadence": "monthly"}
    assert client.post(f"/cycles/{acme.cycle.pk}/edit/", body).status_code == 302
    assert (fresh(acme.cycle).name, fresh(acme.cycle).cadence) == ("FY 2027", "monthly")
    bad = client.post(f"/cycles/{acme.cycle.pk}/edit/", {**body, "end": "2026-01-01"})
    assert bad.status_code == 400 and "Must be after the start date." in bad.content.decode()
    assert fresh(acme.cycle).end == dt.date(2027, 12, 31)


def test_rollover_page_offers_the_unfinished_goals_and_copies_them(client, acme, places):
    kpi_record_value(actor=acme.member, kpi=places.individual_kpi, value=5)
    kpi_record_value(actor=acme.tier2_member, kpi=places.kpis["tia_individual"], value=100)
    Goal.objects.filter(pk=places.lee.pk).update(state="done")
    target = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    client.force_login(acme.leader.user)
    page = parse(client.get(f"/cycles/{acme.cycle.pk}/rollover/"))
    checked = {
        int(box.attrs["value"])
        for box in page.controls()
        if box.attrs.get("name") == "goals" and "checked" in box.attrs
    }
    assert places.individual.pk in checked
    assert places.tia.pk not in checked  # at 100 %
    assert places.lee.pk not in checked  # done
    response = client.post(
        f"/cycles/{acme.cycle.pk}/rollover/",
        {"to_cycle": target.pk, "goals": [places.individual.pk]},
    )
    assert response.status_code == 302 and response["Location"] == f"/cascade/?cycle={target.pk}"
    copied = Goal.objects.filter(cycle=target)
    assert copied.count() == 3  # sam's goal and the two above it
    kpi = Kpi.objects.get(goal__cycle=target, copied_from=places.individual_kpi)
    assert kpi.baseline == 5
    shown = client.get(response["Location"]).content.decode()
    assert "3 goals copied into “2028”" in shown


def test_rollover_without_goals_or_target_says_what_to_do(client, acme, tree):
    client.force_login(acme.leader.user)
    response = client.post(f"/cycles/{acme.cycle.pk}/rollover/", {})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Pick at least one goal to roll over." in text
    assert "This field is required." in text
    assert Goal.objects.count() == 3


def test_a_cycle_still_ahead_warns_of_no_kpi_without_a_value(client, acme):
    """Its KPIs can't have a value before they start: the dashboard doesn't ask for one."""
    ahead = CycleFactory(
        organization=acme.org, name="Q2 2027", start=dt.date(2027, 4, 1), end=dt.date(2027, 6, 30)
    )
    objective = goal_create(actor=acme.leader, cycle=ahead, level="strategic", title="Grow")
    kpi_create(actor=acme.leader, goal=objective, name="Revenue", unit="k€", baseline=0, target=10)
    client.force_login(acme.leader.user)
    page = client.get(f"/?cycle={ahead.pk}").content.decode()
    assert "with no update in" not in page
