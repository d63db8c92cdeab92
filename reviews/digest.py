"""The weekly digest (SPEC §9.6): on Monday morning each person gets one email with
their goals and KPIs and how they moved since last week, what is due this period, their
open action items and the reviews of the coming week.

When. A beat task every 15 minutes (`weekly_digests_send_due`):
1. Finds the active people whose own time (Member.timezone, else the organization's) is
   Monday, DIGEST_HOUR or later, and who have no digest for that ISO week yet.
2. Claims one `WeeklyDigest` row per person and week (bulk insert, conflicts ignored:
   the unique constraint lets one run win each, however often or concurrently the job
   runs); `email_due` says whether they take it (`Member.wants_digest`).
3. Sends the emails owed for the current weeks — these, and any an earlier run left
   owed (a mail server down, a worker killed) once their backoff has passed — in
   batches (core.email.send_owed_batch: a fixed number of queries per batch, one SMTP
   connection, at least once, the same Message-ID on every try of a row).

What. Computed when it is sent, from the database, as of the person's today (`Person`),
for a whole batch of people in a fixed number of queries (`digest_batch`):
a. their goals and KPIs (they own them; active, in an open cycle that holds today),
   each with its progress now, the change since 7 days ago (now − the history point
   standing then, cycles/history.py; "new" when none stood then) and its health; a
   KPI's latest value and unit;
b. what is due this period: their KPIs that owe a value (kpis.reminders.owes_values)
   and have none in the current period of their cycle's cadence (`checked_in`);
c. their open action items: due date (overdue flagged) and the review they come from;
d. the scheduled reviews of the next 7 days they take part in (reviews.selectors:
   `participants`), at their local time.
Someone with none of these gets no email: there is nothing to tell (the row is marked
not needed).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import textwrap
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from core.email import FastEmail, send_owed_batch
from core.errors import fit
from core.numbers import compact, display
from core.periods import Cadence, period_containing
from cycles.history import progress_standing_on
from cycles.leader import WEEK, trend
from cycles.models import CycleState
from goals.models import Goal, GoalState, Health, Level
from kpis.models import Kpi, KpiState
from kpis.reminders import checked_in, owes_values
from org.models import Member

from .models import ActionItem, Review, ReviewState, WeeklyDigest
from .selectors import participants_among

log = logging.getLogger(__name__)

CLAIMS = 2000  # digests claimed per INSERT
SHOWN = 20  # lines a section shows at most; the rest are counted ("and 5 more")
TEXT_WIDTH = 76  # the text part's lines, indent included
SUBJECT_LENGTH = 150
BAR = 20  # characters of the text part's progress bar
HEALTH_LABELS = dict(Health.choices)
# Health as a word on a tint (never colour alone): text colour, background.
HEALTH_COLOURS = {
    Health.ON_TRACK: ("#1b5e2b", "#e3f3e7"),
    Health.AT_RISK: ("#7a4a00", "#fff1d0"),
    Health.OFF_TRACK: ("#9b1c23", "#fde5e7"),
    Health.DONE: ("#1d4ea3", "#e4ecfb"),
}
NEUTRAL = ("#404958", "#eceff4")
CHANGE_COLOURS = {"up": "#1b5e2b", "down": "#9b1c23"}  # beside ▲ and ▼, never alone


def week_of(day: dt.date) -> str:
    """The ISO week a day falls in, as the rows keep it: "2027-W11"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02}"


# --- When: claiming and sending ---------------------------------------------------


def weekly_digests_send_due(*, now: dt.datetime | None = None) -> int:
    """Claim the digests due now (`digests_claim`) and send every digest owed
    (`digests_send_owed`); returns how many emails went."""
    now = now or timezone.now()
    digests_claim(now)
    return digests_send_owed(now)


def digests_claim(now: dt.datetime) -> int:
    """Claim this week's digest of every active person whose Monday DIGEST_HOUR has
    come and who has none yet; returns how many people were found (those another run
    claimed meanwhile are skipped by the constraint). One query when it is nobody's
    Monday morning."""
    weeks = _monday_zones(now)
    found = 0
    for week, zones in weeks.items():
        people = (
            Member.objects.filter(is_active=True)
            .filter(
                Q(timezone__in=zones) | Q(timezone="", organization__timezone__in=zones),
            )
            .exclude(Exists(WeeklyDigest.objects.filter(member=OuterRef("pk"), week=week)))
            .order_by()
            .values_list("id", "digest_emails", "user__email")
        )
        run = uuid.uuid4()
        for chunk in itertools.batched(people.iterator(chunk_size=CLAIMS), CLAIMS):
            WeeklyDigest.objects.bulk_create(
                [
                    WeeklyDigest(member_id=pk, week=week, run=run, email_due=bool(wants and to))
                    for pk, wants, to in chunk
                ],
                ignore_conflicts=True,
            )
            found += len(chunk)
    return found


