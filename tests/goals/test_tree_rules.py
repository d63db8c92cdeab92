"""SPEC §1 tree rules, enforced by the services: every violation is a ValidationError
with a message on the offending field, and nothing is saved.

Rule 4 (KPI fields, weights, dates) and SPEC §8.1's bounds and one-line text:
test_field_rules.py."""

from __future__ import annotations

import pytest

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.services import kpi_create

from ..checks import assert_create_refused, assert_update_refused
from ..factories import CycleFactory, GoalFactory
from .helpers import D, department_goal, kpi_fields, objective

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------------


def objectives(acme, n: int, cycle=None) -> list[Goal]:
    return [objective(acme, f"Objective {i}", cycle=cycle) for i in range(n)]


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
