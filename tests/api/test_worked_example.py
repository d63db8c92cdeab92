"""SPEC §2's worked example, over HTTP only, as the admin and the leader with tokens.

Cycle 2027-01-01 … 2027-12-31. KPI "Resolve support tickets within 4 hrs avg",
decrease, baseline 6, target 4; update 5 → KPI progress 50.0. Its individual goal
has only that KPI → 50.0. The department goal has that individual goal (weight 1)
and its own KPI at 80.0 (weight 3) → (50 + 240) / 4 = 72.5.

KPI update dates can't be later than today, and today comes before the cycle: the
updates leave `date` out (today) — the progress formulas don't depend on the date.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from cycles.models import Cycle
from goals.progress import health

from .helpers import API, is_id, is_iso_date, is_number

pytestmark = pytest.mark.django_db

PASSWORD = "pw-cascade-test"
TREE_NODE = {"id", "title", "level", "progress", "health", "kpis", "children"}
TREE_KPI = {"id", "name", "unit", "current", "target", "progress", "health"}
ALIGNMENT = {"id", "title", "level", "progress", "health", "department", "owner"}
START, DUE = dt.date(2027, 1, 1), dt.date(2027, 12, 31)


def token_client(username: str) -> APIClient:
    response = APIClient().post(
        f"{API}/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def expected_health(org, progress: float) -> str:
    """What the formula of SPEC §2 says today, for a goal or KPI spanning the cycle."""
    return health(progress=progress, today=org.today(), start=START, due=DUE)


@pytest.fixture
def example(acme):
    """The worked example built through the API; returns the created objects' JSON."""
    admin, leader = token_client("ada"), token_client("lena")
    e = type("Example", (), {})()
    e.cycle = created(
        admin.post(
            f"{API}/cycles/",
            {"name": "FY 2027", "start": "2027-01-01", "end": "2027-12-31", "cadence": "monthly"},
            format="json",
        )
    )
    e.strategic = created(
        leader.post(
            f"{API}/goals/",
            {
                "cycle": e.cycle["id"],
                "level": "strategic",
                "title": "Improve customer experience",
                "rationale": "Customers who are heard stay.",
            },
            format="json",
        )
    )
    e.department = created(
        leader.post(
            f"{API}/goals/",
            {
                "cycle": e.cycle["id"],
                "level": "department",
                "title": "Reduce average response time by 20%",
                "parent": e.strategic["id"],
                "department": acme.support.pk,
                "owner": acme.manager.pk,
            },
            format="json",
        )
    )
    e.individual = created(
        leader.post(
            f"{API}/goals/",
            {
                "cycle": e.cycle["id"],
                "level": "individual",
                "title": "Resolve support tickets within 4 hrs avg",
                "parent": e.department["id"],
                "owner": acme.member.pk,
            },
            format="json",
        )
    )
    e.kpi = created(
        leader.post(
            f"{API}/kpis/",
            {
                "goal": e.individual["id"],
                "name": "Resolve support tickets within 4 hrs avg",
                "unit": "hours",
                "direction": "decrease",
                "aggregation": "latest",
                "baseline": 6,
                "target": 4,
                "owner": acme.member.pk,
            },
            format="json",
        )
    )
    e.department_kpi = created(
        leader.post(
            f"{API}/kpis/",
            {
                "goal": e.department["id"],
                "name": "Tickets answered within one hour",
                "unit": "%",
                "direction": "increase",
                "baseline": 60,
                "target": 85,
                "weight": 3,
                "owner": acme.manager.pk,
            },
            format="json",
        )
    )
    e.update = created(
        leader.post(f"{API}/kpis/{e.kpi['id']}/updates/", {"value": 5}, format="json")
    )
    e.department_update = created(
        leader.post(
            f"{API}/kpis/{e.department_kpi['id']}/updates/",
            {"value": 80, "note": "Weekly export", "confidence": "high"},
            format="json",
        )
    )
    e.reader = token_client("rey")
    return e


def test_the_worked_example_rolls_up(acme, example):
    e, client = example, example.reader
    kpi = client.get(f"{API}/kpis/{e.kpi['id']}/").json()
    assert (kpi["current"], kpi["progress"]) == (5.0, 50.0)
    department_kpi = client.get(f"{API}/kpis/{e.department_kpi['id']}/").json()
    assert (department_kpi["current"], department_kpi["progress"]) == (80.0, 80.0)
    individual = client.get(f"{API}/goals/{e.individual['id']}/").json()
    assert individual["progress"] == 50.0
    department = client.get(f"{API}/goals/{e.department['id']}/").json()
    assert department["progress"] == 72.5
    strategic = client.get(f"{API}/goals/{e.strategic['id']}/").json()
    assert strategic["progress"] == 72.5
    for data in (kpi, individual, department, strategic):
        assert data["health"] == expected_health(acme.org, data["progress"])


