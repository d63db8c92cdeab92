"""Every page costs the same number of SQL queries in a small and a large goal tree.

Each test builds a tree of 3 strategic × 2 department × 2 individual goals, measures
one request, grows the same tree to 3 × 6 × 6 (and more people), and measures the
same request again: the counts must be equal, and under a fixed bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cycles.history import cycle_history
from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.rollup import cycle_rollup
from org.models import Member

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory

SMALL = (3, 2, 2)  # strategic objectives, department goals under each, individual goals under each
LARGE = (3, 6, 6)
HTMX = {"HX-Request": "true"}


@dataclass
class GrowingTree:
    """A goal tree in a cycle containing today, which `grow` tops up to a given size.

    Department goals rotate over Support, Tier 2 and Marketing; every other individual
    goal belongs to `sam` (acme.member), the others to a new colleague per department
    goal, so My work, the Department pages and People all see more rows as it grows.
    Every goal has one KPI with two updates; every third department KPI is owned by sam.
    """

    acme: object
    cycle: Cycle = None
    strategic: list[Goal] = field(default_factory=list)
    departments: dict[int, list[Goal]] = field(default_factory=dict)
    individuals: dict[int, list[Goal]] = field(default_factory=dict)
    colleagues: dict[int, Member] = field(default_factory=dict)
    kpis: dict[int, Kpi] = field(default_factory=dict)

    def __post_init__(self):
        today = self.acme.org.today()
        self.cycle = CycleFactory(
            organization=self.acme.org,
            name="Current",
            start=today - dt.timedelta(days=60),  # after acme's own cycle: the default
            end=today + dt.timedelta(days=240),
        )

    def grow(self, strategic: int, per_strategic: int, per_department: int) -> GrowingTree:
        acme = self.acme
        places = [
            (acme.support, acme.manager),
            (acme.tier2, acme.manager),
            (acme.marketing, acme.marketing_manager),
        ]
        for s in range(strategic):
            if s == len(self.strategic):
                goal = self._goal(level="strategic", title=f"Objective {s}", kpi_owner=acme.leader)
                self.strategic.append(goal)
            objective = self.strategic[s]
            below = self.departments.setdefault(objective.pk, [])
            for d in range(len(below), per_strategic):
                department, manager = places[d % len(places)]
                below.append(
                    self._goal(
                        level="department",
                        title=f"Department goal {s}.{d}",
                        parent=objective,
                        department=department,
                        owner=manager,
                        kpi_owner=acme.member if d % 3 == 0 else manager,
                    )
                )
            for department_goal in below:
                leaves = self.individuals.setdefault(department_goal.pk, [])
                for i in range(len(leaves), per_department):
                    owner = acme.member if i % 2 == 0 else self._colleague(department_goal)
                    leaves.append(
                        self._goal(
                            level="individual",
                            title=f"Own goal {s}.{department_goal.pk}.{i}",
                            parent=department_goal,
                            owner=owner,
                            kpi_owner=owner,
                        )
                    )
        cycle_rollup(self.cycle)
        cycle_history(self.cycle)
        return self

    def _colleague(self, department_goal: Goal) -> Member:
        if department_goal.pk not in self.colleagues:
            self.colleagues[department_goal.pk] = MemberFactory(
                organization=self.acme.org,
                department=department_goal.department,
                user__username=f"colleague{department_goal.pk}",
            )
        return self.colleagues[department_goal.pk]

    def _goal(self, *, kpi_owner: Member, **fields) -> Goal:
        goal = GoalFactory(cycle=self.cycle, **fields)
        kpi = KpiFactory(goal=goal, owner=kpi_owner, name=f"Measured share of {goal.title}")
        today = self.acme.org.today()
        KpiUpdate.objects.bulk_create(
            KpiUpdate(kpi=kpi, value=value, date=today - dt.timedelta(days=days), author=kpi_owner)
            for value, days in ((20.0, 40), (35.0, 5))
        )
        self.kpis[goal.pk] = kpi
        return goal

    # Nodes that exist at both sizes.
    @property
    def first_objective(self) -> Goal:
        return self.strategic[0]

    @property
    def first_department_goal(self) -> Goal:
        return self.departments[self.first_objective.pk][0]

    @property
    def first_individual_goal(self) -> Goal:
        return self.individuals[self.first_department_goal.pk][0]  # sam's


Request = Callable[[object, GrowingTree], object]


def _measure(client, tree: GrowingTree, request: Request) -> int:
    request(client, tree)  # warm up: first-request caches are not the page's cost
    with CaptureQueriesContext(connection) as ctx:
        response = request(client, tree)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def assert_same_queries_at_two_sizes(
    client, acme, django_assert_max_num_queries, *, viewer: Member, request: Request, bound: int
) -> tuple[int, int]:
    tree = GrowingTree(acme).grow(*SMALL)
    client.force_login(viewer.user)
    small = _measure(client, tree, request)
    tree.grow(*LARGE)
    assert Goal.objects.filter(cycle=tree.cycle).count() == 3 + 3 * 6 + 3 * 6 * 6
    large = _measure(client, tree, request)
    assert small == large, f"{small} queries in the small tree, {large} in the large one"
    with django_assert_max_num_queries(bound):
        assert request(client, tree).status_code == 200
    return small, large


@pytest.fixture
def same_queries(client, acme, django_assert_max_num_queries):
    def check(*, viewer: Member, request: Request, bound: int) -> tuple[int, int]:
        return assert_same_queries_at_two_sizes(
            client,
            acme,
            django_assert_max_num_queries,
            viewer=viewer,
            request=request,
            bound=bound,
        )

    return check


def test_dashboard_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.member, request=lambda c, t: c.get("/"), bound=25)


def _owing(tree: GrowingTree) -> None:
    """A KPI with no value yet on every department goal, owned by a colleague of its
    department where there is one: people who still owe a check-in, everywhere."""
    for goals in tree.departments.values():
        for goal in goals:
            if not Kpi.objects.filter(goal=goal, name__startswith="Still owed").exists():
                owner = tree.colleagues.get(goal.pk, tree.acme.member)
                KpiFactory(goal=goal, owner=owner, name=f"Still owed on {goal.title}")


@pytest.mark.parametrize("viewer", ["leader", "manager"])
def test_leader_dashboard_with_people_owing_check_ins_queries_do_not_grow(
    client, acme, django_assert_max_num_queries, viewer
):
    """The heatmap, compliance with the people who owe a value and their Remind now
    buttons, and movement: the same queries in a small and a large tree."""

    def dashboard(client, tree):
        response = client.get("/")
        assert response.content.count(b"Remind now") >= 2
        assert b'class="heat heat-' in response.content
        return response

    tree = GrowingTree(acme).grow(*SMALL)
    _owing(tree)
    client.force_login(getattr(acme, viewer).user)
    small = _measure(client, tree, dashboard)
    tree.grow(*LARGE)
    _owing(tree)
    large = _measure(client, tree, dashboard)
    assert small == large, f"{small} queries in the small tree, {large} in the large one"
    with django_assert_max_num_queries(27):
        dashboard(client, tree)


def past(tree: GrowingTree) -> str:
    """A day between the two values of every KPI (40 and 5 days ago)."""
    return f"as_of={tree.acme.org.today() - dt.timedelta(days=20):%Y-%m-%d}"


def test_dashboard_as_of_a_past_day_queries_do_not_grow_with_the_tree(same_queries, acme):
    def dashboard(client, tree):
        response = client.get(f"/?{past(tree)}")
        assert b'id="as-of-banner"' in response.content
        return response

    same_queries(viewer=acme.member, request=dashboard, bound=18)


def test_cascade_as_of_a_past_day_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.member, request=lambda c, t: c.get(f"/cascade/?{past(t)}"), bound=10)


def test_cascade_health_filter_as_of_a_past_day_queries_do_not_grow(same_queries, acme):
    same_queries(
        viewer=acme.member,
        request=lambda c, t: c.get(f"/cascade/?health=on_track&{past(t)}"),
        bound=10,
    )


def test_cascade_expand_as_of_a_past_day_queries_do_not_grow(same_queries, acme):
    same_queries(
        viewer=acme.member,
        request=lambda c, t: c.get(
            f"/cascade/{t.first_objective.pk}/children/?{past(t)}", headers=HTMX
        ),
        bound=8,
    )


def test_cascade_map_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.member, request=lambda c, t: c.get("/cascade/"), bound=10)


def test_cascade_expand_queries_do_not_grow_with_the_tree(same_queries, acme):
    def expand(client, tree):
        response = client.get(f"/cascade/{tree.first_objective.pk}/children/", headers=HTMX)
        assert tree.first_department_goal.title.encode() in response.content
        return response

    same_queries(viewer=acme.member, request=expand, bound=8)


def test_cascade_health_filter_queries_do_not_grow_with_the_tree(same_queries, acme):
    def on_track(client, tree):
        response = client.get("/cascade/?health=on_track")
        assert tree.first_objective.title.encode() in response.content
        return response

    same_queries(viewer=acme.member, request=on_track, bound=10)


def test_cascade_department_filter_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(
        viewer=acme.member,
        request=lambda c, t: c.get(f"/cascade/?department={acme.support.pk}"),
        bound=10,
    )


def test_cascade_objective_and_department_filter_queries_do_not_grow(same_queries, acme):
    """The dashboard heatmap's link: one objective's goals of one department."""

    def cell(client, tree):
        response = client.get(
            f"/cascade/?objective={tree.first_objective.pk}&department={acme.support.pk}"
        )
        assert tree.first_department_goal.title.encode() in response.content
        return response

    same_queries(viewer=acme.member, request=cell, bound=11)


@pytest.mark.parametrize(
    "node", ["first_objective", "first_department_goal", "first_individual_goal"]
)
def test_goal_page_queries_do_not_grow_with_the_tree(same_queries, acme, node):
    def goal_page(client, tree):
        goal = getattr(tree, node)
        response = client.get(f"/goals/{goal.pk}/")
        assert goal.title.encode() in response.content
        return response

    # 12: with the cycles, for the banner when the goal is of another cycle than the chosen
    same_queries(viewer=acme.manager, request=goal_page, bound=12)


def test_my_work_queries_do_not_grow_with_my_goals_and_kpis(same_queries, acme):
    def my_work(client, tree):
        response = client.get("/my/")
        assert tree.first_individual_goal.title.encode() in response.content
        return response

    same_queries(viewer=acme.member, request=my_work, bound=9)


def test_own_department_page_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.member, request=lambda c, t: c.get("/department/"), bound=15)


def test_department_page_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(
        viewer=acme.member,
        request=lambda c, t: c.get(f"/department/{acme.ops.pk}/"),
        bound=15,
    )


def test_people_page_queries_do_not_grow_with_the_staff(same_queries, acme):
    def people(client, tree):
        response = client.get("/people/")
        assert b"colleague" in response.content
        return response

    # …and the Chat card: its targets (their messages only when there are some) and the
    # departments its form offers
    same_queries(viewer=acme.admin, request=people, bound=15)


def test_recording_a_value_in_place_queries_do_not_grow_with_the_tree(same_queries, acme):
    def record(client, tree):
        kpi = tree.kpis[tree.first_individual_goal.pk]
        return client.post(f"/kpis/{kpi.pk}/record/", {f"kpi{kpi.pk}-value": "42.5"}, headers=HTMX)

    # session, user, member, KPI; the write and its roll-up (the chain's lock on PostgreSQL)
    # and history (two reads, two upserts), the webhooks (the outbox), the changes feed's
    # one INSERT, in a SAVEPOINT pair; the row again
    same_queries(viewer=acme.member, request=record, bound=16)


def test_cycles_page_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.leader, request=lambda c, t: c.get("/cycles/"), bound=10)


def test_rollover_page_queries_do_not_grow_with_the_tree(same_queries, acme):
    def rollover(client, tree):
        response = client.get(f"/cycles/{tree.cycle.pk}/rollover/")
        assert tree.first_individual_goal.title.encode() in response.content
        return response

    same_queries(viewer=acme.leader, request=rollover, bound=12)


def test_cascade_tree_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.member, request=lambda c, t: c.get("/cascade/?view=tree"), bound=10)


def test_cascade_tree_expand_queries_do_not_grow_with_the_tree(same_queries, acme):
    def expand(client, tree):
        response = client.get(
            f"/cascade/{tree.first_objective.pk}/children/?view=tree", headers=HTMX
        )
        assert f'id="box-{tree.first_department_goal.pk}"'.encode() in response.content
        return response

    same_queries(viewer=acme.member, request=expand, bound=8)
