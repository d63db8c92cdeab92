"""Sending outbox rows to outside addresses: one loop for every kind of `Delivery`
(org/models.py) — a webhook's delivery (org/webhooks.py), a chat message (org/chat.py).

Each row is written in the transaction of the write it tells of, so it exists exactly
when that write does; its task is asked for once the transaction commits, and the
minute's sweep (`resend_due`) tries whatever is due that no task has tried (the broker
was down, a worker died). One attempt (`attempt`):

1. Claim it, briefly, in a transaction of its own: the row, pending and due, locked
   with SKIP LOCKED (a second task for the same attempt finds nothing and skips); its
   attempts counted and its next attempt pushed past this one's end (`CLAIMED`), so a
   worker killed mid-send leaves it to the sweep, not to a second sender now.
2. Send it with no transaction open: a slow receiver holds no lock and no connection
   in a transaction; every request goes through core/egress.py (checked again now).
3. Record what came of it: a 2xx delivers it; an address egress refuses fails it at
   once (nothing was sent); anything else is kept on the row and the next attempt
   scheduled after a pause doubling from WEBHOOK_RETRY_SECONDS up to an hour, until it
   has been tried for 24 hours (`KEPT_TRYING`), when it fails.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import egress

from .models import Delivery, DeliveryState

if TYPE_CHECKING:
    from celery import Task

log = logging.getLogger("cascade.deliveries")
KEPT_TRYING = dt.timedelta(hours=24)
TIMEOUT = 10  # seconds an attempt may take, answer included
# An attempt's task may run this much before its time (clocks differ between machines).
EARLY = dt.timedelta(seconds=5)
# An attempt under way holds its row this long (longer than it can take).
CLAIMED = dt.timedelta(seconds=TIMEOUT + 30)
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Request:
    """What one attempt sends: a POST of `body` to `url` with `headers`."""

    url: str
    headers: Mapping[str, str]
    body: bytes


def pause_after(attempts: int) -> float:
    """Seconds before the next try: doubling from WEBHOOK_RETRY_SECONDS, at most an hour."""
    return min(settings.WEBHOOK_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600)


def attempt[D: Delivery](
    model: type[D],
    delivery_id: int,
    *,
    to: str,
    request: Callable[[D], Request],
    task: Task[..., object],
    answer_said: bool = False,
) -> str:
    """One attempt at the row `delivery_id` of `model`, whose address belongs to its
    foreign key `to` (loaded with it): claim, send `request(row)`, record (module
    docstring). `task` is the row's task, asked again for the next attempt. With
    `answer_said`, an error answer's first words are kept with its status (a chat
    service says what it disliked: "invalid_blocks"). Returns the row's state, or
    "skipped" when there was nothing to try."""
    with transaction.atomic():  # claim this attempt, briefly: no other task makes it
        row = (
            # Only the row: locking its target too would make the rows of one target
            # skip each other when two workers send them at once.
            model.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(to)
            .filter(
                pk=delivery_id,
                state=DeliveryState.PENDING,
                next_attempt_at__lte=timezone.now() + EARLY,
            )
            .first()
        )
        # Delivered, given up, being tried right now, or not due: a second task for the
        # same attempt (the sweep's, or one the broker gave out again) does nothing.
        if row is None:
            return "skipped"
        row.attempts += 1
        # Until the attempt is over: a worker killed while sending leaves it to the sweep.
        row.next_attempt_at = timezone.now() + CLAIMED
        row.save(update_fields=["attempts", "next_attempt_at"])
    # No transaction is open while the receiver takes its time: nothing waits on it.
    sending = request(row)
    status, error, refused = None, "", False
    try:
        answer = egress.send(
            "POST", sending.url, headers=sending.headers, body=sending.body, timeout=TIMEOUT
        )
        status = answer.status
        if not 200 <= status < 300:
            error = f"Answered {status}."
            said = answer.body[:200].decode("utf-8", "replace").strip() if answer_said else ""
            if said:
                error = f"Answered {status}: {said}"
    except egress.Refused as exc:  # nothing was sent
        error, refused = str(exc)[:500], True
    except egress.EgressError as exc:
        error = str(exc)[:500]
    now = timezone.now()
    row.last_status, row.last_error = status, error[:500]
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at = DeliveryState.DELIVERED, now
    elif refused or now - row.created_at >= KEPT_TRYING:
        row.state = DeliveryState.FAILED
    else:
        pause = pause_after(row.attempts)
        row.next_attempt_at = now + dt.timedelta(seconds=pause)
        _try_again_in(task, pause, row.pk)
    row.save(
        update_fields=["last_status", "last_error", "state", "delivered_at", "next_attempt_at"]
    )
    return row.state


def _try_again_in(task: Task[..., object], pause: float, delivery_id: int) -> None:
    """Schedule the next attempt (once this one is saved). Tasks run inline (no broker:
    the tests, a shell): nothing is scheduled; the sweep tries again."""
    if task.app.conf.task_always_eager:
        return

    def send() -> None:
        try:
            task.apply_async(args=(delivery_id,), countdown=pause)
        except Exception as exc:  # the broker is down: the sweep tries again
            log.warning(
                "Could not schedule %s(%s): broker unreachable (%s: %s); "
                "the sweep tries it when it is due.",
                task.name,
                delivery_id,
                type(exc).__name__,
                exc,
            )

    transaction.on_commit(send, robust=True)


def resend_due(model: type[Delivery], task: Task[..., object]) -> int:
    """The minute's sweep of `model`: rows due for an attempt that no task has made yet
    (it was lost with the broker, say) are asked of `task` now. A row's own task may
    come too: the first takes it, the other finds it delivered or not due and does
    nothing. Returns how many were asked for."""
    overdue = model.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    for delivery_id in overdue:
        task.apply_async(args=(delivery_id,))
    return len(overdue)
