"""Cascade benchmarks: page and API server time at 1,000 and 10,000 people, against
the floor of a trivial view on the same server; throughput under 1, 8 and 32
concurrent users (locust), the floor measured in the same run; the full roll-up
against its SQL floor; the reminder job; a web worker's peak memory; 1,000 KPI data
sources due at once (benchmarks/sources.py); the weekly digest job for 10,000 people
(benchmarks/digest.py); and each target met or missed.

    bin/bench                           # seeds if needed, serves with gunicorn, measures
    bin/bench --sizes 1000 --seconds 0  # one size only, no throughput runs
    bin/bench --requests 50             # more samples per page
    bin/bench --worker-class gthread --workers 2 --threads 8
    bin/bench --only sources            # only KPI data sources (benchmarks/sources.py)
    bin/bench --only digest             # only the weekly digest (benchmarks/digest.py)

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cascade_bench).
Prints the tables and writes benchmarks/results.json (or --output).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cascade_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
os.environ.pop("CELERY_BROKER_URL", None)  # jobs run inline in this process
# The served app sends its background work to a Celery worker, as in production.
BROKER_URL = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11")
# As in production (compose): a cache shared by the web workers and this process.
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/12")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks import digest, sources  # noqa: E402
from benchmarks.client import free_port, login  # noqa: E402
from cycles.history import cycle_history  # noqa: E402
from cycles.models import Cycle, GoalPoint, KpiPoint  # noqa: E402
from demo.bench import PASSWORD, org_name  # noqa: E402
from goals.models import Goal  # noqa: E402
from kpis.models import Kpi  # noqa: E402
from kpis.rollup import cycle_rollup  # noqa: E402
from kpis.services import kpi_record_value  # noqa: E402
from org.models import Member, Organization  # noqa: E402

TARGETS = {
    "page_vs_floor": 3,  # p50, every page and API read
    "growth_10k_vs_1k": 1.3,
    "record_vs_floor": 3,
    "record_queries": 10,
    "rollup_vs_sql": 1.5,  # every-row-rewritten case included
    "page_rps_vs_floor": 1 / 3,  # throughput, each number of users
    "record_rps_vs_floor": 1 / 4,
    "reminders_s": 15,
    "worker_mb": 150,
    # 1,000 sources due at once, all fetched by one worker before the next minutes'
    # dispatches ask for them again (kpis.feeds.QUEUED_FOR)
    "sources_s": 600,
    # The weekly digest job for every person of the largest organization (SPEC §9.6)
    "digest_s": digest.TARGET_S,
    "digest_mb": digest.TARGET_MB,
}
USERS = [1, 8, 32]
CONTROL_SOCKET = Path(tempfile.gettempdir()) / f"cascade-bench-{os.getpid()}.ctl"
TIMING = re.compile(r'app;dur=([\d.]+), sql;desc="(\d+) queries"')


# Production settings want real keys; one pair for the whole run.
KEYS = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}


def server_env() -> dict:
    return {
        **os.environ,
        "CELERY_BROKER_URL": BROKER_URL,
        "DEBUG": "false",
        **KEYS,
        "SERVER_TIMING": "true",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "false",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        # Speed is measured here, not the API's throttles.
        "API_RATE_PER_CALLER": "1000000/minute",
        "API_RATE_PER_ADDRESS": "1000000/minute",
    }


def celery_worker() -> subprocess.Popen:
    """The Celery worker the served app sends its background work to."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cascade", "worker", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env=server_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def serve(port: int, model: dict) -> subprocess.Popen:
    """gunicorn on `port`, as in production but for the worker model: `model` holds
    worker_class, workers and threads."""
    env = server_env()
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
            *("--workers", str(model["workers"])),
            *("--worker-class", model["worker_class"], "--threads", str(model["threads"])),
            *("--control-socket", str(CONTROL_SOCKET)),
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
        "past": f"{org.today() - dt.timedelta(days=30):%Y-%m-%d}",  # for ?as_of=
        "cycle": cycle.pk,
        "strategic": strategic.pk,
        "department_goal": department_goal.pk,
        "own_goal": own_goal.pk,
        "kpi": kpi.pk,
    }


