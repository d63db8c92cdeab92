"""Recording a value through the service, kpis.services.kpi_record_value: what it
accepts (SPEC §1, rule 5) and what it refreshes before it returns (§2).

Recording crosses every layer; each has one place: here the service, who may record
in tests/org/test_permissions.py (the table of SPEC §3), the API in
tests/api/test_record_value.py, the page in tests/pages/test_record_in_place.py,
the browser in tests/browser/test_walks.py, queries and concurrency in
tests/goals/test_rollup_scale.py, and the notification job in tests/jobs/."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import time_machine
from django.utils import timezone

from kpis.models import Kpi, KpiUpdate
from kpis.rollup import cycle_rollup
from kpis.services import kpi_create, kpi_record_value

from ..checks import assert_update_refused

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def tickets_closed(acme, tree, aggregation: str = "sum") -> Kpi:
    """A KPI on sam's goal counting from 0 to 100 tickets."""
    return kpi_create(
        actor=acme.leader,
        goal=tree.individual,
        name="Tickets closed",
        unit="tickets",
        aggregation=aggregation,
        baseline=0,
        target=100,
    )


def stored(obj) -> float:
    """Stored progress, as shown (one decimal); refreshes `obj` too."""
    obj.refresh_from_db()
    return round(obj.progress, 1)


# --- what is accepted ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, "5", "five", "", None, True, [5]],
    ids=["nan", "inf", "-inf", "numeric-string", "word", "empty", "none", "bool", "list"],
)
def test_kpi_update_that_is_not_a_finite_number_is_refused(acme, tree, value):
    kpi = tree.individual_kpi
    assert_update_refused(
        kpi, lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=value), "value"
    )


@pytest.mark.parametrize("value", [5, 4.25, 0, -3.5])
def test_kpi_update_with_a_finite_number_is_recorded(acme, tree, value):
    update = kpi_record_value(actor=acme.leader, kpi=tree.individual_kpi, value=value)
    assert KpiUpdate.objects.get(pk=update.pk).value == value
    assert tree.individual_kpi.current == value


def test_negative_update_on_a_sum_kpi_is_a_correction(acme, tree):
    kpi = tickets_closed(acme, tree, aggregation="sum")
    kpi_record_value(actor=acme.leader, kpi=kpi, value=40)
    kpi_record_value(actor=acme.leader, kpi=kpi, value=-15, note="double-counted")
    stored = Kpi.objects.get(pk=kpi.pk)
    assert stored.current == 25
    assert stored.progress == 25.0
    assert stored.updates.count() == 2


def test_kpi_update_dated_after_today_is_refused(acme, tree):
    kpi = tree.individual_kpi
    tomorrow = acme.org.today() + DAY
    assert_update_refused(
        kpi,
        lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=tomorrow),
        "date",
    )


def test_kpi_update_dated_today_or_earlier_is_recorded(acme, tree):
    today = acme.org.today()
    kpi_record_value(actor=acme.leader, kpi=tree.individual_kpi, value=5, date=today)
    kpi_record_value(actor=acme.leader, kpi=tree.individual_kpi, value=5.5, date=today - 30 * DAY)
    assert tree.individual_kpi.updates.count() == 2


def test_kpi_update_without_a_date_is_dated_the_organizations_today(acme, tree):
    update = kpi_record_value(actor=acme.leader, kpi=tree.individual_kpi, value=5)
    assert update.date == acme.org.today()


def test_today_for_kpi_updates_is_the_organizations_date_not_utc(acme, tree):
    """At any instant one of UTC+14 and UTC−12 is on another calendar day than UTC."""
    utc_today = timezone.now().date()
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        acme.org.timezone = zone
        if acme.org.today() != utc_today:
            break
    acme.org.save()
    org_today = acme.org.today()
    assert org_today != utc_today

    kpi = tree.individual_kpi
    kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=org_today)
    assert_update_refused(
        kpi,
        lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=org_today + DAY),
        "date",
    )


