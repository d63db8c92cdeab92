"""SPEC §3 over HTTP: every endpoint, every role, every place of the tree.

Actors are the `acme` fixture's: `ada` admin, `lena` leader, `max` manager of
Customer Support (scope: Customer Support and Support Tier 2, not Marketing),
`rey` reviewer, `sam` member in Customer Support. An allowed write answers 201/200
with the resource; a forbidden one answers 403 and changes nothing.

Another organization's objects: test_tenancy.py. A write both forbidden and invalid,
PUT and DELETE, a deactivated member: test_refusals.py.
"""

from __future__ import annotations

import pytest

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value
from org.models import Department, Member

from .helpers import API, ROLES, actor, client_for, ids, is_id, new_goal_body, unchanged

pytestmark = pytest.mark.django_db

ALL = frozenset(ROLES)
LEADERSHIP = frozenset({"admin", "leader"})
SUBTREE = LEADERSHIP | {"manager"}


def split(matrix: dict[str, frozenset[str]], verb: str) -> tuple[list, list]:
    """(allowed, refused) `(role, place)` parameters, with ids that read as facts."""
    allowed, refused = [], []
    for place, roles in matrix.items():
        for role in ROLES:
            if role in roles:
                allowed.append(pytest.param(role, place, id=f"{role}_can_{verb}_{place}"))
            else:
                refused.append(pytest.param(role, place, id=f"{role}_cannot_{verb}_{place}"))
    return allowed, refused


GOAL_WRITERS = {
    "strategic": LEADERSHIP,
    "support_department": SUBTREE,
    "marketing_department": LEADERSHIP,
    "tier2_team": SUBTREE,
    "sam_individual": SUBTREE | {"member"},
    "tia_individual": SUBTREE,
    "lee_individual": LEADERSHIP,
}
UPDATE_RECORDERS = {
    **GOAL_WRITERS,
    "support_department_kpi_owned_by_sam": SUBTREE | {"member"},
    "marketing_department_kpi_owned_by_sam": LEADERSHIP | {"member"},
    "sam_individual_kpi_owned_by_max": SUBTREE | {"member"},
}


# ---------------------------------------------------------------- people, departments, cycles

ORG_ONLY = {"admin"}


@pytest.fixture
def org_writes(acme):
    """(url, body) of each admin-only write, with what a successful one returns."""
    return {
        "create_member": (
            "post",
            f"{API}/members/",
            {
                "username": "newbie",
                "email": "newbie@example.com",
                "password": "a-long-password",
                "role": "member",
                "department": acme.tier2.pk,
                "manager": acme.manager.pk,
            },
        ),
        "update_member": ("patch", f"{API}/members/{acme.member.pk}/", {"role": "leader"}),
        "create_department": (
            "post",
            f"{API}/departments/",
            {"name": "Support Tier 3", "parent": acme.tier2.pk, "head": acme.tier2_member.pk},
        ),
        "update_department": (
            "patch",
            f"{API}/departments/{acme.support.pk}/",
            {"name": "Customer Care"},
        ),
        "create_cycle": (
            "post",
            f"{API}/cycles/",
            {"name": "2028", "start": "2028-01-01", "end": "2028-12-31", "cadence": "monthly"},
        ),
        "update_cycle": ("patch", f"{API}/cycles/{acme.cycle.pk}/", {"name": "FY 2027"}),
    }


ORG_WRITES = (
    "create_member",
    "update_member",
    "create_department",
    "update_department",
    "create_cycle",
    "update_cycle",
)


@pytest.mark.parametrize("write", ORG_WRITES)
def test_admin_manages_people_departments_cycles(acme, org_writes, write):
    method, url, body = org_writes[write]
    response = getattr(client_for(acme.admin), method)(url, body, format="json")
    assert response.status_code == (201 if method == "post" else 200), response.content
    data = response.json()
    assert is_id(data["id"])
    for field, value in body.items():
        if field != "password":
            assert data[field] == value, field
    assert "password" not in data


CYCLE_WRITES = ("create_cycle", "update_cycle")


@pytest.mark.parametrize("write", CYCLE_WRITES)
def test_leaders_manage_cycles_too(acme, org_writes, write):
    """SPEC §8.3: the Cycles page is for admins and leaders."""
    method, url, body = org_writes[write]
    response = getattr(client_for(acme.leader), method)(url, body, format="json")
    assert response.status_code == (201 if method == "post" else 200), response.content
    assert response.json()["name"] == body["name"]


