"""SPEC §8.3: every in-place form answers a wrong submit and a refused one inside the
form, with the reason, and the rest of the page stays whole, in the development setup
(DEBUG on) and the production one alike, with a clean console.

Each case opens its form as someone allowed, submits it invalid, then — their role
changed meanwhile, as an admin elsewhere might — submits it valid, and is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Member
from reviews.models import Review

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation",
  (e) => (window.__csp = (window.__csp || []).concat(e.violatedDirective + " " + e.blockedURI)));"""


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def become(username: str, role: str) -> None:
    """Meanwhile, someone changes this person's role."""
    Member.objects.filter(user__username=username).update(role=role)


def kpi_id(name: str) -> int:
    return Kpi.objects.get(name=name).pk


def goal_id(title: str) -> int:
    return Goal.objects.get(title=title).pk


@dataclass
class Case:
    user: str
    open: Callable[[Page, str], Locator]  # goes to the page, returns the form
    invalid: Callable[[Locator], None]  # fills and submits it wrong
    says: str  # …and the form then says
    forbid: Callable[[], None]  # the user's rights change meanwhile
    valid: Callable[[Page, Locator], None]  # fills and submits it right
    refused: str  # …and the form then says


def record_on_my_work(page, url):
    page.goto(f"{url}/my/")
    return page.locator(f"#kpi-row-{kpi_id('Average ticket resolution time')}")


def record_on_goal_page(page, url):
    page.goto(f"{url}/goals/{goal_id('Resolve support tickets within 4 hrs avg')}/")
    return page.locator(f"#record-{kpi_id('Average ticket resolution time')}")


def record_on_department_page(page, url):
    page.goto(f"{url}/department/")
    return page.locator(f"#kpi-row-{kpi_id('Average first response time')}")


def value(form, typed):
    form.get_by_placeholder("Value").fill(typed)
    form.get_by_role("button", name="Record").click()


def add_kpi(page, url):
    page.goto(f"{url}/goals/{goal_id('Reduce average response time by 20%')}/")
    page.get_by_role("link", name="Add KPI").click()
    return page.locator("#kpi-form")


def fill_kpi(page, form):
    form.get_by_label("Name").fill("Tickets reopened")
    form.get_by_label("Unit").fill("tickets")
    form.get_by_label("Baseline").fill("10")
    form.get_by_label("Target").fill("20")
    form.get_by_role("button", name="Add KPI").click()


def add_goal_below(page, url):
    page.goto(f"{url}/goals/{goal_id('Reduce average response time by 20%')}/")
    page.get_by_role("link", name="Add goal below").click()
    return page.locator("#child-form")


def fill_goal(page, form):
    form.get_by_label("Title").fill("Answer chats within a minute")
    form.get_by_role("button", name="Add goal").click()


def correct_a_value(page, url):
    page.goto(f"{url}/goals/{goal_id('Resolve support tickets within 4 hrs avg')}/")
    page.get_by_role("link", name="Correct").first.click()
    form = page.locator("form", has=page.get_by_role("button", name="Save the correction"))
    expect(form).to_be_visible()
    return form


def correct_with(typed):
    def submit(form):
        form.get_by_label("Value").fill(typed)
        form.get_by_role("button", name="Save the correction").click()

    return submit


def retract_a_value(page, url):
    page.goto(f"{url}/goals/{goal_id('Resolve support tickets within 4 hrs avg')}/")
    page.get_by_role("link", name="Retract").first.click()
    form = page.locator("form", has=page.get_by_role("button", name="Retract the value"))
    expect(form).to_be_visible()
    return form


def retract_because(reason):
    def submit(form):
        form.get_by_label("Why").fill(reason)
        form.get_by_role("button", name="Retract the value").click()

    return submit


def item_form(page, url):
    review = Review.objects.get(title="Customer Support check-in")
    page.goto(f"{url}/reviews/{review.pk}/")
    page.get_by_role("button", name="Start the review").click()
    form = page.locator(".item-form")
    expect(form).to_be_visible()
    return form


def too_long_notes(form):
    notes = form.get_by_label("Notes")
    notes.evaluate("(el) => el.removeAttribute('maxlength')")  # as an older browser would
    notes.fill("n" * 10001)
    form.get_by_role("button", name="Save").click()


def save_notes(page, form):
    form.get_by_label("Notes").fill("Steady.")
    form.get_by_role("button", name="Save").click()


def action_form(page, url):
    item_form(page, url)
    return page.locator(".action-form")


def add_action(page, form):
    form.get_by_label("Action").fill("Draft the Monday rota")
    form.get_by_label("Owner").select_option(label="Sam Silva")
    form.get_by_label("Due").fill("2027-04-15")
    form.get_by_role("button", name="Add action").click()


def new_cycle(page, url):
    page.goto(f"{url}/cycles/")
    return page.locator("#cycle-new")


