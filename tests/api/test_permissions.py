"""SPEC §3 over HTTP: every endpoint, every role, every place of the tree.

Actors are the `acme` fixture's: `ada` admin, `lena` leader, `max` manager of
Customer Support (scope: Customer Support and Support Tier 2, not Marketing),
`rey` reviewer, `sam` member in Customer Support. An allowed write answers 201/200
with the resource; a forbidden one answers 403 and changes nothing, even when the
input is also invalid. Another organization's object is a 404 at its URL and a 400
on the field that names it in a body; no list ever shows another organization's rows.
"""

from __future__ import annotations

import pytest

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value
from org.models import Department, Member
from tests.factories import GoalFactory, KpiFactory, MemberFactory

from .helpers import API, client_for, ids, is_id, unchanged

pytestmark = pytest.mark.django_db

ROLES = ("admin", "leader", "manager", "reviewer", "member")
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


def actor(acme, role: str) -> Member:
    return getattr(acme, role)


def new_goal_body(acme, p, place: str) -> dict:
    """The body creating a goal at `place`: its level, parent, department or owner."""
    cycle = acme.cycle.pk
    return {
        "strategic": {"cycle": cycle, "level": "strategic", "title": "Grow revenue"},
        "support_department": {
            "cycle": cycle,
            "level": "department",
            "title": "Answer every call",
            "parent": p.strategic.pk,
            "department": acme.support.pk,
        },
        "marketing_department": {
            "cycle": cycle,
            "level": "department",
            "title": "Run a brand campaign",
            "parent": p.strategic.pk,
            "department": acme.marketing.pk,
        },
        "tier2_team": {
            "cycle": cycle,
            "level": "team",
            "title": "Shorten escalations",
            "parent": p.department.pk,
            "department": acme.tier2.pk,
        },
        "sam_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Answer 20 tickets a day",
            "parent": p.department.pk,
            "owner": acme.member.pk,
        },
        "tia_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Close 5 escalations a week",
            "parent": p.tier2.pk,
            "owner": acme.tier2_member.pk,
        },
        "lee_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Book 10 demos a month",
            "parent": p.marketing.pk,
            "owner": acme.marketing_member.pk,
        },
    }[place]


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
        "created_at": data["created_at"],
        "replaces": None,
        "replaced_by": None,
        "retracted_at": None,
        "retracted_by": None,
        "retract_reason": "",
    }
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


# ---------------------------------------------------------------- forbidden and invalid


