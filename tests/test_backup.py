"""The README's backup runbook works: a `pg_dump -Fc` of a populated database, restored
with `pg_restore` into a fresh one, answers the API with the same figures."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from org.models import Member

from .api.helpers import API, client_for

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)


def figures(api) -> dict:
    """What an integration reads: every goal's and KPI's numbers, and a whole tree."""
    goals = api.get(f"{API}/goals/", {"page_size": 200}).json()["results"]
    kpis = api.get(f"{API}/kpis/", {"page_size": 200}).json()["results"]
    tree = api.get(f"{API}/goals/{goals[0]['id']}/tree/").json()
    return {"goals": goals, "kpis": kpis, "tree": tree}


def postgres(*command: str) -> None:
    settings = connection.settings_dict
    subprocess.run(
        [
            *command,
            *("-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)),
            *("-U", settings["USER"]),
        ],
        check=True,
        capture_output=True,
        env={"PGPASSWORD": settings["PASSWORD"] or "", "PATH": "/usr/bin:/bin"},
    )


def test_a_dump_restored_into_a_fresh_database_reads_the_same(
    require_postgres, transactional_db, tmp_path
):
    if shutil.which("pg_dump") is None:
        pytest.skip("needs pg_dump and pg_restore (postgresql-client)")
    call_command("demo", stdout=io.StringIO())
    api = client_for(Member.objects.get(user__username="lena"))
    before = figures(api)
    dump = tmp_path / "cascade.dump"
    original = connection.settings_dict["NAME"]
    restored = f"cascade_restore_{uuid.uuid4().hex[:8]}"
    postgres("pg_dump", "-Fc", "-f", str(dump), "-d", original)
    postgres("createdb", restored)
    try:
        postgres("pg_restore", "--no-owner", "-d", restored, str(dump))
        connection.close()
        connection.settings_dict["NAME"] = restored
        assert figures(api) == before
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        postgres("dropdb", "--if-exists", restored)
