"""A whole quarter played in Chromium, through the pages only (SPEC §8.3).

The demo organization "Acme" runs its year "FY 2027". On 15 March 2027 (the tests'
clock) the leader plans a new cycle "Q2 2027" beside it; the clock then moves through
the quarter: mid-May the manager cascades a department goal and the member aligns an
individual goal, gives it a KPI and records values (so does the manager, from the goal
page); mid-June the reviewer runs the check-in; on 30 June the leader closes the
quarter, the member's late value is refused in place, and the leader rolls the
unfinished goals over into "Q3 2027".

Throughout, every console error, uncaught page error, Content-Security-Policy
violation and server error is collected; the walk fails on any of them, in the
development (DEBUG on) and the production setup alike.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import Page, expect

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Notification
from reviews.models import ActionItem, Review

pytestmark = pytest.mark.django_db(transaction=True)

# Stored in window.__csp (read at each checkpoint, as the other walks do) and also
# passed to a binding that outlives navigations, so no violation is lost to a reload.
LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  const seen = `${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || location.href}:${e.lineNumber}`;
  window.__csp = (window.__csp || []).concat(seen);
  if (window.__reportCsp) window.__reportCsp(location.href, seen);
});"""

# The quarter, in the organization's time zone (UTC). Planning happens on the tests'
# fixed day, 2027-03-15, before the quarter starts.
MID_QUARTER = dt.datetime(2027, 5, 17, 9, tzinfo=dt.UTC)
REVIEW_DAY = dt.datetime(2027, 6, 14, 9, tzinfo=dt.UTC)
QUARTER_END = dt.datetime(2027, 6, 30, 15, tzinfo=dt.UTC)

# The spec's example table: objective, why, and its KPI
# (name, unit, direction, aggregation, baseline, target).
OBJECTIVES = [
    (
        "Improve customer experience",
        "Customers who get fast, helpful answers stay longer and recommend us.",
        ("Customer satisfaction score", "%", "increase", "latest", "78", "90"),
    ),
    (
        "Expand market presence",
        "Three new regions double the customers we can reach.",
        ("Customers won in new regions", "customers", "increase", "sum", "0", "120"),
    ),
    (
        "Strengthen innovation culture",
        "Tomorrow's products come from ideas people feel safe to share today.",
        ("Staff taking part in an innovation lab", "%", "increase", "latest", "10", "60"),
    ),
]
DEPARTMENT_GOAL = "Reduce average response time by 20%"
INDIVIDUAL_GOAL = "Resolve support tickets within 4 hrs avg"
INDIVIDUAL_KPI = "Average ticket resolution time"
ACTION = "Pair with Tier 2 on the oldest tickets"


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