@pytest.fixture
def forbidden_invalid(acme, places):
    """(role, method, url, body): each write both forbidden and invalid."""
    marketing = places.marketing.pk
    return {
        "member_creates_member_without_username": (
            "member",
            "post",
            f"{API}/members/",
            {"role": "emperor"},
        ),
        "manager_sets_unknown_role": (
            "manager",
            "patch",
            f"{API}/members/{acme.member.pk}/",
            {"role": "emperor"},
        ),
        "leader_creates_nameless_department": ("leader", "post", f"{API}/departments/", {}),
        "reviewer_renames_department_blank": (
            "reviewer",
            "patch",
            f"{API}/departments/{acme.support.pk}/",
            {"name": ""},
        ),
        "manager_creates_backwards_cycle": (
            "manager",
            "post",
            f"{API}/cycles/",
            {"name": "x", "start": "2028-12-31", "end": "2028-01-01"},
        ),
        "reviewer_sets_bad_cycle_date": (
            "reviewer",
            "patch",
            f"{API}/cycles/{acme.cycle.pk}/",
            {"start": "not-a-date"},
        ),
        "reviewer_creates_empty_goal": ("reviewer", "post", f"{API}/goals/", {}),
        "member_creates_strategic_goal_without_title": (
            "member",
            "post",
            f"{API}/goals/",
            {"level": "strategic", "cycle": "abc"},
        ),
        "manager_creates_marketing_goal_without_title_or_parent": (
            "manager",
            "post",
            f"{API}/goals/",
            {"level": "department", "department": acme.marketing.pk},
        ),
        "manager_sets_negative_weight_on_marketing_goal": (
            "manager",
            "patch",
            f"{API}/goals/{marketing}/",
            {"weight": -1},
        ),
        "member_blanks_strategic_title": (
            "member",
            "patch",
            f"{API}/goals/{places.strategic.pk}/",
            {"title": ""},
        ),
        "reviewer_creates_empty_kpi": ("reviewer", "post", f"{API}/kpis/", {}),
        "member_adds_backwards_kpi_to_strategic": (
            "member",
            "post",
            f"{API}/kpis/",
            {"goal": places.strategic.pk, "direction": "decrease", "baseline": 1, "target": 5},
        ),
        "manager_blanks_marketing_kpi_unit": (
            "manager",
            "patch",
            f"{API}/kpis/{places.kpis['marketing_department'].pk}/",
            {"unit": "", "weight": 0},
        ),
        "member_records_text_on_tia_kpi": (
            "member",
            "post",
            f"{API}/kpis/{places.kpis['tia_individual'].pk}/updates/",
            {"value": "lots", "date": "2999-01-01"},
        ),
        "reviewer_records_nothing": (
            "reviewer",
            "post",
            f"{API}/kpis/{places.kpis['sam_individual'].pk}/updates/",
            {},
        ),
        "manager_records_list_on_marketing_kpi": (
            "manager",
            "post",
            f"{API}/kpis/{places.kpis['lee_individual'].pk}/updates/",
            [1, 2],
        ),
    }


FORBIDDEN_INVALID = (
    "member_creates_member_without_username",
    "manager_sets_unknown_role",
    "leader_creates_nameless_department",
    "reviewer_renames_department_blank",
    "manager_creates_backwards_cycle",
    "reviewer_sets_bad_cycle_date",
    "reviewer_creates_empty_goal",
    "member_creates_strategic_goal_without_title",
    "manager_creates_marketing_goal_without_title_or_parent",
    "manager_sets_negative_weight_on_marketing_goal",
    "member_blanks_strategic_title",
    "reviewer_creates_empty_kpi",
    "member_adds_backwards_kpi_to_strategic",
    "manager_blanks_marketing_kpi_unit",
    "member_records_text_on_tia_kpi",
    "reviewer_records_nothing",
    "manager_records_list_on_marketing_kpi",
)


@pytest.mark.parametrize("case", FORBIDDEN_INVALID)
def test_forbidden_and_invalid_is_403(acme, forbidden_invalid, case):
    role, method, url, body = forbidden_invalid[case]
    with unchanged():
        response = getattr(client_for(actor(acme, role)), method)(url, body, format="json")
    assert response.status_code == 403, response.content


# ---------------------------------------------------------------- other organizations


@pytest.fixture
def globex(outsider):
    """The outsider's organization, with a goal, a KPI with a history, a second person."""
    g = outsider
    g.goal = GoalFactory(cycle=outsider.cycle, title="Globex objective")
    g.child = GoalFactory(
        cycle=outsider.cycle,
        level="department",
        parent=g.goal,
        department=outsider.department,
        title="Globex sales goal",
    )
    g.kpi = KpiFactory(goal=g.goal, owner=outsider)
    g.update = KpiUpdate.objects.create(kpi=g.kpi, value=3, date=g.kpi.start, author=outsider)
    g.person = MemberFactory(organization=outsider.organization, role="member")
    return g


