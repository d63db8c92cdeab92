"""API for KPIs and their history: /api/v1/kpis/, /api/v1/kpis/{id}/updates/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from goals.models import Goal
from goals.selectors import CHAIN_RELATED
from org.api import OrgViewSet, lookup, raw_data, require
from org.permissions import can_edit_goal, can_edit_goal_at, can_record_update

from .models import Kpi
from .serializers import KpiSerializer, KpiUpdateSerializer
from .services import kpi_create, kpi_update, kpi_update_record

KPI_RELATED = ("goal__cycle", "goal__owner", *(f"goal__{name}" for name in CHAIN_RELATED))


def kpi_write_allowed(member, data, kpi: Kpi | None = None) -> bool:
    """Pre-check before validation: may the member write KPIs on the goal(s) involved?"""
    if kpi is not None and not can_edit_goal(member, kpi.goal):
        return False
    goals = Goal.objects.select_related("owner").filter(organization=member.organization)
    goal = lookup(goals, data["goal"]) if "goal" in data else None
    if goal is not None:
        return can_edit_goal(member, goal)
    # No goal to judge by: refuse roles that can write no KPI at all (reviewers).
    return can_edit_goal_at(member, organization_id=member.organization_id, level="individual")


class KpiViewSet(OrgViewSet):
    """KPIs with their computed `current`, `progress`, `health` and S.M.A.R.T. check."""

    queryset = Kpi.objects.select_related(*KPI_RELATED).order_by("id")
    serializer_class = KpiSerializer

    def get_queryset(self):
        kpis = super().get_queryset()
        goal = self.request.query_params.get("goal")
        if self.action == "list" and goal:
            try:
                pk = int(goal)
                # An integer no id column can hold names nothing (not a database error).
                kpis = kpis.filter(goal_id=pk) if abs(pk) < 2**63 else kpis.none()
            except (ValueError, OverflowError):
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"goal": ["Must be an id (an integer)."]}) from None
        return kpis

    @extend_schema(
        examples=[
            OpenApiExample(
                "An individual KPI",
                request_only=True,
                value={
                    "goal": 3,
                    "name": "Resolve support tickets within 4 hrs avg",
                    "unit": "hours",
                    "direction": "decrease",
                    "aggregation": "latest",
                    "baseline": 6,
                    "target": 4,
                },
            )
        ]
    )
    def create(self, request):
        require(
            kpi_write_allowed(request.member, raw_data(request)),
            "You may not add KPIs to this goal.",
        )
        kpi = kpi_create(actor=request.member, **self.parsed(KpiSerializer))
        return self.created(self.get_queryset().get(pk=kpi.pk))

    def partial_update(self, request, pk=None):
        kpi = self.get_object()
        require(
            kpi_write_allowed(request.member, raw_data(request), kpi),
            "You may not change this KPI.",
        )
        kpi = kpi_update(actor=request.member, kpi=kpi, **self.parsed(KpiSerializer, kpi))
        return Response(self.get_serializer(self.get_queryset().get(pk=kpi.pk)).data)

    @extend_schema(
        methods=["GET"], responses=KpiUpdateSerializer(many=True), summary="The KPI's history"
    )
    @extend_schema(
        methods=["POST"],
        request=KpiUpdateSerializer,
        responses={201: KpiUpdateSerializer},
        summary="Record a value",
        examples=[
            OpenApiExample(
                "A weekly value",
                request_only=True,
                value={
                    "value": 5,
                    "date": "2027-03-14",
                    "note": "Two long escalations",
                    "confidence": "medium",
                },
            )
        ],
    )
    @action(detail=True, methods=["get", "post"], serializer_class=KpiUpdateSerializer)
    def updates(self, request, pk=None):
        kpi = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(kpi.updates.order_by("date", "created_at", "id"))
            return self.get_paginated_response(KpiUpdateSerializer(page, many=True).data)
        require(can_record_update(request.member, kpi), "You may not record values on this KPI.")
        serializer = KpiUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        update = kpi_update_record(
            actor=request.member,
            kpi=kpi,
            value=data["value"],
            date=data.get("date"),
            note=data.get("note", ""),
            confidence=data.get("confidence", ""),
        )
        return Response(KpiUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
