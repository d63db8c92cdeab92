"""SPEC §3, row by row and role by role, through the real services.

| action                           | admin | leader | manager  | reviewer | member           |
|----------------------------------|-------|--------|----------|----------|------------------|
| people, departments, cycles      | ✓     |        |          |          |                  |
| strategic goals and their KPIs   | ✓     | ✓      |          |          |                  |
| department / team goals and KPIs | ✓     | ✓      | subtree  |          |                  |
| individual goals and KPIs        | ✓     | ✓      | subtree  |          | own              |
| record a KPI update              | ✓     | ✓      | subtree  |          | KPI or goal owns |

"subtree": the manager's own department and every one below it (for an individual
goal, its owner's department counts).

The actor of each role is the `acme` fixture's: `ada` admin, `lena` leader, `max`
manager of Customer Support (scope: Customer Support and Support Tier 2, not
Marketing), `rey` reviewer, `sam` member in Customer Support. Other people:
`tia` member in Support Tier 2, `lee` member in Marketing, `mia` manager of Marketing.

Every refusal is a PermissionDenied and leaves every row of the database as it was.

Where a manager's scope ends, moves and weights: test_scopes.py. Other organizations:
test_tenancy.py. Forbidden and invalid at once, and deactivated people: test_refusals.py.
"""

from __future__ import annotations

import pytest

from cycles.models import Cycle
from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_edit, kpi_record_value
from org.models import Department, Member
from org.services import member_update

from .helpers import (
    _add_kpi,
    _change_role,
    _create_cycle,
    _create_department,
    _create_member,
    _deactivate,
    _update_cycle,
    _update_department,
    actor,
    fresh,
    refused,
)

pytestmark = pytest.mark.django_db

ROLES = ("admin", "leader", "manager", "reviewer", "member")
LEADERSHIP = frozenset({"admin", "leader"})


# ---------------------------------------------------------------- helpers


def split(matrix: dict[str, frozenset[str]], verb: str) -> tuple[list, list]:
    """(allowed, refused) `(role, place)` parameters of a {place: roles allowed} table,
    with ids that read as facts: `manager_can_retitle_tier2_team`."""
    allowed, refused_ = [], []
    for place, roles in matrix.items():
        for role in ROLES:
            if role in roles:
                allowed.append(pytest.param(role, place, id=f"{role}_can_{verb}_{place}"))
            else:
                refused_.append(pytest.param(role, place, id=f"{role}_cannot_{verb}_{place}"))
    return allowed, refused_


# Who may edit a goal, and create, edit or move its KPIs, by where it sits.
EDIT = {
    "strategic": LEADERSHIP,
    "support_department": LEADERSHIP | {"manager"},
    "tier2_team": LEADERSHIP | {"manager"},
    "marketing_department": LEADERSHIP,
    "sam_individual": LEADERSHIP | {"manager", "member"},
    "tia_individual": LEADERSHIP | {"manager"},
    "lee_individual": LEADERSHIP,
}

# Who may record a value on a KPI: the goal's editors, plus a member on the KPIs
# they own or whose goal they own, wherever it sits; a reviewer never.
RECORD = {
    "strategic": LEADERSHIP,
    "support_department": LEADERSHIP | {"manager"},
    "tier2_team": LEADERSHIP | {"manager"},
    "marketing_department": LEADERSHIP,
    "sam_individual": LEADERSHIP | {"manager", "member"},
    "tia_individual": LEADERSHIP | {"manager"},
    "lee_individual": LEADERSHIP,
    "support_department_kpi_owned_by_sam": LEADERSHIP | {"manager", "member"},
    "marketing_department_kpi_owned_by_sam": LEADERSHIP | {"member"},
    "sam_department": LEADERSHIP | {"manager", "member"},
    "sam_individual_kpi_owned_by_tia": LEADERSHIP | {"manager", "member"},
}


