"""A goal's owner hears when one of its KPIs slips; the notification's title, built
from the KPI's name, always fits its column (SPEC §8.1)."""

from __future__ import annotations

import pytest

from core.errors import fit
from kpis.notifications import kpi_health_notify
from kpis.services import kpi_create, kpi_record_value
from org.models import Notification

pytestmark = pytest.mark.django_db


def test_fit_keeps_short_text_and_cuts_long_text_with_an_ellipsis():
    assert fit("Short", 10) == "Short"
    assert fit("x" * 10, 10) == "x" * 10
    assert fit("x" * 11, 10) == "x" * 9 + "…"
    assert fit("Two\nlines\x00", 20) == "Two lines "


def test_a_slipping_kpi_with_the_longest_name_notifies_with_a_title_that_fits(acme, tree):
    kpi = kpi_create(
        actor=acme.leader,
        goal=tree.department,  # owned by max
        name="N" * 300,
        unit="points",
        baseline=0,
        target=100,
    )
    kpi_record_value(actor=acme.leader, kpi=kpi, value=100)  # done
    slipped = kpi_record_value(actor=acme.leader, kpi=kpi, value=0)
    assert kpi_health_notify(update_id=slipped.pk, health_before="done") == 1
    title = Notification.objects.get(member=acme.manager, kind="kpi_health").title
    assert len(title) == 300 and title.endswith("…") and title.startswith("“NNN")


def test_a_health_notification_run_twice_for_one_value_is_made_once(acme, tree):
    """Tasks are acknowledged late: one whose worker died after it ran runs again."""
    kpi = kpi_create(
        actor=acme.leader, goal=tree.department, name="Uptime", unit="%", baseline=0, target=100
    )
    kpi_record_value(actor=acme.leader, kpi=kpi, value=100)
    slipped = kpi_record_value(actor=acme.leader, kpi=kpi, value=0)
    assert kpi_health_notify(update_id=slipped.pk, health_before="done") == 1
    assert kpi_health_notify(update_id=slipped.pk, health_before="done") == 0
    assert Notification.objects.filter(member=acme.manager, kind="kpi_health").count() == 1
    again = kpi_record_value(actor=acme.leader, kpi=kpi, value=0)  # another value: its own
    assert kpi_health_notify(update_id=again.pk, health_before="done") == 1
