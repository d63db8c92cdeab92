"""A 10,000-row import and its export (issue 17), through the whole Django stack (token
auth, throttles, parsing, the plan, bulk writes, one roll-up, the history rebuild), in
process, on the demo organization, into a new empty cycle each round:

* the preview (`POST cycles/ID/import/?dry_run=true`),
* the import itself (all rows, one transaction),
* the same file again (everything matched: nothing written),
* the export of the result as CSV and as XLSX (`GET cycles/ID/export/`).

    .venv/bin/python benchmarks/imports.py          # PostgreSQL at DATABASE_URL, default
                                                    # postgres://postgres@127.0.0.1:5432/cascade_bench_import
    .venv/bin/python benchmarks/imports.py --rows 2000 --rounds 3

Prints a table (seconds, ms a row, SQL queries) and writes benchmarks/import_results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cascade_bench_import")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "VLoISvGu3sUyGGnAYvt7Rk8dyFYP4eFdIJtlqqk_KDs=")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("API_RATE_PER_CALLER", "100000/minute")  # measuring, not throttling
os.environ.setdefault("API_RATE_PER_ADDRESS", "100000/minute")
os.environ.pop("CELERY_BROKER_URL", None)  # follow-up tasks run inline

import django  # noqa: E402
import psycopg  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cycles.models import Cycle  # noqa: E402
from org.models import Department, Member  # noqa: E402
from org.tokens import token_issue  # noqa: E402

CSV = "text/csv"


def ensure_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[1]
    try:
        psycopg.connect(url).close()
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise SystemExit(f"PostgreSQL is not reachable at {url}: {exc}") from None
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')


def client() -> APIClient:
    leader = Member.objects.get(user__username="lena", organization__name="Acme")
    _, key = token_issue(leader.user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def spreadsheet(rows: int) -> bytes:
    """5 objectives, 50 department goals, 500 team goals and one individual goal with a
    KPI per row, owned in turn by the demo's people."""
    departments = list(
        Department.objects.filter(organization__name="Acme").values_list("name", flat=True)
    )
    people = list(
        Member.objects.filter(organization__name="Acme", is_active=True).values_list(
            "user__username", flat=True
        )
    )
    lines = [
        "Strategic goal,Department goal,Department,Team goal,Team,Individual goal,Owner,"
        "KPI,Unit,Direction,Baseline,Target"
    ]
    for n in range(rows):
        department = departments[(n % 50) % len(departments)]
        lines.append(
            f"Objective {n % 5},Department goal {n % 50},{department},Team goal {n % 500},"
            f"{department},Individual goal {n},{people[n % len(people)]},"
            f"Measured result {n},%,increase,0,{n % 90 + 10}"
        )
    return ("\n".join(lines) + "\n").encode()


def timed(call, expect: int) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = call()
        seconds = time.perf_counter() - start
    assert response.status_code == expect, (response.status_code, response.content[:500])
    return seconds, len(queries.captured_queries)


def one_round(api: APIClient, content: bytes, number: int) -> dict:
    today = dt.date.today()
    cycle = Cycle.objects.create(
        organization=Member.objects.get(user__username="lena").organization,
        name=f"Import bench {time.time_ns()}-{number}",
        start=dt.date(today.year, 1, 1),
        end=dt.date(today.year, 12, 31),
    )
    url = f"/api/v1/cycles/{cycle.pk}/import/"
    export = f"/api/v1/cycles/{cycle.pk}/export/"
    return {
        "preview": timed(
            lambda: api.post(f"{url}?dry_run=true", content, content_type=CSV, secure=True), 200
        ),
        "import": timed(lambda: api.post(url, content, content_type=CSV, secure=True), 201),
        "again": timed(lambda: api.post(url, content, content_type=CSV, secure=True), 201),
        "export_csv": timed(lambda: api.get(f"{export}?format=csv", secure=True), 200),
        "export_xlsx": timed(lambda: api.get(f"{export}?format=xlsx", secure=True), 200),
    }


LABELS = {
    "preview": "preview (dry run)",
    "import": "import (all rows)",
    "again": "the same file again",
    "export_csv": "export CSV",
    "export_xlsx": "export XLSX",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    ensure_database()
    call_command("migrate", verbosity=0)
    call_command("demo", stdout=io.StringIO())
    api, content = client(), spreadsheet(args.rows)
    rounds = [one_round(api, content, n) for n in range(args.rounds)]
    result = {"rows": args.rows, "rounds": args.rounds, "bytes": len(content)}
    print(f"{args.rows:,} rows ({len(content) / 1e6:.1f} MB of CSV), median of {args.rounds}")
    print(f"{'':24}{'seconds':>10}{'ms a row':>10}{'queries':>10}")
    for step, label in LABELS.items():
        seconds = statistics.median(r[step][0] for r in rounds)
        queries = max(r[step][1] for r in rounds)
        result[step] = {
            "seconds": round(seconds, 3),
            "ms_per_row": round(1000 * seconds / args.rows, 3),
            "queries": queries,
        }
        print(f"{label:24}{seconds:>10.3f}{1000 * seconds / args.rows:>10.3f}{queries:>10}")
    ratio = result["import"]["seconds"] / result["preview"]["seconds"]
    result["import_over_preview"] = round(ratio, 1)
    print(f"ratio import / preview: {ratio:.1f}× (the import plans again, then writes)")
    result["database"] = connection.vendor
    out = ROOT / "benchmarks" / "import_results.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
