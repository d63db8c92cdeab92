"""Every kind of chat message Cascade posts, made for real (tests/chat/): the three
events and a test message, through the services, with hostile text wherever people
type (a department's, a person's, a goal's, a review's and a target's names; decisions
and action items) and text longer than any platform's limits. The payloads are read
back from the outbox rows, as they are posted."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from goals.services import goal_create
from kpis.reminders import checkin_reminders_send_due
from kpis.services import kpi_create, kpi_record_value
from org.chat import chat_target_create, chat_target_test
from org.models import ChatMessage, Department, Member
from reviews.services import action_create, review_complete, review_item_update, review_start

from ..factories import MemberFactory
from ..reviews.helpers import schedule

HOSTILE = "<!channel> *x* <http://evil|y> & “quotes” _i_ ~s~ `c` [l](http://e) <@U1> #h"
# A decision: lines that would make a list and a heading, and beyond every limit.
LONG = (
    f"- {HOSTILE}\n# heading\n1. one\n> quote\n" + "Ship it. " * 1000
)  # 9,000 more: within the field, beyond every message limit


def hostile_payloads(acme, services, platform: str) -> list[dict]:
    """The bodies of every message of `platform` a hostile organization's events owe:
    check-ins due (a department of 30 people due, and people in no department), two
    health changes (a department goal's, a strategic one's), a completed review with a
    win, decisions and actions, and a test message. Each event to a target of the whole
    organization and one of the hostile department."""
    department = Department.objects.create(organization=acme.org, name=f"Sales {HOSTILE}"[:200])
    boss = MemberFactory(
        organization=acme.org,
        role="manager",
        department=department,
        user__username="boss",
        user__first_name=HOSTILE[:150],
    )
    events = ["checkin.due", "goal.health_changed", "review.completed"]
    for scope in (None, department):
        channel = services(platform)
        made = chat_target_create(
            actor=acme.admin,
            platform=platform,
            name=f"#{HOSTILE}"[:100],
            url=channel.url,
            department=scope,
            events=events,
        )
        chat_target_test(actor=acme.admin, target=made)

    objective = goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title=f"Grow {HOSTILE}"
    )
    goal = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title=f"Win {HOSTILE}",
        parent=objective,
        department=department,
        owner=boss,
    )
    users = get_user_model()
    for n in range(30):  # more people due than a message lists
        person = MemberFactory(
            organization=acme.org,
            department=department,
            user=users.objects.create(username=f"p{n}", first_name=f"{HOSTILE} {n}"[:150]),
        )
        kpi_create(
            actor=acme.leader,
            goal=goal,
            name=f"KPI {HOSTILE} {n}",
            unit="%",
            baseline=0,
            target=100,
            owner=person,
        )
    kpi_create(  # the leader is in no department
        actor=acme.leader, goal=objective, name="Revenue", unit="€", baseline=0, target=100
    )
    checkin_reminders_send_due(day=dt.date(2027, 3, 28))

    kpi = goal.kpis.order_by("id").first()
    kpi_record_value(actor=boss, kpi=kpi, value=0)  # both goals: no data → at risk

    review = review_start(
        actor=acme.leader,
        review=schedule(acme.leader, cycle=acme.cycle, title=f"Review {HOSTILE}", goal=goal),
    )
    item = review.items.get(goal=goal)
    review_item_update(
        actor=acme.leader, item=item, assessment="off_track", win=True, decision=LONG
    )
    for n in range(30):
        action_create(
            actor=acme.leader,
            review=review,
            item=item,
            title=f"Act {HOSTILE} {n}"[:300],
            owner=Member.objects.get(user__username=f"p{n}"),
            due=dt.date(2027, 4, 1) + dt.timedelta(days=n),
        )
    review_complete(actor=acme.leader, review=review)

    messages = ChatMessage.objects.filter(target__platform=platform).order_by("id")
    kinds = sorted({message.event for message in messages})
    assert kinds == ["checkin.due", "goal.health_changed", "review.completed", "test"], kinds
    return [message.payload for message in messages]
