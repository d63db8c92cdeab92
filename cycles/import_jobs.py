"""Imports started from the page: the file is read and kept with its preview in an
ImportJob, so the person can look at it, then confirm. Small files are planned and
imported at once; larger ones by a Celery task, with the page showing its progress."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.tasks import enqueue_on_commit
from goals.services import check_open
from org.models import Member
from org.permissions import MANAGE_CYCLES

from . import sheets
from .importing import import_job_commit, import_job_plan, individual_kpi_reading
from .models import Cycle, ImportJob, ImportState
from .tasks import commit_import, plan_import

INLINE_ROWS = 200  # up to this many rows, a file is planned and imported in the request
ONLY_PREVIEWED = "The file is being read or imported already: wait for its preview."


def import_job_start(*, actor: Member, cycle: Cycle, file_name: str, content: bytes) -> ImportJob:
    """Read an uploaded file into a job and plan it: now if it is small, else in a task.
    A file that can't be read is a ValidationError on `file`; nothing is kept."""
    MANAGE_CYCLES.require(actor)
    check_open(cycle)
    fmt = sheets.sniff_format(content, file_name)
    rows = sheets.read_rows(content, fmt)
    job = ImportJob.objects.create(
        cycle=cycle,
        created_by=actor,
        file_name=(file_name or "upload")[:255],
        format=fmt,
        rows=[[number, cells] for number, cells in rows],
        total=len(rows),
    )
    if len(rows) <= INLINE_ROWS:
        import_job_plan(job_id=job.pk)
    else:
        # Redis down: the person still gets a preview, read here instead.
        enqueue_on_commit(plan_import, job.pk, here=lambda: import_job_plan(job_id=job.pk))
    job.refresh_from_db()
    return job


def import_job_read_as(*, actor: Member, job: ImportJob, individual_kpi: str) -> ImportJob:
    """Plan a previewed job again, its "Individual KPI" cells read as the person chose
    on the preview (cycles/sheets.py, read_as): now if it is small, else in a task. The
    new preview says which reading it applied, and confirming imports exactly that."""
    MANAGE_CYCLES.require(actor)
    check_open(job.cycle)
    reading = individual_kpi_reading([(n, cells) for n, cells in job.rows], individual_kpi)
    if reading is None:
        raise ValidationError(
            {"individual_kpi": [f"The file has no “{sheets.INDIVIDUAL_KPI}” cells to read."]}
        )
    # The chosen reading waits in the preview until the plan replaces it with its own.
    claimed = ImportJob.objects.filter(pk=job.pk, state=ImportState.PREVIEWED).update(
        state=ImportState.QUEUED, preview={"individual_kpi": reading}, done=0
    )
    if not claimed:
        raise ValidationError({"individual_kpi": [ONLY_PREVIEWED]})
    if job.total <= INLINE_ROWS:
        import_job_plan(job_id=job.pk)
    else:
        enqueue_on_commit(plan_import, job.pk, here=lambda: import_job_plan(job_id=job.pk))
    job.refresh_from_db()
    return job


def import_job_confirm(*, actor: Member, job: ImportJob) -> ImportJob:
    """Import a previewed job without errors: now if it is small, else in a task."""
    MANAGE_CYCLES.require(actor)
    check_open(job.cycle)
    if job.state != ImportState.PREVIEWED or (job.preview or {}).get("totals", {}).get("errors"):
        raise ValidationError(
            {"file": ["Only a preview without errors can be imported: fix the file first."]}
        )
    claimed = ImportJob.objects.filter(pk=job.pk, state=ImportState.PREVIEWED).update(
        state=ImportState.IMPORTING, done=0
    )
    if claimed:
        if job.total <= INLINE_ROWS:
            import_job_commit(job_id=job.pk)
        else:
            enqueue_on_commit(commit_import, job.pk, here=lambda: import_job_commit(job_id=job.pk))
    job.refresh_from_db()
    return job
