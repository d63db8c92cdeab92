"""The weekly digest through a real SMTP server (SPEC §9.6): one per person and week,
none for who turned it off or has nothing this week, never twice however often the job
runs, again the next week; every try of a digest carries the same Message-ID, so a
retry after a refusal (or after a worker died holding it) is the same message."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
import time_machine
from django.conf import settings as django_settings

from core.email import _claim_batch, message_id
from reviews.digest import digests_claim, weekly_digests_send_due
from reviews.models import WeeklyDigest
from reviews.tasks import send_weekly_digests

from .conftest import MONDAY_MORNING, digest_rows, text_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Who has something this week (goals, KPIs, actions or a review in the next 7 days).
GETS_ONE = {"sam", "max", "lee", "mia", "lena"}


def addresses(week, names) -> set[str]:
    return {week.people[name].user.email for name in names}


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def test_a_seeded_week_sends_one_digest_to_each_person_with_something_to_tell(week, smtp):
    with at(MONDAY_MORNING):
        sent = weekly_digests_send_due()

    received = smtp.digests()
    assert sent == len(received) == len(GETS_ONE)
    assert {m["To"] for m in received} == addresses(week, GETS_ONE)
    for message in received:
        assert message["Subject"].startswith("Your week in Cascade: ")
        assert message.get_body(preferencelist=("html",)) is not None
        assert message.get_body(preferencelist=("plain",)) is not None
        assert message["Message-ID"] == message_id(
            WeeklyDigest.objects.get(member__user__email=message["To"]),
            django_settings.DEFAULT_FROM_EMAIL,
        )
    sam = smtp.digests_to(week.people["sam"].user.email)[0]
    assert sam["Subject"] == "Your week in Cascade: 1 goal, 2 check-ins due, 2 actions, 1 review"
    assert re.fullmatch(
        r"<reviews\.weeklydigest\.\d+\.[0-9a-f]{16}@mail\.example\.com>", sam["Message-ID"]
    )


def test_who_turned_it_off_or_has_nothing_gets_a_row_and_no_email(week, smtp):
    with at(MONDAY_MORNING):
        weekly_digests_send_due()

    [tia] = digest_rows(week.people["tia"])  # turned the digest off
    assert (tia.week, tia.email_due, tia.emailed_at, tia.email_attempts) == (
        "2027-W11",
        False,
        None,
        0,
    )
    [rey] = digest_rows(week.people["rey"])  # a reviewer with nothing this week
    assert (rey.email_due, rey.email_attempts) == (False, 0)
    assert rey.emailed_at is not None  # looked at, and not needed
    assert smtp.digests_to(week.people["tia"].user.email) == []
    assert smtp.digests_to(week.people["rey"].user.email) == []


def test_running_the_job_again_that_week_sends_nothing_more(week, smtp):
    with at(MONDAY_MORNING):
        first = weekly_digests_send_due()
    later = [MONDAY_MORNING + dt.timedelta(minutes=15 * n) for n in range(1, 8)]
    for moment in [*later, MONDAY_MORNING + dt.timedelta(days=2)]:
        with at(moment):
            assert weekly_digests_send_due() == 0
    assert first == len(smtp.digests()) == len(GETS_ONE)
    assert WeeklyDigest.objects.filter(week="2027-W11").count() == 8  # every active person


def test_the_next_monday_brings_the_next_digest(week, smtp):
    with at(MONDAY_MORNING):
        weekly_digests_send_due()
    next_monday = MONDAY_MORNING + dt.timedelta(days=7)
    with at(next_monday - dt.timedelta(hours=2)):  # 06:00 in Berlin: before DIGEST_HOUR
        assert weekly_digests_send_due() == 0
    with at(next_monday):
        sent = weekly_digests_send_due()

    assert sent >= 4  # those with goals, KPIs or actions; the reviews are past by then
    sam = smtp.digests_to(week.people["sam"].user.email)
    assert len(sam) == 2
    assert sam[0]["Message-ID"] != sam[1]["Message-ID"]
    assert [row.week for row in digest_rows(week.people["sam"])] == ["2027-W11", "2027-W12"]
    assert "Week of Mon, Mar 22, 2027" in text_of(sam[1])


def test_a_refused_digest_is_retried_after_its_backoff_with_the_same_message_id(week, smtp):
    sam = week.people["sam"].user.email
    smtp.refuse_once.add(sam)
    with at(MONDAY_MORNING):
        sent = weekly_digests_send_due()
    assert sent == len(GETS_ONE) - 1
    [row] = digest_rows(week.people["sam"])
    assert (row.email_due, row.email_attempts) == (True, 1)
    assert row.email_last_error.startswith("SMTPDataError")
    assert row.email_next_try == MONDAY_MORNING + dt.timedelta(minutes=5)

    with at(MONDAY_MORNING + dt.timedelta(minutes=4)):  # its backoff still runs
        assert weekly_digests_send_due() == 0
    with at(MONDAY_MORNING + dt.timedelta(minutes=15)):  # the next beat tick
        assert send_weekly_digests() == 1

    [(refused_to, refused_id)] = smtp.refused
    [delivered] = smtp.digests_to(sam)
    assert refused_to == sam
    assert (
        delivered["Message-ID"] == refused_id == message_id(row, django_settings.DEFAULT_FROM_EMAIL)
    )
    row.refresh_from_db()
    assert (row.email_due, row.email_attempts) == (False, 2)
    assert len(smtp.digests()) == len(GETS_ONE)


def test_digests_a_dead_worker_held_go_out_once_its_lease_lapses_with_the_same_ids(week, smtp):
    with at(MONDAY_MORNING):
        digests_claim(MONDAY_MORNING)
        owed = WeeklyDigest.objects.filter(email_due=True)
        held = _claim_batch(owed, 100)  # a worker leased them, then died before sending
        assert len(held) == 7  # all but tia's: who has nothing is found out when sending
    with at(MONDAY_MORNING + dt.timedelta(minutes=5)):  # still leased: nobody sends them
        assert weekly_digests_send_due() == 0
    lapsed = MONDAY_MORNING + dt.timedelta(seconds=django_settings.EMAIL_LEASE_SECONDS + 60)
    with at(lapsed):
        assert weekly_digests_send_due() == len(GETS_ONE)
    assert {m["Message-ID"] for m in smtp.digests()} == {
        message_id(row, django_settings.DEFAULT_FROM_EMAIL)
        for row in held
        if row.member.user.email in addresses(week, GETS_ONE)
    }


def test_a_mail_server_that_is_down_leaves_the_digests_owed_for_the_next_run(week, smtp, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]
    settings.EMAIL_TIMEOUT = 2
    with at(MONDAY_MORNING):
        assert weekly_digests_send_due() == 0
    owed = WeeklyDigest.objects.filter(email_due=True)
    assert owed.count() == 7
    assert set(owed.values_list("email_attempts", flat=True)) == {1}
    settings.EMAIL_PORT = smtp.port
    with at(MONDAY_MORNING + dt.timedelta(minutes=15)):
        assert weekly_digests_send_due() == len(GETS_ONE)
    assert not WeeklyDigest.objects.filter(email_due=True).exists()
