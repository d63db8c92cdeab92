"""Reviews in people's calendars (SPEC §9.6), written with `icalendar` (RFC 5545):

- `invitation(review, member, method)`: the calendar object an invitation email carries
  (iTIP, RFC 5546): METHOD:REQUEST for an invitation or an update, METHOD:CANCEL for a
  cancellation (or for someone the review no longer asks). One VEVENT whose UID is the
  review's for good (`uid`), and whose SEQUENCE is the review's (`Review.sequence`,
  raised by each change people must see), so a calendar replaces its copy with the
  newer one and never the other way round.
- `feed(member)`: the person's published calendar (no METHOD: a calendar app subscribes
  to it and reads it again now and then): the reviews they take part in from 90 days
  back on, and one all-day event per check-in deadline ahead — the last day of each
  period in which they own active KPIs. A cancelled review is left out: an app
  re-reading the feed drops what is no longer in it, and the cancellation email is what
  updates an invitation someone accepted into their own calendar.

Times are written in UTC (`…Z`): every calendar shows them in its own zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from icalendar import Calendar, Event, vCalAddress, vDuration

from core.periods import Period, period_containing
from cycles.models import CycleState
from goals.models import GoalState
from kpis.models import Kpi, KpiState
from org.models import Member

from . import selectors
from .models import InvitationMethod, Review

PRODID = "-//Cascade//Check-in reviews//EN"
PAST = dt.timedelta(days=90)  # the feed's reviews: from this long ago on, and all ahead
REFRESH = dt.timedelta(hours=1)  # how often a subscribed app is asked to read the feed again


def review_minutes() -> dt.timedelta:
    """How long a review lasts in calendars (REVIEW_MINUTES, default 60)."""
    return dt.timedelta(minutes=settings.REVIEW_MINUTES)


def site_domain() -> str:
    """The host of SITE_URL: the right-hand side of every UID this installation writes."""
    return urlsplit(settings.SITE_URL).hostname or "cascade.invalid"


def _tag(what: str, key: str) -> str:
    """A short digest keyed by SECRET_KEY: two installations on one domain write
    different UIDs, and a UID tells nothing a guess could reproduce."""
    return salted_hmac(f"reviews.calendar.{what}", key).hexdigest()[:12]


def uid(review: Review) -> str:
    """The review's UID, the same in every invitation, update, cancellation and feed:
    `review-42-3f9c0a1b2d4e@cascade.example.com`."""
    return f"review-{review.pk}-{_tag('review', str(review.pk))}@{site_domain()}"


def review_url(review: Review) -> str:
    return settings.SITE_URL + reverse("review-detail", args=[review.pk])


def _calendar(method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _address(name: str, email: str, **params: str) -> vCalAddress:
    """A CAL-ADDRESS (`mailto:`) with its common name; a double quote cannot stand in a
    parameter value (RFC 5545 §3.2), so a name's own become single ones."""
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = name.replace('"', "'")
    for key, value in params.items():
        address.params[key.replace("_", "-")] = value
    return address


def _sender() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or f"cascade@{site_domain()}"


def _review_event(review: Review, *, status: str) -> Event:
    """The VEVENT every calendar object of `review` shares: UID, SEQUENCE, times, title
    and what the meeting is about."""
    event = Event()
    start = review.scheduled_for.astimezone(dt.UTC)
    event.add("uid", uid(review))
    event.add("sequence", review.sequence)
    event.add("dtstamp", timezone.now().astimezone(dt.UTC).replace(microsecond=0))
    event.add("dtstart", start)
    event.add("dtend", start + review_minutes())
    event.add("summary", review.title)
    event.add("description", description(review))
    event.add("url", review_url(review))
    event.add("status", status)
    event.add("transp", "OPAQUE")
    return event


def description(review: Review) -> str:
    """The event's text: scope, period, facilitator and where to open it."""
    return (
        f"{review.scope_label}\n"
        f"Period: {review.period}\n"
        f"Facilitator: {review.facilitator.display_name}\n\n"
        f"Open it in Cascade: {review_url(review)}"
    )


