"""Webhooks (SPEC §8.4): an admin names an address and the events to hear of; each
event becomes a delivery, written in the transaction of the change it tells of (an
outbox: nothing is lost when the broker is down), sent by Celery as signed JSON and
retried with a growing pause for 24 hours, every attempt kept in the delivery log.

Every request goes through core/egress.py, which refuses addresses on private,
loopback, link-local or reserved networks (a webhook must not reach into the network
Cascade runs in) unless OUTBOUND_ALLOW_PRIVATE=true: when the webhook is saved, and
again at every attempt, which resolves the host once and connects to the address it
checked. Each attempt is signed anew, with its time (`signature`); a receiver refuses
one older than five minutes. The secret is stored encrypted (core/crypto.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.record import created, deleted, diff, record, snapshot
from core import egress
from core.errors import Errors
from core.tasks import enqueue_on_commit

from .models import PING, DeliveryState, Member, Webhook, WebhookDelivery, WebhookEvent
from .permissions import MANAGE_WEBHOOKS

log = logging.getLogger("cascade.webhooks")
SIGNATURE = "X-Cascade-Signature"
KEPT_TRYING = dt.timedelta(hours=24)
TIMEOUT = 10  # seconds an attempt may take, answer included
AUDITED = ("url", "events", "is_active")
# An attempt's task may run this much before its time (clocks differ between machines).
EARLY = dt.timedelta(seconds=5)
# An attempt under way holds its delivery this long (longer than it can take).
CLAIMED = dt.timedelta(seconds=TIMEOUT + 30)  # audited (of the secret, only that it changed)


def _check(errors: Errors, url: str, events: Any) -> None:
    reason = egress.refusal(url)
    if reason:
        errors.add("url", reason)
    if not isinstance(events, list) or not events or not set(events) <= set(WebhookEvent.values):
        errors.add("events", f"Pick one or more of: {', '.join(WebhookEvent.values)}.")


@transaction.atomic
def webhook_create(
    *, actor: Member, url: str, events: list[str], secret: str = "", is_active: bool = True
) -> Webhook:
    """A new webhook; without a secret, a random one (shown once, to the admin)."""
    MANAGE_WEBHOOKS.require(actor)
    errors = Errors()
    _check(errors, url, events)
    if secret and len(secret) < 16:
        errors.add("secret", "At least 16 characters (or leave it out for a random one).")
    errors.raise_if_any()
    hook = Webhook.objects.create(
        organization_id=actor.organization_id,
        url=url,
        events=sorted(set(events)),
        secret=secret or secrets.token_urlsafe(32),
        is_active=is_active,
        created_by=actor,
    )
    record(actor, "webhook.created", hook, changes=created(hook, AUDITED))
    return hook


@transaction.atomic
def webhook_update(*, actor: Member, webhook: Webhook, **changes: Any) -> Webhook:
    MANAGE_WEBHOOKS.require(actor, webhook.organization_id)
    errors = Errors()
    _check(errors, changes.get("url", webhook.url), changes.get("events", webhook.events))
    if "secret" in changes and len(changes["secret"] or "") < 16:
        errors.add("secret", "At least 16 characters.")
    errors.raise_if_any()
    before = snapshot(webhook, AUDITED)
    for field in ("url", "events", "secret", "is_active"):
        if field in changes:
            setattr(webhook, field, changes[field])
    webhook.save()
    changed = diff(before, snapshot(webhook, AUDITED))
    if "secret" in changes:  # never the secret itself
        changed["secret"] = ["(hidden)", "(changed)"]
    if changed:
        record(actor, "webhook.updated", webhook, changes=changed)
    return webhook


def webhook_delete(*, actor: Member, webhook: Webhook) -> None:
    MANAGE_WEBHOOKS.require(actor, webhook.organization_id)
    record(actor, "webhook.deleted", webhook, changes=deleted(webhook, AUDITED))
    webhook.delete()


def webhooks_of(organization_id: int) -> list[Webhook]:
    """The People page's list: each webhook with its last five deliveries (two queries)."""
    hooks = list(Webhook.objects.filter(organization_id=organization_id).order_by("id"))
    recent: dict[int, list[WebhookDelivery]] = {hook.pk: [] for hook in hooks}
    latest = (
        WebhookDelivery.objects.filter(webhook__in=hooks)
        .order_by("-id")
        .only(
            "id",
            "webhook_id",
            "event",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
        )
    )[: 50 * max(len(hooks), 1)]
    for delivery in latest:
        if len(recent[delivery.webhook_id]) < 5:
            recent[delivery.webhook_id].append(delivery)
    for hook in hooks:
        hook.recent = recent[hook.pk]
    return hooks


