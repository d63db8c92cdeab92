"""What the webhooks are told of a goal (SPEC §8.4, §9.7): each goal event's `data`,
built by the serializer that also describes it in the API schema (cascade/schema.py
gathers them into the delivery's `payload`), so the two cannot differ."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api import ProgressField

from .models import GOAL_FIELDS, Goal, GoalState, Health


class GoalEventSerializer(serializers.ModelSerializer):
    """`data` of `goal.created`: the goal as the write left it (its fields as the API
    gives them, its roll-up figures, when it last changed)."""

    goal = serializers.IntegerField(source="pk", read_only=True, help_text="The goal's id.")
    progress = ProgressField()
    reported_progress = ProgressField(allow_null=True)

    class Meta:
        model = Goal
        fields = ["goal", *GOAL_FIELDS, "progress", "reported_progress", "health", "updated_at"]
        read_only_fields = fields


class GoalUpdatedEventSerializer(GoalEventSerializer):
    """`data` of `goal.updated`: the goal after the change, and the names of the fields
    it changed (a change of `state` also sends `goal.state_changed`)."""

    changed = serializers.SerializerMethodField()

    class Meta(GoalEventSerializer.Meta):
        fields = [*GoalEventSerializer.Meta.fields, "changed"]
        read_only_fields = fields

    def get_changed(self, goal: Goal) -> list[str]:
        return sorted(self.context["changed"])


class GoalStateChangedEventSerializer(serializers.Serializer):
    """`data` of `goal.state_changed`: a goal marked done, cancelled (removed while
    something hangs on it, or by hand) or active again."""

    goal = serializers.IntegerField(help_text="The goal's id.")
    external_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    updated_at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # `from` is a keyword: added here, not as an attribute
        fields["from"] = serializers.ChoiceField(GoalState.choices, help_text="Its state before.")
        fields["to"] = serializers.ChoiceField(GoalState.choices, help_text="Its state now.")
        return fields


class GoalHealthChangedEventSerializer(serializers.Serializer):
    """`data` of `goal.health_changed`: the roll-up moved a goal's health (one event per
    goal that moved, however many a single value moved)."""

    goal = serializers.IntegerField(help_text="The goal's id.")
    progress = serializers.FloatField(help_text="Its progress now (%), one decimal.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.ChoiceField(Health.choices, help_text="Its health before.")
        fields["to"] = serializers.ChoiceField(Health.choices, help_text="Its health now.")
        return fields


def goal_created_data(goal: Goal) -> dict[str, Any]:
    return dict(GoalEventSerializer(goal).data)


def goal_updated_data(goal: Goal, changed: set[str] | dict[str, Any]) -> dict[str, Any]:
    return dict(GoalUpdatedEventSerializer(goal, context={"changed": changed}).data)


def goal_state_changed_data(goal: Goal, before: str) -> dict[str, Any]:
    fields = {"goal": goal.pk, "external_id": goal.external_id, "title": goal.title}
    moved = {"updated_at": goal.updated_at, "from": before, "to": goal.state}
    return dict(GoalStateChangedEventSerializer({**fields, **moved}).data)