@pytest.mark.parametrize(
    ("role", "write"),
    [
        (role, write)
        for write in ORG_WRITES
        for role in ROLES
        if role not in ORG_ONLY and not (role == "leader" and write in CYCLE_WRITES)
    ],
)
def test_only_admins_manage_people_departments_cycles(acme, org_writes, role, write):
    """People and departments: admins only; cycles: admins and leaders (SPEC §8.3)."""
    method, url, body = org_writes[write]
    with unchanged():
        response = getattr(client_for(actor(acme, role)), method)(url, body, format="json")
    assert response.status_code == 403, response.content


def test_created_member_body_and_login(acme, org_writes):
    _, url, body = org_writes["create_member"]
    response = client_for(acme.admin).post(url, body, format="json")
    assert response.status_code == 201
    member = Member.objects.get(pk=response.json()["id"])
    assert response.json() == {
        "id": member.pk,
        "username": "newbie",
        "email": "newbie@example.com",
        "role": "member",
        "department": acme.tier2.pk,
        "manager": acme.manager.pk,
        "is_active": True,
        "external_id": "",
        "updated_at": member.updated_at.isoformat().replace("+00:00", "Z"),
    }
    assert member.organization_id == acme.org.pk
    token = client_for(acme.admin).post(
        f"{API}/auth/token/", {"username": "newbie", "password": "a-long-password"}
    )
    assert token.status_code == 200


def test_created_department_and_cycle_belong_to_the_callers_organization(acme, org_writes):
    client = client_for(acme.admin)
    for write, model in (("create_department", Department), ("create_cycle", Cycle)):
        _, url, body = org_writes[write]
        response = client.post(url, body, format="json")
        assert response.status_code == 201
        assert model.objects.get(pk=response.json()["id"]).organization_id == acme.org.pk


