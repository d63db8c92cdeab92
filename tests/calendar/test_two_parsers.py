"""Every calendar object Cascade writes (SPEC §9.6) reads the same in two independent
parsers, Python's `icalendar` and Mozilla's `ical.js` under Node (Thunderbird's): the
invitation, an update, a cancellation — taken from the emails as a mail server gets
them — and a person's feed, as its address serves it. An update keeps the UID and
raises the SEQUENCE; a cancellation cancels. Titles and names carry what iCalendar must
escape (commas, semicolons, backslashes, quotes, line breaks, other scripts)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from org.calendar_feeds import calendar_feed_create
from reviews.calendar import uid
from reviews.invitations import invitations_send
from reviews.services import review_cancel, review_update

from ..reviews.helpers import schedule
from .conftest import by_python, calendar_part

pytestmark = pytest.mark.django_db

TITLE = 'Überprüfung Q1; “Support”, Tier 2 \\ 東京 — "live"'


@pytest.fixture
def odd_names(acme):
    """The facilitator and one participant with names iCalendar must quote or escape."""
    acme.reviewer.user.first_name, acme.reviewer.user.last_name = 'Rey "R."', "O'Neil; Jr."
    acme.reviewer.user.save()
    acme.tier2_member.user.first_name, acme.tier2_member.user.last_name = "Tía", "Ñúñez, M."
    acme.tier2_member.user.save()
    return acme


def both(by_node, ics: bytes) -> dict:
    """What each parser reads, checked to agree; icalendar's reading."""
    python, node = by_python(ics), by_node(ics)
    assert python == node
    return python


def tia_s(method_wanted: str):
    [message] = [m for m in mail.outbox if m.to == ["tia@example.com"]]
    method, ics = calendar_part(message)
    assert method == method_wanted
    return ics


def test_an_invitation_its_update_and_its_cancellation_read_the_same_in_both(
    odd_names, tree, by_node
):
    acme = odd_names
    review = schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title=TITLE,
        department=acme.tier2,
        scheduled_for=dt.datetime(2027, 3, 28, 10, tzinfo=dt.UTC),
    )
    invitations_send()
    invited = both(by_node, tia_s("REQUEST"))
    assert invited["method"] == "REQUEST"
    [event] = invited["events"]
    assert event["uid"] == uid(review)
    assert (event["sequence"], event["status"]) == (0, "CONFIRMED")
    assert (event["dtstart"], event["dtend"]) == ("2027-03-28T10:00:00Z", "2027-03-28T11:00:00Z")
    assert event["summary"] == TITLE
    assert event["attendees"] == ["mailto:tia@example.com"]
    assert event["organizer"] == "mailto:rey@example.com"

    mail.outbox.clear()
    review_update(
        actor=acme.reviewer,
        review=review,
        scheduled_for=dt.datetime(2027, 3, 31, 16, 45, tzinfo=dt.UTC),
    )
    invitations_send()
    updated = both(by_node, tia_s("REQUEST"))
    [moved] = updated["events"]
    assert updated["method"] == "REQUEST"
    assert moved["uid"] == event["uid"]  # the same meeting
    assert moved["sequence"] == 1 > event["sequence"]  # a newer version of it
    assert moved["dtstart"] == "2027-03-31T16:45:00Z"
    assert moved["status"] == "CONFIRMED"

    mail.outbox.clear()
    review_cancel(actor=acme.reviewer, review=review)
    invitations_send()
    cancelled = both(by_node, tia_s("CANCEL"))
    [gone] = cancelled["events"]
    assert cancelled["method"] == "CANCEL"
    assert gone["uid"] == event["uid"]
    assert gone["sequence"] == 2
    assert gone["status"] == "CANCELLED"
    assert gone["dtstart"] == "2027-03-31T16:45:00Z"


def test_a_feed_reads_the_same_in_both(odd_names, tree, by_node, client):
    acme = odd_names
    review = schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title=TITLE,
        department=acme.support,
        scheduled_for=dt.datetime(2027, 3, 28, 10, tzinfo=dt.UTC),
    )
    review_update(actor=acme.reviewer, review=review, title=TITLE + " (moved)")
    feed = calendar_feed_create(actor=acme.member)  # sam: Support, owns a KPI
    answer = client.get(f"/calendar/{feed.key}.ics")
    assert answer.status_code == 200
    calendar = both(by_node, answer.content)
    assert calendar["method"] is None  # a published calendar, not a message
    assert calendar["calname"] == "Cascade – sam"
    reviews = [e for e in calendar["events"] if e["uid"] == uid(review)]
    assert [(e["sequence"], e["status"], e["dtstart"], e["summary"]) for e in reviews] == [
        (1, "CONFIRMED", "2027-03-28T10:00:00Z", TITLE + " (moved)")
    ]
    deadlines = [e for e in calendar["events"] if e["uid"].startswith("checkin-")]
    assert deadlines and all(len(e["dtstart"]) == 10 for e in deadlines)  # all-day dates
