"""The weekly digest at 10,000 people (SPEC §9.6, issue 33): one Monday morning's job
for the benchmark organization, every person's digest built from the database and sent
to a local SMTP server. Part of bin/bench, which runs this script in a process of its
own, configured as a Celery worker is (DEBUG off); alone: `bin/bench --only digest`.

1. What the benchmark organization lacks for a digest is added (and removed at the
   end): an open action item for every person and an overdue one for every third, of
   a review held two weeks before; and reviews in the week ahead — one per department
   (its people and its teams' take part), one of a strategic objective's subtree, one
   of the whole organization (everyone takes part: everyone gets a digest).
2. A local SMTP server (aiosmtpd) in a process of its own, on a free port of
   127.0.0.1, counts the messages it accepts.
3. The job (`reviews.digest.weekly_digests_send_due`) for Monday 08:00 UTC (the
   organization's zone) runs in a fresh process, as a worker runs it, with nothing else
   in it: its seconds (claim, then send) and CPU seconds, its SQL queries split per
   batch (each batch starts with its claim; BEGIN and COMMIT not counted), and its
   memory: how much the job added to the process (VmHWM, the peak resident size, less
   the size before it began, once the URLs and templates every worker that sends an
   email has were loaded), and the process's peak.
4. The other organizations' people are marked done for that week first, so the run
   serves the benchmark organization alone.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import django
from aiosmtpd.controller import Controller
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
if not apps.ready:  # run as a script (benchmarks/run.py imports the report)
    django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from cycles.models import Cycle  # noqa: E402
from demo.bench import org_name  # noqa: E402
from goals.models import Goal, Level  # noqa: E402
from org.models import Department, Member, Organization, Role  # noqa: E402
from reviews.digest import digests_claim, digests_send_owed, week_of  # noqa: E402
from reviews.models import ActionItem, Review, ReviewState, WeeklyDigest  # noqa: E402

TITLE = "Bench digest"  # the reviews this benchmark adds start with it
TARGET_S = 60
TARGET_MB = 150


# --- The SMTP server, in a process of its own ------------------------------------------


def smtp_server(port: int, count, ready) -> None:
    """Accept every message on 127.0.0.1:`port`, counting them in `count`."""

    class Counter:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            with count.get_lock():
                count.value += 1
            return "250 Message accepted for delivery"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The job, in a fresh process ----------------------------------------------------------


def memory_mb(field: str) -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status)[1]) / 1024


TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def per_batch(queries: list[dict]) -> list[int]:
    """The queries of each batch (a batch begins with its claim: SELECT … SKIP LOCKED);
    the BEGIN and COMMIT around the claim are not counted."""
    batches: list[int] = []
    for query in queries:
        sql = query["sql"]
        if sql.startswith(TRANSACTION):
            continue
        if sql.startswith("SELECT") and sql.endswith("SKIP LOCKED"):
            batches.append(0)
        if batches:
            batches[-1] += 1
    return batches


def warm() -> None:
    """What a worker has loaded before its first digest (any job that renders an email
    loads them): the URL configuration and the template engine, and a connection."""
    reverse("my-work")
    get_template("reviews/email/weekly_digest.html")
    connection.ensure_connection()


def job(now: dt.datetime) -> dict:
    """The job as a worker runs it, measured: claim, then send batch by batch."""
    warm()
    before = memory_mb("VmRSS")
    cpu = time.process_time()
    started = time.perf_counter()
    claimed = digests_claim(now)
    claim_s = time.perf_counter() - started
    with CaptureQueriesContext(connection) as sql:
        sent = digests_send_owed(now)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    batches = per_batch(sql.captured_queries)
    peak = memory_mb("VmHWM")
    return {
        "claimed": claimed,
        "sent": sent,
        "claim_s": round(claim_s, 2),
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "per_s": round(sent / seconds, 1) if seconds else 0,
        "batch_size": settings.DIGEST_BATCH_SIZE,
        "batches": len(batches),
        "queries_per_batch": batches,
        "rss_before_mb": round(before, 1),
        "peak_mb": round(peak, 1),
        "added_mb": round(peak - before, 1),
        "load": os.getloadavg()[0],
    }


# --- The scenario -------------------------------------------------------------------------


def monday_in(cycle: Cycle, today: dt.date) -> dt.datetime:
    """This week's Monday (or the last one of the cycle), 08:00 UTC: a week of history
    behind it and the cycle still running."""
    day = min(today, cycle.end - dt.timedelta(days=7))
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(8), tzinfo=dt.UTC)


def seeded(org: Organization, cycle: Cycle, now: dt.datetime) -> dict:
    """Actions for everyone and the week's reviews (bulk inserts: speed, not the
    services' checks, is measured here)."""
    leader = Member.objects.filter(organization=org, role=Role.LEADER).order_by("id").first()
    monday = now.date()
    held = Review.objects.create(
        organization=org,
        cycle=cycle,
        title=f"{TITLE}: last retro",
        period="",
        scheduled_for=now - dt.timedelta(days=14),
        facilitator=leader,
        state=ReviewState.COMPLETED,
        completed_at=now - dt.timedelta(days=14),
    )
    people = list(Member.objects.filter(organization=org).values_list("id", flat=True))
    actions = [
        ActionItem(review=held, title=f"Follow up {n}", owner_id=pk, due=monday + dt.timedelta(3))
        for n, pk in enumerate(people)
    ] + [
        ActionItem(review=held, title=f"Late {n}", owner_id=pk, due=monday - dt.timedelta(4))
        for n, pk in enumerate(people)
        if n % 3 == 0
    ]
    ActionItem.objects.bulk_create(actions, batch_size=5000)
    departments = list(Department.objects.filter(organization=org, parent__isnull=True))
    objective = Goal.objects.filter(cycle=cycle, level=Level.STRATEGIC).order_by("id").first()
    coming = [
        Review(
            organization=org,
            cycle=cycle,
            title=f"{TITLE}: {department.name} weekly",
            period="",
            scheduled_for=now + dt.timedelta(days=1 + n % 5, hours=2),
            facilitator_id=department.head_id or leader.pk,
            department=department,
        )
        for n, department in enumerate(departments)
    ]
    coming += [
        Review(
            organization=org,
            cycle=cycle,
            title=f"{TITLE}: {objective.title}",
            period="",
            scheduled_for=now + dt.timedelta(days=3, hours=6),
            facilitator=leader,
            goal=objective,
        ),
        Review(
            organization=org,
            cycle=cycle,
            title=f"{TITLE}: all hands",
            period="",
            scheduled_for=now + dt.timedelta(days=4, hours=8),
            facilitator=leader,
        ),
    ]
    Review.objects.bulk_create(coming)
    return {"actions": len(actions), "reviews": len(coming), "people": len(people)}


