"""Other organizations over HTTP (SPEC §3, §4): every role of Acme gets a 404 at the
URL of Globex's members, departments, cycles, goals, trees, alignments, KPIs and
histories (and the outsider at Acme's), whatever the method and the body; a body
naming another organization's object is a 400 on that field; no list, filter or
history ever shows another organization's rows. Nothing changes.
"""

from __future__ import annotations

import pytest

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value
from org.models import Department, Member
from tests.factories import GoalFactory, KpiFactory, MemberFactory

from .helpers import API, ROLES, actor, client_for, ids, unchanged

pytestmark = pytest.mark.django_db


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
