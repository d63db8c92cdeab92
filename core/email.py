"""Email the way every Cascade reminder sends it: text and HTML from one template
pair; one message at a time, so one refused recipient costs only their own email;
and an owed email is sent at least once, however a run ends."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

log = logging.getLogger(__name__)

# While a run sends an owed email no other run sends it; a run killed mid-send lets
# its lease lapse, and the next run sends the email.
LEASE = dt.timedelta(minutes=15)


def templated_email(
    *, subject: str, template: str, context: dict, to: str
) -> EmailMultiAlternatives:
    """`template` names a pair: `<template>.txt` (the body) and `<template>.html`."""
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{template}.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def send_owed(
    owed: QuerySet, message_for: Callable[[object], EmailMultiAlternatives | None], what: str
) -> int:
    """Send the emails that the rows of `owed` still wait for (their `email_due`);
    returns how many went out.

    For each row:
    1. Lease it (`email_lease`): one run sends it, not two at once.
    2. Build its message (`message_for`; None: no longer needed) and send it alone.
    3. Mark it sent (`emailed_at`), or on failure log it and release it for the next run.
    """
    sent = 0
    now = timezone.now()
    rows = list(
        owed.filter(email_due=True).filter(Q(email_lease__isnull=True) | Q(email_lease__lt=now))
    )
    if not rows:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception:
        log.exception("Could not reach the mail server: %d %s emails stay owed", len(rows), what)
        return 0
    try:
        for row in rows:
            one = type(row).objects.filter(pk=row.pk)
            leased = one.filter(email_due=True).filter(
                Q(email_lease__isnull=True) | Q(email_lease__lt=now)
            )
            if not leased.update(email_lease=now + LEASE):
                continue  # another run has it
            try:
                message = message_for(row)
                if message is not None:
                    connection.send_messages([message])
            except Exception:  # this recipient only: the others are still served
                log.exception("Could not send the %s email of %s", what, _name(row))
                one.update(email_lease=None)
                continue
            one.update(email_due=False, email_lease=None, emailed_at=timezone.now())
            sent += message is not None
    finally:
        connection.close()
    return sent


def _name(row) -> str:
    return f"{type(row).__name__} #{row.pk}"
