"""Check-in reminders (SPEC §6): in the last 7 days of each month or quarter, every
KPI owner whose active KPIs lack a value for that period gets one reminder listing
them — never two, however often or concurrently the job runs; its email goes at least
once (core/email.py).

Each run also tells the chat targets that hear `checkin.due` (org/chat.py, SPEC §9.6)
who it reminded: one message per department, never one per person.

A leader or manager may also remind the people of a department who still owe a value
for the period the dashboard shows (*Remind now*, SPEC §9.3): the same email and in-app
notification, at most once per person a day (`CheckinNudge`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from core.email import send_owed, templated_email
from core.periods import Period, period_containing, period_from_key
from goals.models import GoalState
from goals.services import check_open
from org.chat import Fact, News, hears, listing, tell
from org.models import ChatEvent, Department, Member, Notification, Organization
from org.permissions import REMIND_CHECKINS
from org.selectors import each_organization
from org.webhooks import webhooks_read_once

from .models import CheckinNudge, CheckinReminder, Kpi, KpiState, KpiUpdate

if TYPE_CHECKING:
    from cycles.models import Cycle

WINDOW_DAYS = 7  # remind from the period's last day − 7 (inclusive) to its end


@dataclass
class Due:
    member: Member
    period: Period
    kpis: list[Kpi]


def in_reminder_window(period: Period, day: dt.date) -> bool:
    return period.end - dt.timedelta(days=WINDOW_DAYS) <= day <= period.end


def reminders_due(organization: Organization, day: dt.date) -> list[Due]:
    """Who needs a check-in reminder on `day`, and for which KPIs.

    1. For each cadence, the period containing `day`; skip it outside its last 7 days.
    2. Active KPIs (goal active, cycle containing `day`) with no update dated in the period.
    3. Grouped by owner and period, across cycles.
    """
    cycles = list(organization.cycles.filter(start__lte=day, end__gte=day))
    by_cadence: dict[str, list[Cycle]] = defaultdict(list)
    for cycle in cycles:
        by_cadence[cycle.cadence].append(cycle)
    due: dict[tuple[int, str], Due] = {}
    for cadence, cadence_cycles in by_cadence.items():
        period = period_containing(cadence, day)
        if not in_reminder_window(period, day):
            continue
        kpis = (
            Kpi.objects.filter(owes_values(day), goal__cycle__in=cadence_cycles)
            .filter(owner__is_active=True)
            .exclude(
                Exists(
                    KpiUpdate.objects.live().filter(
                        kpi=OuterRef("pk"), date__range=(period.start, period.end)
                    )
                )
            )
            .select_related("goal__cycle", "owner__user")
            .order_by("owner_id", "goal__cycle_id", "id")
        )
        _add_due(due, kpis, period)
    return list(due.values())


def _add_due(due: dict[tuple[int, str], Due], kpis: Iterable[Kpi], period: Period) -> None:
    """Group KPIs that lack a value in `period` by their owner (and the period)."""
    for kpi in kpis:
        key = (kpi.owner_id, period.key)
        if key not in due:
            due[key] = Due(member=kpi.owner, period=period, kpis=[])
        due[key].kpis.append(kpi)


def checkin_reminders_send_due(*, day: dt.date | None = None) -> int:
    """Send every check-in reminder due today (each organization's today, or `day`);
    returns how many this run claimed. One organization that fails is logged and
    skipped: the others are still served."""
    return each_organization("Check-in reminders", _send_for, day)


def checkin_emails_resend(*, day: dt.date | None = None) -> int:
    """Send the check-in emails still owed for reminders due today (a dead mail server
    or a killed worker left them owed) whose backoff has passed; makes no new
    reminders. Returns how many went. Only organizations that owe one are read."""
    now = timezone.now()
    owing = CheckinReminder.objects.filter(CheckinReminder.owed_now(now))
    nudges = CheckinNudge.objects.filter(CheckinNudge.owed_now(now))
    return each_organization(
        "Owed check-in emails",
        lambda org, day: _email(org, reminders_due(org, day)) + _nudge_emails(org, day),
        day,
        among=Organization.objects.filter(
            Q(pk__in=owing.values("member__organization"))
            | Q(pk__in=nudges.values("member__organization"))
        ),
    )


@transaction.atomic
def _send_for(organization: Organization, day: dt.date) -> int:
    """Claim the reminders (the unique constraint lets one run win each), record the
    in-app notifications and the chat messages of the claimed (in the claim's
    transaction), and, once the claim is committed, send the emails owed: these and any
    an earlier run could not send."""
    due = reminders_due(organization, day)
    if not due:
        return 0
    run = uuid.uuid4()
    CheckinReminder.objects.bulk_create(
        [
            CheckinReminder(
                member=d.member,
                period=d.period.key,
                kpi_count=len(d.kpis),
                run=run,
                email_due=d.member.wants_reminder_emails,
            )
            for d in due
        ],
        ignore_conflicts=True,
    )
    mine = set(CheckinReminder.objects.filter(run=run).values_list("member_id", "period"))
    claimed = [d for d in due if (d.member.pk, d.period.key) in mine]
    Notification.objects.bulk_create([_notification(d) for d in claimed])
    _tell_chat(organization, claimed)
    transaction.on_commit(lambda: _email(organization, due), robust=True)
    return len(claimed)


def _tell_chat(organization: Organization, claimed: list[Due]) -> None:
    """The chat side of a run (org/chat.py): per department (and one for the people in
    none), one message listing who this run reminded and how many KPIs each lacks a
    value for, with a link to the dashboard. Only the claimed: a second run, which
    claims nobody, posts nothing. Nothing is read when no target hears of it."""
    with webhooks_read_once():
        if not claimed or not hears(organization.pk, ChatEvent.CHECKIN_DUE):
            return
        by_department: dict[int | None, dict[int, list[Due]]] = defaultdict(dict)
        for d in claimed:
            by_department[d.member.department_id].setdefault(d.member.pk, []).append(d)
        names: dict[int | None, str] = dict(
            Department.objects.filter(pk__in=[pk for pk in by_department if pk]).values_list(
                "id", "name"
            )
        )
        link = settings.SITE_URL + reverse("dashboard")
        news = [
            _checkins_due(names.get(department_id), department_id, people, link, organization)
            for department_id, people in sorted(
                by_department.items(), key=lambda item: (item[0] is None, names.get(item[0], ""))
            )
        ]
        tell(organization.pk, ChatEvent.CHECKIN_DUE, *news)


def _checkins_due(
    department: str | None,
    department_id: int | None,
    people: dict[int, list[Due]],
    link: str,
    organization: Organization,
) -> News:
    """One department's message: who is due, how many KPIs each, for which periods."""
    rows = sorted(people.values(), key=lambda dues: dues[0].member.display_name.casefold())
    periods = sorted({d.period.key for dues in rows for d in dues})
    ends = sorted({d.period.end for dues in rows for d in dues})
    kpi_count = sum(len(d.kpis) for dues in rows for d in dues)
    lines = [
        f"{dues[0].member.display_name}: "
        f"{_count([kpi for d in dues for kpi in d.kpis], 'KPI')} without a value "
        f"({', '.join(d.period.key for d in dues)})"
        for dues in rows
    ]
    who = "person owes" if len(rows) == 1 else "people owe"
    return News(
        title=f"Check-ins due: {department or 'people in no department'}",
        department_id=department_id,
        lines=(
            f"{len(rows)} {who} {_count(range(kpi_count), 'KPI value')} before the period ends.",
        ),
        facts=(
            Fact("Period", ", ".join(periods)),
            Fact("Due by", ", ".join(end.isoformat() for end in ends)),
        ),
        lists=(listing("Who is due", lines),),
        link=link,
        link_label="Open the dashboard",
        footer=f"Cascade · {organization.name} · check-in reminders",
    )


def _notification(d: Due) -> Notification:
    """The in-app side of a check-in reminder."""
    return Notification(
        member=d.member,
        kind="checkin_reminder",
        link=reverse("my-work"),
        title=f"Check-in for {d.period.key}: {_count(d.kpis)} without a value",
        body="\n".join(f"{kpi.name} ({kpi.goal.title})" for kpi in d.kpis),
    )


def _message(d: Due) -> EmailMultiAlternatives | None:
    """The email of a check-in reminder (None: the person takes none)."""
    if not d.member.wants_reminder_emails:
        return None
    return templated_email(
        subject=f"Cascade check-in: {_count(d.kpis, 'KPI value')} due for {d.period.key}",
        template="kpis/email/checkin_reminder",
        context={
            "member": d.member,
            "period": d.period,
            "kpis": d.kpis,
            "my_work_url": settings.SITE_URL + reverse("my-work"),
            "settings_url": settings.SITE_URL + reverse("notifications"),
        },
        to=d.member.user.email,
    )


def _count(kpis: Sized, noun: str = "KPI") -> str:
    return f"{len(kpis)} {noun}{'' if len(kpis) == 1 else 's'}"


def _email(organization: Organization, due: list[Due]) -> int:
    """The owed emails of the reminders due now (a reminder whose KPIs all got a value
    since is owed none any more)."""
    by_key = {(d.member.pk, d.period.key): d for d in due}
    owed = CheckinReminder.objects.filter(
        member__organization=organization, period__in={d.period.key for d in due}
    )

    def message(reminder: CheckinReminder) -> EmailMultiAlternatives | None:
        d = by_key.get((reminder.member_id, reminder.period))
        return None if d is None else _message(d)

    return send_owed(owed, message, "check-in reminder")


# --- Remind now ----------------------------------------------------------------------


def owes_values(day: dt.date) -> Q:
    """KPIs that owe a value each period: active, on an active goal, and started by
    `day` (a KPI whose start is still ahead owes nothing yet)."""
    return Q(state=KpiState.ACTIVE, goal__state=GoalState.ACTIVE, start__lte=day)


def kpis_to_check_in(cycle: Cycle, day: dt.date) -> QuerySet[Kpi]:
    """The KPIs of a cycle that owe a value each period (`owes_values`)."""
    return Kpi.objects.filter(owes_values(day), goal__cycle=cycle)


def checked_in(period: Period) -> Q:
    """KPIs with a value dated in `period`: their latest live value's date lies in it.
    That is the same as "any live value dated in it" for the periods the dashboard
    shows: values are dated inside their cycle and never after today, and the period
    holds today, or is the cycle's last (a cycle that ended) or first (one still ahead,
    whose KPIs have not started)."""
    return Q(last_update_on__range=(period.start, period.end))


@dataclass
class Reminded:
    """What a *Remind now* did: the people it reminded, and those it did not because
    someone had reminded them today already (each sorted by name)."""

    reminded: list[Member]
    already: list[Member]


@transaction.atomic
def checkin_remind_now(
    *, actor: Member, cycle: Cycle, period: Period, department_id: int | None
) -> Reminded:
    """Remind every active person of a department (`None`: of no department) whose
    KPIs in `cycle` still lack a value dated in `period`, by email and in the app —
    each at most once a day, whoever asks and however often.

    1. The permission (REMIND_CHECKINS), then the state: a closed cycle takes no values.
    2. Who owes what: their KPIs with no value in the period (`kpis_to_check_in`).
    3. Claim a `CheckinNudge` per person for today: the unique (member, day) lets one
       request win each person, even two at the same instant; the others are "already".
    4. The claimed get the notification now and, once this commits, the email.
    """
    REMIND_CHECKINS.require(actor, department_id)
    check_open(cycle)
    organization = actor.organization
    day = organization.today()
    owing = (
        kpis_to_check_in(cycle, day)
        .exclude(checked_in(period))
        .filter(owner__is_active=True)
        .filter(
            Q(owner__department_id=department_id)
            if department_id is not None
            else Q(owner__department__isnull=True)
        )
        .select_related("goal__cycle", "owner__user")
        .order_by("owner_id", "id")
    )
    due: dict[tuple[int, str], Due] = {}
    _add_due(due, owing, period)
    run = uuid.uuid4()
    CheckinNudge.objects.bulk_create(
        [
            CheckinNudge(
                member=d.member,
                day=day,
                cycle=cycle,
                period=period.key,
                kpi_count=len(d.kpis),
                sent_by=actor,
                run=run,
                email_due=d.member.wants_reminder_emails,
            )
            for d in due.values()
        ],
        ignore_conflicts=True,
    )
    mine = set(CheckinNudge.objects.filter(run=run).values_list("member_id", flat=True))
    claimed = [d for d in due.values() if d.member.pk in mine]
    Notification.objects.bulk_create([_notification(d) for d in claimed])
    transaction.on_commit(lambda: _nudge_emails(organization, day), robust=True)
    by_name = sorted(due.values(), key=lambda d: d.member.display_name.casefold())
    return Reminded(
        reminded=[d.member for d in by_name if d.member.pk in mine],
        already=[d.member for d in by_name if d.member.pk not in mine],
    )


def _nudge_emails(organization: Organization, day: dt.date) -> int:
    """Send the emails still owed for today's *Remind now* reminders, each listing the
    KPIs that still lack a value (one whose KPIs all got a value since is owed none)."""
    owed = CheckinNudge.objects.filter(member__organization=organization, day=day)

    def message(nudge: CheckinNudge) -> EmailMultiAlternatives | None:
        member, cycle = nudge.member, nudge.cycle
        period = period_from_key(cycle.cadence, nudge.period)
        if period is None:
            return None
        kpis = list(
            kpis_to_check_in(cycle, day)
            .exclude(checked_in(period))
            .filter(owner_id=member.pk)
            .select_related("goal__cycle")
            .order_by("id")
        )
        return _message(Due(member=member, period=period, kpis=kpis)) if kpis else None

    return send_owed(owed.select_related("cycle", "member__user"), message, "check-in reminder")
