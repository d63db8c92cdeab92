"""The Django admin shows goals, KPIs and their values but cannot change them: a save
there would skip the services, and with them the tree rules and the roll-up."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from cycles.models import Cycle
from goals.models import Goal
from kpis.feeds import source_set
from kpis.models import CheckinReminder, Kpi, KpiUpdate
from kpis.services import kpi_record_value
from org.models import Department, Member, OwedJob
from tests.identity.mfa_helpers import enrol, verify


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-1234")
    # The admin site requires two-factor authentication (identity/mfa_admin.py).
    device, _codes = enrol(user)
    client.force_login(user)
    verify(client, device)
    return client


@pytest.fixture
def rows(acme, tree):
    update = kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    return {
        "goals/goal": tree.department,
        "kpis/kpi": tree.individual_kpi,
        "kpis/kpiupdate": update,
    }


def snapshot() -> list:
    return [list(model.objects.order_by("pk").values()) for model in (Goal, Kpi, KpiUpdate)]


@pytest.mark.parametrize("model", ["goals/goal", "kpis/kpi", "kpis/kpiupdate"])
def test_the_admin_lists_and_shows_them(operator, rows, model):
    assert operator.get(f"/admin/{model}/").status_code == 200
    page = operator.get(f"/admin/{model}/{rows[model].pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view, not a form


@pytest.mark.parametrize("model", ["goals/goal", "kpis/kpi", "kpis/kpiupdate"])
def test_the_admin_cannot_add_change_or_delete_them(operator, rows, model):
    before = snapshot()
    pk = rows[model].pk
    assert operator.get(f"/admin/{model}/add/").status_code == 403
    assert operator.post(f"/admin/{model}/add/", {"title": "Sneaked in"}).status_code == 403
    changed = operator.post(
        f"/admin/{model}/{pk}/change/", {"title": "Renamed", "weight": "1e300", "value": "99"}
    )
    assert changed.status_code == 403
    assert operator.post(f"/admin/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("model", ["org/organization", "org/department", "org/member"])
def test_the_admin_shows_people_and_departments_but_cannot_change_them(operator, acme, model):
    """Their rules (the last admin stays, names on one line) are checked in the app."""
    row = {"org/organization": acme.org, "org/department": acme.support, "org/member": acme.admin}
    before = snapshot(), list(Member.objects.values()), list(Department.objects.values())
    assert operator.get(f"/admin/{model}/").status_code == 200
    assert operator.get(f"/admin/{model}/add/").status_code == 403
    response = operator.post(
        f"/admin/{model}/{row[model].pk}/change/", {"role": "member", "is_active": ""}
    )
    assert response.status_code == 403
    assert (snapshot(), list(Member.objects.values()), list(Department.objects.values())) == before


def cycle_form(acme, **fields) -> dict:
    return {
        "organization": acme.org.pk,
        "name": "FY 2028",
        "start": "2028-01-01",
        "end": "2028-12-31",
        "cadence": "quarterly",
    } | fields


def test_the_admin_creates_a_cycle_by_the_apps_rules(operator, acme):
    response = operator.post("/admin/cycles/cycle/add/", cycle_form(acme))
    assert response.status_code == 302
    assert Cycle.objects.filter(organization=acme.org, name="FY 2028").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "FY\n2028"}, "one line"),
        ({"name": "2027"}, "already exists"),
        ({"cadence": "weekly"}, "valid choice"),
    ],
)
def test_the_admin_refuses_a_cycle_the_app_would_refuse(operator, acme, fields, message):
    before = list(Cycle.objects.values())
    response = operator.post("/admin/cycles/cycle/add/", cycle_form(acme, **fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(Cycle.objects.values()) == before


def test_the_admin_cannot_move_a_cycles_dates_away_from_its_goals(operator, acme, tree):
    before = list(Cycle.objects.values())
    response = operator.post(
        f"/admin/cycles/cycle/{acme.cycle.pk}/change/",
        cycle_form(acme, name="2027", start="2027-06-01", end="2027-12-31"),
    )
    assert response.status_code == 200
    assert "would fall outside these dates" in response.content.decode()
    assert list(Cycle.objects.values()) == before


def test_the_admin_shows_each_owed_email_with_its_attempts_and_last_error(operator, acme):
    CheckinReminder.objects.create(
        member=acme.member,
        period="2027-03",
        kpi_count=2,
        run=uuid.uuid4(),
        email_due=True,
        email_attempts=3,
        email_last_error="SMTPRecipientsRefused: no such mailbox",
    )
    page = operator.get("/admin/kpis/checkinreminder/?email_due__exact=1")
    assert page.status_code == 200
    assert b"SMTPRecipientsRefused: no such mailbox" in page.content
    assert operator.get("/admin/reviews/reviewreminder/").status_code == 200
    assert operator.get("/admin/kpis/checkinreminder/add/").status_code == 403


def test_the_admin_shows_the_outbox_and_what_failed_but_cannot_change_it(operator, db):
    job = OwedJob.objects.create(
        task="kpis.tasks.notify_kpi_health",
        kwargs={"update_id": 1},
        attempts=2,
        last_error="OperationalError: the database went away",
    )
    listed = operator.get("/admin/org/owedjob/?done_at__isnull=True")
    assert listed.status_code == 200 and b"the database went away" in listed.content
    assert operator.get(f"/admin/org/owedjob/{job.pk}/change/").status_code == 200
    assert operator.post(f"/admin/org/owedjob/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert OwedJob.objects.filter(pk=job.pk, attempts=2).exists()


def test_the_admin_shows_a_data_source_but_not_its_secrets(operator, acme, tree, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    source = source_set(
        actor=acme.leader,
        kpi=tree.strategic_kpi,
        kind="http_json",
        name="CRM",
        url="http://127.0.0.1:8/leads",
        pointer="/n",
        headers={"Authorization": "Bearer hush-hush"},
    )
    assert operator.get("/admin/kpis/kpisource/").status_code == 200
    page = operator.get(f"/admin/kpis/kpisource/{source.pk}/change/")
    assert page.status_code == 200 and b"CRM" in page.content
    assert b"hush-hush" not in page.content and b'name="_save"' not in page.content
    assert operator.post(f"/admin/kpis/kpisource/{source.pk}/delete/").status_code == 403
