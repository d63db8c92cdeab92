"""Calendar invitations by email (SPEC §9.6): scheduling a review owes each participant
an invitation (METHOD:REQUEST) in the write's own transaction; a change people must see
raises the review's SEQUENCE and owes the update under the same UID, and a cancellation
(METHOD:CANCEL) to whoever the new scope no longer asks; cancelling the review cancels
everyone's. Only the newest version owed to a person goes out; whoever turned reminder
emails off gets none. Sending is the outbox's (core/email.py): after commit by a task,
else by the minute's sweep, each try of a row with one Message-ID.

Here the emails land in Django's outbox (the sweep function called directly) or at a
real SMTP server (aiosmtpd), through a real worker and Redis where the path matters."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from cascade.celery import app as celery_app
from core.email import message_id
from reviews.calendar import uid
from reviews.invitations import invitations_send
from reviews.models import Review, ReviewInvitation, ReviewState
from reviews.reminders import review_reminders_send_due
from reviews.services import review_cancel, review_start, review_update
from reviews.tasks import resend_owed_invitations

from ..api.helpers import API, client_for
from ..jobs.conftest import broker, broker_at, until, worker  # noqa: F401 — fixtures
from ..jobs.test_redis_faults import RedisProcess
from ..reviews.helpers import schedule
from .conftest import SUPPORT, by_python, calendar_part

UTC = dt.UTC
MOVED = dt.datetime(2027, 3, 30, 14, 30, tzinfo=UTC)


def name(address: str) -> str:
    return address.split("@")[0]


def sent() -> dict[str, list]:
    """The outbox by recipient's username, in the order sent."""
    found: dict[str, list] = {}
    for message in mail.outbox:
        found.setdefault(name(message.to[0]), []).append(message)
    return found


def event_of(message) -> tuple[str, dict, dict]:
    """(the text/calendar part's METHOD, the calendar as icalendar reads it, its one event)."""
    method, ics = calendar_part(message)
    calendar = by_python(ics)
    [event] = calendar["events"]
    return method, calendar, event


def owed(review: Review) -> set[tuple[str, str, int]]:
    return {
        (row.member.user.username, row.method, row.sequence)
        for row in ReviewInvitation.objects.filter(review=review).select_related("member__user")
    }


def test_scheduling_owes_each_participant_one_invitation_that_carries_the_ics(acme, review):
    assert owed(review) == {(who, "REQUEST", 0) for who in SUPPORT}
    assert invitations_send() == 4
    assert sorted(sent()) == sorted(SUPPORT)
    for who, [message] in sent().items():
        assert message.subject == "Invitation: Support Q1 check-in · Sun Mar 28, 2027 10:00 UTC"
        method, calendar, event = event_of(message)
        assert method == calendar["method"] == "REQUEST"
        assert event == {
            "uid": uid(review),
            "sequence": 0,
            "dtstart": "2027-03-28T10:00:00Z",
            "dtend": "2027-03-28T11:00:00Z",  # REVIEW_MINUTES: 60
            "status": "CONFIRMED",
            "summary": "Support Q1 check-in",
            "attendees": [f"mailto:{who}@example.com"],
            "organizer": "mailto:rey@example.com",
        }
        assert "Sunday, March 28, 2027, 10:00–11:00 (UTC)" in message.body
        assert "Department: Customer Support" in message.body
        assert f"/reviews/{review.pk}/" in message.body
        html = dict((mime, body) for body, mime in message.alternatives)["text/html"]
        assert "Support Q1 check-in" in html and "Open the review" in html
    assert invitations_send() == 0  # each once
    assert not ReviewInvitation.objects.filter(email_due=True).exists()


def test_a_uid_is_the_reviews_for_good_and_differs_between_reviews(acme, tree, review):
    other = schedule(acme.reviewer, cycle=acme.cycle, title="Another", department=acme.support)
    assert uid(review) == uid(Review.objects.get(pk=review.pk))
    assert uid(review) != uid(other)
    assert uid(review).startswith(f"review-{review.pk}-") and uid(review).endswith("@127.0.0.1")


def test_a_scheduling_that_rolls_back_owes_nothing(acme, tree):
    with pytest.raises(RuntimeError), transaction.atomic():
        schedule(acme.reviewer, cycle=acme.cycle, title="Gone", department=acme.support)
        raise RuntimeError("the request fails after the review")
    assert not Review.objects.exists() and not ReviewInvitation.objects.exists()


