"""Operations signals: a database outage is a 503 with Retry-After (not a 500), logged
in one line that says the request's id, and log lines carry their time and request id
(`-` outside a request), in text or JSON (LOG_FORMAT)."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from log_request_id.filters import RequestIDFilter

from .api.helpers import API, client_for

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def stop_database(require_postgres, transactional_db):
    """Call it to make PostgreSQL unreachable (its address then names a closed port)."""
    saved = dict(connection.settings_dict)

    def stop() -> None:
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))

    yield stop
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_a_database_outage_is_a_503_with_retry_after(acme, tree, client, stop_database):
    api = client_for(acme.member)
    client.force_login(acme.member.user)
    stop_database()
    # The test clients re-raise a request's exception; a browser gets the answer.
    client.raise_request_exception = api.raise_request_exception = False
    for response in (
        client.get("/"),
        api.get(f"{API}/goals/"),
        api.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}),
    ):
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
    assert "nothing was saved" in response.json()["detail"]


def test_a_database_outage_is_one_log_line_without_a_traceback_with_the_request_id(
    acme, client, stop_database, caplog
):
    """An expected outage: no traceback per request (a busy server would write
    thousands). The 503 says the id that is in its line, as the 500 does."""
    caplog.handler.addFilter(RequestIDFilter())
    client.force_login(acme.member.user)
    api = client_for(acme.member)
    stop_database()
    client.raise_request_exception = api.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        caplog.clear()
        answer = api.get(f"{API}/goals/", headers={"X-Request-ID": "outage-api"})
        page = client.get("/", headers={"X-Request-ID": "outage-page"})

    assert (answer.status_code, page.status_code) == (503, 503)
    assert answer.json()["request_id"] == "outage-api"
    assert "<code>outage-page</code>" in page.content.decode()
    lines = [(r.request_id, r.levelname, r.exc_info, r.getMessage()) for r in caplog.records]
    assert [line[:3] for line in lines] == [
        ("outage-api", "WARNING", None),
        ("outage-page", "WARNING", None),
    ], lines
    assert lines[0][3].startswith(
        "Database unreachable: GET /api/v1/goals/ answered 503 (OperationalError: "
    )


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_carry_their_time_in_the_chosen_format(log_format):
    script = "import django, logging; django.setup(); logging.getLogger('cascade.x').warning('hi')"
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cascade.settings", "LOG_FORMAT": log_format},
        capture_output=True,
        text=True,
        check=True,
    )
    line = run.stderr.strip().splitlines()[-1]
    if log_format == "text":
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING cascade.x \[\d+\] \[-\] hi", line
        )
    else:
        record = json.loads(line)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["time"])
        assert (record["level"], record["logger"], record["message"]) == (
            "WARNING",
            "cascade.x",
            "hi",
        )


def test_the_worker_pools_errors_are_log_lines_in_json_too():
    """billiard (Celery's process pool) logs as `multiprocessing` and stops it from
    propagating; its errors, traceback included, are JSON lines like every other."""
    script = (
        "import django; django.setup()\n"
        "from billiard.util import error, get_logger\n"
        "get_logger()\n"
        "try:\n    raise ConnectionError('Redis went away')\n"
        "except ConnectionError as exc:\n"
        "    error('Pool callback raised exception: %r', exc, exc_info=1)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cascade.settings", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = run.stderr.strip().splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("ERROR", "multiprocessing")
    assert "Pool callback raised exception" in record["message"]
    assert "ConnectionError: Redis went away" in record["exception"]
