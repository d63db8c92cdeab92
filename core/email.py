"""Email the way every Cascade reminder sends it: text and HTML from one template
pair; one message at a time, so one refused recipient costs only their own email;
and an owed email is sent at least once, however a run ends.

The outbox is the reminder rows themselves (`OwedEmail`): a row owes its email until
one went out. A run leases a row, sends, and only then marks it delivered; a failure
counts the attempt, keeps the error and waits before the next try (`backoff`).

At least once, not exactly once: a run killed after the mail server accepted a message
but before its reply leaves the row owed, and a later run sends it again. Every try of
a row carries the same `Message-ID` (`message_id`), so that rare duplicate is
recognizable as one (some mail services show it only once)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from email.utils import parseaddr
from typing import ClassVar, Self

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

log = logging.getLogger(__name__)

# After a failed attempt the next waits 5 minutes, then 10, 20, … up to 6 hours.
FIRST_RETRY = dt.timedelta(minutes=5)
LAST_RETRY = dt.timedelta(hours=6)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt (1, 2, …)."""
    return min(FIRST_RETRY * 2 ** min(max(attempts, 1) - 1, 16), LAST_RETRY)


def lease() -> dt.timedelta:
    """While a run sends an owed email no other run sends it; a run killed mid-send
    lets its lease lapse, and a later run sends the email. Longer than a send can take
    (EMAIL_TIMEOUT), or two runs could send the same email."""
    return dt.timedelta(seconds=settings.EMAIL_LEASE_SECONDS)


class OwedEmail(models.Model):
    """A row that may owe one email (a reminder): the outbox's columns."""

    email_due = models.BooleanField(default=False)
    email_lease = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts to send the email, the successful one included."
    )
    email_last_error = models.CharField(max_length=300, blank=True)
    email_next_try = models.DateTimeField(
        null=True, blank=True, help_text="After a failed attempt: not tried again before."
    )

    objects: ClassVar[models.Manager[Self]]  # each concrete row's, as Django adds it

    class Meta:
        abstract = True

    @classmethod
    def owed_now(cls, now: dt.datetime) -> Q:
        """Rows that owe their email and may be tried now (no lease, no wait)."""
        return (
            Q(email_due=True)
            & (Q(email_lease__isnull=True) | Q(email_lease__lt=now))
            & (Q(email_next_try__isnull=True) | Q(email_next_try__lte=now))
        )


_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def message_id(row: models.Model, sender: str) -> str:
    """The `Message-ID` of a row's email, the same on every try of that row and on any
    worker: `<kpis.checkinreminder.42.3f9c0a1b2d4e5f60@example.com>`. The row's model
    and key make it unique within this installation; a digest keyed by SECRET_KEY keeps
    two installations sending from the same domain apart (rotating SECRET_KEY between a
    try and its retry changes it). The domain is the sender's; nothing about the
    recipient is in it."""
    key = f"{row._meta.label_lower}.{row.pk}"
    digest = salted_hmac("core.email.message_id", key).hexdigest()[:16]
    return f"<{key}.{digest}@{_domain(sender)}>"


def _domain(sender: str) -> str:
    """The sender address's domain as the right side of a Message-ID (RFC 5322
    dot-atom; an international name in its ASCII form), or `cascade.invalid`."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    if not at:
        return "cascade.invalid"
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "cascade.invalid"
    return domain if _DOMAIN.fullmatch(domain) else "cascade.invalid"


def templated_email(
    *, subject: str, template: str, context: Mapping[str, object], to: str
) -> EmailMultiAlternatives:
    """`template` names a pair: `<template>.txt` (the body) and `<template>.html`."""
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{template}.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def send_owed[E: OwedEmail](
    owed: QuerySet[E], message_for: Callable[[E], EmailMultiAlternatives | None], what: str
) -> int:
    """Send the emails that the rows of `owed` still wait for (their `email_due`);
    returns how many went out.

    For each row that may be tried now (`OwedEmail.owed_now`):
    1. Lease it (`email_lease`): one run sends it, not two at once.
    2. Build its message (`message_for`; None: no longer needed), give it the row's
       `message_id` and send it alone.
    3. Mark it delivered (`emailed_at`); on failure log it, count the attempt, keep the
       error and release it for a later run after its backoff.
    """
    model = owed.model
    now = timezone.now()
    rows = list(owed.filter(model.owed_now(now)))
    if not rows:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as error:
        log.exception("Could not reach the mail server: %d %s emails stay owed", len(rows), what)
        for row in rows:
            _failed(model.objects.filter(pk=row.pk), row.email_attempts, error)
        return 0
    sent = 0
    try:
        for row in rows:
            one = model.objects.filter(pk=row.pk)
            if not one.filter(model.owed_now(now)).update(email_lease=timezone.now() + lease()):
                continue  # another run has it
            try:
                message = message_for(row)
                if message is not None:
                    message.extra_headers["Message-ID"] = message_id(row, message.from_email)
                    connection.send_messages([message])
            except Exception as error:  # this recipient only: the others are still served
                log.exception("Could not send the %s email of %s", what, _name(row))
                _failed(one, row.email_attempts, error)
                continue
            one.update(
                email_due=False,
                email_lease=None,
                emailed_at=timezone.now(),
                email_attempts=F("email_attempts") + int(message is not None),
                email_next_try=None,
            )
            sent += message is not None
    finally:
        try:
            connection.close()
        except Exception:  # the mail server went away: what was sent is recorded
            log.warning("Could not close the connection to the mail server", exc_info=True)
    return sent


def _failed(one: QuerySet[OwedEmail], attempts: int, error: Exception) -> None:
    """Release the row, with the attempt counted and the error kept, until its backoff."""
    attempts += 1
    one.update(
        email_lease=None,
        email_attempts=attempts,
        email_last_error=f"{type(error).__name__}: {error}"[:300],
        email_next_try=timezone.now() + backoff(attempts),
    )


def _name(row: models.Model) -> str:
    return f"{type(row).__name__} #{row.pk}"