def test_admin_deactivates_a_member(acme, tree):
    response = client_for(acme.admin).patch(
        f"{API}/members/{acme.member.pk}/", {"is_active": False}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False
    assert Goal.objects.filter(owner=acme.member).exists()  # their goals stay


# ---------------------------------------------------------------- goals

CREATE_ALLOWED, CREATE_REFUSED = split(GOAL_WRITERS, "create_goal_at")
EDIT_ALLOWED, EDIT_REFUSED = split(GOAL_WRITERS, "edit_goal")


@pytest.mark.parametrize(("role", "place"), CREATE_ALLOWED)
def test_goal_create_allowed(acme, places, role, place):
    body = new_goal_body(acme, places, place)
    before = Goal.objects.count()
    response = client_for(actor(acme, role)).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    for field, value in body.items():
        assert data[field] == value, field
    assert data["progress"] == 0.0
    assert data["health"] == "no_data"  # 0 % on March 15, but nothing recorded below it yet
    assert data["expected"] == 20.1  # 73 of 364 days
    assert data["state"] == "active"
    assert data["weight"] == 1.0
    assert (data["start"], data["due"]) == ("2027-01-01", "2027-12-31")
    assert Goal.objects.count() == before + 1
    goal = Goal.objects.get(pk=data["id"])
    assert goal.organization_id == acme.org.pk
    assert goal.title == body["title"]


@pytest.mark.parametrize(("role", "place"), CREATE_REFUSED)
def test_goal_create_refused(acme, places, role, place):
    body = new_goal_body(acme, places, place)
    with unchanged():
        response = client_for(actor(acme, role)).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 403, response.content


@pytest.mark.parametrize(("role", "place"), EDIT_ALLOWED)
def test_goal_edit_allowed(acme, places, role, place):
    goal = places.goals[place]
    response = client_for(actor(acme, role)).patch(
        f"{API}/goals/{goal.pk}/", {"title": "Renamed", "weight": goal.weight}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == goal.pk
    assert response.json()["title"] == "Renamed"
    goal.refresh_from_db()
    assert (goal.title, goal.weight) == ("Renamed", 1.0)


# Who may weigh a goal in its parent (SPEC §8.1): whoever may edit the parent.
WEIGH = {
    "strategic": LEADERSHIP,  # no parent: whoever may edit it
    "support_department": LEADERSHIP,
    "marketing_department": LEADERSHIP,
    "tier2_team": SUBTREE,
    "sam_individual": SUBTREE,
    "tia_individual": SUBTREE,
    "lee_individual": LEADERSHIP,
}
WEIGH_ALLOWED, WEIGH_REFUSED = split(WEIGH, "weigh")


@pytest.mark.parametrize(("role", "place"), WEIGH_ALLOWED)
def test_goal_weight_is_set_by_who_may_edit_its_parent(acme, places, role, place):
    goal = places.goals[place]
    response = client_for(actor(acme, role)).patch(
        f"{API}/goals/{goal.pk}/", {"weight": 2.5}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["weight"] == 2.5
    goal.refresh_from_db()
    assert goal.weight == 2.5


@pytest.mark.parametrize(("role", "place"), WEIGH_REFUSED)
def test_goal_weight_is_refused_to_everyone_else_and_nothing_changes(acme, places, role, place):
    goal = places.goals[place]
    with unchanged():
        response = client_for(actor(acme, role)).patch(
            f"{API}/goals/{goal.pk}/", {"title": "Renamed", "weight": 2.5}, format="json"
        )
    assert response.status_code == 403, response.content


@pytest.mark.parametrize(("role", "place"), EDIT_REFUSED)
def test_goal_edit_refused(acme, places, role, place):
    goal = places.goals[place]
    with unchanged():
        response = client_for(actor(acme, role)).patch(
            f"{API}/goals/{goal.pk}/", {"title": "Renamed"}, format="json"
        )
    assert response.status_code == 403, response.content


@pytest.mark.parametrize(
    ("role", "place", "change"),
    [
        pytest.param("manager", "support_department", "to_marketing", id="manager_out_of_scope"),
        pytest.param("manager", "sam_individual", "to_lee", id="manager_gives_goal_to_lee"),
        pytest.param("member", "sam_individual", "to_tia", id="member_gives_own_goal_away"),
        pytest.param("manager", "tier2_team", "to_strategic", id="manager_makes_strategic"),
        pytest.param("member", "sam_individual", "to_strategic", id="member_makes_strategic"),
    ],
)
def test_moving_a_goal_out_of_reach_is_refused(acme, places, role, place, change):
    body = {
        "to_marketing": {"department": acme.marketing.pk},
        "to_lee": {"owner": acme.marketing_member.pk},
        "to_tia": {"owner": acme.tier2_member.pk},
        "to_strategic": {"level": "strategic", "parent": None},
    }[change]
    goal = places.goals[place]
    with unchanged():
        response = client_for(actor(acme, role)).patch(
            f"{API}/goals/{goal.pk}/", body, format="json"
        )
    assert response.status_code == 403, response.content


def test_manager_moves_a_goal_within_scope(acme, places):
    response = client_for(acme.manager).patch(
        f"{API}/goals/{places.tia.pk}/", {"owner": acme.member.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == acme.member.pk


# ---------------------------------------------------------------- KPIs

KPI_CREATE_ALLOWED, KPI_CREATE_REFUSED = split(GOAL_WRITERS, "add_kpi_to")
KPI_EDIT_ALLOWED, KPI_EDIT_REFUSED = split(GOAL_WRITERS, "edit_kpi_of")


def new_kpi_body(goal: Goal) -> dict:
    return {
        "goal": goal.pk,
        "name": "Resolve support tickets within 4 hrs avg",
        "unit": "hours",
        "direction": "decrease",
        "baseline": 6,
        "target": 4,
    }


@pytest.mark.parametrize(("role", "place"), KPI_CREATE_ALLOWED)
def test_kpi_create_allowed(acme, places, role, place):
    caller = actor(acme, role)
    goal = places.goals[place]
    body = new_kpi_body(goal)
    response = client_for(caller).post(f"{API}/kpis/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    for field, value in body.items():
        assert data[field] == value, field
    assert data["owner"] == caller.pk  # default: the caller
    assert data["weight"] == 1.0
    assert data["aggregation"] == "latest"
    assert (data["start"], data["due"]) == (goal.start.isoformat(), goal.due.isoformat())
    # on March 15: 0 % where 20 % was expected
    assert (data["current"], data["progress"], data["health"]) == (None, 0.0, "no_data")
    assert set(data["smart"]) == {"specific", "measurable", "achievable", "relevant", "time_bound"}
    kpi = Kpi.objects.get(pk=data["id"])
    assert (kpi.goal_id, kpi.organization_id, kpi.owner_id) == (goal.pk, acme.org.pk, caller.pk)


@pytest.mark.parametrize(("role", "place"), KPI_CREATE_REFUSED)
def test_kpi_create_refused(acme, places, role, place):
    body = new_kpi_body(places.goals[place])
    with unchanged():
        response = client_for(actor(acme, role)).post(f"{API}/kpis/", body, format="json")
    assert response.status_code == 403, response.content


@pytest.mark.parametrize(("role", "place"), KPI_EDIT_ALLOWED)
def test_kpi_edit_allowed(acme, places, role, place):
    kpi = places.kpis[place]
    response = client_for(actor(acme, role)).patch(
        f"{API}/kpis/{kpi.pk}/", {"name": "Renamed measure", "weight": 3}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["weight"]) == ("Renamed measure", 3.0)
    kpi.refresh_from_db()
    assert (kpi.name, kpi.weight) == ("Renamed measure", 3.0)


@pytest.mark.parametrize(("role", "place"), KPI_EDIT_REFUSED)
def test_kpi_edit_refused(acme, places, role, place):
    kpi = places.kpis[place]
    with unchanged():
        response = client_for(actor(acme, role)).patch(
            f"{API}/kpis/{kpi.pk}/", {"name": "Renamed measure"}, format="json"
        )
    assert response.status_code == 403, response.content


@pytest.mark.parametrize(
    ("role", "place", "to"),
    [
        pytest.param("manager", "support_department", "marketing_department", id="manager"),
        pytest.param("member", "sam_individual", "tia_individual", id="member"),
    ],
)
def test_moving_a_kpi_out_of_reach_is_refused(acme, places, role, place, to):
    kpi = places.kpis[place]
    with unchanged():
        response = client_for(actor(acme, role)).patch(
            f"{API}/kpis/{kpi.pk}/", {"goal": places.goals[to].pk}, format="json"
        )
    assert response.status_code == 403, response.content


# ---------------------------------------------------------------- KPI updates

UPDATE_ALLOWED, UPDATE_REFUSED = split(UPDATE_RECORDERS, "record_on")


@pytest.mark.parametrize(("role", "place"), UPDATE_ALLOWED)
def test_update_allowed(acme, places, role, place):
    caller = actor(acme, role)
    kpi = places.kpis[place]
    response = client_for(caller).post(
        f"{API}/kpis/{kpi.pk}/updates/",
        {"value": 42.5, "note": "Good week", "confidence": "high"},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    update = KpiUpdate.objects.get(pk=data["id"])
    assert data == {
        "id": update.pk,
        "kpi": kpi.pk,
        "value": 42.5,
        "date": acme.org.today().isoformat(),
        "note": "Good week",
        "confidence": "high",
        "author": caller.pk,
        "author_name": caller.display_name,
        "source": None,  # a data source's name, for a value one fetched (SPEC §9.6)
        "created_at": data["created_at"],
        "replaces": None,
        "replaced_by": None,
        "retracted_at": None,
        "retracted_by": None,
        "retract_reason": "",
        "updated_at": data["updated_at"],
    }
    assert data["updated_at"].startswith(acme.org.today().isoformat())
    assert update.author_id == caller.pk
    kpi.refresh_from_db()
    assert kpi.current == 42.5


@pytest.mark.parametrize(("role", "place"), UPDATE_REFUSED)
def test_update_refused(acme, places, role, place):
    kpi = places.kpis[place]
    with unchanged():
        response = client_for(actor(acme, role)).post(
            f"{API}/kpis/{kpi.pk}/updates/", {"value": 42}, format="json"
        )
    assert response.status_code == 403, response.content


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_every_kpi_history(acme, places, role):
    kpi = places.kpis["lee_individual"]
    kpi_record_value(actor=acme.leader, kpi=kpi, value=10)
    response = client_for(actor(acme, role)).get(f"{API}/kpis/{kpi.pk}/updates/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["results"][0]["value"] == 10.0


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_the_whole_tree(acme, places, role):
    client = client_for(actor(acme, role))
    goals = client.get(f"{API}/goals/")
    assert goals.status_code == 200
    assert ids(goals) == {goal.pk for goal in places.goals.values()}
    kpis = client.get(f"{API}/kpis/")
    assert ids(kpis) == {kpi.pk for kpi in places.kpis.values()}
    for goal in places.goals.values():
        assert client.get(f"{API}/goals/{goal.pk}/").status_code == 200
        assert client.get(f"{API}/goals/{goal.pk}/tree/").status_code == 200
        assert client.get(f"{API}/goals/{goal.pk}/alignment/").status_code == 200
