"""Reading the audit log: one organization's entries, newest first, filtered by who
acted (`actor`, a member's id), what it was about (`object`: a type, or a type and an
id, as `goal` or `goal:42`) and since when (`since`: a day or an instant). The page
and the API read the same filters with the same messages."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from core.dates import out_of_range

from .models import Entry

NOT_AN_ID = "Give a person's id, a whole number such as 42."
NOT_AN_OBJECT = "Give a kind of object, or a kind and an id: goal, or goal:42."
NOT_A_MOMENT = "Give a day as YYYY-MM-DD, or an instant as 2027-03-15T09:00:00Z."
OBJECT = re.compile(r"(?P<type>[a-z][a-z_]{0,31})(?::(?P<id>[A-Za-z0-9_.@+-]{1,64}))?")
LARGEST_ID = 2**63 - 1


@dataclass(frozen=True)
class Filters:
    """What a reader asked for; None: not asked."""

    actor_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: dt.datetime | None = None


def read_filters(params: Mapping[str, str], timezone: str) -> tuple[Filters, dict[str, list[str]]]:
    """The filters given in `params` (a query string), and the messages of the bad
    ones by name. A day, or an instant without an offset, is the organization's
    (`timezone`); an empty value asks nothing."""
    errors: dict[str, list[str]] = {}
    actor_id = object_type = object_id = since = None
    raw = (params.get("actor") or "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= LARGEST_ID:
            actor_id = int(raw)
        else:
            errors["actor"] = [NOT_AN_ID]
    raw = (params.get("object") or "").strip()
    if raw:
        found = OBJECT.fullmatch(raw)
        if found is None:
            errors["object"] = [NOT_AN_OBJECT]
        else:
            object_type, object_id = found["type"], found["id"]
    raw = (params.get("since") or "").strip()
    if raw:
        since, message = _moment(raw, zoneinfo.ZoneInfo(timezone))
        if message:
            errors["since"] = [message]
    return Filters(actor_id, object_type, object_id, since), errors


def _moment(raw: str, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime | None, str | None]:
    """A day (its start) or an instant, in `zone` unless it says its offset; or the
    message saying why not."""
    moment: dt.datetime | None = None
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
        else:
            # A `+` in a query string arrives as a space: put it back in the offset.
            moment = parse_datetime(raw) or parse_datetime(raw.replace(" ", "+"))
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        return None, NOT_A_MOMENT
    if out_of_range(moment):
        return None, out_of_range(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment, None


def entries_of(organization_id: int, filters: Filters) -> QuerySet[Entry]:
    """The organization's entries that match, newest first (one query, on an index)."""
    entries = Entry.objects.filter(organization_id=organization_id)
    if filters.actor_id is not None:
        entries = entries.filter(actor_id=filters.actor_id)
    if filters.object_type is not None:
        entries = entries.filter(object_type=filters.object_type)
    if filters.object_id is not None:
        entries = entries.filter(object_id=filters.object_id)
    if filters.since is not None:
        entries = entries.filter(at__gte=filters.since)
    return entries.order_by("-at", "-id")