# Where a new goal goes: goal_create's arguments, and who may put it there.
def _create_args(place: str, acme, p, me: Member) -> dict:
    return {
        "strategic": {"level": "strategic"},
        "support_department": {
            "level": "department",
            "parent": p.strategic,
            "department": acme.support,
        },
        "tier2_department": {
            "level": "department",
            "parent": p.strategic,
            "department": acme.tier2,
        },
        "operations_department": {
            "level": "department",
            "parent": p.strategic,
            "department": acme.ops,
        },
        "marketing_department": {
            "level": "department",
            "parent": p.strategic,
            "department": acme.marketing,
        },
        "tier2_team": {"level": "team", "parent": p.department, "department": acme.tier2},
        "marketing_team": {"level": "team", "parent": p.marketing, "department": acme.marketing},
        "sam_individual": {"level": "individual", "parent": p.department, "owner": acme.member},
        "tia_individual": {"level": "individual", "parent": p.tier2, "owner": acme.tier2_member},
        "lee_individual": {
            "level": "individual",
            "parent": p.marketing,
            "owner": acme.marketing_member,
        },
        "own_individual": {"level": "individual", "parent": p.department, "owner": me},
    }[place]


CREATE = {
    "strategic": LEADERSHIP,
    "support_department": LEADERSHIP | {"manager"},
    "tier2_department": LEADERSHIP | {"manager"},
    "operations_department": LEADERSHIP,  # above max's own department
    "marketing_department": LEADERSHIP,
    "tier2_team": LEADERSHIP | {"manager"},
    "marketing_team": LEADERSHIP,
    "sam_individual": LEADERSHIP | {"manager", "member"},
    "tia_individual": LEADERSHIP | {"manager"},
    "lee_individual": LEADERSHIP,
    "own_individual": LEADERSHIP | {"manager", "member"},  # never the reviewer, even their own
}


# ---------------------------------------------------------------- people, departments, cycles


# action: (do it as `me`, has it been done?)
ORG_ACTIONS = {
    "create_a_member": (
        _create_member,
        lambda acme: Member.objects.filter(organization=acme.org, user__username="nia").exists(),
    ),
    "change_a_members_role": (_change_role, lambda acme: fresh(acme.member).role == "manager"),
    "deactivate_a_member": (_deactivate, lambda acme: not fresh(acme.tier2_member).is_active),
    "create_a_department": (
        _create_department,
        lambda acme: Department.objects.filter(
            organization=acme.org, name="Support Tier 3", parent=acme.tier2
        ).exists(),
    ),
    "update_a_department": (
        _update_department,
        lambda acme: (
            (fresh(acme.marketing).name, fresh(acme.marketing).parent_id)
            == ("Growth", acme.support.pk)
        ),
    ),
    "create_a_cycle": (
        _create_cycle,
        lambda acme: Cycle.objects.filter(organization=acme.org, name="2028").exists(),
    ),
    "update_a_cycle": (
        _update_cycle,
        lambda acme: (fresh(acme.cycle).name, fresh(acme.cycle).cadence) == ("FY 2027", "monthly"),
    ),
}


@pytest.mark.parametrize("action", ORG_ACTIONS)
def test_admin_manages_people_departments_and_cycles(acme, action):
    do, done = ORG_ACTIONS[action]
    do(acme.admin, acme)
    assert done(acme)


CYCLE_ACTIONS = ("create_a_cycle", "update_a_cycle")


@pytest.mark.parametrize("action", CYCLE_ACTIONS)
def test_a_leader_manages_cycles_too(acme, action):
    """SPEC §8.3: cycles are managed by admins and leaders."""
    do, done = ORG_ACTIONS[action]
    do(acme.leader, acme)
    assert done(acme)


@pytest.mark.parametrize(
    ("role", "action"),
    [
        (role, action)
        for action in ORG_ACTIONS
        for role in ROLES
        if role != "admin" and not (role == "leader" and action in CYCLE_ACTIONS)
    ],
)
def test_nobody_but_an_admin_manages_people_departments_and_cycles(acme, role, action):
    """People and departments: admins only; cycles: admins and leaders."""
    do, done = ORG_ACTIONS[action]
    with refused():
        do(actor(acme, role), acme)
    assert not done(acme)


