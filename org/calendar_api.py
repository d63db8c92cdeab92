"""API for the caller's private calendar address: /api/v1/me/calendar/ (SPEC §9.6)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from .calendar_feeds import (
    calendar_feed_of,
    calendar_feed_reset,
    calendar_feed_turn_off,
    feed_address,
)
from .drf import IsOrganizationMember
from .models import CalendarFeed


class CalendarFeedSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="Whether the person has a calendar address.")
    url = serializers.URLField(
        allow_null=True, help_text="The address over https (Google Calendar's “From URL”)."
    )
    webcal = serializers.CharField(
        allow_null=True, help_text="The same address as webcal:// (calendar apps subscribe)."
    )
    created_at = serializers.DateTimeField(allow_null=True)
    last_read_at = serializers.DateTimeField(
        allow_null=True, help_text="When a calendar app last read it (to the hour)."
    )


def _shown(feed: CalendarFeed | None) -> dict:
    if feed is None:
        return {"active": False, "url": None, "webcal": None, "created_at": None,
                "last_read_at": None}  # fmt: skip
    address = feed_address(feed)
    return {
        "active": True,
        "url": address.https,
        "webcal": address.webcal,
        "created_at": feed.created_at,
        "last_read_at": feed.last_read_at,
    }


SERVICE_TOKEN_REFUSED = (
    "A calendar address is its person's own: sign in, or use a personal token, to see or "
    "change it (a service token can't)."
)


class MyCalendarView(APIView):
    """The caller's private calendar address: their reviews and check-in deadlines as an
    iCalendar feed that calendar apps subscribe to. Whoever has the address reads it, so
    an integration's service token neither reads nor changes it."""

    permission_classes = [IsOrganizationMember]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(request, "member", None) is not None and request.member.via_token:
            raise PermissionDenied(SERVICE_TOKEN_REFUSED)

    @extend_schema(responses=CalendarFeedSerializer, summary="My calendar address")
    def get(self, request):
        return Response(CalendarFeedSerializer(_shown(calendar_feed_of(request.member))).data)

    @extend_schema(
        request=None,
        responses={201: CalendarFeedSerializer},
        summary="Make my calendar address (a new one: the old one stops working)",
    )
    def post(self, request):
        feed = calendar_feed_reset(actor=request.member)
        return Response(CalendarFeedSerializer(_shown(feed)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="Turn my calendar address off")
    def delete(self, request):
        calendar_feed_turn_off(actor=request.member)
        return Response(status=status.HTTP_204_NO_CONTENT)
