"""The reviews/ API's reads take the same number of queries however many goals,
people, reviews and actions the organization has (no N+1), under a fixed bound; a
review's items list every goal in agenda order across pages.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Goal
from reviews.models import ActionItem, Review
from reviews.services import action_create, review_start

from ..api.helpers import API, client_for
from ..factories import GoalFactory, KpiFactory, MemberFactory
from .helpers import schedule

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- query counts


class Growth:
    """Grows Acme by rounds: department goals with individual goals below (a KPI
    each), people, and reviews of every scope and state, each started review with
    actions."""

    def __init__(self, acme, tree):
        self.acme, self.tree, self.round = acme, tree, 0

    def grow(self, width: int) -> Review:
        """Add `width` department goals (each with `width` individual goals) and
        `width` reviews; returns a started whole-organization review with `width`
        actions, which walks every goal there is now."""
        acme, tree = self.acme, self.tree
        self.round += 1
        places = [(acme.support, acme.manager), (acme.tier2, acme.manager),
                  (acme.marketing, acme.marketing_manager)]  # fmt: skip
        for d in range(width):
            department, manager = places[d % 3]
            person = MemberFactory(organization=acme.org, department=department)
            goal = GoalFactory(
                cycle=acme.cycle, level="department", parent=tree.strategic,
                department=department, owner=manager,
                health=("off_track", "at_risk", "on_track")[d % 3],
            )  # fmt: skip
            KpiFactory(goal=goal, owner=manager)
            for _ in range(width):
                leaf = GoalFactory(cycle=acme.cycle, level="individual", parent=goal, owner=person)
                KpiFactory(goal=leaf, owner=person)
        for r in range(width):
            scope = [{}, {"department": acme.support}, {"goal": tree.department}][r % 3]
            review = schedule(
                acme.admin, cycle=acme.cycle, title=f"Review {self.round}.{r}",
                facilitator=[acme.reviewer, acme.manager, acme.leader][r % 3], **scope,
            )  # fmt: skip
            if r % 2:
                review_start(actor=acme.admin, review=review)
        measured = review_start(
            actor=acme.admin,
            review=schedule(acme.admin, cycle=acme.cycle, title=f"Measured {self.round}"),
        )
        items = list(measured.items.order_by("position"))
        for a in range(width):
            action_create(
                actor=acme.admin, review=measured, title=f"Action {a}", owner=acme.member,
                due=dt.date(2027, 4, 1 + a), item=items[a % len(items)],
            )  # fmt: skip
        return measured


def count_queries(client, url: str) -> tuple[int, dict]:
    client.get(url)  # warm up
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("endpoint", ["list", "items", "actions", "review"])
def test_review_reads_take_the_same_queries_at_two_sizes(
    acme, tree, endpoint, django_assert_max_num_queries
):
    growth = Growth(acme, tree)
    client = client_for(acme.member)

    def url(review):
        return {
            "list": f"{API}/reviews/",
            "items": f"{API}/reviews/{review.pk}/items/",
            "actions": f"{API}/reviews/{review.pk}/actions/",
            "review": f"{API}/reviews/{review.pk}/",
        }[endpoint]

    small_review = growth.grow(2)
    small, small_data = count_queries(client, url(small_review))
    large_review = growth.grow(6)
    large, large_data = count_queries(client, url(large_review))
    assert Goal.objects.filter(cycle=acme.cycle).count() > 40
    if endpoint != "review":
        assert large_data["count"] > 2 * small_data["count"]
    assert small == large, f"{endpoint}: {small} queries small, {large} large"
    with django_assert_max_num_queries(5):
        client.get(url(large_review))
    print(f"\nGET reviews {endpoint}: {small} queries = {large} queries")


def test_items_list_every_goal_in_agenda_order_across_pages(acme, tree):
    growth = Growth(acme, tree)
    growth.grow(2)
    review = growth.grow(7)  # 3 + 6 + 56 goals: more than a page of 50
    client = client_for(acme.reviewer)
    url, seen = f"{API}/reviews/{review.pk}/items/", []
    while url:
        page = client.get(url).json()
        seen += page["results"]
        url = page["next"]
    assert len(seen) == review.items.count() == Goal.objects.filter(cycle=acme.cycle).count()
    healths = [i["health_snapshot"] for i in seen]
    first_not_off = healths.index(next(h for h in healths if h != "off_track"))
    assert set(healths[:first_not_off]) == {"off_track"}
    assert "off_track" not in healths[first_not_off:]
    assert ActionItem.objects.filter(review=review).count() == 7
