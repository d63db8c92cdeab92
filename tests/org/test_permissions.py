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
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from cycles.models import Cycle
from cycles.services import cycle_create, cycle_update
from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_create, kpi_edit, kpi_record_value
from org.models import Department, Member, Organization
from org.services import department_create, department_update, member_create, member_update
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

ROLES = ("admin", "leader", "manager", "reviewer", "member")
LEADERSHIP = frozenset({"admin", "leader"})


# ---------------------------------------------------------------- helpers


def actor(acme, role: str) -> Member:
    """The acme fixture's person of this role (the manager is `max`, the member `sam`)."""
    return getattr(acme, role)


def fresh(obj):
    """A new instance of the same row, so a service can't leave traces on the fixture's."""
    return type(obj).objects.get(pk=obj.pk)


def database() -> dict[str, list[dict]]:
    """Every row a service of this file can write, field by field."""
    models = (get_user_model(), Organization, Department, Member, Cycle, Goal, Kpi, KpiUpdate)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


@contextmanager
def refused():
    """The block raises PermissionDenied and changes nothing at all."""
    before = database()
    with pytest.raises(PermissionDenied) as info:
        yield info
    assert database() == before, "a refused write changed the database"


@contextmanager
def rejected(field: str):
    """The block raises a ValidationError on exactly `field` and changes nothing."""
    before = database()
    with pytest.raises(ValidationError) as info:
        yield info
    assert set(info.value.message_dict) == {field}, info.value.message_dict
    assert database() == before, "a rejected write changed the database"


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


def _create_member(me, acme):
    member_create(
        actor=me,
        username="nia",
        email="nia@example.com",
        role="member",
        department=acme.support,
        manager=acme.manager,
    )


def _change_role(me, acme):
    member_update(actor=me, member=fresh(acme.member), role="manager")


def _deactivate(me, acme):
    member_update(actor=me, member=fresh(acme.tier2_member), is_active=False)


def _create_department(me, acme):
    department_create(actor=me, name="Support Tier 3", parent=acme.tier2)


def _update_department(me, acme):
    department_update(
        actor=me, department=fresh(acme.marketing), name="Growth", parent=acme.support
    )


def _create_cycle(me, acme):
    cycle_create(actor=me, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31))


def _update_cycle(me, acme):
    cycle_update(actor=me, cycle=fresh(acme.cycle), name="FY 2027", cadence="monthly")


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


def _add_kpi(me, goal):
    return kpi_create(
        actor=me, goal=goal, name="Net promoter score", unit="points", baseline=20, target=40
    )


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


# ---------------------------------------------------------------- the other manager


@pytest.mark.parametrize(
    ("place", "allowed"),
    [
        ("marketing_department", True),
        ("lee_individual", True),
        ("support_department", False),
        ("tier2_team", False),
        ("sam_individual", False),
        ("tia_individual", False),
        ("strategic", False),
    ],
)
def test_marketing_managers_scope_is_marketing_only(acme, places, place, allowed):
    goal, kpi = fresh(places.goals[place]), fresh(places.kpis[place])
    mia = acme.marketing_manager
    if allowed:
        goal_update(actor=mia, goal=goal, title="Mia's edit")
        kpi_record_value(actor=mia, kpi=kpi, value=5)
        assert fresh(goal).title == "Mia's edit"
    else:
        with refused():
            goal_update(actor=mia, goal=goal, title="Mia's edit")
        with refused():
            kpi_record_value(actor=mia, kpi=kpi, value=5)


def test_manager_without_a_department_has_an_empty_scope(acme, places):
    member_update(actor=acme.admin, member=fresh(acme.manager), department=None)
    max_ = fresh(acme.manager)
    with refused():
        goal_update(actor=max_, goal=fresh(places.department), title="No longer his")
    with refused():
        goal_create(
            actor=max_,
            cycle=acme.cycle,
            level="team",
            title="Orphan team goal",
            parent=places.department,
            department=acme.tier2,
        )


