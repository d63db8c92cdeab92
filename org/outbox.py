"""The outbox (SPEC §9.4): work that a write owes to someone — a KPI-health notification
today, a chat message or a digest later — is written as a row (`OwedJob`) in the
write's own transaction, so it exists exactly when the write does.

Once the transaction commits, a task is asked to do it at once. If the broker is down
that request is lost, not the work: `sweep_owed_jobs` runs every minute and does every
job still owed whose next try has come. A job is a registered Celery task, run in the
process that takes the row, under the row's lock: two runs never do one job at once,
and a job done is never done again. A job that fails is tried again after a pause that
doubles from a minute to an hour, and is given up (and logged) after a day. Webhook
deliveries and chat messages are their own outbox (`WebhookDelivery` and `ChatMessage`
rows, same rules: org/deliveries.py).

A job's task must be idempotent: a worker killed after the job's work but before the
row is marked done runs it again (KPI-health notifications are keyed by their value).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from celery import current_app, shared_task
from django.db import transaction
from django.utils import timezone

from core.tasks import enqueue_on_commit

from .models import OwedJob

if TYPE_CHECKING:
    from celery import Task

log = logging.getLogger("cascade.outbox")
FIRST_RETRY = dt.timedelta(minutes=1)
LAST_RETRY = dt.timedelta(hours=1)
KEPT_TRYING = dt.timedelta(hours=24)
KEPT_DONE = dt.timedelta(days=7)  # done rows are deleted after this (the sweep does it)
SWEEP_BATCH = 500


def owe(task: Task[..., object], *jobs: dict[str, Any]) -> None:
    """Owe one run of `task` per keyword-argument dict in `jobs` (JSON values), in the
    current transaction; each is asked of the broker once the transaction commits."""
    rows = OwedJob.objects.bulk_create(OwedJob(task=task.name, kwargs=kwargs) for kwargs in jobs)
    for row in rows:
        enqueue_on_commit(do_owed_job, row.pk, owed=True)


def retry_pause(attempts: int) -> dt.timedelta:
    """The pause after the `attempts`-th failure: 1 minute, 2, 4, … at most an hour."""
    return min(FIRST_RETRY * 2 ** min(max(attempts, 1) - 1, 10), LAST_RETRY)


@shared_task(ignore_result=True)
def do_owed_job(job_id: int) -> str:
    """Do one owed job, unless it is done, given up, not due yet or being done right
    now. Returns what became of it: done, retry, failed or skipped."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            OwedJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, done_at=None, failed_at=None, next_try__lte=now)
            .first()
        )
        if job is None:
            return "skipped"
        try:
            with transaction.atomic():  # the job's own writes go if it fails
                current_app.tasks[job.task](**job.kwargs)
        except Exception as error:
            job.attempts += 1
            job.last_error = f"{type(error).__name__}: {error}"[:500]
            if now - job.created_at >= KEPT_TRYING:
                job.failed_at = now
                log.error("Gave up owed job %s %s after a day: %s", job.pk, job, job.last_error)
            else:
                job.next_try = now + retry_pause(job.attempts)
                log.warning(
                    "Owed job %s %s failed (%s); next try at %s",
                    job.pk,
                    job,
                    job.last_error,
                    job.next_try.isoformat(timespec="seconds"),
                )
        else:
            job.done_at = timezone.now()
        job.save(update_fields=["attempts", "last_error", "next_try", "done_at", "failed_at"])
        return "done" if job.done_at else "failed" if job.failed_at else "retry"


@shared_task(ignore_result=True)
def sweep_owed_jobs() -> int:
    """Every minute: do the owed jobs whose next try has come (their task was lost with
    the broker, or failed), oldest first, here in this worker; forget the jobs done a
    week ago. Returns how many were done."""
    due = list(
        OwedJob.objects.filter(done_at=None, failed_at=None, next_try__lte=timezone.now())
        .order_by("next_try", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    done = sum(do_owed_job(job_id) == "done" for job_id in due)
    OwedJob.objects.filter(done_at__lt=timezone.now() - KEPT_DONE).delete()
    return done
