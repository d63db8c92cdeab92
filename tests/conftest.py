"""Shared fixtures: an organization "Acme" with one member of every role, in a
department tree, a cycle for 2027, and an outsider from another organization.

Acme departments:   Operations
                    ├── Customer Support      (manager `max`, member `sam`)
                    │   └── Support Tier 2    (member `tia`)
                    └── Marketing             (manager `mia`, member `lee`)
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable

import pytest
import time_machine
from django.core.cache import cache
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import connection
from django.test import Client

from core import egress
from goals.services import goal_create
from kpis.services import kpi_create

from .factories import CycleFactory, DepartmentFactory, MemberFactory, OrganizationFactory
from .outbound import Dns, Listener

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The live server answers a kept-alive connection's request in two writes (headers, then
# body); with Nagle's algorithm on, each answer then waits ~40 ms for the client's
# delayed ACK. socketserver's switch for TCP_NODELAY makes it answer at once.
WSGIRequestHandler.disable_nagle_algorithm = True


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Tests marked slow run first: pytest-xdist hands the first tests out in turn, so
    the workers share them, and the run does not end waiting on one worker's."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# In CI (CASCADE_REQUIRE_SERVICES=1) a test that would skip for lack of a
# service fails instead: nothing may pass by not running.
REQUIRE_SERVICES = os.getenv("CASCADE_REQUIRE_SERVICES", "") not in ("", "0", "false")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every service must be present: {report.longrepr}"


@pytest.fixture
def require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://…); .ci/run provides it")


def run_together(calls: list[Callable[[], object]]) -> list[object]:
    """Run each call in its own thread, all released at the same instant, each with
    its own database connection; their results in order, or the first error raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 — re-raised by the caller's thread
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def together():
    """`together(calls)`: run the calls at the same instant (see run_together). Tests
    that use it need `django_db(transaction=True)` so the threads see their rows."""
    return run_together


class AnswerClient(Client):
    """The test client, reading an in-place answer's real status: the pages answer an
    htmx form's 400 or 403 as a 200 with `X-Answer-Status` (so browsers log no failed
    request; core.middleware.InPlaceAnswersMiddleware, tested on its own in
    tests/pages/test_in_place_answers.py), and the tests speak of the real one."""

    def request(self, **request):
        response = super().request(**request)
        if "X-Answer-Status" in response.headers:
            response.status_code = int(response.headers["X-Answer-Status"])
        return response


@pytest.fixture
def client():
    return AnswerClient()


class Acme:
    """The standard organization of the tests; attributes are its rows."""


@pytest.fixture
def acme(db):
    org = OrganizationFactory(name="Acme")
    a = Acme()
    a.org = org
    a.ops = DepartmentFactory(organization=org, name="Operations")
    a.support = DepartmentFactory(organization=org, name="Customer Support", parent=a.ops)
    a.tier2 = DepartmentFactory(organization=org, name="Support Tier 2", parent=a.support)
    a.marketing = DepartmentFactory(organization=org, name="Marketing", parent=a.ops)
    a.admin = MemberFactory(organization=org, role="admin", user__username="ada")
    a.leader = MemberFactory(organization=org, role="leader", user__username="lena")
    a.manager = MemberFactory(
        organization=org, role="manager", department=a.support, user__username="max"
    )
    a.marketing_manager = MemberFactory(
        organization=org, role="manager", department=a.marketing, user__username="mia"
    )
    a.member = MemberFactory(
        organization=org,
        role="member",
        department=a.support,
        manager=a.manager,
        user__username="sam",
    )
    a.tier2_member = MemberFactory(
        organization=org, role="member", department=a.tier2, user__username="tia"
    )
    a.marketing_member = MemberFactory(
        organization=org, role="member", department=a.marketing, user__username="lee"
    )
    a.reviewer = MemberFactory(organization=org, role="reviewer", user__username="rey")
    a.cycle = CycleFactory(
        organization=org, name="2027", start=dt.date(2027, 1, 1), end=dt.date(2027, 12, 31)
    )
    return a


@pytest.fixture
def outsider(db):
    """An admin of another organization, with a cycle and a goal of their own."""
    other = OrganizationFactory(name="Globex")
    admin = MemberFactory(organization=other, role="admin", user__username="oscar")
    admin.cycle = CycleFactory(organization=other, name="Globex 2027")
    admin.department = DepartmentFactory(organization=other, name="Globex Sales")
    admin.save()
    return admin


