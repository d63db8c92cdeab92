"""When the digest goes (SPEC §9.6): Monday from DIGEST_HOUR in the person's own time
zone, else the organization's — never before, never on another day — once for that
ISO week; and its times are shown in that zone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from reviews.digest import weekly_digests_send_due
from reviews.models import WeeklyDigest
from reviews.tasks import send_weekly_digests

from .conftest import text_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Sunday, March 14, 2027, 23:30 UTC: Monday 08:30 in Tokyo, Monday 00:30 in Berlin,
# Sunday 16:30 in Los Angeles.
SUNDAY_NIGHT_UTC = dt.datetime(2027, 3, 14, 23, 30, tzinfo=dt.UTC)


@pytest.fixture
def zones(week):
    """sam in Tokyo, lee in Los Angeles; the rest of Acme in Berlin (the organization's)."""
    sam, lee = week.people["sam"], week.people["lee"]
    sam.timezone = "Asia/Tokyo"
    sam.save()
    lee.timezone = "America/Los_Angeles"
    lee.save()
    return week


def claimed(moment: dt.datetime) -> set[str]:
    with time_machine.travel(moment, tick=False):
        weekly_digests_send_due(now=moment)
    return set(WeeklyDigest.objects.values_list("member__user__username", flat=True))


def test_a_member_in_tokyo_gets_it_on_their_monday_morning_before_the_organization(zones, smtp):
    assert claimed(SUNDAY_NIGHT_UTC) == {"sam"}  # Tokyo 08:30 Monday; Berlin 00:30
    [message] = smtp.digests()
    assert message["To"] == zones.people["sam"].user.email
    text = text_of(message)
    assert "Week of Mon, Mar 15, 2027 · times in Asia/Tokyo" in text
    # Support weekly is on Wednesday 10:00 in Berlin: 18:00 in Tokyo.
    assert "- Support weekly: Wed, Mar 17, 18:00 (Department: Customer Support)" in text
    assert WeeklyDigest.objects.get().week == "2027-W11"


def test_the_organization_zone_decides_for_everyone_without_their_own(zones, smtp):
    before = dt.datetime(2027, 3, 15, 5, 59, tzinfo=dt.UTC)  # Berlin 06:59
    assert claimed(before) == {"sam"}
    at_seven = dt.datetime(2027, 3, 15, 6, 0, tzinfo=dt.UTC)  # Berlin 07:00
    berliners = {"ada", "lena", "max", "mia", "tia", "rey"}
    assert claimed(at_seven) == {"sam"} | berliners
    text = text_of(smtp.digests_to(zones.people["max"].user.email)[0])
    assert "times in Europe/Berlin" in text
    assert "- Support weekly: Wed, Mar 17, 10:00 (Department: Customer Support)" in text
    # Los Angeles reaches Monday 07:00 at 14:00 UTC.
    assert claimed(dt.datetime(2027, 3, 15, 13, 59, tzinfo=dt.UTC)) == {"sam"} | berliners
    assert "lee" in claimed(dt.datetime(2027, 3, 15, 14, 0, tzinfo=dt.UTC))


def test_no_digest_on_another_day_than_monday(zones, smtp):
    for moment in (
        dt.datetime(2027, 3, 14, 12, tzinfo=dt.UTC),  # Sunday everywhere but Tokyo's night
        dt.datetime(2027, 3, 16, 8, tzinfo=dt.UTC),  # Tuesday in Berlin and Tokyo
        dt.datetime(2027, 3, 20, 9, tzinfo=dt.UTC),  # Saturday
    ):
        assert claimed(moment) == set(), moment
    assert smtp.digests() == []


def test_a_monday_missed_entirely_is_not_made_up_on_tuesday(zones, smtp):
    """The job claims on Monday only: a Monday with no run (beat down all day) sends
    nothing that week; Tuesday brings none."""
    tuesday_morning = dt.datetime(2027, 3, 16, 7, tzinfo=dt.UTC)
    assert claimed(tuesday_morning) == set()


def test_digest_hour_is_a_setting(zones, smtp, settings):
    settings.DIGEST_HOUR = 9
    assert claimed(dt.datetime(2027, 3, 14, 23, 30, tzinfo=dt.UTC)) == set()  # Tokyo 08:30
    # Berlin 08:59 (Tokyo 16:59: sam's is due)
    assert claimed(dt.datetime(2027, 3, 15, 7, 59, tzinfo=dt.UTC)) == {"sam"}
    assert "max" in claimed(dt.datetime(2027, 3, 15, 8, 0, tzinfo=dt.UTC))  # Berlin 09:00


def test_the_task_takes_the_moment_to_run_as(zones, smtp):
    with time_machine.travel(SUNDAY_NIGHT_UTC, tick=False):
        assert send_weekly_digests(now=SUNDAY_NIGHT_UTC.isoformat()) == 1
    assert [m["To"] for m in smtp.digests()] == [zones.people["sam"].user.email]


def test_moving_to_another_zone_after_the_digest_sends_no_second_one_that_week(zones, smtp):
    assert claimed(SUNDAY_NIGHT_UTC) == {"sam"}
    sam = zones.people["sam"]
    sam.timezone = "America/Los_Angeles"  # Monday comes again there, later
    sam.save()
    assert claimed(dt.datetime(2027, 3, 15, 15, tzinfo=dt.UTC)) >= {"sam", "lee"}
    assert len(smtp.digests_to(sam.user.email)) == 1
