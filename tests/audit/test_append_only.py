"""SPEC §9.2: the audit log is append-only — no edit or delete anywhere: not through the
ORM, not in the Django admin, not even in SQL on PostgreSQL (a trigger refuses it);
only the retention job's purge() removes entries, the old ones."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AppendOnly, Entry
from audit.record import record
from audit.retention import purge_expired
from audit.tasks import purge_old_entries
from tests.identity.mfa_helpers import enrol, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(acme):
    return record(acme.admin, "goal.updated", acme.cycle, changes={"title": ["Old", "New"]})


def stored() -> list[dict]:
    return list(Entry.objects.order_by("pk").values())


def test_a_stored_entry_refuses_to_be_saved_again(entry):
    before = stored()
    entry.action = "goal.deleted"
    with pytest.raises(AppendOnly):
        entry.save()
    fresh = Entry.objects.get(pk=entry.pk)
    fresh.actor = "Someone else"
    with pytest.raises(AppendOnly):
        fresh.save(update_fields=["actor"])
    assert stored() == before


def test_an_entry_refuses_to_be_deleted(entry):
    before = stored()
    with pytest.raises(AppendOnly):
        entry.delete()
    assert stored() == before


@pytest.mark.parametrize(
    "write",
    [
        lambda entries: entries.update(actor="x"),
        lambda entries: entries.delete(),
        lambda entries: entries.filter(pk__gt=0).update(changes={}),
        lambda entries: entries.filter(pk__gt=0).delete(),
        lambda entries: entries.bulk_update(list(entries.all()), ["actor"]),
        lambda entries: entries.update_or_create(pk=1, defaults={"actor": "x"}),
    ],
)
def test_the_orm_refuses_to_update_or_delete_entries(entry, write):
    before = stored()
    with pytest.raises(AppendOnly):
        write(Entry.objects)
    assert stored() == before


# -- the Django admin -----------------------------------------------------------------


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-1234")
    # The admin site requires two-factor authentication (identity/mfa_admin.py).
    device, _codes = enrol(user)
    client.force_login(user)
    verify(client, device)
    return client


def test_the_admin_lists_searches_and_shows_entries(operator, entry):
    assert operator.get("/admin/audit/entry/").status_code == 200
    found = operator.get(
        "/admin/audit/entry/", {"q": "goal.updated", "action__exact": "goal.updated"}
    )
    assert found.status_code == 200
    page = operator.get(f"/admin/audit/entry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view, not a form


def test_the_admin_cannot_add_change_or_delete_an_entry(operator, entry):
    before = stored()
    assert operator.get("/admin/audit/entry/add/").status_code == 403
    assert operator.post("/admin/audit/entry/add/", {"action": "sneaked.in"}).status_code == 403
    changed = operator.post(
        f"/admin/audit/entry/{entry.pk}/change/", {"action": "goal.deleted", "actor": "x"}
    )
    assert changed.status_code == 403
    assert operator.get(f"/admin/audit/entry/{entry.pk}/delete/").status_code == 403
    assert (
        operator.post(f"/admin/audit/entry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    bulk = operator.post(
        "/admin/audit/entry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 400, 403)
    assert stored() == before


# -- the database itself ---------------------------------------------------------------


def raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def test_sql_cannot_update_an_entry(entry):
    before = stored()
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE audit_entry SET actor = 'forged'")
    assert stored() == before


@pytest.mark.postgres
def test_postgres_refuses_a_raw_delete_but_purge_removes_only_old_entries(require_postgres, acme):
    aged = aged_entry(acme, 800)
    recent = record(acme.admin, "goal.updated", acme.cycle)
    before = stored()
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM audit_entry WHERE id = {recent.pk}")
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"UPDATE audit_entry SET actor = 'forged' WHERE id = {recent.pk}")
    assert stored() == before

    assert Entry.objects.purge(timezone.now() - dt.timedelta(days=730)) == 1
    assert list(Entry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Entry.objects.filter(pk=aged.pk).exists()
    # purge()'s permission ended with it: a raw DELETE is refused again
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM audit_entry WHERE id = {recent.pk}")
    assert Entry.objects.filter(pk=recent.pk).exists()


# -- retention ---------------------------------------------------------------------------


def aged_entry(acme, days: int) -> Entry:
    return Entry.objects.create(
        at=timezone.now() - dt.timedelta(days=days),
        organization_id=acme.org.pk,
        actor="ada",
        action="goal.updated",
    )


def test_the_nightly_job_purges_entries_older_than_the_retention(acme, settings):
    kept = [aged_entry(acme, days) for days in (0, 100, 729)]
    aged_entry(acme, 731)
    aged_entry(acme, 2000)
    assert purge_old_entries() == 2
    assert set(Entry.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert purge_old_entries() == 0  # a second run finds nothing


def test_the_retention_is_configurable(acme, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    kept = aged_entry(acme, 29)
    aged_entry(acme, 31)
    assert purge_expired() == 1
    assert list(Entry.objects.values_list("pk", flat=True)) == [kept.pk]
    settings.AUDIT_RETENTION_DAYS = 0  # keep everything
    aged_entry(acme, 5000)
    assert purge_expired() == 0


def test_the_purge_runs_every_night(settings):
    [entry] = [
        spec
        for spec in settings.CELERY_BEAT_SCHEDULE.values()
        if spec["task"] == purge_old_entries.name
    ]
    assert entry["schedule"].hour == {4}
