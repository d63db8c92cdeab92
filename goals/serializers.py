from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from org.models import Department, Member
from org.serializers import scope_related

from .models import Cycle, Goal
from .progress import display


@extend_schema_field(OpenApiTypes.DOUBLE)
class ProgressField(serializers.ReadOnlyField):
    """Progress as returned everywhere: a percentage rounded to one decimal."""

    def to_representation(self, value):
        return display(value)


class CycleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cycle
        fields = ["id", "name", "start", "end", "cadence"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)

    def get_validators(self):
        return []  # the service checks the name and the dates, after permissions


class NumberField(serializers.FloatField):
    """A JSON number (or numeric text): `true` is not a number here."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class GoalSerializer(serializers.ModelSerializer):
    progress = ProgressField()
    weight = NumberField(required=False)

    class Meta:
        model = Goal
        fields = [
            "id",
            "cycle",
            "level",
            "title",
            "rationale",
            "parent",
            "department",
            "owner",
            "weight",
            "state",
            "start",
            "due",
            "progress",
            "health",
        ]
        read_only_fields = ["health"]
        extra_kwargs = {
            "rationale": {"required": False},
            "start": {"required": False},
            "due": {"required": False},
            "state": {"required": False},
        }

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            scope_related(
                self,
                organization,
                cycle=Cycle.objects.all(),
                parent=Goal.objects.all(),
                department=Department.objects.all(),
                owner=Member.objects.all(),
            )

    def get_validators(self):
        return []  # the tree rules are the service's


class TreeKpiSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unit = serializers.CharField()
    current = serializers.FloatField(allow_null=True)
    target = serializers.FloatField()
    progress = ProgressField()
    health = serializers.CharField()


class TreeNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.CharField()
    progress = ProgressField()
    health = serializers.CharField()
    kpis = TreeKpiSerializer(many=True, source="tree_kpis")
    children = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_children(self, goal):
        return TreeNodeSerializer(goal.tree_children, many=True).data


class AlignmentSerializer(serializers.ModelSerializer):
    progress = ProgressField()

    class Meta:
        model = Goal
        fields = ["id", "title", "level", "progress", "health", "department", "owner"]