def test_whoever_turned_reminder_emails_off_or_has_no_address_is_owed_none(acme, tree):
    acme.member.reminder_emails = False
    acme.member.save()
    acme.tier2_member.user.email = ""
    acme.tier2_member.user.save()
    review = schedule(acme.reviewer, cycle=acme.cycle, title="Check-in", department=acme.support)
    assert owed(review) == {("rey", "REQUEST", 0), ("max", "REQUEST", 0)}
    invitations_send()
    assert sorted(sent()) == ["max", "rey"]


def test_one_who_turns_reminder_emails_off_before_it_goes_gets_none(acme, review):
    acme.manager.reminder_emails = False
    acme.manager.save()
    assert invitations_send() == 3
    assert "max" not in sent()
    row = ReviewInvitation.objects.get(review=review, member=acme.manager)
    assert (row.email_due, row.email_attempts) == (False, 0)  # done, nothing sent


def test_a_time_change_keeps_the_uid_raises_the_sequence_and_moves_the_event(acme, review):
    invitations_send()
    mail.outbox.clear()
    review_update(actor=acme.reviewer, review=review, scheduled_for=MOVED)
    assert Review.objects.get(pk=review.pk).sequence == review.sequence == 1
    assert owed(review) == {(w, "REQUEST", s) for w in SUPPORT for s in (0, 1)}
    assert invitations_send() == 4
    for [message] in sent().values():
        assert message.subject == "Updated: Support Q1 check-in · Tue Mar 30, 2027 14:30 UTC"
        method, _, event = event_of(message)
        assert method == "REQUEST"
        assert (event["uid"], event["sequence"]) == (uid(review), 1)
        assert (event["dtstart"], event["dtend"]) == (
            "2027-03-30T14:30:00Z",
            "2027-03-30T15:30:00Z",
        )
        assert "has changed" in message.body


def test_two_changes_before_anything_went_send_only_the_newest_and_as_an_invitation(acme, review):
    review_update(actor=acme.reviewer, review=review, scheduled_for=MOVED)
    review_update(actor=acme.reviewer, review=review, title="Support Q1 check-in (moved)")
    assert review.sequence == 2
    assert invitations_send() == 4  # three versions owed each, the newest sent
    for [message] in sent().values():
        assert message.subject.startswith("Invitation: Support Q1 check-in (moved) · Tue Mar 30")
        _, _, event = event_of(message)
        assert event["sequence"] == 2 and event["summary"] == "Support Q1 check-in (moved)"
    passed_over = ReviewInvitation.objects.filter(sequence__lt=2)
    assert passed_over.count() == 8 and not passed_over.filter(email_attempts__gt=0).exists()


def test_a_change_nothing_shows_owes_nothing_and_keeps_the_sequence(acme, review):
    review_update(
        actor=acme.reviewer,
        review=review,
        title=review.title,
        scheduled_for=review.scheduled_for.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")),
        department=acme.support,
    )
    assert Review.objects.get(pk=review.pk).sequence == 0
    assert ReviewInvitation.objects.count() == 4


def test_a_started_review_changes_version_but_emails_nobody(acme, review):
    invitations_send()
    mail.outbox.clear()
    review_start(actor=acme.reviewer, review=review)
    review.refresh_from_db()
    review_update(actor=acme.reviewer, review=review, title="Support Q1 check-in, live")
    assert Review.objects.get(pk=review.pk).sequence == 1
    assert ReviewInvitation.objects.filter(sequence=1).count() == 0
    assert invitations_send() == 0


def test_a_scope_change_cancels_for_those_who_left_and_invites_those_who_joined(acme, review):
    invitations_send()
    mail.outbox.clear()
    review_update(actor=acme.reviewer, review=review, department=acme.marketing)
    # Marketing's people: mia (its manager) and lee; rey still facilitates.
    assert owed(review) - {(w, "REQUEST", 0) for w in SUPPORT} == {
        ("rey", "REQUEST", 1),
        ("mia", "REQUEST", 1),
        ("lee", "REQUEST", 1),
        ("max", "CANCEL", 1),
        ("sam", "CANCEL", 1),
        ("tia", "CANCEL", 1),
    }
    assert invitations_send() == 6
    mails = sent()
    for who in ("max", "sam", "tia"):
        [message] = mails[who]
        method, calendar, event = event_of(message)
        assert method == calendar["method"] == "CANCEL"
        assert (event["uid"], event["sequence"], event["status"]) == (uid(review), 1, "CANCELLED")
        assert event["attendees"] == [f"mailto:{who}@example.com"]
        assert message.subject.startswith("Cancelled: Support Q1 check-in · ")
        assert "no longer asked" in message.body
    assert mails["rey"][0].subject.startswith("Updated: ")
    for who in ("mia", "lee"):  # their first: an invitation, not an update
        [message] = mails[who]
        assert message.subject.startswith("Invitation: ")
        assert event_of(message)[2]["sequence"] == 1
        assert "Department: Marketing" in message.body


