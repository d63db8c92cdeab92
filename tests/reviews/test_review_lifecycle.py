"""A check-in review's life through the real services (SPEC §1 Review, §4 reviews/):
it starts only when scheduled and completes only when in progress; its scope, cycle
and period are fixed once started; titles are one line, and the owner of a new action
is told; the agenda puts off-track goals first, then at risk, stale and on track; the
snapshot taken at the start never moves; a completed review refuses every change,
though its actions may still be marked done; the period follows the cycle's cadence
and a time without an offset is the organization's; item and action input is
validated. A refusal changes nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kpis.models import KpiUpdate
from kpis.services import kpi_record_value
from org.models import Notification
from reviews import selectors
from reviews.models import ActionItem, ReviewItem
from reviews.services import (
    action_create,
    action_update,
    review_complete,
    review_item_update,
    review_start,
    review_update,
)

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory
from .helpers import D, agenda_goals, at, fresh, rows, schedule, started

pytestmark = pytest.mark.django_db


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
