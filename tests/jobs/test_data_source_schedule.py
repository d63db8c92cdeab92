"""KPI data sources on their schedule (SPEC §9.6; kpis/feeds.py): real Celery worker
processes and a real beat, on the test's Redis and PostgreSQL, fetch from real HTTP
servers in the test while the clock moves across hours and a midnight. Each hourly
source is fetched once an hour, each daily one once a day, and a value recorded once
per fetch that changed it — never twice however often the fetch is delivered, by how
many workers at once, or when the worker fetching it is killed.

The clock of the workers and beat is moved with libfaketime, as in
test_embedded_default.py: every process reads its offset from a file the test writes.
Beat ticks every second (`--max-interval 1`) and sends the minute's tasks, among them
"kpi-sources" (kpis.feeds.fetch_due_sources), as soon as the moved clock passes a
minute. The test waits on what the worker logs ("Task … succeeded in …: <result>"),
never on how long something takes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from kpis.feeds import fetch_source, source_set
from kpis.models import KpiSource, KpiUpdate

from ..outbound import Answer
from .conftest import until
from .test_embedded_default import SLEEP_WITH_SELECT, libfaketime, move_clock
from .test_worker_killed_mid_send import WorkerProcess, free_port

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)

EVENING = dt.datetime(2027, 3, 15, 21, 0, 5, tzinfo=dt.UTC)  # in the `acme` cycle of 2027
DISPATCHED = re.compile(r"kpis\.feeds\.fetch_due_sources\[[^\]]+\] succeeded in \S+: (\d+)")
FETCHED = re.compile(r"kpis\.feeds\.fetch_source\[[^\]]+\] succeeded in \S+: '(\w+)'")


def at(hour: int, minute: int, day: int = 15) -> dt.datetime:
    """A moment of March 2027 to move the clock to: half past a minute, so that beat
    sends the minute's tasks once on arriving, and not again for half a minute."""
    return dt.datetime(2027, 3, day, hour, minute, 30, tzinfo=dt.UTC)


def number(value: float, delay: float = 0.0) -> Answer:
    """A source's answer: `{"value": value}`."""
    body = json.dumps({"value": value}).encode()
    return Answer(headers={"Content-Type": "application/json"}, body=body, delay=delay)


class Clock:
    """The moved clock of the processes started with its `env` (libfaketime)."""

    def __init__(self, folder: Path, moment: dt.datetime):
        site = folder / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SLEEP_WITH_SELECT)
        self.file = folder / "faketime"
        self.move_to(moment)
        self.env = {
            "LD_PRELOAD": " ".join(filter(None, [libfaketime(), os.getenv("LD_PRELOAD")])),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            # Read at every look at the clock: a worker never acts on an older time
            # than beat, which sent it the minute's task.
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "NO_FAKE_STAT": "1",
            "PYTHONPATH": str(site),
            "OUTBOUND_ALLOW_PRIVATE": "true",  # the sources answer on 127.0.0.1
        }

    def move_to(self, moment: dt.datetime) -> None:
        """From now on the processes' clocks say `moment`, and run on from there (the
        file is replaced whole: a process never reads it half written)."""
        written = self.file.with_suffix(".new")
        move_clock(written, moment)
        os.replace(written, self.file)


class ThreadsWorker(WorkerProcess):
    """A worker process with one thread, as bin/run runs them (prefork's pool, under
    the moved clock, may leave a task received last in a burst waiting for the next
    message to arrive)."""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "cascade", "worker"),
                *("--pool=threads", "--concurrency=1", "--loglevel=INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=django_settings.BASE_DIR,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group: the kill takes it all
        )


