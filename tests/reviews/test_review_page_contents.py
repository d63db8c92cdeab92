"""What the Reviews pages show (SPEC §5): the list of upcoming and completed reviews
and the form for those who may schedule; a scheduled review with its participants; a
review in progress walked item by item, the snapshot beside the live numbers; a
completed review's summary; times in the organization's zone; a goal page's completed
reviews and My work's open action items. Every page takes the same number of queries
in a small and a large organization, and completing asks first.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Goal
from kpis.models import KpiUpdate
from reviews.models import Review
from reviews.services import (
    action_create,
    action_update,
    review_complete,
    review_item_update,
    review_start,
)

from ..factories import CycleFactory, GoalFactory, KpiFactory, MemberFactory
from ..pages.helpers import parse
from .helpers import at, schedule
from .test_review_pages import HTMX, D, schedule_data
from .test_review_pages import completed as completed  # fixtures
from .test_review_pages import running as running
from .test_review_pages import scheduled as scheduled

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- the pages, state by state


def test_the_list_shows_upcoming_and_completed_reviews(client, acme, tree, scheduled, outsider):
    done = schedule(acme.admin, cycle=acme.cycle, title="Whole Q1", scheduled_for=at(2027, 3, 1))
    review_start(actor=acme.admin, review=done)
    review_complete(actor=acme.admin, review=done)
    client.force_login(acme.member.user)
    response = client.get("/reviews/")
    assert response.status_code == 200
    page = parse(response)
    upcoming = page.find(**{"aria-labelledby": "upcoming-h"}).text
    past = page.find(**{"aria-labelledby": "past-h"}).text
    assert "Support Q1" in upcoming and "Whole Q1" not in upcoming
    assert "Whole Q1" in past and "Support Q1" not in past
    assert page.find(id="schedule-h") is None  # a member schedules nothing


@pytest.mark.parametrize("who", ["admin", "leader", "reviewer", "manager"])
def test_those_who_may_schedule_see_the_form(client, acme, tree, who):
    client.force_login(getattr(acme, who).user)
    page = parse(client.get("/reviews/"))
    assert page.find(id="schedule-h") is not None
    assert page.find(id="id_period").attrs.get("value") in ("2026-Q4", "2027-Q1")


def test_a_scheduled_review_shows_its_participants_and_a_start_button(client, acme, scheduled):
    client.force_login(acme.manager.user)
    response = client.get(f"/reviews/{scheduled.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Start the review" in content and "Complete the review" not in content
    assert "Before the meeting" in content
    people = {li.text.strip() for li in parse(response).find(**{"class": "people"}).iter()}
    assert people == {"rey", "max", "sam", "tia"}
    client.force_login(acme.member.user)
    assert b"Start the review" not in client.get(f"/reviews/{scheduled.pk}/").content


def test_a_review_in_progress_walks_item_by_item(client, acme, tree, running):
    client.force_login(acme.reviewer.user)
    items = list(running.items.order_by("position").select_related("goal"))
    response = client.get(f"/reviews/{running.pk}/")
    assert response.status_code == 200
    page = parse(response)
    panel = page.find(id="item-panel")
    assert items[0].goal.title in page.find(id="item-h").text  # the first item by default
    assert page.find(id=f"item-form-{items[0].pk}") is not None
    assert "Complete the review" in response.content.decode()
    assert "Share the playbook" in panel.text

    second = items[1]
    response = client.get(f"/reviews/{running.pk}/?item={second.pk}")
    page = parse(response)
    assert second.goal.title in page.find(id="item-h").text
    current = [e for e in page.iter() if e.attrs.get("aria-current") == "step"]
    assert len(current) == 1 and second.goal.title in current[0].text
    assert "Share the playbook" not in page.find(id="item-panel").text  # the first item's

    # htmx: the panel alone
    response = client.get(f"/reviews/{running.pk}/?item={second.pk}", headers=HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content and b'id="item-panel"' in response.content
    assert second.goal.title.encode() in response.content

    # a member reads the meeting but gets no forms
    client.force_login(acme.member.user)
    page = parse(client.get(f"/reviews/{running.pk}/?item={items[0].pk}"))
    assert page.find(id=f"item-form-{items[0].pk}") is None
    assert "Complete the review" not in page.text


def test_a_review_in_progress_shows_the_snapshot_beside_now(client, acme, tree, running):
    KpiUpdate.objects.create(
        kpi=tree.individual_kpi, value=5, date=D(2026, 1, 1), author=acme.member, note="Halfway"
    )
    from kpis.rollup import cycle_rollup

    cycle_rollup(acme.cycle)
    item = running.items.get(goal=tree.individual)
    client.force_login(acme.reviewer.user)
    page = parse(client.get(f"/reviews/{running.pk}/?item={item.pk}"))
    panel = page.find(id="item-panel")
    snapshot = next(e for e in panel.iter() if "snapshot" in e.classes)
    assert snapshot.text.strip() == "0.0%"
    assert "50.0%" in panel.text and "Halfway" in panel.text


def test_a_completed_review_shows_a_summary(client, acme, tree, completed):
    client.force_login(acme.member.user)
    response = client.get(f"/reviews/{completed.pk}/")
    assert response.status_code == 200
    page = parse(response)
    summary = page.find(id="summary-h").parent
    wins = summary.find(**{"class": "wins"}).text
    corrections = summary.find(**{"class": "corrections"}).text
    first, second = completed.items.order_by("position").select_related("goal")
    assert first.goal.title in wins and "Response time fell" in wins
    assert second.goal.title not in wins
    assert second.goal.title in corrections and "Add a second shift" in corrections
    table = summary.text
    assert "Share the playbook" in table and "Draft the Monday rota" in table
    assert acme.member.display_name in table and acme.manager.display_name in table
    assert "Start the review" not in page.text and "Complete the review" not in page.text
    assert b"item-form" not in response.content and b"action-form" not in response.content


# ---------------------------------------------------------------- time zone


def test_the_schedule_form_reads_and_shows_the_organizations_time(client, acme, tree):
    acme.org.timezone = "Asia/Tokyo"
    acme.org.save()
    client.force_login(acme.reviewer.user)
    response = client.post("/reviews/", schedule_data(scheduled_for="2027-03-29T10:00"))
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.scheduled_for == dt.datetime(
        2027, 3, 29, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")
    )
    assert review.scheduled_for == at(2027, 3, 29, 1)
    assert "March 29, 2027 10:00" in client.get(f"/reviews/{review.pk}/").content.decode()
    assert "Mon Mar 29, 10:00" in client.get("/reviews/").content.decode()


# ---------------------------------------------------------------- goal page and My work


def test_the_goal_page_shows_its_completed_reviews(client, acme, tree, completed):
    later = review_start(
        actor=acme.admin,
        review=schedule(acme.admin, cycle=acme.cycle, title="Still running", goal=tree.department),
    )
    assert later.items.filter(goal=tree.department).exists()
    client.force_login(acme.member.user)
    response = client.get(f"/goals/{tree.department.pk}/")
    assert response.status_code == 200
    page = parse(response)
    title = next(e for e in page.iter() if e.tag == "title").text
    assert title.strip() == f"{tree.department.title} · Cascade"
    sections = [e for e in page.iter() if e.attrs.get("id") == "reviews-h"]
    assert len(sections) == 1
    past = sections[0].parent.text
    assert "Support Q1" in past and "Still running" not in past
    item = completed.items.get(goal=tree.department)
    assert f"/reviews/{completed.pk}/?item={item.pk}" in response.content.decode()

    other = Goal.objects.create(
        organization=acme.org, cycle=acme.cycle, level="strategic", title="Unreviewed",
        start=acme.cycle.start, due=acme.cycle.end,
    )  # fmt: skip
    past = parse(client.get(f"/goals/{other.pk}/")).find(id="reviews-h").parent.text
    assert "Not reviewed in a completed check-in yet" in past


def test_my_work_shows_my_open_action_items(client, acme, tree, completed):
    (open_,) = completed.actions.filter(owner=acme.member)
    done = action_create(
        actor=acme.reviewer, review=schedule_and_start(acme), title="Already done",
        owner=acme.member, due=D(2027, 4, 2),
    )  # fmt: skip
    action_update(actor=acme.member, action=done, done=True)
    client.force_login(acme.member.user)
    section = parse(client.get("/my/")).find(id="my-actions-h").parent.text
    assert "Share the playbook" in section and "Support Q1" in section
    assert "Already done" not in section and "Draft the Monday rota" not in section  # max's
    client.force_login(acme.manager.user)
    section = parse(client.get("/my/")).find(id="my-actions-h").parent.text
    assert "Draft the Monday rota" in section and "Share the playbook" not in section
    client.force_login(acme.tier2_member.user)
    section = parse(client.get("/my/")).find(id="my-actions-h").parent.text
    assert "No open action items" in section


def schedule_and_start(acme) -> Review:
    return review_start(
        actor=acme.admin, review=schedule(acme.admin, cycle=acme.cycle, title="Another")
    )


# ---------------------------------------------------------------- query counts


class Growth:
    """A cycle containing today, grown by rounds: department goals with individual
    goals below (a KPI with two values each), people, and reviews of every scope and
    state. Each round returns a whole-organization review walking every goal there is
    then, started (with actions on its first item) and one completed (with wins,
    decisions and actions)."""

    def __init__(self, acme):
        self.acme, self.round = acme, 0
        today = acme.org.today()
        self.cycle = CycleFactory(
            organization=acme.org, name="Current", start=today - dt.timedelta(days=100),
            end=today + dt.timedelta(days=200),
        )  # fmt: skip
        self.root = GoalFactory(cycle=self.cycle, title="Objective", health="on_track")
        self._kpi(self.root, acme.leader)
        self.period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"

    def _kpi(self, goal, owner):
        kpi = KpiFactory(goal=goal, owner=owner)
        today = self.acme.org.today()
        KpiUpdate.objects.bulk_create(
            KpiUpdate(kpi=kpi, value=v, date=today - dt.timedelta(days=d), author=owner)
            for v, d in ((20, 30), (35, 3))
        )

    def grow(self, width: int) -> tuple[Review, Review]:
        acme = self.acme
        self.round += 1
        places = [(acme.support, acme.manager), (acme.tier2, acme.manager),
                  (acme.marketing, acme.marketing_manager)]  # fmt: skip
        for d in range(width):
            department, manager = places[d % 3]
            person = MemberFactory(organization=acme.org, department=department)
            goal = GoalFactory(
                cycle=self.cycle, level="department", parent=self.root, department=department,
                owner=manager, health=("off_track", "at_risk", "on_track")[d % 3],
            )  # fmt: skip
            self._kpi(goal, manager)
            for _ in range(width):
                leaf = GoalFactory(cycle=self.cycle, level="individual", parent=goal, owner=person)
                self._kpi(leaf, person)
        for r in range(width):
            scope = [{}, {"department": acme.support}, {"goal": self.root}][r % 3]
            review = self._schedule(f"Review {self.round}.{r}", **scope)
            if r % 2:
                review_start(actor=acme.admin, review=review)
        running = review_start(actor=acme.admin, review=self._schedule(f"Running {self.round}"))
        done = review_start(actor=acme.admin, review=self._schedule(f"Done {self.round}"))
        for review in (running, done):
            items = list(review.items.order_by("position"))
            for n, item in enumerate(items):
                review_item_update(actor=acme.admin, item=item, win=n % 2 == 0,
                                   decision=f"Decision {n}" if n % 3 == 0 else "",
                                   assessment="on_track")  # fmt: skip
            for a in range(width):
                owner = [acme.member, acme.manager, acme.reviewer][a % 3]
                action_create(actor=acme.admin, review=review, title=f"Action {a}",
                              owner=owner, due=D(2027, 4, 1 + a),
                              item=items[0] if a % 2 else items[a % len(items)])  # fmt: skip
        review_complete(actor=acme.admin, review=done)
        return running, done

    def _schedule(self, title, **scope) -> Review:
        return schedule(
            self.acme.admin, cycle=self.cycle, title=title, period=self.period,
            facilitator=self.acme.reviewer, **scope,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("page", "viewer", "bound"),
    [
        ("list", "reviewer", 11),
        ("in progress", "reviewer", 12),
        ("in progress, second item", "manager", 11),
        ("in progress, htmx item", "reviewer", 11),
        ("completed", "member", 11),
    ],
)
def test_review_pages_take_the_same_queries_at_two_sizes(
    client, acme, page, viewer, bound, django_assert_max_num_queries
):
    growth = Growth(acme)
    client.force_login(getattr(acme, viewer).user)

    def url(running: Review, done: Review) -> tuple[str, dict]:
        second = running.items.order_by("position")[1]
        return {
            "list": ("/reviews/", {}),
            "in progress": (f"/reviews/{running.pk}/", {}),
            "in progress, second item": (f"/reviews/{running.pk}/?item={second.pk}", {}),
            "in progress, htmx item": (f"/reviews/{running.pk}/?item={second.pk}", HTMX),
            "completed": (f"/reviews/{done.pk}/", {}),
        }[page]

    def measure(reviews) -> int:
        path, headers = url(*reviews)
        client.get(path, headers=headers)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, response.content[:500]
        return len(ctx.captured_queries)

    small_reviews = growth.grow(2)
    small = measure(small_reviews)
    large_reviews = growth.grow(6)
    assert large_reviews[0].items.count() > 3 * small_reviews[0].items.count()
    large = measure(large_reviews)
    assert small == large, f"{page}: {small} queries small, {large} large"
    path, headers = url(*large_reviews)
    with django_assert_max_num_queries(bound):
        client.get(path, headers=headers)
    print(f"\n/reviews/ {page}: {small} queries = {large} queries")


def test_completing_asks_first_then_loads_the_completed_review(client, acme, running):
    client.force_login(acme.reviewer.user)
    page = client.get(f"/reviews/{running.pk}/").content.decode()
    assert f'hx-confirm="Complete “{running.title}”?' in page
    response = client.post(f"/reviews/{running.pk}/complete/", headers=HTMX)
    assert response.status_code == 204
    assert response["HX-Location"] == f"/reviews/{running.pk}/"
    assert Review.objects.get(pk=running.pk).state == "completed"