def test_manager_scope_follows_a_department_moved_below_theirs(acme, places):
    department_update(actor=acme.admin, department=fresh(acme.marketing), parent=acme.tier2)
    goal_update(actor=fresh(acme.manager), goal=fresh(places.marketing), title="Now his")
    assert fresh(places.marketing).title == "Now his"


# ---------------------------------------------------------------- moves: from where, to where


def test_manager_may_move_a_goal_within_their_scope(acme, places):
    goal = fresh(places.tier2)
    goal_update(actor=acme.manager, goal=goal, department=acme.support)
    assert fresh(goal).department == acme.support


def test_manager_cannot_move_a_goal_out_of_their_scope(acme, places):
    goal = fresh(places.tier2)
    with refused():
        goal_update(actor=acme.manager, goal=goal, department=acme.marketing)
    assert goal.department == acme.tier2  # the in-memory object is put back too
    assert fresh(goal).department == acme.tier2


def test_manager_cannot_pull_a_goal_into_their_scope(acme, places):
    goal = fresh(places.marketing)
    with refused():
        goal_update(actor=acme.manager, goal=goal, department=acme.support)
    assert fresh(goal).department == acme.marketing


def test_manager_cannot_promote_a_goal_to_strategic(acme, places):
    goal = fresh(places.department)
    with refused():
        goal_update(actor=acme.manager, goal=goal, level="strategic", parent=None)
    assert (fresh(goal).level, fresh(goal).parent_id) == ("department", places.strategic.pk)


def test_manager_may_reassign_an_individual_goal_within_their_scope(acme, places):
    goal = fresh(places.tia)
    goal_update(actor=acme.manager, goal=goal, owner=acme.member, parent=places.department)
    assert fresh(goal).owner == acme.member


def test_manager_cannot_reassign_an_individual_goal_outside_their_scope(acme, places):
    goal = fresh(places.tia)
    with refused():
        goal_update(actor=acme.manager, goal=goal, owner=acme.marketing_member)
    assert fresh(goal).owner == acme.tier2_member


def test_member_cannot_give_their_goal_to_someone_else(acme, places):
    goal = fresh(places.individual)
    with refused():
        goal_update(actor=acme.member, goal=goal, owner=acme.tier2_member)
    assert goal.owner == acme.member
    assert fresh(goal).owner == acme.member


def test_member_cannot_turn_their_goal_into_a_department_goal(acme, places):
    goal = fresh(places.individual)
    with refused():
        goal_update(
            actor=acme.member,
            goal=goal,
            level="department",
            department=acme.support,
            parent=places.strategic,
        )
    assert fresh(goal).level == "individual"


def test_manager_may_move_a_kpi_between_goals_in_their_scope(acme, places):
    kpi = fresh(places.department_kpi)
    kpi_edit(actor=acme.manager, kpi=kpi, goal=places.tier2)
    assert fresh(kpi).goal == places.tier2


def test_manager_cannot_move_a_kpi_to_a_goal_outside_their_scope(acme, places):
    kpi = fresh(places.department_kpi)
    with refused():
        kpi_edit(actor=acme.manager, kpi=kpi, goal=places.marketing)
    assert fresh(kpi).goal == places.department


def test_member_cannot_move_their_kpi_to_a_colleagues_goal(acme, places):
    kpi = fresh(places.individual_kpi)
    with refused():
        kpi_edit(actor=acme.member, kpi=kpi, goal=places.tia)
    assert fresh(kpi).goal == places.individual


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


# ---------------------------------------------------------------- permission before validation


