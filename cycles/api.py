"""API for cycles: /api/v1/cycles/ (create, edit, close, reopen, roll over, import,
export), and the tree below a goal as it stands or stood with its progress over time,
/api/v1/goals/{id}/tree/ and /api/v1/goals/{id}/history/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import UPDATED_SINCE, OrgScopedViewSet, OrgViewSet, updated_since
from core.errors import RowErrors, one_of
from core.parsers import (
    SPREADSHEET_BODY,
    SPREADSHEET_PARSERS,
    dry_run,
    spreadsheet_body,
    spreadsheet_format,
)
from goals.models import Goal
from goals.serializers import GoalSerializer
from org.permissions import MANAGE_CYCLES

from .exporting import export_response
from .history import as_of_day, goal_history
from .importing import check_individual_kpi, import_commit, import_plan
from .models import Cycle, CycleState
from .rollover import cycle_rollover
from .selectors import goal_tree
from .serializers import (
    CycleSerializer,
    HistoryPointSerializer,
    ImportPreviewSerializer,
    ImportResultSerializer,
    RolloverSerializer,
    TreeNodeSerializer,
)
from .services import cycle_create, cycle_set_state, cycle_update
from .sheets import (
    AS_KPI,
    CSV,
    DOWNLOAD_TYPES,
    FORMATS,
    INDIVIDUAL_KPI,
    INDIVIDUAL_KPI_READINGS,
    XLSX,
    read_rows,
)

if TYPE_CHECKING:
    from core.api import MemberRequest

    # What CycleSpreadsheets is mixed into: the cycles' viewset.
    _CycleViewSet = OrgViewSet[Cycle]
else:
    _CycleViewSet = object

INDIVIDUAL_KPI_PARAMETER = OpenApiParameter(
    "individual_kpi",
    OpenApiTypes.STR,
    enum=list(INDIVIDUAL_KPI_READINGS),
    default=AS_KPI,
    description=(
        f"How a sheet with an “{INDIVIDUAL_KPI}” column and no “KPI” column (the "
        "article's table as written) is read: "
        + "; ".join(f"`{value}`: {label}" for value, label in INDIVIDUAL_KPI_READINGS.items())
        + f" (default `{AS_KPI}`). The preview's `individual_kpi` says which was applied; "
        "send the same value to import what it showed. Other sheets ignore it."
    ),
)
AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description=(
        "Show the tree as it stood at the end of this day (2000-01-01 to 2100-12-31); "
        "today or a later day shows it as it stands."
    ),
)


# cycles/{id}/import/ and cycles/{id}/export/: a cycle's goals and KPIs in and out as a
# spreadsheet, with the layout of the README ("Import and export"). (No docstring: the
# schema would take it for the cycles' description.)
class CycleSpreadsheets(_CycleViewSet):
    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # The export's `?format=` names the file's format, not a renderer: its file is
        # sent as it is, and its errors are JSON like every other.
        if self.action == "export":
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        request=SPREADSHEET_BODY,
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="Preview only: what each row would create or change, its "
                "verdicts and errors; nothing is written.",
            ),
            INDIVIDUAL_KPI_PARAMETER,
        ],
        responses={200: ImportPreviewSerializer, 201: ImportResultSerializer},
        summary="Import goals and KPIs from a spreadsheet (CSV or XLSX), all rows or none",
        description="The file is the request body (`text/csv` or the XLSX media type), "
        "with the columns of the README (“Import and export”). Goals are matched by "
        "external id, else by title under the same parent, so importing twice changes "
        "nothing. With errors nothing is written and the answer is a 400 with the "
        'messages per row and column: {"rows": {"3": {"Owner": […]}}} (rows are the '
        "file's lines; the headers are line 1). Leaders and admins only.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=SPREADSHEET_PARSERS,
        pagination_class=None,
        filter_backends=[],
    )
    def import_file(self, request: MemberRequest, pk: str | None = None) -> Response:
        cycle = self.get_object()
        MANAGE_CYCLES.require(request.member)
        preview_only = dry_run(request)
        individual_kpi = request.query_params.get("individual_kpi", AS_KPI)
        check_individual_kpi(individual_kpi)
        fmt = spreadsheet_format(request)
        rows = read_rows(spreadsheet_body(request), fmt)
        if preview_only:
            plan = import_plan(
                actor=request.member, cycle=cycle, rows=rows, individual_kpi=individual_kpi
            )
            return Response(plan.preview())
        try:
            plan = import_commit(
                actor=request.member, cycle=cycle, rows=rows, individual_kpi=individual_kpi
            )
        except RowErrors as refused:
            return Response({"rows": refused.by_row}, status=status.HTTP_400_BAD_REQUEST)
        response = Response({"totals": plan.totals}, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            f"{reverse('goal-list')}?cycle={cycle.pk}"
        )
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=list(FORMATS),
                description="csv (the default) or xlsx.",
            )
        ],
        responses={
            (200, DOWNLOAD_TYPES[CSV]): OpenApiTypes.BINARY,
            (200, DOWNLOAD_TYPES[XLSX]): OpenApiTypes.BINARY,
        },
        summary="Export the cycle's goals and KPIs as a spreadsheet (CSV or XLSX)",
        description="The import's columns plus Progress, Health, Current and Last update: "
        "one row per KPI with its goal's path, and one per goal without KPIs or goals "
        "below it. It imports back as the same tree. Everyone in the organization may "
        "export.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request: MemberRequest, pk: str | None = None) -> HttpResponse:
        cycle = self.get_object()
        fmt = request.query_params.get("format", CSV)
        if fmt not in FORMATS:
            raise ValidationError({"format": [one_of(FORMATS)]})
        return export_response(cycle, fmt)


# cycles/: create, edit, close and reopen; roll goals over into another cycle; import and
# export its goals and KPIs. (No docstring: the schema describes it as every list.)
class CycleViewSet(CycleSpreadsheets, OrgViewSet[Cycle]):
    queryset = Cycle.objects.order_by("-start", "id")
    serializer_class = CycleSerializer
    ordering_fields = ["id", "name", "start", "end", "updated_at"]

    def get_queryset(self) -> QuerySet[Cycle]:
        cycles = super().get_queryset()
        if self.action != "list":
            return cycles
        return updated_since(cycles, self.request.query_params)

    @extend_schema(parameters=[UPDATED_SINCE])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def create(self, request: MemberRequest) -> Response:
        MANAGE_CYCLES.require(request.member)
        fields = self.parsed(CycleSerializer)
        fields.pop("is_current", None)  # marked once it exists, by PATCH
        return self.created(cycle_create(actor=request.member, **fields))

    def partial_update(self, request: MemberRequest, pk: str | None = None) -> Response:
        cycle = self.get_object()
        MANAGE_CYCLES.require(request.member)
        cycle = cycle_update(
            actor=request.member, cycle=cycle, **self.parsed(CycleSerializer, cycle)
        )
        return Response(self.get_serializer(cycle).data)

    @extend_schema(request=None, responses=CycleSerializer, summary="Close a cycle")
    @action(detail=True, methods=["post"])
    def close(self, request: MemberRequest, pk: str | None = None) -> Response:
        """Its goals, KPIs and values become read-only until it is reopened."""
        return self._set_state(CycleState.CLOSED)

    @extend_schema(request=None, responses=CycleSerializer, summary="Reopen a closed cycle")
    @action(detail=True, methods=["post"])
    def reopen(self, request: MemberRequest, pk: str | None = None) -> Response:
        return self._set_state(CycleState.OPEN)

    def _set_state(self, state: str) -> Response:
        cycle = self.get_object()
        MANAGE_CYCLES.require(self.request.member)
        cycle = cycle_set_state(actor=self.request.member, cycle=cycle, state=state)
        return Response(self.get_serializer(cycle).data)

    @extend_schema(
        request=RolloverSerializer,
        responses={201: GoalSerializer(many=True)},
        summary="Copy goals of this cycle, with their KPIs, into another cycle",
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def rollover(self, request: MemberRequest, pk: str | None = None) -> Response:
        """Goals above a chosen one are copied too; each copy keeps `copied_from`; a
        copied KPI's baseline is the source's current value where it has one."""
        source = self.get_object()
        MANAGE_CYCLES.require(request.member)
        fields = self.parsed(RolloverSerializer)
        copies = cycle_rollover(
            actor=request.member, source=source, to_cycle=fields["to_cycle"], goals=fields["goals"]
        )
        data = GoalSerializer(copies, many=True, organization=request.member.organization).data
        return Response(data, status=status.HTTP_201_CREATED)


# goals/{id}/tree/ and goals/{id}/history/: the tree below a goal as it stands or stood
# on a past day (`?as_of=`), and the goal's progress over time. Served here, not with the
# rest of goals/: the past is the cycle's history. The docstring is the schema's text.
class GoalTreeViewSet(OrgScopedViewSet[Goal]):
    """goals/{id}/tree/: a goal with everything below it, KPIs included. It is served
    here, not with the rest of goals/, because it shows KPIs (goals sit below them)."""

    queryset = Goal.objects.order_by("id")
    serializer_class = TreeNodeSerializer

    @extend_schema(
        responses=TreeNodeSerializer,
        summary="The goal and everything below it",
        parameters=[AS_OF],
    )
    @action(detail=True, filter_backends=[])
    def tree(self, request: MemberRequest, pk: str | None = None) -> Response:
        goal = self.get_object()
        day = as_of_day(request.query_params.get("as_of"), request.member.organization.today())
        return Response(TreeNodeSerializer(goal_tree(goal, as_of=day)).data)

    @extend_schema(
        responses=HistoryPointSerializer(many=True),
        summary="The goal's progress over time: a point for each day it changed",
        description=(
            "Each point holds from its date until the next one. Progress is computed from "
            "the values dated up to that day that stand today (corrections and retractions "
            "applied), on the tree as it is today."
        ),
    )
    @action(detail=True, pagination_class=None, filter_backends=[])
    def history(self, request: MemberRequest, pk: str | None = None) -> Response:
        return Response(HistoryPointSerializer(goal_history(self.get_object()), many=True).data)
