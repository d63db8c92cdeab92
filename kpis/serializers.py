from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import InputSerializer, NumberField, OrgSerializer, ProgressField
from goals.serializers import ExpectedField

from .models import KPI_FIELDS, Confidence, Kpi, KpiUpdate
from .smart import Verdicts, kpi_smart

if TYPE_CHECKING:
    from org.models import Organization


class SmartVerdictSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class SmartSerializer(serializers.Serializer):
    """The S.M.A.R.T. check of a KPI: one verdict per letter."""

    specific = SmartVerdictSerializer()
    measurable = SmartVerdictSerializer()
    achievable = SmartVerdictSerializer()
    relevant = SmartVerdictSerializer()
    time_bound = SmartVerdictSerializer()


class KpiSerializer(OrgSerializer):
    progress = ProgressField()
    current = serializers.FloatField(read_only=True, allow_null=True)
    baseline = NumberField()
    target = NumberField()
    weight = NumberField(required=False)
    smart = serializers.SerializerMethodField()
    expected = ExpectedField()

    class Meta:
        model = Kpi
        fields = [
            "id",
            *KPI_FIELDS,
            "current",
            "progress",
            "expected",
            "health",
            "smart",
            "copied_from",
            "updated_at",
        ]
        read_only_fields = ["health", "copied_from", "updated_at"]
        extra_kwargs = {
            "description": {"required": False},
            "start": {"required": False},
            "due": {"required": False},
            "owner": {"required": False},
            "direction": {"required": False},
            "aggregation": {"required": False},
        }

    scoped_fields = ("goal", "owner")

    def get_validators(self) -> list[Any]:
        return []

    @extend_schema_field(SmartSerializer)
    def get_smart(self, kpi: Kpi) -> Verdicts:
        return kpi_smart(kpi)


class KpiUpdateSerializer(OrgSerializer):
    """A recorded value. A corrected one names its correction (`replaced_by`), a
    correction what it `replaces`; a retracted one says who, when and why."""

    value = NumberField()
    date = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    confidence = serializers.ChoiceField(
        choices=Confidence.choices, required=False, allow_blank=True
    )
    replaced_by = serializers.SerializerMethodField()
    author_name = serializers.CharField(
        read_only=True, help_text="The person who recorded it, or the service token's name."
    )

    class Meta:
        model = KpiUpdate
        fields = [
            "id",
            "kpi",
            "value",
            "date",
            "note",
            "confidence",
            "author",
            "author_name",
            "created_at",
            "replaces",
            "replaced_by",
            "retracted_at",
            "retracted_by",
            "retract_reason",
            "updated_at",
        ]
        read_only_fields = [
            "kpi",
            "author",
            "created_at",
            "updated_at",
            "replaces",
            "retracted_at",
            "retracted_by",
            "retract_reason",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_replaced_by(self, update: KpiUpdate) -> int | None:
        correction = update.correction
        return correction.pk if correction is not None else None


class KpiRetractionSerializer(InputSerializer):
    reason = serializers.CharField(max_length=1000)

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class BulkValueSerializer(InputSerializer):
    """One row of a bulk recording: a value for a KPI (date: today by default). The
    KPIs of all rows are looked up at once by the view (`kpis`: {id: Kpi})."""

    kpi = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    value = NumberField()
    date = serializers.DateField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    confidence = serializers.ChoiceField(
        choices=Confidence.choices, required=False, allow_blank=True
    )

    def __init__(
        self,
        *args: Any,
        kpis: dict[int, Kpi] | None = None,
        organization: Organization | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)  # `organization`: given by every API view
        self.kpis = kpis or {}

    def validate_kpi(self, value: int) -> Kpi:
        if value not in self.kpis:
            raise serializers.ValidationError("No such KPI in your organization.")
        return self.kpis[value]
