"""API for KPIs and their history of values: /api/v1/kpis/ and /api/v1/kpis/{id}/updates/."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
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
from core.db import lock_row
from goals.models import Goal, Health
from org.models import Member
from org.permissions import ADD_KPI, CHANGE_KPI, CORRECT_VALUE, MOVE_KPI, RECORD_VALUE

from . import idempotency
from .bulk import MAX_ROWS, kpi_record_values, require_recording
from .feeds import SECRETS, source_fetch, source_remove, source_set
from .models import Kpi, KpiSource, KpiState, KpiUpdate
from .selectors import KPI_CHAIN
from .serializers import (
    BulkValueSerializer,
    KpiRetractionSerializer,
    KpiSerializer,
    KpiSourceSerializer,
    KpiSourceShownSerializer,
    KpiUpdateSerializer,
    SourceFetchSerializer,
)
from .services import (
    kpi_create,
    kpi_edit,
    kpi_record_value,
    kpi_value_correct,
    kpi_value_retract,
)

if TYPE_CHECKING:
    from core.api import MemberRequest


def goal_named(member: Member, data: Mapping[str, Any]) -> Goal | None:
    """The goal a raw, unvalidated body names (to decide permission before validation)."""
    if "goal" not in data:
        return None
    return lookup(
        Goal.objects.select_related("owner").filter(organization=member.organization),
        data["goal"],
    )


def value_fields(request: Request) -> dict[str, Any]:
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


def bulk_kpis(request: MemberRequest) -> dict[int, Kpi]:
    """The KPIs a bulk body names that the caller's organization has, in one query."""
    rows = request.data if isinstance(request.data, list) else []
    wanted = {
        row["kpi"]
        for row in rows[:MAX_ROWS]
        if isinstance(row, Mapping) and type(row.get("kpi")) is int and 0 < row["kpi"] < 2**63
    }
    kpis = Kpi.objects.filter(organization=request.member.organization, pk__in=wanted)
    return {kpi.pk: kpi for kpi in kpis.select_related(*KPI_CHAIN)}


def bulk_rows(request: Request, kpis: dict[int, Kpi]) -> list[dict[str, Any]]:
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


