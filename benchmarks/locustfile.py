"""One request, sent as fast as the users can: benchmarks/run.py runs locust with this
file once per request and number of users, and reads its statistics.

BENCH_METHOD and BENCH_PATH name the request; BENCH_HEADERS (JSON) signs it in (a
session cookie or an API token). BENCH_KPIS (JSON ids), for a POST, makes it record a
value on one of those KPIs, picked at random, through the API."""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, constant, task

METHOD = os.environ["BENCH_METHOD"]
PATH = os.environ["BENCH_PATH"]
HEADERS = json.loads(os.environ.get("BENCH_HEADERS", "{}"))
KPIS = json.loads(os.environ.get("BENCH_KPIS", "[]"))


class OneRequest(FastHttpUser):
    wait_time = constant(0)

    @task
    def send(self) -> None:
        if METHOD == "POST":
            kpi = random.choice(KPIS)
            self.client.post(
                PATH.format(kpi=kpi),
                json={"value": random.randint(0, 100)},
                headers=HEADERS,
                name=PATH,
            )
        else:
            self.client.get(PATH, headers=HEADERS)
