"""What chat targets are told of a completed review (org/chat.py, SPEC §9.6): its
summary — scope, period, how the goals were assessed, wins, decisions, and the action
items with their owners and due dates — as one piece of news of the review's scope."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.urls import reverse

from org.chat import Fact, News, hears, listing, tell
from org.models import ChatEvent
from org.permissions import review_scope_department_id
from org.webhooks import webhooks_read_once

from .models import ActionItem, Assessment, Review, ReviewItem


def tell_review_completed(review: Review) -> None:
    """Owe the targets that hear `review.completed` the review's summary, in the
    completing transaction. Nothing more is read when none hears of it."""
    with webhooks_read_once():
        if hears(review.organization_id, ChatEvent.REVIEW_COMPLETED):
            tell(review.organization_id, ChatEvent.REVIEW_COMPLETED, review_summary(review.pk))


def review_summary(review_id: int) -> News:
    """A completed review as news (three queries: the review, its items, its actions)."""
    review = Review.objects.select_related(
        "organization", "cycle", "goal__owner", "department", "facilitator__user"
    ).get(pk=review_id)
    items = list(
        ReviewItem.objects.filter(review=review).select_related("goal").order_by("position")
    )
    actions = list(
        ActionItem.objects.filter(review=review).select_related("owner__user").order_by("due", "id")
    )
    assessed = Counter(item.assessment for item in items)
    counts = [
        Fact(label, str(assessed[value])) for value, label in Assessment.choices if assessed[value]
    ]
    if assessed[""]:
        counts.append(Fact("Not assessed", str(assessed[""])))
    scope = review.scope_label
    goals = f"{len(items)} goal{'' if len(items) == 1 else 's'}"
    return News(
        title=f"Review completed: {review.title}",
        department_id=review_scope_department_id(review.goal, review.department),
        lines=(
            f"{scope} · {review.period} · {goals} reviewed, facilitated by "
            f"{review.facilitator.display_name}.",
        ),
        facts=(Fact("Scope", scope), Fact("Period", review.period), *counts),
        lists=tuple(
            each
            for each in (
                listing("Wins", [item.goal.title for item in items if item.win]),
                listing(
                    "Decisions",
                    [f"{item.goal.title}: {item.decision}" for item in items if item.decision],
                ),
                listing(
                    "Action items",
                    [
                        f"{action.title} — {action.owner.display_name}, due "
                        f"{action.due.isoformat()}{' (done)' if action.done else ''}"
                        for action in actions
                    ],
                ),
            )
            if each.items
        ),
        link=settings.SITE_URL + reverse("review-detail", args=[review.pk]),
        link_label="Open the review",
        footer=f"Cascade · {review.organization.name} · {review.cycle.name} · reviews",
    )
