"""SPEC §9.3 Phones, in Chromium on the demo organization: at 390 px every navigation
entry is reachable from every page (through the menu button when it is shown), the
cycle name stays visible (an ellipsis beyond the width, the whole name in the select's
title) beside the signed-in person's name, and no form field is clipped — at 390 px and
at 1280 px alike."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi
from org.models import Member, Organization
from reviews.models import Review
from reviews.services import review_start

from .conftest import SCREENS

pytestmark = pytest.mark.django_db(transaction=True)

PHONE, DESK = 390, 1280

# A binding outlives navigations, so no violation is lost to the next page load.
LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  if (window.__reportCsp) window.__reportCsp(location.href,
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});"""


def watch(page: Page) -> list[str]:
    """Every console error, uncaught error, CSP violation and server error of the tab."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda r: r.status >= 500 and problems.append(f"HTTP {r.status} {r.url}"))
    page.expose_function("__reportCsp", lambda where, seen: problems.append(f"CSP {where}: {seen}"))
    page.add_init_script(LISTEN_FOR_CSP)
    return problems


# The main navigation: (its link's name, the page's address, its h1). The bell is the
# way to Notifications; Cycles, People and Audit log are shown to an admin only.
EVERYONE = [
    ("Dashboard", "/", "Dashboard"),
    ("Cascade", "/cascade/", "Cascade"),
    ("My work", "/my/", "My work"),
    ("Department", "/department/", r"Customer Support|Departments"),
    ("Reviews", "/reviews/", "Reviews"),
]
ADMIN_ONLY = [
    ("Cycles", "/cycles/", "Cycles"),
    ("People", "/people/", "People"),
    ("Audit log", "/audit/", "Audit log"),
]
BELL = ("Notifications", "/notifications/", "Notifications")


def open_menu(page: Page) -> None:
    """Open the top bar's menu when its button is shown (phones, with JavaScript)."""
    button = page.locator(".topbar .menu-button")
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")


def entry(page: Page, name: str):
    if name == "Notifications":
        return page.locator(".topbar a.bell")
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def within_window(page: Page, locator) -> bool:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


@pytest.mark.parametrize(
    ("username", "entries"),
    [("ada", [*EVERYONE, *ADMIN_ONLY, BELL]), ("sam", [*EVERYONE, BELL])],
    ids=["admin", "member"],
)
def test_every_navigation_entry_is_reachable_from_every_page_at_390px(
    demo, login, page, live_server, snap, axe, username, entries
):
    problems = watch(page)
    page.set_viewport_size({"width": PHONE, "height": 844})
    login(username)
    button = page.locator(".topbar .menu-button")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-controls", "main-nav")
    expect(page.locator("#main-nav")).to_be_hidden()  # closed until asked
    expect(page.locator(".topbar .me")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()  # at hand, menu or not
    expect(page.locator("#cycle-select")).to_be_visible()
    snap("menu-closed")  # at 1280 and 390 px, back at 1280 after
    page.set_viewport_size({"width": PHONE, "height": 844})
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    me = page.locator(".topbar .me")
    expect(me).to_contain_text(Member.objects.get(user__username=username).display_name)
    assert within_window(page, me), "the signed-in person's name is outside the window"
    page.screenshot(path=SCREENS / f"phone-menu-open-{username}-{PHONE}.png")
    axe.here("the menu open")
    page.keyboard.press("Tab")  # from the button straight into the sections
    expect(entry(page, "Dashboard")).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(page.locator("#main-nav")).to_be_hidden()

    names = [name for name, _, _ in entries]
    checked = {"/"}  # axe-core looks at each page once, the menu open
    starts = [start for _, start, _ in entries] + pages_beyond_the_menu(username)
    for start in starts:
        page.goto(f"{live_server.url}{start}")
        open_menu(page)
        if start not in checked:
            axe.here(f"{start}, the menu open")
            checked.add(start)
        # The menu lists exactly the entries this person has, nothing more.
        shown = page.locator("#main-nav a").all_text_contents()
        assert shown == [n for n in names if n != "Notifications"], start
        for number, (name, path, heading) in enumerate(entries):  # every entry, clicked
            if number:
                page.goto(f"{live_server.url}{start}")
                open_menu(page)
            link = entry(page, name)
            expect(link).to_be_visible()
            assert within_window(page, link), f"{name} is outside the window on {start}"
            assert link.get_attribute("href") == path, f"{name} on {start}"
            link.click()
            page.wait_for_url(f"{live_server.url}{path}")
            expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(heading))
            if path not in checked:
                open_menu(page)
                axe.here(f"{name}, the menu open")
                checked.add(path)
    assert problems == []