def test_the_update_returns_at_once(acme, example):
    """The response to the update came after the roll-up: the KPI moved already."""
    e = example
    assert e.update["value"] == 5.0
    assert e.update["kpi"] == e.kpi["id"]
    assert e.update["date"] == acme.org.today().isoformat()
    assert e.update["author"] == acme.leader.pk
    assert e.department_update["note"] == "Weekly export"
    assert e.department_update["confidence"] == "high"
    history = e.reader.get(f"{API}/kpis/{e.kpi['id']}/updates/").json()
    assert history["count"] == 1
    assert history["results"] == [e.update]


def test_created_objects_echo_the_input_and_defaults(acme, example):
    e = example
    assert e.cycle == {
        "id": e.cycle["id"],
        "name": "FY 2027",
        "start": "2027-01-01",
        "end": "2027-12-31",
        "cadence": "monthly",
        "state": "open",
        "is_current": False,  # creating a cycle changes no one's view (SPEC §8.3)
        "updated_at": e.cycle["updated_at"],
    }
    stored = Cycle.objects.get(pk=e.cycle["id"]).updated_at
    assert e.cycle["updated_at"] == stored.isoformat().replace("+00:00", "Z")
    assert e.strategic["parent"] is None
    assert e.strategic["rationale"] == "Customers who are heard stay."
    assert e.department["parent"] == e.strategic["id"]
    assert e.department["department"] == acme.support.pk
    assert e.individual["owner"] == acme.member.pk
    for goal in (e.strategic, e.department, e.individual):
        assert (goal["start"], goal["due"], goal["weight"]) == ("2027-01-01", "2027-12-31", 1.0)
        assert goal["state"] == "active"
        assert goal["progress"] == 0.0  # nothing measured when it was created
    assert e.kpi["weight"] == 1.0
    assert e.department_kpi["weight"] == 3.0
    assert (e.kpi["start"], e.kpi["due"]) == ("2027-01-01", "2027-12-31")
    assert e.kpi["smart"]["relevant"]["ok"] is True
    assert set(e.kpi["smart"]) == {"specific", "measurable", "achievable", "relevant", "time_bound"}
    for verdict in e.kpi["smart"].values():
        assert set(verdict) == {"ok", "message"}
        assert isinstance(verdict["ok"], bool) and isinstance(verdict["message"], str)


def test_tree_of_the_strategic_goal(acme, example):
    e = example
    response = e.reader.get(f"{API}/goals/{e.strategic['id']}/tree/")
    assert response.status_code == 200
    tree = response.json()
    h = lambda progress: expected_health(acme.org, progress)  # noqa: E731
    assert tree == {
        "id": e.strategic["id"],
        "title": "Improve customer experience",
        "level": "strategic",
        "progress": 72.5,
        "health": h(72.5),
        "kpis": [],
        "children": [
            {
                "id": e.department["id"],
                "title": "Reduce average response time by 20%",
                "level": "department",
                "progress": 72.5,
                "health": h(72.5),
                "kpis": [
                    {
                        "id": e.department_kpi["id"],
                        "name": "Tickets answered within one hour",
                        "unit": "%",
                        "current": 80.0,
                        "target": 85.0,
                        "progress": 80.0,
                        "health": h(80.0),
                    }
                ],
                "children": [
                    {
                        "id": e.individual["id"],
                        "title": "Resolve support tickets within 4 hrs avg",
                        "level": "individual",
                        "progress": 50.0,
                        "health": h(50.0),
                        "kpis": [
                            {
                                "id": e.kpi["id"],
                                "name": "Resolve support tickets within 4 hrs avg",
                                "unit": "hours",
                                "current": 5.0,
                                "target": 4.0,
                                "progress": 50.0,
                                "health": h(50.0),
                            }
                        ],
                        "children": [],
                    }
                ],
            }
        ],
    }


def test_tree_of_a_middle_goal_starts_there(acme, example):
    e = example
    tree = e.reader.get(f"{API}/goals/{e.department['id']}/tree/").json()
    assert set(tree) == TREE_NODE
    assert tree["id"] == e.department["id"]
    assert [child["id"] for child in tree["children"]] == [e.individual["id"]]
    leaf = e.reader.get(f"{API}/goals/{e.individual['id']}/tree/").json()
    assert leaf["children"] == []
    assert [kpi["id"] for kpi in leaf["kpis"]] == [e.kpi["id"]]


