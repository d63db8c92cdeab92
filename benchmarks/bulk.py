"""Bulk recording against single requests (SPEC §8.4): 500 values in one request to
POST /api/v1/kpis/updates/ against 500 requests to POST /api/v1/kpis/{id}/updates/,
through the whole Django stack (token auth, throttles, validation, roll-up), in
process, on the demo organization.

    .venv/bin/python benchmarks/bulk.py            # PostgreSQL at DATABASE_URL, default
                                                   # postgres://postgres@127.0.0.1:5432/cascade_bench_bulk
    .venv/bin/python benchmarks/bulk.py --values 200 --rounds 5

Prints a table and writes benchmarks/bulk_results.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cascade_bench_bulk")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "VLoISvGu3sUyGGnAYvt7Rk8dyFYP4eFdIJtlqqk_KDs=")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("API_RATE_PER_CALLER", "100000/minute")  # measuring, not throttling
os.environ.setdefault("API_RATE_PER_ADDRESS", "100000/minute")
os.environ.pop("CELERY_BROKER_URL", None)  # notifications run inline

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from kpis.models import Kpi, KpiUpdate  # noqa: E402
from kpis.rollup import cycle_rollup  # noqa: E402
from org.models import Member  # noqa: E402
from org.tokens import token_issue  # noqa: E402

TARGET_RATIO = 10  # one bulk request should be at least this many times faster


def client() -> APIClient:
    leader = Member.objects.get(user__username="lena")
    _, key = token_issue(leader.user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def rows(count: int) -> list[dict]:
    kpis = list(Kpi.objects.filter(organization__name="Acme").order_by("id"))
    return [
        {"kpi": kpis[i % len(kpis)].pk, "value": kpis[i % len(kpis)].baseline, "note": f"#{i}"}
        for i in range(count)
    ]


def reset() -> None:
    KpiUpdate.objects.filter(note__startswith="#").delete()
    for kpi in Kpi.objects.filter(organization__name="Acme").select_related("goal__cycle")[:1]:
        cycle_rollup(kpi.goal.cycle)


def one_by_one(api: APIClient, values: list[dict]) -> float:
    start = time.perf_counter()
    for row in values:
        body = {key: value for key, value in row.items() if key != "kpi"}
        response = api.post(f"/api/v1/kpis/{row['kpi']}/updates/", body, format="json", secure=True)
        assert response.status_code == 201, response.content
    return time.perf_counter() - start


def at_once(api: APIClient, values: list[dict]) -> float:
    start = time.perf_counter()
    response = api.post("/api/v1/kpis/updates/", values, format="json", secure=True)
    assert response.status_code == 201, response.content
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("demo", stdout=io.StringIO())
    api, values = client(), rows(args.values)
    singles, bulks = [], []
    for _ in range(args.rounds):
        reset()
        singles.append(one_by_one(api, values))
        reset()
        bulks.append(at_once(api, values))
    reset()
    single, bulk = statistics.median(singles), statistics.median(bulks)
    result = {
        "values": args.values,
        "rounds": args.rounds,
        "single_requests_s": round(single, 3),
        "single_per_value_ms": round(1000 * single / args.values, 2),
        "bulk_request_s": round(bulk, 3),
        "bulk_per_value_ms": round(1000 * bulk / args.values, 2),
        "ratio": round(single / bulk, 1),
        "target_ratio": TARGET_RATIO,
        "database": django.db.connection.vendor,
    }
    print(f"{'':32}{'seconds':>10}{'ms a value':>12}")
    print(
        f"{args.values} single requests{'':{32 - len(str(args.values)) - 16}}"
        f"{single:>10.3f}{result['single_per_value_ms']:>12.2f}"
    )
    print(
        f"1 bulk request of {args.values}{'':{32 - len(str(args.values)) - 18}}"
        f"{bulk:>10.3f}{result['bulk_per_value_ms']:>12.2f}"
    )
    verdict = "meets" if result["ratio"] >= TARGET_RATIO else "MISSES"
    print(f"ratio single / bulk: {result['ratio']}× ({verdict} the target of {TARGET_RATIO}×)")
    out = ROOT / "benchmarks" / "bulk_results.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
