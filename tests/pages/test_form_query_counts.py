"""The forms that offer only what is allowed (SPEC §9.3), and the import's preview with
its choice, cost the same number of SQL queries in a small and a large goal tree (the
trees of test_query_counts.py), under a fixed bound."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cycles.models import ImportJob

from ..cycles.imports import EXAMPLE
from .test_query_counts import HTMX, assert_same_queries_at_two_sizes

pytestmark = pytest.mark.django_db


@pytest.fixture
def same_queries(client, acme, django_assert_max_num_queries):
    def check(*, viewer, request, bound: int) -> tuple[int, int]:
        return assert_same_queries_at_two_sizes(
            client, acme, django_assert_max_num_queries, viewer=viewer, request=request, bound=bound
        )

    return check


def test_add_goal_below_queries_do_not_grow_with_the_tree(same_queries, acme):
    def form(client, tree):
        return client.get(f"/goals/{tree.first_objective.pk}/children/new/", headers=HTMX)

    same_queries(viewer=acme.manager, request=form, bound=7)


def test_goal_edit_queries_do_not_grow_with_the_tree(same_queries, acme):
    def form(client, tree):
        return client.get(f"/goals/{tree.first_department_goal.pk}/edit/")

    same_queries(viewer=acme.manager, request=form, bound=9)


def test_kpi_add_queries_do_not_grow_with_the_tree(same_queries, acme):
    def add(client, tree):
        return client.get(f"/goals/{tree.first_department_goal.pk}/kpis/new/", headers=HTMX)

    same_queries(viewer=acme.manager, request=add, bound=6)


def test_kpi_edit_queries_do_not_grow_with_the_tree(same_queries, acme):
    def edit(client, tree):
        return client.get(f"/kpis/{tree.kpis[tree.first_department_goal.pk].pk}/edit/")

    same_queries(viewer=acme.manager, request=edit, bound=7)


def test_review_scheduling_queries_do_not_grow_with_the_tree(same_queries, acme):
    same_queries(viewer=acme.manager, request=lambda c, t: c.get("/reviews/"), bound=10)


def test_choosing_how_to_read_the_article_plans_again_in_queries_that_do_not_grow(
    same_queries, acme
):
    """The choice plans the file again against the cycle, in place: a fixed number of
    queries whatever the tree's size."""

    def choose(client, tree):
        job = ImportJob.objects.filter(cycle=tree.cycle).first()
        if job is None:
            upload = SimpleUploadedFile("article.csv", EXAMPLE.encode())
            client.post(f"/cycles/{tree.cycle.pk}/import/", {"file": upload})
            job = ImportJob.objects.get(cycle=tree.cycle)
        url = f"/cycles/{tree.cycle.pk}/import/{job.pk}/"
        return client.post(url, {"individual_kpi": "goal"}, headers=HTMX)

    same_queries(viewer=acme.leader, request=choose, bound=18)
