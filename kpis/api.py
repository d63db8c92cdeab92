"""API for KPIs and their history: /api/v1/kpis/, /api/v1/kpis/{id}/updates/, and the
goal tree with its KPIs, /api/v1/goals/{id}/tree/."""

from __future__ import annotations

from collections.abc import Mapping

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api import (
    UPDATED_SINCE,
    OrgScopedViewSet,
    OrgViewSet,
    list_filters,
    lookup,
    raw_data,
    updated_since,
)
from core.errors import RowErrors, refuse_unless
from goals.models import Cycle, Goal, Health
from goals.serializers import CycleSerializer, GoalSerializer
from goals.services import CYCLES_REFUSED
from org.permissions import (
    can_correct_update,
    can_manage_cycles,
    can_place_kpi,
    can_record_update,
)

from . import idempotency
from .bulk import MAX_ROWS, kpi_record_values
from .exporting import export_response
from .history import as_of_day, goal_history
from .import_serializers import ImportPreviewSerializer, ImportResultSerializer
from .importing import import_commit, import_plan
from .models import Kpi, KpiState, KpiUpdate
from .rollover import cycle_rollover
from .selectors import KPI_CHAIN, goal_tree
from .serializers import (
    BulkValueSerializer,
    HistoryPointSerializer,
    KpiRetractionSerializer,
    KpiSerializer,
    KpiUpdateSerializer,
    RolloverSerializer,
    TreeNodeSerializer,
)
from .services import (
    kpi_create,
    kpi_edit,
    kpi_record_value,
    kpi_value_correct,
    kpi_value_retract,
)
from .sheets import CSV, FORMATS, MAX_BYTES, MEDIA_TYPES, XLSX, read_rows

AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description=(
        "Show the tree as it stood at the end of this day; today or a later day shows it "
        "as it stands."
    ),
)


def goal_named(member, data: Mapping) -> Goal | None:
    """The goal a raw, unvalidated body names (to decide permission before validation)."""
    if "goal" not in data:
        return None
    return lookup(
        Goal.objects.select_related("owner").filter(organization=member.organization),
        data["goal"],
    )


def value_fields(request) -> dict:
    """A value's body (recording one, or correcting one), checked: the service's arguments."""
    serializer = KpiUpdateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return {
        "value": data["value"],
        "date": data.get("date"),
        "note": data.get("note", ""),
        "confidence": data.get("confidence", ""),
    }


def bulk_kpis(request) -> dict[int, Kpi]:
    """The KPIs a bulk body names that the caller's organization has, in one query."""
    rows = request.data if isinstance(request.data, list) else []
    wanted = {
        row["kpi"]
        for row in rows[:MAX_ROWS]
        if isinstance(row, Mapping) and type(row.get("kpi")) is int and 0 < row["kpi"] < 2**63
    }
    kpis = Kpi.objects.filter(organization=request.member.organization, pk__in=wanted)
    return {kpi.pk: kpi for kpi in kpis.select_related(*KPI_CHAIN)}


def bulk_rows(request, kpis: dict[int, Kpi]) -> list[dict]:
    """A bulk recording's body, checked row by row: every row's messages at once, by
    index ({"3": {"value": ["…"]}}), as the service reports its own."""
    rows = request.data
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise ValidationError({"non_field_errors": [f"Send a list of 1 to {MAX_ROWS} values."]})
    parsed, errors = [], {}
    for index, row in enumerate(rows):
        serializer = BulkValueSerializer(data=row, kpis=kpis)
        if serializer.is_valid():
            parsed.append(dict(serializer.validated_data))
        else:
            errors[str(index)] = serializer.errors
    if errors:
        raise ValidationError(errors)
    return parsed


