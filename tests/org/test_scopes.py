"""SPEC §3 at the edges of a scope, through the real services: the other manager
(Marketing's `mia`) writes only in Marketing, a manager without a department writes
nowhere, and a department moved below a manager's joins their scope; a goal or a KPI
may move only from and to places its mover may write; and a goal's weight in its
parent is set by whoever may edit the parent (SPEC §8.1). And the scope of a service
token (SPEC §9.2): it acts as its maker as they are now; `read` and `write` tokens
stay out of the admin area (people, tokens, webhooks), an `admin` token does not.

The people are the `acme` fixture's (see test_permissions.py). Every refusal is a
PermissionDenied and leaves every row of the database as it was.
"""

from __future__ import annotations

import pytest

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import KpiUpdate
from kpis.services import kpi_edit, kpi_record_value
from org.models import ApiToken, Member, Webhook
from org.services import department_update, member_update
from org.tokens import acting_member, service_token_create, service_tokens, stopped_because
from org.webhooks import webhook_delete

from ..factories import MemberFactory
from .helpers import (
    _change_role,
    _create_cycle,
    _create_department,
    _create_member,
    _deactivate,
    _update_department,
    fresh,
    refused,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- the other manager


@pytest.mark.parametrize(
    ("place", "allowed"),
    [
        ("marketing_department", True),
        ("lee_individual", True),
        ("support_department", False),
        ("tier2_team", False),
        ("sam_individual", False),
        ("tia_individual", False),
        ("strategic", False),
    ],
)
def test_marketing_managers_scope_is_marketing_only(acme, places, place, allowed):
    goal, kpi = fresh(places.goals[place]), fresh(places.kpis[place])
    mia = acme.marketing_manager
    if allowed:
        goal_update(actor=mia, goal=goal, title="Mia's edit")
        kpi_record_value(actor=mia, kpi=kpi, value=5)
        assert fresh(goal).title == "Mia's edit"
    else:
        with refused():
            goal_update(actor=mia, goal=goal, title="Mia's edit")
        with refused():
            kpi_record_value(actor=mia, kpi=kpi, value=5)


def test_manager_without_a_department_has_an_empty_scope(acme, places):
    member_update(actor=acme.admin, member=fresh(acme.manager), department=None)
    max_ = fresh(acme.manager)
    with refused():
        goal_update(actor=max_, goal=fresh(places.department), title="No longer his")
    with refused():
        goal_create(
            actor=max_,
            cycle=acme.cycle,
            level="team",
            title="Orphan team goal",
            parent=places.department,
            department=acme.tier2,
        )


def test_manager_scope_follows_a_department_moved_below_theirs(acme, places):
    department_update(actor=acme.admin, department=fresh(acme.marketing), parent=acme.tier2)
    goal_update(actor=fresh(acme.manager), goal=fresh(places.marketing), title="Now his")
    assert fresh(places.marketing).title == "Now his"


# ---------------------------------------------------------------- moves: from where, to where


def test_manager_may_move_a_goal_within_their_scope(acme, places):
    goal = fresh(places.tier2)
    goal_update(actor=acme.manager, goal=goal, department=acme.support)
    assert fresh(goal).department == acme.support


def test_manager_cannot_move_a_goal_out_of_their_scope(acme, places):
    goal = fresh(places.tier2)
    with refused():
        goal_update(actor=acme.manager, goal=goal, department=acme.marketing)
    assert goal.department == acme.tier2  # the in-memory object is put back too
    assert fresh(goal).department == acme.tier2


def test_manager_cannot_pull_a_goal_into_their_scope(acme, places):
    goal = fresh(places.marketing)
    with refused():
        goal_update(actor=acme.manager, goal=goal, department=acme.support)
    assert fresh(goal).department == acme.marketing


def test_manager_cannot_promote_a_goal_to_strategic(acme, places):
    goal = fresh(places.department)
    with refused():
        goal_update(actor=acme.manager, goal=goal, level="strategic", parent=None)
    assert (fresh(goal).level, fresh(goal).parent_id) == ("department", places.strategic.pk)


def test_manager_may_reassign_an_individual_goal_within_their_scope(acme, places):
    goal = fresh(places.tia)
    goal_update(actor=acme.manager, goal=goal, owner=acme.member, parent=places.department)
    assert fresh(goal).owner == acme.member


def test_manager_cannot_reassign_an_individual_goal_outside_their_scope(acme, places):
    goal = fresh(places.tia)
    with refused():
        goal_update(actor=acme.manager, goal=goal, owner=acme.marketing_member)
    assert fresh(goal).owner == acme.tier2_member


def test_member_cannot_give_their_goal_to_someone_else(acme, places):
    goal = fresh(places.individual)
    with refused():
        goal_update(actor=acme.member, goal=goal, owner=acme.tier2_member)
    assert goal.owner == acme.member
    assert fresh(goal).owner == acme.member


def test_member_cannot_turn_their_goal_into_a_department_goal(acme, places):
    goal = fresh(places.individual)
    with refused():
        goal_update(
            actor=acme.member,
            goal=goal,
            level="department",
            department=acme.support,
            parent=places.strategic,
        )
    assert fresh(goal).level == "individual"


def test_manager_may_move_a_kpi_between_goals_in_their_scope(acme, places):
    kpi = fresh(places.department_kpi)
    kpi_edit(actor=acme.manager, kpi=kpi, goal=places.tier2)
    assert fresh(kpi).goal == places.tier2


def test_manager_cannot_move_a_kpi_to_a_goal_outside_their_scope(acme, places):
    kpi = fresh(places.department_kpi)
    with refused():
        kpi_edit(actor=acme.manager, kpi=kpi, goal=places.marketing)
    assert fresh(kpi).goal == places.department


def test_member_cannot_move_their_kpi_to_a_colleagues_goal(acme, places):
    kpi = fresh(places.individual_kpi)
    with refused():
        kpi_edit(actor=acme.member, kpi=kpi, goal=places.tia)
    assert fresh(kpi).goal == places.individual


# ---------------------------------------------------------------- weights (SPEC §8.1)


def aligned_goal(acme, parent: Goal, **fields) -> Goal:
    return goal_create(
        actor=acme.member,
        cycle=acme.cycle,
        level="individual",
        title="Bring support's view to the campaigns",
        parent=parent,
        owner=acme.member,
        **fields,
    )


def test_a_member_aligns_his_goal_under_any_goal_and_it_weighs_1(acme, places):
    goal = aligned_goal(acme, places.marketing)  # Marketing: not sam's to edit
    assert (goal.parent_id, goal.weight) == (places.marketing.pk, 1.0)


@pytest.mark.parametrize("weight", [3, 0.5, 1e308, "heavy"])
def test_asking_a_weight_under_a_goal_one_may_not_edit_is_refused(acme, places, weight):
    """Even an invalid weight: permission comes before validation."""
    with refused() as info:
        aligned_goal(acme, places.marketing, weight=weight)
    assert "weighs" in str(info.value)


def test_a_weight_of_1_asked_for_explicitly_is_no_weighing(acme, places):
    assert aligned_goal(acme, places.marketing, weight=1).weight == 1.0


def test_the_manager_of_the_goal_above_weighs_a_members_goal(acme, places):
    goal_update(actor=acme.manager, goal=fresh(places.individual), weight=3)  # under Support
    assert fresh(places.individual).weight == 3


@pytest.mark.parametrize("who", ["manager", "member"])
def test_only_who_may_edit_the_objective_reweighs_a_department_goal(acme, places, who):
    mine = places.department if who == "manager" else places.sam_department
    with refused():
        goal_update(actor=getattr(acme, who), goal=fresh(mine), weight=3)
    goal_update(actor=acme.leader, goal=fresh(mine), weight=3)
    assert fresh(mine).weight == 3


def test_moving_a_weighed_goal_under_a_goal_one_may_not_edit_is_refused(acme, places):
    goal_update(actor=acme.manager, goal=fresh(places.individual), weight=2)
    with refused():
        goal_update(actor=acme.member, goal=fresh(places.individual), parent=places.marketing)
    assert fresh(places.individual).parent_id == places.department.pk


# ---------------------------------------------------------------- service token scopes


def through(acme, scope: str) -> Member:
    """The admin `ada` as a service token of this scope, which she made, has her act."""
    token, _ = service_token_create(actor=acme.admin, name=f"Via {scope}", scope=scope)
    return acting_member(token)


ADMIN_AREA = [_create_member, _change_role, _deactivate]
ORGANIZATION = [_create_department, _update_department, _create_cycle]


@pytest.mark.parametrize("write", ADMIN_AREA)
@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_read_or_write_token_of_an_admin_manages_no_people(acme, scope, write):
    me = through(acme, scope)
    with refused() as info:
        write(me, acme)
    assert "needs the admin scope" in str(info.value)


@pytest.mark.parametrize("write", ADMIN_AREA + ORGANIZATION)
def test_an_admin_token_does_what_its_admin_maker_may(acme, write):
    write(through(acme, "admin"), acme)


@pytest.mark.parametrize("write", ORGANIZATION)
def test_a_write_token_of_an_admin_changes_departments_and_cycles_as_its_maker_may(acme, write):
    write(through(acme, "write"), acme)


def test_only_an_admin_token_makes_tokens_or_removes_webhooks(acme):
    writer = through(acme, "write")
    before = ApiToken.objects.count()
    with refused():
        service_token_create(actor=writer, name="Escalated", scope="admin")
    assert ApiToken.objects.count() == before
    service_token_create(actor=through(acme, "admin"), name="Made by a token", scope="admin")
    assert ApiToken.objects.count() == before + 2  # the admin token, and the one it made
    hook = Webhook.objects.create(
        organization=acme.org, url="https://hooks.example/x", secret="s" * 32, events=[]
    )
    with refused():
        webhook_delete(actor=writer, webhook=hook)
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_a_token_acts_as_its_maker_as_they_are_now_and_names_itself(acme, tree):
    token, _ = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    boss = MemberFactory(organization=acme.org, role="admin", user__username="bo")
    member_update(actor=boss, member=fresh(acme.admin), role="manager", department=acme.support)
    me = acting_member(token)
    assert (me.pk, me.role, me.department_id, me.is_active) == (
        acme.admin.pk,
        "manager",
        acme.support.pk,
        True,
    )
    assert (me.via_token, me.via_token_id, me.via_scope) == ("Nightly BI sync", token.pk, "write")
    kpi_record_value(actor=me, kpi=fresh(tree.individual_kpi), value=5)  # in Support: his
    assert KpiUpdate.objects.get().author_token == "Nightly BI sync"
    with refused():
        goal_update(actor=me, goal=fresh(tree.strategic), title="Not a manager's")
    member_update(actor=boss, member=fresh(acme.admin), is_active=False)
    assert acting_member(token).is_active is False
    listed = service_tokens(acme.org.pk).get()
    assert stopped_because(listed) == "Stopped: its maker is deactivated."
