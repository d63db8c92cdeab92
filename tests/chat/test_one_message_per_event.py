"""SPEC §9.6 chat, end to end: a real Celery worker posts each message through
core.egress to real HTTPS "chat services" of the test (tests/chat/conftest.py), which
count what reaches them. One message per event: check-ins due post one message per
department listing who is due (never one per person), and a second run posts nothing;
a department goal's health change posts one, a team's or a person's none; a completed
review posts one summary."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from goals.models import Goal
from goals.services import goal_create
from kpis.services import kpi_create, kpi_record_value
from kpis.tasks import send_checkin_reminders
from org.chat import chat_target_create, chat_target_test
from org.models import ChatMessage
from reviews.services import action_create, review_complete, review_item_update, review_start

from ..api.helpers import API, client_for
from ..factories import MemberFactory
from ..jobs.conftest import until
from ..outbound import Answer
from ..reviews.helpers import schedule

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 1.0  # seconds to wait for a message that must not come


def settled(*channels, expect: tuple[int, ...]) -> None:
    """Wait until every channel got what it should, then a little longer: no more."""
    until(lambda: all(c.count() >= n for c, n in zip(channels, expect, strict=True)))
    time.sleep(QUIET)
    assert tuple(c.count() for c in channels) == expect
    assert not ChatMessage.objects.exclude(state="delivered").exists()


@pytest.fixture
def five_due(acme):
    """Five people owing a value for 2027-Q1, in two departments: max, sam and sue in
    Customer Support, mia and lee in Marketing (one KPI each, two for sam)."""
    sue = MemberFactory(
        organization=acme.org, role="member", department=acme.support, user__username="sue"
    )
    objective = goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title="Grow revenue"
    )
    goals = {}
    for department, owner in (
        (acme.support, acme.manager),
        (acme.marketing, acme.marketing_manager),
    ):
        goals[department.pk] = goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="department",
            title=f"{department.name} goal",
            parent=objective,
            department=department,
            owner=owner,
        )
    owners = [
        (acme.support, acme.manager),
        (acme.support, acme.member),
        (acme.support, acme.member),
        (acme.support, sue),
        (acme.marketing, acme.marketing_manager),
        (acme.marketing, acme.marketing_member),
    ]
    for n, (department, owner) in enumerate(owners):
        kpi_create(
            actor=acme.leader,
            goal=goals[department.pk],
            name=f"KPI {n}",
            unit="%",
            baseline=0,
            target=100,
            owner=owner,
        )
    return sue


def test_check_ins_due_post_one_message_per_department_and_a_second_run_none(
    acme, five_due, target, worker
):
    _, everyone = target(events=["checkin.due"])
    _, support = target(department=acme.support, events=["checkin.due"])
    _, tier2 = target(department=acme.tier2, events=["checkin.due"])  # below: hears nothing

    claimed = send_checkin_reminders.delay(day="2027-03-28").get(timeout=60)
    assert claimed == 5  # five people reminded, in two departments

    settled(everyone, support, tier2, expect=(2, 1, 0))
    titles = sorted(body["blocks"][0]["text"]["text"] for body in everyone.bodies())
    assert titles == ["Check-ins due: Customer Support", "Check-ins due: Marketing"]
    (support_message,) = support.bodies()
    listed = "\n".join(
        block["text"]["text"] for block in support_message["blocks"] if "text" in block
    )
    assert "max" in listed and "sue" in listed and "lee" not in listed
    assert "sam" in listed and "2 KPIs without a value" in listed  # sam owes two

    again = send_checkin_reminders.delay(day="2027-03-28").get(timeout=60)
    assert again == 0
    settled(everyone, support, tier2, expect=(2, 1, 0))  # nothing more


def test_a_department_goals_health_change_posts_once_and_a_teams_or_persons_none(
    acme, tree, target, worker
):
    # The objective has data of its own (100 %): a department goal at 0 % (at risk in
    # mid-March) leaves it on track, so the department goal's is the only health that moves.
    kpi_record_value(actor=acme.leader, kpi=tree.strategic_kpi, value=90)
    team = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="team",
        title="Clear the escalation backlog",
        parent=tree.department,
        department=acme.tier2,
    )
    _, everyone = target(events=["goal.health_changed"], platform="teams")
    _, support = target(department=acme.support, events=["goal.health_changed"])
    _, marketing = target(department=acme.marketing, events=["goal.health_changed"])

    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=10)  # baseline: 0 %
    assert Goal.objects.get(pk=tree.department.pk).health == "at_risk"
    assert Goal.objects.get(pk=tree.strategic.pk).health == "on_track"
    settled(everyone, support, marketing, expect=(1, 1, 0))
    (slack,) = support.bodies()
    assert slack["text"] == (
        "“Reduce average response time by 20%” is now At risk (was No check-in yet) · 0 % · "
        "Customer Support"
    )
    card = everyone.bodies()[0]["attachments"][0]["content"]
    assert card["actions"][0]["url"].endswith(f"/goals/{tree.department.pk}/")

    # A team's goal below moves (no data → at risk, at 0 %), and so does a person's
    # goal; the department goal stays at risk (its parts all at 0 %): nothing is posted.
    team_kpi = kpi_create(
        actor=acme.leader, goal=team, name="Escalations", unit="%", baseline=0, target=100
    )
    kpi_record_value(actor=acme.manager, kpi=team_kpi, value=0)
    assert Goal.objects.get(pk=team.pk).health == "at_risk"
    settled(everyone, support, marketing, expect=(1, 1, 0))
    # The person's goal below moves (no data → at risk, at 0 %); the department goal
    # stays at risk (its parts at 0 %): nothing is posted.
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=6)
    assert Goal.objects.get(pk=tree.individual.pk).health == "at_risk"
    assert Goal.objects.get(pk=tree.department.pk).health == "at_risk"
    settled(everyone, support, marketing, expect=(1, 1, 0))


def test_a_completed_review_posts_one_summary(acme, tree, target, worker):
    _, everyone = target(events=["review.completed"])
    _, support = target(department=acme.support, events=["review.completed"], platform="teams")
    _, marketing = target(department=acme.marketing, events=["review.completed"])
    review = review_start(
        actor=acme.leader, review=schedule(acme.leader, cycle=acme.cycle, goal=tree.department)
    )
    item = review.items.get(goal=tree.department)
    review_item_update(actor=acme.leader, item=item, assessment="at_risk", decision="Hire one")
    action_create(
        actor=acme.leader,
        review=review,
        item=item,
        title="Post the job",
        owner=acme.manager,
        due=dt.date(2027, 4, 15),
    )
    review_complete(actor=acme.leader, review=review)

    settled(everyone, support, marketing, expect=(1, 1, 0))
    (summary,) = everyone.bodies()
    text = json_text(summary)
    assert "Review completed: Check-in" in text
    assert "Goal: Reduce average response time by 20%" in text
    assert "Post the job — max, due 2027-04-15" in text
    assert "Reduce average response time by 20%: Hire one" in text


def json_text(body: dict) -> str:
    """Every text of a Slack message, one per line."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for each in node:
                walk(each)

    walk(body)
    return "\n".join(found)


