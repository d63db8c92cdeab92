"""Webhooks (SPEC §8.4): an admin names an address and the events to hear of; each
event becomes a delivery, written in the transaction of the change it tells of (an
outbox: nothing is lost when the broker is down), sent by Celery as signed JSON and
retried with a growing pause for 24 hours (org/deliveries.py, the loop chat messages
share), every attempt kept in the delivery log.

Every request goes through core/egress.py, which refuses addresses on private,
loopback, link-local or reserved networks (a webhook must not reach into the network
Cascade runs in) unless OUTBOUND_ALLOW_PRIVATE=true: when the webhook is saved, and
again at every attempt, which resolves the host once and connects to the address it
checked. Each attempt is signed anew, with its time (`signature`); a receiver refuses
one older than five minutes. The secret is stored encrypted (core/crypto.py)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import BigIntegerField, CharField, Value

from audit.record import created, deleted, diff, record, snapshot
from core import egress
from core.errors import Errors
from core.tasks import enqueue_on_commit

from .deliveries import Request, attempt, resend_due
from .models import PING, ChatTarget, Member, Webhook, WebhookDelivery, WebhookEvent
from .permissions import MANAGE_WEBHOOKS

SIGNATURE = "X-Cascade-Signature"
AUDITED = ("url", "events", "is_active")  # audited (of the secret, only that it changed)


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


_read = threading.local()  # per thread: {(kind, organization id): what was read}


@contextlib.contextmanager
def webhooks_read_once() -> Iterator[None]:
    """Within this block (one write: a value recorded, with the roll-up it moves) the
    webhooks, and the chat targets (org/chat.py), are read once per organization,
    whatever events the write emits. A block inside another shares the outer one's
    read."""
    if hasattr(_read, "hooks"):
        yield
        return
    _read.hooks = {}
    try:
        yield
    finally:
        del _read.hooks


def read_once[T](kind: str, organization_id: int, read: Callable[[], T]) -> T:
    """What `read()` answers of an organization's `kind` of listener, read once inside
    `webhooks_read_once` (every time outside it)."""
    known: dict[tuple[str, int], Any] | None = getattr(_read, "hooks", None)
    if known is None:
        return read()
    if (kind, organization_id) not in known:
        known[kind, organization_id] = read()
    return known[kind, organization_id]


@dataclass(frozen=True)
class Listeners:
    """An organization's active webhooks and chat targets (org/chat.py): who hears of
    a write's events."""

    webhooks: list[Webhook]
    chat_targets: list[ChatTarget]


def listeners(organization_id: int) -> Listeners:
    """The organization's active webhooks and chat targets, in one query (a UNION ALL:
    a write tells both of its events, and news for chat costs the write no query of
    its own), read once inside `webhooks_read_once`. The rows carry what telling them
    needs: ids and events; a target's platform and department."""

    def read() -> Listeners:
        hooks = Webhook.objects.filter(organization_id=organization_id, is_active=True)
        targets = ChatTarget.objects.filter(organization_id=organization_id, is_active=True)
        rows = (
            hooks.order_by()
            .values_list(
                "id",
                "events",
                Value(False),
                Value("", output_field=CharField()),
                Value(None, output_field=BigIntegerField()),
            )
            .union(
                targets.order_by().values_list(
                    "id", "events", Value(True), "platform", "department_id"
                ),
                all=True,
            )
        )
        found = Listeners([], [])
        for pk, events, is_chat, platform, department_id in rows:
            if is_chat:
                found.chat_targets.append(
                    ChatTarget(
                        pk=pk,
                        organization_id=organization_id,
                        events=events,
                        platform=platform,
                        department_id=department_id,
                    )
                )
            else:
                found.webhooks.append(
                    Webhook(pk=pk, organization_id=organization_id, events=events)
                )
        return found

    return read_once("listeners", organization_id, read)


def emit(organization_id: int, event: str, *data: dict[str, Any]) -> None:
    """Tell the organization's webhooks that hear `event` of each of `data`: one
    delivery per event and webhook, written in the current transaction (the outbox:
    a write that rolls back tells no one, and one that commits owes every delivery, even
    if the broker is down), each sent once the transaction commits. One read of the
    webhooks (none more inside `webhooks_read_once`) and one insert for all of `data`,
    however many goals a roll-up moved."""
    if not data:
        return
    hooks = [hook for hook in listeners(organization_id).webhooks if event in hook.events]
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


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt at a delivery (org/deliveries.py): POST the signed body through
    core.egress; a 2xx delivers it; an address egress refuses fails it at once (nothing
    is sent); anything else (an error status, a timeout, a host that does not resolve)
    is logged on it, and the next attempt is scheduled until 24 hours have passed.
    Returns the delivery's state."""
    return attempt(
        WebhookDelivery, delivery_id, to="webhook", request=_request, task=deliver_webhook
    )


def _request(delivery: WebhookDelivery) -> Request:
    """A delivery's POST, signed now (each attempt with its own time)."""
    body = body_of(delivery)
    return Request(
        delivery.webhook.url,
        {
            "Content-Type": "application/json",
            "User-Agent": "Cascade-Webhooks/1",
            "X-Cascade-Event": delivery.event,
            "X-Cascade-Delivery": str(delivery.pk),
            SIGNATURE: signature(delivery.webhook.secret, body),
        },
        body,
    )


@shared_task(ignore_result=True)
def resend_due_webhooks() -> int:
    """Every minute: deliveries due for an attempt that no task has made yet (it was
    lost with the broker, say) are tried now (org/deliveries.py). Returns how many."""
    return resend_due(WebhookDelivery, deliver_webhook)