def test_cancelling_sends_everyone_invited_a_cancellation_at_a_raised_sequence(acme, review):
    invitations_send()
    mail.outbox.clear()
    cancelled = review_cancel(actor=acme.reviewer, review=review)
    row = Review.objects.get(pk=review.pk)
    assert (row.state, row.sequence) == (ReviewState.CANCELLED, 1) and row.cancelled_at
    assert cancelled.state == ReviewState.CANCELLED
    assert invitations_send() == 4
    for [message] in sent().values():
        assert message.subject == "Cancelled: Support Q1 check-in · Sun Mar 28, 2027 10:00 UTC"
        method, calendar, event = event_of(message)
        assert method == calendar["method"] == "CANCEL"
        assert (event["uid"], event["sequence"]) == (uid(review), 1)
        assert event["status"] == "CANCELLED"
        assert event["dtstart"] == "2027-03-28T10:00:00Z"
        assert "is cancelled" in message.body


def test_cancelling_before_the_invitations_went_sends_nothing_at_all(acme, review):
    review_cancel(actor=acme.reviewer, review=review)
    assert invitations_send() == 0
    assert mail.outbox == []
    assert not ReviewInvitation.objects.filter(email_due=True).exists()


def test_times_are_in_each_persons_own_zone(acme, review):
    acme.member.timezone = "Europe/Berlin"  # summer time from March 28, 2027, 01:00 UTC
    acme.member.save()
    invitations_send()
    [berlin] = sent()["sam"]
    assert berlin.subject == "Invitation: Support Q1 check-in · Sun Mar 28, 2027 12:00 CEST"
    assert "Sunday, March 28, 2027, 12:00–13:00 (CEST)" in berlin.body
    assert event_of(berlin)[2]["dtstart"] == "2027-03-28T10:00:00Z"  # the .ics: UTC


def test_a_long_title_is_cut_in_the_subject_never_the_time(acme, tree):
    review = schedule(acme.reviewer, cycle=acme.cycle, title="Q" * 200, department=acme.tier2)
    invitations_send()
    subject = sent()["tia"][0].subject
    assert len(subject) <= 150 and "…" in subject
    assert subject.endswith(" · Mon Mar 29, 2027 10:00 UTC")
    assert event_of(sent()["tia"][0])[2]["summary"] == review.title  # the .ics: all of it


def test_the_review_reminder_carries_the_current_invitation(
    acme, review, django_capture_on_commit_callbacks
):
    review_update(actor=acme.reviewer, review=review, scheduled_for=MOVED)
    with django_capture_on_commit_callbacks(execute=True):
        assert review_reminders_send_due(day=dt.date(2027, 3, 28)) == 4
    reminders = [m for m in mail.outbox if m.subject.startswith("Cascade check-in soon")]
    assert sorted(name(m.to[0]) for m in reminders) == sorted(SUPPORT)
    for message in reminders:
        method, _, event = event_of(message)
        assert method == "REQUEST"
        assert (event["uid"], event["sequence"]) == (uid(review), 1)
        assert event["dtstart"] == "2027-03-30T14:30:00Z"
        assert "attached invitation" in message.body


# -- Through a real SMTP server, a real worker and Redis --------------------------------