def pages_beyond_the_menu(username: str) -> list[str]:
    """Pages the menu does not name, where it is needed as much: goals, forms, a
    review."""
    objective = Goal.objects.get(title="Improve customer experience")
    kpi = Kpi.objects.get(name="Average ticket resolution time")
    value = kpi.updates.order_by("-date").first()
    pages = [
        f"/goals/{objective.pk}/",
        f"/goals/{kpi.goal_id}/",
        f"/values/{value.pk}/correct/",
        "/accounts/password_change/",
    ]
    if username == "sam":
        return pages
    review = Review.objects.get(title="Customer Support check-in")
    return [*pages, f"/reviews/{review.pk}/", f"/kpis/{kpi.pk}/edit/", "/identity/"]


def test_without_javascript_the_sections_wrap_visibly_at_390px(demo, browser, live_server):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": PHONE, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("cascade-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")
    expect(page.locator(".topbar .menu-button")).to_be_hidden()  # it could not open anything
    for name, _, _ in [*EVERYONE, *ADMIN_ONLY, BELL]:
        link = entry(page, name)
        expect(link).to_be_visible()
        assert within_window(page, link), f"{name} is outside the window"
    expect(page.locator(".topbar .me")).to_be_visible()
    page.screenshot(path=SCREENS / f"phone-no-javascript-{PHONE}.png")
    entry(page, "Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    context.close()


# Every visible field is checked: its content fits (scrollWidth), a placeholder or a
# date's "mm/dd/yyyy" fits inside its box, and its box lies inside its container, inside
# the window and inside every box that would cut it off (a field inside a sideways-
# scrolling box is checked against that box's scrolling width instead, as it is reached
# by scrolling it).
CLIPPED_FIELDS = """() => {
  const out = [];
  const width = document.documentElement.clientWidth;
  const canvas = document.createElement("canvas").getContext("2d");
  const name = (el) => {
    const label = el.labels && el.labels.length ? el.labels[0].textContent
      : el.getAttribute("aria-label") || el.placeholder || el.textContent || "";
    return `${el.tagName.toLowerCase()}${el.name ? "[name=" + el.name + "]" : ""}`
      + ` “${label.trim().replace(/\\s+/g, " ").slice(0, 40)}”`;
  };
  const natural = (el) => {
    // The width the field takes when nothing squeezes it (what a date input needs).
    const probe = el.cloneNode(true);
    const style = getComputedStyle(el);
    for (const key of ["font", "padding", "border", "letterSpacing", "boxSizing"]) {
      probe.style[key] = style[key];
    }
    Object.assign(probe.style, { position: "absolute", left: "0", top: "0", width: "auto",
      minWidth: "0", maxWidth: "none", flex: "none", visibility: "hidden" });
    document.body.append(probe);
    const wide = probe.getBoundingClientRect().width;
    probe.remove();
    return wide;
  };
  for (const el of document.querySelectorAll("input, select, textarea, button")) {
    if (el.type === "hidden") continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width < 2 || box.height < 2 || style.visibility === "hidden") continue;  // not shown
    const what = name(el);
    if (el.scrollWidth > el.clientWidth + 1) {
      out.push(`${what}: its content is ${el.scrollWidth}px wide in ${el.clientWidth}px`);
    }
    if (el.placeholder && !el.value) {
      const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      canvas.font = getComputedStyle(el, "::placeholder").font || style.font;
      const text = canvas.measureText(el.placeholder).width;
      if (text > room + 1) {
        out.push(`${what}: the placeholder needs ${Math.ceil(text)}px, has ${room}px`);
      }
    }
    if (/^(date|time|datetime-local|month|week)$/.test(el.type)) {
      const needs = natural(el);
      if (needs > box.width + 1) {
        out.push(`${what}: needs ${Math.ceil(needs)}px, has ${box.width}px`);
      }
    }
    let holder = el.parentElement;
    while (/^(inline|contents)$/.test(getComputedStyle(holder).display)) {
      holder = holder.parentElement;
    }
    const edges = holder.getBoundingClientRect();
    if (box.left < edges.left - 1 || box.right > edges.right + 1) {
      out.push(`${what}: wider than its ${holder.tagName.toLowerCase()}.${holder.className}`);
    }
    let scrolled = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === "visible") continue;
      const edge = up.getBoundingClientRect();
      if (overflow === "auto" || overflow === "scroll") {
        scrolled = true;
        const inside = box.left - edge.left + up.scrollLeft;
        if (inside < -1 || inside + box.width > up.scrollWidth + 1) {
          out.push(`${what}: cut by ${up.className}`);
        }
      } else if (box.left < edge.left - 1 || box.right > edge.right + 1) {
        out.push(`${what}: sticks out of ${up.tagName.toLowerCase()}.${up.className}`);
      }
    }
    if (!scrolled && (box.left < -1 || box.right > width + 1)) {
      const at = `${Math.round(box.left)}..${Math.round(box.right)}`;
      out.push(`${what}: at ${at}, outside 0..${width}px`);
    }
  }
  return out;
}"""


def form_pages(username: str) -> dict[str, tuple[str, list[str]]]:
    """The pages with a form that this person sees: a name → the page's address and the
    links or buttons pressed there first to open its in-place forms."""
    acme = Organization.objects.get(name="Acme")
    objective = Goal.objects.get(title="Improve customer experience")
    department_goal = Goal.objects.get(title="Reduce average response time by 20%")
    kpi = Kpi.objects.get(name="Average ticket resolution time")
    value = kpi.updates.order_by("-date").first()
    cycle = Cycle.objects.get(organization=acme)
    review = Review.objects.get(title="Customer Support check-in")
    pages = {
        "dashboard": ("/", []),
        "cascade": ("/cascade/", []),
        "cascade-tree": ("/cascade/?view=tree", []),
        "goal-record-form": (f"/goals/{kpi.goal_id}/", []),
        "goal-correct-form": (f"/goals/{kpi.goal_id}/", ["Correct"]),
        "value-correct": (f"/values/{value.pk}/correct/", []),
        "value-retract": (f"/values/{value.pk}/retract/", []),
        "notifications": ("/notifications/", []),
        "password-change": ("/accounts/password_change/", []),
    }
    if username == "sam":
        return {**pages, "my-work": ("/my/", [])}
    return {
        **pages,
        "department": ("/department/", []),
        "reviews": ("/reviews/", []),
        "review": (f"/reviews/{review.pk}/", []),
        "objective": (f"/goals/{objective.pk}/", ["Add goal below"]),
        "department-goal": (f"/goals/{department_goal.pk}/", ["Add KPI"]),
        "goal-new": ("/goals/new/", []),
        "goal-edit": (f"/goals/{department_goal.pk}/edit/", []),
        "goal-child-new": (f"/goals/{department_goal.pk}/children/new/", []),
        "kpi-new": (f"/goals/{department_goal.pk}/kpis/new/", []),
        "kpi-edit": (f"/kpis/{kpi.pk}/edit/", []),
        "cycles": ("/cycles/", []),
        "cycle-edit": (f"/cycles/{cycle.pk}/edit/", []),
        "cycle-rollover": (f"/cycles/{cycle.pk}/rollover/", []),
        "cycle-import": (f"/cycles/{cycle.pk}/import/", []),
        "people": ("/people/", []),
        "people-import": ("/people/import/", []),
        "audit": ("/audit/", []),
        "identity": ("/identity/", []),
        "mfa-policy": ("/identity/mfa-policy/", []),
        "mfa-setup": ("/mfa/setup/", []),
        "kpi-source": (f"/kpis/{kpi.pk}/source/", []),
    }


@pytest.mark.parametrize("width", [PHONE, DESK])
@pytest.mark.parametrize("username", ["ada", "sam"], ids=["admin", "member"])
def test_no_form_field_is_clipped_on_any_page_with_a_form(
    demo, login, page, live_server, axe, width, username
):
    review = Review.objects.get(title="Customer Support check-in")
    review_start(actor=Member.objects.get(user__username="rey"), review=review)  # its forms
    problems = watch(page)
    page.set_viewport_size({"width": width, "height": 900})
    login(username)
    clipped = {}
    for name, (path, openers) in form_pages(username).items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        for opener in openers:
            page.get_by_role("link", name=opener, exact=True).first.click()
            expect(page.locator("main form").last).to_be_visible()
            page.wait_for_load_state("networkidle")
        open_menu(page)  # its fields are checked too
        if page.locator("main form").count() == 0:
            clipped[name] = ["no form on this page"]
        found = page.evaluate(CLIPPED_FIELDS)
        axe.here(name)
        if found:
            clipped[name] = found
        page.screenshot(path=SCREENS / f"phone-forms-{username}-{name}-{width}.png", full_page=True)
    assert clipped == {}
    assert problems == []


@pytest.mark.parametrize("width", [PHONE, DESK])
def test_no_form_field_is_clipped_on_the_pages_before_signing_in(
    demo, page, live_server, axe, width
):
    problems = watch(page)
    page.set_viewport_size({"width": width, "height": 900})
    clipped = {}
    for path in ("/accounts/login/", "/accounts/password_reset/", "/sso/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main form").first).to_be_visible()
        if found := page.evaluate(CLIPPED_FIELDS):
            clipped[path] = found
        axe.here(path)
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=SCREENS / f"phone-forms-anonymous-{name}-{width}.png", full_page=True)
    assert clipped == {}
    assert problems == []


