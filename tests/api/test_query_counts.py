"""The API's reads take the same number of queries whatever the size of the tree
(no N+1): each endpoint is measured on a small tree, the tree is grown several
times over with factories and rolled up, and the endpoint is measured again.
Recording a value costs queries by the depth of the chain, never its width."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cycles.history import cycle_history
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.rollup import cycle_rollup
from org.models import Department, Member
from tests.factories import CycleFactory, DepartmentFactory, GoalFactory, KpiFactory, MemberFactory

from .helpers import API, client_for

pytestmark = pytest.mark.django_db

# Upper bounds, with a little room over what is measured: two for authentication
# (token, membership), then the endpoint's own fixed number.
MAX_QUERIES = {
    "goals": 4,
    "kpis": 4,
    "members": 4,
    "departments": 4,
    "cycles": 4,
    "kpi_updates": 5,
    "goal_tree": 7,  # one query per level below the root (at most three)
    "goal_tree_as_of": 9,  # and the points of its goals and of its KPIs
    "goal_history": 4,
    "goal_alignment": 4,
}


class Sizes:
    """How far the tree has grown; `deepest` is a four-level individual goal."""

    def __init__(self, acme, tree):
        self.acme, self.tree, self.rounds, self.deepest = acme, tree, 0, None


def grow(s: Sizes, width: int) -> None:
    """Add `width` department goals under the strategic objective, each with `width`
    team goals, each with one individual goal; a KPI with two updates on every new
    goal; `width` more updates on the measured KPI; people, departments and cycles."""
    acme, tree = s.acme, s.tree
    s.rounds += 1
    today = acme.org.today()
    owner = acme.member

    def measured(goal, kpi_owner):
        kpi = KpiFactory(goal=goal, owner=kpi_owner)
        KpiUpdate.objects.bulk_create(
            KpiUpdate(kpi=kpi, value=v, date=today - dt.timedelta(days=v), author=kpi_owner)
            for v in (10, 20)
        )

    for d in range(width):
        department = DepartmentFactory(
            organization=acme.org, name=f"Unit {s.rounds}.{d}", parent=acme.support
        )
        member = MemberFactory(organization=acme.org, department=department)
        goal = GoalFactory(
            cycle=acme.cycle,
            level="department",
            parent=tree.strategic,
            department=department,
            owner=member,
        )
        measured(goal, member)
        for _ in range(width):
            team = GoalFactory(cycle=acme.cycle, level="team", parent=goal, department=department)
            measured(team, member)
            individual = GoalFactory(cycle=acme.cycle, level="individual", parent=team, owner=owner)
            measured(individual, owner)
            s.deepest = s.deepest or individual
        CycleFactory(
            organization=acme.org,
            name=f"Cycle {s.rounds}.{d}",
            start=dt.date(2030 + s.rounds, 1, 1) + dt.timedelta(days=d),
            end=dt.date(2030 + s.rounds, 12, 31),
        )
    KpiUpdate.objects.bulk_create(
        KpiUpdate(kpi=tree.individual_kpi, value=5 + i / 10, date=today, author=owner)
        for i in range(width)
    )
    cycle_rollup(acme.cycle)
    cycle_history(acme.cycle)


def url_of(s: Sizes, endpoint: str) -> str:
    return {
        "goals": f"{API}/goals/",
        "kpis": f"{API}/kpis/",
        "members": f"{API}/members/",
        "departments": f"{API}/departments/",
        "cycles": f"{API}/cycles/",
        "kpi_updates": f"{API}/kpis/{s.tree.individual_kpi.pk}/updates/",
        "goal_tree": f"{API}/goals/{s.tree.strategic.pk}/tree/",
        "goal_tree_as_of": f"{API}/goals/{s.tree.strategic.pk}/tree/?as_of="
        + f"{s.acme.org.today() - dt.timedelta(days=15):%Y-%m-%d}",
        "goal_history": f"{API}/goals/{s.tree.strategic.pk}/history/",
        "goal_alignment": f"{API}/goals/{s.deepest.pk}/alignment/",
    }[endpoint]


def rows() -> dict[str, int]:
    return {
        "goals": Goal.objects.count(),
        "kpis": Kpi.objects.count(),
        "updates": KpiUpdate.objects.count(),
        "members": Member.objects.count(),
        "departments": Department.objects.count(),
    }


def measure(client, method: str, url: str, body=None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, body, format="json") if body else client.get(url)
    assert response.status_code in (200, 201), (url, response.content)
    return len(queries), response


@pytest.mark.parametrize("endpoint", MAX_QUERIES)
def test_reads_take_the_same_queries_on_a_larger_tree(
    acme, tree, endpoint, django_assert_max_num_queries
):
    s = Sizes(acme, tree)
    client = client_for(acme.admin)
    grow(s, 2)
    url = url_of(s, endpoint)
    client.get(url)  # warm up (first-use caches)
    small_rows = rows()
    small, small_response = measure(client, "get", url)

    grow(s, 7)
    large_rows = rows()
    assert large_rows["goals"] >= 5 * small_rows["goals"], (small_rows, large_rows)
    large, large_response = measure(client, "get", url)

    assert small == large, f"{endpoint}: {small} queries on the small tree, {large} on the large"
    with django_assert_max_num_queries(MAX_QUERIES[endpoint]):
        client.get(url)
    print(
        f"\n{endpoint}: {small} queries ({small_rows['goals']} goals) = "
        f"{large} queries ({large_rows['goals']} goals)"
    )

    # the larger response really is larger (the measurement saw the growth)
    if endpoint in ("goals", "kpis", "members", "departments", "cycles", "kpi_updates"):
        assert large_response.json()["count"] > small_response.json()["count"]
    if endpoint in ("goal_tree", "goal_tree_as_of"):
        assert len(large_response.json()["children"]) > len(small_response.json()["children"])
    if endpoint == "goal_alignment":
        assert len(large_response.json()) == 4


def test_tree_is_complete_on_the_larger_tree(acme, tree):
    """The fixed-query tree still holds every goal and KPI below the root."""
    s = Sizes(acme, tree)
    grow(s, 5)
    data = client_for(acme.reviewer).get(url_of(s, "goal_tree")).json()
    goals, kpis = 0, 0

    def walk(node):
        nonlocal goals, kpis
        goals += 1
        kpis += len(node["kpis"])
        for child in node["children"]:
            walk(child)

    walk(data)
    assert goals == Goal.objects.filter(cycle=acme.cycle).count()
    assert kpis == Kpi.objects.filter(goal__cycle=acme.cycle).count()


def statements(client, url: str, value: float) -> int:
    """SQL statements of one value recorded through the API, less the SAVEPOINT pair a
    test's enclosing transaction adds (served, the write is the outermost transaction)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, {"value": value}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["value"] == value
    return sum("SAVEPOINT" not in query["sql"] for query in queries)


