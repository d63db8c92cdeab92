"""Cascade benchmarks: page and API server time at 1,000 and 10,000 people, against
the floor of a trivial view on the same server; the full roll-up against its SQL
floor; the reminder job; a web worker's peak memory.

    bin/bench                      # seeds if needed, serves with gunicorn, measures
    bin/bench --sizes 1000         # one size only
    bin/bench --requests 50        # more samples per page

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cascade_bench).
Prints a table and writes benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cascade_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
os.environ.pop("CELERY_BROKER_URL", None)  # jobs run inline here; the web worker enqueues nothing
# As in production (compose): a cache shared by the web workers and this process.
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/12")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks.client import free_port, login  # noqa: E402
from demo.bench import PASSWORD, org_name  # noqa: E402
from goals.cache import expire_summaries  # noqa: E402
from goals.models import Cycle, Goal  # noqa: E402
from kpis.models import Kpi  # noqa: E402
from kpis.rollup import cycle_rollup  # noqa: E402
from org.models import Member, Organization  # noqa: E402

TARGETS = {
    "page_p50_ms": 50,
    "page_vs_floor": 5,
    "growth_10k_vs_1k": 1.5,
    "record_p50_ms": 30,
    "rollup_s": 2,
    "rollup_vs_sql": 3,
    "reminders_s": 60,
    "worker_mb": 200,
}
TIMING = re.compile(r'app;dur=([\d.]+), sql;desc="(\d+) queries"')


def serve(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "benchmark-only",
        "SERVER_TIMING": "true",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "false",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        # Speed is measured here, not the API's throttles.
        "API_RATE_PER_CALLER": "1000000/minute",
        "API_RATE_PER_ADDRESS": "1000000/minute",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cascade.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz/live/", timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not start")


def measure(session: requests.Session, method: str, url: str, count: int, **kwargs) -> dict:
    samples, queries = [], set()
    for n in range(count + 3):
        if kwargs.get("before"):
            kwargs["before"]()
        body = kwargs.get("data")
        response = session.request(
            method, url, data=body(n) if callable(body) else body, headers=kwargs.get("headers")
        )
        assert response.status_code in (200, 201), (url, response.status_code, response.text[:300])
        match = TIMING.search(response.headers.get("Server-Timing", ""))
        if n >= 3:  # the first requests warm caches and connections
            samples.append(float(match[1]))
            queries.add(int(match[2]))
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "queries": sorted(queries),
    }


def scenario(people: int) -> dict:
    """The requests to time, for the bench organization of this size."""
    org = Organization.objects.get(name=org_name(people))
    cycle = Cycle.objects.get(organization=org)
    member = (
        Member.objects.filter(organization=org, role="member", goals__isnull=False)
        .select_related("user")
        .order_by("id")
        .first()
    )
    own_goal = Goal.objects.filter(owner=member, cycle=cycle).order_by("id").first()
    department_goal = own_goal.parent.parent
    strategic = department_goal.parent
    kpi = Kpi.objects.filter(goal=own_goal).order_by("id").first()
    return {
        "username": member.user.username,
        "cycle": cycle.pk,
        "strategic": strategic.pk,
        "department_goal": department_goal.pk,
        "own_goal": own_goal.pk,
        "kpi": kpi.pk,
    }


def pages(base: str, s: dict, count: int) -> dict:
    session = login(base, s["username"], PASSWORD)
    csrf = session.cookies["csrftoken"]
    htmx = {"HX-Request": "true", "X-CSRFToken": csrf, "Referer": f"{base}/my/"}
    record = {"kpi{k}-value".format(k=s["kpi"]): None}
    key = next(iter(record))
    return {
        "floor (trivial view)": measure(session, "GET", f"{base}/healthz/live/", count),
        "dashboard": measure(session, "GET", f"{base}/", count),
        "dashboard, right after a change": measure(
            session, "GET", f"{base}/", count, before=lambda: expire_summaries([s["cycle"]])
        ),
        "cascade map": measure(session, "GET", f"{base}/cascade/", count),
        "cascade expand": measure(
            session,
            "GET",
            f"{base}/cascade/{s['strategic']}/children/",
            count,
            headers={"HX-Request": "true"},
        ),
        "goal page": measure(session, "GET", f"{base}/goals/{s['department_goal']}/", count),
        "my work": measure(session, "GET", f"{base}/my/", count),
        "department page": measure(session, "GET", f"{base}/department/", count),
        "API goal list": measure(session, "GET", f"{base}/api/v1/goals/?cycle={s['cycle']}", count),
        "API tree (department goal)": measure(
            session, "GET", f"{base}/api/v1/goals/{s['department_goal']}/tree/", count
        ),
        "record a KPI value": measure(
            session,
            "POST",
            f"{base}/kpis/{s['kpi']}/record/",
            count,
            headers=htmx,
            data=lambda n: {key: str(40 + n % 50)},
        ),
    }


def rollup_numbers(people: int) -> dict:
    cycle = Cycle.objects.get(organization__name=org_name(people))
    sql = (ROOT / "benchmarks" / "rollup_floor.sql").read_text()
    timings = {"steady": [], "cold": [], "sql": []}
    for _ in range(3):
        started = time.perf_counter()
        cycle_rollup(cycle)
        timings["steady"].append(time.perf_counter() - started)
        Goal.objects.filter(cycle=cycle).update(progress=0.5)  # every goal must be rewritten
        Kpi.objects.filter(goal__cycle=cycle).update(progress=0.5)
        started = time.perf_counter()
        cycle_rollup(cycle)
        timings["cold"].append(time.perf_counter() - started)
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, {"cycle": cycle.pk})
            floor = dict(cursor.fetchall())
            timings["sql"].append(time.perf_counter() - started)
    stored = dict(Goal.objects.filter(cycle=cycle).values_list("id", "progress"))
    worst = max(abs(stored[pk] - floor[pk]) for pk in stored)
    assert worst < 1e-6, f"the SQL floor disagrees with the roll-up by {worst}"
    best = {name: min(values) for name, values in timings.items()}
    return {
        "goals": len(stored),
        "steady_s": round(best["steady"], 3),
        "cold_s": round(best["cold"], 3),
        "sql_floor_s": round(best["sql"], 3),
        "steady_vs_sql": round(best["steady"] / best["sql"], 2),
        "cold_vs_sql": round(best["cold"] / best["sql"], 2),
    }


def reminder_numbers(people: int) -> dict:
    """The check-in reminder job when every KPI owner is due: the cycle checks in monthly
    for the run and the run date is late in a month without values yet."""
    from django.conf import settings

    from kpis.models import CheckinReminder
    from kpis.reminders import checkin_reminders_send_due
    from org.models import Notification

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org = Organization.objects.get(name=org_name(people))
    cycle = Cycle.objects.get(organization=org)
    day = max(cycle.start, min(cycle.end, org.today().replace(day=1) + dt.timedelta(days=40)))
    day = day.replace(day=28)
    saved = cycle.cadence
    Cycle.objects.filter(pk=cycle.pk).update(cadence="monthly")
    try:
        started = time.perf_counter()
        sent = checkin_reminders_send_due(day=day)
        seconds = time.perf_counter() - started
    finally:
        Cycle.objects.filter(pk=cycle.pk).update(cadence=saved)
        CheckinReminder.objects.filter(member__organization=org).delete()
        Notification.objects.filter(member__organization=org).delete()
    return {"owners_reminded": sent, "seconds": round(seconds, 2), "run_date": day.isoformat()}


def worker_peak_mb(master: subprocess.Popen) -> float:
    peaks = []
    for pid in subprocess.run(
        ["pgrep", "-P", str(master.pid)], capture_output=True, text=True
    ).stdout.split():
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024)
    return round(max(peaks), 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://…")
    sizes = [int(size) for size in args.sizes.split(",")]
    call_command("migrate", verbosity=0)
    for people in sizes:
        call_command("bench_seed", people=people)

    port = free_port()
    server = serve(port)
    results: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "requests_per_page": args.requests,
        "targets": TARGETS,
        "sizes": {},
    }
    try:
        for people in sizes:
            print(f"measuring {people:,} people …", flush=True)
            results["sizes"][str(people)] = {
                "pages": pages(f"http://127.0.0.1:{port}", scenario(people), args.requests)
            }
        results["web_worker_peak_mb"] = worker_peak_mb(server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    for people in sizes:
        results["sizes"][str(people)]["rollup"] = rollup_numbers(people)
    results["reminders"] = reminder_numbers(max(sizes))
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))


def report(results: dict) -> str:
    sizes = list(results["sizes"])
    lines = []
    header = f"{'request':<28}" + "".join(
        f"{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'× floor':>9}" for _ in sizes
    )
    if len(sizes) == 2:
        header += f"{'10k/1k':>9}"
    lines.append(" " * 28 + "".join(f"{int(s):>36,}".replace(",", " ") for s in sizes))
    lines.append(header)
    lines.append("-" * len(header))
    names = list(results["sizes"][sizes[0]]["pages"])
    for name in names:
        row = f"{name:<28}"
        for size in sizes:
            page = results["sizes"][size]["pages"][name]
            floor = results["sizes"][size]["pages"]["floor (trivial view)"]["p50_ms"]
            page["vs_floor"] = round(page["p50_ms"] / floor, 1)
            queries = "/".join(map(str, page["queries"]))
            row += (
                f"{page['p50_ms']:>9.2f}{page['p95_ms']:>9.2f}{queries:>9}{page['vs_floor']:>9.1f}"
            )
        if len(sizes) == 2:
            small, large = (results["sizes"][s]["pages"][name]["p50_ms"] for s in sizes)
            row += f"{large / small:>9.2f}"
        lines.append(row)
    lines.append("")
    for size in sizes:
        r = results["sizes"][size]["rollup"]
        lines.append(
            f"roll-up {int(size):,} people ({r['goals']:,} goals): {r['steady_s']} s "
            f"({r['steady_vs_sql']}× the SQL floor of {r['sql_floor_s']} s); every row rewritten: "
            f"{r['cold_s']} s ({r['cold_vs_sql']}×)"
        )
    rem = results["reminders"]
    lines.append(f"check-in reminder job: {rem['owners_reminded']:,} owners in {rem['seconds']} s")
    lines.append(f"web worker peak memory (VmHWM): {results['web_worker_peak_mb']} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