LONG_NAME = ("Customer experience and market presence, second half, with the new regions " * 3)[
    :200
]


@pytest.mark.parametrize("width", [DESK, PHONE])
def test_a_200_character_cycle_name_keeps_the_switcher_and_the_name_in_the_window(
    demo, login, page, snap, width
):
    acme = Organization.objects.get(name="Acme")
    current = Cycle.objects.get(organization=acme)
    Cycle.objects.create(organization=acme, name=LONG_NAME, start=current.start, end=current.end)
    problems = watch(page)
    page.set_viewport_size({"width": width, "height": 900})
    login("ada")
    select = page.locator("#cycle-select")
    select.select_option(label=LONG_NAME)
    page.locator("form.cycle-switch").get_by_role("button", name="Show").click()
    expect(select).to_have_attribute("title", LONG_NAME)  # the whole name, on hover
    expect(page.get_by_role("heading", level=1)).to_contain_text(LONG_NAME[:40])
    open_menu(page)
    for part in ("form.cycle-switch", "#cycle-select", "form.cycle-switch button", ".topbar .me"):
        shown = page.locator(part)
        expect(shown).to_be_visible()
        assert within_window(page, shown), f"{part} is outside the {width}px window"
    expect(page.locator(".topbar .me")).to_contain_text("Ada")
    # Shortened with an ellipsis, not the whole page made wider.
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#cycle-select')).textOverflow")
        == "ellipsis"
    )
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert page.evaluate(CLIPPED_FIELDS) == []
    page.screenshot(path=SCREENS / f"phone-long-cycle-name-{width}.png")
    snap("long-cycle-name")
    assert problems == []