def _monday_zones(now: dt.datetime) -> dict[str, list[str]]:
    """{ISO week: the time zones in use (people's own and organizations') where it is
    Monday, DIGEST_HOUR or later, now}. At one instant every zone where it is Monday
    has the same Monday, so there is one week at most."""
    in_use = set()
    for own, organizations in (
        Member.objects.filter(is_active=True)
        .order_by()
        .values_list("timezone", "organization__timezone")
        .distinct()
    ):
        in_use.add(own or organizations)
    weeks: dict[str, list[str]] = defaultdict(list)
    for name in sorted(in_use):
        try:
            local = now.astimezone(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            log.error("Weekly digests: “%s” is not a time zone; its people get none", name)
            continue
        if local.weekday() == 0 and local.hour >= settings.DIGEST_HOUR:
            weeks[week_of(local.date())].append(name)
    return weeks


def digests_send_owed(now: dt.datetime) -> int:
    """Send the digests still owed for the current weeks (wherever it is now: a
    Monday's digest may still go out later that week, never after), batch by batch."""
    weeks = {week_of((now + dt.timedelta(hours=hours)).date()) for hours in (-12, 14)}
    owed = WeeklyDigest.objects.filter(week__in=weeks, email_due=True).select_related(
        "member__user", "member__organization"
    )
    return send_owed_batch(
        owed,
        lambda rows: digest_batch(rows, now),
        "weekly digest",
        batch_size=settings.DIGEST_BATCH_SIZE,
    )


# --- What: the figures of a batch of people -------------------------------------------


class Shown:
    """What the digest's templates show. Django's templates look `obj[name]` up before
    `getattr(obj, name)`: answering it spares an exception on every lookup, and the
    digest is rendered ten thousand times a Monday. Figures worked out for display are
    cached properties: once per digest, for its text and its HTML."""

    def __getitem__(self, name: str) -> object:
        return getattr(self, name)


@dataclass(frozen=True)
class Person:
    """Whom a digest is for, and their today (in their own time zone)."""

    member: Member
    zone: zoneinfo.ZoneInfo
    today: dt.date


@dataclass(eq=False)
class Line(Shown):
    """A goal or KPI as the digest shows it."""

    title: str
    url: str
    context: str  # "Individual goal · FY 2027", or the KPI's goal
    progress: float
    change: float | None  # points since 7 days ago; None: no data then
    has_data: bool  # a value stands (for a goal: at or below it)
    health: str
    value: str = ""  # a KPI's latest value with its unit

    @functools.cached_property
    def progress_text(self) -> str:
        return f"{display(self.progress):.1f}%"

    @functools.cached_property
    def change_text(self) -> str:
        if self.change is not None:
            return f"{trend(self.change).text} this week"
        return "new this week" if self.has_data else "no data yet"

    @functools.cached_property
    def direction(self) -> str:
        return "new" if self.change is None else trend(self.change).direction

    @functools.cached_property
    def health_label(self) -> str:
        return HEALTH_LABELS.get(self.health, self.health)

    @functools.cached_property
    def health_style(self) -> str:
        """The colours of the health's badge (CSS)."""
        text, background = HEALTH_COLOURS.get(Health(self.health), NEUTRAL)
        return f"background:{background};color:{text}"

    @functools.cached_property
    def change_colour(self) -> str:
        return CHANGE_COLOURS.get(self.direction, NEUTRAL[0])

    @functools.cached_property
    def filled(self) -> int:
        """The bar's filled share, in whole percent (0–100)."""
        return min(max(round(self.progress), 0), 100)

    @functools.cached_property
    def unfilled(self) -> int:
        return 100 - self.filled

    @functools.cached_property
    def text_figures(self) -> str:
        """The text part's progress line: "  37.5% [########............]  ▲ +12.5 pts…"."""
        full = round(self.filled * BAR / 100)
        bar = "[" + "#" * full + "." * (BAR - full) + "]"
        return f"{self.progress_text:>6} {bar}  {self.change_text}"

    @functools.cached_property
    def text_health(self) -> str:
        latest = f"Latest: {self.value} · " if self.value and self.has_data else ""
        return f"{latest}Health: {self.health_label}"

    @functools.cached_property
    def text_title(self) -> str:
        return _wrap(self.title, indent="")

    @functools.cached_property
    def text_context(self) -> str:
        return _wrap(self.context, indent="  ")


@dataclass(eq=False)
class Due(Shown):
    """A KPI without a value in its current period."""

    name: str
    url: str
    goal: str
    period: str
    last_day: str

    @functools.cached_property
    def text(self) -> str:
        return _wrap(
            f"- {self.name} ({self.goal}): no value for {self.period} yet, due by {self.last_day}",
            indent="  ",
        )


@dataclass(eq=False)
class Action(Shown):
    title: str
    url: str
    due: str
    overdue: bool
    review: str

    @functools.cached_property
    def text(self) -> str:
        late = " (OVERDUE)" if self.overdue else ""
        return _wrap(f"- {self.title}: due {self.due}{late}, from “{self.review}”", indent="  ")


@dataclass(eq=False)
class Meeting(Shown):
    """An upcoming review."""

    title: str
    url: str
    when: str  # in the person's time zone
    scope: str

    @functools.cached_property
    def text(self) -> str:
        return _wrap(f"- {self.title}: {self.when} ({self.scope})", indent="  ")


@dataclass(eq=False)
class Section[T](Shown):
    """The lines of one part of the digest, SHOWN at most, and how many more there are."""

    lines: list[T] = field(default_factory=list)
    total: int = 0

    def add(self, line: T) -> None:
        self.total += 1
        if len(self.lines) < SHOWN:
            self.lines.append(line)

    @property
    def more(self) -> int:
        return self.total - len(self.lines)

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass(eq=False)
class Digest(Shown):
    """One person's week."""

    person: Person
    goals: Section[Line] = field(default_factory=Section)
    kpis: Section[Line] = field(default_factory=Section)
    due: Section[Due] = field(default_factory=Section)
    actions: Section[Action] = field(default_factory=Section)
    reviews: Section[Meeting] = field(default_factory=Section)

    @functools.cached_property
    def empty(self) -> bool:
        return not (self.goals or self.kpis or self.due or self.actions or self.reviews)

    @functools.cached_property
    def counts(self) -> list[str]:
        """What the week holds, in short: "3 goals", "2 check-ins due", "1 action"… (their
        KPIs only for someone who owns no goal: a subject fits on one line)."""
        parts = [
            (self.goals.total, "goal", "goals"),
            (0 if self.goals else self.kpis.total, "KPI", "KPIs"),
            (self.due.total, "check-in due", "check-ins due"),
            (self.actions.total, "action", "actions"),
            (self.reviews.total, "review", "reviews"),
        ]
        return [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]

    @functools.cached_property
    def subject(self) -> str:
        return fit(f"Your week in Cascade: {', '.join(self.counts)}", SUBJECT_LENGTH)

    @functools.cached_property
    def week_label(self) -> str:
        monday = self.person.today - dt.timedelta(days=self.person.today.weekday())
        return f"Week of {_day(monday, None)}, {monday.year}"


class GoalRow(NamedTuple):
    id: int
    title: str
    level: str
    owner_id: int
    progress: float
    health: str
    has_data: bool
    cycle: str
    cycle_start: dt.date
    cycle_end: dt.date


class KpiRow(NamedTuple):
    id: int
    name: str
    unit: str
    owner_id: int
    current: float | None
    progress: float
    health: str
    start: dt.date
    goal_id: int
    goal: str
    cadence: str
    cycle_start: dt.date
    cycle_end: dt.date


class ActionRow(NamedTuple):
    id: int
    title: str
    due: dt.date
    owner_id: int
    review_id: int
    review: str


def digest_batch(
    rows: list[WeeklyDigest], now: dt.datetime
) -> Callable[[WeeklyDigest], EmailMultiAlternatives | None]:
    """Prepare a batch: the figures of all its people, read at once (`digests_of`: a
    fixed number of queries); answers the function that renders one row's email (None:
    not needed: turned off, deactivated, or nothing to tell), with the templates
    compiled once."""
    people = {}
    for row in rows:
        member = row.member
        if member.is_active and member.wants_digest:
            zone = _zone(member)
            people[member.pk] = Person(member, zone, now.astimezone(zone).date())
    digests = digests_of(people, now)
    links = {
        "my_work_url": settings.SITE_URL + reverse("my-work"),
        "reviews_url": settings.SITE_URL + reverse("reviews"),
        "settings_url": settings.SITE_URL + reverse("notifications"),
    }

    def message(row: WeeklyDigest) -> EmailMultiAlternatives | None:
        digest = digests.get(row.member_id)
        return None if digest is None or digest.empty else _message(digest, links)

    return message


def _zone(member: Member) -> zoneinfo.ZoneInfo:
    try:
        return member.zone(member.organization.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def digests_of(people: dict[int, Person], now: dt.datetime) -> dict[int, Digest]:
    """Each person's digest ({member id: Digest}), in six queries at most for any
    number of people: goals, KPIs (each with its history point a week ago), open
    actions, the reviews of the next 7 days, and who takes part in them (two)."""
    digests = {pk: Digest(person) for pk, person in people.items()}
    if not people:
        return digests
    days = {person.today for person in people.values()}
    _add_goals(digests, days)
    _add_kpis(digests, days)
    _add_actions(digests)
    _add_reviews(digests, now)
    return digests


def _week_ago_columns(days: Iterable[dt.date]) -> dict[dt.date, str]:
    """{a today: the name of the column holding each row's progress a week before it}."""
    return {day: f"before_{n}" for n, day in enumerate(sorted(set(days)))}


def _in_cycle(person: Person, start: dt.date, end: dt.date) -> bool:
    return start <= person.today <= end


def _add_goals(digests: dict[int, Digest], days: set[dt.date]) -> None:
    before = _week_ago_columns(days)
    rows = (
        Goal.objects.filter(
            owner_id__in=list(digests),
            state=GoalState.ACTIVE,
            cycle__state=CycleState.OPEN,
            cycle__start__lte=max(days),
            cycle__end__gte=min(days),
        )
        .annotate(**{name: progress_standing_on(day - WEEK) for day, name in before.items()})
        .order_by("owner_id", "cycle__start", "cycle_id", "id")
        .values_list(
            *GoalRow._fields[:7], "cycle__name", "cycle__start", "cycle__end", *before.values()
        )
    )
    levels = dict(Level.choices)
    width = len(GoalRow._fields)
    for fields in rows:
        goal = GoalRow._make(fields[:width])
        digest = digests[goal.owner_id]
        person = digest.person
        if not _in_cycle(person, goal.cycle_start, goal.cycle_end):
            continue
        then = dict(zip(before, fields[width:], strict=True))[person.today]
        digest.goals.add(
            Line(
                title=goal.title,
                url=_url("goal-detail", goal.id),
                context=f"{levels.get(goal.level, goal.level)} goal · {goal.cycle}",
                progress=goal.progress,
                change=None if then is None else goal.progress - then,
                has_data=goal.has_data,
                health=goal.health,
            )
        )


def _due_column(day: dt.date) -> Q:
    """KPIs that owe a value on `day` and have none in the period of their cycle's
    cadence that holds it."""
    by_cadence = Q()
    for cadence in Cadence:
        by_cadence |= Q(goal__cycle__cadence=cadence) & ~checked_in(period_containing(cadence, day))
    return owes_values(day) & by_cadence


def _add_kpis(digests: dict[int, Digest], days: set[dt.date]) -> None:
    before = _week_ago_columns(days)
    owing = {day: f"owes_{n}" for n, day in enumerate(sorted(days))}
    rows = (
        Kpi.objects.filter(
            owner_id__in=list(digests),
            state=KpiState.ACTIVE,
            goal__state=GoalState.ACTIVE,
            goal__cycle__state=CycleState.OPEN,
            goal__cycle__start__lte=max(days),
            goal__cycle__end__gte=min(days),
        )
        .annotate(
            **{name: progress_standing_on(day - WEEK, of="kpi") for day, name in before.items()},
            **{
                name: ExpressionWrapper(_due_column(day), output_field=BooleanField())
                for day, name in owing.items()
            },
        )
        .order_by("owner_id", "goal__cycle__start", "goal_id", "id")
        .values_list(
            *KpiRow._fields[:9],
            "goal__title",
            "goal__cycle__cadence",
            "goal__cycle__start",
            "goal__cycle__end",
            *before.values(),
            *owing.values(),
        )
    )
    width = len(KpiRow._fields)
    for fields in rows:
        kpi = KpiRow._make(fields[:width])
        was = dict(zip(before, fields[width : width + len(before)], strict=True))
        owes = dict(zip(owing, fields[width + len(before) :], strict=True))
        digest = digests[kpi.owner_id]
        person = digest.person
        if not _in_cycle(person, kpi.cycle_start, kpi.cycle_end):
            continue
        then = was[person.today]
        url = _url("goal-detail", kpi.goal_id)
        digest.kpis.add(
            Line(
                title=kpi.name,
                url=url,
                context=f"Goal: {kpi.goal}",
                progress=kpi.progress,
                change=None if then is None else kpi.progress - then,
                has_data=kpi.current is not None,
                health=kpi.health,
                value=_value(kpi.current, kpi.unit),
            )
        )
        if owes[person.today]:
            period = period_containing(kpi.cadence, person.today)
            digest.due.add(
                Due(
                    name=kpi.name,
                    url=url,
                    goal=kpi.goal,
                    period=period.key,
                    last_day=_day(period.end, person.today),
                )
            )


def _add_actions(digests: dict[int, Digest]) -> None:
    rows = (
        ActionItem.objects.filter(owner_id__in=list(digests), done=False)
        .order_by("due", "id")
        .values_list("id", "title", "due", "owner_id", "review_id", "review__title")
    )
    for action in map(ActionRow._make, rows):
        digest = digests[action.owner_id]
        today = digest.person.today
        digest.actions.add(
            Action(
                title=action.title,
                url=_url("review-detail", action.review_id),
                due=_day(action.due, today),
                overdue=action.due < today,
                review=action.review,
            )
        )


def _add_reviews(digests: dict[int, Digest], now: dt.datetime) -> None:
    """The scheduled reviews of the next 7 days (of every organization of the batch),
    each in the digests of the people taking part, at their local time."""
    organizations = {d.person.member.organization_id for d in digests.values()}
    reviews = list(
        Review.objects.filter(
            organization_id__in=organizations,
            state=ReviewState.SCHEDULED,
            scheduled_for__gte=now,
            scheduled_for__lt=now + WEEK,
        )
        .select_related("goal__owner", "department")
        .order_by("scheduled_for", "id")
    )
    if not reviews:
        return
    taking_part = participants_among(reviews, list(digests))
    for review in reviews:
        url = _url("review-detail", review.pk)
        for pk in sorted(taking_part[review.pk]):
            digest = digests[pk]
            when = review.scheduled_for.astimezone(digest.person.zone)
            digest.reviews.add(
                Meeting(
                    title=review.title,
                    url=url,
                    when=f"{_day(when.date(), digest.person.today)}, {when:%H:%M}",
                    scope=review.scope_label,
                )
            )


# --- Words and numbers --------------------------------------------------------------


def _day(day: dt.date, today: dt.date | None) -> str:
    """ "Mon, Mar 22" (with the year when it is not today's)."""
    text = f"{day:%a, %b} {day.day}"
    return text if today is None or day.year == today.year else f"{text}, {day.year}"


def _value(current: float | None, unit: str) -> str:
    if current is None:
        return "no value yet"
    number = compact(current)
    return f"{number}{unit}" if unit in ("%", "") else f"{number} {unit}"


def _wrap(text: str, *, indent: str) -> str:
    """A line of the text part, wrapped to TEXT_WIDTH, continued under `indent`."""
    if len(text) <= TEXT_WIDTH:
        return text
    return textwrap.fill(text, TEXT_WIDTH, subsequent_indent=indent, break_on_hyphens=False)


@functools.cache
def _path(name: str) -> str:
    """The path of a page named `name` with one id, as a format string."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


def _url(name: str, pk: int) -> str:
    return settings.SITE_URL + _path(name).format(pk)


@functools.cache
def _templates():
    return (
        get_template("reviews/email/weekly_digest.txt"),
        get_template("reviews/email/weekly_digest.html"),
    )


def _message(digest: Digest, links: dict[str, str]) -> EmailMultiAlternatives:
    member = digest.person.member
    name = member.display_name
    context = {
        "digest": digest,
        "name": name,
        "first_name": member.user.first_name or name,
        "zone": str(digest.person.zone),
        **links,
    }
    text, html = _templates()
    message = FastEmail(subject=digest.subject, body=text.render(context), to=[member.user.email])
    message.attach_alternative(html.render(context), "text/html")
    return message
