"""GET /api/v1/changes/: the changes feed for incremental sync (SPEC §9.7).

The log is org/changes.py's (written by every service in its write's transaction, read
in commit order). It is served here, not by org, because an item names its object's
external id as it is now, read beside the log in the same query from goals, KPIs,
members and departments: the cycles app is the one above them all (as for the export).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Case, CharField, F, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, NullIf
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from goals.models import Goal
from kpis.models import Kpi
from org.changes import BAD_CURSOR, ChangeAction, ChangeKind, Cursor, changes_after
from org.drf import IsOrganizationMember
from org.models import Change, Department, Member

if TYPE_CHECKING:
    from core.api import MemberRequest

PAGE = 100  # items per answer unless `limit` says otherwise
MAX_PAGE = 1000
WITH_EXTERNAL_IDS: tuple[tuple[str, Any], ...] = (
    (ChangeKind.GOAL, Goal),
    (ChangeKind.KPI, Kpi),
    (ChangeKind.MEMBER, Member),
    (ChangeKind.DEPARTMENT, Department),
)


class ChangeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=ChangeKind.choices, source="kind", help_text="What kind of object changed."
    )
    id = serializers.IntegerField(source="object_id", help_text="The object's id.")
    external_id = serializers.CharField(
        source="named",
        allow_null=True,
        help_text="The object's external id as it is now (a deleted one's as it was); "
        "null when it has none (KPI updates and cycles never have one).",
    )
    action = serializers.ChoiceField(
        choices=ChangeAction.choices,
        help_text="What happened. A cancelled goal, an archived KPI, a retracted or "
        "corrected value is `updated` (it is still there, in its new state); only a "
        "goal or department removed for good is `deleted`.",
    )
    updated_at = serializers.DateTimeField(source="at", help_text="When it happened.")


class ChangesPageSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Pass it as `since` for what comes next (also when `results` is empty)."
    )
    has_more = serializers.BooleanField(
        help_text="Whether more changes are waiting now: ask again with `next_cursor` at "
        "once; otherwise poll with it later."
    )


class ChangesQuerySerializer(serializers.Serializer):
    since = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="A `next_cursor` of an earlier answer: the changes after it. Without "
        "it (or empty), from the first change kept.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        default=PAGE,
        help_text=f"At most this many changes (1–{MAX_PAGE}, default {PAGE}).",
    )


def _named() -> Coalesce:
    """An item's external id: its object's now (one lookup by primary key per item, in
    the feed's own query), else the one the log kept (a deleted object's)."""
    now = Case(
        *(
            When(
                kind=kind,
                then=Subquery(
                    model.objects.filter(pk=OuterRef("object_id")).values("external_id")[:1]
                ),
            )
            for kind, model in WITH_EXTERNAL_IDS
        ),
        default=Value(None),
        output_field=CharField(),
    )
    return Coalesce(NullIf(now, Value("")), NullIf(F("external_id"), Value("")))


def changes_page(organization_id: int, cursor: Cursor, limit: int) -> tuple[list[Change], bool]:
    """Up to `limit` changes after `cursor`, and whether more are waiting: one query."""
    rows: QuerySet[Change] = changes_after(organization_id, cursor).annotate(named=_named())
    page = list(rows[: limit + 1])
    return page[:limit], len(page) > limit


class ChangesView(APIView):
    """Every goal, KPI, KPI update, member, department and cycle of your organization
    created, changed or deleted, in the order the changes were committed.

    Start without `since`; then pass each answer's `next_cursor` as `since`. The cursor
    survives concurrent writes: each change comes exactly once, none is skipped. A change
    shows once the writes that were under way when it was made have ended (usually at
    once). Kept: every change of the last 90 days; before that, the last change of each
    object that still exists (deletions are listed for 90 days)."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(
        parameters=[ChangesQuerySerializer],
        responses=ChangesPageSerializer,
        summary="Changes since a cursor (incremental sync)",
        operation_id="changes_list",
    )
    def get(self, request: MemberRequest) -> Response:
        params = request.query_params
        for name in ("since", "limit"):  # one value each: a repeated one would hide a typo
            if len(params.getlist(name)) > 1:
                raise ValidationError({name: [f"Give `{name}` once."]})
        if params.get("limit") == "":
            raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_PAGE}."]})
        query = ChangesQuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        since = query.validated_data.get("since")
        cursor = Cursor.decode(since) if since else Cursor()
        if cursor is None:
            raise ValidationError({"since": [BAD_CURSOR]})
        limit = query.validated_data["limit"]
        page, more = changes_page(request.member.organization_id, cursor, limit)
        last = Cursor(page[-1].txid, page[-1].pk) if page else cursor
        body = {"results": page, "next_cursor": last.encode(), "has_more": more}
        return Response(ChangesPageSerializer(body).data)
