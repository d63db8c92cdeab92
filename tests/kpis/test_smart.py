"""kpis.smart.kpi_smart, letter by letter. Pure checks run on unsaved instances; the
aligned cases also run on KPIs saved through the services."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi
from kpis.smart import kpi_smart, smart_failures

D = dt.date
LETTERS = ["specific", "measurable", "achievable", "relevant", "time_bound"]


def cycle_2027() -> Cycle:
    return Cycle(name="2027", start=D(2027, 1, 1), end=D(2027, 12, 31))


def strategic_goal(cycle: Cycle | None = None) -> Goal:
    cycle = cycle or cycle_2027()
    return Goal(
        cycle=cycle,
        level="strategic",
        title="Improve customer experience",
        start=cycle.start,
        due=cycle.end,
    )


def make_kpi(goal: Goal | None = None, **fields) -> Kpi:
    """An unsaved KPI that passes every letter unless `fields` say otherwise."""
    goal = goal or strategic_goal()
    values = dict(
        name="Resolve support tickets within 4 hrs avg",
        description="",
        unit="hours",
        direction="decrease",
        baseline=6,
        target=4,
        start=goal.cycle.start,
        due=goal.cycle.end,
    )
    values.update(fields)
    return Kpi(goal=goal, **values)


def verdict(kpi: Kpi, letter: str) -> dict:
    result = kpi_smart(kpi)
    assert list(result) == LETTERS
    assert set(result[letter]) == {"ok", "message"}
    assert isinstance(result[letter]["message"], str) and result[letter]["message"]
    return result[letter]


def test_well_formed_kpi_passes_every_letter():
    assert all(v["ok"] for v in kpi_smart(make_kpi()).values())
    assert smart_failures(make_kpi()) == []


def test_smart_failures_lists_the_failing_letters_in_smart_order():
    kpi = make_kpi(
        name="Speed", unit="", direction="increase", baseline=1, target=50, due=D(2028, 3, 1)
    )
    assert smart_failures(kpi) == ["specific", "measurable", "achievable", "time_bound"]


# --- specific -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Quality", "  Growth  ", ""])
def test_kpi_named_by_one_vague_word_without_description_is_not_specific(name):
    result = verdict(make_kpi(name=name), "specific")
    assert result["ok"] is False


def test_kpi_named_by_several_words_is_specific():
    assert verdict(make_kpi(name="Customer satisfaction score"), "specific")["ok"] is True
    assert verdict(make_kpi(name="Qualified leads"), "specific")["ok"] is True


def test_kpi_named_by_one_word_with_a_description_is_specific():
    kpi = make_kpi(name="NPS", description="Net promoter score from the quarterly survey.")
    result = verdict(kpi, "specific")
    assert result["ok"] is True
    assert "description" in result["message"]


def test_blank_description_does_not_make_a_one_word_kpi_specific():
    assert verdict(make_kpi(name="Quality", description="   \n"), "specific")["ok"] is False


# --- measurable ---------------------------------------------------------------------


def test_kpi_with_a_unit_and_numeric_baseline_and_target_is_measurable():
    result = verdict(make_kpi(unit="hours", baseline=6, target=4), "measurable")
    assert result["ok"] is True
    assert "hours" in result["message"]
    assert "6" in result["message"] and "4" in result["message"]


@pytest.mark.parametrize("unit", ["", "   "])
def test_kpi_without_a_unit_is_not_measurable(unit):
    assert verdict(make_kpi(unit=unit), "measurable")["ok"] is False


@pytest.mark.parametrize(
    ("baseline", "target"), [(None, 4), (6, None), (math.nan, 4), (6, math.inf)]
)
def test_kpi_without_a_numeric_baseline_and_target_is_not_measurable(baseline, target):
    kpi = make_kpi(baseline=baseline, target=target)
    assert verdict(kpi, "measurable")["ok"] is False
    assert verdict(kpi, "achievable")["ok"] is False


# --- achievable ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "baseline", "target"),
    [
        ("increase", 10, 50),
        ("increase", 10, 110),
        ("decrease", 6, 4),
        ("decrease", 100, 0),
        ("increase", -10, 50),
    ],
    ids=["4x", "exactly-10x", "worked-example", "down-to-zero", "negative-baseline-6x"],
)
def test_change_up_to_ten_times_the_baseline_is_achievable(direction, baseline, target):
    kpi = make_kpi(direction=direction, baseline=baseline, target=target)
    assert verdict(kpi, "achievable")["ok"] is True


@pytest.mark.parametrize(
    ("direction", "baseline", "target"),
    [("increase", 10, 111), ("increase", 2, 100), ("decrease", 5, -60), ("increase", -5, 60)],
    ids=["just-over-10x", "49x", "decrease-13x", "negative-baseline-13x"],
)
def test_change_of_more_than_ten_times_the_baseline_is_flagged_as_a_stretch(
    direction, baseline, target
):
    result = verdict(make_kpi(direction=direction, baseline=baseline, target=target), "achievable")
    assert result["ok"] is False
    assert "stretch" in result["message"]


def test_stretch_message_says_how_many_times_the_baseline():
    result = verdict(make_kpi(direction="increase", baseline=2, target=100), "achievable")
    assert "49×" in result["message"]


@pytest.mark.parametrize(("direction", "target"), [("increase", 1_000_000), ("decrease", -5)])
def test_kpi_from_a_zero_baseline_is_achievable_as_there_is_no_ratio(direction, target):
    kpi = make_kpi(direction=direction, baseline=0, target=target)
    assert verdict(kpi, "achievable")["ok"] is True


# --- relevant -----------------------------------------------------------------------


def test_kpi_on_a_strategic_goal_is_relevant():
    result = verdict(make_kpi(strategic_goal()), "relevant")
    assert result["ok"] is True
    assert "directly" in result["message"]


def test_kpi_on_a_goal_below_a_strategic_root_is_relevant_and_names_the_root():
    root = strategic_goal()
    department = Goal(
        cycle=root.cycle, level="department", title="Reduce response time", parent=root
    )
    individual = Goal(
        cycle=root.cycle, level="individual", title="Resolve tickets", parent=department
    )
    result = verdict(make_kpi(individual), "relevant")
    assert result["ok"] is True
    assert "Improve customer experience" in result["message"]


def test_kpi_on_a_goal_without_a_strategic_root_is_not_relevant():
    """The database forbids a non-strategic root, so the unaligned case is unsaved."""
    cycle = cycle_2027()
    orphan = Goal(cycle=cycle, level="department", title="Orphan department goal")
    below = Goal(cycle=cycle, level="individual", title="Below the orphan", parent=orphan)
    assert verdict(make_kpi(orphan), "relevant")["ok"] is False
    assert verdict(make_kpi(below), "relevant")["ok"] is False


@pytest.mark.django_db
def test_saved_kpis_of_the_tree_are_all_relevant_without_extra_queries(
    tree, django_assert_num_queries
):
    kpis = list(
        Kpi.objects.select_related("goal__cycle", "goal__parent__parent__parent")
        .filter(pk__in=[tree.strategic_kpi.pk, tree.department_kpi.pk, tree.individual_kpi.pk])
        .order_by("pk")
    )
    with django_assert_num_queries(0):
        results = [kpi_smart(kpi) for kpi in kpis]
    assert [r["relevant"]["ok"] for r in results] == [True, True, True]
    assert "directly" in results[0]["relevant"]["message"]
    assert "Improve customer experience" in results[2]["relevant"]["message"]
    assert all(r["time_bound"]["ok"] for r in results)


# --- time-bound ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (D(2027, 1, 1), D(2027, 12, 31)),
        (D(2027, 3, 1), D(2027, 3, 31)),
        (D(2027, 12, 30), D(2027, 12, 31)),
    ],
    ids=["whole-cycle", "one-month", "last-day"],
)
def test_kpi_dated_inside_its_cycle_is_time_bound(start, due):
    result = verdict(make_kpi(start=start, due=due), "time_bound")
    assert result["ok"] is True
    assert due.isoformat() in result["message"]


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (D(2026, 12, 31), D(2027, 6, 30)),
        (D(2027, 1, 1), D(2028, 1, 1)),
        (D(2028, 1, 1), D(2028, 6, 30)),
        (D(2027, 3, 1), D(2027, 3, 1)),
        (D(2027, 6, 1), D(2027, 3, 1)),
    ],
    ids=[
        "starts-before-cycle",
        "due-after-cycle",
        "wholly-outside",
        "start-equals-due",
        "due-before-start",
    ],
)
def test_kpi_dated_outside_its_cycle_or_out_of_order_is_not_time_bound(start, due):
    result = verdict(make_kpi(start=start, due=due), "time_bound")
    assert result["ok"] is False
    assert "2027" in result["message"]


@pytest.mark.parametrize(("start", "due"), [(None, D(2027, 6, 30)), (D(2027, 1, 1), None)])
def test_kpi_without_a_start_or_due_date_is_not_time_bound(start, due):
    assert verdict(make_kpi(start=start, due=due), "time_bound")["ok"] is False


def test_time_bound_judges_against_the_goals_cycle():
    h1 = Cycle(name="H1 2027", start=D(2027, 1, 1), end=D(2027, 6, 30))
    kpi = make_kpi(strategic_goal(h1), start=D(2027, 1, 1), due=D(2027, 9, 30))
    result = verdict(kpi, "time_bound")
    assert result["ok"] is False
    assert "H1 2027" in result["message"]
