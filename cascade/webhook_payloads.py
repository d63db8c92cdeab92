"""The schema of a webhook delivery's `payload` (SPEC §9.7, "webhook payloads typed"):
one object per event, `{"event": "<event>", "data": {…}}`, told apart by `event` (a
oneOf with a discriminator, the `WebhookPayload` component). Each event's `data` is
described by the serializer of the app it tells of, the one that builds it. Assembled
here, above every app (org, which stores deliveries, may not import the apps above it)."""

from __future__ import annotations

import functools
import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from cycles.webhook_data import CycleClosedEventSerializer
from goals.webhook_data import (
    GoalEventSerializer,
    GoalHealthChangedEventSerializer,
    GoalStateChangedEventSerializer,
    GoalUpdatedEventSerializer,
)
from kpis.webhook_data import KpiEventSerializer, KpiUpdateRecordedEventSerializer
from org.models import PING, WebhookEvent
from org.serializers import PingEventSerializer, WebhookPayloadSerializer
from reviews.webhook_data import ActionAssignedEventSerializer, ReviewCompletedEventSerializer

# Each event's `data`: the serializer that builds (or, for the older events, describes) it.
DATA: dict[str, type[serializers.Serializer[Any]]] = {
    WebhookEvent.KPI_UPDATE_RECORDED: KpiUpdateRecordedEventSerializer,
    WebhookEvent.GOAL_HEALTH_CHANGED: GoalHealthChangedEventSerializer,
    WebhookEvent.REVIEW_COMPLETED: ReviewCompletedEventSerializer,
    WebhookEvent.GOAL_CREATED: GoalEventSerializer,
    WebhookEvent.GOAL_UPDATED: GoalUpdatedEventSerializer,
    WebhookEvent.GOAL_STATE_CHANGED: GoalStateChangedEventSerializer,
    WebhookEvent.KPI_CREATED: KpiEventSerializer,
    WebhookEvent.KPI_ARCHIVED: KpiEventSerializer,
    WebhookEvent.ACTION_ASSIGNED: ActionAssignedEventSerializer,
    WebhookEvent.CYCLE_CLOSED: CycleClosedEventSerializer,
    PING: PingEventSerializer,
}
COMPONENT = "WebhookPayload"


@functools.cache
def payload_serializers() -> dict[str, type[serializers.Serializer[Any]]]:
    """Per event, a payload serializer (`GoalCreatedPayload`, …): `event` that one
    event, `data` its shape. Made once, so each is one component."""
    made = {}  # keyed by plain strings: the schema is also rendered as YAML
    for event, data in DATA.items():
        name = "".join(word.capitalize() for word in re.split(r"[._]", event))
        made[str(event)] = type(
            f"{name}PayloadSerializer",
            (WebhookPayloadSerializer,),
            {
                "__module__": __name__,
                "__doc__": f"The payload of a `{event}` delivery.",
                "event": serializers.ChoiceField(choices=[str(event)]),
                "data": data(),
            },
        )
    return made


class WebhookPayloadSchema(OpenApiSerializerFieldExtension):
    """org.serializers.WebhookPayloadField in the schema: a `WebhookPayload` component,
    one of the events' payloads, by `event`."""

    target_class = "org.serializers.WebhookPayloadField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        refs = {
            event: auto_schema.resolve_serializer(serializer, direction).ref
            for event, serializer in payload_serializers().items()
        }
        component = ResolvedComponent(
            name=COMPONENT,
            type=ResolvedComponent.SCHEMA,
            object=COMPONENT,
            schema={
                "oneOf": list(refs.values()),
                "discriminator": {
                    "propertyName": "event",
                    "mapping": {event: ref["$ref"] for event, ref in refs.items()},
                },
                "description": "What a delivery sends (with its `id` and `created_at`): "
                "the event, and its `data`, shaped by the event.",
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
