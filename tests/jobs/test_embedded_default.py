"""SPEC §9.4, "the embedded default runs the real jobs": `bin/run` in a fresh clone, with
no Redis and no PostgreSQL, starts a Celery worker and beat beside the web server on a
broker that is a folder (var/broker). So a webhook receiver that fails once gets the
event again and keeps it, a slow receiver does not slow down recording a value, and
beat sends the check-in reminders at REMINDER_HOUR_UTC. Ctrl-C (SIGINT to bin/run's
process group) then stops them all: no process of the run is left (tests/bin_run.py).

The clock of bin/run's whole process tree is moved with libfaketime (Debian's
`faketime` package, preloaded into every process: the C library's wall clock, which
Python, Django, Celery and SQLite all read). It starts at 06:50 UTC two days before the
end of this quarter, when the demo's Lee and Ivy owe a value and so are due a reminder;
the reminder check moves it past 07:00, the hour the reminders fire. Webhook retries
start after 2 s here (WEBHOOK_RETRY_SECONDS; 30 s by default), so the retry check takes
seconds, not half a minute."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
import time_machine
from cryptography.fernet import Fernet

from ..bin_run import Running, bin_run
from ..outbound import Answer, Listener
from .conftest import until as jobs_until

pytestmark = pytest.mark.slow

API = "/api/v1"
PASSWORD = "cascade-demo"
REMINDER_HOUR = 7
# libfaketime 0.9.10 (Debian 12) answers EINVAL to clock_nanosleep(CLOCK_MONOTONIC,
# TIMER_ABSTIME) when it leaves the monotonic clock alone (wolfcw/libfaketime#426), and
# Python ≥ 3.11's time.sleep calls just that: the processes under the moved clock sleep
# with select() instead, which waits the same (relative) time.
SLEEP_WITH_SELECT = """\
import select
import time


def _sleep(seconds):
    select.select([], [], [], seconds)


time.sleep = _sleep
"""


def libfaketime() -> str:
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        pytest.skip("needs libfaketime: apt-get install faketime (.ci/run installs it)")
    return str(found[0])


def reminder_day(today: dt.date) -> dt.date:
    """Two days before the end of `today`'s quarter: in the last 7 days of the period,
    when everyone still owing a value for it is reminded."""
    last_month = dt.date(today.year, (today.month - 1) // 3 * 3 + 3, 28)
    quarter_end = (last_month + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return quarter_end - dt.timedelta(days=2)


def move_clock(clock: Path, moment: dt.datetime) -> None:
    """Every process under libfaketime reads `clock` (at most a second old): from now on
    its wall clock says `moment`, and runs on from there."""
    clock.write_text(f"{round(moment.timestamp() - real_time()):+d}\n")


def real_time() -> float:
    """The machine's clock: tests/conftest.py moves the tests' own to 2027."""
    hatch = time_machine.escape_hatch
    return hatch.time.time() if hatch.is_travelling() else time.time()


@dataclass
class Embedded:
    running: Running
    clock: Path  # libfaketime's offset from the real clock, read by every process
    day: dt.date
    tokens: dict[str, str]

    def move_clock_to(self, moment: dt.datetime) -> None:
        move_clock(self.clock, moment)

    def api(self, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call the API as the demo's `who` (an API token made at the first call)."""
        if who not in self.tokens:
            login = {"username": who, "password": PASSWORD}
            _, answer = call(f"{self.running.url}{API}/auth/token/", "POST", login)
            self.tokens[who] = answer["token"]
        return call(f"{self.running.url}{API}{path}", method, body, self.tokens[who])


def call(url: str, method: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    request = Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Token {token}"} if token else {}),
    )
    try:
        with urlopen(request, timeout=30) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except HTTPError as error:
        raise AssertionError(f"{method} {url}: {error.code} {error.read()[:500]!r}") from None


@contextmanager
def embedded_bin_run(folder: Path) -> Iterator[Embedded]:
    """bin/run in a fresh clone under `folder`, its clock at 06:50 UTC on the reminder
    day; stopped with Ctrl-C's signal afterwards."""
    preload = libfaketime()
    site = folder / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLEEP_WITH_SELECT)
    day = reminder_day(dt.datetime.fromtimestamp(real_time(), dt.UTC).date())
    clock = folder / "faketime"
    move_clock(clock, dt.datetime.combine(day, dt.time(REMINDER_HOUR - 1, 50), dt.UTC))
    with bin_run(
        folder,
        900,
        stop_with=signal.SIGINT,
        LD_PRELOAD=" ".join(filter(None, [preload, os.getenv("LD_PRELOAD")])),
        FAKETIME_TIMESTAMP_FILE=str(clock),
        FAKETIME_CACHE_DURATION="1",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        NO_FAKE_STAT="1",  # files keep their real times (Python's bytecode cache checks them)
        PYTHONPATH=str(site),
        OUTBOUND_ALLOW_PRIVATE="true",  # the receivers listen on 127.0.0.1
        WEBHOOK_RETRY_SECONDS="2",
        REMINDER_HOUR_UTC=str(REMINDER_HOUR),
    ) as running:
        yield Embedded(running, clock, day, {})


def until(condition: Callable[[], Any], timeout: float, what: str, running: Running) -> Any:
    """conftest's `until`, failing with the tail of everything bin/run wrote."""
    return jobs_until(condition, timeout, what, explain=lambda: f"\n{running.output()[-4000:]}")


def lenas_kpi(embedded: Embedded) -> int:
    _, me = embedded.api("lena", "GET", "/me/")
    _, kpis = embedded.api("lena", "GET", f"/kpis/?owner={me['id']}")
    return kpis["results"][0]["id"]


