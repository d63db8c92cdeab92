"""Jobs never stop for one bad row (SPEC §8.1): a recipient whose email is refused,
a review with an unwieldy title or an organization that fails is logged and skipped,
everyone else is served in the same run, and the email that could not be sent goes
out on a later run — the in-app notification only once. A real worker, through Redis."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from core.email import backoff
from kpis.models import CheckinReminder
from kpis.reminders import checkin_emails_resend, checkin_reminders_send_due
from kpis.tasks import resend_owed_checkin_emails, send_checkin_reminders
from org.models import Notification, Organization
from reviews.models import Review, ReviewReminder
from reviews.tasks import resend_owed_review_emails, send_review_reminders

from .. import mail as refusing
from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory, OrganizationFactory
from ..reviews.helpers import schedule
from .conftest import wait


def on(day: int):
    """Run as if it were March `day`, 2027, noon UTC (every organization's today)."""
    return time_machine.travel(dt.datetime(2027, 3, day, 12, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def refused(settings):
    """Addresses the mail server refuses, like an unknown mailbox."""
    settings.EMAIL_BACKEND = "tests.mail.RefusingBackend"
    refusing.REFUSED.clear()
    yield refusing.REFUSED
    refusing.REFUSED.clear()


def reminders_mailed() -> list:
    """The reminders emailed (not the calendar invitations scheduling sends)."""
    return [m for m in mail.outbox if not m.subject.startswith(INVITATIONS)]


INVITATIONS = ("Invitation:", "Updated:", "Cancelled:")  # reviews/invitations.py


def mailed(member) -> int:
    return sum(1 for m in reminders_mailed() if m.to == [member.user.email])


def notified(member, kind: str) -> int:
    return Notification.objects.filter(member=member, kind=kind).count()


@pytest.fixture
def broken(db):
    """An organization whose stored time zone no longer exists: telling its today fails."""
    org = OrganizationFactory(name="Broken")
    person = MemberFactory(organization=org, role="member")
    cycle = CycleFactory(organization=org, name="2027 monthly", cadence="monthly")
    KpiFactory(goal=GoalFactory(cycle=cycle, organization=org, level="strategic"), owner=person)
    Organization.objects.filter(pk=org.pk).update(timezone="Nowhere/Never")
    return person


@pytest.fixture
def owners(acme, outsider, broken):
    """In monthly cycles of 2027, a KPI without values for sam and lee (Acme) and for
    Globex's admin; and the broken organization's."""
    people = {acme.org: (acme.member, acme.marketing_member), outsider.organization: (outsider,)}
    for org, members in people.items():
        cycle = CycleFactory(organization=org, name="2027 monthly", cadence="monthly")
        root = GoalFactory(cycle=cycle, organization=org, level="strategic")
        for member in members:
            KpiFactory(goal=root, owner=member, name=f"Demos booked by {member.user.username}")


def test_checkin_reminders_serve_everyone_but_the_refused_and_the_broken(
    acme, outsider, broken, owners, refused, worker
):
    refused.add(acme.member.user.email)
    with on(28):
        assert wait([send_checkin_reminders.delay()]) == [3]  # sam, lee, oscar; not Broken's
    assert (mailed(acme.marketing_member), mailed(outsider)) == (1, 1)
    assert mailed(acme.member) == 0  # refused…
    assert notified(acme.member, "checkin_reminder") == 1  # …but told in the app
    assert CheckinReminder.objects.get(member=acme.member).email_due
    assert notified(broken, "checkin_reminder") == 0

    refused.clear()  # his mailbox works again
    with on(29):
        assert wait([send_checkin_reminders.delay()]) == [0]  # nothing new to claim
    assert mailed(acme.member) == 1  # the owed email went out
    assert (mailed(acme.marketing_member), mailed(outsider)) == (1, 1)  # nobody twice
    assert notified(acme.member, "checkin_reminder") == 1
    reminder = CheckinReminder.objects.get(member=acme.member)
    assert not reminder.email_due and reminder.emailed_at is not None


def test_review_reminders_serve_every_review_and_recipient_but_the_refused(
    acme, tree, broken, refused, worker
):
    schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title="Support check-in",
        department=acme.support,
        scheduled_for=dt.datetime(2027, 3, 30, 10),
    )
    marketing = schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title="Marketing check-in",
        department=acme.marketing,
        scheduled_for=dt.datetime(2027, 3, 30, 11),
    )
    # A title from before the rules: a line break, and longer than any derived text.
    unwieldy = "Marketing\ncheck-in " + "x" * 281  # the longest a title can be
    Review.objects.filter(pk=marketing.pk).update(title=unwieldy)
    refused.add(acme.manager.user.email)  # max, of Support
    with on(28):
        assert wait([send_review_reminders.delay()]) == [4 + 3]  # rey max sam tia; rey mia lee
    assert mailed(acme.manager) == 0 and notified(acme.manager, "review_reminder") == 1
    for person in (acme.member, acme.tier2_member, acme.marketing_member, acme.marketing_manager):
        assert mailed(person) == 1, person
    assert mailed(acme.reviewer) == 2  # one per review
    subject = next(
        m.subject for m in reminders_mailed() if m.to == [acme.marketing_member.user.email]
    )
    assert "\n" not in subject and subject.endswith("…")
    title = Notification.objects.filter(member=acme.marketing_member).get().title
    assert len(title) <= 300 and "\n" not in title

    refused.clear()
    with on(29):
        assert wait([resend_owed_review_emails.delay()]) == [1]  # the 5-minute retry
        assert wait([send_review_reminders.delay(), resend_owed_review_emails.delay()]) == [0, 0]
    assert mailed(acme.manager) == 1
    assert notified(acme.manager, "review_reminder") == 1
    assert not ReviewReminder.objects.filter(email_due=True).exists()


def test_an_unreachable_mail_server_leaves_every_email_owed_for_the_next_run(
    acme, outsider, broken, owners, settings, worker
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with on(28):
        assert wait([send_checkin_reminders.delay()]) == [3]
    assert CheckinReminder.objects.filter(email_due=True).count() == 3
    assert Notification.objects.filter(kind="checkin_reminder").count() == 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with on(29):
        wait([send_checkin_reminders.delay()])
    assert len(mail.outbox) == 3
    assert Notification.objects.filter(kind="checkin_reminder").count() == 3


def at(hour: int, minute: int):
    """Run as if it were March 28, 2027, `hour`:`minute` UTC."""
    return time_machine.travel(dt.datetime(2027, 3, 28, hour, minute, tzinfo=dt.UTC), tick=False)


def test_a_failed_email_counts_the_attempt_keeps_the_error_and_waits_out_its_backoff(
    acme, outsider, broken, owners, refused, django_capture_on_commit_callbacks
):
    refused.add(acme.member.user.email)
    with at(12, 0), django_capture_on_commit_callbacks(execute=True):
        assert checkin_reminders_send_due() == 3
    reminder = CheckinReminder.objects.get(member=acme.member)
    assert (reminder.email_due, reminder.email_attempts, reminder.emailed_at) == (True, 1, None)
    assert reminder.email_last_error.startswith("SMTPRecipientsRefused")
    assert reminder.email_next_try == dt.datetime(2027, 3, 28, 12, 5, tzinfo=dt.UTC)
    delivered = CheckinReminder.objects.exclude(member=acme.member).get(
        member__organization=acme.org
    )
    assert (delivered.email_attempts, delivered.email_last_error) == (1, "")

    with at(12, 4):  # still refused, but not tried again before its backoff
        assert checkin_emails_resend() == 0
    assert CheckinReminder.objects.get(member=acme.member).email_attempts == 1
    with at(12, 5):  # tried, refused again: the wait doubles
        assert checkin_emails_resend() == 0
    reminder.refresh_from_db()
    assert (reminder.email_attempts, reminder.email_next_try.time()) == (2, dt.time(12, 15))

    refused.clear()
    with at(12, 15):
        assert checkin_emails_resend() == 1
        assert checkin_emails_resend() == 0  # never twice
    reminder.refresh_from_db()
    assert (reminder.email_due, reminder.email_attempts, reminder.email_next_try) == (
        False,
        3,
        None,
    )
    assert reminder.emailed_at == dt.datetime(2027, 3, 28, 12, 15, tzinfo=dt.UTC)
    assert mailed(acme.member) == 1 and mailed(acme.marketing_member) == 1
    assert notified(acme.member, "checkin_reminder") == 1


def test_the_backoff_doubles_from_five_minutes_up_to_six_hours():
    minutes = [backoff(n) / dt.timedelta(minutes=1) for n in (1, 2, 3, 4, 5, 6, 7, 8, 50)]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 360, 360]


def test_the_retry_task_sends_the_owed_emails_once_and_the_command_counts_them(
    acme, outsider, broken, owners, settings, worker
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    out = io.StringIO()
    call_command("send_reminders", "--date", "2027-03-28", stdout=out)
    assert "Check-in reminders: 4 made; emails delivered 0, not delivered 4" in out.getvalue()
    assert {r.email_attempts for r in CheckinReminder.objects.all()} == {1}
    assert all("Connection refused" in r.email_last_error for r in CheckinReminder.objects.all())
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with on(28):
        [sent] = wait([resend_owed_checkin_emails.delay()])
        assert wait([resend_owed_checkin_emails.delay()]) == [0]  # never twice
    assert sent == len(mail.outbox) >= 3
    assert not CheckinReminder.objects.filter(member__organization=acme.org, email_due=True)
    assert Notification.objects.filter(kind="checkin_reminder").count() == 4  # once each
