"""An owed email's retries (SPEC §9.4): every try of a reminder row carries the same
Message-ID, so a duplicate is recognizable, and different rows carry different ones;
the owed-email sweeps run every minute, so a failed email goes out at the first minute
after its backoff, not up to five minutes later. The Message-ID is read from what a
real SMTP server (aiosmtpd) received; the sweep is the real task, run as beat would run
it at each tick of its configured schedule, with the clock moved."""

from __future__ import annotations

import datetime as dt
import email
import re
import socket

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings

from core.email import message_id
from kpis.models import CheckinNudge, CheckinReminder
from kpis.reminders import checkin_reminders_send_due
from kpis.tasks import resend_owed_checkin_emails
from reviews.models import ReviewReminder

from .. import mail as refusing
from ..factories import CycleFactory, GoalFactory, KpiFactory

pytestmark = pytest.mark.slow  # an SMTP server in a thread

# RFC 5322 msg-id: "<" dot-atom-text "@" dot-atom-text ">"
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"<{ATOM}(\.{ATOM})*@{ATOM}(\.{ATOM})*>")


class Server:
    """An SMTP server that keeps the Message-ID of every message it is given, by
    recipient, and answers 451 (try again later) to the first one for `defer`."""

    def __init__(self, defer: str):
        self.defer = defer
        self.ids: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):
        [to] = envelope.rcpt_tos
        self.ids.setdefault(to, []).append(email.message_from_bytes(envelope.content)["Message-ID"])
        if to == self.defer and len(self.ids[to]) == 1:
            return "451 Requested action aborted: try again later"
        return "250 Message accepted for delivery"


@pytest.fixture
def owners(acme):
    """sam and lee each own a KPI without a value in March 2027."""
    cycle = CycleFactory(organization=acme.org, name="2027 monthly", cadence="monthly")
    root = GoalFactory(cycle=cycle, organization=acme.org, level="strategic")
    for member in (acme.member, acme.marketing_member):
        KpiFactory(goal=root, owner=member, name=f"Demos booked by {member.user.username}")
    return acme.member, acme.marketing_member


def at(hour: int, minute: int, second: int = 0):
    """Run as if it were March 28, 2027 (in the reminder window), at that time UTC."""
    moment = dt.datetime(2027, 3, 28, hour, minute, second, tzinfo=dt.UTC)
    return time_machine.travel(moment, tick=False)


def test_a_failed_email_and_its_retry_carry_one_message_id_and_each_row_its_own(
    owners, settings, django_capture_on_commit_callbacks
):
    sam, lee = (member.user.email for member in owners)
    server = Server(defer=sam)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.DEFAULT_FROM_EMAIL = "Cascade <cascade@mail.example.com>"
    try:
        with at(12, 0), django_capture_on_commit_callbacks(execute=True):
            assert checkin_reminders_send_due() == 2  # sam's answered 451: still owed
        with at(12, 5):
            assert resend_owed_checkin_emails() == 1
    finally:
        controller.stop()

    [first, retry], [lees] = server.ids[sam], server.ids[lee]
    assert first == retry  # the same message, tried twice
    assert lees != first
    row = CheckinReminder.objects.get(member=owners[0])
    assert (row.email_attempts, row.email_due) == (2, False)
    assert first == message_id(row, django_settings.DEFAULT_FROM_EMAIL)
    assert re.fullmatch(
        rf"<kpis\.checkinreminder\.{row.pk}\.[0-9a-f]{{16}}@mail\.example\.com>", first
    )
    assert sam.split("@")[0] not in first  # nothing about the person


def test_message_ids_are_valid_and_differ_between_kinds_of_row_with_the_same_key():
    sender = "Cascade <cascade@example.com>"
    ids = {
        message_id(kind(pk=7), sender) for kind in (CheckinReminder, CheckinNudge, ReviewReminder)
    }
    assert len(ids) == 3
    assert all(MSG_ID.fullmatch(one) for one in ids), ids
    assert message_id(CheckinReminder(pk=7), sender) != message_id(CheckinReminder(pk=8), sender)
    # a sender without a domain name (none, an address literal, a malformed one)
    for odd in ("cascade@[192.0.2.1]", "Cascade", "cascade@", "cascade@a..b"):
        assert message_id(CheckinReminder(pk=7), odd).endswith("@cascade.invalid>"), odd
    assert message_id(CheckinReminder(pk=7), "c@bücher.example").endswith("@xn--bcher-kva.example>")


def ticks(schedule, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The moments in (after, until] at which beat starts a task on `schedule`."""
    moment = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    found = []
    while moment <= until:
        if moment.minute in schedule.minute and moment.hour in schedule.hour:
            found.append(moment)
        moment += dt.timedelta(minutes=1)
    return found


def test_the_owed_email_sweep_runs_every_minute_and_sends_at_the_first_tick_after_the_backoff(
    owners, settings, django_capture_on_commit_callbacks
):
    beat = settings.CELERY_BEAT_SCHEDULE
    schedule = beat["checkin-emails-owed"]["schedule"]
    assert beat["review-emails-owed"]["schedule"] == schedule
    settings.EMAIL_BACKEND = "tests.mail.RefusingBackend"
    refusing.REFUSED.clear()
    refusing.REFUSED.add(owners[0].user.email)
    try:
        with at(12, 0, 35), django_capture_on_commit_callbacks(execute=True):
            checkin_reminders_send_due()
    finally:
        refusing.REFUSED.clear()  # the mail server takes it from now on
    row = CheckinReminder.objects.get(member=owners[0])
    failed = dt.datetime(2027, 3, 28, 12, 0, 35, tzinfo=dt.UTC)
    assert row.email_next_try == failed + dt.timedelta(minutes=5)

    sent_at = {}
    for tick in ticks(schedule, failed, failed + dt.timedelta(minutes=10)):
        with time_machine.travel(tick, tick=False):
            sent_at[tick.strftime("%H:%M")] = resend_owed_checkin_emails()
    # 12:05 is 25 s before the backoff ends: not yet; the next tick sends it, and no other
    assert sent_at == {f"12:{m:02}": int(m == 6) for m in range(1, 11)}
    row.refresh_from_db()
    assert row.emailed_at == dt.datetime(2027, 3, 28, 12, 6, tzinfo=dt.UTC)
    assert (row.email_due, row.email_attempts) == (False, 2)
