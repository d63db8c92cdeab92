"""GET /api/v1/changes/ (SPEC §9.7): what was created, changed and deleted, in commit
order, read with a cursor that survives concurrent writes (org/changes.py).

A change shows once every transaction that was writing when it committed has ended
(on PostgreSQL: its transaction is older than the reader's snapshot's xmin). Any
write on the database server counts, so the tests poll until what they wait for shows,
and assert on what the feed says, never on how soon."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from goals.services import goal_create, goal_delete, goal_update
from org.changes import CHANGES_KEPT, changes_purge
from org.models import Change, Department
from org.services import department_create, department_update
from tests.conftest import NOW

from .helpers import API, client_for

FEED = f"{API}/changes/"
PATIENCE = 120  # seconds to wait for a change to show: writes elsewhere can hold it back


def read(client, since: str | None, limit: int = 100) -> dict:
    params: dict[str, str | int] = {"limit": limit}
    if since is not None:
        params["since"] = since
    response = client.get(FEED, params)
    assert response.status_code == 200, response.content
    return response.json()


class Follower:
    """An integration following the feed: reads from where it stopped, page by page,
    and keeps every item it was given, in order."""

    def __init__(self, client: APIClient, limit: int = 100):
        self.client, self.limit = client, limit
        self.cursor: str | None = None
        self.items: list[dict] = []

    def poll(self) -> None:
        while True:
            page = read(self.client, self.cursor, self.limit)
            self.items += page["results"]
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return

    def until(self, done: Callable[[list[dict]], bool], what: str) -> list[dict]:
        deadline = time.monotonic() + PATIENCE
        while True:
            self.poll()
            if done(self.items):
                return self.items
            if time.monotonic() > deadline:
                pytest.fail(f"the feed never showed {what}: {self.items[-20:]}")
            time.sleep(0.05)

    def seen(self) -> list[tuple[str, int, str]]:
        return [(item["type"], item["id"], item["action"]) for item in self.items]


def in_order(expected: list, seen: list) -> bool:
    """Every expected item appears in `seen`, in this order (others may lie between)."""
    rest = iter(seen)
    return all(item in rest for item in expected)


def rows_of(organization_id: int) -> list[tuple[str, int, str, str]]:
    """The organization's change rows, in the feed's order, as the feed names them."""
    rows = Change.objects.filter(organization_id=organization_id).order_by("txid", "id")
    return [
        (row.kind, row.object_id, row.action, row.at.isoformat().replace("+00:00", "Z"))
        for row in rows
    ]


def as_rows(items: list[dict]) -> list[tuple[str, int, str, str]]:
    return [(i["type"], i["id"], i["action"], i["updated_at"]) for i in items]


@pytest.mark.django_db(transaction=True)
def test_the_feed_lists_what_was_created_changed_cancelled_and_deleted_in_commit_order(acme):
    leader, admin = client_for(acme.leader), client_for(acme.admin)
    a = leader.post(
        f"{API}/goals/",
        {"cycle": acme.cycle.pk, "level": "strategic", "title": "Grow", "external_id": "G-A"},
    ).json()
    b = leader.post(
        f"{API}/goals/",
        {
            "cycle": acme.cycle.pk,
            "level": "department",
            "title": "Sell",
            "parent": a["id"],
            "department": acme.support.pk,
            "owner": acme.manager.pk,
            "external_id": "G-B",
        },
    ).json()
    assert leader.patch(f"{API}/goals/{b['id']}/", {"title": "Sell more"}).status_code == 200
    assert leader.delete(f"{API}/goals/{b['id']}/").status_code == 204  # deleted
    kpi = leader.post(
        f"{API}/kpis/",
        {"goal": a["id"], "name": "Revenue", "unit": "€", "baseline": 0, "target": 100},
    ).json()
    value = leader.post(f"{API}/kpis/{kpi['id']}/updates/", {"value": 10}).json()
    cancelled = leader.delete(f"{API}/goals/{a['id']}/")  # a KPI hangs on it: cancelled
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    research = admin.post(f"{API}/departments/", {"name": "Research", "external_id": "D-R"})
    assert (
        admin.patch(f"{API}/members/{acme.member.pk}/", {"external_id": "E-7"}).status_code == 200
    )
    assert leader.post(f"{API}/cycles/{acme.cycle.pk}/close/").status_code == 200

    expected = [
        ("goal", a["id"], "created"),
        ("goal", b["id"], "created"),
        ("goal", b["id"], "updated"),
        ("goal", b["id"], "deleted"),
        ("kpi", kpi["id"], "created"),
        ("update", value["id"], "created"),
        ("kpi", kpi["id"], "updated"),  # its current value, progress and health
        ("goal", a["id"], "updated"),  # cancelled
        ("department", research.json()["id"], "created"),
        ("member", acme.member.pk, "updated"),
        ("cycle", acme.cycle.pk, "updated"),  # closed
    ]
    follower = Follower(client_for(acme.member))  # whoever may call the API may read it
    follower.until(lambda items: in_order(expected, follower.seen()), "every change")
    named = {(i["type"], i["id"], i["action"]): i["external_id"] for i in follower.items}
    assert named[("goal", b["id"], "deleted")] == "G-B"  # as it was, though it is gone
    assert named[("goal", a["id"], "created")] == "G-A"
    assert named[("department", research.json()["id"], "created")] == "D-R"
    assert named[("member", acme.member.pk, "updated")] == "E-7"
    assert named[("update", value["id"], "created")] is None
    assert all(
        set(item) == {"type", "id", "external_id", "action", "updated_at"}
        for item in follower.items
    )
    # In the feed's order, every row once: what the database holds, nothing more.
    assert as_rows(follower.items) == rows_of(acme.org.pk)


@pytest.mark.django_db(transaction=True)
def test_a_reader_sees_each_change_once_though_a_slow_transaction_commits_after_a_later_one(
    require_postgres, acme, tree
):
    """The slow writer's change gets the lower id, the fast one commits first: a cursor
    on ids (or times) would return the fast one, move past the slow one's id and never
    return it. The feed holds the fast one back until the slow one has ended."""
    follower = Follower(client_for(acme.reviewer))
    slow_wrote, fast_committed, looked = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow():
        try:
            with transaction.atomic():
                goal_update(actor=acme.leader, goal=tree.strategic, title="Slow change")
                slow_wrote.set()
                assert fast_committed.wait(30) and looked.wait(30)
        except BaseException as error:  # noqa: BLE001 — reported by the test's thread
            errors.append(error)
        finally:
            connection.close()

    def fast():
        try:
            assert slow_wrote.wait(30)
            department_update(actor=acme.admin, department=acme.marketing, name="Fast change")
            fast_committed.set()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=slow), threading.Thread(target=fast)]
    for thread in threads:
        thread.start()
    assert fast_committed.wait(60), errors
    follower.poll()  # the fast change is committed, the slow one not yet
    assert ("department", acme.marketing.pk, "updated") not in follower.seen()
    looked.set()
    for thread in threads:
        thread.join(60)
    assert not errors, errors

    slow_row = Change.objects.filter(kind="goal", object_id=tree.strategic.pk).latest("id")
    fast_row = Change.objects.get(kind="department", object_id=acme.marketing.pk)
    assert slow_row.id < fast_row.id  # the order of ids is not the order of commits

    follower.until(
        lambda items: ("department", acme.marketing.pk, "updated") in follower.seen(),
        "the fast change",
    )
    keys = follower.seen()
    assert keys.index(("goal", tree.strategic.pk, "updated")) < keys.index(
        ("department", acme.marketing.pk, "updated")
    )
    assert as_rows(follower.items) == rows_of(acme.org.pk)


@pytest.mark.django_db(transaction=True)
def test_a_reader_polling_during_many_concurrent_writes_misses_none_and_repeats_none(
    require_postgres, acme
):
    """Four writers, each committing eight changes with pauses inside its transactions
    (so commits overtake one another), while a reader follows the feed in pages of 5."""
    departments = [
        department_create(actor=acme.admin, name=f"Unit {n}", external_id=f"U-{n}")
        for n in range(4)
    ]
    follower = Follower(client_for(acme.member), limit=5)
    errors: list[BaseException] = []

    def writer(department: Department, seed: int):
        pause = random.Random(seed)
        try:
            for round_ in range(8):
                with transaction.atomic():
                    department_update(
                        actor=acme.admin,
                        department=department,
                        name=f"{department.external_id} {round_}",
                    )
                    time.sleep(pause.uniform(0, 0.03))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(d, n)) for n, d in enumerate(departments)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        follower.poll()
    for thread in threads:
        thread.join()
    assert not errors, errors

    expected = rows_of(acme.org.pk)
    assert len(expected) == 4 + 4 * 8
    follower.until(lambda items: len(items) >= len(expected), "all 36 changes")
    seen = as_rows(follower.items)
    assert Counter(seen) == Counter(expected)  # each exactly once
    assert seen == expected  # in commit order
    follower.poll()
    assert len(follower.items) == len(expected)  # and nothing more afterwards


@pytest.mark.django_db
def test_the_purge_forgets_deletions_and_superseded_changes_after_90_days(acme):
    kept = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Kept")
    goal_update(actor=acme.leader, goal=kept, title="Kept, renamed")
    gone = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Gone")
    assert goal_delete(actor=acme.leader, goal=gone)
    before = rows_of(acme.org.pk)
    assert ("goal", gone.pk, "deleted") in [row[:3] for row in before]

    assert changes_purge(now=NOW + CHANGES_KEPT - dt.timedelta(days=1)) == 0
    assert rows_of(acme.org.pk) == before  # within 90 days: every change

    assert changes_purge(now=NOW + CHANGES_KEPT + dt.timedelta(days=1)) == len(before) - 1
    # Beyond: the last change of each object still there; a deletion is forgotten.
    assert [row[:3] for row in rows_of(acme.org.pk)] == [("goal", kept.pk, "updated")]
    assert changes_purge(now=NOW + CHANGES_KEPT + dt.timedelta(days=1)) == 0
    assert settings.CELERY_BEAT_SCHEDULE["changes-purge"]["task"] == "org.tasks.purge_old_changes"


@pytest.mark.django_db(transaction=True)
def test_another_organizations_changes_never_show(acme, outsider):
    theirs = goal_create(actor=outsider, cycle=outsider.cycle, level="strategic", title="Theirs")
    ours = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Ours")
    acme_feed = Follower(client_for(acme.member))
    acme_feed.until(lambda items: ("goal", ours.pk, "created") in acme_feed.seen(), "our goal")
    their_feed = Follower(client_for(outsider))
    their_feed.until(lambda items: ("goal", theirs.pk, "created") in their_feed.seen(), "theirs")
    assert ("goal", theirs.pk, "created") not in acme_feed.seen()
    assert ("goal", ours.pk, "created") not in their_feed.seen()
    assert as_rows(acme_feed.items) == rows_of(acme.org.pk)
    # Their cursor, given to us, shows only ours after it.
    page = read(client_for(acme.member), their_feed.cursor)
    assert all(item["id"] != theirs.pk for item in page["results"])


@pytest.mark.django_db
def test_the_feed_refuses_the_anonymous_and_a_cursor_it_did_not_give(acme):
    assert APIClient().get(FEED).status_code == 401
    client = client_for(acme.member)
    for bad in ("nope", "MS4xLg", "Mi4xLjE", "-1", "%00"):
        response = client.get(FEED, {"since": bad})
        assert response.status_code == 400, bad
        assert list(response.json()) == ["since"]
    for limit in ("0", "1001", "x"):
        assert client.get(FEED, {"limit": limit}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_reading_the_feed_takes_the_same_queries_at_two_sizes(acme, django_assert_max_num_queries):
    client = client_for(acme.reviewer)
    follower = Follower(client)

    def grow(to: int) -> int:
        while Change.objects.filter(organization=acme.org).count() < to:
            n = Change.objects.count()
            department = department_create(actor=acme.admin, name=f"Unit {n}", external_id=f"U-{n}")
            parent = goal_create(
                actor=acme.leader, cycle=acme.cycle, level="strategic", title=f"Goal {n}"
            )
            goal_create(  # goals and members name their external ids in the same query
                actor=acme.leader,
                cycle=acme.cycle,
                level="department",
                title=f"Goal {n}",
                parent=parent,
                department=department,
                external_id=f"G-{n}",
            )
            goal_delete(actor=acme.admin, goal=parent)  # cancelled: a goal hangs on it
            department_update(actor=acme.admin, department=department, name=f"Unit {n}, renamed")
        total = Change.objects.filter(organization=acme.org).count()
        follower.until(lambda items: len(items) >= total, f"{total} changes")
        return total

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            page = read(client, None, limit=1000)
        return len(queries), len(page["results"])

    grow(6)
    read(client, None)  # first-use caches
    small, small_items = measure()
    grow(60)
    large, large_items = measure()
    assert large_items >= 60 > small_items
    assert small == large, f"{small} queries for {small_items} changes, {large} for {large_items}"
    with django_assert_max_num_queries(3):  # the token, the membership, the feed
        read(client, None, limit=1000)


@pytest.mark.django_db
def test_a_repeated_or_empty_limit_is_a_400_and_an_empty_since_starts_at_the_beginning(acme):
    client = client_for(acme.admin)
    for query in ("?limit=5&limit=6", "?since=a&since=b", "?limit="):
        response = client.get(f"{API}/changes/{query}")
        assert response.status_code == 400, (query, response.content)
    assert client.get(f"{API}/changes/?since=").status_code == 200


@pytest.mark.django_db
def test_options_on_the_upsert_route_describes_it(acme):
    response = client_for(acme.admin).options(f"{API}/goals/by-external-id/crm-1/")
    assert response.status_code == 200, response.content
