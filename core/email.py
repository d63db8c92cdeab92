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

import contextlib
import datetime as dt
import email.policy
import logging
import re
import smtplib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import ClassVar, Self

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME
from django.db import models, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
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


# The classic MIME classes, lines ending in CRLF as SMTP wants them.
SMTP_CLASSIC = email.policy.compat32.clone(linesep="\r\n")
SMTP_LINE = 998  # octets a line may hold on the wire (RFC 5322), CRLF aside


class FastEmail(EmailMultiAlternatives):
    """A text email with one HTML alternative, built with Python's classic MIME classes
    (`email.mime`, the compat32 policy) rather than the modern API Django 6 builds
    with: about five times faster to build and flatten (0.7 ms instead of 3.8 for a
    weekly digest), which counts when ten thousand go out at once. On the wire it is
    the message Django would send: each part in 8-bit UTF-8 (quoted-printable when a
    line is longer than SMTP allows), the headers Django sets (Subject, From, To,
    Date, Message-ID, then the extra ones), a line break in a header refused. Anything
    more (attachments, Cc, Reply-To, other alternatives) is built by Django's way."""

    # A classic Message, not the modern EmailMessage Django's returns: the backends only
    # flatten it (as_bytes), which both do alike.
    def message(  # type: ignore[override]
        self, *, policy: email.policy.Policy | None = email.policy.default
    ) -> Message:
        if self.attachments or self.cc or self.reply_to or len(self.alternatives) != 1:
            return super().message(policy=policy)
        html, mimetype = self.alternatives[0]
        msg = MIMEMultipart("alternative", policy=SMTP_CLASSIC)
        msg.attach(_text_part(str(self.body), "plain"))
        msg.attach(_text_part(str(html), mimetype.split("/", 1)[1]))
        msg["Subject"] = _header(str(self.subject))  # type: ignore[assignment]  # a Header too
        msg["From"] = _address(str(self.extra_headers.get("From", self.from_email)))
        msg["To"] = ", ".join(_address(to) for to in self.to)
        given = {name.lower() for name in self.extra_headers}
        if "date" not in given:
            msg["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        if "message-id" not in given:
            msg["Message-ID"] = make_msgid(domain=DNS_NAME)
        for name, value in self.extra_headers.items():
            if name.lower() not in {"from", "to", "cc", "reply-to"}:
                msg[name] = _header(str(value))  # type: ignore[assignment]  # a Header too
        return msg


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    """A text part in UTF-8: 8-bit as it is, or quoted-printable when a line is longer
    than SMTP allows."""
    longest = max(map(len, body.splitlines()), default=0)
    if longest * 4 > SMTP_LINE:  # then count what UTF-8 makes of it
        longest = max(map(len, body.encode().splitlines()), default=0)
    charset = Charset("utf-8")
    if longest <= SMTP_LINE:
        charset.body_encoding = None  # type: ignore[assignment]  # None: no encoding (8-bit)
    else:
        charset.body_encoding = QP
    part = MIMENonMultipart("text", subtype, policy=SMTP_CLASSIC)
    part.set_payload(body, charset)
    return part


def _header(value: str) -> str | Header:
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"A header holds a line break: {value!r}")
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    """An address as a header holds it: a name beyond ASCII encoded, the domain too."""
    _header(value)
    name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if at and not domain.isascii():
        address = f"{local}@{domain.encode('idna').decode('ascii')}"
    return formataddr((name, address), charset="utf-8")


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


