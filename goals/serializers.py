from __future__ import annotations

from rest_framework import serializers

from core.api import NumberField, OrgSerializer, ProgressField

from .models import GOAL_FIELDS, Cycle, Goal


class CycleSerializer(OrgSerializer):
    class Meta:
        model = Cycle
        fields = ["id", "name", "start", "end", "cadence"]

    def get_validators(self):
        return []  # the service checks the name and the dates, after permissions


class GoalSerializer(OrgSerializer):
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

    scoped_fields = ("cycle", "parent", "department", "owner")

    def get_validators(self):
        return []  # the tree rules are the service's


class AlignmentSerializer(serializers.ModelSerializer):
    progress = ProgressField()

    class Meta:
        model = Goal
        fields = ["id", "title", "level", "progress", "health", "department", "owner"]