@pytest.fixture
def tree(acme):
    """Strategic → department (Support) → individual (sam), each with one KPI, built
    through the services. Attributes: strategic, department, individual, and their
    KPIs strategic_kpi, department_kpi, individual_kpi."""
    t = Acme()
    t.strategic = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="strategic",
        title="Improve customer experience",
        rationale="Customers stay.",
    )
    t.department = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Reduce average response time by 20%",
        parent=t.strategic,
        department=acme.support,
        owner=acme.manager,
    )
    t.individual = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="individual",
        title="Resolve support tickets within 4 hrs avg",
        parent=t.department,
        owner=acme.member,
    )
    t.strategic_kpi = kpi_create(
        actor=acme.leader,
        goal=t.strategic,
        name="Customer satisfaction score",
        unit="points",
        baseline=70,
        target=90,
        owner=acme.leader,
    )
    t.department_kpi = kpi_create(
        actor=acme.leader,
        goal=t.department,
        name="First response time",
        unit="hours",
        direction="decrease",
        baseline=10,
        target=8,
        owner=acme.manager,
    )
    t.individual_kpi = kpi_create(
        actor=acme.leader,
        goal=t.individual,
        name="Average ticket resolution time",
        unit="hours",
        direction="decrease",
        baseline=6,
        target=4,
        owner=acme.member,
    )
    return t


@pytest.fixture
def places(acme, tree):
    """Every place of the tree a permission depends on, each goal with a KPI, built
    through the services (the permission tests of the services and of the API).

    strategic                  "Improve customer experience"
    ├── support_department     (Customer Support, in max's scope)
    │   ├── sam_individual     (owner sam, Customer Support)
    │   └── tier2_team         (Support Tier 2, in max's scope)
    │       └── tia_individual (owner tia, Support Tier 2)
    ├── marketing_department   (Marketing, outside max's scope)
    │   └── lee_individual     (owner lee, Marketing)
    └── sam_department         (Customer Support, a department goal owned by sam)

    KPIs: one per goal (`kpis[place]`), and for the "record a KPI update" row of the
    table the KPIs a member owns on others' goals, or others own on his.
    """
    leader = acme.leader
    p = tree

    def goal(level: str, title: str, parent, **fields):
        return goal_create(
            actor=leader, cycle=acme.cycle, level=level, title=title, parent=parent, **fields
        )

    def kpi(goal, owner, name):
        return kpi_create(
            actor=leader, goal=goal, name=name, unit="%", baseline=0, target=100, owner=owner
        )

    p.marketing = goal(
        "department",
        "Launch 3 regional campaigns",
        tree.strategic,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    p.tier2 = goal("team", "Clear the escalation backlog", tree.department, department=acme.tier2)
    p.tia = goal("individual", "Close 30 escalations a month", p.tier2, owner=acme.tier2_member)
    p.lee = goal(
        "individual",
        "Generate 100 qualified leads a month",
        p.marketing,
        owner=acme.marketing_member,
    )
    p.sam_department = goal(
        "department",
        "Publish a help centre",
        tree.strategic,
        department=acme.support,
        owner=acme.member,
    )
    p.goals = {
        "strategic": tree.strategic,
        "support_department": tree.department,
        "marketing_department": p.marketing,
        "tier2_team": p.tier2,
        "sam_individual": tree.individual,
        "tia_individual": p.tia,
        "lee_individual": p.lee,
        "sam_department": p.sam_department,
    }
    p.kpis = {
        "strategic": tree.strategic_kpi,
        "support_department": tree.department_kpi,
        "marketing_department": kpi(p.marketing, acme.marketing_manager, "Campaigns launched"),
        "tier2_team": kpi(p.tier2, acme.manager, "Escalations cleared"),
        "sam_individual": tree.individual_kpi,
        "tia_individual": kpi(p.tia, acme.tier2_member, "Escalations closed"),
        "lee_individual": kpi(p.lee, acme.marketing_member, "Qualified leads"),
        "sam_department": kpi(p.sam_department, acme.manager, "Articles published"),
        "support_department_kpi_owned_by_sam": kpi(tree.department, acme.member, "Tickets triaged"),
        "marketing_department_kpi_owned_by_sam": kpi(
            p.marketing, acme.member, "Support quotes in ads"
        ),
        "sam_individual_kpi_owned_by_max": kpi(tree.individual, acme.manager, "Tickets reopened"),
        "sam_individual_kpi_owned_by_tia": kpi(
            tree.individual, acme.tier2_member, "Tickets escalated"
        ),
    }
    return p


def pytest_configure(config):
    from django.conf import settings

    # Hashing at full strength costs ~0.3 s a user; tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Every test runs at this instant (the clock still ticks from it): inside the `acme`
# cycle of 2027, so values dated "today" belong to it, and never at the mercy of the
# calendar. Tests that need another day travel there themselves.
NOW = dt.datetime(2027, 3, 15, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: every test begins at the same instant, so
    the API throttles' counts of an earlier test would still be "this minute"."""
    cache.clear()
    yield


# Outbound requests (core/egress.py) against real local parts: HTTP listeners, and a DNS
# server the test controls, which the egress guard resolves through.
@pytest.fixture
def listen():
    made = []

    def start(*args, **kwargs) -> Listener:
        made.append(Listener(*args, **kwargs))
        return made[-1]

    yield start
    for listener in made:
        listener.close()


@pytest.fixture
def dns(monkeypatch):
    """core.egress resolves through a real DNS server this test controls."""
    made = []

    def start(answers: dict[str, list[str]]) -> Dns:
        made.append(Dns(answers))
        monkeypatch.setattr(egress, "resolver", made[-1].resolve)
        return made[-1]

    yield start
    for server in made:
        server.close()
