"""The one way the code enqueues background work."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger("cascade.tasks")


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send `task` to the broker once the current transaction commits.

    The write that asked for it has already succeeded: if the broker is down the
    task is lost, not the write, and the failure is logged loudly for operators.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception as exc:  # kombu/redis errors differ by transport
            log.error(
                "Could not enqueue %s%r: broker unreachable (%s: %s); the change itself is saved.",
                task.name,
                args,
                type(exc).__name__,
                exc,
            )

    transaction.on_commit(send)
