from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import NumberField, OrgSerializer, ProgressField
from core.numbers import display

from .models import GOAL_FIELDS, Goal, Tracked
from .progress import expected_progress


@extend_schema_field(serializers.FloatField(read_only=True))
class ExpectedField(serializers.ReadOnlyField):
    """Where a goal's or KPI's progress should be today, one decimal (SPEC §8.3): what
    its health compares progress with (a goal's reported progress, SPEC §9.3; on track
    within 10 points below it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Expected progress by today (%): health compares progress (a goal's "
            "`reported_progress`) with it.",
        )
        super().__init__(source="*", **kwargs)

    def to_representation(self, obj: Tracked) -> float:
        organization = getattr(self.parent, "organization", None)
        today = organization.today() if organization is not None else timezone.localdate()
        return display(expected_progress(today, obj.start, obj.due))


class GoalSerializer(OrgSerializer):
    progress = ProgressField()
    reported_progress = ProgressField(
        allow_null=True,
        help_text="Progress of only the KPIs and goals below that have data (%), one decimal: "
        "what health compares with `expected`; null while nothing is reported.",
    )
    expected = ExpectedField()
    weight = NumberField(required=False)

    class Meta:
        model = Goal
        fields = [
            "id",
            *GOAL_FIELDS,
            "progress",
            "reported_progress",
            "expected",
            "health",
            "copied_from",
            "updated_at",
        ]
        read_only_fields = ["health", "copied_from", "updated_at"]
        extra_kwargs = {
            "rationale": {"required": False},
            "start": {"required": False},
            "due": {"required": False},
            "state": {"required": False},
        }

    scoped_fields = ("cycle", "parent", "department", "owner")

    def get_validators(self) -> list[Any]:
        return []  # the tree rules are the service's


class AlignmentSerializer(serializers.ModelSerializer):
    progress = ProgressField()

    class Meta:
        model = Goal
        fields = ["id", "title", "level", "progress", "health", "department", "owner"]
