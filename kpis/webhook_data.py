"""What the webhooks are told of a KPI (SPEC §8.4, §9.7): each KPI event's `data`, built
by the serializer that also describes it in the API schema (cascade/schema.py gathers
them into the delivery's `payload`), so the two cannot differ."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api import ProgressField
from goals.models import Health

from .models import KPI_FIELDS, Kpi


class KpiEventSerializer(serializers.ModelSerializer):
    """`data` of `kpi.created` and `kpi.archived`: the KPI as the write left it (its
    fields as the API gives them, its figures, when it last changed)."""

    kpi = serializers.IntegerField(source="pk", read_only=True, help_text="The KPI's id.")
    progress = ProgressField()

    class Meta:
        model = Kpi
        fields = ["kpi", *KPI_FIELDS, "current", "progress", "health", "updated_at"]
        read_only_fields = fields


class KpiUpdateRecordedEventSerializer(serializers.Serializer):
    """`data` of `kpi.update_recorded`: a value recorded (or a correction of one), and
    where its KPI stands after it."""

    kpi = serializers.IntegerField(help_text="The KPI's id.")
    external_id = serializers.CharField(allow_null=True, help_text="The KPI's external id.")
    value = serializers.FloatField()
    date = serializers.DateField()
    replaces = serializers.IntegerField(
        allow_null=True, help_text="The value this one corrects, if it is a correction."
    )
    current = serializers.FloatField(allow_null=True, help_text="The KPI's current value.")
    progress = serializers.FloatField(help_text="The KPI's progress (%), one decimal.")
    health = serializers.ChoiceField(Health.choices)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # `update` would hide the serializer's own method
        fields["update"] = serializers.IntegerField(help_text="The value's id.")
        return fields


def kpi_event_data(kpi: Kpi) -> dict[str, Any]:
    return dict(KpiEventSerializer(kpi).data)
