"""Chat costs a write nothing unless it has news (SPEC §8 speed, §9.6): a value that
moves no strategic or department goal's health takes the same statements with chat
targets as without (they are read with the webhooks, in the one statement the write
already makes); one that moves two adds exactly what the news needs — the goals'
titles, the department tree (a target belongs to a department), and one INSERT of the
messages. The recording query-count tests (tests/api/test_query_counts.py,
tests/goals/test_rollup_scale.py, tests/pages/test_query_counts.py) hold unchanged."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Goal
from org.chat import chat_target_create
from org.models import ChatMessage

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db

URL = "https://10.0.0.7/services/T0001/B0001/NyanNyanSecretPart1234"
EVENTS = ["checkin.due", "goal.health_changed", "review.completed"]


def recorded(client, kpi, value: float) -> list[str]:
    """The SQL of one value recorded through the API, less the SAVEPOINT pair a test's
    enclosing transaction adds."""
    with CaptureQueriesContext(connection) as captured:
        answer = client.post(f"{API}/kpis/{kpi.pk}/updates/", {"value": value}, format="json")
    assert answer.status_code == 201, answer.content
    return [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


def health(goal) -> str:
    return Goal.objects.get(pk=goal.pk).health


def test_a_value_without_news_costs_nothing_more_and_one_with_news_only_what_it_needs(
    acme, tree, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    manager = client_for(acme.manager)
    kpi = tree.department_kpi  # 10 hours → 8: 9 is 50 % (on track), 9.5 25 %, 10 0 %
    recorded(manager, kpi, 9)  # the day's first value: its history points are made
    quiet = recorded(manager, kpi, 9.5)  # still on track: no health moves
    assert (health(tree.department), health(tree.strategic)) == ("on_track", "on_track")
    moving = recorded(manager, kpi, 10)  # 0 %: both goals at risk
    assert (health(tree.department), health(tree.strategic)) == ("at_risk", "at_risk")
    recorded(manager, kpi, 9)  # on track again

    for department in (None, acme.support):
        chat_target_create(
            actor=acme.admin,
            platform="slack",
            name="#goals",
            url=URL,
            department=department,
            events=EVENTS,
        )
    quiet_heard = recorded(manager, kpi, 9.5)
    assert len(quiet_heard) == len(quiet)  # no news: not one statement more
    (listeners,) = [sql for sql in quiet_heard if "org_chattarget" in sql]
    assert "org_webhook" in listeners and "UNION ALL" in listeners  # the one read of both
    assert not ChatMessage.objects.exists()

    moving_heard = recorded(manager, kpi, 10)
    assert (health(tree.department), health(tree.strategic)) == ("at_risk", "at_risk")
    # news: the goals' titles, the department tree, one INSERT of the messages
    assert len(moving_heard) == len(moving) + 3
    assert sum("org_chattarget" in sql for sql in moving_heard) == 1
    assert sum(sql.startswith('INSERT INTO "org_chatmessage"') for sql in moving_heard) == 1
    # the organization's target hears both goals, the department's its own goal's
    assert ChatMessage.objects.count() == 3