def test_leader_cannot_promote_themselves_to_admin(acme):
    with refused():
        member_update(actor=acme.leader, member=fresh(acme.leader), role="admin")
    assert fresh(acme.leader).role == "leader"


# ---------------------------------------------------------------- creating goals

CREATE_ALLOWED, CREATE_REFUSED = split(CREATE, "create")


@pytest.mark.parametrize(("role", "place"), CREATE_ALLOWED)
def test_goal_may_be_created_where_the_role_may_write(acme, places, role, place):
    me = actor(acme, role)
    args = _create_args(place, acme, places, me)
    goal = goal_create(actor=me, cycle=acme.cycle, title="A new goal", **args)
    stored = fresh(goal)
    assert (stored.level, stored.title, stored.department, stored.owner) == (
        args["level"],
        "A new goal",
        args.get("department"),
        args.get("owner"),
    )


@pytest.mark.parametrize(("role", "place"), CREATE_REFUSED)
def test_goal_is_refused_where_the_role_may_not_write(acme, places, role, place):
    me = actor(acme, role)
    with refused():
        goal_create(
            actor=me, cycle=acme.cycle, title="A new goal", **_create_args(place, acme, places, me)
        )
    assert not Goal.objects.filter(title="A new goal").exists()


# ---------------------------------------------------------------- editing goals

EDIT_ALLOWED, EDIT_REFUSED = split(EDIT, "retitle")


@pytest.mark.parametrize(("role", "place"), EDIT_ALLOWED)
def test_goal_may_be_retitled_by_its_editors(acme, places, role, place):
    goal = fresh(places.goals[place])
    goal_update(actor=actor(acme, role), goal=goal, title="Sharper title")
    assert fresh(goal).title == "Sharper title"


@pytest.mark.parametrize(("role", "place"), EDIT_REFUSED)
def test_goal_cannot_be_retitled_by_anyone_else(acme, places, role, place):
    goal = fresh(places.goals[place])
    title = goal.title
    with refused():
        goal_update(actor=actor(acme, role), goal=goal, title="Sharper title")
    assert fresh(goal).title == title


STATE_ALLOWED, STATE_REFUSED = split(EDIT, "close")


@pytest.mark.parametrize("state", ["done", "cancelled"])
@pytest.mark.parametrize(("role", "place"), STATE_ALLOWED)
def test_goal_may_be_marked_done_or_cancelled_and_reactivated_by_its_editors(
    acme, places, role, place, state
):
    goal = fresh(places.goals[place])
    goal_update(actor=actor(acme, role), goal=goal, state=state)
    assert fresh(goal).state == state
    goal_update(actor=actor(acme, role), goal=goal, state="active")
    assert fresh(goal).state == "active"


@pytest.mark.parametrize("state", ["done", "cancelled"])
@pytest.mark.parametrize(("role", "place"), STATE_REFUSED)
def test_goal_state_cannot_be_changed_by_anyone_else(acme, places, role, place, state):
    goal = fresh(places.goals[place])
    with refused():
        goal_update(actor=actor(acme, role), goal=goal, state=state)
    assert fresh(goal).state == "active"


# ---------------------------------------------------------------- KPIs

ADD_KPI_ALLOWED, ADD_KPI_REFUSED = split(EDIT, "add_a_kpi_to")


@pytest.mark.parametrize(("role", "place"), ADD_KPI_ALLOWED)
def test_kpi_may_be_added_to_a_goal_by_its_editors(acme, places, role, place):
    me = actor(acme, role)
    kpi = _add_kpi(me, fresh(places.goals[place]))
    assert (kpi.goal_id, kpi.owner_id) == (places.goals[place].pk, me.pk)  # owner: the caller


@pytest.mark.parametrize(("role", "place"), ADD_KPI_REFUSED)
def test_kpi_cannot_be_added_to_a_goal_by_anyone_else(acme, places, role, place):
    with refused():
        _add_kpi(actor(acme, role), fresh(places.goals[place]))
    assert not Kpi.objects.filter(name="Net promoter score").exists()