def a_change(s: dict) -> None:
    """A value recorded on the scenario's KPI, as its owner would: the cycle's figures
    are recounted once it commits (here, inline), before the dashboard is timed."""
    kpi = Kpi.objects.select_related("goal").get(pk=s["kpi"])
    owner = Member.objects.get(user__username=s["username"])
    kpi_record_value(actor=owner, kpi=kpi, value=float(time.time_ns() % 100))


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
            session, "GET", f"{base}/", count, before=lambda: a_change(s)
        ),
        "dashboard as of a month ago": measure(session, "GET", f"{base}/?as_of={s['past']}", count),
        "cascade map": measure(session, "GET", f"{base}/cascade/", count),
        "cascade map as of": measure(session, "GET", f"{base}/cascade/?as_of={s['past']}", count),
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
        "API tree as of": measure(
            session,
            "GET",
            f"{base}/api/v1/goals/{s['department_goal']}/tree/?as_of={s['past']}",
            count,
        ),
        "API goal history": measure(
            session, "GET", f"{base}/api/v1/goals/{s['department_goal']}/history/", count
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


def throughput(base: str, s: dict, people: int, seconds: float, users: list[int]) -> dict:
    """Requests per second and latency percentiles under load: locust, headless, one
    run per request and number of users, each `seconds` long, the floor among them."""
    session = login(base, s["username"], PASSWORD)
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items())}
    admin = f"b{people}-0"  # demo/bench.py: the first person is the admin
    token = requests.post(
        f"{base}/api/v1/auth/token/", json={"username": admin, "password": PASSWORD}, timeout=30
    ).json()["token"]
    kpis = list(
        Kpi.objects.filter(goal__cycle_id=s["cycle"], goal__level="individual")
        .order_by("?")
        .values_list("id", flat=True)[:500]
    )
    requests_ = {
        "floor (trivial view)": ("GET", "/healthz/live/", cookie),
        "dashboard": ("GET", "/", cookie),
        "cascade map": ("GET", "/cascade/", cookie),
        "goal page": ("GET", f"/goals/{s['department_goal']}/", cookie),
        "my work": ("GET", "/my/", cookie),
        "department page": ("GET", "/department/", cookie),
        "API goal list": ("GET", f"/api/v1/goals/?cycle={s['cycle']}", cookie),
        "API tree (department goal)": (
            "GET",
            f"/api/v1/goals/{s['department_goal']}/tree/",
            cookie,
        ),
        "record a KPI value (API)": (
            "POST",
            "/api/v1/kpis/{kpi}/updates/",
            {"Authorization": f"Token {token}"},
        ),
    }
    table: dict = {}
    for name, (method, path, headers) in requests_.items():
        table[name] = {}
        for count in users:
            table[name][str(count)] = locust(base, method, path, headers, kpis, count, seconds)
            print(f"  {name}, {count} users: {table[name][str(count)]['rps']} req/s", flush=True)
    return table


