"""The change log behind the changes feed (SPEC §9.7, `GET /api/v1/changes/`): one
`Change` row per object created, changed or deleted, written in the transaction of the
write it tells of, so it exists exactly when the write does.

Writing. A service notes what it changed (`note_change(...)`); inside a block opened by
`changes_collected()` (each writing service is wrapped in one) the notes gather and
are written in one INSERT when the outermost block ends, still inside the write's
transaction: a value recorded, with its KPI and the goals the roll-up moved, is one
statement. An object noted twice in one write is one row (created wins over updated,
deleted over both). A note outside any block is written at once.

Reading in commit order. Ids and timestamps are handed out when a row is written, but
PostgreSQL transactions commit in any order: a reader that saw id 11 of a fast
transaction could later meet id 10 of a slow one that started first, and a cursor past
11 would never return it. So each row carries its writing transaction's id
(`pg_current_xact_id()`), and a reader returns only rows whose transaction is older
than its snapshot's xmin (`pg_snapshot_xmin(pg_current_snapshot())`): every such
transaction has ended, so no row can ever appear below them. Read in (txid, id) order,
what has been returned is a prefix that never grows in the middle; the cursor is the
last (txid, id) returned. The price: a row shows once every transaction that was
writing when it committed has ended (a long write, anywhere on the server, holds the
feed back — never wrongly). SQLite runs one writer at a time (IMMEDIATE transactions),
so there ids are handed out in commit order; txid is 0 and the id alone orders.

Keeping. `changes_purge` (daily, beat) deletes rows older than CHANGES_KEPT (90 days)
that are deletions or that a later row of the same object supersedes: within 90 days
the feed has every change; beyond, the last change of each object still there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Change, ChangeAction, ChangeKind

__all__ = [
    "ChangeAction",
    "ChangeKind",
    "Cursor",
    "changes_after",
    "changes_collected",
    "changes_purge",
    "note_change",
]

CHANGES_KEPT = dt.timedelta(days=90)
CURSOR_VERSION = "1"
BAD_CURSOR = "Not a cursor of this feed: pass back a `next_cursor` as it was given."

_pending = threading.local()  # per thread: {(organization, kind, id): Noted} of the open block


@dataclass
class Noted:
    organization_id: int
    kind: str
    object_id: int
    action: str
    external_id: str | None


def note_change(
    organization_id: int,
    kind: str,
    action: str,
    *objects: tuple[int, str | None],
) -> None:
    """Note that these objects (id, external id or None) of one kind were created,
    updated or deleted: written with the open block's others, or at once outside one."""
    notes = [
        Noted(organization_id, kind, pk, action, external_id or None) for pk, external_id in objects
    ]
    rows: dict[tuple[int, str, int], Noted] | None = getattr(_pending, "rows", None)
    if rows is None:
        _write(notes)
        return
    for note in notes:
        key = (note.organization_id, note.kind, note.object_id)
        before = rows.get(key)
        if before is not None:
            if before.action == ChangeAction.CREATED and note.action == ChangeAction.UPDATED:
                note.action = ChangeAction.CREATED
            note.external_id = note.external_id or before.external_id
        rows[key] = note


@contextlib.contextmanager
def changes_collected() -> Iterator[None]:
    """Gather the notes of this block (a service's write) and write them in one INSERT
    as it ends, inside its transaction: put it inside `transaction.atomic`. A block
    inside another adds to the outer one's; one that raises takes its notes back."""
    rows: dict[tuple[int, str, int], Noted] | None = getattr(_pending, "rows", None)
    if rows is not None:
        before = dict(rows)
        try:
            yield
        except BaseException:
            rows.clear()
            rows.update(before)
            raise
        return
    _pending.rows = {}
    try:
        yield
        notes = list(_pending.rows.values())
    finally:
        del _pending.rows
    _write(notes)


def _write(notes: list[Noted]) -> None:
    if not notes:
        return
    now = timezone.now()
    txid: RawSQL | int = 0
    if connection.vendor == "postgresql":
        txid = RawSQL("pg_current_xact_id()::text::bigint", ())
    Change.objects.bulk_create(
        Change(
            organization_id=note.organization_id,
            txid=txid,
            kind=note.kind,
            object_id=note.object_id,
            action=note.action,
            external_id=note.external_id,
            at=now,
        )
        for note in notes
    )


@dataclass(frozen=True)
class Cursor:
    """A place in the feed: after the row (txid, id)."""

    txid: int = 0
    id: int = 0

    def encode(self) -> str:
        raw = f"{CURSOR_VERSION}.{self.txid}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor `text` encodes, or None if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            version, txid, pk = raw.split(".")
            cursor = cls(int(txid), int(pk))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if version != CURSOR_VERSION or not (0 <= cursor.txid < 2**63 and 0 <= cursor.id < 2**63):
            return None
        return cursor


def changes_after(organization_id: int, cursor: Cursor) -> QuerySet[Change]:
    """The organization's changes after `cursor` that are final (no row can appear
    before them any more), in commit order. Slice it for a page."""
    rows = Change.objects.filter(
        # (txid, id) > the cursor's; `txid >=` alone lets the index start there.
        Q(txid__gt=cursor.txid) | Q(id__gt=cursor.id),
        organization_id=organization_id,
        txid__gte=cursor.txid,
    )
    if connection.vendor == "postgresql":
        # The same statement's snapshot: every transaction below its xmin has ended.
        rows = rows.filter(
            txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", ())
        )
    return rows.order_by("txid", "id")


def changes_purge(now: dt.datetime | None = None) -> int:
    """Delete the rows older than CHANGES_KEPT that are deletions or are followed by a
    later row of the same object; returns how many went. Running it twice (or twice at
    once) deletes nothing twice."""
    before = (now or timezone.now()) - CHANGES_KEPT
    later = Change.objects.filter(
        Q(txid__gt=OuterRef("txid")) | Q(txid=OuterRef("txid"), id__gt=OuterRef("id")),
        organization_id=OuterRef("organization_id"),
        kind=OuterRef("kind"),
        object_id=OuterRef("object_id"),
    )
    old = Change.objects.filter(at__lt=before).filter(
        Q(action=ChangeAction.DELETED) | Exists(later)
    )
    deleted, _ = Change.objects.filter(pk__in=old.values("pk")).delete()
    return deleted
