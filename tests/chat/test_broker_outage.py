"""Chat messages are an outbox (SPEC §9.4, §9.6): with the broker down, the writes that
owe messages — a check-in reminder run, a value that moves a department goal's health,
a completed review — are saved with their messages pending; once Redis is back, a real
worker runs the minute's sweep (as beat would) and each message reaches its channel
exactly once; a second sweep sends nothing more."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker

from cascade.celery import app as celery_app
from kpis.reminders import checkin_reminders_send_due
from kpis.services import kpi_record_value
from org.chat import resend_due_chat_messages
from org.models import ChatMessage
from reviews.services import review_complete, review_start

from ..jobs.conftest import until
from ..reviews.helpers import schedule

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)


def test_with_the_broker_down_messages_wait_and_each_goes_out_once(
    acme,
    tree,
    target,
    own_broker,
    caplog,
):
    # The objective has data of its own: below, only the department goal's health moves.
    kpi_record_value(actor=acme.leader, kpi=tree.strategic_kpi, value=90)
    review = review_start(
        actor=acme.leader, review=schedule(acme.leader, cycle=acme.cycle, department=acme.support)
    )
    everyone_target, everyone = target()
    support_target, support = target(department=acme.support, platform="teams")
    own_broker.stop()

    # Check-ins due: the KPIs of sam (Support) and of max (Support) lack a value for Q1;
    # the leader's strategic KPI has one.
    assert checkin_reminders_send_due(day=dt.date(2027, 3, 28)) == 2
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=10)  # → at risk
    review_complete(actor=acme.leader, review=review)

    owed = {
        everyone_target.pk: ChatMessage.objects.filter(target=everyone_target).count(),
        support_target.pk: ChatMessage.objects.filter(target=support_target).count(),
    }
    assert owed == {everyone_target.pk: 3, support_target.pk: 3}  # one per event each
    assert set(ChatMessage.objects.values_list("state", flat=True)) == {"pending"}
    assert everyone.count() == support.count() == 0
    assert "it stays owed in the outbox, and the sweep does it" in caplog.text

    own_broker.start()  # Redis is back, empty: every task sent while it was down is gone
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False):
        resend_due_chat_messages.delay()  # the minute's sweep, as beat sends it
        until(lambda: not ChatMessage.objects.exclude(state="delivered").exists())
        until(lambda: everyone.count() >= 3 and support.count() >= 3)
        resend_due_chat_messages.delay()  # a second minute: nothing is due
        time.sleep(1.5)

    assert (everyone.count(), support.count()) == (3, 3)  # each message exactly once
    messages = ChatMessage.objects.all()
    assert {(m.state, m.attempts) for m in messages} == {("delivered", 1)}
    assert sorted(m.event for m in messages) == sorted(
        ["checkin.due", "goal.health_changed", "review.completed"] * 2
    )
    sent = sorted(body["text"] for body in everyone.bodies())
    assert sent == sorted(m.payload["text"] for m in messages.filter(target=everyone_target))
