"""KPI data sources at work (SPEC §9.6): setting one up, fetching on its schedule, and
recording what it reads as a value like any other (kpis/sources.py does the reading).

The schedule. Every minute `dispatch_due` asks a fetch of each source whose
`next_fetch_at` has come, for its slot (the hour, or the day, in UTC), and marks it
queued for a while so the next minute does not ask again. A fetch first claims its
slot (one UPDATE: not done yet, not claimed by a living claim), reads with no lock
held, then, under the source's row lock, records the value and marks the slot done —
unless another run did it first. So a redelivered task, or the same task on two
workers, fetches and records at most once per slot; a worker killed mid-fetch leaves a
claim that lapses, and the next minute's dispatch asks again.

A value is recorded only when it or its period (the cycle's month or quarter) changed
since the KPI's latest value. A failure sets the source's last error and tries again
after a pause that doubles (1 minute, 2, 4, … at most an hour, never past the next
slot); the third failure in a row owes the KPI's owner a notification (outbox).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.record import record
from core import egress
from core.db import lock_row
from core.errors import Conflict, Errors, fit, too_long
from core.periods import period_containing
from core.tasks import enqueue_on_commit
from goals.rollup import lock_chains
from goals.services import check_open
from org.changes import changes_collected
from org.models import Member, Notification
from org.outbox import owe, retry_pause
from org.permissions import CHANGE_KPI

from .models import Kpi, KpiSource, KpiState, KpiUpdate, SourceKind, SourceSchedule
from .notifications import TITLE_LENGTH
from .rules import value_errors
from .services import append_value
from .sources import SourceError, database_params, display_name, pointer_error, read

log = logging.getLogger("cascade.sources")
INTERNAL_ERROR = (
    "Cascade could not read this source (an error of its own, logged for its operators)."
)
SECRETS = ("headers", "database_url")
CLOSED = "closed"  # cycles.models.CycleState.CLOSED (the app above this one)
QUEUED_FOR = dt.timedelta(minutes=10)  # a dispatched fetch is not asked again before
CLAIMED_FOR = dt.timedelta(seconds=60)  # a fetch's claim on its slot (reading takes ≤ 10 s)
DISPATCH_BATCH = 2000
NOTIFY_AFTER = 3  # failures in a row
MAX_HEADERS = 10
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
SOURCE_FIELDS = ("name", "kind", "url", "pointer", "query", "schedule", "header_names")


# -- the schedule's slots -------------------------------------------------------------


def slot_of(schedule: str, now: dt.datetime) -> str:
    """The slot `now` falls in: "2027-01-05T09" (hourly) or "2027-01-05" (daily), UTC."""
    now = now.astimezone(dt.UTC)
    return (
        now.strftime("%Y-%m-%dT%H")
        if schedule == SourceSchedule.HOURLY
        else now.strftime("%Y-%m-%d")
    )


def next_slot(schedule: str, now: dt.datetime) -> dt.datetime:
    """When the slot after `now`'s starts."""
    now = now.astimezone(dt.UTC)
    if schedule == SourceSchedule.HOURLY:
        return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


# -- setting a source up ----------------------------------------------------------------


def source_errors(fields: dict[str, Any], *, kept: KpiSource | None) -> Errors:
    """The messages for a source as given (`kept`: the one it replaces, whose secrets
    stay when none are given); the address and database URL checked as a fetch would."""
    errors = Errors()
    kind = fields.get("kind")
    if kind not in SourceKind.values:
        errors.add("kind", "Choose http_json (a number in a JSON answer) or sql (a query).")
        return errors
    if fields.get("schedule", SourceSchedule.DAILY) not in SourceSchedule.values:
        errors.add("schedule", "Choose hourly or daily.")
    name = fields.get("name") or ""
    if len(name) > 100:
        errors.add("name", too_long(100))
    if kind == SourceKind.HTTP_JSON:
        url = fields.get("url") or ""
        if not url:
            errors.add("url", "Give the address that answers with JSON.")
        elif why := egress.refusal(url):
            errors.add("url", why)
        if (why := pointer_error(fields.get("pointer") or "")) is not None:
            errors.add("pointer", why)
        elif len(fields.get("pointer") or "") > 500:
            errors.add("pointer", too_long(500))
        headers = fields.get("headers")
        if headers is not None:
            _check_headers(errors, headers)
    else:
        database_url = fields.get("database_url")
        if database_url is None and (kept is None or kept.kind != SourceKind.SQL):
            errors.add("database_url", "Give the database URL the query runs on.")
        elif database_url is not None:
            try:
                database_params(database_url)
            except SourceError as exc:
                errors.add("database_url", str(exc))
        query = (fields.get("query") or "").strip()
        if not query:
            errors.add("query", "Give the query: one SELECT that returns one number.")
        elif len(query) > 10000:
            errors.add("query", too_long(10000))
    return errors