_read = threading.local()  # per thread: {organization id: its active webhooks}


@contextlib.contextmanager
def webhooks_read_once() -> Iterator[None]:
    """Within this block (one write: a value recorded, with the roll-up it moves) the
    webhooks are read once per organization, whatever events the write emits. A block
    inside another shares the outer one's read."""
    if hasattr(_read, "hooks"):
        yield
        return
    _read.hooks = {}
    try:
        yield
    finally:
        del _read.hooks


def _active(organization_id: int) -> list[Webhook]:
    known: dict[int, list[Webhook]] | None = getattr(_read, "hooks", None)
    if known is not None and organization_id in known:
        return known[organization_id]
    hooks = list(
        Webhook.objects.filter(organization_id=organization_id, is_active=True).only("id", "events")
    )
    if known is not None:
        known[organization_id] = hooks
    return hooks


def emit(organization_id: int, event: str, *data: dict[str, Any]) -> None:
    """Tell the organization's webhooks that hear `event` of each of `data`: one
    delivery per event and webhook, written in the current transaction (the outbox:
    a write that rolls back tells no one, and one that commits owes every delivery, even
    if the broker is down), each sent once the transaction commits. One read of the
    webhooks (none more inside `webhooks_read_once`) and one insert for all of `data`,
    however many goals a roll-up moved."""
    if not data:
        return
    hooks = [hook for hook in _active(organization_id) if event in hook.events]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=hook, event=event, payload={"event": event, "data": one})
        for one in data
        for hook in hooks
    )
    for delivery in deliveries:
        enqueue_on_commit(deliver_webhook, delivery.pk, owed=True)


@transaction.atomic
def webhook_ping(*, actor: Member, webhook: Webhook) -> WebhookDelivery:
    """A `ping` delivery to `webhook` (whatever events it hears, paused or not), sent now
    by the worker as every delivery is: signed, logged, retried. Its `data` says which
    webhook it is and what it hears of."""
    MANAGE_WEBHOOKS.require(actor, webhook.organization_id)
    data = {"webhook": webhook.pk, "url": webhook.url, "events": webhook.events}
    return _send(
        WebhookDelivery(webhook=webhook, event=PING, payload={"event": PING, "data": data})
    )