def test_recording_a_value_takes_at_most_15_statements_at_any_depth_and_size(acme, tree):
    """A value on a root's KPI and one three goals down, on a small tree and a larger
    one: the chain is locked, read and written in one statement each (a goal write
    is left out when no goal changed), its history read in two and written in two
    (the day's points of the KPI and of its chain upserted), the webhooks read once
    (their deliveries are written in the same transaction: the outbox), and the changes
    feed's rows (the value, its KPI, the goals that moved) written in one INSERT."""
    s = Sizes(acme, tree)
    client = client_for(acme.leader)
    urls = {
        depth: f"{API}/kpis/{getattr(tree, name).pk}/updates/"
        for depth, name in ((1, "strategic_kpi"), (3, "individual_kpi"))
    }
    for url in urls.values():
        client.post(url, {"value": 5}, format="json")  # warm up
    grow(s, 2)
    # each measured value differs from the KPI's current one, so the whole chain moves
    small = {depth: statements(client, url, 4.5) for depth, url in urls.items()}
    grow(s, 7)
    large = {depth: statements(client, url, 4.2) for depth, url in urls.items()}
    assert small == large, f"{small} statements on the small tree, {large} on the large"
    assert max(large.values()) <= 15, f"by depth: {large}"
    print(f"\nPOST …/updates/ statements by depth of the KPI's goal: {large}, on both sizes")
