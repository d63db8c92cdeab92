"""Reminder email is sent at least once and never twice, even when the worker is
killed mid-send. A real Celery worker process, the
real Redis broker, PostgreSQL (which that process shares with the test) and a real
SMTP server (aiosmtpd) that holds one message unanswered while the test kills the
worker with SIGKILL; a new worker then runs the 5-minute retry task, as beat would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from kpis.models import CheckinReminder
from kpis.tasks import resend_owed_checkin_emails, send_checkin_reminders
from org.models import Notification

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory
from .conftest import wait

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)

OWNERS = 12
HELD = 5  # the SMTP server holds the 5th message: four went out before the kill
LEASE_SECONDS = 3
DAY = "2027-03-28"  # in the reminder window of March 2027


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An SMTP server's delivery: a message is delivered when the server answers 250.
    The `hold`-th message is held unanswered (a slow server) until `release`."""

    def __init__(self, hold: int):
        self.hold, self.seen = hold, 0
        self.delivered: list[str] = []
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen == self.hold:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 Requested action aborted: try again later"
        self.delivered.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    mailbox = Mailbox(hold=HELD)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    mailbox.release.set()
    controller.stop()


class WorkerProcess:
    """`celery worker` in its own process group, on this test's database and broker."""

    def __init__(self, log: Path, smtp_port: int):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
            f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            # The `broker` fixture has set this test process's own Redis database.
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "CELERY_RESULT_BACKEND": os.environ["CELERY_BROKER_URL"],
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "EMAIL_TIMEOUT": "10",
            "EMAIL_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.log, self.process = log, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "cascade", "worker"),
                *("--pool=prefork", "--concurrency=1", "--loglevel=INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group: the kill takes the pool too
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture
def owners(acme):
    """Twelve people, each owning a KPI without a value in March 2027."""
    cycle = CycleFactory(organization=acme.org, name="2027 monthly", cadence="monthly")
    root = GoalFactory(cycle=cycle, organization=acme.org, level="strategic")
    people = [MemberFactory(organization=acme.org) for _ in range(OWNERS)]
    for person in people:
        KpiFactory(goal=root, owner=person, name=f"Demos booked by {person.user.username}")
    return people


def test_a_worker_killed_mid_send_leaves_the_rest_owed_and_the_retry_sends_each_once(
    require_postgres, acme, owners, broker, smtp, tmp_path
):
    mailbox, port = smtp
    worker = WorkerProcess(tmp_path / "worker.log", port)
    worker.start()
    try:
        send_checkin_reminders.delay(DAY)
        assert mailbox.holding.wait(90), (tmp_path / "worker.log").read_text()[-3000:]
        worker.kill()  # mid-send: the server holds the 5th message unanswered
        mailbox.release.set()

        owed = CheckinReminder.objects.filter(email_due=True)
        assert len(mailbox.delivered) == HELD - 1
        assert owed.count() == OWNERS - (HELD - 1)
        assert Notification.objects.filter(kind="checkin_reminder").count() == OWNERS

        time.sleep(LEASE_SECONDS + 0.5)  # the killed run's lease on the held email lapses
        worker.start()
        assert wait([resend_owed_checkin_emails.delay(DAY)], timeout=90) == [OWNERS - HELD + 1]
        assert wait([resend_owed_checkin_emails.delay(DAY)], timeout=90) == [0]
    finally:
        worker.stop()

    emails = {person.user.email for person in owners}
    assert Counter(mailbox.delivered) == Counter(emails)  # every owner once, nobody twice
    assert not owed.exists()
    assert Notification.objects.filter(kind="checkin_reminder").count() == OWNERS
    assert {r.email_attempts for r in CheckinReminder.objects.all()} == {1}


def test_a_pool_process_killed_mid_send_has_its_task_run_again_and_nobody_mailed_twice(
    require_postgres, acme, owners, broker, smtp, tmp_path
):
    mailbox, port = smtp
    worker = WorkerProcess(tmp_path / "worker.log", port)
    worker.start()
    try:
        first = send_checkin_reminders.delay(DAY)
        assert mailbox.holding.wait(90), (tmp_path / "worker.log").read_text()[-3000:]
        [pool] = (
            Path(f"/proc/{worker.process.pid}/task/{worker.process.pid}/children")
            .read_text()
            .split()
        )
        os.kill(int(pool), signal.SIGKILL)  # the worker lives on and runs the task again
        mailbox.release.set()
        assert first.get(timeout=90) == 0  # the rerun: every reminder already claimed…
        sent = len(mailbox.delivered)  # …and sent, but the held one if it was still leased
        assert sent in (OWNERS - 1, OWNERS)
        time.sleep(LEASE_SECONDS + 0.5)
        assert wait([resend_owed_checkin_emails.delay(DAY)], timeout=90) == [OWNERS - sent]
    finally:
        worker.stop()

    assert Counter(mailbox.delivered) == Counter(person.user.email for person in owners)
    assert not CheckinReminder.objects.filter(email_due=True).exists()
    assert Notification.objects.filter(kind="checkin_reminder").count() == OWNERS