@transaction.atomic
def webhook_redeliver(*, actor: Member, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's payload again as a new delivery (a new id, signed anew, its own
    attempts in the log), whatever became of the first: a receiver that lost or refused
    it gets it again, and tells the two apart by the id."""
    MANAGE_WEBHOOKS.require(actor, delivery.webhook.organization_id)
    again = WebhookDelivery(
        webhook=delivery.webhook, event=delivery.event, payload=delivery.payload
    )
    return _send(again)


def _send(delivery: WebhookDelivery) -> WebhookDelivery:
    """Save a delivery and have the worker send it once the transaction commits (the
    sweep sends it if the broker is down)."""
    delivery.save()
    enqueue_on_commit(deliver_webhook, delivery.pk, owed=True)
    return delivery


def body_of(delivery: WebhookDelivery) -> bytes:
    payload = {"id": delivery.pk, "created_at": delivery.created_at.isoformat(), **delivery.payload}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Cascade-Signature header: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
    with the webhook's secret. The time is signed with the body, so a receiver can
    refuse an old delivery replayed to it."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    return f"t={t},v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def pause_after(attempts: int) -> float:
    """Seconds before the next try: doubling from WEBHOOK_RETRY_SECONDS, at most an hour."""
    return min(settings.WEBHOOK_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600)


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt at a delivery: POST the signed body through core.egress; a 2xx
    delivers it; an address egress refuses fails it at once (nothing is sent); anything
    else (an error status, a timeout, a host that does not resolve) is logged on it, and
    the next attempt is scheduled until 24 hours have passed. Returns the delivery's
    state."""
    with transaction.atomic():  # claim this attempt, briefly: no other task makes it
        delivery = (
            # Only the delivery's row: locking its webhook too would make the deliveries
            # of one webhook skip each other when two workers send them at once.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(
                pk=delivery_id,
                state=DeliveryState.PENDING,
                next_attempt_at__lte=timezone.now() + EARLY,
            )
            .first()
        )
        # Delivered, given up, being tried right now, or not due: a second task for the
        # same attempt (the sweep's, or one the broker gave out again) does nothing.
        if delivery is None:
            return "skipped"
        delivery.attempts += 1
        # Until the attempt is over: a worker killed while sending leaves it to the sweep.
        delivery.next_attempt_at = timezone.now() + CLAIMED
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    # No transaction is open while the receiver takes its time: nothing waits on it.
    hook = delivery.webhook
    body = body_of(delivery)
    status, error, refused = None, "", False
    try:
        answer = egress.send(
            "POST",
            hook.url,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Cascade-Webhooks/1",
                "X-Cascade-Event": delivery.event,
                "X-Cascade-Delivery": str(delivery.pk),
                SIGNATURE: signature(hook.secret, body),
            },
            body=body,
            timeout=TIMEOUT,
        )
        status = answer.status
        error = "" if 200 <= status < 300 else f"Answered {status}."
    except egress.Refused as exc:  # nothing was sent
        error, refused = str(exc)[:500], True
    except egress.EgressError as exc:
        error = str(exc)[:500]
    now = timezone.now()
    delivery.last_status, delivery.last_error = status, error
    if status is not None and 200 <= status < 300:
        delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
    elif refused or now - delivery.created_at >= KEPT_TRYING:
        delivery.state = DeliveryState.FAILED
    else:
        pause = pause_after(delivery.attempts)
        delivery.next_attempt_at = now + dt.timedelta(seconds=pause)
        _try_again_in(pause, delivery.pk)
    delivery.save(
        update_fields=["last_status", "last_error", "state", "delivered_at", "next_attempt_at"]
    )
    return delivery.state


def _try_again_in(pause: float, delivery_id: int) -> None:
    """Schedule the next attempt (once this one is saved). Tasks run inline (no broker:
    the tests, a shell): nothing is scheduled; the sweep below tries again."""
    if deliver_webhook.app.conf.task_always_eager:
        return

    def send() -> None:
        try:
            deliver_webhook.apply_async(args=(delivery_id,), countdown=pause)
        except Exception as exc:  # the broker is down: the sweep tries again
            log.warning(
                "Could not schedule webhook delivery %s: broker unreachable (%s: %s); "
                "the sweep tries it when it is due.",
                delivery_id,
                type(exc).__name__,
                exc,
            )

    transaction.on_commit(send, robust=True)


@shared_task(ignore_result=True)
def resend_due_webhooks() -> int:
    """Every minute: deliveries due for an attempt that no task has made yet (it was
    lost with the broker, say) are tried now. A delivery's own task may come too: the
    first takes it, the other finds it delivered or not due and does nothing. Returns
    how many were sent."""
    overdue = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:1000]
    for delivery_id in overdue:
        deliver_webhook.apply_async(args=(delivery_id,))
    return len(overdue)