EDIT_KPI_ALLOWED, EDIT_KPI_REFUSED = split(EDIT, "edit_the_kpi_of")


@pytest.mark.parametrize(("role", "place"), EDIT_KPI_ALLOWED)
def test_kpi_may_be_edited_by_its_goals_editors(acme, places, role, place):
    kpi = fresh(places.kpis[place])
    kpi_edit(actor=actor(acme, role), kpi=kpi, name="Renamed KPI", weight=3)
    assert (fresh(kpi).name, fresh(kpi).weight) == ("Renamed KPI", 3)


@pytest.mark.parametrize(("role", "place"), EDIT_KPI_REFUSED)
def test_kpi_cannot_be_edited_by_anyone_else(acme, places, role, place):
    kpi = fresh(places.kpis[place])
    name = kpi.name
    with refused():
        kpi_edit(actor=actor(acme, role), kpi=kpi, name="Renamed KPI")
    assert fresh(kpi).name == name


def test_member_cannot_update_someone_elses_kpi(acme, places):
    kpi = fresh(places.kpis["tia_individual"])
    with refused():
        kpi_edit(actor=acme.member, kpi=kpi, name="Sam's now", target=10)
    assert (fresh(kpi).name, fresh(kpi).target) == ("Escalations closed", 100)


def test_member_cannot_edit_a_kpi_they_own_on_a_department_goal(acme, places):
    """Owning a KPI lets a member record values on it, not edit it (department row)."""
    kpi = fresh(places.kpis["support_department_kpi_owned_by_sam"])
    with refused():
        kpi_edit(actor=acme.member, kpi=kpi, name="Tickets triaged per hour")


def test_member_cannot_edit_a_department_goal_they_own(acme, places):
    goal = fresh(places.sam_department)
    with refused():
        goal_update(actor=acme.member, goal=goal, title="Publish a bigger help centre")
    assert fresh(goal).title == "Publish a help centre"


# ---------------------------------------------------------------- recording KPI values

RECORD_ALLOWED, RECORD_REFUSED = split(RECORD, "record_on")


@pytest.mark.parametrize(("role", "place"), RECORD_ALLOWED)
def test_value_may_be_recorded_as_the_table_allows(acme, places, role, place):
    kpi = fresh(places.kpis[place])
    me = actor(acme, role)
    update = kpi_record_value(actor=me, kpi=kpi, value=42, note="Weekly figure")
    assert (update.kpi_id, update.author_id, update.value) == (kpi.pk, me.pk, 42)
    assert fresh(kpi).current == 42


@pytest.mark.parametrize(("role", "place"), RECORD_REFUSED)
def test_value_cannot_be_recorded_otherwise(acme, places, role, place):
    kpi = fresh(places.kpis[place])
    count = KpiUpdate.objects.count()
    with refused():
        kpi_record_value(actor=actor(acme, role), kpi=kpi, value=42)
    assert KpiUpdate.objects.count() == count
    assert fresh(kpi).current is None


@pytest.mark.parametrize("place", list(RECORD))
def test_reviewer_never_records_a_kpi_update(acme, places, place):
    kpi = fresh(places.kpis[place])
    with refused():
        kpi_record_value(actor=acme.reviewer, kpi=kpi, value=1, confidence="high")
    assert not KpiUpdate.objects.filter(kpi=kpi).exists()


def test_member_cannot_record_on_a_colleagues_kpi_and_nothing_is_appended(acme, places):
    kpi = fresh(places.kpis["tia_individual"])
    kpi_record_value(actor=acme.tier2_member, kpi=kpi, value=10)
    with refused():
        kpi_record_value(actor=acme.member, kpi=kpi, value=99)
    assert list(KpiUpdate.objects.filter(kpi=kpi).values_list("value", "author")) == [
        (10, acme.tier2_member.pk)
    ]
    assert fresh(kpi).current == 10
