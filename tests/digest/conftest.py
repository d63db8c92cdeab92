"""The weekly digest's tests: a real SMTP server (aiosmtpd, on a free port of
127.0.0.1) that Django's SMTP backend sends to, and a seeded week in Acme (Europe/Berlin):
people in two departments with goals and KPIs whose values are dated over two weeks (so
the history has a point a week ago), KPIs still due, open actions and an upcoming review.

The clock of every test is Monday, March 15, 2027, 12:00 UTC (tests/conftest.py): the
week 2027-W11. Browser fixtures come from tests/browser/conftest.py."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from goals.services import goal_create
from kpis.services import kpi_create, kpi_record_value
from reviews.models import WeeklyDigest
from reviews.services import action_create, review_create, review_start

from ..browser.conftest import axe_source, browser_context_args, browser_type_launch_args
from ..factories import CycleFactory, MemberFactory

__all__ = ["axe_source", "browser_context_args", "browser_type_launch_args"]

SUBJECT = "Your week in Cascade"
BERLIN = dt.timezone(dt.timedelta(hours=1))  # March 2027, before summer time


class Inbox:
    """What the SMTP server was given: every message, parsed, in order; it answers 451
    (try again later) to the first message for each address in `refuse_once`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_once: set[str] = set()
        self.refused: list[tuple[str, str]] = []  # (address, Message-ID)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        [to] = envelope.rcpt_tos
        with self.lock:
            if to in self.refuse_once:
                self.refuse_once.discard(to)
                self.refused.append((to, message["Message-ID"]))
                return "451 Requested action aborted: try again later"
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def digests(self) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["Subject"].startswith(SUBJECT)]

    def digests_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.digests() if m["To"] == address]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, and Django's SMTP backend pointed at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Cascade <cascade@mail.example.com>"
    settings.SITE_URL = "https://cascade.example.com"
    inbox.port = port
    yield inbox
    controller.stop()


def text_of(message: EmailMessage) -> str:
    """The text part, its lines as a reader sees them (the wire's CRLF as newlines)."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@dataclass
class Week:
    """The seeded week: Acme's people and what they own (attributes name them)."""

    people: dict[str, object] = field(default_factory=dict)
    goals: dict[str, object] = field(default_factory=dict)
    kpis: dict[str, object] = field(default_factory=dict)
    actions: dict[str, object] = field(default_factory=dict)
    reviews: dict[str, object] = field(default_factory=dict)


