"""SPEC §1 rule 4 and §8.1, enforced by the services: a KPI's name, unit, direction,
baseline and target; the weights of goals and KPIs; the dates of both inside their
cycle and in order; bounds (weights at most 100, numbers within 1e12) and one-line
titles, names and units. Every violation is a ValidationError with a message on the
offending field, and nothing is saved."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from goals.services import goal_update
from kpis.models import Kpi
from kpis.services import kpi_create, kpi_edit

from ..checks import assert_create_refused, assert_update_refused
from ..factories import CycleFactory
from .helpers import D, department_goal, kpi_fields, objective

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


# --- rule 4: KPI fields, weights, dates ---------------------------------------------


@pytest.mark.parametrize("name", ["", "   "])
def test_kpi_without_a_name_is_refused(acme, tree, name):
    assert_create_refused(
        lambda: kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(name=name)),
        "name",
    )


@pytest.mark.parametrize("unit", ["", "  "])
def test_kpi_without_a_unit_is_refused(acme, tree, unit):
    assert_create_refused(
        lambda: kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(unit=unit)),
        "unit",
    )


@pytest.mark.parametrize("target", [10, 9.99, 0, -5])
def test_increasing_kpi_with_target_not_above_baseline_is_refused(acme, tree, target):
    assert_create_refused(
        lambda: kpi_create(
            actor=acme.leader,
            goal=tree.department,
            **kpi_fields(direction="increase", baseline=10, target=target),
        ),
        "target",
    )


@pytest.mark.parametrize("target", [10, 10.01, 50])
def test_decreasing_kpi_with_target_not_below_baseline_is_refused(acme, tree, target):
    assert_create_refused(
        lambda: kpi_create(
            actor=acme.leader,
            goal=tree.department,
            **kpi_fields(direction="decrease", baseline=10, target=target),
        ),
        "target",
    )


def test_kpi_with_negative_baseline_and_a_target_on_the_right_side_is_allowed(acme, tree):
    kpi = kpi_create(
        actor=acme.leader,
        goal=tree.department,
        **kpi_fields(name="Net balance", unit="k€", direction="increase", baseline=-20, target=-5),
    )
    assert (kpi.baseline, kpi.target) == (-20, -5)


@pytest.mark.parametrize("field", ["baseline", "target"])
@pytest.mark.parametrize("value", [math.nan, math.inf, "10", None])
def test_kpi_baseline_or_target_that_is_not_a_finite_number_is_refused(acme, tree, field, value):
    assert_create_refused(
        lambda: kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(**{field: value})),
        field,
    )


@pytest.mark.parametrize("weight", [0, -1, math.nan, math.inf])
def test_kpi_weight_not_above_zero_is_refused(acme, tree, weight):
    assert_create_refused(
        lambda: kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(weight=weight)),
        "weight",
    )


@pytest.mark.parametrize("weight", [0, -0.5, math.nan])
def test_goal_weight_not_above_zero_is_refused(acme, tree, weight):
    assert_create_refused(lambda: department_goal(acme, tree.strategic, weight=weight), "weight")


def test_changing_a_goal_weight_to_zero_is_refused(acme, tree):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, weight=0),
        "weight",
    )


def test_changing_a_kpi_weight_to_a_negative_number_is_refused(acme, tree):
    assert_update_refused(
        tree.department_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.department_kpi, weight=-2),
        "weight",
    )


def test_flipping_a_kpi_direction_without_its_target_is_refused(acme, tree):
    assert_update_refused(
        tree.department_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.department_kpi, direction="increase"),
        "target",
    )


def test_flipping_a_kpi_direction_with_its_target_is_allowed(acme, tree):
    kpi_edit(actor=acme.leader, kpi=tree.department_kpi, direction="increase", target=12)
    stored = Kpi.objects.get(pk=tree.department_kpi.pk)
    assert (stored.direction, stored.target) == ("increase", 12)


def test_blanking_a_kpi_name_is_refused(acme, tree):
    assert_update_refused(
        tree.department_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.department_kpi, name=" "),
        "name",
    )


def test_blanking_a_kpi_unit_is_refused(acme, tree):
    assert_update_refused(
        tree.department_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.department_kpi, unit=""),
        "unit",
    )


# Dates: cycle start ≤ start < due ≤ cycle end (the cycle is 2027-01-01 … 2027-12-31).
BAD_DATES = [
    pytest.param(D(2026, 12, 31), D(2027, 6, 30), "start", id="start-before-cycle"),
    pytest.param(D(2027, 1, 1), D(2028, 1, 1), "due", id="due-after-cycle"),
    pytest.param(D(2027, 3, 1), D(2027, 3, 1), "due", id="start-equals-due"),
    pytest.param(D(2027, 6, 1), D(2027, 3, 1), "due", id="due-before-start"),
]


@pytest.mark.parametrize(("start", "due", "field"), BAD_DATES)
def test_goal_dates_outside_its_cycle_or_out_of_order_are_refused(acme, tree, start, due, field):
    assert_create_refused(
        lambda: department_goal(acme, tree.strategic, start=start, due=due), field
    )


@pytest.mark.parametrize(("start", "due", "field"), BAD_DATES)
def test_kpi_dates_outside_its_cycle_or_out_of_order_are_refused(acme, tree, start, due, field):
    assert_create_refused(
        lambda: kpi_create(
            actor=acme.leader, goal=tree.department, **kpi_fields(start=start, due=due)
        ),
        field,
    )


@pytest.mark.parametrize(("start", "due", "field"), BAD_DATES)
def test_changing_goal_dates_outside_its_cycle_is_refused(acme, tree, start, due, field):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, start=start, due=due),
        field,
    )


@pytest.mark.parametrize(("start", "due", "field"), BAD_DATES)
def test_changing_kpi_dates_outside_its_cycle_is_refused(acme, tree, start, due, field):
    assert_update_refused(
        tree.individual_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.individual_kpi, start=start, due=due),
        field,
    )


def test_goal_and_kpi_may_span_exactly_the_cycle_or_a_single_day(acme, tree):
    goal = department_goal(acme, tree.strategic, start=D(2027, 1, 1), due=D(2027, 12, 31))
    kpi = kpi_create(
        actor=acme.leader, goal=goal, **kpi_fields(start=D(2027, 12, 30), due=D(2027, 12, 31))
    )
    assert (goal.start, goal.due) == (acme.cycle.start, acme.cycle.end)
    assert kpi.due - kpi.start == DAY


def test_moving_a_kpi_to_a_goal_of_a_shorter_cycle_is_refused(acme, tree):
    short = CycleFactory(
        organization=acme.org, name="H1 2027", start=D(2027, 1, 1), end=D(2027, 6, 30)
    )
    target_goal = objective(acme, "H1 objective", cycle=short)
    assert_update_refused(
        tree.individual_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.individual_kpi, goal=target_goal),
        "due",
    )


# --- SPEC §8.1: bounds and one-line text ------------------------------------------------


@pytest.mark.parametrize("weight", [100.0001, 1e308])
def test_a_goal_or_kpi_weight_above_100_is_refused_with_the_bound(acme, tree, weight):
    messages = assert_create_refused(
        lambda: department_goal(acme, tree.strategic, weight=weight), "weight"
    )
    assert "at most 100" in messages["weight"][0]
    messages = assert_create_refused(
        lambda: kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(weight=weight)),
        "weight",
    )
    assert "at most 100" in messages["weight"][0]


def test_a_weight_of_exactly_100_is_allowed(acme, tree):
    assert department_goal(acme, tree.strategic, weight=100).weight == 100
    kpi = kpi_create(actor=acme.leader, goal=tree.department, **kpi_fields(weight=100))
    assert kpi.weight == 100


@pytest.mark.parametrize(
    ("baseline", "target", "field"),
    [(0, 1e12 + 1, "target"), (-1e13, 0, "baseline"), (0, 1e308, "target")],
)
def test_a_baseline_or_target_beyond_1e12_is_refused_with_the_bound(
    acme, tree, baseline, target, field
):
    messages = assert_create_refused(
        lambda: kpi_create(
            actor=acme.leader,
            goal=tree.department,
            **kpi_fields(direction="increase", baseline=baseline, target=target),
        ),
        field,
    )
    assert "1e12" in messages[field][0]


def test_a_kpi_from_minus_to_plus_1e12_is_allowed(acme, tree):
    kpi = kpi_create(
        actor=acme.leader,
        goal=tree.department,
        **kpi_fields(direction="increase", baseline=-1e12, target=1e12),
    )
    assert (kpi.baseline, kpi.target) == (-1e12, 1e12)


@pytest.mark.parametrize(
    "text", ["Line one\nline two", "Carriage\rreturn", "Nul\x00byte", "A\ttab"]
)
def test_titles_names_and_units_are_one_line(acme, tree, text):
    messages = assert_create_refused(
        lambda: department_goal(acme, tree.strategic, title=text), "title"
    )
    assert "one line" in messages["title"][0]
    for field in ("name", "unit"):
        assert_create_refused(
            lambda field=field: kpi_create(
                actor=acme.leader, goal=tree.department, **kpi_fields(**{field: text})
            ),
            field,
        )
    assert_update_refused(
        tree.department_kpi,
        lambda: kpi_edit(actor=acme.leader, kpi=tree.department_kpi, name=text),
        "name",
    )
