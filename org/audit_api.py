"""API for the audit log: GET /api/v1/audit/ (admins), the organization's entries,
newest first, filtered by `actor`, `object` and `since` as on the Audit page."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError

from audit.models import Entry
from audit.selectors import LARGEST_ID, entries_of, read_filters

from .permissions import READ_AUDIT_LOG

CHANGES = {
    "type": "object",
    "description": "Per field, [old, new]; a bulk write's lists of what it made or changed.",
    "additionalProperties": {"type": "array", "items": {}, "minItems": 2, "maxItems": 2},
}


@extend_schema_field(CHANGES)
class ChangesField(serializers.JSONField):
    pass


class EntrySerializer(serializers.ModelSerializer):
    changes = ChangesField(read_only=True)

    class Meta:
        model = Entry
        fields = [
            "id",
            "at",
            "actor_id",
            "actor",
            "token_id",
            "token",
            "ip",
            "action",
            "object_type",
            "object_id",
            "object_label",
            "changes",
        ]
        read_only_fields = fields


class AuditEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who (or which service token) did what, when, from where, old → new. Read only:
    the log is append-only."""

    queryset = Entry.objects.none()
    serializer_class = EntrySerializer
    filter_backends: list = []  # newest first, always

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        member = self.request.member
        READ_AUDIT_LOG.require(member)  # a 403 before any 400
        filters, errors = read_filters(self.request.query_params, member.organization.timezone)
        if errors:
            raise ValidationError(errors)
        return entries_of(member.organization_id, filters)

    @extend_schema(
        summary="List audit entries",
        parameters=[
            OpenApiParameter(
                "actor",
                {"type": "integer", "minimum": 1, "maximum": LARGEST_ID},
                description="Only what this member did (their member id).",
            ),
            OpenApiParameter(
                "object",
                OpenApiTypes.STR,
                description="Only entries about this kind of object, or this one: "
                "`goal`, or `goal:42`.",
            ),
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="Only entries from this day (YYYY-MM-DD, in the organization's "
                "time zone) or instant (ISO 8601) on.",
            ),
        ],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
