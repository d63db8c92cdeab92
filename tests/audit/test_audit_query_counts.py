"""The Audit page and GET /api/v1/audit/ read in the same number of queries whatever
the size of the log: measured with 10 entries and again with 100."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.record import record

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db

# Upper bounds, a little over what is measured.
PAGE_QUERIES = 8  # session, user, member, unread notifications; people; count; entries
API_QUERIES = 5  # token, member; count; entries


def add_entries(acme, tree, count: int) -> None:
    """Entries by several people, some through a token, some of bulk writes."""
    people = [acme.leader, acme.manager, acme.admin]
    for n in range(count):
        actor = people[n % len(people)]
        actor.via_token, actor.via_token_id = ("BI sync", 7) if n % 4 == 0 else ("", None)
        if n % 5 == 0:
            listed = [{"id": g, "label": f"Goal {g}"} for g in range(30)]
            record(actor, "cycle.imported", acme.cycle, changes={"goals_created": [None, listed]})
        else:
            record(actor, "goal.updated", tree.department, changes={"weight": [n, n + 1]})
    for actor in people:
        actor.via_token, actor.via_token_id = "", None


def measure(get) -> int:
    get()  # warm up: first-use caches are not the page's cost
    with CaptureQueriesContext(connection) as queries:
        response = get()
    assert response.status_code == 200, response.content[:500]
    return len(queries)


@pytest.mark.parametrize(("where", "bound"), [("page", PAGE_QUERIES), ("api", API_QUERIES)])
def test_the_log_reads_in_the_same_queries_at_10_and_100_entries(
    where, bound, acme, tree, client, django_assert_max_num_queries
):
    api = client_for(acme.admin)
    client.force_login(acme.admin.user)

    def get():
        if where == "page":
            return client.get("/audit/")
        return api.get(f"{API}/audit/", {"page_size": 200})

    add_entries(acme, tree, 10)
    small = measure(get)
    add_entries(acme, tree, 90)
    large = measure(get)
    assert small == large, f"{where}: {small} queries with 10 entries, {large} with 100"
    with django_assert_max_num_queries(bound):
        get()
    print(f"\naudit {where}: {small} queries at 10 entries = {large} at 100")
