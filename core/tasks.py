"""The one way the code enqueues background work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from celery import Signature, Task

log = logging.getLogger("cascade.tasks")


def enqueue_on_commit(
    task: Task[..., object] | Signature[object],  # a signature: a task named, not imported
    *args: object,
    here: Callable[[], object] | None = None,
    owed: bool = False,
    **kwargs: object,
) -> None:
    """Send `task` to the broker once the current transaction commits.

    The write that asked for it has already succeeded: if the broker is down the
    task is lost, not the write, and the failure is logged loudly for operators —
    unless the caller gives `here`, a callable that does the same work in this
    process: then it runs instead (work a person is waiting for, like an import).
    `owed`: the task only hurries work an outbox row holds (org/outbox.py, webhook
    deliveries), which a sweep does anyway: a lost send is a warning, nothing is lost.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception as exc:  # kombu/redis errors differ by transport
            # Without a broker the task runs right here: then it is the task that failed.
            if task.app.conf.task_always_eager:
                problem = "Task %s%r failed (%s: %s)"
            elif here is not None:
                log.error(
                    "Could not enqueue %s%r: broker unreachable (%s: %s); doing it here.",
                    task.name,
                    args,
                    *_named(exc),
                )
                here()
                return
            elif owed:
                log.warning(
                    "Could not enqueue %s%r: broker unreachable (%s: %s); "
                    "it stays owed in the outbox, and the sweep does it.",
                    task.name,
                    args,
                    *_named(exc),
                )
                return
            else:
                problem = "Could not enqueue %s%r: broker unreachable (%s: %s)"
            log.error(f"{problem}; the change itself is saved.", task.name, args, *_named(exc))

    transaction.on_commit(send, robust=here is None)


def _named(exc: Exception) -> tuple[str, Exception]:
    return type(exc).__name__, exc