def send_owed_batch[E: OwedEmail](
    owed: QuerySet[E],
    prepare: Callable[[list[E]], Callable[[E], EmailMultiAlternatives | None]],
    what: str,
    *,
    batch_size: int = 500,
) -> int:
    """Send the emails the rows of `owed` still wait for, many at a time (the weekly
    digest: thousands at once); returns how many went. The same outbox as `send_owed`
    (leases, backoff, one `message_id` per row on every try), with a fixed number of
    queries per batch, whatever its size.

    Batch after batch of up to `batch_size` rows that may be tried now
    (`OwedEmail.owed_now`), by id:
    1. Claim it: one SELECT … FOR UPDATE SKIP LOCKED and one UPDATE that leases the rows,
       in one transaction, so a run beside this one skips them and takes the next ones
       (SQLite has no row locks: there a writer has the whole database anyway).
    2. Prepare the batch: `prepare(rows)` reads what the whole batch needs in a fixed
       number of queries and answers the function that builds one row's message (None:
       none is needed any more), which renders only: no query.
    3. Send over one connection to the mail server, one message per call, each with its
       row's `message_id`, built just before it goes (one message in memory at a time):
       one refused recipient costs only their own email; a connection that breaks is
       opened again for the rest.
    4. Record the batch: the sent and the no-longer-needed rows in one UPDATE; each
       failure on its own (`_failed`: attempt counted, error kept, backoff).

    A mail server that cannot be reached leaves the batch owed (each row's attempt
    counted) and ends the run. At least once: a run killed mid-batch leaves the rows it
    claimed leased, not delivered; once the lease lapses a later run sends them again,
    with the same Message-IDs."""
    sent = 0
    while True:
        rows = _claim_batch(owed, batch_size)
        if not rows:
            return sent
        went, reachable = _send_batch(rows, prepare(rows), what)
        sent += went
        if not reachable or len(rows) < batch_size:
            return sent


def _claim_batch[E: OwedEmail](owed: QuerySet[E], size: int) -> list[E]:
    """Lease the first `size` rows of `owed` that may be tried now (two queries)."""
    model = owed.model
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            owed.filter(model.owed_now(now))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")[:size]
        )
        if rows:
            model.objects.filter(pk__in=[row.pk for row in rows]).update(email_lease=now + lease())
    return rows


def _send_batch[E: OwedEmail](
    rows: list[E], message_for: Callable[[E], EmailMultiAlternatives | None], what: str
) -> tuple[int, bool]:
    """Send a claimed batch over one connection and record it; (how many went,
    whether the mail server could be reached)."""
    model = type(rows[0])
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as error:
        log.exception("Could not reach the mail server: %d %s emails stay owed", len(rows), what)
        _failed_many(rows, error)
        return 0, False
    done: list[int] = []  # sent, or no longer needed
    went: list[int] = []
    failed: list[tuple[E, Exception]] = []
    try:
        for row in rows:
            try:
                message = message_for(row)
                if message is None:
                    done.append(row.pk)
                    continue
                message.extra_headers["Message-ID"] = message_id(row, message.from_email)
                connection.send_messages([message])
            except Exception as error:  # this recipient only: the others are still served
                log.exception("Could not send the %s email of %s", what, _name(row))
                failed.append((row, error))
                if _broken(error) and not _reopen(connection):
                    break  # the rest stay leased, then owed, for a later run
                continue
            done.append(row.pk)
            went.append(row.pk)
    finally:
        try:
            connection.close()
        except Exception:  # the mail server went away: what was sent is recorded
            log.warning("Could not close the connection to the mail server", exc_info=True)
    if done:
        # An email not needed any more was not attempted.
        tried = Case(When(pk__in=went, then=Value(1)), default=Value(0)) if went else Value(0)
        counted = F("email_attempts") + (Value(1) if len(went) == len(done) else tried)
        model.objects.filter(pk__in=done).update(
            email_due=False,
            email_lease=None,
            emailed_at=timezone.now(),
            email_attempts=counted,
            email_next_try=None,
        )
    for row, reason in failed:
        _failed(model.objects.filter(pk=row.pk), row.email_attempts, reason)
    return len(went), True


def _broken(error: Exception) -> bool:
    """Whether the connection is gone (not just this message refused)."""
    return isinstance(error, smtplib.SMTPServerDisconnected) or (
        isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)
    )


def _reopen(connection: BaseEmailBackend) -> bool:
    with contextlib.suppress(Exception):  # it is gone already
        connection.close()
    try:
        connection.open()
    except Exception:
        log.exception("Could not reach the mail server again")
        return False
    return True


def _failed_many(rows: Sequence[OwedEmail], error: Exception) -> None:
    """`_failed` for many rows: one UPDATE per number of attempts so far."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_attempts[row.email_attempts].append(row.pk)
    model = type(rows[0])
    for attempts, ids in by_attempts.items():
        _failed(model.objects.filter(pk__in=ids), attempts, error)


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