class KpiViewSet(UpsertByExternalId[Kpi]):
    """KPIs with their computed `current`, `progress`, `health` and S.M.A.R.T. check."""

    queryset = Kpi.objects.select_related(*KPI_CHAIN).order_by("id")
    serializer_class = KpiSerializer
    # DELETE only on kpis/{id}/source/: a KPI itself is archived, never deleted.
    http_method_names = [*UpsertByExternalId.http_method_names, "delete"]
    ordering_fields = ["id", "name", "progress", "start", "due", "updated_at"]

    def get_queryset(self) -> QuerySet[Kpi]:
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
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
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
    def create(self, request: MemberRequest) -> Response:
        ADD_KPI.require(request.member, goal_named(request.member, raw_data(request)))
        kpi = kpi_create(actor=request.member, **self.parsed(KpiSerializer))
        return self.created(self.get_queryset().get(pk=kpi.pk))

    def partial_update(self, request: MemberRequest, pk: str | None = None) -> Response:
        kpi = self.get_object()
        CHANGE_KPI.require(request.member, kpi)
        MOVE_KPI.require(request.member, goal_named(request.member, raw_data(request)), kpi)
        kpi = kpi_edit(actor=request.member, kpi=kpi, **self.parsed(KpiSerializer, kpi))
        return Response(self.get_serializer(self.get_queryset().get(pk=kpi.pk)).data)

    upsert = upsert_route(KpiSerializer, "KPI")

    @extend_schema(
        methods=["GET"],
        responses=KpiUpdateSerializer(many=True),
        parameters=[UPDATED_SINCE],
        summary="The KPI's history",
    )
    @extend_schema(
        methods=["POST"],
        request=KpiUpdateSerializer,
        responses={201: KpiUpdateSerializer},
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
    def updates(self, request: MemberRequest, pk: str | None = None) -> Response:
        kpi = self.get_object()
        if request.method == "GET":
            history = updated_since(
                kpi.updates.select_related("replaced_by", "author__user"), request.query_params
            ).order_by("date", "created_at", "id")
            # The stubs tie pagination to the viewset's model (Kpi); DRF pages any queryset.
            page = self.paginate_queryset(history)  # type: ignore[arg-type]
            return self.get_paginated_response(KpiUpdateSerializer(page, many=True).data)
        RECORD_VALUE.require(request.member, kpi)

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
    def bulk_updates(self, request: MemberRequest) -> Response:
        kpis = bulk_kpis(request)
        rows = request.data if isinstance(request.data, list) else []
        # Before validation: forbidden and invalid is a 403, as for one value.
        require_recording(
            request.member,
            [
                (str(index), kpis[row["kpi"]])
                for index, row in enumerate(rows[:MAX_ROWS])
                if isinstance(row, Mapping) and type(row.get("kpi")) is int and row["kpi"] in kpis
            ],
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
    def update_detail(
        self, request: MemberRequest, pk: str | None = None, update_id: str | None = None
    ) -> Response:
        kpi = self.get_object()
        update = get_object_or_404(
            KpiUpdate.objects.select_related("replaced_by", "author__user"), kpi=kpi, pk=update_id
        )
        return Response(KpiUpdateSerializer(update).data)

    def recorded(self, update_id: str | None) -> KpiUpdate:
        """One value of this KPI's history (404 otherwise), for correcting or retracting."""
        kpi = self.get_object()
        update = get_object_or_404(
            KpiUpdate.objects.select_related("replaced_by"), kpi=kpi, pk=update_id
        )
        update.kpi = kpi
        CORRECT_VALUE.require(self.request.member, update)
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
    def correct(
        self, request: MemberRequest, pk: str | None = None, update_id: str | None = None
    ) -> Response:
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
    def retract(
        self, request: MemberRequest, pk: str | None = None, update_id: str | None = None
    ) -> Response:
        update = self.recorded(update_id)
        serializer = KpiRetractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = kpi_value_retract(
            actor=request.member, update=update, reason=serializer.validated_data["reason"]
        )
        return Response(KpiUpdateSerializer(update).data)

    # -- its data source (SPEC §9.6) ----------------------------------------------------

    @extend_schema(
        methods=["GET"],
        responses=KpiSourceShownSerializer,
        summary="The KPI's data source (404 if it has none)",
    )
    @extend_schema(
        methods=["PUT"],
        request=KpiSourceSerializer,
        responses={200: KpiSourceShownSerializer, 201: KpiSourceShownSerializer},
        summary="Feed the KPI from a data source (201), or change its source (200)",
        examples=[
            OpenApiExample(
                "Qualified leads from a CRM",
                request_only=True,
                value={
                    "kind": "http_json",
                    "name": "CRM",
                    "url": "https://crm.example.com/api/reports/leads?period=month",
                    "pointer": "/data/qualified",
                    "headers": {"Authorization": "Bearer …"},
                    "schedule": "daily",
                },
            ),
            OpenApiExample(
                "A number from the warehouse",
                request_only=True,
                value={
                    "kind": "sql",
                    "name": "Warehouse",
                    "database_url": "postgresql://reader:…@warehouse.example.com/analytics",
                    "query": "SELECT count(*) FROM ideas WHERE submitted >= current_date - 30",
                    "schedule": "hourly",
                },
            ),
        ],
    )
    @extend_schema(
        methods=["DELETE"], responses={204: None}, summary="Stop feeding the KPI from its source"
    )
    @action(
        detail=True,
        methods=["get", "put", "delete"],
        url_path="source",
        serializer_class=KpiSourceSerializer,
        pagination_class=None,
        filter_backends=[],
    )
    def source(self, request: MemberRequest, pk: str | None = None) -> Response:
        kpi = self.get_object()
        if request.method == "GET":
            found = get_object_or_404(KpiSource, kpi=kpi)
            may_see = CHANGE_KPI(request.member, kpi)
            return Response(KpiSourceShownSerializer(found, may_see=may_see).data)
        CHANGE_KPI.require(request.member, kpi)
        if request.method == "DELETE":
            get_object_or_404(KpiSource.objects.defer(*SECRETS), kpi=kpi)  # even if undecryptable
            source_remove(actor=request.member, kpi=kpi)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = KpiSourceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            lock_row(kpi)  # as source_set does: of two first PUTs at once, one creates (201)
            new = not KpiSource.objects.filter(kpi=kpi).exists()
            saved = source_set(actor=request.member, kpi=kpi, **serializer.validated_data)
        return Response(
            KpiSourceShownSerializer(saved).data,
            status=status.HTTP_201_CREATED if new else status.HTTP_200_OK,
        )

    @extend_schema(
        request=None,
        responses=SourceFetchSerializer,
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="true: only read, and say what would be recorded.",
            )
        ],
        summary="Fetch the KPI's source now (dry_run=true: preview, nothing recorded)",
        description="A failure of the source is an answer too (`ok` false, `error` says "
        "why); it is kept on the source unless it was a dry run.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="source/fetch",
        serializer_class=SourceFetchSerializer,
        pagination_class=None,
        filter_backends=[],
    )
    def source_fetch(self, request: MemberRequest, pk: str | None = None) -> Response:
        kpi = self.get_object()
        CHANGE_KPI.require(request.member, kpi)
        get_object_or_404(KpiSource, kpi=kpi)
        dry_run = request.query_params.get("dry_run", "false")
        if dry_run not in ("true", "false"):
            raise ValidationError({"dry_run": ["Give true or false."]})
        fetched = source_fetch(actor=request.member, kpi=kpi, dry_run=dry_run == "true")
        return Response(
            {
                "ok": fetched.ok,
                "dry_run": dry_run == "true",
                "value": fetched.value,
                "error": fetched.error,
                "recorded": fetched.update is not None,
                "would_record": fetched.would_record,
                "update": KpiUpdateSerializer(fetched.update).data if fetched.update else None,
            }
        )