def locust(base, method, path, headers, kpis, users: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "BENCH_METHOD": method,
            "BENCH_PATH": path,
            "BENCH_HEADERS": json.dumps(headers),
            "BENCH_KPIS": json.dumps(kpis),
        }
        subprocess.run(
            [
                *(sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py")),
                *("--headless", "--host", base, "--users", str(users)),
                *("--spawn-rate", str(users), "--run-time", f"{seconds}s", "--only-summary"),
                *("--csv", f"{folder}/run", "--loglevel", "ERROR", "--stop-timeout", "5"),
            ],
            env=env,
            check=False,
            capture_output=True,
        )
        with open(f"{folder}/run_stats.csv") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return {
        "rps": round(float(row["Requests/s"]), 1),
        "errors": int(row["Failure Count"]),
        "requests": int(row["Request Count"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
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
    for _ in range(3):
        started = time.perf_counter()
        assert cycle_history(cycle) == 0  # the stored history is exact: nothing to rewrite
        timings.setdefault("history_check", []).append(time.perf_counter() - started)
    GoalPoint.objects.filter(goal__cycle=cycle).delete()
    KpiPoint.objects.filter(kpi__goal__cycle=cycle).delete()
    started = time.perf_counter()
    points = cycle_history(cycle)
    timings["history_build"] = [time.perf_counter() - started]
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
        "history_points": points,
        "history_build_s": round(best["history_build"], 3),
        "history_check_s": round(best["history_check"], 3),
    }


def reminder_numbers(people: int) -> dict:
    """The check-in reminder job when every KPI owner is due: for the run the cycle checks
    in monthly and lasts into next month, and the run date is late in that month, which
    has no values yet (the seeded values reach today)."""
    from django.conf import settings

    from kpis.models import CheckinReminder
    from kpis.reminders import checkin_reminders_send_due
    from org.models import Notification

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org = Organization.objects.get(name=org_name(people))
    cycle = Cycle.objects.get(organization=org)
    day = (org.today().replace(day=1) + dt.timedelta(days=40)).replace(day=28)
    saved = {"cadence": cycle.cadence, "end": cycle.end}
    end = max(cycle.end, day + dt.timedelta(days=3))  # the month's end at the latest
    Cycle.objects.filter(pk=cycle.pk).update(cadence="monthly", end=end)
    try:
        started = time.perf_counter()
        sent = checkin_reminders_send_due(day=day)
        seconds = time.perf_counter() - started
    finally:
        Cycle.objects.filter(pk=cycle.pk).update(**saved)
        CheckinReminder.objects.filter(member__organization=org).delete()
        Notification.objects.filter(member__organization=org).delete()
    return {"owners_reminded": sent, "seconds": round(seconds, 2), "run_date": day.isoformat()}


def machine() -> str:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    return (
        f"{os.cpu_count()} × {cpu[1].strip() if cpu else 'CPU'}, {memory / 2**20:.0f} GB, "
        f"PostgreSQL {postgres}, Python {sys.version.split()[0]}; load, server and "
        f"database on the same machine"
    )


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
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    parser.add_argument(
        "--seconds", type=float, default=10, help="length of each throughput run (0: none)"
    )
    parser.add_argument("--users", default=",".join(map(str, USERS)))
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "benchmarks" / "results.json",
        help="where the results go (JSON)",
    )
    parser.add_argument(
        "--only",
        choices=["sources", "digest"],
        help="run only this part (at the largest of --sizes); its numbers replace that part "
        "of --output",
    )
    parser.add_argument(
        "--sources", type=int, default=1000, help="KPI data sources due at once (at least 2)"
    )
    args = parser.parse_args()
    model = {"worker_class": args.worker_class, "workers": args.workers, "threads": args.threads}
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmarks need PostgreSQL: set DATABASE_URL=postgres://…")
    sizes = [int(size) for size in args.sizes.split(",")]
    call_command("migrate", verbosity=0)
    for people in sizes:
        call_command("bench_seed", people=people)
        cycle = Cycle.objects.get(organization__name=org_name(people))
        if not GoalPoint.objects.filter(goal__cycle=cycle).exists():  # seeded before history
            cycle_history(cycle)
    if args.only == "sources":
        only_sources(args.output, sizes, args.sources)
        return
    if args.only == "digest":
        only_digest(args.output, sizes)
        return

    port = free_port()
    server, worker = serve(port, model), celery_worker()
    base = f"http://127.0.0.1:{port}"
    results: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "server": model,
        "requests_per_page": args.requests,
        "targets": TARGETS,
        "sizes": {},
    }
    try:
        for people in sizes:
            print(f"measuring {people:,} people …", flush=True)
            results["sizes"][str(people)] = {"pages": pages(base, scenario(people), args.requests)}
        if args.seconds:
            people = max(sizes)
            print(f"throughput at {people:,} people …", flush=True)
            users = [int(n) for n in args.users.split(",")]
            results["throughput"] = {
                "people": people,
                "seconds": args.seconds,
                "requests": throughput(base, scenario(people), people, args.seconds, users),
            }
        results["web_worker_peak_mb"] = worker_peak_mb(server)
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)  # gunicorn finishes the requests it holds
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    for people in sizes:
        results["sizes"][str(people)]["rollup"] = rollup_numbers(people)
    results["reminders"] = reminder_numbers(max(sizes))
    results["sources"] = sources_numbers(sizes, args.sources)
    results["digest"] = digest_numbers(sizes)
    text = report(results)  # sets the ratios and verdicts in `results`
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(text)