def test_alignment_runs_from_the_goal_to_its_strategic_root(acme, example):
    e = example
    response = e.reader.get(f"{API}/goals/{e.individual['id']}/alignment/")
    assert response.status_code == 200
    chain = response.json()
    assert isinstance(chain, list)  # not paginated
    assert [goal["id"] for goal in chain] == [
        e.individual["id"],
        e.department["id"],
        e.strategic["id"],
    ]
    assert [goal["level"] for goal in chain] == ["individual", "department", "strategic"]
    assert [goal["progress"] for goal in chain] == [50.0, 72.5, 72.5]
    for goal in chain:
        assert set(goal) == ALIGNMENT
    assert chain[0]["owner"] == acme.member.pk
    assert chain[1]["department"] == acme.support.pk
    root = e.reader.get(f"{API}/goals/{e.strategic['id']}/alignment/").json()
    assert [goal["id"] for goal in root] == [e.strategic["id"]]


def test_json_types(acme, example):
    """progress, current, baseline, target, value, weight are JSON numbers; dates are
    ISO; ids are integers."""
    e, client = example, example.reader
    goal = client.get(f"{API}/goals/{e.department['id']}/").json()
    kpi = client.get(f"{API}/kpis/{e.kpi['id']}/").json()
    update = client.get(f"{API}/kpis/{e.kpi['id']}/updates/").json()["results"][0]
    cycle = client.get(f"{API}/cycles/{e.cycle['id']}/").json()
    tree = client.get(f"{API}/goals/{e.strategic['id']}/tree/").json()
    chain = client.get(f"{API}/goals/{e.individual['id']}/alignment/").json()

    for field in ("progress", "weight"):
        assert is_number(goal[field]), field
    for field in ("progress", "current", "baseline", "target", "weight"):
        assert is_number(kpi[field]), field
    assert is_number(update["value"])
    for field in ("id", "cycle", "parent", "department", "owner"):
        assert is_id(goal[field]), field
    for field in ("id", "goal", "owner"):
        assert is_id(kpi[field]), field
    for field in ("id", "kpi", "author"):
        assert is_id(update[field]), field
    assert is_id(cycle["id"])
    for data, fields in (
        (goal, ("start", "due")),
        (kpi, ("start", "due")),
        (update, ("date",)),
        (cycle, ("start", "end")),
    ):
        for field in fields:
            assert is_iso_date(data[field]), (field, data[field])
    dt.datetime.fromisoformat(update["created_at"])

    def walk(node):
        assert set(node) == TREE_NODE
        assert is_id(node["id"]) and is_number(node["progress"])
        for measure in node["kpis"]:
            assert set(measure) == TREE_KPI
            assert is_id(measure["id"])
            for field in ("current", "target", "progress"):
                assert is_number(measure[field]), field
        for child in node["children"]:
            walk(child)

    walk(tree)
    for link in chain:
        assert is_id(link["id"]) and is_number(link["progress"])


def test_a_correction_is_a_new_update(acme, example):
    """Recording 4 (the target) on the individual KPI lifts it to 100 and the
    department to (100 + 240) / 4 = 85.0; the first value stays in the history."""
    e = example
    leader = token_client("lena")
    created(leader.post(f"{API}/kpis/{e.kpi['id']}/updates/", {"value": 4}, format="json"))
    assert e.reader.get(f"{API}/kpis/{e.kpi['id']}/").json()["progress"] == 100.0
    assert e.reader.get(f"{API}/goals/{e.department['id']}/").json()["progress"] == 85.0
    history = e.reader.get(f"{API}/kpis/{e.kpi['id']}/updates/").json()
    assert [row["value"] for row in history["results"]] == [5.0, 4.0]


def test_goal_list_filters(acme, example):
    e, client = example, example.reader

    def found(**params) -> list[int]:
        response = client.get(f"{API}/goals/", params)
        assert response.status_code == 200, response.content
        return [goal["id"] for goal in response.json()["results"]]

    everything = [e.strategic["id"], e.department["id"], e.individual["id"]]
    assert found(cycle=e.cycle["id"]) == everything
    assert found(level="department") == [e.department["id"]]
    assert found(parent=e.strategic["id"]) == [e.department["id"]]
    assert found(department=acme.support.pk) == [e.department["id"]]
    assert found(owner=acme.member.pk) == [e.individual["id"]]
    assert found(cycle=e.cycle["id"], level="individual", owner=acme.member.pk) == [
        e.individual["id"]
    ]
    assert found(cycle=acme.cycle.pk) == []


def test_kpi_list_filter_by_goal(acme, example):
    e = example
    response = e.reader.get(f"{API}/kpis/", {"goal": e.department["id"]})
    assert [kpi["id"] for kpi in response.json()["results"]] == [e.department_kpi["id"]]
