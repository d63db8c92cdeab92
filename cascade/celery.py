"""The Celery app, as in Celery's "First steps with Django" guide. Tasks live in each
app's tasks.py; code enqueues them with core.tasks.enqueue_on_commit.

Logging: worker and beat keep Django's LOGGING (settings.py), so their lines have the
web's format (LOG_FORMAT) and each task's lines carry the id of the request that
enqueued it (core/logs.py)."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.apps import worker
from celery.signals import (
    before_task_publish,
    celeryd_after_setup,
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    task_received,
    worker_ready,
    worker_shutting_down,
)
from django.conf import settings

from core import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cascade.settings")

app = Celery("cascade", task_cls="core.logs:TaskWithRequestId")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger("cascade.worker")

before_task_publish.connect(logs.put_request_id_in_task, weak=False)
task_prerun.connect(logs.take_request_id_from_task, weak=False)
task_postrun.connect(logs.drop_request_id_after_task, weak=False)
task_received.connect(logs.forget_request_id, weak=False)  # see core.logs.TaskRequest


@setup_logging.connect(weak=False)
@celeryd_init.connect(weak=False)
def use_django_logging(**kwargs: Any) -> None:
    """Celery configures no logging of its own when setup_logging is answered: Django's
    LOGGING applies (and `--loglevel` gives way to LOG_LEVEL). The worker applies it
    first at celeryd_init, so that its start-up warnings (as root: the SecurityWarning)
    are log lines in that format too."""
    logs.configure(settings.LOGGING)


@celeryd_after_setup.connect(weak=False)
def banner_as_one_line(sender: str, instance: Any, **kwargs: Any) -> None:
    """With LOG_FORMAT=json the worker's start-up banner (printed, not logged) is one
    log line instead, so every line the worker writes is JSON."""
    if settings.LOG_FORMAT == "json" and not instance.quiet:
        instance.quiet = True
        log.info("Worker %s starting\n%s", sender, instance.startup_info(artlines=False))


@worker_ready.connect(weak=False)
def shutdown_as_one_line(sender: Any, **kwargs: Any) -> None:
    """With LOG_FORMAT=json the worker's "Warm shutdown" notice (printed on SIGTERM)
    is a log line instead: its handler is installed again, silent, and the signal
    below logs it."""
    if settings.LOG_FORMAT == "json":
        worker.install_worker_term_handler(sender.controller, verbose=False)


@worker_shutting_down.connect(weak=False)
def log_shutdown(sig: str, how: str, **kwargs: Any) -> None:
    if settings.LOG_FORMAT == "json":
        log.info("Worker: %s shutdown (%s)", how, sig)
