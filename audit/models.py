"""The audit log (SPEC §9.2): one row per change, append-only.

An entry names what it is about by value — ids, labels, the changed fields old → new —
never by foreign key: it outlives the goals, KPIs, people and tokens it names, and this
app stands below the ones whose rows it describes.

Append-only everywhere: a stored entry refuses save() and delete(); its queryset
refuses update() and delete(); the one way rows leave is `Entry.objects.purge()`, the
retention job's. The database refuses too (migration 0001): on PostgreSQL a trigger
refuses every UPDATE, and every DELETE but purge()'s; on SQLite one refuses UPDATE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from django.db import connection, models, transaction
from django.utils import timezone

APPEND_ONLY = "The audit log is append-only: its entries are never changed or deleted."

# The PostgreSQL setting purge() turns on for its own statement (SET LOCAL): the
# trigger lets a DELETE through only while it is on.
PURGE_SETTING = "audit.purge"


class AppendOnly(Exception):
    """A change or deletion of an audit entry, refused."""

    def __init__(self, message: str = APPEND_ONLY) -> None:
        super().__init__(message)


class EntryQuerySet(models.QuerySet["Entry"]):
    """Entries read and added, never changed or deleted (but by purge())."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly()

    def delete(self) -> NoReturn:
        raise AppendOnly()

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        raise AppendOnly()

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly()

    def purge(self, older_than: dt.datetime) -> int:
        """Delete the entries recorded before `older_than` (the retention job's only
        way); how many went."""
        stale = self.filter(at__lt=older_than)
        with transaction.atomic(using=self.db):
            on_postgres = connection.vendor == "postgresql"
            if on_postgres:
                _purge_switch("on")
            try:
                deleted, _ = models.QuerySet.delete(stale)
            finally:
                if on_postgres:
                    _purge_switch("off")
        return deleted


def _purge_switch(value: str) -> None:
    """Turn purge()'s setting on or off for the rest of this transaction only."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [PURGE_SETTING, value])


class Entry(models.Model):
    """Who (or which token), when, from where, what, old → new."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # The organization whose log shows it; none for a failed sign-in of an unknown name.
    organization_id = models.BigIntegerField(null=True, blank=True)
    actor_id = models.BigIntegerField(
        null=True, blank=True, help_text="The member who acted (their id)."
    )
    actor = models.CharField(
        max_length=200, blank=True, help_text="Who acted, as named then; “system” for a job."
    )
    token_id = models.BigIntegerField(
        null=True, blank=True, help_text="The service token acted through (its id)."
    )
    token = models.CharField(max_length=100, blank=True, help_text="The service token's name.")
    ip = models.GenericIPAddressField(null=True, blank=True, help_text="From where.")
    action = models.CharField(max_length=64, help_text="What: goal.updated, signin.failed, …")
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(
        default=dict, blank=True, help_text="{field: [old, new]}, or what a bulk write made."
    )

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organization_id", "-at"], name="audit_org_at"),
            models.Index(fields=["organization_id", "actor_id", "-at"], name="audit_org_actor_at"),
            models.Index(
                fields=["organization_id", "object_type", "object_id", "-at"],
                name="audit_org_object_at",
            ),
        ]

    def __str__(self) -> str:
        what = f" {self.object_type} {self.object_id}" if self.object_type else ""
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor or 'system'}: {self.action}{what}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update"):
            raise AppendOnly()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly()
