"""A person's private calendar address (SPEC §9.6): `/calendar/<key>.ics`, read by
their calendar app without signing in, so the key is the only secret. It is made with
`secrets.token_urlsafe(32)` (256 bits), kept encrypted (shown again to its person on the
Notifications page) and looked up by its SHA-256 (`key_hash`). Resetting makes a new
key — the old address answers 404 from then on — and turning it off deletes it. Each
of these is in the audit log, never the key."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.record import record

from .models import CalendarFeed, Member

READ_MARK_EVERY = dt.timedelta(hours=1)  # last_read_at: at most one write an hour


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class FeedAddress:
    """Where a calendar app subscribes: `webcal://…` (apps open it as a subscription)
    and the same address over https (what Google Calendar's "From URL" takes)."""

    https: str
    webcal: str


def feed_address(feed: CalendarFeed) -> FeedAddress:
    url = settings.SITE_URL + reverse("calendar-feed", args=[feed.key])
    return FeedAddress(https=url, webcal="webcal://" + url.split("://", 1)[1])


def calendar_feed_of(member: Member) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(member=member).first()


def _new_key(feed: CalendarFeed) -> None:
    feed.key = secrets.token_urlsafe(32)
    feed.key_hash = key_hash(feed.key)


@transaction.atomic
def calendar_feed_create(*, actor: Member) -> CalendarFeed:
    """The person's calendar address: made now, or the one they have (asking twice, say
    from two tabs, makes one)."""
    feed = CalendarFeed.objects.select_for_update().filter(member=actor).first()
    if feed is not None:
        return feed
    feed = CalendarFeed(member=actor)
    _new_key(feed)
    feed.save()
    record(actor, "calendar_feed.created", feed, label=f"Calendar of {actor.display_name}")
    return feed


@transaction.atomic
def calendar_feed_reset(*, actor: Member) -> CalendarFeed:
    """A new address for the person's calendar; the old one stops working at once."""
    feed = CalendarFeed.objects.select_for_update().filter(member=actor).first()
    if feed is None:
        return calendar_feed_create(actor=actor)
    _new_key(feed)
    feed.created_at = timezone.now()
    feed.last_read_at = None
    feed.save()
    record(actor, "calendar_feed.reset", feed, label=f"Calendar of {actor.display_name}")
    return feed


@transaction.atomic
def calendar_feed_turn_off(*, actor: Member) -> bool:
    """No calendar address any more (the old one answers 404); False if there was none."""
    feed = CalendarFeed.objects.filter(member=actor).first()
    if feed is None:
        return False
    feed_id = feed.pk
    feed.delete()
    record(
        actor,
        "calendar_feed.deleted",
        object_type="calendarfeed",
        object_id=feed_id,
        label=f"Calendar of {actor.display_name}",
    )
    return True


def calendar_feed_for_key(key: str) -> CalendarFeed | None:
    """The feed of an address's key with its person (user and organization), or None:
    an unknown, reset or turned-off key, or a person no longer active. One query."""
    if not key or len(key) > 200:
        return None
    return (
        CalendarFeed.objects.select_related("member__user", "member__organization")
        .filter(key_hash=key_hash(key), member__is_active=True, member__user__is_active=True)
        .first()
    )


def calendar_feed_read(feed: CalendarFeed) -> None:
    """Note that the feed was read (shown on the Notifications page): a calendar app
    polls every few minutes, so at most one write an hour."""
    now = timezone.now()
    if feed.last_read_at is None or now - feed.last_read_at >= READ_MARK_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=now)
        feed.last_read_at = now