def sources_numbers(sizes: list[int], count: int) -> dict:
    """benchmarks/sources.py, in a process configured as a Celery worker is (the served
    app's settings, the broker) and allowed to reach its HTTP server on 127.0.0.1."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "sources.json"
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "sources.py"), "--output", str(out)]
            + ["--sizes", ",".join(map(str, sizes)), "--sources", str(count)],
            cwd=ROOT,
            env={**server_env(), "OUTBOUND_ALLOW_PRIVATE": "true"},
            check=True,
        )
        return json.loads(out.read_text())


def only_sources(output: Path, sizes: list[int], count: int) -> None:
    """The data-source scenario alone: its numbers replace those in `output` (the other
    parts' stay as measured last), the verdicts are drawn again, its table printed."""
    results = json.loads(output.read_text()) if output.exists() else {}
    results["sources"] = sources_numbers(sizes, count)
    results["targets"] = TARGETS
    lines = sources.report(results["sources"])
    if "sizes" in results:
        report(results)  # every verdict again, with the new numbers
    else:
        results["verdicts"] = sources_verdicts(results["sources"])
    mine = [v for v in results["verdicts"] if v["target"].startswith("data sources")]
    lines += ["", f"{'target':<58}{'measured':>12}  verdict", "-" * 80]
    for v in mine:
        lines.append(f"{v['target']:<58}{v['measured']:>12}  {'met' if v['met'] else 'MISSED'}")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))


def digest_numbers(sizes: list[int]) -> dict:
    """benchmarks/digest.py at the largest size, in a process configured as a Celery
    worker is (the served app's settings); it runs the job itself in a fresh one."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "digest.json"
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "digest.py"), "--output", str(out)]
            + ["--people", str(max(sizes))],
            cwd=ROOT,
            env=server_env(),
            check=True,
        )
        return json.loads(out.read_text())


def only_digest(output: Path, sizes: list[int]) -> None:
    """The digest scenario alone: its numbers replace those in `output` (the other
    parts' stay as measured last), the verdicts are drawn again, its table printed."""
    results = json.loads(output.read_text()) if output.exists() else {}
    results["digest"] = digest_numbers(sizes)
    results["targets"] = TARGETS
    lines = digest.report(results["digest"])
    if "sizes" in results:
        report(results)  # every verdict again, with the new numbers
    else:
        results["verdicts"] = digest.verdicts(results["digest"])
    mine = [v for v in results["verdicts"] if v["target"].startswith("digest")]
    lines += ["", f"{'target':<58}{'measured':>12}  verdict", "-" * 80]
    for v in mine:
        lines.append(f"{v['target']:<58}{v['measured']:>12}  {'met' if v['met'] else 'MISSED'}")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(lines))


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
        lines.append(
            f"history {int(size):,} people: built from the values in {r['history_build_s']} s "
            f"({r['history_points']:,} points); checked exact in {r['history_check_s']} s"
        )
    rem = results["reminders"]
    lines.append(f"check-in reminder job: {rem['owners_reminded']:,} owners in {rem['seconds']} s")
    lines.append(f"web worker peak memory (VmHWM): {results['web_worker_peak_mb']} MB")
    if "throughput" in results:
        lines += ["", *throughput_report(results)]
    if "sources" in results:
        lines += ["", *sources.report(results["sources"])]
    if "digest" in results:
        lines += ["", *digest.report(results["digest"])]
    results["verdicts"] = verdicts(results)
    lines += ["", f"{'target':<58}{'measured':>12}  verdict", "-" * 80]
    for v in results["verdicts"]:
        lines.append(f"{v['target']:<58}{v['measured']:>12}  {'met' if v['met'] else 'MISSED'}")
    return "\n".join(lines)


def throughput_report(results: dict) -> list[str]:
    """Requests per second per request and number of users, with the ratio to the
    floor's in the same run; p50/p95/p99 in ms; errors."""
    t = results["throughput"]
    table = t["requests"]
    users = list(next(iter(table.values())))
    floor = table["floor (trivial view)"]
    lines = [
        f"throughput at {t['people']:,} people ({t['seconds']:g} s per cell; "
        f"{results['server']['worker_class']}, {results['server']['workers']} workers"
        f" × {results['server']['threads']} threads)",
        f"{'request':<28}"
        + "".join(f"{f'{n} users: req/s × floor  p50/p95/p99 ms  err':>46}" for n in users),
    ]
    for name, cells in table.items():
        row = f"{name:<28}"
        for n in users:
            cell = cells[n]
            cell["vs_floor"] = round(cell["rps"] / floor[n]["rps"], 2) if floor[n]["rps"] else 0
            spread = f"{cell['p50_ms']:g}/{cell['p95_ms']:g}/{cell['p99_ms']:g}"
            row += f"{cell['rps']:>14.1f}{cell['vs_floor']:>8.2f}{spread:>19}{cell['errors']:>5}"
        lines.append(row)
    return lines