# Forbidden and invalid at once: (role, the write).
FORBIDDEN_AND_INVALID = {
    "member_creates_a_strategic_goal_without_a_title": (
        "member",
        lambda me, a, p: goal_create(actor=me, cycle=a.cycle, level="strategic", title=""),
    ),
    "manager_creates_a_marketing_goal_without_title_or_parent": (
        "manager",
        lambda me, a, p: goal_create(
            actor=me, cycle=a.cycle, level="department", title=" ", department=a.marketing, weight=0
        ),
    ),
    "manager_retitles_a_marketing_goal_to_nothing": (
        "manager",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.marketing), title="", weight=-1),
    ),
    "reviewer_sets_an_unknown_state": (
        "reviewer",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.individual), state="paused"),
    ),
    "member_adds_a_nameless_kpi_to_a_department_goal": (
        "member",
        lambda me, a, p: kpi_create(
            actor=me, goal=fresh(p.department), name="", unit="", baseline=5, target=5
        ),
    ),
    "member_points_a_colleagues_kpi_the_wrong_way": (
        "member",
        lambda me, a, p: kpi_edit(actor=me, kpi=fresh(p.kpis["tia_individual"]), target=-10),
    ),
    "reviewer_records_a_non_number": (
        "reviewer",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.individual_kpi), value="lots"),
    ),
    "member_records_a_future_value_on_a_colleagues_kpi": (
        "member",
        lambda me, a, p: kpi_record_value(
            actor=me, kpi=fresh(p.kpis["tia_individual"]), value=1, date=dt.date(2999, 1, 1)
        ),
    ),
    "leader_creates_a_nameless_department": (
        "leader",
        lambda me, a, p: department_create(actor=me, name=""),
    ),
    "manager_creates_a_member_with_a_taken_username": (
        "manager",
        lambda me, a, p: member_create(actor=me, username="sam", role="emperor"),
    ),
    "leader_makes_a_member_their_own_manager": (
        "leader",
        lambda me, a, p: member_update(actor=me, member=fresh(a.member), manager=a.member),
    ),
    "manager_creates_a_cycle_ending_before_it_starts": (
        "manager",
        lambda me, a, p: cycle_create(
            actor=me, name="", start=dt.date(2028, 12, 31), end=dt.date(2028, 1, 1)
        ),
    ),
    "member_renames_a_cycle_to_nothing": (
        "member",
        lambda me, a, p: cycle_update(actor=me, cycle=fresh(a.cycle), name="", cadence="daily"),
    ),
}


@pytest.mark.parametrize("write", FORBIDDEN_AND_INVALID)
def test_forbidden_and_invalid_write_is_refused_not_rejected(acme, places, write):
    role, do = FORBIDDEN_AND_INVALID[write]
    with refused():
        do(actor(acme, role), acme, places)


def test_the_same_invalid_write_by_someone_allowed_is_a_validation_error(acme, places):
    with rejected("title"):
        goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="")
    with rejected("value"):
        kpi_record_value(actor=acme.member, kpi=fresh(places.individual_kpi), value="lots")


# ---------------------------------------------------------------- deactivated people


def _org_write(do):
    """Adapt an (me, acme) people/department/cycle write to (me, acme, places)."""
    return lambda me, a, p: do(me, a)


# What each role may do while active: (role, the write).
WHILE_ACTIVE = {
    "admin_creates_a_cycle": ("admin", _org_write(_create_cycle)),
    "admin_creates_a_department": ("admin", _org_write(_create_department)),
    "admin_creates_a_member": ("admin", _org_write(_create_member)),
    "admin_changes_a_role": ("admin", _org_write(_change_role)),
    "leader_creates_a_strategic_goal": (
        "leader",
        lambda me, a, p: goal_create(
            actor=me, cycle=a.cycle, level="strategic", title="Strengthen innovation culture"
        ),
    ),
    "leader_edits_a_strategic_kpi": (
        "leader",
        lambda me, a, p: kpi_edit(actor=me, kpi=fresh(p.strategic_kpi), name="CSAT"),
    ),
    "manager_retitles_a_support_goal": (
        "manager",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.department), title="Faster replies"),
    ),
    "manager_records_on_a_support_kpi": (
        "manager",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.department_kpi), value=9),
    ),
    "manager_creates_a_tier2_team_goal": (
        "manager",
        lambda me, a, p: goal_create(
            actor=me,
            cycle=a.cycle,
            level="team",
            title="Tier 2 SLA",
            parent=p.department,
            department=a.tier2,
        ),
    ),
    "member_records_on_their_kpi": (
        "member",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.individual_kpi), value=5),
    ),
    "member_retitles_their_goal": (
        "member",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.individual), title="Faster tickets"),
    ),
    "member_adds_a_kpi_to_their_goal": (
        "member",
        lambda me, a, p: _add_kpi(me, fresh(p.individual)),
    ),
}


