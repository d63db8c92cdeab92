"""Celery task names are a wire format (docs/decisions/0006): a message queued by an
older release names its task, and the worker of a newer one must know that name."""

from __future__ import annotations

from django.conf import settings

from cascade.celery import app
from cycles import tasks

# Queued under these names before the cycles app held them.
KEPT = {
    "kpis.tasks.cycle_rollup_task": tasks.cycle_rollup_task,
    "kpis.tasks.refresh_cycle_summary": tasks.refresh_cycle_summary,
    "kpis.tasks.rollup_all_cycles": tasks.rollup_all_cycles,
    "kpis.tasks.plan_import": tasks.plan_import,
    "kpis.tasks.commit_import": tasks.commit_import,
    "kpis.tasks.forget_old_import_jobs": tasks.forget_old_import_jobs,
}


def test_the_cycle_tasks_answer_to_the_names_their_queued_messages_carry():
    app.loader.import_default_modules()
    for name, task in KEPT.items():
        registered = app.tasks[name]
        assert task.name == name
        assert (registered.run.__module__, registered.run.__name__) == (
            "cycles.tasks",
            task.__name__,
        )


def test_every_beat_entry_names_a_task_a_worker_knows():
    app.loader.import_default_modules()
    unknown = {
        entry: spec["task"]
        for entry, spec in settings.CELERY_BEAT_SCHEDULE.items()
        if spec["task"] not in app.tasks
    }
    assert unknown == {}
