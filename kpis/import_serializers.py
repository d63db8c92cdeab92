"""The shapes of the import's preview and result in the API (for the schema: the
plan builds them as plain dicts, kpis/importing.py)."""

from __future__ import annotations

from rest_framework import serializers

from goals.models import Level

from .importing import CHANGE, CREATE, REPEAT, UNCHANGED
from .serializers import SmartVerdictSerializer


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
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Column → messages; the row can't be imported while it has any.",
    )


class ImportTotalsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    create = serializers.IntegerField(help_text="Goals and KPIs to create (or created).")
    change = serializers.IntegerField(help_text="Goals and KPIs whose fields change.")
    unchanged = serializers.IntegerField(help_text="Goals and KPIs named and left as they are.")
    errors = serializers.IntegerField(help_text="Rows with errors.")
    goals_created = serializers.IntegerField()
    kpis_created = serializers.IntegerField()


class ImportPreviewSerializer(serializers.Serializer):
    rows = ImportRowSerializer(many=True)
    totals = ImportTotalsSerializer()


class ImportResultSerializer(serializers.Serializer):
    totals = ImportTotalsSerializer()
