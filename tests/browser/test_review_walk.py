"""A check-in meeting walked in Chromium: schedule, start, record, act, complete."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reviews.models import ActionItem, Review, ReviewItem

pytestmark = pytest.mark.django_db(transaction=True)


def test_reviewer_runs_a_quarterly_department_review_and_the_action_lands_on_my_work(
    demo, login, page, live_server, snap
):
    login("rey")
    page.get_by_role("link", name="Reviews").click()
    form = page.locator("form", has=page.get_by_role("button", name="Schedule"))
    form.get_by_label("Title").fill("Support Q4 check-in")
    form.get_by_label("…or a department").select_option(label="Customer Support")
    expect(form.get_by_label("Period")).to_have_value(
        Review.objects.first().period
    )  # the cycle's quarter, proposed
    form.get_by_label("When").fill("2026-12-01T10:00")
    snap("schedule")
    form.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support Q4 check-in")
    review = Review.objects.get(title="Support Q4 check-in")
    assert review.department.name == "Customer Support" and review.state == "scheduled"

    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_role("navigation", name="Agenda", exact=True)).to_be_visible()
    review.refresh_from_db()
    assert review.state == "in_progress"
    items = list(review.items.order_by("position"))
    assert {i.goal.title for i in items} == {
        "Reduce average response time by 20%",
        "Resolve support tickets within 4 hrs avg",
    }
    first = items[0]
    panel = page.locator("#item-panel")
    expect(panel.get_by_role("heading", level=2)).to_contain_text(first.goal.title)
    snap("meeting")

    item_form = panel.locator(f"#item-form-{first.pk}")
    item_form.get_by_label("Assessment").select_option("at_risk")
    item_form.get_by_label("A win to celebrate").check()
    item_form.get_by_label("Notes").fill("First response time fell two weeks in a row.")
    item_form.get_by_label("Decision / course correction").fill("Add a second shift on Mondays.")
    item_form.get_by_role("button", name="Save").click()
    expect(panel.locator(f"#item-form-{first.pk} .saved")).to_have_text("Saved.")

    actions = panel.locator(f"#item-actions-{first.pk}")
    actions.get_by_label("Action").fill("Draft the Monday rota")
    actions.get_by_label("Owner").select_option(label="Sam Silva")
    actions.get_by_label("Due").fill("2026-12-15")
    actions.get_by_role("button", name="Add action").click()
    expect(actions.locator(".action", has_text="Draft the Monday rota")).to_be_visible()
    snap("recorded")

    item = ReviewItem.objects.get(pk=first.pk)
    assert (item.assessment, item.win, item.decision) == (
        "at_risk",
        True,
        "Add a second shift on Mondays.",
    )
    action = ActionItem.objects.get(title="Draft the Monday rota")
    assert (action.owner.user.username, str(action.due), action.item_id) == (
        "sam",
        "2026-12-15",
        first.pk,
    )

    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Complete the review").click()
    summary = page.locator(".summary-print")
    expect(summary.get_by_role("heading", name="★ Wins")).to_be_visible()
    expect(summary.locator(".wins")).to_contain_text(first.goal.title)
    expect(summary.locator(".corrections")).to_contain_text("Add a second shift on Mondays.")
    expect(summary.locator("table").first).to_contain_text("Draft the Monday rota")
    expect(summary.locator("table").first).to_contain_text("Sam Silva")
    expect(summary.locator("table").first).to_contain_text("2026-12-15")
    snap("summary")
    assert dialogs and dialogs[0].startswith(f"Complete “{review.title}”?")
    review.refresh_from_db()
    assert review.state == "completed"

    page.get_by_role("button", name="Log out").click()
    login("sam")
    page.get_by_role("link", name="My work").click()
    mine = page.locator(".actions-list .action", has_text="Draft the Monday rota")
    expect(mine).to_be_visible()
    expect(mine).to_contain_text("Support Q4 check-in")
    mine.get_by_role("checkbox").check()
    expect(page.locator(f"#action-{action.pk}.done")).to_be_visible()
    snap("my-work-action")
    action.refresh_from_db()
    assert action.done