def record_value(embedded: Embedded, kpi: int, value: float) -> float:
    """Record a value as Lena; the seconds the API took to answer."""
    started = time.perf_counter()
    status, _ = embedded.api("lena", "POST", f"/kpis/{kpi}/updates/", {"value": value})
    assert status == 201
    return time.perf_counter() - started


def webhook_to(embedded: Embedded, receiver: Listener) -> int:
    status, hook = embedded.api(
        "ada",
        "POST",
        "/webhooks/",
        {"url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["kpi.update_recorded"]},
    )
    assert status == 201
    return hook["id"]


def check_a_webhook_answered_500_is_retried_and_delivered_within_two_minutes(
    embedded: Embedded,
) -> None:
    receiver = Listener(answers=[Answer(status=500)])
    try:
        hook = webhook_to(embedded, receiver)
        recorded = time.monotonic()
        record_value(embedded, lenas_kpi(embedded), 41)

        def delivered():
            _, log = embedded.api("ada", "GET", f"/webhooks/{hook}/deliveries/")
            return [d for d in log["results"] if d["state"] == "delivered"]

        [delivery] = until(delivered, 120, "the delivery delivered", embedded.running)
        assert time.monotonic() - recorded < 120
        assert delivery["last_status"] == 200
        # Answered 500 the first time, 200 the next: the same event each time.
        assert len(receiver.seen) >= 2
        assert len({seen.body for seen in receiver.seen}) == 1
        embedded.api("ada", "DELETE", f"/webhooks/{hook}/")
    finally:
        receiver.close()


def check_a_receiver_taking_3_seconds_adds_under_100_ms_to_recording_a_value(
    embedded: Embedded,
) -> None:
    """Each value with the slow receiver is recorded while the worker is in the middle
    of an attempt (the receiver has it and takes 3 s to answer)."""
    kpi = lenas_kpi(embedded)
    record_value(embedded, kpi, 50)  # the first request of a kind warms caches
    without = [record_value(embedded, kpi, 50 + n) for n in range(5)]
    receiver = Listener(answers=[Answer(delay=3)] * 10)
    try:
        hook = webhook_to(embedded, receiver)
        record_value(embedded, kpi, 59)
        with_slow_receiver = []
        for n in range(5):
            until(lambda n=n: len(receiver.seen) > n, 30, "an attempt under way", embedded.running)
            with_slow_receiver.append(record_value(embedded, kpi, 60 + n))
        embedded.api("ada", "DELETE", f"/webhooks/{hook}/")
    finally:
        receiver.close()
    added = statistics.median(with_slow_receiver) - statistics.median(without)
    assert added < 0.1, (without, with_slow_receiver)


def check_beat_sends_the_check_in_reminders_due_today_at_the_reminder_hour(
    embedded: Embedded,
) -> None:
    def reminded() -> list[dict]:
        _, notes = embedded.api("lee", "GET", "/notifications/")
        return [n for n in notes["results"] if n["kind"] == "checkin_reminder"]

    assert not reminded()  # 06:5x: not yet
    embedded.move_clock_to(
        dt.datetime.combine(embedded.day, dt.time(REMINDER_HOUR, 0, 5), tzinfo=dt.UTC)
    )
    [note] = until(reminded, 60, "Lee's reminder", embedded.running)
    quarter = f"{embedded.day.year}-Q{(embedded.day.month - 1) // 3 + 1}"
    assert quarter in note["title"]
    # The worker's console email reaches the log a moment after the notification shows.
    subject = re.compile(rf"Subject: Cascade check-in: \d+ KPI values? due for {quarter}")

    def emailed() -> str | None:
        output = embedded.running.output()
        return output if subject.search(output) else None

    output = until(emailed, 30, "the reminder email in bin/run's output", embedded.running)
    assert "Sending due task checkin-reminders (kpis.tasks.send_checkin_reminders)" in output


def check_bin_run_again_with_debug_off_serves_pages_and_their_static_files(
    folder: Path, checkout: Path
) -> None:
    """Trying the production settings locally (README, "Run it"), in the checkout bin/run
    has just stopped in: its migrations and the demo are there already, so bin/run starts
    on them; the static files are collected first, so a page names them by hash and they
    are served."""
    folder.mkdir()
    with bin_run(
        folder,
        900,
        checkout=checkout,
        DEBUG="false",
        SECRET_KEY="production-like-" + "k" * 40 + "0123456789",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SECURE_COOKIES="false",
        STATIC_ROOT=str(folder / "static"),
    ) as running:
        page = running.login_page.decode()
        stylesheet = re.search(r'href="(/static/css/cascade\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, page[:2000]
        with urlopen(f"{running.url}{stylesheet.group(1)}", timeout=5) as css:
            assert css.status == 200 and b"{" in css.read()


def test_bin_run_runs_the_real_jobs_in_a_fresh_clone_and_serves_static_files_with_debug_off(
    tmp_path,
):
    """One bin/run in a fresh clone (starting it takes half a minute; pytest-xdist would
    start one for each test of a module), three checks in turn, then Ctrl-C stops it
    all; then bin/run again in the same checkout, with DEBUG off."""
    with embedded_bin_run(tmp_path) as embedded:
        check_a_webhook_answered_500_is_retried_and_delivered_within_two_minutes(embedded)
        check_a_receiver_taking_3_seconds_adds_under_100_ms_to_recording_a_value(embedded)
        check_beat_sends_the_check_in_reminders_due_today_at_the_reminder_hour(embedded)
    check_bin_run_again_with_debug_off_serves_pages_and_their_static_files(
        tmp_path / "debug-off", embedded.running.checkout
    )
