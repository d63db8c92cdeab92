"""Review reminders (SPEC §6), run by a real worker through Redis: each participant of
a scheduled review dated from the run date to two days after it (inclusive, in the
organization's time zone) gets one reminder for that review, ever — an in-app
notification, and an email when they have an address and want reminder emails."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from org.models import Notification
from reviews.models import ReviewReminder
from reviews.reminders import review_reminders_send_due
from reviews.services import review_complete, review_start
from reviews.tasks import send_review_reminders

from ..factories import MemberFactory
from ..reviews.helpers import schedule
from .conftest import wait

D = dt.date
SUPPORT = {"rey", "max", "sam", "tia"}  # the reviewer facilitates; Support and Tier 2's people


def local(zone: str, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone))


def reminded() -> list[tuple[str, int]]:
    """(username, review id) of every review reminder notification, sorted."""
    return sorted(
        (n.member.user.username, int(n.link.strip("/").split("/")[-1]))
        for n in Notification.objects.filter(kind="review_reminder").select_related("member__user")
    )


def reminder_mails() -> list:
    """The review reminders emailed (not the calendar invitations that scheduling sends,
    tests/calendar/)."""
    return [m for m in mail.outbox if m.subject.startswith("Cascade check-in soon")]


def mailed_to() -> list[str]:
    return sorted(m.to[0].split("@")[0] for m in reminder_mails())


@pytest.fixture
def review(acme, tree):
    """Customer Support's check-in on Sunday March 28, 2027 at 10:00 (UTC, Acme's zone)."""
    return schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title="Support Q1 check-in",
        department=acme.support,
        scheduled_for=dt.datetime(2027, 3, 28, 10),
    )


def test_each_participant_gets_one_notification_and_one_email(acme, review, worker):
    assert wait([send_review_reminders.delay("2027-03-26")]) == [4]
    assert reminded() == sorted((name, review.pk) for name in SUPPORT)
    assert mailed_to() == sorted(SUPPORT)
    note = Notification.objects.filter(kind="review_reminder").first()
    assert note.link == f"/reviews/{review.pk}/"
    assert "Support Q1 check-in" in note.title and "10:00" in note.title
    message = next(m for m in reminder_mails() if m.to == [acme.member.user.email])
    assert "Support Q1 check-in" in message.subject
    assert "Sunday, March 28, 10:00" in message.body
    assert f"/reviews/{review.pk}/" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and f"/reviews/{review.pk}/" in html
    assert set(ReviewReminder.objects.values_list("member__user__username", flat=True)) == SUPPORT


@pytest.mark.parametrize(
    ("day", "sent"),
    [
        (D(2027, 3, 25), 0),  # three days ahead: not yet
        (D(2027, 3, 26), 4),  # two days ahead
        (D(2027, 3, 27), 4),
        (D(2027, 3, 28), 4),  # the day itself
        (D(2027, 3, 29), 0),  # it was yesterday
    ],
)
def test_the_window_is_the_run_date_to_two_days_after(acme, review, worker, day, sent):
    assert wait([send_review_reminders.delay(day.isoformat())]) == [sent]
    assert len(reminder_mails()) == sent
    assert Notification.objects.filter(kind="review_reminder").count() == sent


def test_a_second_run_sends_nothing(acme, review, worker):
    assert wait([send_review_reminders.delay("2027-03-26")]) == [4]
    assert wait([send_review_reminders.delay("2027-03-27")]) == [0]
    assert wait([send_review_reminders.delay("2027-03-26")]) == [0]
    assert len(reminder_mails()) == 4
    assert Notification.objects.filter(kind="review_reminder").count() == 4
    assert ReviewReminder.objects.count() == 4


def test_two_runs_at_once_send_nothing_twice(acme, review, worker):
    results = [send_review_reminders.delay("2027-03-27") for _ in range(2)]
    assert sorted(wait(results)) == [0, 4]
    assert mailed_to() == sorted(SUPPORT)
    assert reminded() == sorted((name, review.pk) for name in SUPPORT)


def test_concurrent_service_calls_claim_each_reminder_once(
    acme, review, broker, together, require_postgres
):
    counts = together([lambda: review_reminders_send_due(day=D(2027, 3, 27))] * 3)
    assert sorted(counts) == [0, 0, 4]
    assert ReviewReminder.objects.count() == 4
    assert len(reminder_mails()) == 4


def test_reviews_three_days_ahead_in_progress_or_completed_get_nothing(acme, tree, worker):
    schedule(
        acme.admin, cycle=acme.cycle, title="Too early", scheduled_for=dt.datetime(2027, 3, 29, 9)
    )
    running = schedule(
        acme.admin, cycle=acme.cycle, title="Running", scheduled_for=dt.datetime(2027, 3, 27, 9)
    )
    review_start(actor=acme.admin, review=running)
    done = schedule(
        acme.admin, cycle=acme.cycle, title="Done", scheduled_for=dt.datetime(2027, 3, 26, 9)
    )
    review_complete(actor=acme.admin, review=review_start(actor=acme.admin, review=done))
    assert wait([send_review_reminders.delay("2027-03-26")]) == [0]
    assert reminder_mails() == []
    assert not Notification.objects.filter(kind="review_reminder").exists()
    assert not ReviewReminder.objects.exists()


def test_a_review_that_starts_early_is_never_reminded_later(acme, review, worker):
    review_start(actor=acme.admin, review=review)
    assert wait([send_review_reminders.delay("2027-03-27")]) == [0]
    assert reminder_mails() == []


def test_the_window_is_the_organizations_calendar(acme, tree, worker):
    """Auckland is UTC+13 in March: a meeting on March 29 at 00:30 there is still March 28
    in UTC, and one on March 26 at 08:00 there is March 25 in UTC."""
    zone = "Pacific/Auckland"
    acme.org.timezone = zone
    acme.org.save()
    acme.admin.organization.timezone = zone
    late = schedule(acme.admin, cycle=acme.cycle, title="Late", department=acme.tier2,
                    scheduled_for=local(zone, 2027, 3, 29, 0, 30))  # fmt: skip
    early = schedule(acme.admin, cycle=acme.cycle, title="Early", department=acme.tier2,
                     scheduled_for=local(zone, 2027, 3, 26, 8))  # fmt: skip
    assert early.scheduled_for.astimezone(dt.UTC).date() == D(2027, 3, 25)
    assert late.scheduled_for.astimezone(dt.UTC).date() == D(2027, 3, 28)

    assert wait([send_review_reminders.delay("2027-03-26")]) == [2]  # ada and tia, for Early
    assert reminded() == [("ada", early.pk), ("tia", early.pk)]
    message = next(m for m in reminder_mails() if m.to == [acme.tier2_member.user.email])
    assert "Friday, March 26, 08:00" in message.body  # the organization's time, not UTC
    assert "08:00" in Notification.objects.filter(member=acme.tier2_member).get().title

    assert wait([send_review_reminders.delay("2027-03-27")]) == [2]  # now Late, on the 29th
    assert sorted(r for r in reminded() if r[1] == late.pk) == [("ada", late.pk), ("tia", late.pk)]


def test_each_review_is_reminded_separately(acme, review, worker):
    other = schedule(acme.admin, cycle=acme.cycle, title="Tier 2 sync", department=acme.tier2,
                     scheduled_for=dt.datetime(2027, 3, 27, 15))  # fmt: skip
    assert wait([send_review_reminders.delay("2027-03-26")]) == [6]
    assert reminded() == sorted(
        [(name, review.pk) for name in SUPPORT] + [("ada", other.pk), ("tia", other.pk)]
    )
    assert mailed_to().count("tia") == 2


def test_a_whole_organization_review_reminds_everyone_active(acme, tree, outsider, worker):
    MemberFactory(organization=acme.org, user__username="gone", is_active=False)
    review = schedule(acme.leader, cycle=acme.cycle, scheduled_for=dt.datetime(2027, 3, 27, 9))
    assert wait([send_review_reminders.delay("2027-03-27")]) == [8]
    names = {name for name, _ in reminded()}
    assert names == {"ada", "lena", "max", "mia", "sam", "tia", "lee", "rey"}
    assert {r for _, r in reminded()} == {review.pk}


def test_people_without_email_or_who_turned_it_off_get_the_notification_only(acme, review, worker):
    acme.member.reminder_emails = False
    acme.member.save()
    acme.tier2_member.user.email = ""
    acme.tier2_member.user.save()
    assert wait([send_review_reminders.delay("2027-03-28")]) == [4]
    assert mailed_to() == ["max", "rey"]
    assert {name for name, _ in reminded()} == SUPPORT


def test_a_deactivated_participant_is_not_reminded(acme, review, worker):
    acme.tier2_member.is_active = False
    acme.tier2_member.save()
    assert wait([send_review_reminders.delay("2027-03-27")]) == [3]
    assert "tia" not in mailed_to()


def test_without_a_date_the_job_uses_the_organizations_today(acme, review, worker):
    with time_machine.travel(dt.datetime(2027, 3, 25, 12, tzinfo=dt.UTC), tick=False):
        assert wait([send_review_reminders.delay()]) == [0]  # three days ahead
    with time_machine.travel(dt.datetime(2027, 3, 26, 12, tzinfo=dt.UTC), tick=False):
        assert wait([send_review_reminders.delay()]) == [4]


def test_send_reminders_command_sends_review_reminders_once(acme, review, transactional_db):
    out = io.StringIO()
    call_command("send_reminders", "--date", "2027-03-27", stdout=out)
    assert "Review reminders: 4 made; emails delivered 4, not delivered 0" in out.getvalue()
    call_command("send_reminders", "--date", "2027-03-28", stdout=out)
    assert "Review reminders: 0 made; emails delivered 0, not delivered 0" in out.getvalue()
    review_mails = [m for m in reminder_mails() if "Support Q1 check-in" in m.subject]
    assert sorted(m.to[0].split("@")[0] for m in review_mails) == sorted(SUPPORT)