@pytest.mark.parametrize("role", ROLES)
def test_another_organizations_objects_are_404(acme, tree, globex, role):
    client = client_for(actor(acme, role))
    urls = [
        f"{API}/members/{globex.pk}/",
        f"{API}/members/{globex.person.pk}/",
        f"{API}/departments/{globex.department.pk}/",
        f"{API}/cycles/{globex.cycle.pk}/",
        f"{API}/goals/{globex.goal.pk}/",
        f"{API}/goals/{globex.child.pk}/",
        f"{API}/kpis/{globex.kpi.pk}/",
    ]
    with unchanged():
        for url in urls:
            assert client.get(url).status_code == 404, url
            assert client.patch(url, {"name": "x", "title": "x"}, format="json").status_code == (
                404
            ), url
        for goal in (globex.goal, globex.child):
            assert client.get(f"{API}/goals/{goal.pk}/tree/").status_code == 404
            assert client.get(f"{API}/goals/{goal.pk}/alignment/").status_code == 404
        updates = f"{API}/kpis/{globex.kpi.pk}/updates/"
        assert client.get(updates).status_code == 404
        assert client.post(updates, {"value": 1}, format="json").status_code == 404
        assert client.post(updates, {"value": "bad"}, format="json").status_code == 404


def test_the_outsider_sees_404_on_acme(acme, tree, outsider):
    client = client_for(outsider)
    with unchanged():
        for url in (
            f"{API}/goals/{tree.strategic.pk}/",
            f"{API}/goals/{tree.individual.pk}/tree/",
            f"{API}/goals/{tree.individual.pk}/alignment/",
            f"{API}/kpis/{tree.individual_kpi.pk}/",
            f"{API}/kpis/{tree.individual_kpi.pk}/updates/",
            f"{API}/members/{acme.member.pk}/",
            f"{API}/departments/{acme.support.pk}/",
            f"{API}/cycles/{acme.cycle.pk}/",
        ):
            assert client.get(url).status_code == 404, url
        assert (
            client.post(
                f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 1}, format="json"
            ).status_code
            == 404
        )


@pytest.fixture
def foreign_ids(acme, places, globex):
    """(role, method, url, body, field): a body naming another organization's object."""
    cycle, goal = acme.cycle.pk, places.department.pk
    individual = {"cycle": cycle, "level": "individual", "title": "Mine", "parent": goal}
    department_goal = {
        "cycle": cycle,
        "level": "department",
        "title": "Ours",
        "parent": places.strategic.pk,
        "department": acme.support.pk,
    }
    kpi = {"name": "Tickets closed", "unit": "tickets", "baseline": 0, "target": 10}
    kpi_url = f"{API}/kpis/{places.individual_kpi.pk}/"
    return {
        "member_department": (
            "admin",
            "post",
            f"{API}/members/",
            {"username": "x1", "department": globex.department.pk},
            "department",
        ),
        "member_manager": (
            "admin",
            "post",
            f"{API}/members/",
            {"username": "x2", "manager": globex.pk},
            "manager",
        ),
        "member_patch_department": (
            "admin",
            "patch",
            f"{API}/members/{acme.member.pk}/",
            {"department": globex.department.pk},
            "department",
        ),
        "member_patch_manager": (
            "admin",
            "patch",
            f"{API}/members/{acme.member.pk}/",
            {"manager": globex.person.pk},
            "manager",
        ),
        "department_parent": (
            "admin",
            "post",
            f"{API}/departments/",
            {"name": "New", "parent": globex.department.pk},
            "parent",
        ),
        "department_head": (
            "admin",
            "patch",
            f"{API}/departments/{acme.support.pk}/",
            {"head": globex.pk},
            "head",
        ),
        "goal_cycle": (
            "leader",
            "post",
            f"{API}/goals/",
            {"cycle": globex.cycle.pk, "level": "strategic", "title": "Theirs"},
            "cycle",
        ),
        "goal_parent": (
            "leader",
            "post",
            f"{API}/goals/",
            {**department_goal, "parent": globex.goal.pk},
            "parent",
        ),
        "goal_department_by_leader": (
            "leader",
            "post",
            f"{API}/goals/",
            {**department_goal, "department": globex.department.pk},
            "department",
        ),
        "goal_department_by_manager": (
            "manager",
            "post",
            f"{API}/goals/",
            {**department_goal, "department": globex.department.pk},
            "department",
        ),
        "goal_owner_by_member": (
            "member",
            "post",
            f"{API}/goals/",
            {**individual, "owner": globex.pk},
            "owner",
        ),
        "goal_owner_by_manager": (
            "manager",
            "post",
            f"{API}/goals/",
            {**individual, "owner": globex.person.pk},
            "owner",
        ),
        "goal_patch_parent": (
            "manager",
            "patch",
            f"{API}/goals/{places.individual.pk}/",
            {"parent": globex.child.pk},
            "parent",
        ),
        "goal_patch_owner": (
            "admin",
            "patch",
            f"{API}/goals/{places.individual.pk}/",
            {"owner": globex.pk},
            "owner",
        ),
        "goal_patch_department": (
            "manager",
            "patch",
            f"{API}/goals/{places.department.pk}/",
            {"department": globex.department.pk},
            "department",
        ),
        "goal_patch_cycle": (
            "leader",
            "patch",
            f"{API}/goals/{places.strategic.pk}/",
            {"cycle": globex.cycle.pk},
            "cycle",
        ),
        "kpi_goal": ("admin", "post", f"{API}/kpis/", {**kpi, "goal": globex.goal.pk}, "goal"),
        "kpi_goal_by_member": (
            "member",
            "post",
            f"{API}/kpis/",
            {**kpi, "goal": globex.goal.pk},
            "goal",
        ),
        "kpi_owner": (
            "member",
            "post",
            f"{API}/kpis/",
            {**kpi, "goal": places.individual.pk, "owner": globex.pk},
            "owner",
        ),
        "kpi_patch_goal": ("manager", "patch", kpi_url, {"goal": globex.child.pk}, "goal"),
        "kpi_patch_owner": ("leader", "patch", kpi_url, {"owner": globex.pk}, "owner"),
    }


