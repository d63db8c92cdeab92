"""The digest job as it runs in production: beat asks for it every 15 minutes, and a
real Celery worker (threads in this process, the real Redis broker) runs the task,
whose emails reach the real SMTP server; asked again, it sends nothing twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from cascade.celery import app
from reviews.models import WeeklyDigest
from reviews.tasks import send_weekly_digests

from ..jobs.conftest import broker, wait, worker  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def test_beat_asks_for_the_digests_every_15_minutes():
    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digests"]
    assert entry["task"] == "reviews.tasks.send_weekly_digests" in app.tasks
    schedule = entry["schedule"]
    assert schedule.minute == {0, 15, 30, 45}
    assert schedule.hour == set(range(24)) and schedule.day_of_week == set(range(7))
    # A Monday morning's first run comes within 15 minutes of DIGEST_HOUR.
    seven = dt.datetime(2027, 3, 15, 7, 0, tzinfo=dt.UTC)
    remaining = schedule.remaining_estimate(seven - dt.timedelta(minutes=1))
    assert remaining <= dt.timedelta(minutes=15)


def test_a_real_worker_sends_the_weeks_digests_once(week, smtp, worker):  # noqa: F811
    # The tests' clock: Monday, March 15, 2027, 13:00 in Berlin — digests are due.
    [sent] = wait([send_weekly_digests.delay()])
    assert sent == 5 == len(smtp.digests())
    assert WeeklyDigest.objects.filter(week="2027-W11").count() == 8
    [again] = wait([send_weekly_digests.delay()])
    assert again == 0
    assert len(smtp.digests()) == 5
