"""Check-in reminders (SPEC §6), run by a real worker through Redis."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from goals.services import goal_update
from kpis.models import CheckinReminder, KpiUpdate
from kpis.reminders import checkin_reminders_send_due
from kpis.tasks import send_checkin_reminders
from org.models import Notification

from ..factories import CycleFactory, GoalFactory, KpiFactory
from .conftest import wait

D = dt.date


def value(kpi, day: dt.date, amount: float = 1) -> None:
    """A value dated `day` (a fixture row: dates in 2027 lie after the real today)."""
    KpiUpdate.objects.create(kpi=kpi, value=amount, date=day, author=kpi.owner)


@pytest.fixture
def plan(acme):
    """Monthly and quarterly cycles of 2027; sam owns three KPIs in the monthly one and
    one in the quarterly one, lee owns one monthly KPI."""
    p = type("Plan", (), {})()
    p.monthly = CycleFactory(organization=acme.org, name="2027 monthly", cadence="monthly")
    p.quarterly = CycleFactory(organization=acme.org, name="2027 quarterly", cadence="quarterly")
    strategic = GoalFactory(cycle=p.monthly, level="strategic")
    goal = GoalFactory(cycle=p.monthly, level="individual", parent=strategic, owner=acme.member)
    p.sam_kpis = [
        KpiFactory(goal=goal, owner=acme.member, name=f"Sam monthly {n}") for n in range(3)
    ]
    q_root = GoalFactory(cycle=p.quarterly, level="strategic")
    p.sam_quarterly = KpiFactory(goal=q_root, owner=acme.member, name="Sam quarterly")
    p.lee_kpi = KpiFactory(goal=goal, owner=acme.marketing_member, name="Lee monthly")
    return p


def messages_for(member) -> list:
    return [m for m in mail.outbox if m.to == [member.user.email]]


def test_one_message_per_owner_per_period_listing_exactly_the_kpis_lacking_an_update(
    acme, plan, worker
):
    value(plan.sam_kpis[0], D(2027, 3, 2))  # updated in March: not listed
    value(plan.sam_kpis[1], D(2027, 2, 27))  # February's value does not count for March
    value(plan.lee_kpi, D(2027, 3, 20))  # lee is up to date

    # March 25 lies in the last 7 days of March and of Q1: one message per period.
    assert wait([send_checkin_reminders.delay("2027-03-25")]) == [2]

    monthly, quarterly = sorted(messages_for(acme.member), key=lambda m: "Q1" in m.subject)
    assert "2027-03" in monthly.subject and "2027-Q1" in quarterly.subject
    assert "Sam monthly 1" in monthly.body and "Sam monthly 2" in monthly.body
    assert "Sam monthly 0" not in monthly.body and "Sam quarterly" not in monthly.body
    assert "Sam quarterly" in quarterly.body and "Sam monthly" not in quarterly.body
    assert messages_for(acme.marketing_member) == []
    titles = set(Notification.objects.filter(member=acme.member).values_list("title", flat=True))
    assert titles == {
        "Check-in for 2027-03: 2 KPIs without a value",
        "Check-in for 2027-Q1: 1 KPI without a value",
    }
    html, mime = monthly.alternatives[0]
    assert mime == "text/html" and "/my/" in html and "/my/" in monthly.body


def test_quarterly_and_monthly_periods_are_separate_messages_on_the_same_day(acme, plan, worker):
    assert wait([send_checkin_reminders.delay("2027-03-31")]) == [3]  # lee: March
    subjects = sorted((m.subject for m in messages_for(acme.member)), key=lambda s: "Q1" in s)
    assert len(subjects) == 2
    assert "2027-03" in subjects[0] and "2027-Q1" in subjects[1]
    quarterly = next(m for m in messages_for(acme.member) if "2027-Q1" in m.subject)
    assert "Sam quarterly" in quarterly.body and "Sam monthly" not in quarterly.body


def test_a_second_run_sends_nothing(acme, plan, worker):
    # sam: March and Q1; lee: March
    assert wait([send_checkin_reminders.delay("2027-03-28")]) == [3]
    sent = len(mail.outbox)
    assert wait([send_checkin_reminders.delay("2027-03-29")]) == [0]
    assert len(mail.outbox) == sent == 3
    assert CheckinReminder.objects.count() == 3


def test_two_runs_at_once_send_nothing_twice(acme, plan, worker):
    results = [send_checkin_reminders.delay("2027-03-28") for _ in range(2)]
    assert sorted(wait(results)) == [0, 3]
    assert len(messages_for(acme.member)) == 2  # March and Q1
    assert len(messages_for(acme.marketing_member)) == 1
    assert Notification.objects.filter(kind="checkin_reminder").count() == 3


def test_concurrent_service_calls_claim_each_reminder_once(
    acme, plan, broker, together, require_postgres
):
    counts = together([lambda: checkin_reminders_send_due(day=D(2027, 3, 28))] * 3)
    assert sorted(counts) == [0, 0, 3]
    assert CheckinReminder.objects.count() == 3
    assert len(mail.outbox) == 3


def test_an_owner_who_updated_every_kpi_in_the_period_gets_nothing(acme, plan, worker):
    for kpi in plan.sam_kpis:
        value(kpi, D(2027, 3, 1))
    value(plan.sam_quarterly, D(2027, 1, 15))  # any day of the quarter counts
    wait([send_checkin_reminders.delay("2027-03-31")])
    assert messages_for(acme.member) == []
    assert not Notification.objects.filter(member=acme.member).exists()


@pytest.mark.parametrize(
    ("day", "sent"),
    [
        (D(2027, 2, 20), 0),  # February ends on the 28th: its window opens on the 21st
        (D(2027, 2, 21), 2),
        (D(2027, 2, 28), 2),
        (D(2027, 3, 1), 0),  # February is over and never reminded again; March's window is later
        (D(2027, 3, 23), 0),
        (D(2027, 3, 24), 2),
    ],
)
def test_monthly_reminders_start_seven_days_before_the_month_ends(acme, plan, worker, day, sent):
    goal_update(actor=acme.leader, goal=plan.sam_quarterly.goal, state="cancelled")
    assert wait([send_checkin_reminders.delay(day.isoformat())]) == [sent]


@pytest.mark.parametrize(
    ("day", "periods"),
    [
        (D(2027, 6, 22), set()),  # Q2 ends June 30; the window opens on the 23rd
        (D(2027, 6, 23), {"2027-Q2"}),
        (D(2027, 6, 30), {"2027-Q2", "2027-06"}),
        (D(2027, 7, 1), set()),  # Q2 is over: never reminded afterwards
    ],
)
def test_quarterly_reminders_start_seven_days_before_the_quarter_ends(
    acme, plan, worker, day, periods
):
    for kpi in (*plan.sam_kpis, plan.lee_kpi):  # keep the monthly cycle out of it…
        value(kpi, day.replace(day=1))
    wait([send_checkin_reminders.delay(day.isoformat())])
    sent = set(CheckinReminder.objects.values_list("period", flat=True))
    assert sent == periods - {"2027-06"}  # …its June values are in


def test_without_a_date_the_job_uses_the_organizations_today_with_time_frozen(acme, plan, worker):
    with time_machine.travel(dt.datetime(2027, 3, 27, 12, tzinfo=dt.UTC), tick=False):
        assert wait([send_checkin_reminders.delay()]) == [3]
    assert set(CheckinReminder.objects.values_list("period", flat=True)) == {"2027-03", "2027-Q1"}


def test_cancelled_goals_and_deactivated_owners_are_not_reminded(acme, plan, worker):
    acme.marketing_member.is_active = False
    acme.marketing_member.save()
    goal_update(actor=acme.leader, goal=plan.sam_kpis[0].goal, state="cancelled")
    assert wait([send_checkin_reminders.delay("2027-03-28")]) == [1]
    [message] = mail.outbox
    assert message.to == [acme.member.user.email] and "2027-Q1" in message.subject


def test_people_who_turned_emails_off_get_the_in_app_notification_only(acme, plan, worker):
    acme.member.reminder_emails = False
    acme.member.save()
    wait([send_checkin_reminders.delay("2027-03-28")])
    assert messages_for(acme.member) == []
    assert Notification.objects.filter(member=acme.member, kind="checkin_reminder").count() == 2
    assert len(messages_for(acme.marketing_member)) == 1


def test_send_reminders_command_runs_as_if_today_were_the_date(acme, plan, transactional_db):
    out = io.StringIO()
    call_command("send_reminders", "--date", "2027-03-28", stdout=out)
    assert "Check-in reminders: 3 made; emails delivered 3, not delivered 0" in out.getvalue()
    call_command("send_reminders", "--date", "2027-03-30", stdout=out)
    assert "Check-in reminders: 0 made; emails delivered 0, not delivered 0" in out.getvalue()
