"""API for goals: /api/v1/goals/ (+ alignment/).

The tree below a goal with its KPIs (goals/{id}/tree/) and its progress over time
(goals/{id}/history/) are served by the cycles app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import (
    UPDATED_SINCE,
    UpsertByExternalId,
    list_filters,
    lookup,
    raw_data,
    updated_since,
    upsert_route,
)
from org.models import Department, Member
from org.permissions import CHANGE_GOAL, CREATE_GOAL, MOVE_GOAL, WEIGH_GOAL

from . import selectors
from .models import Goal, Level
from .serializers import AlignmentSerializer, GoalSerializer
from .services import (
    goal_create,
    goal_delete,
    goal_update,
)

if TYPE_CHECKING:
    from core.api import MemberRequest

FILTERS = ("cycle", "level", "parent", "department", "owner")
ID_FILTERS = tuple(name for name in FILTERS if name != "level")


def require_leave_to_weigh(
    member: Member, data: Mapping[str, Any], goal: Goal | None = None
) -> None:
    """Before validation: refuse unless the caller may give the goal the weight the body
    asks for. Keeping the weight it has (1 for a new goal) needs no one's leave."""
    if "weight" not in data:
        return
    try:
        asked = float(data["weight"])
    except (TypeError, ValueError, OverflowError):
        asked = None
    if asked == (goal.weight if goal is not None else 1):
        return
    if "parent" in data:
        parent = lookup(Goal.objects.filter(organization=member.organization), data["parent"])
    else:
        parent = goal.parent if goal is not None else None
    WEIGH_GOAL.require(member, parent)


def placed_goal(member: Member, data: Mapping[str, Any], goal: Goal | None = None) -> Goal:
    """Where the raw, unvalidated body would put a goal (level, department, owner), so
    permission can be decided before validation. An unknown level reads as the goal's
    own, or individual for a new goal (the lowest: its refusal is then a 400, not a 403)."""
    level = data.get("level") if isinstance(data.get("level"), str) else None
    if level not in Level.values:
        level = goal.level if goal is not None else Level.INDIVIDUAL
    organization = member.organization
    if "department" in data:
        department = lookup(
            Department.objects.filter(organization=organization), data["department"]
        )
    else:
        department = goal.department if goal else None
    if "owner" in data:
        owner = lookup(Member.objects.filter(organization=organization), data["owner"])
    else:
        owner = goal.owner if goal else None
    return Goal(organization_id=organization.pk, level=level, department=department, owner=owner)


class GoalViewSet(UpsertByExternalId[Goal]):
    """The goal tree. `progress` and `health` are computed and read-only."""

    queryset = Goal.objects.order_by("id")
    serializer_class = GoalSerializer
    http_method_names = [*UpsertByExternalId.http_method_names, "delete"]
    ordering_fields = ["id", "title", "level", "progress", "start", "due", "updated_at"]

    def get_queryset(self) -> QuerySet[Goal]:
        goals = super().get_queryset()
        if self.action != "list":
            return goals
        filters = list_filters(
            self.request.query_params, ids=ID_FILTERS, choices={"level": Level.values}
        )
        if self.request.query_params.get("external_id"):
            goals = goals.filter(external_id=self.request.query_params["external_id"])
        goals = updated_since(goals, self.request.query_params)
        return goals.filter(
            **{name if name == "level" else f"{name}_id": value for name, value in filters.items()}
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "level", OpenApiTypes.STR, enum=Level.values, description="Only this level."
            ),
            *(
                OpenApiParameter(name, OpenApiTypes.INT, description=f"Only this {name}'s goals.")
                for name in ID_FILTERS
            ),
            OpenApiParameter(
                "external_id", OpenApiTypes.STR, description="The goal with this external id."
            ),
            UPDATED_SINCE,
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        examples=[
            OpenApiExample(
                "A department goal",
                request_only=True,
                value={
                    "cycle": 1,
                    "level": "department",
                    "title": "Reduce average response time by 20%",
                    "rationale": "Response time is the first thing customers notice.",
                    "parent": 1,
                    "department": 2,
                    "owner": 3,
                    "weight": 1,
                },
            )
        ]
    )
    def create(self, request: MemberRequest) -> Response:
        data = raw_data(request)
        CREATE_GOAL.require(request.member, placed_goal(request.member, data))
        require_leave_to_weigh(request.member, data)
        goal = goal_create(actor=request.member, **self.parsed(GoalSerializer))
        return self.created(goal)

    def partial_update(self, request: MemberRequest, pk: str | None = None) -> Response:
        goal = self.get_object()
        data = raw_data(request)
        placed = placed_goal(request.member, data, goal)
        CHANGE_GOAL.require(request.member, goal)
        MOVE_GOAL.require(request.member, placed)
        require_leave_to_weigh(request.member, data, goal)
        goal = goal_update(actor=request.member, goal=goal, **self.parsed(GoalSerializer, goal))
        return Response(self.get_serializer(goal).data)

    upsert = upsert_route(GoalSerializer, "goal")

    @extend_schema(
        responses={204: None, 200: GoalSerializer},
        summary="Remove a goal: deleted if nothing hangs on it (204), else cancelled (200)",
    )
    def destroy(self, request: MemberRequest, pk: str | None = None) -> Response:
        goal = self.get_object()
        if goal_delete(actor=request.member, goal=goal):
            return Response(status=status.HTTP_204_NO_CONTENT)
        goal.refresh_from_db()
        return Response(self.get_serializer(goal).data)

    @extend_schema(
        responses=AlignmentSerializer(many=True),
        summary="Line of sight: this goal, then each parent up to its strategic root",
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def alignment(self, request: MemberRequest, pk: str | None = None) -> Response:
        goal = selectors.goal_with_chain(request.member.organization, self.get_object().pk)
        return Response(AlignmentSerializer(goal.chain(), many=True).data)