@pytest.mark.parametrize("date", ["2027-01-01", "yesterday", 20270101])
def test_kpi_update_with_a_date_that_is_not_a_date_is_refused(acme, tree, date):
    kpi = tree.individual_kpi
    assert_update_refused(
        kpi, lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=date), "date"
    )


@pytest.mark.parametrize("confidence", ["certain", "HIGH", "very low"])
def test_kpi_update_confidence_other_than_high_medium_low_is_refused(acme, tree, confidence):
    kpi = tree.individual_kpi
    assert_update_refused(
        kpi,
        lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, confidence=confidence),
        "confidence",
    )


@pytest.mark.parametrize("confidence", ["high", "medium", "low", ""])
def test_kpi_update_confidence_high_medium_low_or_none_is_recorded(acme, tree, confidence):
    update = kpi_record_value(
        actor=acme.leader, kpi=tree.individual_kpi, value=5, confidence=confidence
    )
    assert KpiUpdate.objects.get(pk=update.pk).confidence == confidence


def test_invalid_kpi_update_reports_every_field_at_once(acme, tree):
    kpi = tree.individual_kpi
    messages = assert_update_refused(
        kpi,
        lambda: kpi_record_value(
            actor=acme.leader,
            kpi=kpi,
            value=math.nan,
            date=acme.org.today() + DAY,
            confidence="sure",
        ),
        "value",
    )
    assert {"value", "date", "confidence"} <= set(messages)


# --- what it refreshes -----------------------------------------------------------------


def test_recording_a_value_refreshes_kpi_and_every_ancestor_before_returning(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4.5)  # 75 %
    assert stored(tree.individual_kpi) == 75.0
    assert stored(tree.individual) == 75.0
    assert stored(tree.department) == 37.5  # its own KPI is at 0, weights 1 and 1
    assert stored(tree.strategic) == 18.8  # 37.5 and its own KPI at 0 → 18.75


def test_sum_kpi_current_is_the_sum_and_a_negative_update_corrects_it(acme, tree):
    kpi = kpi_create(
        actor=acme.member,
        goal=tree.individual,
        name="Tickets closed this year",
        unit="tickets",
        aggregation="sum",
        baseline=0,
        target=100,
    )
    kpi_record_value(actor=acme.member, kpi=kpi, value=30)
    kpi_record_value(actor=acme.member, kpi=kpi, value=30)
    kpi_record_value(actor=acme.member, kpi=kpi, value=-10, note="double-counted")
    kpi.refresh_from_db()
    assert kpi.current == 50
    assert kpi.progress == 50.0
    assert kpi.updates.count() == 3


def test_latest_kpi_takes_the_latest_dated_value_not_the_latest_typed(acme, tree):
    kpi = tree.individual_kpi
    kpi_record_value(actor=acme.member, kpi=kpi, value=5, date=dt.date(2027, 3, 1))
    kpi_record_value(actor=acme.member, kpi=kpi, value=4, date=dt.date(2027, 2, 1))
    kpi.refresh_from_db()
    assert kpi.current == 5


def test_recording_a_value_stores_the_latest_values_date_on_the_kpi(acme, tree):
    kpi = tree.individual_kpi
    assert Kpi.objects.get(pk=kpi.pk).last_update_on is None
    kpi_record_value(actor=acme.member, kpi=kpi, value=5, date=dt.date(2027, 3, 1))
    kpi_record_value(actor=acme.member, kpi=kpi, value=4.5, date=dt.date(2027, 2, 1))
    assert Kpi.objects.get(pk=kpi.pk).last_update_on == dt.date(2027, 3, 1)
    Kpi.objects.filter(pk=kpi.pk).update(last_update_on=None)
    cycle_rollup(acme.cycle)  # and the full roll-up agrees
    assert Kpi.objects.get(pk=kpi.pk).last_update_on == dt.date(2027, 3, 1)


# --- the current value, as the roll-up reads it from the history ----------------------


