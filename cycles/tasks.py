"""Background jobs about whole cycles: each loads by id and calls one function.

A task's name is what a queued message carries, so a worker of a new release must
still know the names an older one queued: these tasks keep the `kpis.tasks.` names
they had before the cycles app held them (README, "Architecture")."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from kpis.rollup import cycle_rollup

from .importing import import_job_commit, import_job_plan, import_jobs_forget
from .models import Cycle
from .summary import summary_refresh


@shared_task(name="kpis.tasks.cycle_rollup_task")
def cycle_rollup_task(cycle_id: int) -> int:
    """Recompute one cycle's stored progress and health."""
    cycle = Cycle.objects.select_related("organization").filter(pk=cycle_id).first()
    return cycle_rollup(cycle) if cycle else 0


@shared_task(name="kpis.tasks.refresh_cycle_summary")
def refresh_cycle_summary(cycle_id: int) -> None:
    """Recount one cycle's dashboard figures (after a change, or a new day)."""
    cycle = Cycle.objects.select_related("organization").filter(pk=cycle_id).first()
    if cycle:
        summary_refresh(cycle)


@shared_task(name="kpis.tasks.rollup_all_cycles")
def rollup_all_cycles() -> int:
    """Recompute every cycle: health moves with the calendar even without updates, and
    so do the dashboard's figures (a new period), which are recounted too."""
    changed = 0
    for cycle in Cycle.objects.select_related("organization"):
        rows = cycle_rollup(cycle)  # a change recounts the figures by itself
        if settings.SHARED_CACHE and not rows:
            summary_refresh(cycle)
        changed += rows
    return changed


# A job meeting another writer's lock (SQLite) rolled back; it tries again shortly.
@shared_task(
    name="kpis.tasks.plan_import",
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=5,
)
def plan_import(job_id: int) -> str:
    """Plan a large file's import (its preview), reporting progress on the job."""
    return import_job_plan(job_id=job_id)


@shared_task(
    name="kpis.tasks.commit_import",
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=5,
)
def commit_import(job_id: int) -> str:
    """Import a large file once confirmed: all rows or none, one roll-up at the end."""
    return import_job_commit(job_id=job_id)


@shared_task(name="kpis.tasks.forget_old_import_jobs")
def forget_old_import_jobs() -> int:
    """Daily: the import jobs older than a week, with the files they hold, are deleted."""
    return import_jobs_forget()