def verdicts(results: dict) -> list[dict]:
    """Each target of TARGETS against its worst measured case."""
    sizes = list(results["sizes"])
    largest = results["sizes"][sizes[-1]]["pages"]
    reads = {n: p for n, p in largest.items() if not n.startswith(("floor", "record"))}
    record = next(p for n, p in largest.items() if n.startswith("record"))
    worst_read = max(reads, key=lambda n: reads[n]["vs_floor"])
    out = [
        _verdict(
            f"page p50 ≤ {TARGETS['page_vs_floor']}× floor (worst: {worst_read})",
            reads[worst_read]["vs_floor"],
            TARGETS["page_vs_floor"],
        ),
        _verdict(
            f"record p50 ≤ {TARGETS['record_vs_floor']}× floor",
            record["vs_floor"],
            TARGETS["record_vs_floor"],
        ),
        _verdict(
            f"record ≤ {TARGETS['record_queries']} SQL queries",
            max(record["queries"]),
            TARGETS["record_queries"],
        ),
    ]
    if len(sizes) == 2:
        small = results["sizes"][sizes[0]]["pages"]
        growth = {n: largest[n]["p50_ms"] / small[n]["p50_ms"] for n in largest}
        worst = max(growth, key=growth.get)
        out.append(
            _verdict(
                f"10k p50 ≤ {TARGETS['growth_10k_vs_1k']}× 1k (worst: {worst})",
                round(growth[worst], 2),
                TARGETS["growth_10k_vs_1k"],
            )
        )
    rollup = results["sizes"][sizes[-1]]["rollup"]
    out.append(
        _verdict(
            f"roll-up ≤ {TARGETS['rollup_vs_sql']}× SQL floor (every row rewritten)",
            rollup["cold_vs_sql"],
            TARGETS["rollup_vs_sql"],
        )
    )
    if "throughput" in results:
        table = results["throughput"]["requests"]
        for kind, key in (("page", "page_rps_vs_floor"), ("record", "record_rps_vs_floor")):
            cells = [
                (name, n, cell)
                for name, by_users in table.items()
                if not name.startswith("floor") and name.startswith("record") == (kind == "record")
                for n, cell in by_users.items()
            ]
            name, n, cell = min(cells, key=lambda c: c[2]["vs_floor"])
            out.append(
                _verdict(
                    f"{kind} req/s ≥ {TARGETS[key]:.2f}× floor (worst: {name}, {n} users)",
                    cell["vs_floor"],
                    TARGETS[key],
                    at_least=True,
                )
            )
        errors = sum(c["errors"] for by_users in table.values() for c in by_users.values())
        out.append(_verdict("no errors under load", errors, 0))
    out.append(
        _verdict("reminder job ≤ 15 s", results["reminders"]["seconds"], TARGETS["reminders_s"])
    )
    out.append(_verdict("web worker ≤ 150 MB", results["web_worker_peak_mb"], TARGETS["worker_mb"]))
    if "sources" in results:
        out += sources_verdicts(results["sources"])
    if "digest" in results:
        out += digest.verdicts(results["digest"])
    return out


def sources_verdicts(s: dict) -> list[dict]:
    new = s["worker"]["new"]
    counts = sorted(
        {c for by_depth in s["queries"].values() for d in by_depth.values() for c in d.values()}
    )
    return [
        _verdict(
            f"data sources: {s['sources']:,} due at once done ≤ {TARGETS['sources_s']} s",
            new["seconds"],
            TARGETS["sources_s"],
        ),
        {
            "target": "data sources: a fetch's queries the same at any depth and size",
            "measured": "/".join(map(str, counts)),
            "met": sources.constant_queries(s),
        },
    ]


def _verdict(target: str, measured: float, bound: float, at_least: bool = False) -> dict:
    met = measured >= bound if at_least else measured <= bound
    return {"target": target, "measured": measured, "met": met}


if __name__ == "__main__":
    main()
