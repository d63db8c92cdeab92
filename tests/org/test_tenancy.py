"""Other organizations, through the real services: Globex's admin (the `outsider`
fixture, with a goal and a KPI of its own) is refused every Acme object — a
PermissionDenied on the object itself, a ValidationError on the field naming it in a
write — and no Acme person, whatever their role, may name or touch a Globex object.

Every refusal and every rejection leaves every row of the database as it was.
"""

from __future__ import annotations

import pytest

from cycles.services import cycle_update
from goals.services import goal_create, goal_update
from kpis.models import KpiUpdate
from kpis.services import kpi_create, kpi_edit, kpi_record_value
from org.services import department_create, department_update, member_create, member_update

from .helpers import actor, fresh, refused, rejected

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- other organizations


@pytest.fixture
def globex(outsider):
    """The outsider's own strategic goal with a KPI, made through the services."""
    outsider.goal = goal_create(
        actor=outsider, cycle=outsider.cycle, level="strategic", title="Globex domination"
    )
    outsider.kpi = kpi_create(
        actor=outsider, goal=outsider.goal, name="Market share", unit="%", baseline=10, target=20
    )
    return outsider


# (what the outsider tries on an Acme object, the field a ValidationError names or None
# for a PermissionDenied)
OUTSIDER_ON_ACME = {
    "update_an_acme_cycle": (
        lambda o, a, p: cycle_update(actor=o, cycle=fresh(a.cycle), name="Hijacked"),
        None,
    ),
    "update_an_acme_department": (
        lambda o, a, p: department_update(actor=o, department=fresh(a.support), name="Hijacked"),
        None,
    ),
    "update_an_acme_member": (
        lambda o, a, p: member_update(actor=o, member=fresh(a.member), role="admin"),
        None,
    ),
    "deactivate_an_acme_member": (
        lambda o, a, p: member_update(actor=o, member=fresh(a.admin), is_active=False),
        None,
    ),
    "retitle_an_acme_goal": (
        lambda o, a, p: goal_update(actor=o, goal=fresh(p.strategic), title="Hijacked"),
        None,
    ),
    "cancel_an_acme_goal": (
        lambda o, a, p: goal_update(actor=o, goal=fresh(p.individual), state="cancelled"),
        None,
    ),
    "edit_an_acme_kpi": (
        lambda o, a, p: kpi_edit(actor=o, kpi=fresh(p.individual_kpi), name="Hijacked"),
        None,
    ),
    "record_on_an_acme_kpi": (
        lambda o, a, p: kpi_record_value(actor=o, kpi=fresh(p.individual_kpi), value=1),
        None,
    ),
    "add_a_kpi_to_an_acme_goal": (
        lambda o, a, p: kpi_create(
            actor=o, goal=fresh(p.strategic), name="Hijacked", unit="%", baseline=0, target=1
        ),
        "goal",
    ),
    "create_a_goal_in_an_acme_cycle": (
        lambda o, a, p: goal_create(actor=o, cycle=a.cycle, level="strategic", title="Hijacked"),
        "cycle",
    ),
    "create_a_goal_under_an_acme_goal": (
        lambda o, a, p: goal_create(
            actor=o,
            cycle=o.cycle,
            level="department",
            title="Hijacked",
            parent=p.strategic,
            department=o.department,
        ),
        "parent",
    ),
    "create_a_goal_for_an_acme_department": (
        lambda o, a, p: goal_create(
            actor=o,
            cycle=o.cycle,
            level="department",
            title="Hijacked",
            parent=o.goal,
            department=a.support,
        ),
        "department",
    ),
    "create_a_goal_for_an_acme_member": (
        lambda o, a, p: goal_create(
            actor=o,
            cycle=o.cycle,
            level="individual",
            title="Hijacked",
            parent=o.goal,
            owner=a.member,
        ),
        "owner",
    ),
    "move_their_goal_under_an_acme_goal": (
        lambda o, a, p: goal_update(
            actor=o,
            goal=fresh(o.goal),
            level="department",
            parent=p.strategic,
            department=o.department,
        ),
        "parent",
    ),
    "move_their_kpi_to_an_acme_goal": (
        lambda o, a, p: kpi_edit(actor=o, kpi=fresh(o.kpi), goal=p.strategic),
        "goal",
    ),
    "give_their_kpi_to_an_acme_member": (
        lambda o, a, p: kpi_edit(actor=o, kpi=fresh(o.kpi), owner=a.member),
        "owner",
    ),
    "create_a_department_below_an_acme_one": (
        lambda o, a, p: department_create(actor=o, name="Hijacked", parent=a.support),
        "parent",
    ),
    "make_an_acme_member_head_of_their_department": (
        lambda o, a, p: department_update(actor=o, department=fresh(o.department), head=a.member),
        "head",
    ),
    "create_a_member_in_an_acme_department": (
        lambda o, a, p: member_create(actor=o, username="spy", department=a.support),
        "department",
    ),
    "create_a_member_managed_by_an_acme_member": (
        lambda o, a, p: member_create(actor=o, username="spy", manager=a.manager),
        "manager",
    ),
}