def others_done(org: Organization, week: str) -> None:
    """Mark the other organizations' people done for the week (no email owed)."""
    rows = Member.objects.exclude(organization=org).values_list("id", flat=True)
    WeeklyDigest.objects.bulk_create(
        [
            WeeklyDigest(member_id=pk, week=week, run=uuid.UUID(int=0), email_due=False)
            for pk in rows
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )


def removed(org: Organization, week: str) -> None:
    WeeklyDigest.objects.filter(week=week).delete()
    ActionItem.objects.filter(review__organization=org, review__title__startswith=TITLE).delete()
    Review.objects.filter(organization=org, title__startswith=TITLE).delete()


def numbers(people: int, profile: Path | None = None) -> dict:
    org = Organization.objects.get(name=org_name(people))
    if org.timezone != "UTC":
        raise SystemExit(f"“{org.name}” is expected in UTC, not {org.timezone}")
    cycle = Cycle.objects.get(organization=org)
    now = monday_in(cycle, org.today())
    week = week_of(now.date())
    removed(org, week)  # what an interrupted run left behind
    made = seeded(org, cycle, now)
    others_done(org, week)
    port = free_port()
    count = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=smtp_server, args=(port, count, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the SMTP server did not start")
        print(f"weekly digest: {made['people']:,} people, Monday {now:%Y-%m-%d %H:%M} UTC …")
        result = run_job(now, port, profile)
        deadline = time.monotonic() + 30
        while count.value < result["sent"] and time.monotonic() < deadline:
            time.sleep(0.1)
        result["received"] = count.value
    finally:
        server.terminate()
        server.join(10)
        removed(org, week)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "people": made["people"],
        "monday": now.isoformat(),
        "actions": made["actions"],
        "reviews": made["reviews"],
        **result,
    }


def run_job(now: dt.datetime, port: int, profile: Path | None = None) -> dict:
    """The job in a fresh process, sending to the SMTP server on `port`."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "job.json"
        subprocess.run(
            [sys.executable, __file__, "--job", now.isoformat(), "--output", str(out)]
            + (["--profile", str(profile)] if profile else []),
            cwd=ROOT,
            env={
                **os.environ,
                "EMAIL_URL": "",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(port),
                "EMAIL_USE_TLS": "false",
            },
            check=True,
        )
        return json.loads(out.read_text())


# --- The table ----------------------------------------------------------------------------


def constant_queries(d: dict) -> bool:
    """Every full batch takes the same queries (the last, smaller one may not read the
    reviews of a department none of its people is in; it takes no more)."""
    full = d["queries_per_batch"][:-1] or d["queries_per_batch"]
    return len(set(full)) == 1 and d["queries_per_batch"][-1] <= full[0]


def report(d: dict) -> list[str]:
    batches = d["queries_per_batch"]
    middle = batches[len(batches) // 2]
    header = f"{'':46}{'measured':>12}{'target':>10}{'ratio':>8}"
    return [
        f"weekly digest at {d['people']:,} people (Monday {d['monday'][:16]} UTC): "
        f"{d['actions']:,} open actions, {d['reviews']} reviews in the week, a local SMTP "
        "server",
        header,
        "-" * len(header),
        f"{'digests sent (received by the server)':<46}{d['sent']:>12,}{'':>18}"
        f"  ({d['received']:,} received)",
        f"{'seconds, claim and send':<46}{d['seconds']:>12.2f}{TARGET_S:>10}"
        f"{d['seconds'] / TARGET_S:>8.2f}  (claim {d['claim_s']} s; {d['per_s']}/s; "
        f"CPU {d['cpu_s']} s; load {d['load']:.1f})",
        f"{'memory the job added (VmHWM − RSS before), MB':<46}{d['added_mb']:>12.1f}"
        f"{TARGET_MB:>10}{d['added_mb'] / TARGET_MB:>8.2f}",
        f"{'  the process at its peak, MB':<46}{d['peak_mb']:>12.1f}{'':>18}"
        f"  ({d['rss_before_mb']} MB before: Django with Cascade's URLs and templates)",
        f"{'queries per batch: first / middle / last':<46}"
        f"{f'{batches[0]} / {middle} / {batches[-1]}':>12}{'equal':>10}{'':>8}"
        f"  ({d['batches']} claims of {d['batch_size']}; the last found none)"
        if batches[-1] < batches[0]
        else f"{'queries per batch: first / middle / last':<46}"
        f"{f'{batches[0]} / {middle} / {batches[-1]}':>12}{'equal':>10}{'':>8}"
        f"  ({d['batches']} batches of {d['batch_size']})",
    ]


def verdicts(d: dict) -> list[dict]:
    full = d["queries_per_batch"][:-1] or d["queries_per_batch"]
    return [
        {
            "target": f"digest: {d['people']:,} people sent ≤ {TARGET_S} s",
            "measured": d["seconds"],
            "met": d["seconds"] <= TARGET_S and d["sent"] == d["received"] > 0,
        },
        {
            "target": f"digest: memory the job adds ≤ {TARGET_MB} MB",
            "measured": d["added_mb"],
            "met": d["added_mb"] <= TARGET_MB,
        },
        {
            "target": "digest: queries the same in every batch",
            "measured": "/".join(map(str, sorted(set(full)))),
            "met": constant_queries(d),
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10000, help="the bench organization")
    parser.add_argument("--job", help="(internal) run the job as of this ISO moment")
    parser.add_argument(
        "--profile", type=Path, help="write the job's cProfile statistics here (slower)"
    )
    parser.add_argument("--output", type=Path, required=True, help="the numbers (JSON)")
    args = parser.parse_args()
    if args.job:
        moment = dt.datetime.fromisoformat(args.job)
        if args.profile:
            profile = cProfile.Profile()
            result = profile.runcall(job, moment)
            profile.dump_stats(args.profile)
        else:
            result = job(moment)
        args.output.write_text(json.dumps(result) + "\n")
        return
    if settings.DEBUG:
        raise SystemExit("Run through bin/bench: it runs this with DEBUG off, as a worker.")
    result = numbers(args.people, args.profile)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