FOREIGN_IDS = (
    "member_department",
    "member_manager",
    "member_patch_department",
    "member_patch_manager",
    "department_parent",
    "department_head",
    "goal_cycle",
    "goal_parent",
    "goal_department_by_leader",
    "goal_department_by_manager",
    "goal_owner_by_member",
    "goal_owner_by_manager",
    "goal_patch_parent",
    "goal_patch_owner",
    "goal_patch_department",
    "goal_patch_cycle",
    "kpi_goal",
    "kpi_goal_by_member",
    "kpi_owner",
    "kpi_patch_goal",
    "kpi_patch_owner",
)


@pytest.mark.parametrize("case", FOREIGN_IDS)
def test_another_organizations_id_in_a_body_is_400_on_its_field(acme, foreign_ids, case):
    role, method, url, body, field = foreign_ids[case]
    with unchanged():
        response = getattr(client_for(actor(acme, role)), method)(url, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert isinstance(errors[field], list) and all(isinstance(m, str) for m in errors[field])


LISTS = ("members", "departments", "cycles", "goals", "kpis")


@pytest.mark.parametrize("resource", LISTS)
@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_the_callers_organization(acme, places, globex, resource, role):
    own = {
        "members": Member.objects.filter(organization=acme.org),
        "departments": Department.objects.filter(organization=acme.org),
        "cycles": Cycle.objects.filter(organization=acme.org),
        "goals": Goal.objects.filter(organization=acme.org),
        "kpis": Kpi.objects.filter(organization=acme.org),
    }[resource]
    response = client_for(actor(acme, role)).get(f"{API}/{resource}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == own.count()
    assert ids(response) == set(own.values_list("pk", flat=True))


def test_filters_naming_another_organization_find_nothing(acme, places, globex):
    client = client_for(acme.admin)
    for param, value in (
        ("cycle", globex.cycle.pk),
        ("parent", globex.goal.pk),
        ("department", globex.department.pk),
        ("owner", globex.pk),
    ):
        response = client.get(f"{API}/goals/", {param: value})
        assert response.status_code == 200
        assert response.json()["count"] == 0, param
    response = client.get(f"{API}/kpis/", {"goal": globex.goal.pk})
    assert response.json()["count"] == 0


def test_the_outsider_lists_only_their_own(acme, places, globex):
    client = client_for(globex)
    assert ids(client.get(f"{API}/goals/")) == {globex.goal.pk, globex.child.pk}
    assert ids(client.get(f"{API}/kpis/")) == {globex.kpi.pk}
    assert ids(client.get(f"{API}/cycles/")) == {globex.cycle.pk}
    assert ids(client.get(f"{API}/departments/")) == {globex.department.pk}
    assert ids(client.get(f"{API}/members/")) == {globex.pk, globex.person.pk}
    history = client.get(f"{API}/kpis/{globex.kpi.pk}/updates/").json()
    assert [row["id"] for row in history["results"]] == [globex.update.pk]


def test_kpi_history_lists_only_that_kpi(acme, places, globex):
    kpi = places.individual_kpi
    own = kpi_record_value(actor=acme.member, kpi=kpi, value=5)
    kpi_record_value(actor=acme.leader, kpi=places.department_kpi, value=9)
    response = client_for(acme.reviewer).get(f"{API}/kpis/{kpi.pk}/updates/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [own.pk]


# ---------------------------------------------------------------- PUT and DELETE


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_405(acme, places, method):
    """Only goals may be removed (DELETE goals/ID/, SPEC §8.1), tested apart."""
    kpi = places.individual_kpi
    urls = [
        f"{API}/members/",
        f"{API}/members/{acme.member.pk}/",
        f"{API}/departments/",
        f"{API}/departments/{acme.support.pk}/",
        f"{API}/cycles/",
        f"{API}/cycles/{acme.cycle.pk}/",
        f"{API}/goals/",
        *([f"{API}/goals/{places.individual.pk}/"] if method == "put" else []),
        f"{API}/goals/{places.individual.pk}/tree/",
        f"{API}/goals/{places.individual.pk}/alignment/",
        f"{API}/kpis/",
        f"{API}/kpis/{kpi.pk}/",
        f"{API}/kpis/{kpi.pk}/updates/",
    ]
    client = client_for(acme.admin)
    with unchanged():
        for url in urls:
            response = getattr(client, method)(url, {"title": "x"}, format="json")
            assert response.status_code == 405, (url, response.status_code)


def test_tree_and_alignment_are_read_only(acme, places):
    client = client_for(acme.admin)
    with unchanged():
        for action in ("tree", "alignment"):
            url = f"{API}/goals/{places.individual.pk}/{action}/"
            assert client.post(url, {}, format="json").status_code == 405
            assert client.patch(url, {}, format="json").status_code == 405


def test_deactivated_member_cannot_write(acme, places):
    acme.member.is_active = False
    acme.member.save()
    with unchanged():
        response = client_for(acme.member).post(
            f"{API}/kpis/{places.individual_kpi.pk}/updates/", {"value": 5}, format="json"
        )
    assert response.status_code == 401  # his token no longer works (SPEC §8.1)


@pytest.mark.parametrize("weight", [2, 0, "heavy"])
def test_asking_a_weight_under_a_goal_the_caller_may_not_edit_is_403(acme, places, weight):
    """The manager may create the department goal, but not weigh it in the objective;
    even an invalid weight is a 403: permission comes before validation."""
    body = new_goal_body(acme, places, "support_department") | {"weight": weight}
    with unchanged():
        response = client_for(acme.manager).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 403, response.content


def test_a_member_aligns_his_goal_under_any_goal_and_it_weighs_1(acme, places):
    body = {
        "cycle": acme.cycle.pk,
        "level": "individual",
        "title": "Bring support's view to the campaigns",
        "parent": places.marketing.pk,
        "owner": acme.member.pk,
    }
    response = client_for(acme.member).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["weight"] == 1.0
