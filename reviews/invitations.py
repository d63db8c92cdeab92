"""Calendar invitations by email (SPEC §9.6): scheduling a review owes each participant
an invitation, a change people must see owes them an update (and a cancellation to
whoever the review no longer asks), and cancelling the review owes everyone invited a
cancellation — each a `ReviewInvitation` row written in the write's own transaction,
for one version (`sequence`) of the review.

The rows are the outbox (core/email.py): once the write commits, a task sends what is
owed (`invitations_send`); when the broker was down or a worker died, the sweep that
runs every minute sends it. At least once, each try of a row with the same Message-ID.

Only the newest version owed to a person goes out: an older row is passed over (no
email) once a newer one exists, so a review moved twice within a minute sends one
update. A cancellation to someone who was never sent anything is passed over too.
Whoever has no address or has turned reminder emails off is owed nothing, and a row
owed to someone who turned them off since is passed over.

Each email is text and HTML with the calendar object (`reviews.calendar.invitation`)
as a `text/calendar; method=…` alternative — what Outlook and Gmail read to show the
invitation — and as an `invite.ics` attachment for the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Max, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.email import send_owed
from core.errors import fit
from core.tasks import enqueue_on_commit
from org.models import Member

from . import selectors
from .calendar import invitation, review_minutes, review_url
from .models import InvitationMethod, Review, ReviewInvitation, ReviewState

# What an invitation shows: a change to any of these is an update people must see.
SHOWN_FIELDS = ("title", "scheduled_for", "goal", "department", "facilitator", "period")
SUBJECT_LENGTH = 150  # as the reminders' (reviews/reminders.py)
TEMPLATE = "reviews/email/invitation"


class CalendarEmail(EmailMultiAlternatives):
    """An email carrying a calendar object (iMIP, RFC 6047): its text and HTML, then
    the object as a third alternative, `text/calendar; method=<METHOD>;
    charset="utf-8"`, and the same as an `invite.ics` attachment."""

    def __init__(self, *args: Any, calendar: bytes, method: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendar, self.method = calendar, method
        self.attach("invite.ics", calendar, "application/ics")

    def _add_bodies(self, msg):  # Django's hook that lays out the alternatives
        msg = super()._add_bodies(msg)
        # As bytes (base64): the object keeps its CRLF line ends exactly (RFC 5545 §3.1).
        msg.add_alternative(
            self.calendar,
            maintype="text",
            subtype="calendar",
            params={"method": self.method, "charset": "utf-8"},
        )
        return msg


def calendar_email(
    *, subject: str, template: str, context: Mapping[str, object], to: str, ics: bytes, method: str
) -> CalendarEmail:
    """`template` names a pair, `<template>.txt` and `<template>.html`, as
    core.email.templated_email; `ics` rides along (CalendarEmail)."""
    message = CalendarEmail(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[to],
        calendar=ics,
        method=method,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


# -- What a write owes --------------------------------------------------------------------


def _invited(review: Review) -> set[int]:
    """Who holds the review in their calendar as far as we know: the people whose
    newest row is an invitation (not a cancellation)."""
    newest: dict[int, str] = {}
    for member_id, method in (
        ReviewInvitation.objects.filter(review=review)
        .order_by("sequence")
        .values_list("member_id", "method")
    ):
        newest[member_id] = method
    return {member_id for member_id, method in newest.items() if method == InvitationMethod.REQUEST}


def _owe(review: Review, requests: Iterable[Member], cancels: Iterable[int]) -> None:
    """Rows for the review's current version: invitations to `requests` (people with an
    address who want reminder emails), cancellations to the member ids `cancels`;
    sent once the write commits."""
    rows = [
        ReviewInvitation(
            review=review,
            member=member,
            sequence=review.sequence,
            method=InvitationMethod.REQUEST,
            email_due=True,
        )
        for member in requests
        if member.wants_reminder_emails
    ] + [
        ReviewInvitation(
            review=review,
            member_id=member_id,
            sequence=review.sequence,
            method=InvitationMethod.CANCEL,
            email_due=True,
        )
        for member_id in cancels
    ]
    if not rows:
        return
    ReviewInvitation.objects.bulk_create(rows, ignore_conflicts=True)
    # Named, not imported: reviews/tasks.py imports this module.
    enqueue_on_commit(
        current_app.signature("reviews.tasks.send_review_invitations"), review.pk, owed=True
    )


def invitations_owe_scheduled(review: Review) -> None:
    """A review was scheduled: every participant is owed an invitation."""
    _owe(review, selectors.participants(review), ())


def invitations_owe_changed(review: Review) -> None:
    """A scheduled review changed what its invitation shows (its `sequence` raised):
    everyone asked now is owed the update, and whoever was invited and is asked no
    more (the scope changed) a cancellation."""
    asked = selectors.participants(review)
    gone = _invited(review) - {member.pk for member in asked}
    _owe(review, asked, sorted(gone))


def invitations_owe_cancelled(review: Review) -> None:
    """The review was cancelled (its `sequence` raised): everyone invited is owed a
    cancellation."""
    _owe(review, (), sorted(_invited(review)))


# -- Sending --------------------------------------------------------------------------


def _versions(owed) -> dict[tuple[int, int], tuple[int, int | None]]:
    """(review id, member id) → (the newest sequence owed or sent, the oldest sequence
    that may have reached them — tried or being tried — or None), over every review
    with a row owed now; one query."""
    maybe_sent = Q(email_attempts__gt=0) | Q(email_lease__isnull=False)
    return {
        (row["review_id"], row["member_id"]): (row["newest"], row["first_sent"])
        for row in ReviewInvitation.objects.filter(
            review_id__in=owed.filter(email_due=True).values("review_id")
        )
        .values("review_id", "member_id")
        .annotate(newest=Max("sequence"), first_sent=Min("sequence", filter=maybe_sent))
    }


def subject_line(kind: str, review: Review, when: dt.datetime) -> str:
    """The subject, as "Invitation: Support Q1 check-in · Sun Mar 28, 2027 10:00 UTC":
    the title is cut when it is long, never the time."""
    moment = f" · {when:%a %b} {when.day}, {when:%Y %H:%M} {when.tzname()}"
    return (
        fit(f"{kind}: ", SUBJECT_LENGTH)
        + fit(review.title, SUBJECT_LENGTH - len(kind) - 2 - len(moment))
        + moment
    )


def invitation_email(row: ReviewInvitation, *, updated: bool) -> CalendarEmail:
    """The email of one row: its person, its review as it stands, its method; times in
    the person's zone (theirs, or the organization's)."""
    review, member = row.review, row.member
    cancel = row.method == InvitationMethod.CANCEL
    zone = member.zone(review.organization.timezone)
    when = timezone.localtime(review.scheduled_for, zone)
    kind = "Cancelled" if cancel else "Updated" if updated else "Invitation"
    context = {
        "kind": kind,
        "review": review,
        "member": member,
        "when": when,
        "until": when + review_minutes(),
        "zone": when.tzname(),
        "cancelled": cancel and review.state == ReviewState.CANCELLED,
        "removed": cancel and review.state != ReviewState.CANCELLED,
        "url": review_url(review),
        "settings_url": settings.SITE_URL + reverse("notifications"),
    }
    with timezone.override(zone):  # the templates' dates: the person's zone
        return calendar_email(
            subject=subject_line(kind, review, when),
            template=TEMPLATE,
            context=context,
            to=member.user.email,
            ics=invitation(review, member, row.method),
            method=row.method,
        )


def invitations_send(*, review_id: int | None = None) -> int:
    """Send the invitation emails owed now (of one review, or of all: the sweep);
    returns how many went out. A row is passed over (done, no email) when a newer
    version is owed to or was sent to the same person, when its person turned reminder
    emails off, lost their address or left, or when it cancels what never reached them."""
    owed = ReviewInvitation.objects.select_related(
        "review__organization",
        "review__goal",
        "review__department",
        "review__facilitator__user",
        "member__user",
    ).order_by("review_id", "member_id", "sequence")
    if review_id is not None:
        owed = owed.filter(review_id=review_id)
    # Read before any row is leased: a row of this run is not "sent" to the others.
    versions = _versions(owed)

    def message(row: ReviewInvitation) -> CalendarEmail | None:
        member, review = row.member, row.review
        newest, first_sent = versions.get((row.review_id, row.member_id), (row.sequence, None))
        if row.sequence < newest or not member.is_active or not member.wants_reminder_emails:
            return None
        if row.method == InvitationMethod.CANCEL:
            if first_sent is None or first_sent >= row.sequence:
                return None  # nothing reached them to cancel
        elif review.state == ReviewState.CANCELLED:
            return None
        updated = first_sent is not None and first_sent < row.sequence
        return invitation_email(row, updated=updated)

    return send_owed(owed, message, "review invitation")
