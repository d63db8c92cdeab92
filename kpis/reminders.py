"""Check-in reminders (SPEC §6): in the last 7 days of each month or quarter, every
KPI owner whose active KPIs lack a value for that period gets one message listing
them — never twice, however often or concurrently the job runs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from core.email import send_owed, templated_email
from core.periods import Period, period_containing
from goals.models import GoalState
from org.models import Member, Notification, Organization
from org.selectors import each_organization

from .models import CheckinReminder, Kpi, KpiState, KpiUpdate

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
            Kpi.objects.filter(
                state=KpiState.ACTIVE,
                goal__cycle__in=cadence_cycles,
                goal__state=GoalState.ACTIVE,
                start__lte=day,
                owner__is_active=True,
            )
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
        for kpi in kpis:
            key = (kpi.owner_id, period.key)
            if key not in due:
                due[key] = Due(member=kpi.owner, period=period, kpis=[])
            due[key].kpis.append(kpi)
    return list(due.values())


def checkin_reminders_send_due(*, day: dt.date | None = None) -> int:
    """Send every check-in reminder due today (each organization's today, or `day`);
    returns how many this run claimed. One organization that fails is logged and
    skipped: the others are still served."""
    return each_organization("Check-in reminders", _send_for, day)


def checkin_emails_resend(*, day: dt.date | None = None) -> int:
    """Send the check-in emails still owed for reminders due today (a dead mail server
    or a killed worker left them owed) whose backoff has passed; makes no new
    reminders. Returns how many went. Only organizations that owe one are read."""
    owing = CheckinReminder.objects.filter(CheckinReminder.owed_now(timezone.now()))
    return each_organization(
        "Owed check-in emails",
        lambda org, day: _email(org, reminders_due(org, day)),
        day,
        among=Organization.objects.filter(pk__in=owing.values("member__organization")),
    )


def _send_for(organization: Organization, day: dt.date) -> int:
    """Claim the reminders (the unique constraint lets one run win each), record the
    in-app notifications, and, once the claim is committed, send the emails owed:
    these and any an earlier run could not send."""
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
    link = reverse("my-work")
    Notification.objects.bulk_create(
        [
            Notification(
                member=d.member,
                kind="checkin_reminder",
                link=link,
                title=f"Check-in for {d.period.key}: {_count(d.kpis)} without a value",
                body="\n".join(f"{kpi.name} ({kpi.goal.title})" for kpi in d.kpis),
            )
            for d in claimed
        ]
    )
    transaction.on_commit(lambda: _email(organization, due), robust=True)
    return len(claimed)


def _count(kpis: list[Kpi], noun: str = "KPI") -> str:
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
        if d is None or not d.member.wants_reminder_emails:
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

    return send_owed(owed, message, "check-in reminder")