def current_both_ways(kpi: Kpi, acme) -> tuple:
    """(current, progress) as the chain writer left them, then as a full recompute
    of the cycle (the scheduled job) finds them from scratch."""
    written = Kpi.objects.values_list("current", "progress").get(pk=kpi.pk)
    Kpi.objects.filter(pk=kpi.pk).update(current=12345, progress=99)
    cycle_rollup(acme.cycle)
    assert Kpi.objects.values_list("current", "progress").get(pk=kpi.pk) == written
    return written


@pytest.mark.parametrize("aggregation", ["latest", "sum"])
def test_a_kpi_without_values_has_no_current_value_and_progress_0(acme, tree, aggregation):
    kpi = tickets_closed(acme, tree, aggregation=aggregation)
    assert current_both_ways(kpi, acme) == (None, 0.0)


def test_a_sum_kpi_may_go_below_zero_and_its_progress_stays_at_0(acme, tree):
    kpi = tickets_closed(acme, tree, aggregation="sum")
    kpi_record_value(actor=acme.leader, kpi=kpi, value=5)
    kpi_record_value(actor=acme.leader, kpi=kpi, value=-8, note="over-counted")
    assert current_both_ways(kpi, acme) == (-3.0, 0.0)


def test_a_latest_kpi_breaks_a_date_tie_by_the_value_recorded_last(acme, tree):
    kpi = tree.individual_kpi  # 6 → 4 hours
    same_day = acme.org.today() - 3 * DAY
    for value in (5.5, 5.0, 4.5):
        kpi_record_value(actor=acme.member, kpi=kpi, value=value, date=same_day)
    kpi_record_value(actor=acme.member, kpi=kpi, value=6.0, date=same_day - DAY)  # older
    assert current_both_ways(kpi, acme) == (4.5, 75.0)


# --- SPEC §8.1: values stay within bounds and inside the KPI's cycle --------------------


@pytest.mark.parametrize("value", [1e12 + 1, -1e13, 1.7e308])
def test_a_value_beyond_1e12_is_refused_with_the_bound(acme, tree, value):
    kpi = tree.individual_kpi
    messages = assert_update_refused(
        kpi, lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=value), "value"
    )
    assert "1e12" in messages["value"][0]


@pytest.mark.parametrize("value", [1e12, -1e12])
def test_a_value_of_1e12_either_way_is_recorded(acme, tree, value):
    kpi = tree.individual_kpi
    kpi_record_value(actor=acme.leader, kpi=kpi, value=value)
    assert Kpi.objects.get(pk=kpi.pk).current == value


@pytest.mark.parametrize(
    ("date", "words"),
    [(dt.date(2026, 12, 31), "before the cycle"), (dt.date(2026, 3, 15), "before the cycle")],
)
def test_a_value_dated_before_its_cycle_is_refused(acme, tree, date, words):
    kpi = tree.individual_kpi
    messages = assert_update_refused(
        kpi, lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=date), "date"
    )
    assert words in messages["date"][0]


def test_a_value_is_dated_from_the_cycles_first_day_to_today(acme, tree):
    kpi = tree.individual_kpi
    first = kpi_record_value(actor=acme.leader, kpi=kpi, value=5.5, date=acme.cycle.start)
    last = kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=acme.org.today())
    assert (first.date, last.date) == (acme.cycle.start, acme.org.today())


def test_after_its_cycle_ended_a_value_is_dated_at_the_latest_on_its_last_day(acme, tree):
    kpi = tree.individual_kpi
    with time_machine.travel(dt.datetime(2028, 2, 1, 12, tzinfo=dt.UTC), tick=False):
        update = kpi_record_value(actor=acme.leader, kpi=kpi, value=5)  # no date: the last day
        assert update.date == acme.cycle.end
        assert_update_refused(
            kpi,
            lambda: kpi_record_value(actor=acme.leader, kpi=kpi, value=5, date=dt.date(2028, 1, 5)),
            "date",
        )
