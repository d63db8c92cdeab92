"""A person's private calendar feed (SPEC §9.6), `/calendar/<key>.ics`, read as a
calendar app reads it: without signing in. It holds the reviews the person takes part
in (by the rule of the review's participants) from 90 days back on, cancelled ones left
out, and one all-day event on the last day of each period, this one and those ahead in
their open cycles, in which they own active KPIs; nothing of another organization. An
unknown, reset or turned-off address, or a deactivated person's, answers a plain 404.
The same few queries whatever the size of the organization."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Entry
from core.periods import period_containing
from cycles.models import CycleState
from goals.models import GoalState
from kpis.models import Kpi, KpiState
from org.calendar_feeds import (
    calendar_feed_create,
    calendar_feed_reset,
    calendar_feed_turn_off,
    key_hash,
)
from org.models import CalendarFeed
from reviews import selectors
from reviews.calendar import uid
from reviews.models import Review, ReviewState
from reviews.services import review_cancel, review_complete, review_start

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory
from ..reviews.helpers import schedule
from .conftest import by_python

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, tzinfo=UTC)


@pytest.fixture
def scenes(acme, places, outsider):
    """Reviews of every scope and state around sam (Customer Support, owns KPIs on
    Marketing's goal and on his own goals), and one of another organization."""
    s = {}
    s["everyone"] = schedule(
        acme.leader, cycle=acme.cycle, title="All hands", scheduled_for=at(4, 2)
    )
    s["support"] = schedule(acme.reviewer, cycle=acme.cycle, title="Support",
                            department=acme.support, scheduled_for=at(3, 28))  # fmt: skip
    s["tier2"] = schedule(acme.reviewer, cycle=acme.cycle, title="Tier 2 only",
                          department=acme.tier2, scheduled_for=at(3, 29))  # fmt: skip
    s["marketing"] = schedule(acme.reviewer, cycle=acme.cycle, title="Marketing",
                              department=acme.marketing, scheduled_for=at(3, 30))  # fmt: skip
    # sam holds a KPI on Marketing's department goal: its review asks him.
    s["marketing_goal"] = schedule(acme.reviewer, cycle=acme.cycle, title="Campaigns",
                                   goal=places.marketing, scheduled_for=at(3, 31))  # fmt: skip
    s["lee_goal"] = schedule(acme.reviewer, cycle=acme.cycle, title="Leads",
                             goal=places.lee, scheduled_for=at(4, 1))  # fmt: skip
    s["sam_facilitates"] = schedule(acme.reviewer, cycle=acme.cycle, title="Sam leads it",
                                    department=acme.marketing, facilitator=acme.member,
                                    scheduled_for=at(4, 5))  # fmt: skip
    s["cancelled"] = schedule(acme.reviewer, cycle=acme.cycle, title="Called off",
                              department=acme.support, scheduled_for=at(4, 6))  # fmt: skip
    review_cancel(actor=acme.reviewer, review=s["cancelled"])
    s["running"] = schedule(acme.reviewer, cycle=acme.cycle, title="Running",
                            department=acme.support, scheduled_for=at(3, 15, 11))  # fmt: skip
    review_start(actor=acme.reviewer, review=s["running"])
    long_ago = dt.datetime(2026, 12, 5, 10, tzinfo=UTC)  # 100 days before March 15
    for key, moment in (("recent", at(1, 20)), ("long_ago", long_ago)):
        s[key] = schedule(acme.leader, cycle=acme.cycle, title=key, scheduled_for=moment)
        review_complete(actor=acme.leader, review=review_start(actor=acme.leader, review=s[key]))
    old_cycle = CycleFactory(organization=acme.org, name="2026", start=dt.date(2026, 1, 1),
                             end=dt.date(2026, 12, 31))  # fmt: skip
    s["too_old"] = schedule(acme.leader, cycle=old_cycle, title="Too old", period="2026-Q4",
                            scheduled_for=dt.datetime(2026, 12, 10, 10, tzinfo=UTC))  # fmt: skip
    s["other_org"] = schedule(outsider, cycle=outsider.cycle, title="Globex all hands",
                              scheduled_for=at(3, 28))  # fmt: skip
    return s


def read(client, feed: CalendarFeed):
    answer = client.get(f"/calendar/{feed.key}.ics")
    assert answer.status_code == 200, answer.content
    return answer


def expected_reviews(member) -> list[Review]:
    """Recomputed from the database: the organization's reviews from 90 days back on,
    not cancelled, whose participants (reviews.selectors.participants) include them."""
    since = timezone.now() - dt.timedelta(days=90)
    return [
        review
        for review in Review.objects.filter(
            organization=member.organization, scheduled_for__gte=since
        ).exclude(state=ReviewState.CANCELLED)
        if member in selectors.participants(review)
    ]


def expected_deadlines(member, today: dt.date) -> dict[str, tuple[dt.date, int]]:
    """Recomputed from the database: period key → (its last day, how many of the
    person's active KPIs, on active goals of open cycles, owe a value in it), for every
    period of those cycles that has not ended, walking the cycles month by month."""
    found: dict[str, tuple[dt.date, set[int]]] = {}
    kpis = Kpi.objects.filter(owner=member, state=KpiState.ACTIVE, goal__state=GoalState.ACTIVE)
    for kpi in kpis.select_related("goal__cycle"):
        cycle = kpi.goal.cycle
        if cycle.state != CycleState.OPEN:
            continue
        month = cycle.start.replace(day=1)
        while month <= cycle.end:
            period = period_containing(cycle.cadence, month)
            if period.end >= today and kpi.start <= period.end:
                found.setdefault(period.key, (period.end, set()))[1].add(kpi.pk)
            month = (month + dt.timedelta(days=32)).replace(day=1)
    return {key: (end, len(kpis)) for key, (end, kpis) in found.items()}


def test_the_feed_holds_the_persons_reviews_and_deadlines_and_nothing_else(acme, scenes, client):
    sam = acme.member
    feed = calendar_feed_create(actor=sam)
    answer = read(client, feed)
    assert answer["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in answer.content
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in answer.content
    assert b"METHOD" not in answer.content
    calendar = by_python(answer.content)
    assert calendar["calname"] == "Cascade – sam"

    reviews = {e["uid"]: e for e in calendar["events"] if e["uid"].startswith("review-")}
    wanted = expected_reviews(sam)
    assert set(reviews) == {uid(r) for r in wanted}
    titles = {r.title for r in wanted}
    assert titles == {"All hands", "Support", "Campaigns", "Sam leads it", "Running", "recent"}
    for review in wanted:
        event = reviews[uid(review)]
        start = review.scheduled_for.astimezone(UTC)
        assert event["dtstart"] == f"{start:%Y-%m-%dT%H:%M:%SZ}"
        assert event["dtend"] == f"{start + dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
        assert (event["summary"], event["sequence"]) == (review.title, review.sequence)
        assert event["status"] == "CONFIRMED"
    for absent in ("tier2", "marketing", "lee_goal", "cancelled", "long_ago", "too_old",
                   "other_org"):  # fmt: skip
        assert uid(scenes[absent]) not in reviews, absent

    deadlines = {e["summary"]: e for e in calendar["events"] if e["uid"].startswith("checkin-")}
    wanted_deadlines = expected_deadlines(sam, dt.date(2027, 3, 15))
    assert set(wanted_deadlines) == {"2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"}
    assert len(deadlines) == len(wanted_deadlines)
    for key, (last_day, count) in wanted_deadlines.items():
        event = deadlines[f"Check-in due: {count} KPI{'' if count == 1 else 's'} ({key})"]
        assert event["dtstart"] == last_day.isoformat()
        assert event["dtend"] == (last_day + dt.timedelta(days=1)).isoformat()


def test_a_monthly_cycle_adds_monthly_deadlines_and_a_closed_cycle_none(acme, tree, client):
    monthly = CycleFactory(organization=acme.org, name="2027 monthly", cadence="monthly",
                           start=dt.date(2027, 1, 1), end=dt.date(2027, 6, 30))  # fmt: skip
    goal = GoalFactory(cycle=monthly, organization=acme.org, level="strategic")
    KpiFactory(goal=goal, owner=acme.member, name="Calls")
    KpiFactory(goal=goal, owner=acme.member, name="Later", start=dt.date(2027, 5, 10))
    KpiFactory(goal=goal, owner=acme.member, name="Archived", state=KpiState.ARCHIVED)
    closed = CycleFactory(organization=acme.org, name="Closed", state=CycleState.CLOSED)
    KpiFactory(goal=GoalFactory(cycle=closed, organization=acme.org), owner=acme.member)
    calendar = by_python(read(client, calendar_feed_create(actor=acme.member)).content)
    deadlines = sorted(
        (e["dtstart"], e["summary"]) for e in calendar["events"] if e["uid"].startswith("checkin-")
    )
    assert deadlines == sorted(
        [
            ("2027-03-31", "Check-in due: 1 KPI (2027-03)"),
            ("2027-04-30", "Check-in due: 1 KPI (2027-04)"),
            ("2027-05-31", "Check-in due: 2 KPIs (2027-05)"),  # "Later" started May 10
            ("2027-06-30", "Check-in due: 2 KPIs (2027-06)"),
            ("2027-03-31", "Check-in due: 1 KPI (2027-Q1)"),  # the quarterly 2027 cycle's
            ("2027-06-30", "Check-in due: 1 KPI (2027-Q2)"),
            ("2027-09-30", "Check-in due: 1 KPI (2027-Q3)"),
            ("2027-12-31", "Check-in due: 1 KPI (2027-Q4)"),
        ]
    )


def test_a_deadline_says_how_many_values_are_in_already(acme, tree, client):
    tree.individual_kpi.last_update_on = dt.date(2027, 3, 10)
    tree.individual_kpi.save()
    answer = read(client, calendar_feed_create(actor=acme.member))
    [q1] = [
        e
        for e in icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
        if str(e["summary"]).endswith("(2027-Q1)")
    ]
    assert "1 of 1 recorded so far" in str(q1["description"])
    assert "Average ticket resolution time" in str(q1["description"])


def test_the_feed_takes_part_by_the_same_rule_as_the_participants_list(acme, places, client):
    """reviews_taking_part (set logic, for the feed) and participants (queries) agree for
    every person and every review of every scope."""
    reviews = [schedule(acme.admin, cycle=acme.cycle, title=f"Goal {name}", goal=goal)
               for name, goal in places.goals.items()]  # fmt: skip
    reviews += [schedule(acme.admin, cycle=acme.cycle, title=f"Dept {d.name}", department=d)
                for d in (acme.ops, acme.support, acme.tier2, acme.marketing)]  # fmt: skip
    reviews.append(schedule(acme.admin, cycle=acme.cycle, title="All"))
    acme.marketing_member.is_active = False
    acme.marketing_member.save()
    since = timezone.now() - dt.timedelta(days=90)
    for member in acme.org.members.select_related("user", "organization"):
        mine = {r.pk for r in selectors.reviews_taking_part(member, since)}
        assert mine == {r.pk for r in reviews if member in selectors.participants(r)}, member


@pytest.mark.parametrize("key", ["not-a-key", "A" * 43, "x" * 500, "k" * 42 + "é", "a.b"])
def test_an_unknown_address_is_a_plain_404(acme, tree, client, key):
    calendar_feed_create(actor=acme.member)
    answer = client.get(f"/calendar/{key}.ics")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.content == b"No calendar at this address."


def test_an_address_that_names_no_key_is_not_found(acme, tree, client):
    feed = calendar_feed_create(actor=acme.member)
    for path in ("/calendar/.ics", f"/calendar/{feed.key}", f"/calendar/x/{feed.key}.ics"):
        answer = client.get(path)
        assert answer.status_code == 404 and b"BEGIN:VCALENDAR" not in answer.content, path


def test_a_reset_address_and_a_turned_off_one_answer_404(acme, tree, client):
    first = calendar_feed_create(actor=acme.member)
    old_key = first.key
    read(client, first)
    again = calendar_feed_create(actor=acme.member)  # asked twice: the same address
    assert again.key == old_key
    reset = calendar_feed_reset(actor=acme.member)
    assert reset.key != old_key and reset.pk == first.pk
    assert client.get(f"/calendar/{old_key}.ics").status_code == 404
    read(client, reset)
    assert calendar_feed_turn_off(actor=acme.member) is True
    assert client.get(f"/calendar/{reset.key}.ics").status_code == 404
    assert not CalendarFeed.objects.exists()
    assert calendar_feed_turn_off(actor=acme.member) is False


def test_a_deactivated_persons_address_answers_404(acme, tree, client):
    feed = calendar_feed_create(actor=acme.member)
    acme.member.is_active = False
    acme.member.save()
    assert client.get(f"/calendar/{feed.key}.ics").status_code == 404


def test_the_key_is_kept_encrypted_and_looked_up_by_its_hash_and_never_audited(acme, tree):
    feed = calendar_feed_create(actor=acme.member)
    assert len(feed.key) >= 43 and feed.key_hash == key_hash(feed.key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM org_calendarfeed WHERE id = %s", [feed.pk])
        [(stored,)] = cursor.fetchall()
    assert feed.key not in stored
    calendar_feed_reset(actor=acme.member)
    new_key = CalendarFeed.objects.get().key
    calendar_feed_turn_off(actor=acme.member)
    entries = list(Entry.objects.filter(object_type="calendarfeed").order_by("id"))
    assert [e.action for e in entries] == [
        "calendar_feed.created",
        "calendar_feed.reset",
        "calendar_feed.deleted",
    ]
    assert {e.actor_id for e in entries} == {acme.member.pk}
    for entry in entries:
        text = f"{entry.object_label} {entry.changes} {entry.object_id}"
        assert feed.key not in text and new_key not in text


def test_reading_marks_the_address_read_at_most_once_an_hour(acme, tree, client):
    feed = calendar_feed_create(actor=acme.member)
    read(client, feed)
    first = CalendarFeed.objects.get().last_read_at
    assert first is not None
    with CaptureQueriesContext(connection) as polled:
        read(client, feed)
    assert not any(q["sql"].startswith("UPDATE") for q in polled.captured_queries)
    assert CalendarFeed.objects.get().last_read_at == first
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61), tick=False):
        read(client, feed)
        assert CalendarFeed.objects.get().last_read_at == timezone.now()


def test_the_address_answers_get_and_head_only(acme, tree, client):
    feed = calendar_feed_create(actor=acme.member)
    assert client.head(f"/calendar/{feed.key}.ics").status_code == 200
    assert client.post(f"/calendar/{feed.key}.ics").status_code == 405


# -- Queries: the same at two sizes ----------------------------------------------------


def grow(acme, tree, width: int) -> None:
    """`width` more of everything the feed reads: people, reviews of every scope
    (some cancelled, started, completed), and goals and KPIs of sam's in a new cycle."""
    cycle = CycleFactory(organization=acme.org, name=f"Monthly {width}", cadence="monthly")
    for n in range(width):
        department = (acme.support, acme.tier2, acme.marketing)[n % 3]
        person = MemberFactory(organization=acme.org, department=department)
        goal = GoalFactory(cycle=acme.cycle, organization=acme.org, level="department",
                           parent=tree.strategic, department=department, owner=person)  # fmt: skip
        KpiFactory(goal=goal, owner=acme.member if n % 2 else person)
        KpiFactory(goal=GoalFactory(cycle=cycle, organization=acme.org), owner=acme.member)
        scope = ({}, {"department": department}, {"goal": goal}, {"goal": tree.individual})[n % 4]
        review = schedule(acme.reviewer, cycle=acme.cycle, title=f"R{width}.{n}",
                          scheduled_for=at(4, 1 + n % 20), **scope)  # fmt: skip
        if n % 5 == 1:
            review_cancel(actor=acme.reviewer, review=review)
        elif n % 5 == 2:
            review_start(actor=acme.reviewer, review=review)


def queries(client, feed) -> int:
    read(client, feed)  # the hourly read mark is written: not counted below
    with CaptureQueriesContext(connection) as done:
        read(client, feed)
    return len(done.captured_queries)


def test_the_feed_takes_the_same_queries_at_two_sizes(acme, tree, client):
    feed = calendar_feed_create(actor=acme.member)
    grow(acme, tree, 3)
    small = queries(client, feed)
    small_events = read(client, feed).content.count(b"BEGIN:VEVENT")
    grow(acme, tree, 24)
    large = queries(client, feed)
    large_events = read(client, feed).content.count(b"BEGIN:VEVENT")
    assert large_events > small_events + 10
    assert small == large <= 5
