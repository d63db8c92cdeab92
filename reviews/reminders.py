"""Review reminders (SPEC §6): everyone taking part in a scheduled review dated from
today to two days ahead gets one reminder for it, ever."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.email import send_all, templated_email
from core.errors import fit
from org.models import Notification, Organization
from org.selectors import organizations_on

from . import selectors
from .models import Review, ReviewReminder, ReviewState

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
    returns how many reminders this run sent."""
    return sum(_send_for(organization, today) for organization, today in organizations_on(day))


@transaction.atomic
def _send_for(organization: Organization, day: dt.date) -> int:
    """Claim (review, participant) pairs through the unique constraint, then notify."""
    pairs = [
        (review, member)
        for review in reviews_due(organization, day)
        for member in selectors.participants(review)
    ]
    if not pairs:
        return 0
    run = uuid.uuid4()
    ReviewReminder.objects.bulk_create(
        [ReviewReminder(review=review, member=member, run=run) for review, member in pairs],
        ignore_conflicts=True,
    )
    mine = set(ReviewReminder.objects.filter(run=run).values_list("review_id", "member_id"))
    claimed = [(r, m) for r, m in pairs if (r.pk, m.pk) in mine]
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
            for review, member in claimed
        ]
    )
    emails = [(r, m) for r, m in claimed if m.reminder_emails and m.user.email]
    if emails:
        transaction.on_commit(lambda: _email(emails, organization))
    return len(claimed)


def _when(review: Review, organization: Organization) -> dt.datetime:
    return timezone.localtime(review.scheduled_for, organization.now().tzinfo)


def _email(pairs: list, organization: Organization) -> None:
    messages = []
    # Templates show times in the active zone: make it the organization's.
    with timezone.override(organization.now().tzinfo):
        for review, member in pairs:
            context = {
                "review": review,
                "member": member,
                "when": _when(review, organization),
                "url": settings.SITE_URL + reverse("review-detail", args=[review.pk]),
                "settings_url": settings.SITE_URL + reverse("notifications"),
            }
            messages.append(
                templated_email(
                    subject=fit(f"Cascade check-in soon: {review.title}", SUBJECT_LENGTH),
                    template="reviews/email/review_reminder",
                    context=context,
                    to=member.user.email,
                )
            )
    send_all(messages, "review reminder")
