"""SPEC §1 tree rules, enforced by the services: every violation is a ValidationError
with a message on the offending field, and nothing is saved."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.services import kpi_create, kpi_edit

from ..checks import assert_create_refused, assert_update_refused
from ..factories import CycleFactory, GoalFactory

pytestmark = pytest.mark.django_db

D = dt.date
DAY = dt.timedelta(days=1)


# --- helpers ------------------------------------------------------------------------


def objective(acme, title: str = "Objective", cycle=None, **fields) -> Goal:
    return goal_create(
        actor=acme.leader, cycle=cycle or acme.cycle, level="strategic", title=title, **fields
    )


def objectives(acme, n: int, cycle=None) -> list[Goal]:
    return [objective(acme, f"Objective {i}", cycle=cycle) for i in range(n)]


def department_goal(acme, parent: Goal, **fields) -> Goal:
    fields.setdefault("department", acme.support)
    fields.setdefault("title", "Department goal")
    return goal_create(
        actor=acme.leader, cycle=parent.cycle, level="department", parent=parent, **fields
    )


def kpi_fields(**overrides) -> dict[str, Any]:
    fields = dict(
        name="First response time", unit="hours", direction="decrease", baseline=10, target=8
    )
    fields.update(overrides)
    return fields


def twin_cycle(acme, name: str = "2027 bis"):
    """Another cycle of Acme with the same dates, so only the cycle itself differs."""
    return CycleFactory(
        organization=acme.org, name=name, start=acme.cycle.start, end=acme.cycle.end
    )


# --- rule 1: strategic goals --------------------------------------------------------


def test_strategic_goal_with_a_parent_is_refused(acme, tree):
    assert_create_refused(
        lambda: objective(acme, "Nested objective", parent=tree.strategic), "parent"
    )


def test_goal_cannot_become_strategic_while_keeping_its_parent(acme, tree):
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, level="strategic"),
        "parent",
    )


def test_five_active_strategic_objectives_are_allowed(acme):
    objectives(acme, 5)
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic", state="active").count() == 5


def test_sixth_active_strategic_objective_is_refused(acme):
    objectives(acme, 5)
    messages = assert_create_refused(lambda: objective(acme, "Sixth"), "level")
    assert "5" in " ".join(messages["level"])


def test_cancelled_strategic_objective_does_not_count_toward_the_five(acme):
    first, *_ = objectives(acme, 5)
    goal_update(actor=acme.leader, goal=first, state="cancelled")
    sixth = objective(acme, "Sixth")
    assert sixth.state == "active"
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic").count() == 6


def test_done_strategic_objective_does_not_count_toward_the_five(acme):
    first, *_ = objectives(acme, 5)
    goal_update(actor=acme.leader, goal=first, state="done")
    objective(acme, "Sixth")
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic", state="active").count() == 5


@pytest.mark.parametrize("state", ["cancelled", "done"])
def test_a_new_goal_starts_active(acme, state):
    assert_create_refused(lambda: objective(acme, "Parked idea", state=state), "state")


def test_a_sixth_objective_may_stand_beside_five_once_one_is_cancelled(acme):
    first, *_ = objectives(acme, 5)
    goal_update(actor=acme.leader, goal=first, state="cancelled")
    objective(acme, "Sixth")
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic").count() == 6


@pytest.mark.parametrize("state", ["cancelled", "done"])
def test_reactivating_a_sixth_strategic_objective_is_refused(acme, state):
    first, *_, last = objectives(acme, 5)
    goal_update(actor=acme.leader, goal=first, state="cancelled")
    sixth = objective(acme, "Sixth")
    goal_update(actor=acme.leader, goal=sixth, state=state)
    goal_update(actor=acme.leader, goal=first, state="active")
    goal_update(actor=acme.leader, goal=last, state="active")  # already active: no-op
    assert_update_refused(
        sixth, lambda: goal_update(actor=acme.leader, goal=sixth, state="active"), "state"
    )
    assert Goal.objects.get(pk=sixth.pk).state == state


def test_reactivating_a_cancelled_objective_is_allowed_below_five(acme):
    first, *_ = objectives(acme, 5)
    goal_update(actor=acme.leader, goal=first, state="cancelled")
    goal_update(actor=acme.leader, goal=first, state="active")
    assert Goal.objects.get(pk=first.pk).state == "active"


def test_changing_a_goal_level_to_strategic_counts_toward_the_five(acme, tree):
    objectives(acme, 4)  # plus tree.strategic: five
    assert_update_refused(
        tree.department,
        lambda: goal_update(
            actor=acme.leader, goal=tree.department, level="strategic", parent=None
        ),
        "level",
    )


def test_goal_may_become_strategic_while_there_are_fewer_than_five(acme, tree):
    objectives(acme, 3)
    goal_update(actor=acme.leader, goal=tree.department, level="strategic", parent=None)
    stored = Goal.objects.get(pk=tree.department.pk)
    assert (stored.level, stored.parent_id) == ("strategic", None)


def test_moving_an_objective_into_a_cycle_with_five_active_is_refused(acme):
    other = twin_cycle(acme)
    objectives(acme, 5, cycle=other)
    mover = objective(acme, "Mover")
    assert_update_refused(
        mover, lambda: goal_update(actor=acme.leader, goal=mover, cycle=other), "cycle"
    )


def test_objectives_of_another_cycle_do_not_count_toward_the_five(acme):
    objectives(acme, 5, cycle=twin_cycle(acme))
    objectives(acme, 5)
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic").count() == 5


def test_objectives_of_another_organization_do_not_count_toward_the_five(acme, outsider):
    for i in range(5):
        GoalFactory(cycle=outsider.cycle, title=f"Globex objective {i}")
    objectives(acme, 5)
    assert_create_refused(lambda: objective(acme, "Sixth"), "level")


def test_goal_of_an_unknown_level_is_refused(acme):
    assert_create_refused(
        lambda: goal_create(actor=acme.leader, cycle=acme.cycle, level="vision", title="Vision"),
        "level",
    )


def test_goal_state_other_than_active_done_cancelled_is_refused(acme, tree):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, state="archived"),
        "state",
    )


# --- rule 2: a parent of a strictly higher level, same cycle and organization -------


@pytest.mark.parametrize(
    ("level", "fields"),
    [
        ("department", {"department": "support"}),
        ("team", {"department": "tier2"}),
        ("individual", {"owner": "member"}),
    ],
)
def test_non_strategic_goal_without_parent_is_refused(acme, level, fields):
    fields = {key: getattr(acme, value) for key, value in fields.items()}
    assert_create_refused(
        lambda: goal_create(
            actor=acme.leader, cycle=acme.cycle, level=level, title="Orphan", **fields
        ),
        "parent",
    )


def test_goal_under_a_parent_of_its_own_level_is_refused(acme, tree):
    assert_create_refused(lambda: department_goal(acme, tree.department), "parent")


def test_goal_under_a_parent_of_a_lower_level_is_refused(acme, tree):
    assert_create_refused(lambda: department_goal(acme, tree.individual), "parent")


def test_team_goal_may_sit_directly_under_a_strategic_goal(acme, tree):
    team = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="team",
        title="Tier 2 SLA",
        parent=tree.strategic,
        department=acme.tier2,
    )
    assert team.parent_id == tree.strategic.pk


def test_team_goal_may_name_any_department(acme, tree):
    team = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="team",
        title="Campaign",
        parent=tree.department,
        department=acme.marketing,
    )
    assert team.department_id == acme.marketing.pk


def test_goal_under_a_parent_of_another_cycle_is_refused(acme, tree):
    other = twin_cycle(acme)
    assert_create_refused(
        lambda: goal_create(
            actor=acme.leader,
            cycle=other,
            level="department",
            title="Cross-cycle",
            parent=tree.strategic,
            department=acme.support,
        ),
        "parent",
    )


def test_goal_under_a_parent_of_another_organization_is_refused(acme, outsider):
    foreign = GoalFactory(cycle=outsider.cycle, title="Globex objective")
    assert_create_refused(
        lambda: goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="department",
            title="Cross-org",
            parent=foreign,
            department=acme.support,
        ),
        "parent",
    )


def test_moving_a_goal_under_a_goal_of_its_own_level_is_refused(acme, tree):
    sibling = department_goal(acme, tree.strategic)
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, parent=sibling),
        "parent",
    )


def test_moving_a_goal_under_its_own_child_is_refused(acme, tree):
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, parent=tree.individual),
        "parent",
    )


def test_moving_a_goal_under_a_parent_of_another_cycle_is_refused(acme, tree):
    elsewhere = objective(acme, "Elsewhere", cycle=twin_cycle(acme))
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, parent=elsewhere),
        "parent",
    )


def test_moving_a_goal_to_another_cycle_away_from_its_parent_is_refused(acme, tree):
    other = twin_cycle(acme)
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, cycle=other),
        "parent",
    )


def test_goal_with_children_cannot_change_cycle(acme, tree):
    other = twin_cycle(acme)
    assert_update_refused(
        tree.strategic,
        lambda: goal_update(actor=acme.leader, goal=tree.strategic, cycle=other),
        "cycle",
    )


def test_goal_without_children_may_change_cycle(acme):
    other = twin_cycle(acme)
    lone = objective(acme, "Lone objective")
    kpi_create(actor=acme.leader, goal=lone, **kpi_fields())
    goal_update(actor=acme.leader, goal=lone, cycle=other)
    assert Goal.objects.get(pk=lone.pk).cycle_id == other.pk


def test_goal_whose_kpis_fall_outside_the_new_cycle_cannot_change_cycle(acme):
    next_year = CycleFactory(
        organization=acme.org, name="2028", start=D(2028, 1, 1), end=D(2028, 12, 31)
    )
    lone = objective(acme, "Lone objective")
    kpi_create(actor=acme.leader, goal=lone, **kpi_fields())
    assert_update_refused(
        lone, lambda: goal_update(actor=acme.leader, goal=lone, cycle=next_year), "cycle"
    )


def test_department_goal_with_a_team_child_cannot_become_team(acme, tree):
    goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="team",
        title="Tier 2 SLA",
        parent=tree.department,
        department=acme.tier2,
    )
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, level="team"),
        "level",
    )


def test_department_goal_with_an_individual_child_may_become_team(acme, tree):
    goal_update(actor=acme.leader, goal=tree.department, level="team")
    assert Goal.objects.get(pk=tree.department.pk).level == "team"


def test_goal_with_an_individual_child_cannot_become_individual(acme, tree):
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, level="individual"),
        "level",
    )


def test_individual_goal_cannot_become_department_under_a_department_goal(acme, tree):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(
            actor=acme.leader, goal=tree.individual, level="department", department=acme.support
        ),
        "parent",
    )


def test_strategic_objective_cannot_become_department_without_a_parent(acme, tree):
    assert_update_refused(
        tree.strategic,
        lambda: goal_update(
            actor=acme.leader, goal=tree.strategic, level="department", department=acme.support
        ),
        "parent",
    )


# --- rule 3: department for department and team goals, owner for individual ---------


@pytest.mark.parametrize("level", ["department", "team"])
def test_department_or_team_goal_without_department_is_refused(acme, tree, level):
    assert_create_refused(
        lambda: goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level=level,
            title="Nobody's",
            parent=tree.strategic,
            owner=acme.manager,
        ),
        "department",
    )


def test_individual_goal_without_owner_is_refused(acme, tree):
    assert_create_refused(
        lambda: goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="individual",
            title="Nobody's",
            parent=tree.department,
            department=acme.support,
        ),
        "owner",
    )


def test_removing_the_department_of_a_department_goal_is_refused(acme, tree):
    assert_update_refused(
        tree.department,
        lambda: goal_update(actor=acme.leader, goal=tree.department, department=None),
        "department",
    )


def test_removing_the_owner_of_an_individual_goal_is_refused(acme, tree):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, owner=None),
        "owner",
    )


def test_individual_goal_becoming_team_must_name_a_department(acme, tree):
    assert_update_refused(
        tree.individual,
        lambda: goal_update(actor=acme.leader, goal=tree.individual, level="team"),
        "department",
    )


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