def _check_headers(errors: Errors, headers: Any) -> None:
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        errors.add("headers", 'Give headers as names and texts: {"Authorization": "Bearer …"}.')
        return
    if len(headers) > MAX_HEADERS:
        errors.add("headers", f"At most {MAX_HEADERS} headers.")
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name):
            errors.add("headers", f"“{name[:100]}” is not a header name.")
        elif name.lower() in FORBIDDEN_HEADERS:
            errors.add("headers", f"Cascade sets {name} itself.")
        elif "\r" in value or "\n" in value or len(value) > 4000:
            errors.add(
                "headers", f"The value of {name} must be one line of at most 4,000 characters."
            )
        elif not (value.isascii() and value.isprintable()):  # HTTP sends no other
            errors.add(
                "headers", f"The value of {name} may hold only ASCII letters, digits and signs."
            )


@transaction.atomic
def source_set(*, actor: Member, kpi: Kpi, **fields: Any) -> KpiSource:
    """Give `kpi` a data source, or change the one it has (whoever may edit the KPI).
    Secrets not given (`headers`, `database_url`) stay as they were for the same kind.
    It is first fetched within a minute."""
    CHANGE_KPI.require(actor, kpi)
    check_open(kpi.goal.cycle)
    lock_row(kpi)  # two first setups at once: the second waits, then changes the first's
    kept = KpiSource.objects.select_for_update().filter(kpi=kpi).first()
    source_errors(fields, kept=kept).raise_if_any()
    before = _described(kept) if kept else None
    kept_secrets = {"headers": kept.headers, "database_url": kept.database_url} if kept else {}
    source = kept or KpiSource(organization_id=kpi.organization_id, kpi=kpi, created_by=actor)
    _fill(source, fields, kept=kept)
    source.next_fetch_at = timezone.now()
    source.queued_until = source.claim_until = None
    source.claimed_slot = source.done_slot = ""
    source.failures, source.last_error = 0, ""  # set again: tried afresh, old error moot
    source.save()
    after = _described(source)
    changes = {k: [before.get(k) if before else None, v] for k, v in after.items()}
    for field, old in kept_secrets.items():  # a secret replaced is a change, never shown
        if old and getattr(source, field) and old != getattr(source, field):
            changes[field][1] = "(a new secret)"
    if before is None or any(old != new for old, new in changes.values()):
        action = "kpi.source_set" if before is None else "kpi.source_changed"
        record(actor, action, kpi, changes={k: v for k, v in changes.items() if v[0] != v[1]})
    return source


def _fill(source: KpiSource, fields: dict[str, Any], *, kept: KpiSource | None) -> None:
    """Set `source` as `fields` say (checked by source_errors); secrets not given are
    `kept`'s, the source it replaces, when that is of the same kind."""
    same_kind = kept is not None and kept.kind == fields["kind"]
    source.kind = fields["kind"]
    source.schedule = fields.get("schedule") or SourceSchedule.DAILY
    if source.kind == SourceKind.HTTP_JSON:
        source.url, source.pointer = fields["url"], fields.get("pointer") or ""
        if fields.get("headers") is not None:
            source.headers = json.dumps(fields["headers"]) if fields["headers"] else ""
        else:
            source.headers = kept.headers if kept is not None and same_kind else ""
        source.database_url, source.query = "", ""
    else:
        source.query = fields["query"].strip()
        if fields.get("database_url") is not None:
            source.database_url = fields["database_url"]
        elif kept is not None and same_kind:
            source.database_url = kept.database_url
        source.url, source.pointer, source.headers = "", "", ""
    source.name = (fields.get("name") or "").strip() or display_name(
        source.kind, source.url, source.database_url
    )


def source_try(*, actor: Member, kpi: Kpi, **fields: Any) -> Fetched:
    """Read a source as given, without saving it (the goal page's *Test*): the value it
    would record now, or why not. Fields are checked as source_set checks them (a
    ValidationError); secrets not given are the saved source's, as source_set keeps
    them. Nothing is changed, the saved source's outcome neither."""
    CHANGE_KPI.require(actor, kpi)
    kept = KpiSource.objects.filter(kpi=kpi).first()
    source_errors(fields, kept=kept).raise_if_any()
    source = KpiSource(organization_id=kpi.organization_id, kpi=kpi)
    _fill(source, fields, kept=kept)
    try:
        check_open(kpi.goal.cycle)
        value = read(source)
    except (SourceError, Conflict) as exc:
        return Fetched(None, error=_said(exc))
    return Fetched(value, would_record=_is_news(kpi, value))


