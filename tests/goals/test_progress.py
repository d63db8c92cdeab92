"""The pure formulas of SPEC §2 (goals/progress.py), called directly: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from core.numbers import display
from goals.progress import (
    child_goal_contribution,
    expected_progress,
    goal_progress,
    health,
    kpi_progress,
)

D = dt.date
JAN_1, DEC_31 = D(2027, 1, 1), D(2027, 12, 31)


def parent_progress(kpis: list[tuple[float, float]], children: list[tuple[str, float, float]]):
    """A goal's progress from (weight, progress) KPIs and (state, weight, progress) children,
    the way the roll-up feeds the formulas."""
    pairs = list(kpis)
    for state, weight, progress in children:
        contribution = child_goal_contribution(state, progress)
        if contribution is not None:
            pairs.append((weight, contribution))
    return goal_progress(pairs)


# --- SPEC §2 worked example -------------------------------------------------------


def test_worked_example_kpi_decreasing_from_6_to_4_at_5_is_50():
    assert kpi_progress(5.0, baseline=6, target=4) == 50.0


def test_worked_example_individual_goal_with_only_that_kpi_is_50():
    assert goal_progress([(1.0, kpi_progress(5, 6, 4))]) == 50.0


def test_worked_example_department_goal_is_72_5():
    individual = goal_progress([(1.0, kpi_progress(5, 6, 4))])
    department = parent_progress(kpis=[(3.0, 80.0)], children=[("active", 1.0, individual)])
    assert department == 72.5
    assert display(department) == 72.5


def test_own_kpi_of_the_worked_example_decreasing_from_10_to_5_at_6_reads_80():
    assert display(kpi_progress(6, baseline=10, target=5)) == 80.0


# --- KPI current value --------------------------------------------------------------


def test_kpi_without_a_current_value_has_progress_0():
    assert kpi_progress(None, baseline=6, target=4) == 0.0
    assert kpi_progress(None, baseline=0, target=100) == 0.0


# --- KPI progress -------------------------------------------------------------------


def test_increasing_kpi_progress_is_the_share_of_the_way_to_target():
    assert kpi_progress(25, baseline=0, target=100) == 25.0
    assert kpi_progress(60, baseline=50, target=70) == 50.0


def test_decreasing_kpi_progress_uses_the_negative_denominator():
    assert kpi_progress(5.5, baseline=6, target=4) == 25.0
    assert kpi_progress(4, baseline=6, target=4) == 100.0
    assert kpi_progress(6, baseline=6, target=4) == 0.0


@pytest.mark.parametrize(
    ("current", "baseline", "target"),
    [(150, 0, 100), (100.0001, 0, 100), (3, 6, 4), (-1, 6, 4)],
)
def test_kpi_overshooting_its_target_clamps_to_100(current, baseline, target):
    assert kpi_progress(current, baseline, target) == 100.0


@pytest.mark.parametrize(
    ("current", "baseline", "target"),
    [(-5, 0, 100), (-0.0001, 0, 100), (7, 6, 4), (60, 6, 4)],
)
def test_kpi_moving_away_from_its_target_clamps_to_0(current, baseline, target):
    assert kpi_progress(current, baseline, target) == 0.0


def test_kpi_progress_with_negative_baseline_and_target():
    assert kpi_progress(-15, baseline=-20, target=-10) == 50.0
    assert kpi_progress(-15, baseline=-10, target=-20) == 50.0


def test_kpi_progress_is_kept_at_full_precision():
    assert kpi_progress(1, baseline=0, target=3) == pytest.approx(100 / 3, abs=1e-12)
    assert display(kpi_progress(1, baseline=0, target=3)) == 33.3


# --- goal progress ------------------------------------------------------------------


def test_goal_progress_is_the_weighted_mean_of_kpis_and_children():
    assert goal_progress([(1, 100.0), (1, 0.0)]) == 50.0
    assert goal_progress([(2, 30.0), (1, 60.0), (1, 100.0)]) == 55.0


def test_goal_with_neither_kpis_nor_children_has_progress_0():
    assert goal_progress([]) == 0.0
    assert parent_progress(kpis=[], children=[]) == 0.0


def test_cancelled_child_goal_contributes_nothing():
    assert child_goal_contribution("cancelled", 80.0) is None
    assert child_goal_contribution("cancelled", 0.0) is None


def test_cancelled_child_is_left_out_of_the_parents_weighted_mean():
    progress = parent_progress(
        kpis=[(1.0, 40.0)],
        children=[("active", 1.0, 80.0), ("cancelled", 5.0, 0.0)],
    )
    assert progress == 60.0


def test_goal_whose_only_child_is_cancelled_has_progress_0():
    assert parent_progress(kpis=[], children=[("cancelled", 1.0, 90.0)]) == 0.0


@pytest.mark.parametrize("own_progress", [0.0, 37.5, 100.0])
def test_done_child_goal_counts_100_whatever_its_own_progress(own_progress):
    assert child_goal_contribution("done", own_progress) == 100.0


def test_done_child_counts_100_in_the_parents_weighted_mean():
    progress = parent_progress(kpis=[(1.0, 20.0)], children=[("done", 3.0, 10.0)])
    assert progress == 80.0  # (20 + 300) / 4


def test_active_child_contributes_its_own_progress():
    assert child_goal_contribution("active", 42.25) == 42.25


# --- expected progress --------------------------------------------------------------


def test_expected_progress_is_the_share_of_days_elapsed():
    assert expected_progress(D(2027, 1, 6), D(2027, 1, 1), D(2027, 1, 11)) == 50.0
    assert expected_progress(D(2027, 1, 1), D(2027, 1, 1), D(2027, 1, 11)) == 0.0
    assert expected_progress(D(2027, 1, 11), D(2027, 1, 1), D(2027, 1, 11)) == 100.0


def test_expected_progress_clamps_to_0_before_start_and_100_after_due():
    assert expected_progress(D(2026, 12, 1), JAN_1, DEC_31) == 0.0
    assert expected_progress(D(2028, 6, 1), JAN_1, DEC_31) == 100.0


# --- health -------------------------------------------------------------------------

START, DUE = D(2027, 1, 1), D(2027, 1, 11)  # ten days
MIDWAY = D(2027, 1, 6)  # expected 50


def health_at(progress: float, today: dt.date = MIDWAY, state: str = "active") -> str:
    return health(progress=progress, today=today, start=START, due=DUE, state=state)


def test_health_the_day_before_start_is_not_started():
    assert health_at(0.0, today=START - dt.timedelta(days=1)) == "not_started"
    assert health_at(40.0, today=START - dt.timedelta(days=1)) == "not_started"


def test_health_on_the_start_day_with_no_progress_is_on_track():
    assert health_at(0.0, today=START) == "on_track"


def test_progress_at_exactly_expected_minus_10_is_on_track():
    assert health_at(40.0) == "on_track"


def test_progress_just_below_expected_minus_10_is_at_risk():
    assert health_at(39.999999) == "at_risk"


def test_progress_that_displays_as_expected_minus_10_but_is_below_is_at_risk():
    """Thresholds compare at full precision, not the one-decimal display."""
    assert display(39.96) == 40.0
    assert health_at(39.96) == "at_risk"


def test_progress_at_exactly_expected_minus_25_is_at_risk():
    assert health_at(25.0) == "at_risk"


def test_progress_just_below_expected_minus_25_is_off_track():
    assert health_at(24.999999) == "off_track"
    assert health_at(24.96) == "off_track"


def test_thresholds_use_the_unrounded_expected_progress():
    start, due, today = D(2027, 1, 1), D(2027, 1, 4), D(2027, 1, 2)  # expected 33.33…
    expected = expected_progress(today, start, due)
    assert health(progress=expected - 10, today=today, start=start, due=due) == "on_track"
    assert health(progress=23.33, today=today, start=start, due=due) == "at_risk"
    assert health(progress=expected - 25, today=today, start=start, due=due) == "at_risk"
    assert health(progress=8.33, today=today, start=start, due=due) == "off_track"


def test_health_after_due_expects_100():
    after = DUE + dt.timedelta(days=30)
    assert health_at(90.0, today=after) == "on_track"
    assert health_at(89.9, today=after) == "at_risk"
    assert health_at(75.0, today=after) == "at_risk"
    assert health_at(74.9, today=after) == "off_track"


@pytest.mark.parametrize("progress", [100.0, 100.5])
def test_progress_of_100_or_more_is_done(progress):
    assert health_at(progress) == "done"
    assert health_at(progress, today=START - dt.timedelta(days=1)) == "done"


def test_done_state_reads_done_whatever_the_progress():
    assert health_at(0.0, state="done") == "done"
    assert health_at(0.0, today=DUE + dt.timedelta(days=10), state="done") == "done"


def test_cancelled_state_reads_cancelled_even_at_100():
    assert health_at(20.0, state="cancelled") == "cancelled"
    assert health_at(100.0, state="cancelled") == "cancelled"
    assert health_at(0.0, today=START - dt.timedelta(days=1), state="cancelled") == "cancelled"


def test_health_defaults_to_the_active_state():
    assert health(progress=50.0, today=MIDWAY, start=START, due=DUE) == "on_track"


def test_display_rounds_to_one_decimal():
    assert display(72.5) == 72.5
    assert display(33.333333) == 33.3
    assert display(66.666666) == 66.7


# --- SPEC §8.3: no check-in yet -----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "today", "expected"),
    [
        ("active", D(2027, 3, 15), "no_data"),  # no value: not "off track" at 0 %
        ("active", D(2026, 12, 1), "not_started"),  # before the start, still not started
        ("done", D(2027, 3, 15), "done"),
        ("cancelled", D(2027, 3, 15), "cancelled"),
    ],
)
def test_without_data_health_is_no_data_once_started(state, today, expected):
    verdict = health(
        progress=0.0, today=today, start=JAN_1, due=DEC_31, state=state, has_data=False
    )
    assert verdict == expected


def test_with_data_the_same_zero_is_graded():
    assert health(progress=0.0, today=D(2027, 3, 15), start=JAN_1, due=DEC_31) == "at_risk"
