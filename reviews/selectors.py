"""Reads for reviews: scope, participants, agenda, lists."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core.periods import Period, period_from_key
from goals.models import Goal, GoalState, Level
from goals.selectors import goal_ids_below
from kpis.models import Kpi, KpiState
from org.models import Member
from org.permissions import department_subtree_ids, review_scope_department_id

from .models import ActionItem, Review, ReviewItem, ReviewState


def scope_goals(review: Review) -> QuerySet[Goal]:
    """The active goals a review walks (SPEC §1):
    a goal → it and every active goal below it; a department → the cycle's active goals
    of it or a department below, plus individual goals whose owner belongs there;
    neither → every active goal of the cycle."""
    goals = Goal.objects.filter(cycle_id=review.cycle_id, state=GoalState.ACTIVE)
    if review.goal_id:
        return goals.filter(Q(pk=review.goal_id) | goal_ids_below([review.goal_id]))
    if review.department_id:
        scope = department_subtree_ids(review.organization_id, review.department_id)
        return goals.filter(
            Q(department_id__in=scope) | Q(level=Level.INDIVIDUAL, owner__department_id__in=scope)
        )
    return goals


def participants(review: Review) -> list[Member]:
    """Who is asked to the meeting (SPEC §1, §8.3), active people only: the facilitator;
    the members of the scope's department and the ones below it (for a goal, its
    department); for a goal, also whoever holds a goal or KPI in its scope. A review of
    the whole organization is everyone's."""
    members = Member.objects.filter(organization_id=review.organization_id, is_active=True)
    if not review.goal_id and not review.department_id:
        return list(members.select_related("user").order_by("id"))
    asked = Q(pk=review.facilitator_id)
    department_id = review_scope_department_id(review.goal, review.department)
    if department_id is not None:
        asked |= Q(department_id__in=department_subtree_ids(review.organization_id, department_id))
    if review.goal_id:
        goals = scope_goals(review)
        kpis = Kpi.objects.filter(goal__in=goals, state=KpiState.ACTIVE)
        asked |= Q(pk__in=goals.values("owner_id")) | Q(pk__in=kpis.values("owner_id"))
    return list(members.filter(asked).select_related("user").order_by("id"))


def review_period(review: Review) -> Period | None:
    return period_from_key(review.cycle.cadence, review.period)


def reviews_of(organization) -> QuerySet[Review]:
    return Review.objects.filter(organization=organization).select_related(
        "cycle", "goal", "department", "facilitator__user"
    )


def agenda(review: Review) -> list[ReviewItem]:
    """The items in agenda order, with their goal (and owner) and live numbers."""
    return list(
        review.items.select_related("goal__owner__user", "goal__department").order_by("position")
    )


def open_actions_for(member: Member) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(owner=member, done=False)
        .select_related("review__goal__owner", "review__department", "item__goal", "owner__user")
        .order_by("due", "id")
    )


def past_reviews_of_goal(goal: Goal) -> list[ReviewItem]:
    return list(
        ReviewItem.objects.filter(goal=goal, review__state=ReviewState.COMPLETED)
        .select_related("review")
        .order_by("-review__completed_at")
    )


def upcoming_reviews(cycle, limit: int = 5) -> list[Review]:
    return list(
        Review.objects.filter(
            cycle=cycle, state__in=[ReviewState.SCHEDULED, ReviewState.IN_PROGRESS]
        )
        .select_related("facilitator__user", "goal", "department")
        .order_by("scheduled_for", "id")[:limit]
    )


def last_completed_review(cycle) -> Review | None:
    """The cycle's review completed most recently (the dashboard's movement is counted
    since it), or None."""
    return (
        Review.objects.filter(cycle=cycle, state=ReviewState.COMPLETED, completed_at__isnull=False)
        .order_by("-completed_at", "-id")
        .first()
    )