class BeatProcess(WorkerProcess):
    """`celery beat` in its own process group, ticking at least every second (with
    LOG_LEVEL=DEBUG the test sees when it has loaded its schedule: "Waking up")."""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "cascade", "beat"),
                *("--schedule", str(self.log.with_suffix(".schedule"))),
                *("--max-interval", "1", "--loglevel=DEBUG"),
            ],
            cwd=django_settings.BASE_DIR,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class Jobs:
    """The worker processes (and beat) of a test, on one moved clock, and what their
    logs say they did."""

    def __init__(self, folder: Path, clock: Clock):
        self.folder, self.clock = folder, clock
        self.workers: list[WorkerProcess] = []
        self.beat: BeatProcess | None = None
        self.smtp_port = free_port()  # nothing listens: the sources send no email

    def start(self, workers: int = 1, beat: bool = False) -> list[WorkerProcess]:
        """Start `workers` more worker processes (and beat), all at once; return once
        each is ready (beat: its schedule loaded)."""
        started = []
        for _ in range(workers):
            log = self.folder / f"worker-{len(self.workers) + 1}.log"
            started.append(ThreadsWorker(log, self.smtp_port, **self.clock.env))
            self.workers.append(started[-1])
        if beat:
            self.beat = BeatProcess(
                self.folder / "beat.log", self.smtp_port, LOG_LEVEL="DEBUG", **self.clock.env
            )
        for process in [*started, *([self.beat] if beat else [])]:
            process.start()
        for worker in started:
            until(lambda w=worker: "ready." in w.log.read_text(), 60, worker.log.stem, self.explain)
        if self.beat is not None:
            until(lambda: "Waking up" in self.beat.log.read_text(), 60, "beat", self.explain)
        return started

    def stop(self) -> None:
        """Stop them all together (each as WorkerProcess.stop does)."""
        running = [
            p.process
            for p in [*self.workers, self.beat]
            if p is not None and p.process is not None and p.process.poll() is None
        ]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def logs(self) -> str:
        return "".join(worker.log.read_text() for worker in self.workers)

    def dispatches(self) -> list[int]:
        """How many fetches each run of fetch_due_sources asked."""
        return [int(n) for n in DISPATCHED.findall(self.logs())]

    def fetches(self, log: str | None = None) -> list[str]:
        """What each run of fetch_source came to: recorded, unchanged, failed, skipped."""
        return FETCHED.findall(self.logs() if log is None else log)

    def explain(self) -> str:
        logs = [p for p in (*self.workers, self.beat) if p is not None]
        return "".join(f"\n--- {p.log.name}:\n{p.log.read_text()[-3000:]}" for p in logs)

    def minute_at(self, moment: dt.datetime) -> int:
        """Move the clock to `moment`: beat's minute tasks go; wait until the worker has
        run fetch_due_sources and every fetch it asked. How many it asked."""
        before, fetched = len(self.dispatches()), len(self.fetches())
        self.clock.move_to(moment)
        until(lambda: len(self.dispatches()) > before, 60, f"a dispatch at {moment}", self.explain)
        asked = fetched + sum(self.dispatches()[before:])
        until(lambda: len(self.fetches()) >= asked, 60, f"the fetches at {moment}", self.explain)
        return self.dispatches()[before]


@pytest.fixture
def jobs(require_postgres, broker, settings, tmp_path):
    """Workers and beat sharing the test's PostgreSQL and Redis, their clock at 21:00 on
    15 March 2027; stopped (killed, if need be) at the end."""
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the sources answer on 127.0.0.1
    made = Jobs(tmp_path, Clock(tmp_path, EVENING))
    try:
        yield made
    finally:
        made.stop()


def http_source(acme, kpi, listener, name: str, schedule: str) -> KpiSource:
    return source_set(
        actor=acme.leader,
        kpi=kpi,
        kind="http_json",
        name=name,
        url=f"http://127.0.0.1:{listener.port}/{schedule}",
        pointer="/value",
        schedule=schedule,
    )


def recorded(kpi) -> list[KpiUpdate]:
    return list(KpiUpdate.objects.filter(kpi=kpi).order_by("created_at", "id"))


def hits(listener) -> list[str]:
    return [seen.path for seen in listener.seen]


def test_beat_and_a_worker_fetch_hourly_sources_once_an_hour_and_daily_ones_once_a_day(
    acme, tree, listen, jobs
):
    hourly_server = listen(answers=[number(v) for v in (11, 12, 13, 14)])
    daily_server = listen(answers=[number(v) for v in (201, 202)])
    hourly_kpi, daily_kpi = tree.department_kpi, tree.individual_kpi
    hourly = http_source(acme, hourly_kpi, hourly_server, "Support desk", "hourly")
    daily = http_source(acme, daily_kpi, daily_server, "CRM", "daily")
    jobs.start(beat=True)

    assert jobs.minute_at(at(21, 30)) == 2  # both due: the hour's and the day's first fetch
    assert (hits(hourly_server), hits(daily_server)) == (["/hourly"], ["/daily"])
    assert jobs.minute_at(at(21, 45)) == 0  # the same hour and day: nothing due
    assert jobs.minute_at(at(22, 30)) == 1  # the next hour: the hourly source only
    assert jobs.minute_at(at(22, 59)) == 0
    assert jobs.minute_at(at(23, 30)) == 1
    assert jobs.minute_at(at(0, 30, day=16)) == 2  # past midnight: a new hour and a new day
    assert jobs.minute_at(at(0, 40, day=16)) == 0

    assert hits(hourly_server) == ["/hourly"] * 4  # one fetch an hour: 21, 22, 23, 00
    assert hits(daily_server) == ["/daily"] * 2  # one a day: the 15th and the 16th
    assert jobs.fetches() == ["recorded"] * 6, jobs.explain()
    for kpi, values, name in (
        (hourly_kpi, [11, 12, 13, 14], "Support desk"),
        (daily_kpi, [201, 202], "CRM"),
    ):
        updates = recorded(kpi)
        assert [u.value for u in updates] == values  # each fetch's new value, once
        assert {(u.author_id, u.source_name, u.author_name) for u in updates} == {
            (None, name, f"from {name}")
        }
    hourly.refresh_from_db()
    daily.refresh_from_db()
    assert (hourly.done_slot, hourly.last_value) == ("2027-03-16T00", 14)
    assert hourly.next_fetch_at == dt.datetime(2027, 3, 16, 1, tzinfo=dt.UTC)
    assert (daily.done_slot, daily.last_value) == ("2027-03-16", 202)
    assert daily.next_fetch_at == dt.datetime(2027, 3, 17, tzinfo=dt.UTC)
    assert hourly.failures == daily.failures == 0