def invitation(review: Review, member: Member, method: str) -> bytes:
    """The .ics an invitation email to `member` carries: METHOD:REQUEST (an invitation
    or an update, STATUS:CONFIRMED) or METHOD:CANCEL (STATUS:CANCELLED), at the review's
    SEQUENCE. The facilitator organizes (their address, or the sender's when they have
    none); `member` is the one attendee named, and no reply is asked (RSVP=FALSE):
    Cascade reads no answers."""
    cancel = method == InvitationMethod.CANCEL
    calendar = _calendar(InvitationMethod.CANCEL if cancel else InvitationMethod.REQUEST)
    event = _review_event(review, status="CANCELLED" if cancel else "CONFIRMED")
    facilitator = review.facilitator
    event.add("organizer", _address(facilitator.display_name, facilitator.user.email or _sender()))
    event.add(
        "attendee",
        _address(
            member.display_name,
            member.user.email,
            role="REQ-PARTICIPANT",
            partstat="NEEDS-ACTION",
            rsvp="FALSE",
            cutype="INDIVIDUAL",
        ),
    )
    calendar.add_component(event)
    return calendar.to_ical()


# -- The feed ---------------------------------------------------------------------------


@dataclass
class Deadline:
    """A check-in deadline: the last day of `period`, and the person's KPIs that owe a
    value for it (`recorded`: how many of them have one dated in it already)."""

    period: Period
    kpis: list[Kpi] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return sum(
            1
            for kpi in self.kpis
            if kpi.last_update_on and self.period.start <= kpi.last_update_on <= self.period.end
        )

    @property
    def title(self) -> str:
        count = len(self.kpis)
        return f"Check-in due: {count} KPI{'' if count == 1 else 's'} ({self.period.key})"


def _periods(cadence: str, start: dt.date, end: dt.date, today: dt.date) -> Iterable[Period]:
    """The periods of a cycle (`start`…`end`) from the one holding today (or the
    cycle's first, if it is ahead) to its last."""
    period = period_containing(cadence, max(start, today))
    while period.start <= end:
        yield period
        period = period_containing(cadence, period.end + dt.timedelta(days=1))


def checkin_deadlines(member: Member, today: dt.date) -> list[Deadline]:
    """Each period, this one and those ahead in the person's open cycles, in which they
    own active KPIs (on active goals) that owe a value — started by the period's last
    day; one query. Periods of the same key (two monthly cycles) are one deadline."""
    kpis = (
        Kpi.objects.filter(
            owner=member,
            state=KpiState.ACTIVE,
            goal__state=GoalState.ACTIVE,
            goal__cycle__state=CycleState.OPEN,
        )
        .select_related("goal__cycle")
        .order_by("name", "id")
    )
    found: dict[str, Deadline] = {}
    for kpi in kpis:
        cycle = kpi.goal.cycle
        for period in _periods(cycle.cadence, cycle.start, cycle.end, today):
            if kpi.start <= period.end:
                found.setdefault(period.key, Deadline(period)).kpis.append(kpi)
    return sorted(found.values(), key=lambda d: (d.period.end, d.period.key))


def deadline_uid(member: Member, deadline: Deadline) -> str:
    key = f"{member.pk}.{deadline.period.key}"
    return f"checkin-{deadline.period.key}-{_tag('checkin', key)}@{site_domain()}"


def _deadline_event(member: Member, deadline: Deadline) -> Event:
    event = Event()
    event.add("uid", deadline_uid(member, deadline))
    event.add("sequence", 0)  # a feed is read anew each time: no versions to order
    event.add("dtstamp", timezone.now().astimezone(dt.UTC).replace(microsecond=0))
    event.add("dtstart", deadline.period.end)
    event.add("dtend", deadline.period.end + dt.timedelta(days=1))
    event.add("summary", deadline.title)
    names = "\n".join(f"- {kpi.name} ({kpi.goal.title})" for kpi in deadline.kpis)
    event.add(
        "description",
        f"The last day to record a value for {deadline.period.key} "
        f"({deadline.recorded} of {len(deadline.kpis)} recorded so far):\n{names}\n\n"
        f"Record them in Cascade: {settings.SITE_URL}{reverse('my-work')}",
    )
    event.add("url", settings.SITE_URL + reverse("my-work"))
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a deadline takes no time of the day
    return event


def feed(member: Member) -> bytes:
    """The person's calendar (`member` with its user and organization loaded): their
    reviews (`selectors.reviews_taking_part`) scheduled from 90 days ago on, and their
    check-in deadlines from today on, in a fixed number of queries whatever their
    number."""
    organization = member.organization
    calendar = _calendar()
    calendar.add("x-wr-calname", f"Cascade – {member.display_name}")
    calendar.add("x-wr-caldesc", f"Check-in reviews and deadlines of {member.display_name}")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))  # Outlook's name for it
    for review in selectors.reviews_taking_part(member, timezone.now() - PAST):
        calendar.add_component(_review_event(review, status="CONFIRMED"))
    today = timezone.now().astimezone(member.zone(organization.timezone)).date()
    for deadline in checkin_deadlines(member, today):
        calendar.add_component(_deadline_event(member, deadline))
    return calendar.to_ical()
