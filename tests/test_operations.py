"""Operations signals: a database outage is a 503 with Retry-After (not a 500), and
log lines carry their time, in text or JSON (LOG_FORMAT)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

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
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING cascade.x \[\d+\] hi", line
        )
    else:
        record = json.loads(line)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["time"])
        assert (record["level"], record["logger"], record["message"]) == (
            "WARNING",
            "cascade.x",
            "hi",
        )