def test_a_test_message_over_the_api_is_posted_once_and_listed(acme, target, worker):
    made, channel = target(platform="teams")
    admin = client_for(acme.admin)
    sent = admin.post(f"{API}/chat-targets/{made.pk}/test/")
    assert sent.status_code == 202, sent.content
    assert (sent.json()["event"], sent.json()["state"]) == ("test", "pending")
    settled(channel, expect=(1,))
    (card,) = channel.bodies()
    assert (
        card["attachments"][0]["content"]["body"][0]["text"] == "Cascade is connected to #everyone"
    )
    listed = admin.get(f"{API}/chat-targets/{made.pk}/messages/").json()["results"]
    assert [(m["event"], m["state"], m["attempts"], m["last_status"]) for m in listed] == [
        ("test", "delivered", 1, 200)
    ]
    assert channel.listener.seen[0].headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_service_that_refuses_is_tried_again_until_it_takes_the_message(acme, services, worker):
    channel = services("slack", answers=[Answer(400, body=b"invalid_blocks")] * 2)
    made = chat_target_create(
        actor=acme.admin, platform="slack", name="#x", url=channel.url, events=["checkin.due"]
    )
    chat_target_test(actor=acme.admin, target=made)
    message = until(lambda: ChatMessage.objects.filter(state="delivered").first())
    assert channel.count() == 3  # refused twice, taken the third time
    assert (message.attempts, message.last_status, message.last_error) == (3, 200, "")
    assert len({seen.body for seen in channel.listener.seen}) == 1  # the same each time
