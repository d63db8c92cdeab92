"""SPEC §8.3 forms fit the role: "Add goal below" offers only the levels, departments
and owners the person may choose, and pre-fills the obvious — a member: an individual
goal of their own; a manager: their department."""

from __future__ import annotations

import pytest

from goals.models import Goal
from org.models import Department, Member
from org.permissions import manager_scope

from .helpers import HTMX, parse

pytestmark = pytest.mark.django_db


def child_form(client, member, parent):
    client.force_login(member.user)
    response = client.get(f"/goals/{parent.pk}/children/new/", headers=HTMX)
    assert response.status_code == 200
    return parse(response)


def options(page, control_id: str) -> list[tuple[str, bool]]:
    select = page.find(id=control_id)
    return [(o.text.strip(), "selected" in o.attrs) for o in select.iter() if o.tag == "option"]


def test_a_member_is_offered_an_individual_goal_of_their_own_only(client, acme, tree):
    page = child_form(client, acme.member, tree.department)
    assert options(page, "id_level") == [("Individual", True)]
    assert options(page, "id_owner") == [(acme.member.display_name, True)]
    assert page.find(id="id_department") is None  # an individual goal's is its owner's


def test_what_a_member_is_offered_is_what_saves(client, acme, tree):
    client.force_login(acme.member.user)
    response = client.post(
        f"/goals/{tree.department.pk}/children/new/",
        {"title": "Answer within the hour", "level": "individual", "owner": acme.member.pk},
        headers=HTMX,
    )
    assert response.status_code in (200, 204), response.content.decode()[:300]
    goal = Goal.objects.get(title="Answer within the hour")
    assert (goal.level, goal.owner_id, goal.parent_id) == (
        "individual",
        acme.member.pk,
        tree.department.pk,
    )


def test_a_manager_gets_their_department_and_the_levels_they_may_write(client, acme, tree):
    page = child_form(client, acme.manager, tree.strategic)
    assert [label for label, _ in options(page, "id_level")] == ["Department", "Team", "Individual"]
    assert (acme.support.name, True) in options(page, "id_department")


def test_a_leader_is_offered_every_level_below(client, acme, tree):
    page = child_form(client, acme.leader, tree.strategic)
    assert [label for label, _ in options(page, "id_level")] == ["Department", "Team", "Individual"]


def test_a_manager_is_offered_only_their_departments_and_the_people_in_them(client, acme, tree):
    page = child_form(client, acme.manager, tree.strategic)
    scope = manager_scope(acme.manager)
    departments = [label for label, _ in options(page, "id_department") if label != "---------"]
    assert departments == [d.name for d in Department.objects.filter(pk__in=scope)]
    assert acme.marketing.name not in departments
    owners = sorted(label for label, _ in options(page, "id_owner") if label != "---------")
    in_scope = Member.objects.filter(department_id__in=scope, is_active=True)
    assert owners == sorted(m.display_name for m in in_scope)
    assert acme.leader.display_name not in owners


def test_a_leader_is_offered_every_department_and_everyone(client, acme, tree):
    page = child_form(client, acme.leader, tree.strategic)
    departments = [label for label, _ in options(page, "id_department") if label != "---------"]
    assert sorted(departments) == sorted(
        Department.objects.filter(organization=acme.org).values_list("name", flat=True)
    )
    owners = [label for label, _ in options(page, "id_owner") if label != "---------"]
    assert len(owners) == Member.objects.filter(organization=acme.org, is_active=True).count()
