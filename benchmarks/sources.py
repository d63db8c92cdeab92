"""KPI data sources at scale (SPEC §9.6, issue 32): 1,000 `http_json` sources due at
once in the benchmark organization, each reading a distinct number from a local HTTP
server (a ThreadingHTTPServer on 127.0.0.1). Part of bin/bench, which runs this script
in a process of its own, configured as a Celery worker is (DEBUG off, the broker,
OUTBOUND_ALLOW_PRIVATE on for the local server); alone: `bin/bench --only sources`.

1. The floor: each source's HTTP read alone (`kpis.sources.read`: the egress guard's
   GET, the JSON parsed, the pointer resolved), one after another.
2. In this process, one after another: `dispatch_due` (the beat's job of every
   minute, which asks the broker for one fetch per source), then `fetch_scheduled`
   for each, as the task does. First every number is new (1,000 values recorded),
   then every number is the same (nothing recorded: the cheap path).
3. A Celery worker with its default concurrency (prefork, one process per core: 2 on
   a 2-core machine, what docker-compose.yml pins), fed by the same `dispatch_due`
   through the broker: the seconds from the dispatch until every source has done its
   slot, new numbers and then unchanged ones.
4. SQL queries of one fetch (`CaptureQueriesContext` around `fetch_scheduled`) on a
   KPI of a strategic objective (a chain of one goal) and one of an individual goal
   (four goals), at every size measured: the counts must not depend on either.

The sources and the values they recorded are removed at the end (the cycle's figures
and history recomputed), so the next run of the other benchmarks finds the
organization as seeded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import django
import redis
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
if not apps.ready:  # run as a script (benchmarks/run.py imports the report)
    django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cascade.celery import app as celery_app  # noqa: E402
from cycles.history import cycle_history  # noqa: E402
from cycles.models import Cycle  # noqa: E402
from cycles.summary import summary_refresh  # noqa: E402
from demo.bench import org_name  # noqa: E402
from goals.models import Level  # noqa: E402
from kpis.feeds import dispatch_due, fetch_scheduled, slot_of  # noqa: E402
from kpis.models import Kpi, KpiSource, KpiUpdate, SourceKind, SourceSchedule  # noqa: E402
from kpis.rollup import cycle_rollup  # noqa: E402
from kpis.sources import read  # noqa: E402
from org.models import Notification, Organization, OwedJob  # noqa: E402

NAME = "Bench numbers"  # the sources' name: their values say "from Bench numbers"
POINTER = "/data/value"
WORKER_LIMIT = 30 * 60  # seconds: give up waiting for the worker after this


class Numbers(ThreadingHTTPServer):
    """A JSON endpoint: GET /numbers/N answers {"data": {"value": 0.09 N + shift}}, a
    number of its own per path (within the KPIs' range: 0 to 100); a new `shift` gives
    every path a new number."""

    daemon_threads = True
    request_queue_size = 128  # a worker's processes connect at once
    shift = 0.0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Answer)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.server_port}/numbers/{n}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class Answer(BaseHTTPRequestHandler):
    server: Numbers

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        n = int(self.path.rsplit("/", 1)[1])
        value = round(0.09 * n + self.server.shift, 4)
        body = json.dumps({"data": {"value": value}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="the bench organizations")
    parser.add_argument("--sources", type=int, default=1000, help="due at once (at least 2)")
    parser.add_argument("--output", type=Path, required=True, help="the numbers (JSON)")
    args = parser.parse_args()
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.OUTBOUND_ALLOW_PRIVATE:
        raise SystemExit(
            "Run through bin/bench: it sets CELERY_BROKER_URL and OUTBOUND_ALLOW_PRIVATE=true."
        )
    sizes = [int(size) for size in args.sizes.split(",")]
    args.output.write_text(json.dumps(numbers(sizes, args.sources), indent=2) + "\n")


def numbers(sizes: list[int], count: int) -> dict:
    """The scenario: `count` sources at the largest size, the queries of one fetch at
    every size."""
    people = max(sizes)
    result: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "people": people,
        "sources": count,
        "schedule": SourceSchedule.HOURLY.value,
        "queries": {},
    }
    server = Numbers()
    started = timezone.now()
    try:
        celery_app.control.purge()  # what an earlier run left behind
        org = Organization.objects.get(name=org_name(people))
        cycle = Cycle.objects.get(organization=org)
        removed(org)
        ids = given_sources(org, chosen(org, count), server)
        print(f"data sources: {count:,} at {people:,} people …", flush=True)
        result["floor"] = floor(ids)
        server.shift = 0.25
        new, same = one_by_one(ids, cycle, expect=count), one_by_one(ids, cycle, expect=0)
        result["dispatch_queries"] = new.pop("dispatch_queries")
        same.pop("dispatch_queries")
        result["one_by_one"] = {"new": new, "unchanged": same}
        result["queries"][str(people)] = queries_per_fetch(ids[:2], server)
        settle(cycle)
        print("  by a Celery worker …", flush=True)
        worker = start_worker()
        try:
            result["worker"] = {"processes": os.cpu_count() or 1}
            server.shift = 0.5
            result["worker"]["new"] = by_worker(ids, expect=count)
            result["worker"]["unchanged"] = by_worker(ids, expect=0)
        finally:
            stop(worker)
        for size in sorted(set(sizes) - {people}):
            other = Organization.objects.get(name=org_name(size))
            removed(other)
            pair = given_sources(other, chosen(other, 2), server)
            result["queries"][str(size)] = queries_per_fetch(pair, server)
            removed(other, since=started)
        print("  removing the sources and their values …", flush=True)
        removed(org, since=started)
        celery_app.control.purge()
    finally:
        server.close()
    result["queries"] = dict(sorted(result["queries"].items(), key=lambda kv: int(kv[0])))
    return result


def chosen(org: Organization, count: int) -> list[int]:
    """`count` KPIs spread over the tree: the first two a strategic objective's and an
    individual goal's (for the query counts), the rest evenly by id."""
    kpis = Kpi.objects.filter(organization=org).order_by("id").values_list("id", flat=True)
    deep = [kpis.filter(goal__level=level).first() for level in (Level.STRATEGIC, Level.INDIVIDUAL)]
    others = list(kpis.exclude(id__in=deep))
    step = len(others) / max(count - 2, 1)
    return [pk for pk in deep if pk] + [others[int(n * step)] for n in range(count - 2)]


def given_sources(org: Organization, kpi_ids: list[int], server: Numbers) -> list[int]:
    """An hourly http_json source on each KPI, in one insert (speed, not the service's
    checks, is measured here); returns the sources' ids in the KPIs' order."""
    now = timezone.now()
    made = KpiSource.objects.bulk_create(
        KpiSource(
            organization=org,
            kpi_id=kpi_id,
            name=NAME,
            kind=SourceKind.HTTP_JSON,
            url=server.url(n),
            pointer=POINTER,
            schedule=SourceSchedule.HOURLY,
            next_fetch_at=now,
        )
        for n, kpi_id in enumerate(kpi_ids)
    )
    return [source.pk for source in made]


def due(ids: list[int], now: dt.datetime) -> str:
    """Make the sources due at once (a minute ago), their slot not fetched yet; returns
    the slot a dispatch at `now` asks for."""
    KpiSource.objects.filter(pk__in=ids).update(
        next_fetch_at=now - dt.timedelta(minutes=1),
        queued_until=None,
        claimed_slot="",
        claim_until=None,
        done_slot="",
        failures=0,
    )
    return slot_of(SourceSchedule.HOURLY, now)


def floor(ids: list[int]) -> dict:
    """Each source's HTTP read alone, one after another."""
    samples = []
    for source in KpiSource.objects.filter(pk__in=ids):
        started = time.perf_counter()
        read(source)
        samples.append(time.perf_counter() - started)
    return timings(samples, sum(samples))


def one_by_one(ids: list[int], cycle: Cycle, *, expect: int) -> dict:
    """The dispatch, then every fetch in this process, one after another (the work the
    values ask for afterwards, a recount of the cycle's figures and the notifications
    owed, is queued, not timed: `settle`)."""
    now = timezone.now()
    slot = due(ids, now)
    with CaptureQueriesContext(connection) as dispatch_sql:
        started = time.perf_counter()
        asked = dispatch_due(now)
        dispatched = time.perf_counter() - started
    assert asked == len(ids), f"the dispatch asked for {asked} of {len(ids)} sources"
    celery_app.control.purge()  # no worker here: this process does the fetches
    outcomes: Counter[str] = Counter()
    samples = []
    for pk in ids:
        started = time.perf_counter()
        outcomes[fetch_scheduled(pk, slot)] += 1
        samples.append(time.perf_counter() - started)
    assert outcomes["recorded"] == expect, f"expected {expect} recorded, got {dict(outcomes)}"
    settle(cycle)
    fetched = sum(samples)
    return {
        "dispatch_s": round(dispatched, 3),
        "dispatch_queries": len(dispatch_sql.captured_queries),
        **timings(samples, dispatched + fetched),
        "outcomes": dict(outcomes),
        "recorded": outcomes["recorded"],
    }


def by_worker(ids: list[int], *, expect: int) -> dict:
    """The dispatch, and a Celery worker doing the fetches: seconds until every source
    has done its slot. What the values ask for afterwards (a recount of the cycle's
    figures, notifications owed) is queued behind the fetches; the next run waits until
    the worker has done it too."""
    now = timezone.now()
    slot = due(ids, now)
    mine = KpiSource.objects.filter(pk__in=ids)
    before = KpiUpdate.objects.filter(source__in=ids).count()
    started = time.perf_counter()
    asked = dispatch_due(now)
    dispatched = time.perf_counter() - started
    assert asked == len(ids), f"the dispatch asked for {asked} of {len(ids)} sources"
    while (done := mine.filter(done_slot=slot).count()) < asked:
        failed = mine.filter(failures__gt=0).count()
        assert not failed, f"{failed} fetches failed: {mine.exclude(last_error='')[0].last_error}"
        assert time.perf_counter() - started < WORKER_LIMIT, f"only {done} of {asked} done"
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    recorded = KpiUpdate.objects.filter(source__in=ids).count() - before
    assert recorded == expect, f"expected {expect} recorded, got {recorded}"
    idle()
    return {
        "dispatch_s": round(dispatched, 3),
        "seconds": round(seconds, 2),
        "per_s": round(len(ids) / seconds, 1),
        "recorded": recorded,
    }


def settle(cycle: Cycle) -> None:
    """After a run in this process: drop the tasks its values queued (no worker runs
    them) and recount the cycle's figures here, as the dropped task would have."""
    celery_app.control.purge()
    summary_refresh(cycle)


def idle() -> None:
    """Wait until the worker has nothing queued, reserved or running."""
    inspect = celery_app.control.inspect(timeout=1)
    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    quiet, deadline = 0, time.perf_counter() + WORKER_LIMIT
    while quiet < 2:  # twice in a row: a task may be between the queue and the worker
        assert time.perf_counter() < deadline, "the worker is still busy"
        busy = queue.llen("celery") or any(
            tasks
            for found in (inspect.active() or {}, inspect.reserved() or {})
            for tasks in found.values()
        )
        quiet = 0 if busy else quiet + 1
        time.sleep(0.2)


def queries_per_fetch(pair: list[int], server: Numbers) -> dict:
    """SQL queries of one fetch on a strategic objective's KPI and an individual goal's
    (both increasing, to 100): a new number (recorded), then the same one (unchanged).
    The numbers rise (10, 40, 70) so that each moves the KPI and its goals and none
    makes a health worse (which would owe a notification: one query more); the first
    is not counted. The largest count of each case is kept."""
    counts = {}
    for label, pk in zip(("strategic", "individual"), pair, strict=True):
        counts[label] = {"new": 0, "unchanged": 0}
        for n, shift in enumerate((10.25, 40.25, 70.25)):
            server.shift = shift
            for case, outcome in (("new", "recorded"), ("unchanged", "unchanged")):
                slot = due([pk], timezone.now())
                with CaptureQueriesContext(connection) as sql:
                    assert fetch_scheduled(pk, slot) == outcome
                if n:
                    counts[label][case] = max(counts[label][case], len(sql.captured_queries))
    return counts


def start_worker() -> subprocess.Popen:
    """A Celery worker with its default concurrency (one process per core), configured
    as this process is."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cascade", "worker", "-l", "WARNING"],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(120):
        if celery_app.control.ping(timeout=0.5):
            return worker
        if worker.poll() is not None:
            break
    stop(worker)
    raise SystemExit("the Celery worker did not start")


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def removed(org: Organization, since: dt.datetime | None = None) -> None:
    """Remove the benchmark's sources and the values they recorded (and, `since` the
    scenario began, the notifications they owed), then recompute the cycle's figures
    and history if a value went."""
    values = KpiUpdate.objects.filter(kpi__organization=org, source_name=NAME)
    deleted = values.count()
    values.delete()
    KpiSource.objects.filter(organization=org).only("id").delete()  # secrets not read
    if since is not None:
        OwedJob.objects.filter(created_at__gte=since, done_at__isnull=True).delete()
        Notification.objects.filter(member__organization=org, created_at__gte=since).delete()
    if deleted:
        cycle = Cycle.objects.get(organization=org)
        cycle_rollup(cycle)
        cycle_history(cycle)
        summary_refresh(cycle)


def timings(samples: list[float], seconds: float) -> dict:
    ordered = sorted(samples)
    return {
        "seconds": round(seconds, 2),
        "per_s": round(len(samples) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[max(int(len(ordered) * 0.95) - 1, 0)], 2),
    }


def report(s: dict) -> list[str]:
    """The scenario's table: each way of fetching, against the floor of reading alone;
    then the queries of one fetch by depth and size."""
    floor_ms = s["floor"]["p50_ms"]
    header = (
        f"{'':40}{'seconds':>9}{'fetches/s':>11}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'recorded':>10}{'× floor':>9}"
    )
    lines = [
        f"data sources at {s['people']:,} people: {s['sources']:,} {s['schedule']} http_json "
        f"sources due at once, a local HTTP server on 127.0.0.1",
        header,
        "-" * len(header),
        row("HTTP read alone (floor)", s["floor"], "–", 1.0),
    ]
    for case, label in (("new", "fetch and record"), ("unchanged", "fetch, number unchanged")):
        run = s["one_by_one"][case]
        run["vs_floor"] = round(run["p50_ms"] / floor_ms, 1)
        lines.append(row(f"one by one: {label}", run, run["recorded"], run["vs_floor"]))
    n = s["worker"]["processes"]
    for case, label in (("new", "fetch and record"), ("unchanged", "number unchanged")):
        run = s["worker"][case]
        name = f"worker ({n} processes): {label}"
        lines.append(f"{name:<40}{run['seconds']:>9.2f}{run['per_s']:>11.1f}{run['recorded']:>28}")
    first = s["one_by_one"]["new"]
    lines += [
        f"seconds: one by one, the dispatch ({first['dispatch_s']} s, {s['dispatch_queries']} "
        f"queries, {s['sources']:,} fetches asked) and every fetch; by the worker, from the",
        "dispatch until every source has done its slot",
    ]
    lines += ["", f"{'SQL queries of one fetch':<40}{'strategic KPI':>28}{'individual KPI':>28}"]
    lines.append(f"{'':40}" + f"{'new number':>16}{'unchanged':>12}" * 2)
    for size, by_depth in s["queries"].items():
        cells = "".join(
            f"{by_depth[d]['new']:>16}{by_depth[d]['unchanged']:>12}"
            for d in ("strategic", "individual")
        )
        lines.append(f"{f'{int(size):,} people':<40}{cells}")
    return lines


def row(name: str, run: dict, recorded: object, vs_floor: float) -> str:
    return (
        f"{name:<40}{run['seconds']:>9.2f}{run['per_s']:>11.1f}{run['p50_ms']:>9.2f}"
        f"{run['p95_ms']:>9.2f}{recorded:>10}{vs_floor:>9.1f}"
    )


def constant_queries(s: dict) -> bool:
    """Whether one fetch's queries are the same at every depth and size, per case."""
    return all(
        len({by_depth[d][case] for by_depth in s["queries"].values() for d in by_depth}) == 1
        for case in ("new", "unchanged")
    )


if __name__ == "__main__":
    main()
