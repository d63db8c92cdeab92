"""Check-in reviews through the real services (SPEC §1 Review, §3, §4 reviews/).

Scope: a goal → it and every active goal below it; a department → the cycle's active
goals of it or a department below, plus individual goals whose owner belongs there;
neither → every active goal of the cycle. Participants: the facilitator and the
members of the scope's department and those below (the whole organization: everyone
active). Create, run, complete: admin, leader, reviewer anywhere; a manager inside their
own department subtree (never the whole organization); a member never.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from goals.models import Goal
from kpis.models import KpiUpdate
from kpis.services import kpi_record_value
from org.models import Notification
from reviews import selectors
from reviews.models import ActionItem, Review, ReviewItem
from reviews.services import (
    action_create,
    action_update,
    review_complete,
    review_item_update,
    review_start,
    review_update,
)

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory
from .helpers import ROLES, at, fresh, rows, schedule, widen

pytestmark = pytest.mark.django_db

D = dt.date


def agenda_goals(review: Review) -> list[int]:
    return list(review.items.order_by("position").values_list("goal_id", flat=True))


# ---------------------------------------------------------------- scope


@pytest.fixture
def wide(acme, tree):
    return widen(acme, tree)


def started(actor, cycle, **scope) -> Review:
    return review_start(actor=actor, review=schedule(actor, cycle=cycle, **scope))


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


# ---------------------------------------------------------------- the state machine


def test_start_only_when_scheduled_and_complete_only_when_in_progress(acme, tree):
    review = schedule(acme.admin, cycle=acme.cycle)
    with pytest.raises(ValidationError) as caught:
        review_complete(actor=acme.admin, review=review)
    assert "state" in caught.value.message_dict
    assert fresh(review).state == "scheduled"

    review_start(actor=acme.admin, review=review)
    items = list(ReviewItem.objects.filter(review=review).values())
    before = rows()
    with pytest.raises(ValidationError) as caught:
        review_start(actor=acme.admin, review=review)  # a stale instance still says scheduled
    assert "state" in caught.value.message_dict
    assert rows() == before and list(ReviewItem.objects.filter(review=review).values()) == items

    review_complete(actor=acme.admin, review=review)
    review = fresh(review)
    assert review.state == "completed" and review.completed_at is not None
    before = rows()
    for call in (review_start, review_complete):
        with pytest.raises(ValidationError):
            call(actor=acme.admin, review=review)
    assert rows() == before


def test_scope_cycle_and_period_are_fixed_once_started_but_the_title_is_not(acme, tree):
    review = started(acme.admin, acme.cycle, department=acme.support)
    before = rows()
    for change in (
        {"department": acme.tier2},
        {"goal": tree.department, "department": None},
        {"period": "2027-Q2"},
        {"cycle": CycleFactory(organization=acme.org, name="Later")},
    ):
        with pytest.raises(ValidationError):
            review_update(actor=acme.admin, review=fresh(review), **change)
    rows_after = rows()
    rows_after["Cycle"] = [c for c in rows_after["Cycle"] if c["name"] != "Later"]
    assert rows_after == before
    review_update(actor=acme.admin, review=fresh(review), title="Support Q1, take two")
    assert fresh(review).title == "Support Q1, take two"


def test_scheduling_validates_title_scope_and_facilitator(acme, tree):
    gone = MemberFactory(organization=acme.org, is_active=False)
    other_cycle_goal = GoalFactory(cycle=CycleFactory(organization=acme.org, name="Other"))
    cases = {
        "title": {"title": "  "},
        "department": {"goal": tree.department, "department": acme.support},
        "goal": {"goal": other_cycle_goal},
        "facilitator": {"facilitator": gone},
    }
    for field, fields in cases.items():
        before = rows()
        with pytest.raises(ValidationError) as caught:
            schedule(acme.admin, cycle=acme.cycle, **fields)
        assert field in caught.value.message_dict, (field, caught.value.message_dict)
        assert rows() == before


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("title", "Q1\ncheck-in"),
        ("title", "Nul\x00"),
        ("period", "2027-Q1\n"),
        ("period", "2027-\rQ1"),
    ],
)
def test_a_reviews_title_and_period_are_one_line(acme, tree, field, text):
    before = rows()
    with pytest.raises(ValidationError) as caught:
        schedule(acme.admin, cycle=acme.cycle, **{field: text})
    assert field in caught.value.message_dict
    assert rows() == before


def test_an_action_title_is_one_line(acme, tree):
    review = schedule(acme.admin, cycle=acme.cycle)
    before = rows()
    with pytest.raises(ValidationError) as caught:
        action_create(
            actor=acme.admin,
            review=review,
            title="Call the\r\nvendor",
            owner=acme.member,
            due=dt.date(2027, 4, 1),
        )
    assert "one line" in caught.value.message_dict["title"][0]
    assert rows() == before


def test_the_owner_of_a_new_action_is_notified_but_not_who_took_it_themselves(acme, tree):
    review = schedule(acme.admin, cycle=acme.cycle, title="Support check-in")
    action_create(
        actor=acme.admin,
        review=review,
        title="Call the vendor",
        owner=acme.member,
        due=dt.date(2027, 4, 1),
    )
    action_create(
        actor=acme.admin,
        review=review,
        title="Book the room",
        owner=acme.admin,
        due=dt.date(2027, 4, 1),
    )
    told = list(Notification.objects.values_list("member_id", "kind", "title", "link"))
    assert told == [(acme.member.pk, "action_assigned", "Action for you: Call the vendor", "/my/")]
    body = Notification.objects.get().body
    assert "Support check-in" in body and "2027-04-01" in body


# ---------------------------------------------------------------- the agenda


def test_agenda_order_off_track_at_risk_stale_on_track_then_the_rest(acme):
    cycle = CycleFactory(organization=acme.org, name="Agenda", cadence="quarterly")

    def goal(level, health, *values, title, state="active", **fields):
        """A goal with stored health; one KPI per entry of `values`: a list of the
        dates of its updates (an empty list: a KPI with no update)."""
        g = GoalFactory(
            cycle=cycle, level=level, health=health, progress=30, title=title, state=state,
            **fields,
        )  # fmt: skip
        for dates in values:
            kpi = KpiFactory(goal=g, owner=acme.member)
            for day in dates:
                KpiUpdate.objects.create(kpi=kpi, value=1, date=day, author=acme.member)
        return g

    q1 = [D(2027, 2, 10)]
    root = goal("strategic", "not_started", title="Rest: not started, no KPI")
    on_fresh = goal("department", "on_track", [D(2027, 3, 31)], parent=root, title="On, fresh")
    off = goal("department", "off_track", [], parent=root, title="Off, stale too")
    on_no_kpi = goal("department", "on_track", parent=root, title="On, no KPI")
    stale_before = goal("department", "on_track", [D(2026, 12, 31)], parent=root, title="Stale")
    risk = goal("department", "at_risk", q1, parent=root, title="At risk")
    stale_after = goal("team", "on_track", [D(2027, 4, 1)], parent=on_fresh, title="Stale after")
    stale_half = goal("team", "not_started", q1, [], parent=on_fresh, title="One of two stale")
    off_low = goal("individual", "off_track", q1, parent=stale_after, owner=acme.member,
                   title="Off, individual")  # fmt: skip
    risk_low = goal("individual", "at_risk", [], parent=stale_after, owner=acme.member,
                    title="At risk, stale")  # fmt: skip
    rest_fresh = goal("team", "not_started", [D(2027, 1, 1)], parent=on_fresh, title="Rest, fresh")
    goal("team", "off_track", [], parent=on_fresh, state="cancelled", title="Cancelled")

    review = started(acme.admin, cycle)
    items = list(review.items.order_by("position").select_related("goal"))
    order = [i.goal_id for i in items]
    groups = [
        {off.pk, off_low.pk},  # off track first, whatever their KPIs
        {risk.pk, risk_low.pk},  # then at risk
        {stale_before.pk, stale_after.pk, stale_half.pk},  # a KPI lacking a Q1 value
        {on_fresh.pk, on_no_kpi.pk},  # on track
        {root.pk, rest_fresh.pk},  # the rest
    ]
    assert len(order) == sum(len(g) for g in groups)
    start = 0
    for group in groups:
        assert set(order[start : start + len(group)]) == group, [i.goal.title for i in items]
        start += len(group)
    assert order[:2] == [off.pk, off_low.pk]  # within a group: higher levels first
    stale = {i.goal_id for i in items if i.stale_snapshot}
    assert stale == {off.pk, risk_low.pk, stale_before.pk, stale_after.pk, stale_half.pk}
    assert [i.position for i in items] == list(range(1, len(items) + 1))


def test_a_monthly_review_counts_values_of_its_month_only(acme):
    cycle = CycleFactory(organization=acme.org, name="Monthly", cadence="monthly")
    root = GoalFactory(cycle=cycle, health="on_track", title="Root")
    feb = GoalFactory(cycle=cycle, level="department", parent=root, health="on_track")
    mar = GoalFactory(cycle=cycle, level="department", parent=root, health="on_track")
    for goal, day in ((feb, D(2027, 2, 28)), (mar, D(2027, 3, 1)), (root, D(2027, 3, 15))):
        kpi = KpiFactory(goal=goal, owner=acme.member)
        KpiUpdate.objects.create(kpi=kpi, value=1, date=day, author=acme.member)
    review = started(acme.admin, cycle, period="2027-03")
    assert agenda_goals(review)[0] == feb.pk
    assert {i.goal_id for i in review.items.all() if i.stale_snapshot} == {feb.pk}


# ---------------------------------------------------------------- snapshots


def test_snapshot_values_do_not_move_when_kpis_move_later(acme, tree):
    with time_machine.travel(dt.datetime(2027, 3, 15, 12, tzinfo=dt.UTC), tick=False):
        review = started(acme.reviewer, acme.cycle, goal=tree.department)
        item = review.items.get(goal=tree.individual)
        department_item = review.items.get(goal=tree.department)
        snapshot = (item.progress_snapshot, item.health_snapshot)
        department_snapshot = (department_item.progress_snapshot, department_item.health_snapshot)
        assert snapshot[0] == 0.0

        kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)  # 6 → 4: 50 %

        goal = fresh(tree.individual)
        assert goal.progress == pytest.approx(50.0)
        assert fresh(tree.department).progress != department_snapshot[0]
        item, department_item = fresh(item), fresh(department_item)
        assert (item.progress_snapshot, item.health_snapshot) == snapshot
        assert (
            department_item.progress_snapshot,
            department_item.health_snapshot,
        ) == department_snapshot
        # the agenda reads the live numbers beside the snapshot
        live = {i.goal_id: i for i in selectors.agenda(review)}[tree.individual.pk]
        assert live.goal.progress == pytest.approx(50.0) and live.progress_snapshot == 0.0


# ---------------------------------------------------------------- a completed review


@pytest.fixture
def completed(acme, tree):
    review = started(acme.reviewer, acme.cycle, department=acme.support)
    item = review.items.order_by("position").first()
    review_item_update(actor=acme.reviewer, item=item, assessment="on_track", win=True)
    action = action_create(
        actor=acme.reviewer, review=review, item=item, title="Share the playbook",
        owner=acme.member, due=D(2027, 4, 15),
    )  # fmt: skip
    review_complete(actor=acme.reviewer, review=review)
    return fresh(review), fresh(item), fresh(action)


@pytest.mark.parametrize(
    "change",
    [
        "item assessment", "item notes", "item win", "item decision", "new action",
        "new action on an item", "action title", "action owner", "action due",
        "action title and done", "review title", "review scheduled_for", "review facilitator",
        "review period",
    ],
)  # fmt: skip
def test_a_completed_review_refuses_every_change(acme, completed, change):
    review, item, action = completed
    calls = {
        "item assessment": lambda: review_item_update(actor=acme.admin, item=item, assessment="off_track"),  # noqa: E501
        "item notes": lambda: review_item_update(actor=acme.admin, item=item, notes="Late"),
        "item win": lambda: review_item_update(actor=acme.admin, item=item, win=False),
        "item decision": lambda: review_item_update(actor=acme.admin, item=item, decision="No"),
        "new action": lambda: action_create(
            actor=acme.admin, review=review, title="More", owner=acme.member, due=D(2027, 5, 1)
        ),
        "new action on an item": lambda: action_create(
            actor=acme.reviewer, review=review, item=item, title="More", owner=acme.member,
            due=D(2027, 5, 1),
        ),
        "action title": lambda: action_update(actor=acme.admin, action=action, title="Other"),
        "action owner": lambda: action_update(actor=acme.admin, action=action, owner=acme.leader),
        "action due": lambda: action_update(actor=acme.admin, action=action, due=D(2027, 6, 1)),
        "action title and done": lambda: action_update(
            actor=acme.admin, action=action, title="Other", done=True
        ),
        "review title": lambda: review_update(actor=acme.admin, review=review, title="Redo"),
        "review scheduled_for": lambda: review_update(
            actor=acme.admin, review=review, scheduled_for=at(2027, 4, 2)
        ),
        "review facilitator": lambda: review_update(
            actor=acme.admin, review=review, facilitator=acme.leader
        ),
        "review period": lambda: review_update(actor=acme.admin, review=review, period="2027-Q2"),
    }  # fmt: skip
    before = rows()
    with pytest.raises(ValidationError):
        calls[change]()
    assert rows() == before


def test_a_completed_reviews_action_may_still_be_marked_done_by_its_owner(acme, completed):
    review, item, action = completed
    from org.permissions import can_run_review

    assert not can_run_review(acme.member, review)  # sam runs no reviews…
    action = action_update(actor=acme.member, action=action, done=True)  # …but owns this one
    action = fresh(action)
    assert action.done and action.done_at is not None
    assert (action.title, action.owner_id, action.due) == ("Share the playbook", acme.member.pk,
                                                           D(2027, 4, 15))  # fmt: skip
    action_update(actor=acme.member, action=action, done=False)  # or not done after all
    assert not fresh(action).done and fresh(action).done_at is None
    assert fresh(review).state == "completed"


def test_a_completed_reviews_action_may_be_marked_done_by_whoever_runs_reviews(acme, completed):
    review, item, action = completed
    action_update(actor=acme.manager, action=action, done=True)  # Support is max's
    assert fresh(action).done


def test_only_the_owner_or_a_runner_marks_an_action_done(acme, completed):
    review, item, action = completed
    before = rows()
    for someone in (acme.tier2_member, acme.marketing_manager, acme.marketing_member):
        with pytest.raises(PermissionDenied):
            action_update(actor=someone, action=fresh(action), done=True)
    with pytest.raises(PermissionDenied):  # the owner may only tick it, not edit it
        action_update(actor=acme.member, action=fresh(action), title="Mine now")
    assert rows() == before


# ---------------------------------------------------------------- period and time


def test_period_must_match_the_cycles_cadence(acme, tree):
    monthly = CycleFactory(organization=acme.org, name="Monthly 2027", cadence="monthly")
    cases = [
        (acme.cycle, "2027-03"),  # quarterly cycle, monthly key
        (monthly, "2027-Q1"),  # monthly cycle, quarterly key
        (acme.cycle, "2027-Q5"),
        (monthly, "2027-13"),
        (monthly, "2027-3"),
        (acme.cycle, ""),
        (acme.cycle, "2028-Q1"),  # outside the cycle
        (monthly, "2026-12"),
    ]
    for cycle, period in cases:
        before = rows()
        with pytest.raises(ValidationError) as caught:
            schedule(acme.admin, cycle=cycle, period=period)
        assert set(caught.value.message_dict) == {"period"}, period
        assert rows() == before
    assert schedule(acme.admin, cycle=acme.cycle, period="2027-Q1").period == "2027-Q1"
    assert schedule(acme.admin, cycle=monthly, period="2027-03").period == "2027-03"


def test_changing_the_period_of_a_scheduled_review_is_checked_too(acme, tree):
    review = schedule(acme.admin, cycle=acme.cycle, period="2027-Q1")
    with pytest.raises(ValidationError) as caught:
        review_update(actor=acme.admin, review=review, period="2027-04")
    assert set(caught.value.message_dict) == {"period"}
    assert review.period == fresh(review).period == "2027-Q1"
    review_update(actor=acme.admin, review=review, period="2027-Q2")
    assert fresh(review).period == "2027-Q2"


@pytest.mark.parametrize(
    ("zone", "utc_hour"), [("Asia/Tokyo", 1), ("America/New_York", 14), ("UTC", 10)]
)
def test_scheduled_for_without_offset_is_in_the_organizations_time_zone(acme, tree, zone, utc_hour):
    acme.org.timezone = zone
    acme.org.save()
    acme.admin.organization.timezone = zone
    review = schedule(acme.admin, cycle=acme.cycle, scheduled_for=dt.datetime(2027, 3, 29, 10))
    assert fresh(review).scheduled_for == at(2027, 3, 29, utc_hour)
    local = fresh(review).scheduled_for.astimezone(zoneinfo.ZoneInfo(zone))
    assert (local.hour, local.minute) == (10, 0)
    # an offset, when given, is kept
    offset = dt.datetime(2027, 3, 29, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    review_update(actor=acme.admin, review=review, scheduled_for=offset)
    assert fresh(review).scheduled_for == at(2027, 3, 29, 8)
    # and an edit without one is again the organization's time
    review_update(actor=acme.admin, review=review, scheduled_for=dt.datetime(2027, 3, 30, 10))
    assert fresh(review).scheduled_for == at(2027, 3, 30, utc_hour)


# ---------------------------------------------------------------- items and actions


def test_item_and_action_input_is_validated(acme, tree):
    review = started(acme.admin, acme.cycle, department=acme.support)
    item = review.items.first()
    other = started(acme.admin, acme.cycle, goal=tree.individual)
    before = rows()
    with pytest.raises(ValidationError) as caught:
        review_item_update(actor=acme.admin, item=item, assessment="great")
    assert set(caught.value.message_dict) == {"assessment"}
    with pytest.raises(ValidationError) as caught:
        review_item_update(actor=acme.admin, item=item, notes="x" * 10001)
    assert set(caught.value.message_dict) == {"notes"}
    for fields, field in (
        ({"title": " "}, "title"),
        ({"due": None}, "due"),
        ({"item": other.items.first()}, "item"),
    ):
        data = {"title": "Do it", "owner": acme.member, "due": D(2027, 4, 1)} | fields
        with pytest.raises(ValidationError) as caught:
            action_create(actor=acme.admin, review=review, **data)
        assert field in caught.value.message_dict
    assert rows() == before
    review_item_update(actor=acme.admin, item=item, assessment="", notes="")  # clearing is fine
    assert ActionItem.objects.count() == 0