def test_a_retry_carries_the_same_message_id_to_a_real_smtp_server(acme, review, smtp):
    sam = acme.member.user.email
    smtp.answer_451_once_to = sam
    assert invitations_send() == 3  # sam's: "try again later", still owed
    row = ReviewInvitation.objects.get(review=review, member=acme.member)
    assert row.email_due and row.email_attempts == 1 and "451" in row.email_last_error
    assert invitations_send() == 0  # its backoff has not passed
    ReviewInvitation.objects.filter(pk=row.pk).update(email_next_try=None)
    assert invitations_send() == 1
    first, retry = smtp.to(sam)
    assert first["Message-ID"] == retry["Message-ID"] == message_id(row, "cascade@mail.example.com")
    assert first["Subject"] == retry["Subject"]
    assert len({m["Message-ID"] for _, m in smtp.messages}) == 4  # one per row
    for address in (f"{who}@example.com" for who in SUPPORT):
        message = smtp.to(address)[-1]
        assert message.get_content_type() == "multipart/mixed"
        [alternative] = [p for p in message.iter_parts() if p.is_multipart()]
        assert alternative.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in alternative.iter_parts()] == [
            "text/plain",
            "text/html",
            "text/calendar",
        ]
        calendar = alternative.get_payload()[2]
        assert calendar["Content-Type"].startswith("text/calendar")
        assert calendar.get_param("method") == "REQUEST"
        method, ics = calendar_part(message)
        [event] = by_python(ics)["events"]
        assert event["uid"] == uid(review)


def test_scheduling_through_the_api_emails_the_invitations_once_it_commits(acme, tree, worker):  # noqa: F811
    answer = client_for(acme.reviewer).post(
        f"{API}/reviews/",
        {
            "cycle": acme.cycle.pk,
            "title": "Support Q1 check-in",
            "department": acme.support.pk,
            "period": "2027-Q1",
            "scheduled_for": "2027-03-28T10:00:00Z",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    until(lambda: len(mail.outbox) == 4, what="four invitations")
    assert sorted(sent()) == sorted(SUPPORT)
    assert not ReviewInvitation.objects.filter(email_due=True).exists()


@pytest.fixture
def own_broker(tmp_path, transactional_db):
    """A Redis of the test's own as the broker, stopped and started by the test."""
    server = RedisProcess(tmp_path)
    server.start()
    celery_app.conf.update(task_always_eager=False, result_backend=server.url)
    celery_app._backend_cache = None
    celery_app._local.backend = None
    try:
        with broker_at(server.url):
            yield server
    finally:
        server.process.kill()
        server.process.wait(10)
        celery_app.conf.update(result_backend=None)
        celery_app._backend_cache = None
        celery_app._local.backend = None


@pytest.mark.slow
def test_with_the_broker_down_the_invitations_wait_and_the_sweep_sends_them_once(
    acme, tree, own_broker, smtp, caplog, settings
):
    assert settings.CELERY_BEAT_SCHEDULE["review-invitations-owed"] == {
        "task": "reviews.tasks.resend_owed_invitations",
        "schedule": settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]["schedule"],  # every minute
    }
    own_broker.stop()
    reviewer = client_for(acme.reviewer)
    body = {"cycle": acme.cycle.pk, "title": "Support Q1 check-in", "period": "2027-Q1",
            "department": acme.support.pk, "scheduled_for": "2027-03-28T10:00:00Z"}  # fmt: skip
    answer = reviewer.post(f"{API}/reviews/", body, format="json")
    assert answer.status_code == 201, answer.content
    moved = reviewer.patch(
        f"{API}/reviews/{answer.json()['id']}/",
        {"scheduled_for": "2027-03-29T09:00:00Z"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert ReviewInvitation.objects.filter(email_due=True).count() == 8  # two versions each
    assert smtp.messages == []
    assert "it stays owed in the outbox, and the sweep does it" in caplog.text

    own_broker.start()  # back, empty: the tasks asked for while it was down are gone
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False):
        assert resend_owed_invitations.delay().get(timeout=30) == 4
        assert resend_owed_invitations.delay().get(timeout=30) == 0  # a second minute
    assert sorted(name(to) for to, _ in smtp.messages) == sorted(SUPPORT)  # the newest, once
    for _, message in smtp.messages:
        [event] = by_python(calendar_part(message)[1])["events"]
        assert (event["sequence"], event["dtstart"]) == (1, "2027-03-29T09:00:00Z")
    assert not ReviewInvitation.objects.filter(email_due=True).exists()


def test_a_facilitator_without_an_address_organizes_from_the_sender(acme, tree, settings):
    settings.DEFAULT_FROM_EMAIL = "Cascade <cascade@mail.example.com>"
    acme.reviewer.user.email = ""
    acme.reviewer.user.save()
    schedule(acme.reviewer, cycle=acme.cycle, title="Check-in", department=acme.tier2)
    invitations_send()
    [message] = sent()["tia"]
    assert "rey" not in sent()  # no address: no invitation
    assert event_of(message)[2]["organizer"] == "mailto:cascade@mail.example.com"
