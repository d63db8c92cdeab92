"""SPEC §9.2 "No 500": every date a person or a client gives lies in 2000–2100. A date
outside (9999-12-31, 1999-01-01, 1900-01-01) is a 400 naming the field, with the same
message everywhere, and changes nothing; 2099 is as good as any other year. Goals' and
KPIs' start and due, cycles' start and end, KPI values' dates, reviews' times, action
items' due days, `?as_of=` and import rows all follow the one rule (core/dates.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.dates import OUT_OF_RANGE
from cycles.models import Cycle
from goals.models import Goal
from goals.services import goal_create
from kpis.models import KpiUpdate
from kpis.services import kpi_create, kpi_record_value
from reviews.models import ActionItem
from reviews.services import action_create, review_create

from .api.helpers import API, client_for
from .cycles.imports import EXAMPLE
from .factories import CycleFactory
from .pages.helpers import HTMX, parse
from .reviews.helpers import rows

pytestmark = pytest.mark.django_db

FAR = ["9999-12-31", "1999-01-01", "1900-01-01"]


@pytest.fixture
def far_cycle(acme):
    """A cycle in 2099, with a goal, a KPI and a review in it: where 2099 is allowed."""
    cycle = CycleFactory(
        organization=acme.org, name="2099", start=dt.date(2099, 1, 1), end=dt.date(2099, 12, 31)
    )
    cycle.goal = goal_create(actor=acme.leader, cycle=cycle, level="strategic", title="Endure")
    cycle.kpi = kpi_create(
        actor=acme.leader,
        goal=cycle.goal,
        name="Years served",
        unit="years",
        baseline=0,
        target=10,
        owner=acme.leader,
    )
    cycle.review = review_create(
        actor=acme.leader,
        cycle=cycle,
        title="Far check-in",
        period="2099-Q1",
        scheduled_for=dt.datetime(2099, 3, 1, 10, tzinfo=dt.UTC),
    )
    return cycle


def goal_body(cycle: Cycle, field: str, day: str) -> dict:
    return {"cycle": cycle.pk, "level": "strategic", "title": "A far goal", field: day}


def kpi_body(cycle: Cycle, field: str, day: str) -> dict:
    return {
        "goal": cycle.goal.pk,
        "name": "A far KPI",
        "unit": "%",
        "baseline": 0,
        "target": 100,
        field: day,
    }


def review_body(cycle: Cycle, day: str) -> dict:
    return {
        "cycle": cycle.pk,
        "title": "A far review",
        "period": "2099-Q1",
        "scheduled_for": f"{day}T10:00:00Z",
    }


def action_body(acme, day: str) -> dict:
    return {"title": "Call back", "owner": acme.leader.pk, "due": day}


# name → (method, url, body for a day, the field named); each by the leader.
WRITES = {
    "goal start": lambda a, c: ("post", "goals/", lambda d: goal_body(c, "start", d), "start"),
    "goal due": lambda a, c: ("post", "goals/", lambda d: goal_body(c, "due", d), "due"),
    "goal due, changed": lambda a, c: (
        "patch",
        f"goals/{c.goal.pk}/",
        lambda d: {"due": d},
        "due",
    ),
    "kpi start": lambda a, c: ("post", "kpis/", lambda d: kpi_body(c, "start", d), "start"),
    "kpi due": lambda a, c: ("post", "kpis/", lambda d: kpi_body(c, "due", d), "due"),
    "cycle start": lambda a, c: (
        "post",
        "cycles/",
        lambda d: {"name": "Far", "start": d, "end": "2100-12-31"},
        "start",
    ),
    "cycle end": lambda a, c: (
        "post",
        "cycles/",
        lambda d: {"name": "Far", "start": "2000-01-01", "end": d},
        "end",
    ),
    "cycle end, changed": lambda a, c: (
        "patch",
        f"cycles/{c.pk}/",
        lambda d: {"end": d},
        "end",
    ),
    "review time": lambda a, c: ("post", "reviews/", lambda d: review_body(c, d), "scheduled_for"),
    "review time, changed": lambda a, c: (
        "patch",
        f"reviews/{c.review.pk}/",
        lambda d: {"scheduled_for": f"{d}T10:00:00Z"},
        "scheduled_for",
    ),
    "action due": lambda a, c: (
        "post",
        f"reviews/{c.review.pk}/actions/",
        lambda d: action_body(a, d),
        "due",
    ),
}


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("name", WRITES)
def test_a_date_outside_2000_to_2100_is_a_400_naming_the_field(acme, far_cycle, name, day):
    method, url, body, field = WRITES[name](acme, far_cycle)
    before = rows()
    response = getattr(client_for(acme.leader), method)(f"{API}/{url}", body(day), format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field] == [OUT_OF_RANGE]
    assert rows() == before


def test_2099_is_a_date_like_any_other(acme, far_cycle):
    leader = client_for(acme.leader)
    created = leader.post(f"{API}/goals/", goal_body(far_cycle, "due", "2099-01-02"), format="json")
    assert created.status_code == 201, created.content
    assert Goal.objects.get(pk=created.json()["id"]).due == dt.date(2099, 1, 2)
    cycle = leader.post(
        f"{API}/cycles/", {"name": "Far", "start": "2099-01-01", "end": "2100-12-31"}
    )
    assert cycle.status_code == 201, cycle.content
    review = leader.post(f"{API}/reviews/", review_body(far_cycle, "2099-01-01"), format="json")
    assert review.status_code == 201, review.content
    action = leader.post(
        f"{API}/reviews/{far_cycle.review.pk}/actions/", action_body(acme, "2099-01-01")
    )
    assert action.status_code == 201, action.content
    assert ActionItem.objects.get().due == dt.date(2099, 1, 1)


@pytest.mark.parametrize("day", [*FAR, "2099-01-01"])
def test_a_kpi_value_dated_outside_the_years_or_in_the_future_is_refused(acme, tree, day):
    """A value can't be dated later than today anyway; a far date says what is allowed."""
    kpi = tree.individual_kpi
    before = rows()
    response = client_for(acme.member).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": 5, "date": day}, format="json"
    )
    assert response.status_code == 400, response.content
    expected = OUT_OF_RANGE if day in FAR else "Can't be later than today (2027-03-15)."
    assert response.json()["date"] == [expected]
    bulk = client_for(acme.member).post(
        f"{API}/kpis/updates/", [{"kpi": kpi.pk, "value": 5, "date": day}], format="json"
    )
    assert bulk.status_code == 400, bulk.content
    assert expected in str(bulk.json())
    assert rows() == before
    assert not KpiUpdate.objects.exists()