@pytest.mark.parametrize("action", OUTSIDER_ON_ACME)
def test_outsider_is_refused_on_every_acme_object(acme, places, globex, action):
    do, field = OUTSIDER_ON_ACME[action]
    with refused() if field is None else rejected(field):
        do(globex, acme, places)


# (what an Acme person tries with a Globex object, the field a ValidationError names)
ACME_WITH_GLOBEX = {
    "create_a_goal_in_the_globex_cycle": (
        lambda me, a, p, g: goal_create(
            actor=me,
            cycle=g.cycle,
            level="individual",
            title="Leak",
            parent=p.department,
            owner=a.member,
        ),
        "cycle",
    ),
    "create_a_goal_under_the_globex_goal": (
        lambda me, a, p, g: goal_create(
            actor=me, cycle=a.cycle, level="individual", title="Leak", parent=g.goal, owner=a.member
        ),
        "parent",
    ),
    "create_a_goal_for_the_globex_admin": (
        lambda me, a, p, g: goal_create(
            actor=me, cycle=a.cycle, level="individual", title="Leak", parent=p.department, owner=g
        ),
        "owner",
    ),
    "move_a_goal_into_the_globex_cycle": (
        lambda me, a, p, g: goal_update(actor=me, goal=fresh(p.individual), cycle=g.cycle),
        "cycle",
    ),
    "move_a_goal_under_the_globex_goal": (
        lambda me, a, p, g: goal_update(actor=me, goal=fresh(p.individual), parent=g.goal),
        "parent",
    ),
    "give_a_goal_to_the_globex_admin": (
        lambda me, a, p, g: goal_update(actor=me, goal=fresh(p.individual), owner=g),
        "owner",
    ),
    "add_a_kpi_owned_by_the_globex_admin": (
        lambda me, a, p, g: kpi_create(
            actor=me, goal=fresh(p.individual), name="Leak", unit="%", baseline=0, target=1, owner=g
        ),
        "owner",
    ),
    "add_a_kpi_to_the_globex_goal": (
        lambda me, a, p, g: kpi_create(
            actor=me, goal=g.goal, name="Leak", unit="%", baseline=0, target=1
        ),
        "goal",
    ),
    "move_a_kpi_to_the_globex_goal": (
        lambda me, a, p, g: kpi_edit(actor=me, kpi=fresh(p.individual_kpi), goal=g.goal),
        "goal",
    ),
    "give_a_kpi_to_the_globex_admin": (
        lambda me, a, p, g: kpi_edit(actor=me, kpi=fresh(p.individual_kpi), owner=g),
        "owner",
    ),
}


@pytest.mark.parametrize("action", ACME_WITH_GLOBEX)
@pytest.mark.parametrize("role", ["admin", "leader", "manager", "member"])
def test_acme_person_naming_a_globex_object_gets_a_validation_error_on_that_field(
    acme, places, globex, role, action
):
    """Each of them may write sam's individual goal; the Globex object is what fails."""
    do, field = ACME_WITH_GLOBEX[action]
    with rejected(field):
        do(actor(acme, role), acme, places, globex)


