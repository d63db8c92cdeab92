"""What the webhooks are told of a cycle (SPEC §9.7): `cycle.closed`'s `data`, built by
the serializer that also describes it in the API schema (cascade/schema.py gathers the
events into the delivery's `payload`); and the goals and KPIs a cycle-wide write (an
import, a roll-over) made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework import serializers

from goals.models import Goal
from goals.webhook_data import goal_created_data
from kpis.models import Kpi
from kpis.webhook_data import kpi_event_data
from org.models import Member, WebhookEvent
from org.webhooks import emit, webhooks_read_once

from .models import Cycle


class CycleClosedEventSerializer(serializers.ModelSerializer):
    """`data` of `cycle.closed`: its goals, KPIs and values are read-only until it is
    reopened."""

    cycle = serializers.IntegerField(source="pk", read_only=True, help_text="The cycle's id.")
    closed_by = serializers.SerializerMethodField(help_text="Who closed it (a member's id).")

    class Meta:
        model = Cycle
        fields = [
            "cycle",
            "name",
            "start",
            "end",
            "cadence",
            "is_current",
            "closed_by",
            "updated_at",
        ]
        read_only_fields = fields

    def get_closed_by(self, cycle: Cycle) -> int:
        return self.context["actor"].pk


def cycle_closed_data(cycle: Cycle, actor: Member) -> dict[str, Any]:
    return dict(CycleClosedEventSerializer(cycle, context={"actor": actor}).data)


def tell_created(organization_id: int, goals: Sequence[Goal], kpis: Sequence[Kpi]) -> None:
    """`goal.created` and `kpi.created` for each goal and KPI an import or a roll-over
    made, as the write left them: read again after its roll-up (one read a kind, however
    many), in the write's transaction like every event."""
    with webhooks_read_once():
        if goals:
            made = Goal.objects.filter(pk__in=[goal.pk for goal in goals]).order_by("id")
            emit(organization_id, WebhookEvent.GOAL_CREATED, *map(goal_created_data, made))
        if kpis:
            made_kpis = Kpi.objects.filter(pk__in=[kpi.pk for kpi in kpis]).order_by("id")
            emit(organization_id, WebhookEvent.KPI_CREATED, *map(kpi_event_data, made_kpis))
