"""Review reminders (SPEC §6): everyone taking part in a scheduled review dated from
today to two days ahead gets one reminder for it, ever."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from core.email import send_owed
from core.errors import fit
from org.models import Notification, Organization
from org.selectors import each_organization

from . import selectors
from .calendar import invitation
from .invitations import calendar_email
from .models import InvitationMethod, Review, ReviewReminder, ReviewState

log = logging.getLogger(__name__)

AHEAD_DAYS = 2
TITLE_LENGTH = Notification._meta.get_field("title").max_length
SUBJECT_LENGTH = 150  # email subjects: one line, and short enough to read


def reviews_due(organization: Organization, day: dt.date) -> list[Review]:
    """Scheduled reviews whose date, in the organization's time zone, is `day`…`day`+2."""
    tz = organization.now().tzinfo
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=AHEAD_DAYS + 1), dt.time.min, tzinfo=tz)
    return list(
        Review.objects.filter(
            organization=organization,
            state=ReviewState.SCHEDULED,
            scheduled_for__gte=start,
            scheduled_for__lt=end,
        )
        .select_related("cycle", "goal__owner", "department", "facilitator__user")
        .order_by("scheduled_for", "id")
    )


def review_reminders_send_due(*, day: dt.date | None = None) -> int:
    """Remind everyone of the reviews due today (each organization's today, or `day`);
    returns how many reminders this run claimed. One review or organization that
    fails is logged and skipped: the others are still served."""
    return each_organization("Review reminders", _send_for, day)


def review_emails_resend(*, day: dt.date | None = None) -> int:
    """Send the review emails still owed for reviews due today (a dead mail server or
    a killed worker left them owed) whose backoff has passed; makes no new reminders.
    Returns how many went. Only organizations that owe one are read."""
    owing = ReviewReminder.objects.filter(ReviewReminder.owed_now(timezone.now()))
    return each_organization(
        "Owed review emails",
        lambda org, day: _email(org, reviews_due(org, day)),
        day,
        among=Organization.objects.filter(pk__in=owing.values("review__organization")),
    )


def _send_for(organization: Organization, day: dt.date) -> int:
    reviews = reviews_due(organization, day)
    claimed = sum(_remind(organization, review) for review in reviews)
    transaction.on_commit(lambda: _email(organization, reviews), robust=True)
    return claimed


def _remind(organization: Organization, review: Review) -> int:
    """Claim a review's (review, participant) pairs through the unique constraint and
    notify those claimed; a review that fails is logged and skipped."""
    try:
        with transaction.atomic():
            return _claim(organization, review)
    except OperationalError:
        raise
    except Exception:
        log.exception("Reminders of review #%s failed", review.pk)
        return 0


def _claim(organization: Organization, review: Review) -> int:
    members = selectors.participants(review)
    if not members:
        return 0
    run = uuid.uuid4()
    ReviewReminder.objects.bulk_create(
        [
            ReviewReminder(review=review, member=m, run=run, email_due=m.wants_reminder_emails)
            for m in members
        ],
        ignore_conflicts=True,
    )
    mine = set(ReviewReminder.objects.filter(run=run).values_list("member_id", flat=True))
    claimed = [m for m in members if m.pk in mine]
    Notification.objects.bulk_create(
        [
            Notification(
                member=member,
                kind="review_reminder",
                link=reverse("review-detail", args=[review.pk]),
                title=fit(
                    f"Check-in “{review.title}” on {_when(review, organization):%a %b %d, %H:%M}",
                    TITLE_LENGTH,
                ),
                body=f"{review.scope_label} · period {review.period} · "
                f"facilitated by {review.facilitator.display_name}",
            )
            for member in claimed
        ]
    )
    return len(claimed)


def _when(review: Review, organization: Organization) -> dt.datetime:
    return timezone.localtime(review.scheduled_for, organization.now().tzinfo)


def _email(organization: Organization, reviews: list[Review]) -> int:
    """The owed emails of the reminders of reviews still due (this run's, and any an
    earlier run could not send)."""
    by_id = {review.pk: review for review in reviews}
    owed = ReviewReminder.objects.filter(review__in=list(by_id)).select_related("member__user")

    def message(reminder: ReviewReminder):
        review, member = by_id[reminder.review_id], reminder.member
        if not member.wants_reminder_emails:
            return None
        context = {
            "review": review,
            "member": member,
            "when": _when(review, organization),
            "url": settings.SITE_URL + reverse("review-detail", args=[review.pk]),
            "settings_url": settings.SITE_URL + reverse("notifications"),
        }
        # The current invitation rides along (same UID and SEQUENCE): whoever joined the
        # scope since, or missed an update, has the meeting right in their calendar.
        return calendar_email(
            subject=fit(f"Cascade check-in soon: {review.title}", SUBJECT_LENGTH),
            template="reviews/email/review_reminder",
            context=context,
            to=member.user.email,
            ics=invitation(review, member, InvitationMethod.REQUEST),
            method=InvitationMethod.REQUEST,
        )

    # Templates show times in the active zone: make it the organization's.
    with timezone.override(organization.now().tzinfo):
        return send_owed(owed, message, "review reminder")
