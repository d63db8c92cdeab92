"""What the webhooks are told of reviews (SPEC §8.4, §9.7): each review event's `data`,
described (and, for an action, built) by the serializers here; cascade/schema.py
gathers them into the delivery's `payload`."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from org.models import Member

from .models import ActionItem


class ReviewCompletedEventSerializer(serializers.Serializer):
    """`data` of `review.completed`: a check-in meeting ended (it is frozen from now on)."""

    review = serializers.IntegerField(help_text="The review's id.")
    title = serializers.CharField()
    period = serializers.CharField(help_text="2027-03 (monthly) or 2027-Q1 (quarterly).")
    goal = serializers.IntegerField(allow_null=True, help_text="Its scope: this goal's subtree.")
    department = serializers.IntegerField(
        allow_null=True, help_text="Its scope: this department's goals."
    )
    completed_at = serializers.DateTimeField()


class ActionAssignedEventSerializer(serializers.ModelSerializer):
    """`data` of `action.assigned`: an action of a review given to someone, when it is
    made and whenever it changes hands."""

    action = serializers.IntegerField(source="pk", read_only=True, help_text="The action's id.")
    review_title = serializers.CharField(source="review.title", read_only=True)
    assigned_by = serializers.SerializerMethodField(help_text="Who gave it (a member's id).")

    class Meta:
        model = ActionItem
        fields = [
            "action",
            "title",
            "owner",
            "due",
            "done",
            "review",
            "review_title",
            "item",
            "assigned_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_assigned_by(self, action: ActionItem) -> int:
        return self.context["actor"].pk


def action_assigned_data(action: ActionItem, actor: Member) -> dict[str, Any]:
    return dict(ActionAssignedEventSerializer(action, context={"actor": actor}).data)
