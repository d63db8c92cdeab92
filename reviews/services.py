"""Writes for check-in reviews: schedule, start (snapshot), record, act, complete."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.dates import out_of_range
from core.errors import (
    DUE_REQUIRED,
    TITLE_REQUIRED,
    Conflict,
    Errors,
    check_same_organization,
    check_text,
    fit,
    one_of,
    too_long,
)
from core.periods import Cadence, period_from_key
from cycles.models import Cycle
from goals.models import LEVEL_RANK, Goal, Health
from kpis.selectors import goals_lacking_values
from org.models import Department, Member, Notification, WebhookEvent
from org.permissions import (
    CANCEL_REVIEW,
    CHANGE_ACTION,
    MOVE_REVIEW,
    RUN_REVIEW,
    SCHEDULE_REVIEW_OF,
)
from org.webhooks import emit

from . import invitations, selectors
from .models import ActionItem, Assessment, Review, ReviewItem, ReviewState
from .news import tell_review_completed
from .webhook_data import action_assigned_data

# Agenda: what needs the meeting's attention first.
AGENDA_RANK = {Health.OFF_TRACK: 0, Health.AT_RISK: 1}
MAX_TITLE = 200  # a review's title (SPEC §9.3)
STALE_RANK, ON_TRACK_RANK, OTHER_RANK = 2, 3, 4


def _refuse_if_completed(
    review: Review, message: str = "This review is completed: it can't change."
) -> None:
    if review.state == ReviewState.COMPLETED:
        raise Conflict({"state": [message]})
    if review.state == ReviewState.CANCELLED:
        raise Conflict({"state": ["This review is cancelled: it can't change."]})


def _aware(moment: dt.datetime | None, organization) -> dt.datetime | None:
    """A time without an offset is in the organization's time zone."""
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=zoneinfo.ZoneInfo(organization.timezone))
    return moment


def _validate(review: Review) -> None:
    errors = Errors()
    check_text(errors, "title", review.title, required=TITLE_REQUIRED, max_length=MAX_TITLE)
    if review.goal_id and review.department_id:
        errors.add("department", "Choose a goal or a department as the scope, not both.")
    if review.goal_id and review.goal.cycle_id != review.cycle_id:
        errors.add("goal", "The goal belongs to another cycle.")
    period = period_from_key(review.cycle.cadence, review.period)
    if period is None:
        example = "2027-03" if review.cycle.cadence == Cadence.MONTHLY else "2027-Q1"
        errors.add(
            "period",
            f"The cycle “{review.cycle.name}” checks in {review.cycle.cadence}: "
            f"write the period like {example}.",
        )
    elif period.end < review.cycle.start or period.start > review.cycle.end:
        errors.add("period", f"{review.period} lies outside the cycle “{review.cycle.name}”.")
    if review.scheduled_for is None:
        errors.add("scheduled_for", "A date and time is required.")
    elif far := out_of_range(review.scheduled_for):
        errors.add("scheduled_for", far)
    if review.facilitator_id is None:
        errors.add("facilitator", "A review needs a facilitator.")
    elif not review.facilitator.is_active:
        errors.add("facilitator", "This person is deactivated.")
    errors.raise_if_any()


@transaction.atomic
def review_create(
    *,
    actor: Member,
    cycle: Cycle,
    title: str,
    period: str,
    scheduled_for: dt.datetime,
    facilitator: Member | None = None,
    goal: Goal | None = None,
    department: Department | None = None,
) -> Review:
    """Schedule a check-in for a goal subtree, a department, or (neither) the whole
    organization."""
    errors = Errors()
    check_same_organization(
        errors,
        actor.organization_id,
        cycle=cycle,
        goal=goal,
        department=department,
        facilitator=facilitator,
    )
    errors.raise_if_any()
    SCHEDULE_REVIEW_OF.require(actor, goal, department)
    if cycle.is_closed:
        raise Conflict(
            f"“{cycle.name}” is closed: no check-in can be scheduled in it. Schedule it in "
            "an open cycle, or reopen this one on the Cycles page."
        )
    review = Review(
        organization_id=actor.organization_id,
        cycle=cycle,
        title=title,
        period=period or "",
        scheduled_for=_aware(scheduled_for, actor.organization),
        facilitator=facilitator or actor,
        goal=goal,
        department=department,
        created_by=actor,
    )
    _validate(review)
    review.save()
    invitations.invitations_owe_scheduled(review)  # sent once this commits
    return review


REVIEW_FIELDS = ("title", "period", "scheduled_for", "facilitator", "goal", "department", "cycle")


