"""An owed job that fails is kept, tried again after a pause that doubles from a minute
to an hour, and given up (logged) after a day; one done is never done again."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from kpis.services import kpi_create, kpi_record_value
from kpis.tasks import notify_kpi_health
from org.models import Notification, OwedJob
from org.outbox import do_owed_job, retry_pause, sweep_owed_jobs

pytestmark = pytest.mark.django_db


def test_the_pause_doubles_from_a_minute_to_an_hour():
    assert [retry_pause(n).total_seconds() / 60 for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


def test_a_failing_job_waits_its_pause_and_is_given_up_after_a_day(caplog):
    job = OwedJob.objects.create(task="kpis.tasks.renamed_since", kwargs={})  # not registered
    assert do_owed_job(job.pk) == "retry"
    job.refresh_from_db()
    assert job.attempts == 1 and "NotRegistered" in job.last_error and job.done_at is None
    assert job.next_try - timezone.now() == pytest.approx(
        dt.timedelta(minutes=1), abs=dt.timedelta(seconds=5)
    )
    assert do_owed_job(job.pk) == "skipped"  # not due yet
    assert sweep_owed_jobs() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1, seconds=1)):
        assert do_owed_job(job.pk) == "retry"
    job.refresh_from_db()
    assert job.attempts == 2
    with caplog.at_level(logging.ERROR), time_machine.travel(job.created_at + dt.timedelta(days=1)):
        assert do_owed_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.failed_at is not None and job.attempts == 3
    assert "Gave up owed job" in caplog.text
    assert do_owed_job(job.pk) == "skipped"


def test_a_job_done_is_not_done_again_and_is_forgotten_after_a_week(acme, tree):
    kpi = kpi_create(
        actor=acme.leader, goal=tree.department, name="Uptime", unit="%", baseline=0, target=100
    )
    kpi_record_value(actor=acme.leader, kpi=kpi, value=100)
    slipped = kpi_record_value(actor=acme.leader, kpi=kpi, value=0)  # owes max a word
    job = OwedJob.objects.get()
    assert job.kwargs == {"update_id": slipped.pk, "health_before": "done"}
    assert job.task == notify_kpi_health.name
    assert do_owed_job(job.pk) == "done"
    assert do_owed_job(job.pk) == "skipped"
    assert sweep_owed_jobs() == 0
    assert Notification.objects.filter(kind="kpi_health", member=acme.manager).count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        sweep_owed_jobs()
    assert not OwedJob.objects.filter(pk=job.pk).exists()