def create_cycle(page, form):
    form.get_by_label("Name").fill("Q3 2027")
    form.get_by_label("Start").fill("2027-07-01")
    form.get_by_label("End").fill("2027-09-30")
    form.get_by_role("button", name="Create cycle").click()


def person_form(page, url):
    page.goto(f"{url}/people/")
    return page.locator(f"#person-{Member.objects.get(user__username='sam').pk} form")


def sam_manages_himself(form):
    form.locator("select[name$='-manager']").select_option(label="Sam Silva")
    form.get_by_role("button", name="Save").click()


def sam_reports_to_max(page, form):
    form.locator("select[name$='-manager']").select_option(label="Max Moreno")
    form.get_by_role("button", name="Save").click()


CASES = {
    "record a value on My work": Case(
        "sam",
        record_on_my_work,
        lambda form: value(form, "four"),
        "Enter a number",
        lambda: become("sam", "reviewer"),
        lambda page, form: value(form, "4"),
        "You may not record values on this KPI",
    ),
    "record a value on the goal page": Case(
        "max",
        record_on_goal_page,
        lambda form: value(form, "1e400"),
        "Enter a number",
        lambda: become("max", "reviewer"),
        lambda page, form: value(form, "4"),
        "You may not record values on this KPI",
    ),
    "record a value on the department page": Case(
        "max",
        record_on_department_page,
        lambda form: value(form, "-"),
        "Enter a number",
        lambda: become("max", "reviewer"),
        lambda page, form: value(form, "8.1"),
        "You may not record values on this KPI",
    ),
    "add a KPI": Case(
        "max",
        add_kpi,
        lambda form: form.get_by_role("button", name="Add KPI").click(),
        "This field is required",
        lambda: become("max", "member"),
        fill_kpi,
        "You may not",
    ),
    "add a goal below": Case(
        "sam",
        add_goal_below,
        lambda form: form.get_by_role("button", name="Add goal").click(),
        "This field is required",
        lambda: become("sam", "reviewer"),
        fill_goal,
        "You may not",
    ),
    "correct a value": Case(
        "max",
        correct_a_value,
        correct_with("lots"),
        "Enter a number",
        lambda: become("max", "reviewer"),
        lambda page, form: correct_with("4.4")(form),
        "You may not correct or retract values on this KPI",
    ),
    "retract a value": Case(
        "max",
        retract_a_value,
        retract_because(""),
        "This field is required",
        lambda: become("max", "reviewer"),
        lambda page, form: retract_because("Entered twice")(form),
        "You may not correct or retract values on this KPI",
    ),
    "note a review item": Case(
        "rey",
        item_form,
        too_long_notes,
        "at most 10000 characters",
        lambda: become("rey", "member"),
        save_notes,
        "You may not run this review",
    ),
    "add an action item": Case(
        "rey",
        action_form,
        lambda form: form.get_by_role("button", name="Add action").click(),
        "This field is required",
        lambda: become("rey", "member"),
        add_action,
        "You may not run this review",
    ),
    "create a cycle": Case(
        "lena",
        new_cycle,
        lambda form: form.get_by_role("button", name="Create cycle").click(),
        "This field is required",
        lambda: become("lena", "manager"),
        create_cycle,
        "Only leaders and admins manage cycles",
    ),
    "edit a person": Case(
        "ada",
        person_form,
        sam_manages_himself,
        "own manager",
        lambda: become("ada", "leader"),
        sam_reports_to_max,
        "Only admins",
    ),
}


def counts() -> tuple[int, ...]:
    return (
        Goal.objects.count(),
        Kpi.objects.count(),
        KpiUpdate.objects.count(),
        Member.objects.filter(manager__user__username="max").count(),
    )


@pytest.mark.parametrize("case", CASES)
def test_each_in_place_form_answers_wrong_and_refused_submits_inside_itself(
    debug, demo, login, page, live_server, snap, axe, case
):
    c = CASES[case]
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(LISTEN_FOR_CSP)
    page.on("dialog", lambda dialog: dialog.accept())  # "Retract …?" asks first
    login(c.user)
    form = c.open(page, live_server.url)
    expect(form).to_be_visible()
    axe(f"{debug}-open")
    before = counts()

    c.invalid(form)
    expect(form.get_by_role("alert").first).to_contain_text(c.says)
    whole(page)
    snap(f"{debug}-invalid")

    c.forbid()
    c.valid(page, form)
    expect(form.locator(".refused")).to_contain_text(c.refused)
    expect(form.locator(".refused")).to_contain_text("Nothing was changed")
    whole(page)
    snap(f"{debug}-refused")

    assert counts() == before
    problems += [f"CSP: {v}" for v in page.evaluate("window.__csp || []")]
    assert problems == []


def whole(page: Page) -> None:
    """The rest of the page is still there: the top bar, the heading, the main area."""
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.locator("main").count() == 1
    assert page.title().endswith("· Cascade")