@transaction.atomic
def review_update(*, actor: Member, review: Review, **changes: Any) -> Review:
    """Edit a review. Its scope, cycle and period are fixed once it has started."""
    unknown = set(changes) - set(REVIEW_FIELDS)
    if unknown:
        raise TypeError(f"review_update() got unknown fields: {', '.join(sorted(unknown))}")
    errors = Errors()
    check_same_organization(
        errors,
        review.organization_id,
        **{k: v for k, v in changes.items() if k in ("cycle", "goal", "department", "facilitator")},
    )
    errors.raise_if_any()
    RUN_REVIEW.require(actor, review)
    _refuse_if_completed(review)
    fixed = {"goal", "department", "cycle", "period"} & {
        k for k, v in changes.items() if v != getattr(review, k)
    }
    if fixed and review.state != ReviewState.SCHEDULED:
        raise Conflict({field: ["Fixed once the review has started."] for field in fixed})
    original = {field: getattr(review, field) for field in REVIEW_FIELDS}
    for field, value in changes.items():
        setattr(review, field, value)
    review.scheduled_for = _aware(review.scheduled_for, actor.organization)
    try:
        MOVE_REVIEW.require(actor, review)
        _validate(review)
    except (ValidationError, PermissionDenied):
        for field, value in original.items():
            setattr(review, field, value)
        raise
    review.save(update_fields=REVIEW_FIELDS)  # not `sequence`: raised below, in the row
    if any(_key(getattr(review, f)) != _key(original[f]) for f in invitations.SHOWN_FIELDS):
        # What the calendars show changed: a new version, sent to the people asked now
        # (and a cancellation to whoever the new scope no longer asks).
        Review.objects.filter(pk=review.pk).update(sequence=F("sequence") + 1)
        review.refresh_from_db(fields=["sequence"])
        if review.state == ReviewState.SCHEDULED:
            invitations.invitations_owe_changed(review)
    return review


def _key(value: Any) -> Any:
    """A field's value as compared for a change: a row by its id."""
    return getattr(value, "pk", value)


@transaction.atomic
def review_cancel(*, actor: Member, review: Review) -> Review:
    """Call a scheduled review off: it stays, marked cancelled (never started, never
    reminded), and everyone invited is sent a cancellation (its `sequence` raised)."""
    CANCEL_REVIEW.require(actor, review)
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.state != ReviewState.SCHEDULED:
        raise Conflict(
            {
                "state": [
                    f"Only a scheduled review can be cancelled; this one is "
                    f"{locked.get_state_display().lower()}."
                ]
            }
        )
    review.state = ReviewState.CANCELLED
    review.cancelled_at = timezone.now()
    review.sequence = locked.sequence + 1
    review.save(update_fields=["state", "cancelled_at", "sequence"])
    invitations.invitations_owe_cancelled(review)
    return review


@transaction.atomic
def review_start(*, actor: Member, review: Review) -> Review:
    """Start the meeting: snapshot every active goal in scope into an item.

    1. Lock the review; it must still be scheduled.
    2. Read the scope's goals with their stored progress and health, and which of them
       have a KPI without a value dated in the review's period.
    3. Order the agenda: off track, at risk, a KPI lacking a value, on track, the rest.
    """
    RUN_REVIEW.require(actor, review)
    review = Review.objects.select_for_update().select_related("cycle").get(pk=review.pk)
    if review.state != ReviewState.SCHEDULED:
        raise Conflict(
            {
                "state": [
                    f"Only a scheduled review can start; this one is "
                    f"{review.get_state_display().lower()}."
                ]
            }
        )
    goals = list(selectors.scope_goals(review).only("id", "level", "progress", "health"))
    period = selectors.review_period(review)
    stale = goals_lacking_values([g.pk for g in goals], period) if period is not None else set()

    def rank(goal: Goal) -> tuple:
        if goal.health in AGENDA_RANK:
            first = AGENDA_RANK[goal.health]
        elif goal.pk in stale:
            first = STALE_RANK
        elif goal.health == Health.ON_TRACK:
            first = ON_TRACK_RANK
        else:
            first = OTHER_RANK
        return (first, LEVEL_RANK[goal.level], goal.pk)

    ReviewItem.objects.bulk_create(
        [
            ReviewItem(
                review=review,
                goal=goal,
                position=position,
                progress_snapshot=goal.progress,
                health_snapshot=goal.health,
                stale_snapshot=goal.pk in stale,
            )
            for position, goal in enumerate(sorted(goals, key=rank), start=1)
        ]
    )
    review.state = ReviewState.IN_PROGRESS
    review.started_at = timezone.now()
    review.save(update_fields=["state", "started_at"])
    return review


@transaction.atomic
def review_complete(*, actor: Member, review: Review) -> Review:
    """End the meeting: the review is frozen from now on."""
    RUN_REVIEW.require(actor, review)
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.state != ReviewState.IN_PROGRESS:
        raise Conflict(
            {
                "state": [
                    f"Only a review in progress can be completed; this one "
                    f"is {review.get_state_display().lower()}."
                ]
            }
        )
    review.state = ReviewState.COMPLETED
    review.completed_at = timezone.now()
    review.save(update_fields=["state", "completed_at"])
    emit(
        review.organization_id,
        WebhookEvent.REVIEW_COMPLETED,
        {
            "review": review.pk,
            "title": review.title,
            "period": review.period,
            "goal": review.goal_id,
            "department": review.department_id,
            "completed_at": review.completed_at.isoformat(),
        },
    )
    tell_review_completed(review)  # the chat targets' summary (reviews/news.py)
    return review


