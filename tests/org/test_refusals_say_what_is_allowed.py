"""SPEC §9.3: every refusal of a goal, KPI, value or review write names what the person
may do instead, worded for their role and, for a manager, their departments; and the
choices the forms offer (org/permissions.py people_given_to, review_departments) are
exactly what the predicates allow. The people are the `acme` fixture's."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.services import kpi_record_value
from org import permissions
from org.models import Department, Member
from org.permissions import (
    ADD_CHILD_GOAL,
    ADD_KPI,
    CHANGE_ACTION,
    CHANGE_GOAL,
    CHANGE_KPI,
    CHANGE_REVIEW,
    CORRECT_VALUE,
    CREATE_GOAL,
    GIVE_GOAL,
    GIVE_KPI,
    MOVE_GOAL,
    MOVE_KPI,
    MOVE_REVIEW,
    RECORD_VALUE,
    REMOVE_GOAL,
    RUN_REVIEW,
    SCHEDULE_REVIEW_OF,
    SCHEDULE_REVIEWS,
    Permission,
    can_give_to,
    can_schedule_review_of,
    people_given_to,
    review_departments,
)

from .helpers import actor, fresh

pytestmark = pytest.mark.django_db

ROLES = ("admin", "leader", "manager", "reviewer", "member")
# Every refusal of a goal, KPI, value or review write, and what it goes on to say.
WRITES = {
    "goals": (CREATE_GOAL, CHANGE_GOAL, MOVE_GOAL, GIVE_GOAL, REMOVE_GOAL, ADD_CHILD_GOAL,
              ADD_KPI, CHANGE_KPI, MOVE_KPI, GIVE_KPI),
    "values": (RECORD_VALUE, CORRECT_VALUE),
    "reviews": (SCHEDULE_REVIEWS, SCHEDULE_REVIEW_OF, RUN_REVIEW, CHANGE_REVIEW, MOVE_REVIEW,
                CHANGE_ACTION),
}  # fmt: skip
INSTEAD = {
    ("goals", "admin"): "As an admin you may add and change any goal and KPI.",
    ("goals", "leader"): "As a leader you may add and change any goal and KPI.",
    ("goals", "manager"): (
        "As manager of Customer Support you may add and change department, team and "
        "individual goals and their KPIs in Customer Support (and the department below it: "
        "Support Tier 2), owned by people there."
    ),
    ("goals", "reviewer"): (
        "As a reviewer you may read every goal and KPI and run reviews; goals are changed by "
        "their department's managers, leaders and admins."
    ),
    ("goals", "member"): (
        "As a member you may add individual goals of your own below any goal, and change "
        "them and their KPIs, owned by you."
    ),
    ("values", "manager"): (
        "As manager of Customer Support you may record values on the KPIs of the goals in "
        "Customer Support (and the department below it: Support Tier 2)."
    ),
    ("values", "reviewer"): "As a reviewer you record no values: you may schedule and run reviews.",
    ("values", "member"): (
        "As a member you may record values on the KPIs you own and on those of the goals you own."
    ),
    ("reviews", "manager"): (
        "As manager of Customer Support you may schedule and run reviews of Customer Support "
        "(and the department below it: Support Tier 2) and of the goals there."
    ),
    ("reviews", "member"): (
        "As a member you may tick off the action items you own; reviews are run by "
        "reviewers, leaders, admins and the managers of a department."
    ),
    ("reviews", "reviewer"): (
        "As a reviewer you may schedule and run reviews of any goal, any department or the "
        "whole organization."
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("about", list(WRITES))
def test_every_refusal_of_a_write_goes_on_to_say_what_the_role_may_do(acme, about, role):
    me = actor(acme, role)
    for permission in WRITES[about]:
        message = permission.message(me)
        instead = message.removeprefix(permission.refusal + " ")
        assert instead != message and " may " in instead, message
        if (about, role) in INSTEAD:
            assert message.endswith(INSTEAD[about, role]), message


def test_a_refusal_of_a_value_also_says_whose_values_one_may_correct(acme):
    assert CORRECT_VALUE.message(acme.member) == (
        "You may not correct or retract values on this KPI. You may correct or retract the "
        "values you recorded yourself and those on the KPIs you own. " + INSTEAD["values", "member"]
    )


def test_every_refusal_message_is_defined_once(acme):
    """Each Permission says its own first sentence: no two say the same thing."""
    refusals = [p.refusal for p in vars(permissions).values() if isinstance(p, Permission)]
    assert len(refusals) == len(set(refusals))


def test_a_manager_without_a_department_is_told_to_get_one(acme):
    acme.manager.department = None
    acme.manager.save()
    me = fresh(acme.manager)
    assert CREATE_GOAL.message(me).endswith(
        "As a manager without a department you may add or change goals nowhere yet: an "
        "admin sets your department on the People page."
    )


def test_a_deactivated_person_is_told_so(acme):
    acme.member.is_active = False
    acme.member.save()
    assert RECORD_VALUE.message(fresh(acme.member)).endswith(
        "Your membership is deactivated: an admin may reactivate it on the People page."
    )


def test_the_refusal_a_service_raises_is_the_message_for_its_actor(acme, tree):
    """The services refuse with the sentence worded for whoever asked."""
    with pytest.raises(PermissionDenied) as refused:
        kpi_record_value(actor=acme.member, kpi=tree.department_kpi, value=9)
    assert str(refused.value) == RECORD_VALUE.message(acme.member)
    with pytest.raises(PermissionDenied) as refused:
        goal_update(actor=acme.manager, goal=fresh(tree.department), owner=acme.marketing_member)
    assert str(refused.value) == GIVE_GOAL.message(acme.manager)
    assert fresh(tree.department).owner == acme.manager


# ---------------------------------------------------------------- what the forms offer


@pytest.mark.parametrize("role", ROLES)
def test_the_people_a_form_offers_as_owners_are_those_one_may_give_to(acme, role):
    me = actor(acme, role)
    people = Member.objects.filter(organization=acme.org)
    offered = set(people.filter(people_given_to(me)))
    assert offered == {person for person in people if can_give_to(me, person)}


@pytest.mark.parametrize("role", ROLES)
def test_the_departments_a_review_form_offers_are_those_one_may_review(acme, role):
    me = actor(acme, role)
    scope = review_departments(me)
    for department in Department.objects.filter(organization=acme.org):
        allowed = can_schedule_review_of(me, None, department)
        assert allowed == (scope is None or department.pk in scope), department
    assert (scope is None) == can_schedule_review_of(me, None, None)  # the organization


@pytest.mark.parametrize(
    "owner", ["manager", "member", "tier2_member", "marketing_member", "leader", "admin"]
)
def test_a_manager_creates_goals_owned_only_by_the_people_of_their_departments(acme, tree, owner):
    person = getattr(acme, owner)
    create = lambda: goal_create(  # noqa: E731
        actor=acme.manager,
        cycle=acme.cycle,
        level="team",
        title="Clear the escalation backlog",
        parent=tree.department,
        department=acme.tier2,
        owner=person,
    )
    if person.department_id in (acme.support.pk, acme.tier2.pk):
        assert create().owner == person
    else:
        with pytest.raises(PermissionDenied) as refused:
            create()
        assert str(refused.value) == CREATE_GOAL.message(acme.manager)
        assert not Goal.objects.filter(title="Clear the escalation backlog").exists()
