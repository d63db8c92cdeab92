"""SPEC §8.3: a refused or invalid in-place submit is shown in place, with the reason,
in the development setup (DEBUG on, where django-htmx's debug helper used to replace
the whole page with the answer) and the production one alike."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kpis.models import Kpi, KpiUpdate
from org.models import Member

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation",
  (e) => (window.__csp = (window.__csp || []).concat(e.violatedDirective)));"""


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_an_invalid_value_and_a_refused_one_are_answered_inside_the_row(
    debug, demo, login, page, snap, axe
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(LISTEN_FOR_CSP)
    kpi = Kpi.objects.get(name="Average ticket resolution time")
    login("sam")
    page.get_by_role("link", name="My work").click()
    row = page.locator(f"#kpi-row-{kpi.pk}")
    expect(row).to_be_visible()
    axe("my work")
    before = KpiUpdate.objects.count()

    row.get_by_label(f"New value of {kpi.name}").fill("four")
    row.get_by_role("button", name="Record").click()
    expect(row.get_by_role("alert")).to_contain_text("Enter a number")
    expect(page.get_by_role("link", name="My work")).to_be_visible()  # the page is whole
    snap("invalid")

    Member.objects.filter(user__username="sam").update(role="reviewer")  # meanwhile
    row.get_by_label(f"New value of {kpi.name}").fill("4")
    row.get_by_role("button", name="Record").click()
    expect(row.locator(".refused")).to_contain_text("You may not record values on this KPI")
    expect(row.locator(".refused")).to_contain_text("Nothing was changed")
    expect(row.get_by_text("Enter a number")).to_have_count(0)  # not the earlier message
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    snap("refused")

    assert KpiUpdate.objects.count() == before
    assert errors == []
    assert page.evaluate("window.__csp || []") == []


def test_values_entered_with_the_enter_key_on_my_work_break_no_content_policy(
    debug, demo, login, page, axe
):
    """A wrong value, then a right one, each sent with Enter: htmx swaps the row twice
    and must not copy an inline `style` across (style-src 'self' refuses it)."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.add_init_script(LISTEN_FOR_CSP)
    login("sam")
    page.get_by_role("link", name="My work").click()
    row = page.locator("[id^=kpi-row-]").first  # each of sam's rows, the first here
    kpi = Kpi.objects.get(pk=row.get_attribute("id").removeprefix("kpi-row-"))
    before = KpiUpdate.objects.filter(kpi=kpi).count()

    row.get_by_label(f"New value of {kpi.name}").fill("four")
    row.get_by_label(f"New value of {kpi.name}").press("Enter")
    expect(row.get_by_role("alert")).to_contain_text("Enter a number")
    axe("invalid, sent with Enter")
    row.get_by_label(f"New value of {kpi.name}").fill("4")
    row.get_by_label(f"New value of {kpi.name}").press("Enter")
    expect(row.get_by_role("alert")).to_have_count(0)
    expect(row).to_contain_text("4")
    axe("recorded, sent with Enter")

    assert KpiUpdate.objects.filter(kpi=kpi).count() == before + 1
    assert errors == []
    assert page.evaluate("window.__csp || []") == []