ITEM_FIELDS = ("assessment", "win", "notes", "decision")


@transaction.atomic
def review_item_update(*, actor: Member, item: ReviewItem, **changes: Any) -> ReviewItem:
    """Record the meeting's view of one goal: assessment, win, notes, decision."""
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"review_item_update() got unknown fields: {', '.join(sorted(unknown))}")
    review = item.review
    RUN_REVIEW.require(actor, review)
    _refuse_if_completed(review)
    errors = Errors()
    if "assessment" in changes and changes["assessment"] not in ("", *Assessment.values):
        errors.add("assessment", one_of(Assessment.values))
    for field in ("notes", "decision"):
        if field in changes and len(changes[field] or "") > 10000:
            errors.add(field, too_long(10_000))
    errors.raise_if_any()
    for field, value in changes.items():
        setattr(item, field, value if field == "win" else (value or ""))
    item.save()
    return item


DUE_MARGIN = dt.timedelta(days=90)  # an action may fall due this long around its cycle


def _due_window(action: ActionItem) -> tuple[dt.date, dt.date]:
    cycle = action.review.cycle
    return cycle.start - DUE_MARGIN, cycle.end + DUE_MARGIN


def _validate_action(action: ActionItem) -> None:
    errors = Errors()
    check_text(errors, "title", action.title, required="Say what is to be done.")
    if action.owner_id is None:
        errors.add("owner", "Someone owns every action.")
    if action.due is None:
        errors.add("due", DUE_REQUIRED)
    elif far := out_of_range(action.due):
        errors.add("due", far)
    else:
        earliest, latest = _due_window(action)
        if not earliest <= action.due <= latest:
            errors.add(
                "due",
                f"Actions of a review in “{action.review.cycle.name}” fall due between "
                f"{earliest.isoformat()} and {latest.isoformat()} (the cycle, give or take "
                f"{DUE_MARGIN.days} days).",
            )
    if action.item_id and action.item.review_id != action.review_id:
        errors.add("item", "That item belongs to another review.")
    errors.raise_if_any()


@transaction.atomic
def action_create(
    *,
    actor: Member,
    review: Review,
    title: str,
    owner: Member,
    due: dt.date,
    item: ReviewItem | None = None,
) -> ActionItem:
    errors = Errors()
    check_same_organization(errors, review.organization_id, owner=owner)
    errors.raise_if_any()
    RUN_REVIEW.require(actor, review)
    _refuse_if_completed(review)
    action = ActionItem(review=review, title=title, owner=owner, due=due, item=item)
    _validate_action(action)
    action.save()
    if owner.pk != actor.pk:  # SPEC §8.3: whoever gets an action is told
        Notification.objects.create(
            member=owner,
            kind="action_assigned",
            link="/my/",
            title=fit(f"Action for you: {action.title}", TITLE_LENGTH),
            body=f"{actor.display_name} gave it to you in “{review.title}”, due {due:%Y-%m-%d}.",
        )
    emit(review.organization_id, WebhookEvent.ACTION_ASSIGNED, action_assigned_data(action, actor))
    return action


TITLE_LENGTH = Notification._meta.get_field("title").max_length


ACTION_FIELDS = ("title", "owner", "due", "done")


@transaction.atomic
def action_update(*, actor: Member, action: ActionItem, **changes: Any) -> ActionItem:
    """Edit an action. Its owner may mark it done; once the review is completed,
    marking done (or not) is the only change left."""
    unknown = set(changes) - set(ACTION_FIELDS)
    if unknown:
        raise TypeError(f"action_update() got unknown fields: {', '.join(sorted(unknown))}")
    review = action.review
    errors = Errors()
    check_same_organization(errors, review.organization_id, owner=changes.get("owner"))
    errors.raise_if_any()
    CHANGE_ACTION.require(actor, action, set(changes))
    if review.state == ReviewState.COMPLETED and not set(changes) <= {"done"}:
        raise Conflict(
            {
                field: ["The review is completed: only marking the action done is still possible."]
                for field in set(changes) - {"done"}
            }
        )
    owner_before = action.owner_id
    for field, value in changes.items():
        setattr(action, field, value)
    if "done" in changes:
        action.done_at = timezone.now() if action.done else None
    _validate_action(action)
    action.save()
    if action.owner_id != owner_before:  # it changed hands
        assigned = action_assigned_data(action, actor)
        emit(review.organization_id, WebhookEvent.ACTION_ASSIGNED, assigned)
    return action
