"""The API's shapes of cycles: a cycle, a roll-over, the tree below a goal as it stands
or stood, its progress over time, and an import's preview and result (the plan builds
those as plain dicts, cycles/importing.py; these give the schema their shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from drf_spectacular.helpers import lazy_serializer
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import IdField, InputSerializer, OrgSerializer, ProgressField
from goals.models import Goal, Health, Level
from kpis.serializers import SmartVerdictSerializer

from .import_plan import CHANGE, CREATE, REPEAT, UNCHANGED
from .models import Cycle
from .sheets import INDIVIDUAL_KPI_READINGS

if TYPE_CHECKING:
    from rest_framework.utils.serializer_helpers import ReturnList

    from core.api import RelatedRows
    from org.models import Organization


class CycleSerializer(OrgSerializer):
    class Meta:
        model = Cycle
        fields = ["id", "name", "start", "end", "cadence", "state", "is_current", "updated_at"]
        read_only_fields = ["state", "updated_at"]  # state: changed by close/ and reopen/

    def get_validators(self) -> list[Any]:
        return []  # the service checks the name and the dates, after permissions


class RolloverSerializer(InputSerializer):
    """cycles/{id}/rollover/: which goals of this cycle to copy, into which cycle."""

    to_cycle = IdField(queryset=Cycle.objects.all())
    goals = serializers.ListField(
        child=IdField(queryset=Goal.objects.all()), allow_empty=False, min_length=1
    )

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if organization is not None:
            to_cycle = cast("RelatedRows", self.fields["to_cycle"])
            to_cycle.queryset = Cycle.objects.filter(organization=organization)
            goals = cast("serializers.ListField", self.fields["goals"])
            goal = cast("RelatedRows", goals.child)
            goal.queryset = Goal.objects.filter(organization=organization)


class TreeKpiSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unit = serializers.CharField()
    current = serializers.FloatField(allow_null=True)
    target = serializers.FloatField()
    progress = ProgressField()
    health = serializers.ChoiceField(choices=Health.choices)


class TreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    progress = ProgressField()
    health = serializers.ChoiceField(choices=Health.choices)
    kpis = TreeKpiSerializer(many=True, source="tree_kpis")
    children = serializers.SerializerMethodField()

    @extend_schema_field(lazy_serializer("cycles.serializers.TreeNodeSerializer")(many=True))
    def get_children(self, goal: Goal) -> ReturnList[Any]:
        # many=True makes a ListSerializer, whose data is a list; the stubs can't tell.
        return TreeNodeSerializer(goal.tree_children, many=True).data  # type: ignore[return-value]


class HistoryPointSerializer(serializers.Serializer):
    """goals/{id}/history/: the goal's progress from this day on (until the next point)."""

    date = serializers.DateField()
    progress = ProgressField()
    has_data = serializers.BooleanField(help_text="Whether a value was dated at or below it yet.")
    expected = ProgressField(help_text="The expected progress on that day.")
    health = serializers.ChoiceField(choices=Health.choices, help_text="Its health that day.")


class ImportChangeSerializer(serializers.Serializer):
    old = serializers.CharField(allow_null=True, help_text="The stored value, as text.")
    new = serializers.CharField(allow_null=True, help_text="The file's value, as text.")


class ImportActionSerializer(serializers.Serializer):
    object = serializers.CharField(help_text="goal or kpi.")
    level = serializers.CharField(
        allow_null=True, help_text=f"A goal's level ({', '.join(Level.values)}); null for a KPI."
    )
    title = serializers.CharField(help_text="The goal's title or the KPI's name.")
    action = serializers.CharField(
        help_text=f"{', '.join((CREATE, CHANGE, UNCHANGED, REPEAT))}: "
        "`repeat` when an earlier row already names it."
    )
    first_row = serializers.IntegerField(help_text="The first row naming it.")
    changes = serializers.DictField(
        child=ImportChangeSerializer(), help_text="Field → old and new value (a change)."
    )


class ImportVerdictSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row's line in the file (the headers are 1).")
    actions = ImportActionSerializer(many=True)
    tree = ImportVerdictSerializer(help_text="The tree rules' verdict on the row's path.")
    smart = serializers.DictField(
        child=SmartVerdictSerializer(),
        help_text="The S.M.A.R.T. verdicts of the row's KPI (only `measurable` without one).",
    )
    warnings = serializers.ListField(child=serializers.CharField())
    # A field named as a serializer's attribute: DRF's metaclass moves each declared field
    # out of the class (into _declared_fields), so the attribute stays; mypy can't see it.
    errors = serializers.DictField(  # type: ignore[assignment]  # a field: see above
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Column → messages; the row can't be imported while it has any.",
    )


class ImportTotalsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    # Fields named as a serializer's method and attribute, as in ImportRowSerializer.
    create = serializers.IntegerField(help_text="Goals and KPIs to create (or created).")  # type: ignore[assignment]
    change = serializers.IntegerField(help_text="Goals and KPIs whose fields change.")
    unchanged = serializers.IntegerField(help_text="Goals and KPIs named and left as they are.")
    errors = serializers.IntegerField(help_text="Rows with errors.")  # type: ignore[assignment]
    goals_created = serializers.IntegerField()
    kpis_created = serializers.IntegerField()


class ImportReadingSerializer(serializers.Serializer):
    applied = serializers.ChoiceField(
        choices=list(INDIVIDUAL_KPI_READINGS.items()),
        help_text="How the “Individual KPI” cells were read (the `individual_kpi` parameter).",
    )
    message = serializers.CharField(help_text="The same, in words.")


class ImportPreviewSerializer(serializers.Serializer):
    rows = ImportRowSerializer(many=True)
    totals = ImportTotalsSerializer()
    individual_kpi = ImportReadingSerializer(
        allow_null=True,
        help_text="How a sheet with an “Individual KPI” column and no “KPI” column (the "
        "article's table) was read; null for any other sheet.",
    )


class ImportResultSerializer(serializers.Serializer):
    totals = ImportTotalsSerializer()
