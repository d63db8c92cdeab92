"""A large file imported from the page is planned and imported by a Celery
task (a real worker here), the page's progress piece reports the rows done of the
total, and the import ends with one roll-up of the cycle."""

from __future__ import annotations

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cycles import importing
from cycles.import_jobs import INLINE_ROWS
from cycles.models import ImportJob
from goals.models import Goal
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

from .conftest import broker_at, until
from .test_rollup_and_outages import closed_port

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}
ROWS = INLINE_ROWS + 50


def large_file() -> bytes:
    """Under the tests' tree: a team goal and a KPI per row, below its department goal."""
    lines = ["Strategic goal,Department goal,Team goal,Team,KPI,Unit,Baseline,Target"]
    for n in range(ROWS):
        lines.append(
            "Improve customer experience,Reduce average response time by 20%,"
            f"Team goal {n},Support Tier 2,Tickets closed {n},tickets,0,{n + 10}"
        )
    return ("\n".join(lines) + "\n").encode()


def test_a_large_file_is_planned_and_imported_by_the_worker_with_one_rollup(
    acme, tree, monkeypatch, request
):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    rollups = []
    real_rollup = importing.cycle_rollup

    def counted(cycle, **kwargs):
        rollups.append(cycle.pk)
        return real_rollup(cycle, **kwargs)

    monkeypatch.setattr(importing, "cycle_rollup", counted)
    client = Client()
    client.force_login(acme.leader.user)
    # The worker starts once the test's own writes are done: SQLite's shared in-memory
    # database refuses a write while another thread holds a table.
    request.getfixturevalue("worker")

    response = client.post(f"/cycles/{acme.cycle.pk}/import/", {"file": _upload(large_file())})

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.total == ROWS
    until(lambda: ImportJob.objects.get().state == "previewed", 60, "the worker's preview")
    piece = client.get(response["Location"], headers=HTMX).content.decode()
    assert "hx-trigger" not in piece  # finished: the page stops polling
    assert f"Import {ROWS} rows" in piece
    job.refresh_from_db()
    assert (job.done, job.total) == (ROWS, ROWS)
    assert job.preview["totals"]["create"] == 2 * ROWS
    assert Kpi.objects.count() == 3  # nothing written yet

    confirmed = client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/", headers=HTMX)

    assert "Importing" in confirmed.content.decode()  # the progress bar, polling
    until(lambda: ImportJob.objects.get().state == "done", 60, "the worker's import")
    job.refresh_from_db()
    assert (job.done, job.total) == (ROWS, ROWS)
    assert job.result["goals_created"] == ROWS and job.result["kpis_created"] == ROWS
    assert Goal.objects.filter(cycle=acme.cycle, level="team").count() == ROWS
    assert rollups == [acme.cycle.pk]  # one roll-up, at the end
    assert cycle_rollup(acme.cycle) == 0  # …and what it stored is what a fresh one computes
    done = client.get(response["Location"], headers=HTMX).content.decode()
    assert f"{ROWS} goals and {ROWS} KPIs created" in done


def test_a_job_is_claimed_once_so_a_second_run_plans_nothing(acme, worker):
    job = ImportJob.objects.create(
        cycle=acme.cycle,
        created_by=acme.leader,
        file_name="f.csv",
        format="csv",
        rows=[[2, {"Strategic goal": "S"}]],
        total=1,
    )
    assert importing.import_job_plan(job_id=job.pk) == "previewed"
    assert importing.import_job_plan(job_id=job.pk) == "claimed"


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("large.csv", content)


def test_with_redis_down_a_large_file_is_previewed_and_imported_in_the_request(
    acme, tree, broker, caplog
):
    """The broker is unreachable: the page does not wait forever on a job no worker
    will get — the work is done in the request, and the failed enqueue is logged."""
    client = Client()
    client.force_login(acme.leader.user)
    caplog.set_level(logging.ERROR, logger="cascade.tasks")
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.post(f"/cycles/{acme.cycle.pk}/import/", {"file": _upload(large_file())})
        job = ImportJob.objects.get()
        assert job.state == "previewed" and (job.done, job.total) == (ROWS, ROWS)
        client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/", headers=HTMX)
    assert ImportJob.objects.get().state == "done"
    assert Goal.objects.filter(cycle=acme.cycle, level="team").count() == ROWS
    page = client.get(response["Location"]).content.decode()
    assert f"{ROWS} goals and {ROWS} KPIs created" in page
    assert "Could not enqueue kpis.tasks.plan_import" in caplog.text
    assert "doing it here" in caplog.text
