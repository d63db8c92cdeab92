"""What people do in a browser, walked in headless Chromium against the real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from goals.models import Goal
from goals.progress import goal_progress, kpi_progress
from kpis.models import Kpi, KpiUpdate

pytestmark = pytest.mark.django_db(transaction=True)


def test_leader_creates_a_strategic_objective_with_a_why_and_sees_it_on_the_dashboard(
    demo, login, page, snap, axe
):
    login("lena")
    page.get_by_role("link", name="New strategic objective").first.click()
    page.get_by_label("Title").fill("Grow recurring revenue")
    page.get_by_label("Why").fill("Predictable income lets us invest in people.")
    snap("form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grow recurring revenue")
    expect(page.locator("p.why")).to_have_text("Predictable income lets us invest in people.")
    axe("objective saved")

    page.get_by_role("link", name="Dashboard").click()
    objective = page.locator("#objective-list li", has_text="Grow recurring revenue")
    expect(objective).to_be_visible()
    expect(objective).to_contain_text("Predictable income lets us invest in people.")
    snap("dashboard")
    goal = Goal.objects.get(title="Grow recurring revenue")
    assert (goal.level, goal.rationale, goal.parent_id) == (
        "strategic",
        "Predictable income lets us invest in people.",
        None,
    )


def test_manager_cascades_a_department_goal_with_a_kpi_under_an_objective(
    demo, login, page, snap, axe
):
    login("max")
    page.locator("#objective-list").get_by_role("link", name="Improve customer experience").click()
    page.get_by_role("link", name="Add goal below").click()
    form = page.locator("#child-form")
    form.get_by_label("Title").fill("Answer every chat within 2 minutes")
    form.get_by_label("Why").fill("Chat is where customers wait the least patiently.")
    form.get_by_label("Level").select_option("department")
    form.get_by_label("Department").select_option(label="Customer Support")
    snap("child-form")
    form.get_by_role("button", name="Add goal").click()
    child = page.locator(".goal-row", has_text="Answer every chat within 2 minutes")
    expect(child).to_be_visible()
    axe("department goal added")
    child.get_by_role("link", name="Answer every chat within 2 minutes").click()

    page.get_by_role("link", name="Add KPI").click()
    kpi_form = page.locator("#kpi-form")
    axe("KPI form")
    kpi_form.get_by_label("Name").fill("Median chat wait time")
    kpi_form.get_by_label("Unit").fill("minutes")
    kpi_form.get_by_label("Direction").select_option("decrease")
    kpi_form.get_by_label("Baseline").fill("6")
    kpi_form.get_by_label("Target").fill("2")
    kpi_form.get_by_role("button", name="Add KPI").click()
    expect(page.locator("article.kpi", has_text="Median chat wait time")).to_be_visible()
    snap("goal-with-kpi")

    goal = Goal.objects.get(title="Answer every chat within 2 minutes")
    assert goal.level == "department" and goal.parent.title == "Improve customer experience"
    assert goal.department.name == "Customer Support"
    kpi = goal.kpis.get()
    assert (kpi.name, kpi.direction, kpi.baseline, kpi.target) == (
        "Median chat wait time",
        "decrease",
        6,
        2,
    )


def siblings(parent: Goal, child: Goal) -> list[tuple[float, float]]:
    """The other goals below `parent`, as they count in it: a done one as 100, a
    cancelled one not at all."""
    others = parent.children.exclude(pk=child.pk).exclude(state="cancelled")
    return [(g.weight, 100.0 if g.state == "done" else g.progress) for g in others]


def expected_after(kpi: Kpi, value: float) -> tuple[float, float, float, float]:
    """What the SPEC formulas give for the KPI, its goal, the department goal and the
    strategic objective once `value` is the KPI's latest value (computed from the rows,
    independently of the roll-up writer)."""
    individual = kpi.goal
    department = individual.parent
    strategic = department.parent
    kpi_pct = kpi_progress(value, kpi.baseline, kpi.target)
    individual_pct = goal_progress([(kpi.weight, kpi_pct)])
    dept_pairs = [(k.weight, k.progress) for k in department.kpis.all()]
    dept_pairs += siblings(department, individual)
    dept_pairs.append((individual.weight, individual_pct))
    department_pct = goal_progress(dept_pairs)
    strategic_pairs = [(k.weight, k.progress) for k in strategic.kpis.all()]
    strategic_pairs += siblings(strategic, department)
    strategic_pairs.append((department.weight, department_pct))
    return kpi_pct, individual_pct, department_pct, goal_progress(strategic_pairs)


def test_member_records_a_value_and_the_kpi_goal_and_objective_bars_move_without_reload(
    demo, login, page, snap
):
    kpi = Kpi.objects.select_related("goal__parent__parent").get(
        name="Average ticket resolution time"
    )
    kpi_pct, individual_pct, department_pct, strategic_pct = (
        round(p, 1) for p in expected_after(kpi, 5)
    )
    assert (kpi_pct, individual_pct) == (50.0, 50.0)

    login("sam")
    page.get_by_role("link", name="My work").click()
    snap("before")
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#kpi-row-{kpi.pk}")
    row.get_by_label("New value of Average ticket resolution time").fill("5")
    row.get_by_label("Note").fill("Two long escalations this week")
    row.get_by_label("Confidence").select_option("medium")
    row.get_by_role("button", name="Record").click()

    row = page.locator(f"#kpi-row-{kpi.pk}")
    expect(row.locator(".saved")).to_contain_text("Saved 5 hours")
    expect(row.locator(".current .value")).to_have_text("5")
    for cls, pct in (
        (f"bar-kpi-{kpi.pk}", kpi_pct),
        (f"bar-goal-{kpi.goal_id}", individual_pct),
        (f"bar-goal-{kpi.goal.parent_id}", department_pct),
        (f"bar-goal-{kpi.goal.parent.parent_id}", strategic_pct),
    ):
        bars = page.locator(f".{cls} progress")
        assert bars.count() >= 1, cls
        for i in range(bars.count()):
            expect(bars.nth(i)).to_have_attribute("aria-valuenow", f"{pct:.1f}")
    expect(page.locator(f".bar-goal-{kpi.goal.parent.parent_id} .pct").first).to_have_text(
        f"{strategic_pct:.1f}%"
    )
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    snap("after")

    update = KpiUpdate.objects.filter(kpi=kpi).latest("created_at")
    assert (update.value, update.note, update.confidence) == (
        5,
        "Two long escalations this week",
        "medium",
    )
    assert round(Goal.objects.get(pk=kpi.goal.parent.parent_id).progress, 1) == strategic_pct


def test_member_cannot_edit_or_record_on_someone_elses_kpi(
    demo, login, page, live_server, snap, axe
):
    others = Kpi.objects.get(name="Qualified leads per month")  # lee's
    login("sam")
    page.goto(f"{live_server.url}/my/")
    expect(page.locator(f"#kpi-row-{others.pk}")).to_have_count(0)
    axe("my work")
    page.goto(f"{live_server.url}/goals/{others.goal_id}/")
    kpi_card = page.locator(f"#kpi-{others.pk}")
    expect(kpi_card).to_be_visible()  # everyone may read it
    expect(kpi_card.get_by_role("link", name="Edit KPI")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit or move")).to_have_count(0)
    snap("no-controls")

    before = KpiUpdate.objects.filter(kpi=others).count()
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/kpis/{others.pk}/record/",
        form={f"kpi{others.pk}-value": "100", "csrfmiddlewaretoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/my/"},
    )
    assert response.status == 403
    edit = page.request.post(
        f"{live_server.url}/kpis/{others.pk}/edit/",
        form={
            "name": "Hijacked",
            "unit": "leads",
            "direction": "increase",
            "aggregation": "latest",
            "baseline": "0",
            "target": "1",
            "weight": "1",
            "csrfmiddlewaretoken": csrf,
        },
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/my/"},
    )
    assert edit.status == 403
    others.refresh_from_db()
    assert KpiUpdate.objects.filter(kpi=others).count() == before
    assert others.name == "Qualified leads per month"


def test_decreasing_kpi_with_target_above_baseline_shows_the_message_and_creates_nothing(
    demo, login, page, snap, axe
):
    goal = Goal.objects.get(title="Reduce average response time by 20%")
    count = Kpi.objects.count()
    login("max")
    page.goto(page.url.rstrip("/") + f"/goals/{goal.pk}/")
    page.get_by_role("link", name="Add KPI").click()
    form = page.locator("#kpi-form")
    expect(form).to_be_visible()
    axe("KPI form")
    form.get_by_label("Name").fill("Escalations per week")
    form.get_by_label("Unit").fill("escalations")
    form.get_by_label("Direction").select_option("decrease")
    form.get_by_label("Baseline").fill("5")
    form.get_by_label("Target").fill("10")
    form.get_by_role("button", name="Add KPI").click()

    form = page.locator("#kpi-form")
    target_field = form.locator(".field", has=page.get_by_label("Target"))
    expect(target_field.locator(".field-error")).to_contain_text("target below its baseline")
    expect(form.get_by_label("Name")).to_have_value("Escalations per week")
    expect(form.get_by_label("Target")).to_have_value("10")
    expect(form.get_by_label("Baseline")).to_have_value("5")
    snap("error")
    assert Kpi.objects.count() == count
    assert re.search(rf"/goals/{goal.pk}/$", page.url)


def test_member_corrects_a_mistyped_value_on_my_work_and_retracts_one_on_the_goal_page(
    demo, login, page, live_server, snap, axe
):
    kpi = Kpi.objects.select_related("goal__parent__parent").get(
        name="Average ticket resolution time"
    )
    latest = KpiUpdate.objects.filter(kpi=kpi).latest("date", "created_at")
    login("sam")
    page.get_by_role("link", name="My work").click()
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#kpi-row-{kpi.pk}")
    row.locator("summary", has_text="History").click()
    entry = page.locator(f"#update-{latest.pk}")
    expect(entry).to_be_visible()
    axe("history open")
    entry.get_by_role("link", name="Correct").click()
    entry = page.locator(f"#update-{latest.pk}")
    entry.get_by_label("Value").fill("4")
    entry.get_by_label("Note").fill("Typed 4.3 instead of 4")
    snap("correcting")
    entry.get_by_role("button", name="Save the correction").click()

    struck = page.locator(f"#update-{latest.pk}")
    expect(struck).to_have_class(re.compile("struck"))
    expect(struck.locator("del")).to_have_text("4.3")
    expect(struck).to_contain_text("Corrected to 4 by")
    expect(row.locator(".current .value")).to_have_text("4")
    expect(row.locator(f"#kpi-last-{kpi.pk}")).to_contain_text("Typed 4.3 instead of 4")
    expect(page.locator(f".bar-kpi-{kpi.pk} progress").first).to_have_attribute(
        "aria-valuenow", "100.0"
    )
    assert page.evaluate("window.__sameDocument") is True
    snap("corrected")
    assert Kpi.objects.get(pk=kpi.pk).current == 4

    page.on("dialog", lambda dialog: dialog.accept())  # "Retract …? It stays in the history"
    page.goto(f"{live_server.url}/goals/{kpi.goal_id}/")
    correction = KpiUpdate.objects.get(replaces=latest)
    entry = page.locator(f"#update-{correction.pk}")
    entry.get_by_role("link", name="Retract").click()
    entry = page.locator(f"#update-{correction.pk}")
    expect(entry.get_by_label("Why")).to_be_visible()
    axe("retract form")
    entry.get_by_label("Why").fill("Measured on the wrong queue")
    entry.get_by_role("button", name="Retract the value").click()
    expect(page.locator(f"#update-{correction.pk}")).to_contain_text("Retracted by")
    expect(page.locator(f"#update-{latest.pk}")).to_have_class(re.compile("struck"))
    snap("retracted")
    previous = KpiUpdate.objects.live().filter(kpi=kpi).latest("date", "created_at")
    assert Kpi.objects.get(pk=kpi.pk).current == previous.value