class KpiViewSet(OrgViewSet):
    """KPIs with their computed `current`, `progress`, `health` and S.M.A.R.T. check."""

    queryset = Kpi.objects.select_related(*KPI_CHAIN).order_by("id")
    serializer_class = KpiSerializer
    ordering_fields = ["id", "name", "progress", "start", "due", "updated_at"]

    def get_queryset(self):
        kpis = super().get_queryset()
        if self.action != "list":
            return kpis
        params = self.request.query_params
        filters = list_filters(
            params,
            ids=("goal", "owner", "cycle"),
            choices={"state": KpiState.values, "health": Health.values},
        )
        state = filters.pop("state", KpiState.ACTIVE)  # archived KPIs only when asked for
        kpis = kpis.filter(state=state)
        if "cycle" in filters:
            kpis = kpis.filter(goal__cycle_id=filters.pop("cycle"))
        if "health" in filters:
            kpis = kpis.filter(health=filters.pop("health"))
        if params.get("external_id"):
            kpis = kpis.filter(external_id=params["external_id"])
        kpis = updated_since(kpis, params)
        return kpis.filter(**{f"{name}_id": value for name, value in filters.items()})

    @extend_schema(
        parameters=[
            OpenApiParameter("goal", OpenApiTypes.INT, description="Only this goal's KPIs."),
            OpenApiParameter("owner", OpenApiTypes.INT, description="Only KPIs this member owns."),
            OpenApiParameter("cycle", OpenApiTypes.INT, description="Only KPIs of this cycle."),
            OpenApiParameter(
                "health", OpenApiTypes.STR, enum=Health.values, description="Only this health."
            ),
            OpenApiParameter(
                "external_id", OpenApiTypes.STR, description="The KPI with this external id."
            ),
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=KpiState.values,
                description="active (the default) or archived.",
            ),
            UPDATED_SINCE,
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

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
        refuse_unless(
            can_place_kpi(request.member, goal_named(request.member, raw_data(request))),
            "You may not add KPIs to this goal.",
        )
        kpi = kpi_create(actor=request.member, **self.parsed(KpiSerializer))
        return self.created(self.get_queryset().get(pk=kpi.pk))

    def partial_update(self, request, pk=None):
        kpi = self.get_object()
        refuse_unless(
            can_place_kpi(request.member, goal_named(request.member, raw_data(request)), kpi),
            "You may not change this KPI.",
        )
        kpi = kpi_edit(actor=request.member, kpi=kpi, **self.parsed(KpiSerializer, kpi))
        return Response(self.get_serializer(self.get_queryset().get(pk=kpi.pk)).data)

    @extend_schema(
        methods=["GET"],
        responses=KpiUpdateSerializer(many=True),
        parameters=[UPDATED_SINCE],
        summary="The KPI's history",
    )
    @extend_schema(
        methods=["POST"],
        request=KpiUpdateSerializer,
        responses={201: KpiUpdateSerializer, 409: OpenApiTypes.OBJECT},
        parameters=[idempotency.PARAMETER],
        summary="Record a value",
        examples=[
            OpenApiExample(
                "A weekly value",
                request_only=True,
                # No date: it is today's value (a fixed date would go stale).
                value={
                    "value": 5,
                    "note": "Two long escalations",
                    "confidence": "medium",
                },
            )
        ],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=KpiUpdateSerializer,
        filter_backends=[],
    )
    def updates(self, request, pk=None):
        kpi = self.get_object()
        if request.method == "GET":
            history = updated_since(
                kpi.updates.select_related("replaced_by", "author__user"), request.query_params
            ).order_by("date", "created_at", "id")
            page = self.paginate_queryset(history)
            return self.get_paginated_response(KpiUpdateSerializer(page, many=True).data)
        refuse_unless(
            can_record_update(request.member, kpi), "You may not record values on this KPI."
        )

        def record() -> Response:
            update = kpi_record_value(actor=request.member, kpi=kpi, **value_fields(request))
            response = Response(KpiUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
            response["Location"] = request.build_absolute_uri(f"{request.path}{update.pk}/")
            return response

        return idempotency.once(request, f"kpis/{kpi.pk}/updates", record)

    @extend_schema(
        request=BulkValueSerializer(many=True),
        responses={201: KpiUpdateSerializer(many=True)},
        parameters=[idempotency.PARAMETER],
        summary="Record many values at once (all or none)",
        operation_id="kpis_updates_bulk_create",
        description=f"Up to {MAX_ROWS} values, on any KPIs the caller may record on. Every "
        'row is checked first; messages come by row index ({"3": {"value": […]}}). '
        "Then all are recorded, with one roll-up.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="updates",
        serializer_class=BulkValueSerializer,
        pagination_class=None,
        filter_backends=[],
    )
    def bulk_updates(self, request):
        kpis = bulk_kpis(request)
        rows = request.data if isinstance(request.data, list) else []
        forbidden = [  # before validation: forbidden and invalid is a 403, as for one value
            str(index)
            for index, row in enumerate(rows[:MAX_ROWS])
            if isinstance(row, Mapping)
            and type(row.get("kpi")) is int
            and row["kpi"] in kpis
            and not can_record_update(request.member, kpis[row["kpi"]])
        ]
        refuse_unless(
            not forbidden,
            f"You may not record values on the KPIs of rows {', '.join(forbidden[:20])}.",
        )

        def record() -> Response:
            rows = bulk_rows(request, kpis)
            updates = kpi_record_values(actor=request.member, rows=rows)
            data = KpiUpdateSerializer(updates, many=True).data
            return Response(data, status=status.HTTP_201_CREATED)

        return idempotency.once(request, "kpis/updates", record)

    @extend_schema(responses=KpiUpdateSerializer, summary="One recorded value")
    @action(
        detail=True,
        methods=["get"],
        url_path=r"updates/(?P<update_id>[0-9]+)",
        url_name="update-detail",
        serializer_class=KpiUpdateSerializer,
        pagination_class=None,
        filter_backends=[],
    )
    def update_detail(self, request, pk=None, update_id=None):
        kpi = self.get_object()
        update = get_object_or_404(
            KpiUpdate.objects.select_related("replaced_by", "author__user"), kpi=kpi, pk=update_id
        )
        return Response(KpiUpdateSerializer(update).data)

    def recorded(self, update_id) -> KpiUpdate:
        """One value of this KPI's history (404 otherwise), for correcting or retracting."""
        kpi = self.get_object()
        update = get_object_or_404(
            KpiUpdate.objects.select_related("replaced_by"), kpi=kpi, pk=update_id
        )
        update.kpi = kpi
        refuse_unless(
            can_correct_update(self.request.member, update),
            "You may not correct or retract values on this KPI.",
        )
        return update

    @extend_schema(
        request=KpiUpdateSerializer,
        responses={201: KpiUpdateSerializer},
        summary="Correct a value: a new value replaces it (the old one stays, struck)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"updates/(?P<update_id>[0-9]+)/correct",
        serializer_class=KpiUpdateSerializer,
    )
    def correct(self, request, pk=None, update_id=None):
        update = self.recorded(update_id)
        correction = kpi_value_correct(actor=request.member, update=update, **value_fields(request))
        return Response(KpiUpdateSerializer(correction).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=KpiRetractionSerializer,
        responses=KpiUpdateSerializer,
        summary="Retract a value, saying why (it stays in the history, struck)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"updates/(?P<update_id>[0-9]+)/retract",
        serializer_class=KpiRetractionSerializer,
    )
    def retract(self, request, pk=None, update_id=None):
        update = self.recorded(update_id)
        serializer = KpiRetractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = kpi_value_retract(
            actor=request.member, update=update, reason=serializer.validated_data["reason"]
        )
        return Response(KpiUpdateSerializer(update).data)


class RawBodyParser(BaseParser):
    """A spreadsheet sent as the request body, as it is (the import's one exception to
    JSON-only bodies)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(MAX_BYTES + 1) if stream is not None else b""


class CsvParser(RawBodyParser):
    media_type = MEDIA_TYPES[CSV]


class XlsxParser(RawBodyParser):
    media_type = MEDIA_TYPES[XLSX]


def dry_run(request) -> bool:
    """`?dry_run=true`: preview only."""
    raw = request.query_params.get("dry_run", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError({"dry_run": ["Must be true or false."]})
    return raw in ("true", "1")


def spreadsheet_format(request) -> str:
    """The format the body's media type names; any other is a 415."""
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    for fmt, known in MEDIA_TYPES.items():
        if media_type == known:
            return fmt
    raise UnsupportedMediaType(media_type or "none")


class CycleSpreadsheets:
    """cycles/{id}/import/ and cycles/{id}/export/: a cycle's goals and KPIs in and out
    as a spreadsheet, with the layout of the README ("Import and export"). Served by
    CycleRolloverViewSet, beside roll-over (both write KPIs)."""

    def perform_content_negotiation(self, request, force=False):
        # The export's `?format=` names the file's format, not a renderer: its file is
        # sent as it is, and its errors are JSON like every other.
        if self.action == "export":
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        request={MEDIA_TYPES[CSV]: OpenApiTypes.BINARY, MEDIA_TYPES[XLSX]: OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="Preview only: what each row would create or change, its "
                "verdicts and errors; nothing is written.",
            )
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
        parser_classes=[CsvParser, XlsxParser],
        pagination_class=None,
        filter_backends=[],
    )
    def import_file(self, request, pk=None):
        cycle = self.get_object()
        refuse_unless(can_manage_cycles(request.member), CYCLES_REFUSED)
        preview_only = dry_run(request)
        fmt = spreadsheet_format(request)
        content = request.data if isinstance(request.data, bytes) else b""
        rows = read_rows(content, fmt)
        if preview_only:
            plan = import_plan(actor=request.member, cycle=cycle, rows=rows)
            return Response(plan.preview())
        try:
            plan = import_commit(actor=request.member, cycle=cycle, rows=rows)
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
            (200, MEDIA_TYPES[CSV]): OpenApiTypes.BINARY,
            (200, MEDIA_TYPES[XLSX]): OpenApiTypes.BINARY,
        },
        summary="Export the cycle's goals and KPIs as a spreadsheet (CSV or XLSX)",
        description="The import's columns plus Progress, Health, Current and Last update: "
        "one row per KPI with its goal's path, and one per goal without KPIs or goals "
        "below it. It imports back as the same tree. Everyone in the organization may "
        "export.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def export(self, request, pk=None):
        cycle = self.get_object()
        fmt = request.query_params.get("format", CSV)
        if fmt not in FORMATS:
            raise ValidationError({"format": [f"Must be one of: {', '.join(FORMATS)}."]})
        return export_response(cycle, fmt)


class CycleRolloverViewSet(CycleSpreadsheets, OrgScopedViewSet):
    """cycles/{id}/rollover/: copies goals with their KPIs, so it is served here."""

    queryset = Cycle.objects.order_by("id")
    serializer_class = CycleSerializer

    @extend_schema(
        request=RolloverSerializer,
        responses={201: GoalSerializer(many=True)},
        summary="Copy goals of this cycle, with their KPIs, into another cycle",
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def rollover(self, request, pk=None):
        """Goals above a chosen one are copied too; each copy keeps `copied_from`; a
        copied KPI's baseline is the source's current value where it has one."""
        source = self.get_object()
        refuse_unless(can_manage_cycles(request.member), CYCLES_REFUSED)
        fields = self.parsed(RolloverSerializer)
        copies = cycle_rollover(
            actor=request.member, source=source, to_cycle=fields["to_cycle"], goals=fields["goals"]
        )
        data = GoalSerializer(copies, many=True, organization=request.member.organization).data
        return Response(data, status=status.HTTP_201_CREATED)


class GoalTreeViewSet(OrgScopedViewSet):
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
    def tree(self, request, pk=None):
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
    def history(self, request, pk=None):
        return Response(HistoryPointSerializer(goal_history(self.get_object()), many=True).data)
