from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from core.api import OrgSerializer, ProgressField

from .models import ActionItem, Assessment, Review, ReviewItem


class ReviewSerializer(OrgSerializer):
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
            "cancelled_at",
        ]
        read_only_fields = ["state", "started_at", "completed_at", "cancelled_at"]
        extra_kwargs = {
            "facilitator": {"required": False},
            "goal": {"required": False},
            "department": {"required": False},
        }

    scoped_fields = ("cycle", "goal", "department", "facilitator")

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        if organization is not None:
            # SPEC §4: a time without an offset is in the organization's time zone.
            self.fields["scheduled_for"].timezone = zoneinfo.ZoneInfo(organization.timezone)

    def get_validators(self):
        return []


class ReviewItemSerializer(OrgSerializer):
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


class ActionItemSerializer(OrgSerializer):
    class Meta:
        model = ActionItem
        fields = ["id", "title", "owner", "due", "done", "item"]
        extra_kwargs = {"done": {"required": False}, "item": {"required": False}}

    scoped_fields = ("owner",)

    def __init__(self, *args, organization=None, review=None, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        if review is not None and "item" in self.fields:
            self.fields["item"].queryset = ReviewItem.objects.filter(review=review)
