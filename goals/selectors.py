"""Reads of the goal tree, each in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from org.models import Member, Organization
from org.permissions import Requirement

from .models import Goal, GoalState, Health, Level

if TYPE_CHECKING:
    from cycles.models import Cycle

CHAIN = "parent__parent__parent"  # the tree is at most four levels deep
CHAIN_RELATED = ("parent", "parent__parent", CHAIN)
SHOWN_GOALS = 60  # a department page lists at most this many goals of each kind
SHOWN_MATCHES = 200  # the map's filters show at most this many goals


def goals_in(organization: Organization) -> QuerySet[Goal]:
    return Goal.objects.filter(organization=organization)


def with_people(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    return goals.select_related("owner__user", "department")


def with_child_count(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    """How many child goals (not cancelled) each goal has: one indexed count per row,
    not a join that multiplies rows."""
    children = (
        Goal.objects.filter(parent=OuterRef("pk"))
        .exclude(state=GoalState.CANCELLED)
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    return goals.annotate(child_count=Coalesce(Subquery(children), 0))


def goal_ids_below(goal_ids: Iterable[int]) -> Q:
    """A filter for goals under any of `goal_ids`, at any depth (the tree is at most four deep)."""
    ids = list(goal_ids)
    return (
        Q(parent_id__in=ids) | Q(parent__parent_id__in=ids) | Q(parent__parent__parent_id__in=ids)
    )


def strategic_objectives(cycle: Cycle, aligned: dict[int, int]) -> list[Goal]:
    """The cycle's strategic objectives, each with `aligned`: how many goals sit below it."""
    objectives = list(
        with_people(Goal.objects.filter(cycle=cycle, level=Level.STRATEGIC))
        .exclude(state=GoalState.CANCELLED)
        .order_by("id")
    )
    for goal in objectives:
        goal.aligned = aligned.get(goal.pk, 0)
    return objectives


def aligned_counts(cycle: Cycle) -> dict[int, int]:
    """{strategic objective id: how many goals (not cancelled) sit below it}."""
    return dict(
        Goal.objects.filter(cycle=cycle, parent__isnull=False)
        .exclude(state=GoalState.CANCELLED)
        .annotate(
            root=Coalesce(F("parent__parent__parent_id"), F("parent__parent_id"), F("parent_id"))
        )
        .values("root")
        .annotate(n=Count("id"))
        .values_list("root", "n")
    )


def map_roots(cycle: Cycle) -> QuerySet[Goal]:
    """The cascade map's first row: the cycle's strategic objectives."""
    return with_child_count(
        with_people(Goal.objects.filter(cycle=cycle, level=Level.STRATEGIC))
    ).order_by("id")


def children_of(goal: Goal) -> QuerySet[Goal]:
    return with_child_count(with_people(goal.children.all())).order_by("id")


def map_matches(
    cycle: Cycle,
    *,
    department_id: int | None = None,
    owner_ids: Iterable[int] | None = None,
    health: str | None = None,
) -> QuerySet[Goal]:
    """Goals of any level matching the map's filters, with their chain for context
    (the first SHOWN_MATCHES)."""
    goals = Goal.objects.filter(cycle=cycle).exclude(state=GoalState.CANCELLED)
    if department_id:
        goals = goals.filter(Q(department_id=department_id) | Q(owner__department_id=department_id))
    if owner_ids is not None:
        goals = goals.filter(owner_id__in=owner_ids)
    if health:
        goals = goals.filter(health=health)
    return with_child_count(with_people(goals).select_related(*CHAIN_RELATED)).order_by("id")


def goal_with_chain(organization: Organization, goal_id: int) -> Goal:
    """A goal with its ancestors and cycle loaded (one query); 404s outside the organization."""
    return get_object_or_404(
        with_people(goals_in(organization)).select_related(
            "cycle", *CHAIN_RELATED, *(f"{name}__owner__user" for name in CHAIN_RELATED)
        ),
        pk=goal_id,
    )


def access_goal_by_id(member: Member, goal_id: int, permission: Requirement[Goal]) -> Goal:
    """The goal with its chain, if it is the member's organization's (a 404 otherwise)
    and the member has `permission` on it (a 403 otherwise): pages and the API load and
    refuse with this one call."""
    goal = goal_with_chain(member.organization, goal_id)
    permission.require(member, goal)
    return goal


def line_of_sight(goal: Goal) -> list[Goal]:
    """The chain from the strategic objective down to this goal."""
    return list(reversed(goal.chain()))


@dataclass
class DepartmentGoals:
    """A department's share of a cycle: its department and team goals, its people's
    individual goals where they need help, and health at a glance."""

    unit_goals: QuerySet[Goal]  # department and team goals, the first SHOWN_GOALS
    struggling: list[Goal]  # off-track individual goals, the first SHOWN_GOALS
    struggling_count: int
    individual_count: int
    glance: list[tuple[str, int]]  # (health, how many goals)


GLANCE = (
    Health.ON_TRACK,
    Health.AT_RISK,
    Health.OFF_TRACK,
    Health.NO_DATA,
    Health.NOT_STARTED,
    Health.DONE,
)


def department_goals(
    cycle: Cycle, department_ids: set[int], member_ids: list[int]
) -> DepartmentGoals:
    """The goals of departments `department_ids` and the individual goals of the
    people `member_ids` in them (ids first: two indexed lookups instead of a join
    over every goal of the cycle)."""
    in_scope = Q(department_id__in=department_ids) | Q(
        level=Level.INDIVIDUAL, owner_id__in=member_ids
    )
    in_cycle = Goal.objects.filter(cycle=cycle).filter(in_scope).exclude(state=GoalState.CANCELLED)
    counts = list(in_cycle.order_by().values_list("level", "health").annotate(n=Count("id")))
    by_health: dict[str, int] = {}
    for _level, health, n in counts:
        by_health[health] = by_health.get(health, 0) + n
    individual = Q(level=Level.INDIVIDUAL)
    off_track = (Level.INDIVIDUAL, Health.OFF_TRACK)
    return DepartmentGoals(
        unit_goals=with_child_count(with_people(in_cycle.exclude(individual))).order_by("id")[
            :SHOWN_GOALS
        ],
        struggling=list(
            with_people(in_cycle.filter(individual, health=Health.OFF_TRACK)).order_by("id")[
                :SHOWN_GOALS
            ]
        ),
        struggling_count=sum(n for level, health, n in counts if (level, health) == off_track),
        individual_count=sum(n for level, _health, n in counts if level == Level.INDIVIDUAL),
        glance=[(health, by_health.get(health, 0)) for health in GLANCE],
    )