@pytest.mark.parametrize("write", WHILE_ACTIVE)
def test_deactivated_person_is_refused_what_they_could_do_while_active(acme, places, write):
    role, do = WHILE_ACTIVE[write]
    other_admin = MemberFactory(organization=acme.org, role="admin", user__username="adele")
    me = fresh(actor(acme, role))
    member_update(actor=other_admin, member=fresh(me), is_active=False)
    me.refresh_from_db()
    assert not me.is_active
    with refused():
        do(me, acme, places)


@pytest.mark.parametrize("write", WHILE_ACTIVE)
def test_the_same_write_is_allowed_while_active(acme, places, write):
    """The control for the test above: only the deactivation makes the difference."""
    role, do = WHILE_ACTIVE[write]
    do(fresh(actor(acme, role)), acme, places)


def test_reactivated_member_may_record_again(acme, places):
    member_update(actor=acme.admin, member=fresh(acme.member), is_active=False)
    with refused():
        kpi_record_value(actor=fresh(acme.member), kpi=fresh(places.individual_kpi), value=5)
    member_update(actor=acme.admin, member=fresh(acme.member), is_active=True)
    kpi_record_value(actor=fresh(acme.member), kpi=fresh(places.individual_kpi), value=5)
    assert KpiUpdate.objects.filter(kpi=places.individual_kpi).count() == 1


# ---------------------------------------------------------------- weights (SPEC §8.1)


def aligned_goal(acme, parent: Goal, **fields) -> Goal:
    return goal_create(
        actor=acme.member,
        cycle=acme.cycle,
        level="individual",
        title="Bring support's view to the campaigns",
        parent=parent,
        owner=acme.member,
        **fields,
    )


def test_a_member_aligns_his_goal_under_any_goal_and_it_weighs_1(acme, places):
    goal = aligned_goal(acme, places.marketing)  # Marketing: not sam's to edit
    assert (goal.parent_id, goal.weight) == (places.marketing.pk, 1.0)


@pytest.mark.parametrize("weight", [3, 0.5, 1e308, "heavy"])
def test_asking_a_weight_under_a_goal_one_may_not_edit_is_refused(acme, places, weight):
    """Even an invalid weight: permission comes before validation."""
    with refused() as info:
        aligned_goal(acme, places.marketing, weight=weight)
    assert "weighs" in str(info.value)


def test_a_weight_of_1_asked_for_explicitly_is_no_weighing(acme, places):
    assert aligned_goal(acme, places.marketing, weight=1).weight == 1.0


def test_the_manager_of_the_goal_above_weighs_a_members_goal(acme, places):
    goal_update(actor=acme.manager, goal=fresh(places.individual), weight=3)  # under Support
    assert fresh(places.individual).weight == 3


@pytest.mark.parametrize("who", ["manager", "member"])
def test_only_who_may_edit_the_objective_reweighs_a_department_goal(acme, places, who):
    mine = places.department if who == "manager" else places.sam_department
    with refused():
        goal_update(actor=getattr(acme, who), goal=fresh(mine), weight=3)
    goal_update(actor=acme.leader, goal=fresh(mine), weight=3)
    assert fresh(mine).weight == 3


def test_moving_a_weighed_goal_under_a_goal_one_may_not_edit_is_refused(acme, places):
    goal_update(actor=acme.manager, goal=fresh(places.individual), weight=2)
    with refused():
        goal_update(actor=acme.member, goal=fresh(places.individual), parent=places.marketing)
    assert fresh(places.individual).parent_id == places.department.pk