# The department goal: writable by the admin, the leader and max.
DEPARTMENT_GOAL_WITH_GLOBEX = {
    "create_a_goal_for_the_globex_department": (
        lambda me, a, p, g: goal_create(
            actor=me,
            cycle=a.cycle,
            level="department",
            title="Leak",
            parent=p.strategic,
            department=g.department,
        ),
        "department",
    ),
    "move_a_goal_to_the_globex_department": (
        lambda me, a, p, g: goal_update(
            actor=me, goal=fresh(p.department), department=g.department
        ),
        "department",
    ),
}


@pytest.mark.parametrize("action", DEPARTMENT_GOAL_WITH_GLOBEX)
@pytest.mark.parametrize("role", ["admin", "leader", "manager"])
def test_acme_person_naming_a_globex_department_gets_a_validation_error_on_it(
    acme, places, globex, role, action
):
    do, field = DEPARTMENT_GOAL_WITH_GLOBEX[action]
    with rejected(field):
        do(actor(acme, role), acme, places, globex)


ADMIN_WITH_GLOBEX = {
    "create_a_department_below_the_globex_one": (
        lambda me, a, g: department_create(actor=me, name="Leak", parent=g.department),
        "parent",
    ),
    "make_the_globex_admin_a_department_head": (
        lambda me, a, g: department_create(actor=me, name="Leak", head=g),
        "head",
    ),
    "move_a_department_below_the_globex_one": (
        lambda me, a, g: department_update(
            actor=me, department=fresh(a.tier2), parent=g.department
        ),
        "parent",
    ),
    "make_the_globex_admin_head_of_a_department": (
        lambda me, a, g: department_update(actor=me, department=fresh(a.tier2), head=g),
        "head",
    ),
    "create_a_member_in_the_globex_department": (
        lambda me, a, g: member_create(actor=me, username="leak", department=g.department),
        "department",
    ),
    "create_a_member_managed_by_the_globex_admin": (
        lambda me, a, g: member_create(actor=me, username="leak", manager=g),
        "manager",
    ),
    "move_a_member_to_the_globex_department": (
        lambda me, a, g: member_update(actor=me, member=fresh(a.member), department=g.department),
        "department",
    ),
    "give_a_member_the_globex_admin_as_manager": (
        lambda me, a, g: member_update(actor=me, member=fresh(a.member), manager=g),
        "manager",
    ),
    "update_the_globex_cycle": (
        lambda me, a, g: cycle_update(actor=me, cycle=fresh(g.cycle), name="Leak"),
        None,
    ),
    "rename_the_globex_department": (
        lambda me, a, g: department_update(actor=me, department=fresh(g.department), name="Leak"),
        None,
    ),
    "change_the_globex_admins_role": (
        lambda me, a, g: member_update(actor=me, member=fresh(g), role="member"),
        None,
    ),
}


@pytest.mark.parametrize("action", ADMIN_WITH_GLOBEX)
def test_acme_admin_cannot_touch_globex_people_departments_or_cycles(acme, globex, action):
    do, field = ADMIN_WITH_GLOBEX[action]
    with refused() if field is None else rejected(field):
        do(acme.admin, acme, globex)


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_acme_leadership_cannot_touch_globex_goals_or_kpis(acme, globex, role):
    me = actor(acme, role)
    with refused():
        goal_update(actor=me, goal=fresh(globex.goal), title="Leak")
    with refused():
        goal_update(actor=me, goal=fresh(globex.goal), state="cancelled")
    with refused():
        kpi_edit(actor=me, kpi=fresh(globex.kpi), name="Leak")
    with refused():
        kpi_record_value(actor=me, kpi=fresh(globex.kpi), value=15)
    assert not KpiUpdate.objects.filter(kpi=globex.kpi).exists()