def test_a_fetch_delivered_many_times_to_two_workers_fetches_and_records_once(
    acme, tree, listen, jobs
):
    server = listen(answers=[number(31, delay=1), number(32), number(33)])
    kpi = tree.department_kpi
    source = http_source(acme, kpi, server, "Support desk", "hourly")
    first, second = jobs.start(workers=2)
    jobs.clock.move_to(at(21, 5))

    # The same task, as the broker redelivers it, taken by both workers: the first to
    # claim the hour fetches (the server holds its answer a second), the rest skip.
    task = str(uuid.uuid4())
    for _ in range(6):
        fetch_source.apply_async((source.pk, "2027-03-15T21"), task_id=task)
    until(lambda: len(jobs.fetches()) == 6, 60, "six deliveries run", jobs.explain)
    assert sorted(jobs.fetches()) == ["recorded"] + ["skipped"] * 5
    assert jobs.fetches(first.log.read_text()) and jobs.fetches(second.log.read_text())
    assert hits(server) == ["/hourly"]
    assert [u.value for u in recorded(kpi)] == [31]

    # The next hour's fetch, then the first hour's task once more, late (a worker
    # killed with it comes back after the broker's visibility timeout): nothing.
    jobs.clock.move_to(at(22, 5))
    fetch_source.apply_async((source.pk, "2027-03-15T22"))
    until(lambda: len(jobs.fetches()) == 7, 60, "the next hour's fetch", jobs.explain)
    fetch_source.apply_async((source.pk, "2027-03-15T21"), task_id=task)
    until(lambda: len(jobs.fetches()) == 8, 60, "the late delivery", jobs.explain)
    assert Counter(jobs.fetches()) == {"recorded": 2, "skipped": 6}
    assert hits(server) == ["/hourly"] * 2
    assert [u.value for u in recorded(kpi)] == [31, 32]
    source.refresh_from_db()
    assert (source.done_slot, source.failures, source.last_error) == ("2027-03-15T22", 0, "")


def test_a_worker_killed_mid_fetch_leaves_a_claim_that_lapses_and_the_next_dispatch_records_once(
    acme, tree, listen, jobs
):
    server = listen(answers=[number(41, delay=30), number(42)])
    kpi = tree.department_kpi
    source = http_source(acme, kpi, server, "Support desk", "hourly")
    [doomed] = jobs.start(beat=True)

    before = len(jobs.dispatches())
    jobs.clock.move_to(at(21, 5))  # beat's minute: the source is due, the worker fetches…
    until(lambda: server.seen, 60, "the fetch", jobs.explain)
    assert jobs.dispatches()[before:] == [1]
    doomed.kill()  # …and is killed while the server holds its answer
    source.refresh_from_db()
    assert (source.claimed_slot, source.done_slot) == ("2027-03-15T21", "")
    assert not recorded(kpi)

    jobs.start()
    # Past the dispatch's 10 minutes (and the claim's minute), before the broker gives
    # the killed worker's task back (14 minutes): the next minute asks the fetch again.
    assert jobs.minute_at(at(21, 16)) == 1
    assert jobs.minute_at(at(21, 17)) == 0
    assert jobs.fetches() == ["recorded"], jobs.explain()
    assert hits(server) == ["/hourly"] * 2  # the killed fetch, and the one that recorded
    assert [(u.value, u.author_name) for u in recorded(kpi)] == [(42, "from Support desk")]
    source.refresh_from_db()
    assert (source.done_slot, source.last_value, source.failures) == ("2027-03-15T21", 42, 0)
