from __future__ import annotations

from rest_framework import serializers

from core.api import NumberField, ProgressField
from org.models import Department, Member
from org.serializers import scope_related

from .models import GOAL_FIELDS, Cycle, Goal


class CycleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cycle
        fields = ["id", "name", "start", "end", "cadence"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)

    def get_validators(self):
        return []  # the service checks the name and the dates, after permissions


class GoalSerializer(serializers.ModelSerializer):
    progress = ProgressField()
    weight = NumberField(required=False)

    class Meta:
        model = Goal
        fields = ["id", *GOAL_FIELDS, "progress", "health"]
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


class AlignmentSerializer(serializers.ModelSerializer):
    progress = ProgressField()

    class Meta:
        model = Goal
        fields = ["id", "title", "level", "progress", "health", "department", "owner"]