@pytest.mark.parametrize("day", FAR)
def test_as_of_outside_the_years_is_a_400_on_the_api(acme, tree, day):
    response = client_for(acme.member).get(f"{API}/goals/{tree.strategic.pk}/tree/?as_of={day}")
    assert response.status_code == 400, response.content
    assert response.json()["as_of"] == [OUT_OF_RANGE]


def test_as_of_in_2099_is_today_and_2026_is_the_past(acme, tree):
    member = client_for(acme.member)
    assert member.get(f"{API}/goals/{tree.strategic.pk}/tree/?as_of=2099-01-01").status_code == 200
    assert member.get(f"{API}/goals/{tree.strategic.pk}/tree/?as_of=2026-12-31").status_code == 200


@pytest.mark.parametrize("page", ["/", "/cascade/"])
@pytest.mark.parametrize("day", FAR)
def test_as_of_outside_the_years_on_a_page_is_said_beside_the_date(client, acme, tree, page, day):
    client.force_login(acme.member.user)
    response = client.get(f"{page}?as_of={day}")
    assert response.status_code == 200
    assert OUT_OF_RANGE in response.content.decode()


@pytest.mark.parametrize("day", FAR)
def test_a_cycle_page_form_with_a_far_date_is_answered_in_place(client, acme, day):
    client.force_login(acme.leader.user)
    before = rows()
    body = {"name": "Far", "start": day, "end": "2100-12-31", "cadence": "quarterly"}
    response = client.post("/cycles/", body, headers=HTMX)
    assert response.status_code == 400
    assert OUT_OF_RANGE in parse(response).find(id="cycle-new").text
    assert rows() == before


def test_a_goal_page_form_with_a_far_due_date_is_refused(client, acme, tree):
    client.force_login(acme.leader.user)
    before = rows()
    response = client.post(
        f"/goals/{tree.strategic.pk}/edit/",
        {
            "title": tree.strategic.title,
            "level": "strategic",
            "state": "active",
            "due": "9999-12-31",
            "weight": "1",
        },
        headers=HTMX,
    )
    assert response.status_code == 400, response.content
    assert OUT_OF_RANGE in response.content.decode()
    assert rows() == before


@pytest.mark.parametrize("day", FAR)
def test_an_import_row_with_a_far_due_date_is_refused_on_its_row(acme, day):
    text = EXAMPLE.splitlines()
    text[0] += ",Due"
    text[1] += f",{day}"
    before = rows()
    response = client_for(acme.leader).post(
        f"{API}/cycles/{acme.cycle.pk}/import/",
        "\n".join(text[:2]).encode(),
        content_type="text/csv",
    )
    assert response.status_code == 400, response.content
    assert OUT_OF_RANGE in str(response.json()["rows"]["2"])
    assert rows() == before


NO_500 = {
    "review time with an offset": lambda a, c, t: (
        "post",
        "reviews/",
        {**review_body(c, "9999-12-31"), "scheduled_for": "9999-12-31T23:59:59-05:00"},
    ),
    "review time without an offset": lambda a, c, t: (
        "post",
        "reviews/",
        {**review_body(c, "9999-12-31"), "scheduled_for": "9999-12-31T23:59:59"},
    ),
    "review time, the first instant": lambda a, c, t: (
        "post",
        "reviews/",
        {**review_body(c, "0001-01-01"), "scheduled_for": "0001-01-01T00:00:00+05:00"},
    ),
    "updated_since": lambda a, c, t: ("get", "goals/?updated_since=9999-12-31T23:59:59Z", None),
    "kpi due, changed": lambda a, c, t: ("patch", f"kpis/{c.kpi.pk}/", {"due": "9999-12-31"}),
    "correction": lambda a, c, t: (
        "post",
        f"kpis/{t.kpi.pk}/updates/{t.value.pk}/correct/",
        {"value": 1, "date": "9999-12-31"},
    ),
    "action due, changed": lambda a, c, t: (
        "patch",
        f"reviews/{c.review.pk}/actions/{t.action.pk}/",
        {"due": "9999-12-31"},
    ),
}


@pytest.mark.parametrize("name", NO_500)
def test_no_far_date_anywhere_is_a_500(acme, tree, far_cycle, name):
    tree.kpi = tree.individual_kpi
    tree.value = kpi_record_value(actor=acme.leader, kpi=tree.kpi, value=5)
    tree.action = action_create(
        actor=acme.leader,
        review=far_cycle.review,
        title="Call back",
        owner=acme.leader,
        due=dt.date(2099, 3, 1),
    )
    method, url, body = NO_500[name](acme, far_cycle, tree)
    before = rows()
    leader = client_for(acme.leader)
    args = (body,) if body is not None else ()
    response = getattr(leader, method)(f"{API}/{url}", *args, format="json")
    assert response.status_code < 500, response.content
    if method != "get":
        assert response.status_code == 400, response.content
        assert rows() == before