# The Monday of the seeded week, 08:00 in Berlin (07:00 UTC): digests are due.
MONDAY_MORNING = dt.datetime(2027, 3, 15, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def week(acme):
    """Acme in Europe/Berlin, its 2027 cycle quarterly (period 2027-Q1) and a monthly one
    (period 2027-03), built through the services:

    Support (max manages; sam, tia — tia takes no digest)   Marketing (mia; lee)
      "Faster support" (max)                                 "More leads" (mia)
        KPI "First response time" (max): 10 h on Mar 1, 9 on Mar 10
        └ "Resolve tickets in 4 h" (sam)                     └ "Qualified leads" (lee)
            KPI "Resolution time" (sam): 6 h Mar 2, 5 Mar 12     KPI "Leads" (lee): 40 on Mar 9
            KPI "Tickets triaged" (sam): no value (due)          KPI "Newsletter signups" (lee,
            KPI "Backlog" (sam, monthly cycle): Feb 20 only         monthly): none (due)
    Actions of the review "Support retro" (started): sam's "Call the vendor" due Mar 10
    (overdue), sam's "Write the FAQ" due Mar 19, lee's "Brief the agency" due Mar 26, one
    of max's done. Reviews: "Support weekly" (Support, Mar 17 10:00 Berlin), "All hands"
    (everyone, Mar 29: beyond the week), "Leads check-in" (goal "More leads", Mar 19 15:00).
    """
    w = Week()
    org = acme.org
    org.timezone = "Europe/Berlin"
    org.save()
    w.people = {
        "sam": acme.member,
        "max": acme.manager,
        "tia": acme.tier2_member,
        "lee": acme.marketing_member,
        "mia": acme.marketing_manager,
        "lena": acme.leader,
        "rey": acme.reviewer,
    }
    acme.tier2_member.digest_emails = False
    acme.tier2_member.save()
    for name, member in w.people.items():
        member.user.first_name = name.capitalize()
        member.user.last_name = "Example"
        member.user.save()
    leader = acme.leader
    cycle = acme.cycle
    monthly = CycleFactory(organization=org, name="2027 monthly", cadence="monthly")
    strategic = goal_create(actor=leader, cycle=cycle, level="strategic", title="Happy customers")
    w.goals["support"] = goal_create(
        actor=leader,
        cycle=cycle,
        level="department",
        title="Faster support",
        parent=strategic,
        department=acme.support,
        owner=acme.manager,
    )
    w.goals["sam"] = goal_create(
        actor=leader,
        cycle=cycle,
        level="individual",
        title="Resolve tickets in 4 h",
        parent=w.goals["support"],
        owner=acme.member,
    )
    w.goals["marketing"] = goal_create(
        actor=leader,
        cycle=cycle,
        level="department",
        title="More leads",
        parent=strategic,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    w.goals["lee"] = goal_create(
        actor=leader,
        cycle=cycle,
        level="individual",
        title="Qualified leads",
        parent=w.goals["marketing"],
        owner=acme.marketing_member,
    )
    monthly_root = goal_create(
        actor=leader, cycle=monthly, level="strategic", title="Monthly housekeeping"
    )

    def kpi(goal, owner, name, unit, baseline, target, **extra):
        return kpi_create(
            actor=leader,
            goal=goal,
            name=name,
            unit=unit,
            baseline=baseline,
            target=target,
            owner=owner,
            **extra,
        )

    w.kpis["response"] = kpi(
        w.goals["support"],
        acme.manager,
        "First response time",
        "hours",
        12,
        6,
        direction="decrease",
    )
    w.kpis["resolution"] = kpi(
        w.goals["sam"], acme.member, "Resolution time", "hours", 8, 4, direction="decrease"
    )
    w.kpis["triaged"] = kpi(w.goals["sam"], acme.member, "Tickets triaged", "tickets", 0, 200)
    w.kpis["backlog"] = kpi(monthly_root, acme.member, "Backlog cleared", "%", 0, 100)
    w.kpis["leads"] = kpi(w.goals["lee"], acme.marketing_member, "Leads", "leads", 0, 100)
    w.kpis["signups"] = kpi(
        monthly_root, acme.marketing_member, "Newsletter signups", "signups", 0, 500
    )
    values = [
        ("response", 10, dt.date(2027, 3, 1)),
        ("response", 9, dt.date(2027, 3, 10)),
        ("resolution", 6, dt.date(2027, 3, 2)),
        ("resolution", 5, dt.date(2027, 3, 12)),
        ("backlog", 30, dt.date(2027, 2, 20)),
        ("leads", 40, dt.date(2027, 3, 9)),
    ]
    for key, value, day in values:
        kpi_record_value(actor=leader, kpi=w.kpis[key], value=value, date=day)
    retro = review_create(
        actor=leader,
        cycle=cycle,
        title="Support retro",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 1, 9, tzinfo=BERLIN),
        department=acme.support,
    )
    review_start(actor=leader, review=retro)
    for key, owner, title, due in [
        ("vendor", acme.member, "Call the vendor", dt.date(2027, 3, 10)),
        ("faq", acme.member, "Write the FAQ", dt.date(2027, 3, 19)),
        ("agency", acme.marketing_member, "Brief the agency", dt.date(2027, 3, 26)),
        ("done", acme.manager, "Order headsets", dt.date(2027, 3, 12)),
    ]:
        w.actions[key] = action_create(
            actor=leader, review=retro, title=title, owner=owner, due=due
        )
    w.actions["done"].done = True
    w.actions["done"].save()
    w.reviews["support"] = review_create(
        actor=leader,
        cycle=cycle,
        title="Support weekly",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 17, 10, tzinfo=BERLIN),
        department=acme.support,
        facilitator=acme.manager,
    )
    w.reviews["leads"] = review_create(
        actor=leader,
        cycle=cycle,
        title="Leads check-in",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 19, 15, tzinfo=BERLIN),
        goal=w.goals["marketing"],
    )
    w.reviews["all"] = review_create(
        actor=leader,
        cycle=cycle,
        title="All hands",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 29, 10, tzinfo=BERLIN),
    )
    return w


def more_people(acme, count: int, prefix: str) -> list:
    """`count` more people in Customer Support, each with a goal, a KPI with a value a
    week ago and one due, and an open action (for sizes and query counts)."""
    retro = review_create(
        actor=acme.leader,
        cycle=acme.cycle,
        title=f"{prefix} retro",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 1, 9, tzinfo=BERLIN),
        department=acme.support,
    )
    review_start(actor=acme.leader, review=retro)
    root = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title=prefix)
    people = []
    for n in range(count):
        person = MemberFactory(
            organization=acme.org, department=acme.support, user__username=f"{prefix}{n}"
        )
        goal = goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="individual",
            title=f"Goal of {prefix}{n}",
            parent=root,
            owner=person,
        )
        measured = kpi_create(
            actor=acme.leader,
            goal=goal,
            name="Done",
            unit="%",
            baseline=0,
            target=100,
            owner=person,
        )
        kpi_create(
            actor=acme.leader,
            goal=goal,
            name="Due",
            unit="%",
            baseline=0,
            target=100,
            owner=person,
        )
        kpi_record_value(actor=acme.leader, kpi=measured, value=n % 90, date=dt.date(2027, 3, 2))
        action_create(
            actor=acme.leader,
            review=retro,
            title="Follow up",
            owner=person,
            due=dt.date(2027, 3, 20),
        )
        people.append(person)
    return people


def digest_rows(member) -> list[WeeklyDigest]:
    return list(WeeklyDigest.objects.filter(member=member).order_by("week"))
