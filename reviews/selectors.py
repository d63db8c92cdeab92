"""Reads for reviews: scope, participants, agenda, lists."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from core.periods import Period, period_from_key
from goals.models import Goal, GoalState, Level
from goals.selectors import goal_ids_below
from kpis.models import Kpi, KpiState
from org.models import Department, Member
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
    asked = _asked(review, lambda root: department_subtree_ids(review.organization_id, root))
    if asked is not None:
        members = members.filter(asked)
    return list(members.select_related("user").order_by("id"))


def _asked(review: Review, subtree: Callable[[int], set[int]]) -> Q | None:
    """The members `participants` names, as a filter (None: everyone, a review of the
    whole organization); `subtree(department id)` gives a department and those below."""
    if not review.goal_id and not review.department_id:
        return None
    asked = Q(pk=review.facilitator_id)
    department_id = review_scope_department_id(review.goal, review.department)
    if department_id is not None:
        asked |= Q(department_id__in=subtree(department_id))
    if review.goal_id:
        goals = scope_goals(review)
        kpis = Kpi.objects.filter(goal__in=goals, state=KpiState.ACTIVE)
        asked |= Q(pk__in=goals.values("owner_id")) | Q(pk__in=kpis.values("owner_id"))
    return asked


def participants_among(reviews: list[Review], member_ids: Collection[int]) -> dict[int, set[int]]:
    """Which of `member_ids` take part in each of `reviews` ({review id: member ids}),
    by the rule of `participants`, in two queries however many reviews and people: the
    departments of the reviews' organizations, then the people with one yes/no column
    per review. The reviews come with their goal's owner and their department."""
    found: dict[int, set[int]] = {review.pk: set() for review in reviews}
    if not reviews or not member_ids:
        return found
    children: dict[int | None, list[int]] = defaultdict(list)
    if any(review.goal_id or review.department_id for review in reviews):
        for pk, parent_id in Department.objects.filter(
            organization_id__in={review.organization_id for review in reviews}
        ).values_list("id", "parent_id"):
            children[parent_id].append(pk)

    def subtree(root: int) -> set[int]:
        ids, todo = set(), [root]
        while todo:
            if (pk := todo.pop()) not in ids:
                ids.add(pk)
                todo.extend(children[pk])
        return ids

    columns = {}
    for review in reviews:
        asked = _asked(review, subtree) or Q()
        columns[f"in_{review.pk}"] = ExpressionWrapper(
            Q(organization_id=review.organization_id) & asked, output_field=BooleanField()
        )
    rows = (
        Member.objects.filter(pk__in=list(member_ids), is_active=True)
        .order_by()
        .annotate(**columns)
        .values_list("pk", *columns)
    )
    for pk, *flags in rows:
        for review, taking_part in zip(reviews, flags, strict=True):
            if taking_part:
                found[review.pk].add(pk)
    return found


def reviews_taking_part(member: Member, since: dt.datetime) -> list[Review]:
    """The reviews `member` is asked to (the same rule as `participants`) scheduled from
    `since` on, cancelled ones left out, in order; four queries however many reviews,
    people and goals there are — the reviews, the organization's departments, and the
    goals the person holds (or holds a KPI of) with the three goals above each — and
    the rest is set logic:
    a department scope asks the person when it is their department or one above it; a
    goal scope, also when they hold an active goal or KPI at or below that goal."""
    reviews = list(
        Review.objects.filter(organization_id=member.organization_id, scheduled_for__gte=since)
        .exclude(state=ReviewState.CANCELLED)
        .select_related("cycle", "goal__owner", "department", "facilitator__user")
        .order_by("scheduled_for", "id")
    )
    parents = dict(
        Department.objects.filter(organization_id=member.organization_id).values_list(
            "id", "parent_id"
        )
    )
    above_me: set[int] = set()  # the person's department and every one above it
    department_id = member.department_id
    while department_id is not None and department_id not in above_me:
        above_me.add(department_id)
        department_id = parents.get(department_id)
    kpi_goals = Kpi.objects.filter(owner_id=member.pk, state=KpiState.ACTIVE).values("goal_id")
    held: set[int] = set()  # goals held and the goals above them (goal_ids_below's depth)
    for chain in Goal.objects.filter(
        Q(owner_id=member.pk) | Q(pk__in=kpi_goals),
        organization_id=member.organization_id,
        state=GoalState.ACTIVE,
    ).values_list("id", "parent_id", "parent__parent_id", "parent__parent__parent_id"):
        held.update(goal_id for goal_id in chain if goal_id is not None)
    if not member.is_active:
        return []

    def asks(review: Review) -> bool:
        if not review.goal_id and not review.department_id:
            return True  # the whole organization's
        if review.facilitator_id == member.pk:
            return True
        scope = review_scope_department_id(review.goal, review.department)
        return (scope is not None and scope in above_me) or review.goal_id in held

    return [review for review in reviews if asks(review)]


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
