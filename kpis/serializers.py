from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.api import InputSerializer, NumberField, OrgSerializer, ProgressField
from goals.serializers import ExpectedField

from .models import KPI_FIELDS, Confidence, Kpi, KpiSource, KpiUpdate, SourceKind, SourceSchedule
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
        read_only=True,
        help_text="The person who recorded it, the service token's name, or "
        "“from <source>” for a value a data source fetched.",
    )
    source = serializers.SerializerMethodField(  # type: ignore[assignment]  # a field, popped
        help_text="The name of the data source that fetched it (then `author` is null)."
    )

    class Meta:
        model = KpiUpdate
        extra_kwargs = {
            "author": {"help_text": "Who recorded it; null for a value a data source fetched."}
        }
        fields = [
            "id",
            "kpi",
            "value",
            "date",
            "note",
            "confidence",
            "author",
            "author_name",
            "source",
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

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_source(self, update: KpiUpdate) -> str | None:
        return update.source_name if update.author_id is None else None

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


class KpiSourceSerializer(InputSerializer):
    """A KPI's data source (SPEC §9.6). Secrets (`headers`, `database_url`) are
    write-only: left out of a PUT they stay as they were (for the same kind). The
    address, pointer, query and header names show only to whoever may edit the KPI
    (null for others, who see its name and how it fares)."""

    kind = serializers.ChoiceField(choices=SourceKind.choices)
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Shown as “from <name>” on its values; the host when not given.",
    )
    schedule = serializers.ChoiceField(choices=SourceSchedule.choices, required=False)
    url = serializers.CharField(
        required=False, allow_null=True, max_length=2000, help_text="http_json: the address."
    )
    pointer = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=500,
        trim_whitespace=False,
        help_text="http_json: an RFC 6901 JSON Pointer to the number (empty: the whole answer).",
    )
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        write_only=True,
        help_text="http_json: secret request headers ({} removes them); never shown again.",
    )
    database_url = serializers.CharField(
        required=False,
        write_only=True,
        max_length=2000,
        help_text="sql: postgresql://user:password@host:5432/database; never shown again.",
    )
    query = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=10000,
        help_text="sql: one read-only statement returning one number.",
    )
    header_names = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True
    )
    database_url_set = serializers.BooleanField(read_only=True)
    next_fetch_at = serializers.DateTimeField(read_only=True)
    last_success_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_value = serializers.FloatField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True)
    last_error_at = serializers.DateTimeField(read_only=True, allow_null=True)
    failures = serializers.IntegerField(read_only=True, help_text="Failed fetches in a row.")
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(
        self,
        *args: Any,
        may_see: bool = True,
        organization: Organization | None = None,  # given by the viewset (OPTIONS)
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.may_see = may_see

    def to_representation(self, source: KpiSource) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "kind": source.kind,
            "name": source.name,
            "schedule": source.schedule,
            "url": None,
            "pointer": None,
            "query": None,
            "header_names": None,
            "database_url_set": bool(source.database_url) if self.may_see else False,
            "next_fetch_at": serializers.DateTimeField().to_representation(source.next_fetch_at),
            "last_success_at": _when(source.last_success_at),
            "last_value": source.last_value,
            "last_error": source.last_error if self.may_see or not source.last_error else HIDDEN,
            "last_error_at": _when(source.last_error_at),
            "failures": source.failures,
            "updated_at": _when(source.updated_at),
        }
        if self.may_see:
            kind_http = source.kind == SourceKind.HTTP_JSON
            shown["url"] = source.url if kind_http else None
            shown["pointer"] = source.pointer if kind_http else None
            shown["header_names"] = source.header_names if kind_http else None
            shown["query"] = source.query if not kind_http else None
        return shown


@extend_schema_serializer(component_name="KpiSource")
class KpiSourceShownSerializer(KpiSourceSerializer):
    """A source as the API answers it: every field present (the schema says so), the
    address, pointer, query and header names null where the caller may not see them
    or the kind has none."""

    kind = serializers.ChoiceField(choices=SourceKind.choices, read_only=True)
    name = serializers.CharField(read_only=True, help_text="Shown as “from <name>” on its values.")
    schedule = serializers.ChoiceField(choices=SourceSchedule.choices, read_only=True)
    url = serializers.CharField(
        read_only=True, allow_null=True, help_text="http_json: the address."
    )
    pointer = serializers.CharField(
        read_only=True, allow_null=True, help_text="http_json: the RFC 6901 JSON Pointer."
    )
    query = serializers.CharField(read_only=True, allow_null=True, help_text="sql: the query.")


# What a caller who may not edit the KPI reads of a failure: an error may name hosts,
# redirects or the answer's first words (the goal page shows it to editors only too).
HIDDEN = "The last fetch failed: whoever may edit the KPI sees why."


def _when(moment: Any) -> Any:
    return None if moment is None else serializers.DateTimeField().to_representation(moment)


class SourceFetchSerializer(serializers.Serializer):
    """What a fetch came to: the value read (or the error), and what was recorded."""

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # `organization`: given by the viewset (OPTIONS)

    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    value = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    recorded = serializers.BooleanField(
        help_text="A value was recorded (false: a dry run, a failure, or unchanged)."
    )
    would_record = serializers.BooleanField(
        help_text="Dry run: the value differs from the latest (or its period does)."
    )
    update = KpiUpdateSerializer(allow_null=True)  # type: ignore[assignment]  # a field, popped