def _described(source: KpiSource) -> dict[str, Any]:
    """A source as the audit log keeps it: no secret, only that one changed."""
    shown = {field: getattr(source, field) for field in SOURCE_FIELDS}
    shown["database_url"] = "(secret)" if source.database_url else ""
    shown["headers"] = f"(secret, {len(source.header_names)})" if source.headers else ""
    return shown


@transaction.atomic
def source_remove(*, actor: Member, kpi: Kpi) -> None:
    """Stop feeding `kpi` from its source (the values it recorded stay)."""
    CHANGE_KPI.require(actor, kpi)
    check_open(kpi.goal.cycle)  # a closed cycle's KPIs are read-only, their sources too
    # Its secrets unread: a source whose key was lost can still be removed (and set again).
    source = KpiSource.objects.select_for_update().defer(*SECRETS).filter(kpi=kpi).first()
    if source is None:
        return
    record(actor, "kpi.source_removed", kpi, changes={"name": [source.name, None]})
    source.delete()


# -- fetching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """What one fetch came to: a value (`update` when one was recorded, none when it is
    unchanged or it was a dry run), or an error."""

    value: float | None
    error: str | None = None
    update: KpiUpdate | None = None
    would_record: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def source_fetch(*, actor: Member, kpi: Kpi, dry_run: bool) -> Fetched:
    """Fetch `kpi`'s source now (whoever may edit the KPI): with `dry_run`, read and
    say what would be recorded, changing nothing; else record it (if it changed) and
    keep the outcome on the source, as a scheduled fetch would."""
    CHANGE_KPI.require(actor, kpi)
    source = KpiSource.objects.select_related("kpi__goal__cycle__organization").get(kpi=kpi)
    now = timezone.now()
    try:
        check_open(kpi.goal.cycle)  # before anything is asked of the source
    except Conflict as exc:
        return Fetched(None, error=_said(exc))
    try:
        value = read(source)
    except SourceError as exc:
        if not dry_run:
            _failed(source.pk, str(exc), now, count=False)
        return Fetched(None, error=str(exc))
    if dry_run:
        return Fetched(value, would_record=_is_news(source.kpi, value))
    return _recorded(source.pk, value, now, slot=None)


def dispatch_due(now: dt.datetime | None = None) -> int:
    """Every minute: ask a fetch of each source due (an active KPI in an open cycle),
    marked queued so the next minutes do not ask again while it waits. Returns how
    many were asked."""
    now = now or timezone.now()
    due = (
        KpiSource.objects.filter(
            next_fetch_at__lte=now,
            kpi__state=KpiState.ACTIVE,
        )
        .exclude(kpi__goal__cycle__state=CLOSED)
        .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
        .order_by("next_fetch_at", "pk")
    )
    with transaction.atomic():
        picked = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", "schedule")[
                :DISPATCH_BATCH
            ]
        )
        KpiSource.objects.filter(pk__in=[pk for pk, _ in picked]).update(
            queued_until=now + QUEUED_FOR
        )
        for pk, schedule in picked:
            enqueue_on_commit(fetch_source, pk, slot_of(schedule, now))
    return len(picked)


def fetch_scheduled(source_id: int, slot: str, now: dt.datetime | None = None) -> str:
    """One scheduled fetch of `source_id` for `slot`, at most once: "recorded",
    "unchanged", "failed", or "skipped" (done already, claimed by another run, gone)."""
    now = now or timezone.now()
    # Slots sort as text in time order: a task for a slot done already, or for one
    # before it (redelivered late, after the next slot's fetch), fetches nothing.
    claimed = (
        KpiSource.objects.filter(pk=source_id)
        .exclude(done_slot__gte=slot)
        .exclude(claimed_slot__gte=slot, claim_until__gte=now)
        .update(claimed_slot=slot, claim_until=now + CLAIMED_FOR)
    )
    if not claimed:
        return "skipped"
    try:
        source = KpiSource.objects.filter(pk=source_id).first()
        if source is None:
            return "skipped"
        value = read(source)
    except SourceError as exc:
        return _failed(source_id, str(exc), now, slot=slot)
    except Exception:  # a fault of Cascade's own: kept on the source too, and logged
        log.exception("Reading KPI data source %s failed", source_id)
        return _failed(source_id, INTERNAL_ERROR, now, slot=slot)
    fetched = _recorded(source_id, value, now, slot=slot)
    if fetched is None:
        return "skipped"
    if not fetched.ok:
        return "failed"
    return "recorded" if fetched.update is not None else "unchanged"


def _recorded(source_id: int, value: float, now: dt.datetime, *, slot: str | None) -> Any:
    """Record `value` for the source (if it or its period changed) and keep the success
    on the source, under its lock; for a slot, only if no other run did it first."""
    with transaction.atomic():
        source = (
            KpiSource.objects.select_for_update(of=("self",))
            .select_related("kpi__goal__cycle__organization", "kpi__organization")
            .filter(pk=source_id)
            .first()
        )
        if source is None or (slot is not None and source.done_slot >= slot):
            return None
        try:
            with transaction.atomic():
                update = _record(source, value)
        except (ValidationError, SourceError) as exc:
            error = _said(exc)
            _failed(source_id, error, now, slot=slot, count=slot is not None)
            return Fetched(None, error=error)
        source.last_success_at, source.last_value = now, value
        source.last_error, source.failures = "", 0
        if slot is not None:
            source.done_slot = slot
            source.next_fetch_at = next_slot(source.schedule, now)
            source.queued_until = source.claim_until = None
        source.save(
            update_fields=[
                "last_success_at",
                "last_value",
                "last_error",
                "failures",
                "done_slot",
                "next_fetch_at",
                "queued_until",
                "claim_until",
                "updated_at",
            ]
        )
        return Fetched(value, update=update)


def _is_news(kpi: Kpi, value: float) -> bool:
    """Whether `value` would be recorded on `kpi` today: not when the KPI's latest value
    is the same number in the same period (the cycle's month or quarter)."""
    cycle = kpi.goal.cycle
    date = min(kpi.organization.today(), cycle.end)
    latest = (
        KpiUpdate.objects.live().filter(kpi=kpi).order_by("-date", "-created_at", "-id").first()
    )
    return not (
        latest is not None
        and latest.value == value
        and period_containing(cycle.cadence, latest.date) == period_containing(cycle.cadence, date)
    )


@changes_collected()  # the value and what the roll-up moved: one INSERT in the feed
def _record(source: KpiSource, value: float) -> KpiUpdate | None:
    """The value as the KPI's new update, checked as a typed one is; None if unchanged."""
    kpi = source.kpi
    cycle = kpi.goal.cycle
    if kpi.state != KpiState.ACTIVE:
        raise SourceError("The KPI is archived: restore it, or remove its source.")
    check_open(cycle)
    today = kpi.organization.today()
    date = min(today, cycle.end)
    errors = value_errors(kpi, value=value, date=date, confidence="", today=today)
    errors.raise_if_any()
    if not _is_news(kpi, value):  # before any goal is locked: an unchanged number waits for none
        return None
    lock_chains([kpi.goal_id])
    return append_value(
        kpi, actor=None, today=today, source=source, value=value, date=date, note=""
    )


def _said(exc: Exception) -> str:
    """An error as the KPI's page shows it: one sentence."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _failed(
    source_id: int, error: str, now: dt.datetime, *, slot: str | None = None, count: bool = True
) -> str:
    """Keep a failure on the source; a counted one (a scheduled fetch) backs off and,
    the third in a row, owes the KPI's owner a notification."""
    with transaction.atomic():
        source = (
            KpiSource.objects.select_for_update()
            .defer(*SECRETS)  # a failure is kept even when they cannot be decrypted
            .filter(pk=source_id)
            .first()
        )
        if source is None or (slot is not None and source.done_slot >= slot):
            return "skipped"
        source.last_error, source.last_error_at = error[:1000], now
        if count:
            source.failures += 1
            pause = retry_pause(source.failures)
            source.next_fetch_at = min(now + pause, next_slot(source.schedule, now))
            source.queued_until = source.claim_until = None
            if source.failures == NOTIFY_AFTER:
                owe(notify_source_failing, {"source_id": source.pk, "since": now.isoformat()})
        source.save()
    return "failed"


# -- the jobs -----------------------------------------------------------------------------


@shared_task(ignore_result=True)
def fetch_due_sources() -> int:
    """Every minute (beat): ask a fetch of every source due."""
    return dispatch_due()


@shared_task(ignore_result=True)
def fetch_source(source_id: int, slot: str) -> str:
    """One source's fetch for its slot, at most once however often it is delivered."""
    return fetch_scheduled(source_id, slot)


@shared_task(ignore_result=True)
def notify_source_failing(source_id: int, since: str) -> int:
    """Owed after a source's third failure in a row: tell the KPI's owner, once."""
    source = KpiSource.objects.select_related("kpi__owner").filter(pk=source_id).first()
    if source is None or source.failures < NOTIFY_AFTER:
        return 0  # removed, or it worked again since
    kpi = source.kpi
    _, made = Notification.objects.get_or_create(
        member=kpi.owner,
        key=f"kpi_source:{source.pk}:{since}"[:64],
        defaults=dict(
            kind="kpi_source",
            link=f"/goals/{kpi.goal_id}/#kpi-{kpi.pk}",
            title=fit(f"“{kpi.name}” gets no values from {source.name}", TITLE_LENGTH),
            body=f"Its last {source.failures} fetches failed: {source.last_error} "
            "Check the source on the goal page.",
        ),
    )
    return int(made)
