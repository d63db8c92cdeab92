from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from core.api import ProgressField
from goals.models import Cycle, Goal
from org.models import Department, Member
from org.serializers import scope_related

from .models import ActionItem, Assessment, Review, ReviewItem


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id",
            "cycle",
            "title",
            "goal",
            "department",
            "period",
            "scheduled_for",
            "facilitator",
            "state",
            "started_at",
            "completed_at",
        ]
        read_only_fields = ["state", "started_at", "completed_at"]
        extra_kwargs = {
            "facilitator": {"required": False},
            "goal": {"required": False},
            "department": {"required": False},
        }

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            scope_related(
                self,
                organization,
                cycle=Cycle.objects.all(),
                goal=Goal.objects.all(),
                department=Department.objects.all(),
                facilitator=Member.objects.all(),
            )
            # SPEC §4: a time without an offset is in the organization's time zone.
            self.fields["scheduled_for"].timezone = zoneinfo.ZoneInfo(organization.timezone)

    def get_validators(self):
        return []


class ReviewItemSerializer(serializers.ModelSerializer):
    progress_snapshot = ProgressField()
    progress = ProgressField(source="goal.progress")
    health = serializers.CharField(source="goal.health", read_only=True)
    assessment = serializers.ChoiceField(
        choices=Assessment.choices, allow_blank=True, required=False
    )

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "goal",
            "progress_snapshot",
            "health_snapshot",
            "progress",
            "health",
            "assessment",
            "win",
            "notes",
            "decision",
        ]
        read_only_fields = ["goal", "health_snapshot"]
        extra_kwargs = {"notes": {"max_length": 10000}, "decision": {"max_length": 10000}}

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)


class ActionItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionItem
        fields = ["id", "title", "owner", "due", "done", "item"]
        extra_kwargs = {"done": {"required": False}, "item": {"required": False}}

    def __init__(self, *args, organization=None, review=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organization is not None:
            scope_related(self, organization, owner=Member.objects.all())
        if review is not None and "item" in self.fields:
            self.fields["item"].queryset = ReviewItem.objects.filter(review=review)
