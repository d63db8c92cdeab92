"""API for cycles and goals: /api/v1/cycles/, /api/v1/goals/ (+ tree/, alignment/)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from org.api import OrgViewSet, lookup, raw_data, require
from org.models import Department, Member
from org.permissions import can_edit_goal, can_edit_goal_at, can_manage_org

from . import selectors
from .models import Cycle, Goal, Level
from .serializers import AlignmentSerializer, CycleSerializer, GoalSerializer, TreeNodeSerializer
from .services import cycle_create, cycle_update, goal_create, goal_update


class CycleViewSet(OrgViewSet):
    queryset = Cycle.objects.order_by("-start", "id")
    serializer_class = CycleSerializer

    def create(self, request):
        require(can_manage_org(request.member), "Only admins manage cycles.")
        return self.created(cycle_create(actor=request.member, **self.parsed(CycleSerializer)))

    def partial_update(self, request, pk=None):
        cycle = self.get_object()
        require(can_manage_org(request.member), "Only admins manage cycles.")
        cycle = cycle_update(
            actor=request.member, cycle=cycle, **self.parsed(CycleSerializer, cycle)
        )
        return Response(self.get_serializer(cycle).data)


FILTERS = ("cycle", "level", "parent", "department", "owner")


def goal_write_allowed(member, data, goal: Goal | None = None) -> bool:
    """Pre-check from the raw input, before validation: where would this goal sit?"""
    if goal is not None and not can_edit_goal(member, goal):
        return False
    level = data.get("level") if isinstance(data.get("level"), str) else None
    if level not in Level.values:
        level = goal.level if goal is not None else Level.INDIVIDUAL
    organization = member.organization
    department = (
        lookup(Department.objects.filter(organization=organization), data["department"])
        if "department" in data
        else (goal.department if goal else None)
    )
    owner = (
        lookup(Member.objects.filter(organization=organization), data["owner"])
        if "owner" in data
        else (goal.owner if goal else None)
    )
    return can_edit_goal_at(
        member,
        organization_id=organization.pk,
        level=level,
        department_id=department.pk if department else None,
        owner=owner,
    )


@extend_schema(
    parameters=[
        OpenApiParameter(name, OpenApiTypes.STR if name == "level" else OpenApiTypes.INT)
        for name in FILTERS
    ]
)
class GoalViewSet(OrgViewSet):
    """The goal tree. `progress` and `health` are computed and read-only."""

    queryset = Goal.objects.order_by("id")
    serializer_class = GoalSerializer

    def get_queryset(self):
        goals = super().get_queryset()
        if self.action != "list":
            return goals
        params = self.request.query_params
        errors = {}
        for name in FILTERS:
            value = params.get(name)
            if value in (None, ""):
                continue
            if name == "level":
                if value not in Level.values:
                    errors[name] = [f"Must be one of: {', '.join(Level.values)}."]
                goals = goals.filter(level=value)
                continue
            try:
                pk = int(value)
            except (ValueError, OverflowError):
                errors[name] = ["Must be an id (an integer)."]
                continue
            # An integer no id column can hold names nothing (a foreign-key lookup with
            # it would be a database error, a 500).
            goals = goals.filter(**{f"{name}_id": pk}) if abs(pk) < 2**63 else goals.none()
        if errors:
            raise ValidationError(errors)
        return goals

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
    def create(self, request):
        require(
            goal_write_allowed(request.member, raw_data(request)), "You may not create this goal."
        )
        goal = goal_create(actor=request.member, **self.parsed(GoalSerializer))
        return self.created(goal)

    def partial_update(self, request, pk=None):
        goal = self.get_object()
        require(
            goal_write_allowed(request.member, raw_data(request), goal),
            "You may not change this goal.",
        )
        goal = goal_update(actor=request.member, goal=goal, **self.parsed(GoalSerializer, goal))
        return Response(self.get_serializer(goal).data)

    @extend_schema(responses=TreeNodeSerializer, summary="The goal and everything below it")
    @action(detail=True)
    def tree(self, request, pk=None):
        goal = self.get_object()
        return Response(TreeNodeSerializer(selectors.subtree(goal)).data)

    @extend_schema(
        responses=AlignmentSerializer(many=True),
        summary="Line of sight: this goal, then each parent up to its strategic root",
    )
    @action(detail=True)
    def alignment(self, request, pk=None):
        goal = selectors.goal_with_chain(request.member.organization, self.get_object().pk)
        return Response(AlignmentSerializer(goal.chain(), many=True).data)
