"""Check-in reviews through the real services (SPEC §1 Review, §3, §4 reviews/).

Scope: a goal → it and every active goal below it; a department → the cycle's active
goals of it or a department below, plus individual goals whose owner belongs there;
neither → every active goal of the cycle. Participants: the facilitator and the
members of the scope's department and those below (the whole organization: everyone
active). Create, run, complete: admin, leader, reviewer anywhere; a manager inside their
own department subtree (never the whole organization); a member never.

How a review runs once scheduled — its states, agenda, snapshots, completion, period
and time: test_review_lifecycle.py.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from goals.models import Goal
from reviews import selectors
from reviews.models import Review
from reviews.services import (
    action_create,
    action_update,
    review_complete,
    review_item_update,
    review_start,
    review_update,
)

from ..factories import GoalFactory, MemberFactory
from .helpers import ROLES, D, agenda_goals, fresh, rows, schedule, started, widen

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- scope


@pytest.fixture
def wide(acme, tree):
    return widen(acme, tree)


def test_goal_scope_is_the_goal_and_every_active_goal_below_it(acme, wide):
    review = started(acme.admin, acme.cycle, goal=wide.department)
    assert set(agenda_goals(review)) == {
        wide.department.pk,
        wide.individual.pk,
        wide.team.pk,
        wide.tia.pk,
    }  # not the cancelled or the done goal, nothing above or beside it


def test_goal_scope_of_a_strategic_goal_is_its_whole_active_tree(acme, wide):
    review = started(acme.admin, acme.cycle, goal=wide.strategic)
    expected = {wide.strategic, wide.department, wide.individual, wide.team, wide.tia}
    expected |= {wide.marketing, wide.lee, wide.sam_abroad, wide.ops}
    assert set(agenda_goals(review)) == {g.pk for g in expected}


def test_department_scope_is_its_goals_those_below_and_its_peoples_individual_goals(acme, wide):
    review = started(acme.admin, acme.cycle, department=acme.support)
    assert set(agenda_goals(review)) == {
        wide.department.pk,  # Support
        wide.team.pk,  # Tier 2 lies below Support
        wide.individual.pk,  # sam is in Support
        wide.tia.pk,  # tia is in Tier 2
        wide.sam_abroad.pk,  # sam's, though under Marketing's goal
    }  # not another cycle's Support goal, not the cancelled one


def test_department_scope_of_a_team_and_of_a_sibling(acme, wide):
    tier2 = started(acme.admin, acme.cycle, department=acme.tier2)
    assert set(agenda_goals(tier2)) == {wide.team.pk, wide.tia.pk}
    marketing = started(acme.admin, acme.cycle, department=acme.marketing)
    assert set(agenda_goals(marketing)) == {wide.marketing.pk, wide.lee.pk}


def test_whole_organization_scope_is_every_active_goal_of_the_cycle(acme, wide, outsider):
    GoalFactory(cycle=outsider.cycle, title="Globex's own")
    review = started(acme.admin, acme.cycle)
    assert set(agenda_goals(review)) == set(
        Goal.objects.filter(cycle=acme.cycle, state="active").values_list("pk", flat=True)
    )
    assert len(agenda_goals(review)) == 9
    assert wide.other_cycle.pk not in agenda_goals(review)


def test_start_snapshots_each_goal_once_with_its_stored_numbers(acme, wide):
    Goal.objects.filter(pk=wide.team.pk).update(progress=42.25, health="at_risk")
    review = started(acme.admin, acme.cycle, goal=wide.department)
    item = review.items.get(goal=wide.team)
    assert (item.progress_snapshot, item.health_snapshot) == (42.25, "at_risk")
    assert review.items.count() == 4
    assert sorted(review.items.values_list("position", flat=True)) == [1, 2, 3, 4]


# ---------------------------------------------------------------- participants


def participant_names(review: Review) -> set[str]:
    return {m.user.username for m in selectors.participants(review)}


def test_participants_of_a_department_review_are_its_people_and_those_below_and_the_facilitator(
    acme, tree
):
    review = schedule(
        acme.admin, cycle=acme.cycle, department=acme.support, facilitator=acme.reviewer
    )
    assert participant_names(review) == {"rey", "max", "sam", "tia"}


def test_participants_of_a_goal_review_follow_the_goals_department(acme, wide):
    review = schedule(acme.leader, cycle=acme.cycle, goal=wide.department)
    assert participant_names(review) == {"lena", "max", "sam", "tia"}
    team = schedule(acme.leader, cycle=acme.cycle, goal=wide.team, facilitator=acme.manager)
    assert participant_names(team) == {"max", "tia"}
    # an individual goal counts under its owner's department
    marketing = schedule(acme.admin, cycle=acme.cycle, goal=wide.lee)
    assert participant_names(marketing) == {"ada", "mia", "lee"}


def test_participants_of_a_whole_organization_review_are_everyone_active(acme, tree, outsider):
    gone = MemberFactory(organization=acme.org, department=acme.support, is_active=False)
    review = schedule(acme.reviewer, cycle=acme.cycle)
    names = participant_names(review)
    assert names == {"ada", "lena", "max", "mia", "sam", "tia", "lee", "rey"}
    assert gone.user.username not in names and "oscar" not in names


def test_a_deactivated_member_of_the_department_is_no_participant(acme, tree):
    acme.tier2_member.is_active = False
    acme.tier2_member.save()
    review = schedule(acme.admin, cycle=acme.cycle, department=acme.support)
    assert participant_names(review) == {"ada", "max", "sam"}


# ---------------------------------------------------------------- permissions (SPEC §3)

SCOPES = {
    "whole organization": lambda a, w: {},
    "Operations": lambda a, w: {"department": a.ops},
    "Customer Support": lambda a, w: {"department": a.support},
    "Support Tier 2": lambda a, w: {"department": a.tier2},
    "Marketing": lambda a, w: {"department": a.marketing},
    "strategic goal": lambda a, w: {"goal": w.strategic},
    "Support's goal": lambda a, w: {"goal": w.department},
    "Tier 2's team goal": lambda a, w: {"goal": w.team},
    "sam's individual goal": lambda a, w: {"goal": w.individual},
    "lee's individual goal": lambda a, w: {"goal": w.lee},
}
MAX_MAY = {"Customer Support", "Support Tier 2", "Support's goal", "Tier 2's team goal",
           "sam's individual goal"}  # fmt: skip
MIA_MAY = {"Marketing", "lee's individual goal"}
ANYWHERE = {"admin", "leader", "reviewer"}


def may(who: str, scope: str) -> bool:
    if who in ANYWHERE:
        return True
    if who == "manager":
        return scope in MAX_MAY
    if who == "marketing_manager":
        return scope in MIA_MAY
    return False  # member, tier2_member


WHO = (*ROLES, "marketing_manager", "tier2_member")


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("who", WHO)
def test_who_may_schedule_a_review_of_which_scope(acme, wide, who, scope):
    me = getattr(acme, who)
    fields = SCOPES[scope](acme, wide)
    if may(who, scope):
        review = schedule(me, cycle=acme.cycle, **fields)
        assert review.created_by == me and review.facilitator == me
        assert review.state == "scheduled"
    else:
        before = rows()
        with pytest.raises(PermissionDenied):
            schedule(me, cycle=acme.cycle, **fields)
        assert rows() == before


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("who", WHO)
def test_who_may_run_a_review_of_which_scope(acme, wide, who, scope):
    """Edit, start, record, add and edit actions, complete — all or nothing by role."""
    me = getattr(acme, who)
    review = schedule(acme.admin, cycle=acme.cycle, **SCOPES[scope](acme, wide))
    if may(who, scope):
        review = review_update(actor=me, review=review, title="Renamed")
        review = review_start(actor=me, review=review)
        item = review.items.order_by("position").first()
        review_item_update(actor=me, item=item, assessment="at_risk", notes="Noted.")
        action = action_create(
            actor=me, review=review, title="Call the vendor", owner=acme.member, due=D(2027, 4, 1)
        )
        action_update(actor=me, action=action, title="Call both vendors", due=D(2027, 4, 2))
        review_complete(actor=me, review=review)
        review = fresh(review)
        assert (review.title, review.state) == ("Renamed", "completed")
        assert fresh(item).assessment == "at_risk"
        assert fresh(action).title == "Call both vendors"
        return

    def refused(call, **kwargs):
        before = rows()
        with pytest.raises(PermissionDenied):
            call(actor=me, **kwargs)
        assert rows() == before

    refused(review_update, review=fresh(review), title="Renamed")
    refused(review_start, review=fresh(review))
    review = review_start(actor=acme.admin, review=review)
    item = review.items.order_by("position").first()
    refused(review_item_update, item=fresh(item), notes="Sneaky")
    refused(
        action_create, review=review, title="Sneaky", owner=me, due=D(2027, 4, 1)
    )  # even for themselves
    action = action_create(
        actor=acme.admin, review=review, title="Admin's", owner=acme.admin, due=D(2027, 4, 1)
    )
    refused(action_update, action=fresh(action), title="Sneaky")
    refused(action_update, action=fresh(action), done=True)  # not their action
    refused(review_complete, review=fresh(review))


def test_a_manager_may_not_move_a_review_out_of_their_scope(acme, wide):
    review = schedule(acme.manager, cycle=acme.cycle, department=acme.support)
    before = rows()
    with pytest.raises(PermissionDenied):
        review_update(actor=acme.manager, review=review, department=acme.marketing)
    with pytest.raises(PermissionDenied):
        review_update(actor=acme.manager, review=review, department=None)  # whole organization
    assert rows() == before
    assert review.department == acme.support  # the instance is restored too
    review_update(actor=acme.manager, review=review, department=acme.tier2)
    assert fresh(review).department == acme.tier2


def test_a_deactivated_reviewer_may_do_nothing(acme, tree):
    review = schedule(acme.admin, cycle=acme.cycle)
    acme.reviewer.is_active = False
    acme.reviewer.save()
    with pytest.raises(PermissionDenied):
        schedule(acme.reviewer, cycle=acme.cycle)
    with pytest.raises(PermissionDenied):
        review_start(actor=acme.reviewer, review=review)


# ---------------------------------------------------------------- another organization


@pytest.fixture
def globex(outsider):
    outsider.goal = GoalFactory(cycle=outsider.cycle, title="Globex objective")
    return outsider


@pytest.mark.parametrize("field", ["cycle", "goal", "department", "facilitator"])
def test_another_organizations_ids_are_refused_on_their_field(acme, tree, globex, field):
    fields = {"cycle": acme.cycle, field: getattr(globex, field, None)}
    if field == "facilitator":
        fields["facilitator"] = globex
    before = rows()
    with pytest.raises(ValidationError) as caught:
        schedule(acme.admin, **fields)
    assert set(caught.value.message_dict) == {field}
    assert rows() == before


def test_another_organizations_admin_may_not_schedule_in_ours_or_run_our_reviews(
    acme, tree, globex
):
    review = schedule(acme.admin, cycle=acme.cycle)
    before = rows()
    with pytest.raises(ValidationError) as caught:
        schedule(globex, cycle=acme.cycle)
    assert "cycle" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        review_start(actor=globex, review=review)
    with pytest.raises(PermissionDenied):
        review_update(actor=globex, review=review, title="Ours now")
    assert rows() == before


def test_another_organizations_people_and_goals_are_refused_in_edits_and_actions(
    acme, tree, globex
):
    review = started(acme.admin, acme.cycle, department=acme.support)
    before = rows()
    for field in ("facilitator", "goal", "department", "cycle"):
        value = globex if field == "facilitator" else getattr(globex, field)
        with pytest.raises(ValidationError) as caught:
            review_update(actor=acme.admin, review=fresh(review), **{field: value})
        assert field in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        action_create(actor=acme.admin, review=review, title="X", owner=globex, due=D(2027, 4, 1))
    assert set(caught.value.message_dict) == {"owner"}
    assert rows() == before
    action = action_create(
        actor=acme.admin, review=review, title="X", owner=acme.member, due=D(2027, 4, 1)
    )
    with pytest.raises(ValidationError) as caught:
        action_update(actor=acme.admin, action=action, owner=globex)
    assert set(caught.value.message_dict) == {"owner"}
    assert fresh(action).owner == acme.member