class Walk:
    """One person at a time in one browser tab, and everything that went wrong."""

    def __init__(self, page: Page, url: str, snap, axe):
        self.page, self.url, self.snap, self.axe = page, url, snap, axe
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.step = "start"
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._problem(f"page error: {error}"))
        page.on(
            "response",
            lambda r: r.status >= 500 and self._problem(f"HTTP {r.status} for {r.url}"),
        )
        page.on("dialog", self._dialog)
        page.expose_function(
            "__reportCsp", lambda where, seen: self._problem(f"CSP violation on {where}: {seen}")
        )
        page.add_init_script(LISTEN_FOR_CSP)

    def _problem(self, text: str) -> None:
        entry = f"[{self.step}] {text}"
        if entry not in self.problems:
            self.problems.append(entry)

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url") or self.page.url
            self._problem(f"console error on {where}: {message.text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    def checkpoint(self, step: str) -> None:
        """The end of a step: what this page saw (its window state is gone after the
        next navigation), and its screenshots at 1280 and 390 px."""
        for seen in self.page.evaluate("window.__csp || []"):
            self._problem(f"CSP violation on {self.page.url}: {seen}")
        self.snap(step)
        self.step = step

    def log_in(self, username: str) -> Page:
        page = self.page
        logout = page.get_by_role("button", name="Log out")
        if page.url.startswith(self.url) and logout.count():
            logout.click()
            expect(page.get_by_label("Username")).to_be_visible()
        else:
            page.goto(f"{self.url}/accounts/login/")
            self.axe("login page")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("cascade-demo")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        self.step = f"{self.step} → {username}"
        self.axe(f"{self.step}: home page")
        return page

    def pick_cycle(self, name: str) -> None:
        """The cycle switcher: pick a cycle, "Show" (the pick is remembered: the page
        comes back without `?cycle=`, in the picked cycle)."""
        page = self.page
        switch = page.locator("form.cycle-switch")
        value = switch.locator("option", has_text=name).get_attribute("value")
        switch.locator("select#cycle-select").select_option(value)
        switch.get_by_role("button", name="Show").click()
        expect(page).not_to_have_url(re.compile(r"[?&]cycle="))  # the pick is the person's
        expect(page.locator("select#cycle-select option:checked")).to_have_text(name)

    def open_in_map(self, *titles: str) -> None:
        """Cascade map → expand each goal of the path → open the last one."""
        page = self.page
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Cascade").click()
        for title in titles[:-1]:
            self.expand(title)
        self.axe(f"{self.step}: cascade map, {titles[-2]} expanded")
        page.get_by_role("link", name=titles[-1], exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(titles[-1])

    def expand(self, title: str) -> None:
        """Expand a goal's node on the Cascade map (its children load in place)."""
        row = self.page.locator(
            ".node-row", has=self.page.get_by_role("link", name=title, exact=True)
        )
        row.locator("xpath=following-sibling::details/summary").click()
        expect(row.locator("xpath=following-sibling::details//ul[@class='tree']")).to_be_visible()

    def add_kpi(self, name, unit, direction, aggregation, baseline, target) -> None:
        page = self.page
        page.get_by_role("link", name="Add KPI").click()
        form = page.locator("#kpi-form")
        expect(form).to_be_visible()
        self.axe(f"{self.step}: KPI form for {name}")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Unit").fill(unit)
        form.get_by_label("Direction").select_option(direction)
        form.get_by_label("Aggregation").select_option(aggregation)
        form.get_by_label("Baseline").fill(baseline)
        form.get_by_label("Target").fill(target)
        form.get_by_role("button", name="Add KPI").click()
        expect(page.locator("article.kpi", has_text=name)).to_be_visible()
        expect(page.locator("#kpi-form")).to_have_count(0)


def test_a_quarter_from_planning_to_roll_over(debug, demo, page, live_server, snap, axe):
    walk = Walk(page, live_server.url, snap, axe)
    nav = page.get_by_role("navigation", name="Main")
    fy = Cycle.objects.get(name="FY 2027")

    # 1. 15 March: the leader plans Q2 beside the running year, without moving anyone.
    walk.log_in("lena")
    nav.get_by_role("link", name="Cycles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cycles")
    new_cycle = page.locator("#cycle-new")
    new_cycle.get_by_label("Name").fill("Q2 2027")
    new_cycle.get_by_label("Start").fill("2027-04-01")
    new_cycle.get_by_label("End").fill("2027-06-30")
    expect(new_cycle.get_by_label("Cadence")).to_have_value("quarterly")
    new_cycle.get_by_role("button", name="Create cycle").click()
    expect(page.locator(".messages")).to_contain_text("“Q2 2027” is created")
    q2 = Cycle.objects.get(name="Q2 2027")
    row = page.locator(f"#cycle-{q2.pk}")
    expect(row).to_contain_text("2027-04-01 – 2027-06-30")
    expect(row).to_contain_text("Open")
    # Creating it changed nobody's view, the leader's included.
    expect(page.locator("select#cycle-select option:checked")).to_have_text("FY 2027")
    walk.checkpoint("q2-created")

    walk.pick_cycle("Q2 2027")
    nav.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")
    expect(page.locator("#objective-list")).to_contain_text("No strategic objectives")
    axe("an empty dashboard")
    for title, why, kpi in OBJECTIVES:
        page.get_by_role("link", name="New strategic objective").first.click()
        axe(f"new objective form for {title}")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Why").fill(why)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")
        walk.add_kpi(*kpi)
        nav.get_by_role("link", name="Dashboard").click()
    objectives = page.locator("#objective-list li.goal-row")
    expect(objectives).to_have_count(3)
    expect(page.locator(".warnings")).not_to_contain_text("active strategic objective")
    walk.checkpoint("q2-objectives")
    assert set(
        Goal.objects.filter(cycle=q2, level="strategic").values_list("title", flat=True)
    ) == {title for title, _, _ in OBJECTIVES}
    assert Kpi.objects.filter(goal__cycle=q2).count() == 3
    assert Goal.objects.filter(cycle=fy, level="strategic").count() == 3  # untouched

    with time_machine.travel(MID_QUARTER, tick=True):
        # 2. The manager cascades a department goal; the form fits his role.
        walk.log_in("max")
        # Q2 has begun, yet everyone still sees the organization's current cycle until
        # they pick another: creating Q2 moved nobody.
        expect(page.get_by_role("heading", level=1)).to_contain_text("FY 2027")
        walk.pick_cycle("Q2 2027")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")
        page.get_by_role("link", name="Improve customer experience", exact=True).click()
        page.get_by_role("link", name="Add goal below").click()
        form = page.locator("#child-form")
        expect(form.get_by_label("Level")).to_have_value("department")
        expect(form.get_by_label("Level").locator("option")).to_have_text(
            ["Department", "Team", "Individual"]
        )
        expect(form.get_by_label("Department").locator("option:checked")).to_have_text(
            "Customer Support"
        )
        form.get_by_label("Title").fill(DEPARTMENT_GOAL)
        form.get_by_label("Why").fill("Response time is the first thing customers notice.")
        walk.checkpoint("manager-child-form")
        form.get_by_role("button", name="Add goal").click()
        child = page.locator(".goal-row", has_text=DEPARTMENT_GOAL)
        expect(child).to_contain_text("Department · Customer Support")
        child.get_by_role("link", name=DEPARTMENT_GOAL).click()
        walk.add_kpi("Average first response time", "hours", "decrease", "latest", "10", "8")
        walk.checkpoint("manager-department-goal")
        department_goal = Goal.objects.get(cycle=q2, title=DEPARTMENT_GOAL)
        assert (department_goal.level, department_goal.department.name) == (
            "department",
            "Customer Support",
        )
        assert department_goal.parent.title == "Improve customer experience"

        # 3. The member aligns an individual goal: only his level and himself offered.
        walk.log_in("sam")
        walk.pick_cycle("Q2 2027")
        walk.open_in_map("Improve customer experience", DEPARTMENT_GOAL)
        page.get_by_role("link", name="Add goal below").click()
        form = page.locator("#child-form")
        expect(form.get_by_label("Level").locator("option")).to_have_text(["Individual"])
        expect(form.get_by_label("Owner").locator("option")).to_have_text(["Sam Silva"])
        expect(form.get_by_label("Department")).to_have_count(0)
        expect(form.get_by_label("Weight")).to_have_count(0)  # the parent's to set
        form.get_by_label("Title").fill(INDIVIDUAL_GOAL)
        walk.checkpoint("member-child-form")
        form.get_by_role("button", name="Add goal").click()
        page.locator(".goal-row", has_text=INDIVIDUAL_GOAL).get_by_role(
            "link", name=INDIVIDUAL_GOAL
        ).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(INDIVIDUAL_GOAL)
        walk.add_kpi(INDIVIDUAL_KPI, "hours", "decrease", "latest", "6", "4")
        individual = Goal.objects.get(cycle=q2, title=INDIVIDUAL_GOAL)
        kpi = Kpi.objects.get(goal=individual)
        assert (individual.level, individual.owner.user.username, individual.parent_id) == (
            "individual",
            "sam",
            department_goal.pk,
        )
        assert kpi.owner.user.username == "sam"

        nav.get_by_role("link", name="My work").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")
        row = page.locator(f"#kpi-row-{kpi.pk}")
        row.get_by_label(f"New value of {INDIVIDUAL_KPI}").fill("5")
        row.get_by_label("Note").fill("Two long escalations this week")
        row.get_by_role("button", name="Record").click()
        row = page.locator(f"#kpi-row-{kpi.pk}")
        expect(row.locator(".saved")).to_contain_text("Saved 5 hours for 2027-05-17")
        expect(row.locator(".current .value")).to_have_text("5")
        walk.checkpoint("member-recorded")

        # 4. The manager records on the member's KPI from the goal page.
        walk.log_in("max")
        walk.open_in_map("Improve customer experience", DEPARTMENT_GOAL, INDIVIDUAL_GOAL)
        record = page.locator(f"#record-{kpi.pk}")
        record.get_by_label(f"New value of {INDIVIDUAL_KPI}").fill("4.5")
        record.get_by_label("Note").fill("Measured with Sam on the full queue")
        record.get_by_role("button", name="Record").click()
        expect(page.locator(".messages")).to_contain_text(
            f"Saved 4.5 hours on “{INDIVIDUAL_KPI}” for 2027-05-17."
        )
        expect(page.get_by_role("heading", level=1)).to_contain_text(INDIVIDUAL_GOAL)
        expect(page.locator(f"#kpi-{kpi.pk} .numbers strong")).to_contain_text("4.5")
        walk.checkpoint("manager-recorded")
        kpi.refresh_from_db()
        assert kpi.current == 4.5
        assert KpiUpdate.objects.filter(kpi=kpi).count() == 2

    with time_machine.travel(REVIEW_DAY, tick=True):
        # 5. The reviewer runs the quarter's check-in of Customer Support.
        walk.log_in("rey")
        nav.get_by_role("link", name="Reviews").click()
        walk.pick_cycle("Q2 2027")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")
        form = page.locator("form", has=page.get_by_role("button", name="Schedule"))
        form.get_by_label("Title").fill("Support Q2 check-in")
        form.get_by_label("…or a department").select_option(label="Customer Support")
        expect(form.get_by_label("Period")).to_have_value("2027-Q2")
        form.get_by_label("When").fill("2027-06-15T10:00")
        walk.checkpoint("review-schedule")
        form.get_by_role("button", name="Schedule").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Support Q2 check-in")
        axe("review scheduled")
        page.get_by_role("button", name="Start the review").click()
        agenda = page.get_by_role("navigation", name="Agenda", exact=True)
        expect(agenda.get_by_role("link")).to_have_count(2)
        agenda.get_by_role("link", name=INDIVIDUAL_GOAL).click()
        panel = page.locator("#item-panel")
        expect(panel.get_by_role("heading", level=2)).to_contain_text(INDIVIDUAL_GOAL)
        review = Review.objects.get(title="Support Q2 check-in")
        item = review.items.get(goal=individual)
        item_form = panel.locator(f"#item-form-{item.pk}")
        item_form.get_by_label("Assessment").select_option("on_track")
        item_form.get_by_label("A win to celebrate").check()
        item_form.get_by_label("Notes").fill("Resolution time down from 6 to 4.5 hours.")
        item_form.get_by_role("button", name="Save").click()
        expect(panel.locator(f"#item-form-{item.pk} .saved")).to_have_text("Saved.")
        actions = panel.locator(f"#item-actions-{item.pk}")
        expect(actions.get_by_label("Owner").locator("option:checked")).to_have_text("Sam Silva")
        actions.get_by_label("Action").fill(ACTION)
        actions.get_by_label("Due").fill("2027-06-25")
        actions.get_by_role("button", name="Add action").click()
        expect(actions.locator(".action", has_text=ACTION)).to_be_visible()
        walk.checkpoint("review-meeting")
        page.get_by_role("button", name="Complete the review").click()
        summary = page.locator(".summary-print")
        expect(summary.locator(".wins")).to_contain_text(INDIVIDUAL_GOAL)
        expect(summary.locator("table").first).to_contain_text(ACTION)
        expect(summary.locator("table").first).to_contain_text("Sam Silva")
        walk.checkpoint("review-summary")
        assert walk.dialogs[-1].startswith("confirm: Complete “Support Q2 check-in”?")
        review.refresh_from_db()
        item.refresh_from_db()
        assert (review.state, item.assessment, item.win) == ("completed", "on_track", True)
        action = ActionItem.objects.get(title=ACTION)
        assert (action.owner.user.username, str(action.due)) == ("sam", "2027-06-25")

        # …and the member hears of the action item.
        walk.log_in("sam")
        bell = page.get_by_role("link", name=re.compile(r"^Notifications: [1-9]\d* unread$"))
        expect(bell).to_be_visible()
        bell.click()
        note = page.locator("li.note", has_text=f"Action for you: {ACTION}")
        expect(note).to_be_visible()
        expect(note).to_contain_text("Support Q2 check-in")
        expect(note).to_contain_text("2027-06-25")
        walk.checkpoint("member-notified")
        assert Notification.objects.filter(
            member__user__username="sam", kind="action_assigned", read_at__isnull=True
        ).exists()

    with time_machine.travel(QUARTER_END, tick=True):
        # 6. The last day: the leader reaches one objective, then closes the quarter.
        walk.log_in("lena")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q2 2027")  # her pick
        page.locator("#objective-list").get_by_role(
            "link", name="Expand market presence", exact=True
        ).click()
        market_kpi = Kpi.objects.get(goal__cycle=q2, name="Customers won in new regions")
        record = page.locator(f"#record-{market_kpi.pk}")
        record.get_by_label("New value of Customers won in new regions").fill("120")
        record.get_by_role("button", name="Record").click()
        expect(page.locator(".messages")).to_contain_text(
            "Saved 120 customers on “Customers won in new regions” for 2027-06-30."
        )
        axe("value recorded on the objective")
        nav.get_by_role("link", name="Cycles").click()
        page.locator(f"#cycle-{q2.pk}").get_by_role("button", name="Close").click()
        expect(page.locator(".messages")).to_contain_text("“Q2 2027” is closed")
        expect(page.locator(f"#cycle-{q2.pk}")).to_contain_text("Closed")
        expect(page.locator(f"#cycle-{q2.pk}").get_by_role("button", name="Reopen")).to_be_visible()
        walk.checkpoint("q2-closed")
        assert walk.dialogs[-1].startswith("confirm: Close “Q2 2027”?")
        q2.refresh_from_db()
        assert q2.state == "closed"

        # A closed cycle offers the member no record form for a late value (a form left
        # open when it closed is refused in place: tests/pages/test_closed_cycle.py).
        walk.log_in("sam")
        nav.get_by_role("link", name="My work").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            re.compile(r"My work\s+Q2 2027")  # his pick, remembered
        )
        expect(page.get_by_role("note")).to_contain_text("“Q2 2027” is closed")
        before = KpiUpdate.objects.filter(kpi=kpi).count()
        row = page.locator(f"#kpi-row-{kpi.pk}")
        expect(row.get_by_role("button", name="Record")).to_have_count(0)
        expect(row.get_by_label(f"New value of {INDIVIDUAL_KPI}")).to_have_count(0)
        expect(page.get_by_role("heading", level=1)).to_contain_text("My work")
        expect(nav.get_by_role("link", name="My work")).to_be_visible()
        expect(page.get_by_role("heading", name="My goals and their line of sight")).to_be_visible()
        expect(page.locator(f"#my-goal-{individual.pk}")).to_be_visible()
        expect(page.locator(f"#kpi-row-{kpi.pk} .current .value")).to_have_text("4.5")
        walk.checkpoint("member-refused")
        assert KpiUpdate.objects.filter(kpi=kpi).count() == before

        # 7. The leader opens Q3 and rolls the unfinished goals of Q2 over into it.
        walk.log_in("lena")
        nav.get_by_role("link", name="Cycles").click()
        new_cycle = page.locator("#cycle-new")
        new_cycle.get_by_label("Name").fill("Q3 2027")
        new_cycle.get_by_label("Start").fill("2027-07-01")
        new_cycle.get_by_label("End").fill("2027-09-30")
        new_cycle.get_by_role("button", name="Create cycle").click()
        expect(page.locator(".messages")).to_contain_text("“Q3 2027” is created")
        axe("q3 created")
        q3 = Cycle.objects.get(name="Q3 2027")
        expect(page.locator("select#cycle-select option:checked")).to_have_text("Q2 2027")
        page.locator(f"#cycle-{q2.pk}").get_by_role("link", name="Roll over…").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Roll over “Q2 2027”")
        picked = {
            title: page.locator(".rollover-goals li", has_text=title).get_by_role("checkbox")
            for title in (
                "Improve customer experience",
                DEPARTMENT_GOAL,
                INDIVIDUAL_GOAL,
                "Expand market presence",
                "Strengthen innovation culture",
            )
        }
        for title, box in picked.items():
            if title == "Expand market presence":  # reached: 120 of 120 customers
                expect(box).not_to_be_checked()
            else:
                expect(box).to_be_checked()
        page.get_by_label("Into cycle").select_option(label="Q3 2027")
        walk.checkpoint("rollover")
        page.get_by_role("button", name="Copy the chosen goals").click()

        expect(page).to_have_url(re.compile(rf"/cascade/\?cycle={q3.pk}$"))
        expect(page.locator(".messages")).to_contain_text("4 goals copied into “Q3 2027”")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Q3 2027")
        roots = page.locator("ul.tree.root > li.node")
        expect(roots).to_have_count(2)
        expect(page.get_by_role("link", name="Expand market presence")).to_have_count(0)
        walk.expand("Improve customer experience")
        walk.expand(DEPARTMENT_GOAL)
        expect(page.get_by_role("link", name=INDIVIDUAL_GOAL, exact=True)).to_be_visible()
        walk.checkpoint("q3-map")

        # The end of the quarter, page by page: every page as the admin sees it, kept as
        # screenshots at both widths, none wider than the window.
        walk.log_in("ada")
        review = Review.objects.filter(state="completed").latest("completed_at")
        tour = {
            "dashboard": "/",
            "cascade-list": "/cascade/",
            "cascade-tree": "/cascade/?view=tree",
            "goal": f"/goals/{individual.pk}/",
            "my-work": "/my/",
            "department": "/department/",
            "reviews": "/reviews/",
            "review-completed": f"/reviews/{review.pk}/",
            "cycles": "/cycles/",
            "cycle-edit": f"/cycles/{q3.pk}/edit/",
            "cycle-rollover": f"/cycles/{q3.pk}/rollover/",
            "people": "/people/",
            "notifications": "/notifications/",
        }
        for name, path in tour.items():
            page.goto(f"{walk.url}{path}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": 900})
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, f"{path} is {wide} px wide in a {width} px window"
            page.set_viewport_size({"width": 1280, "height": 900})
            walk.checkpoint(f"tour-{name}")

    assert len(walk.dialogs) == 2, walk.dialogs  # no other question was asked
    kpi.refresh_from_db()
    copied = Kpi.objects.select_related("copied_from", "goal").get(
        goal__cycle=q3, name=INDIVIDUAL_KPI
    )
    assert copied.copied_from_id == kpi.pk
    assert copied.goal.copied_from_id == individual.pk
    assert copied.baseline == kpi.current == 4.5
    assert copied.updates.count() == 0
    for copy in Kpi.objects.filter(goal__cycle=q3).select_related("copied_from"):
        source = copy.copied_from
        expected = source.baseline if source.current is None else source.current
        assert copy.baseline == expected, (copy.name, copy.baseline, expected)
    assert set(Goal.objects.filter(cycle=q3).values_list("title", flat=True)) == {
        "Improve customer experience",
        DEPARTMENT_GOAL,
        INDIVIDUAL_GOAL,
        "Strengthen innovation culture",
    }
    assert walk.problems == [], "\n".join(walk.problems)
