"""Issue 17 in the browser: a leader uploads the SPEC's example table on a new cycle's
Import page, reads the preview with its verdicts, chooses what the article's individual
KPIs are (SPEC §9.3: KPIs of the department goals by default, here individual goals),
sees the preview again, confirms, and finds the goals on the cascade map, with a clean
console throughout."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from cycles.models import Cycle
from goals.models import Goal
from org.models import Organization

from ..cycles.imports import EXAMPLE

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation",
  (e) => (window.__csp = (window.__csp || []).concat(e.violatedDirective + " " + e.blockedURI)));"""


def test_a_leader_imports_the_example_table_into_a_new_cycle(demo, login, page, snap, axe):
    acme = Organization.objects.get(name="Acme")
    year = acme.today().year + 1
    cycle = Cycle.objects.create(
        organization=acme, name=f"FY {year}", start=dt.date(year, 1, 1), end=dt.date(year, 12, 31)
    )
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(LISTEN_FOR_CSP)
    login("lena")

    page.get_by_role("link", name="Cycles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cycles")
    axe("cycles")
    page.locator(f"#cycle-{cycle.pk}").get_by_role("link", name="Import…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Import into “FY {year}”")
    axe("import page")
    page.get_by_label("Spreadsheet").set_input_files(
        files=[{"name": "example.csv", "mimeType": "text/csv", "buffer": EXAMPLE.encode()}]
    )
    page.get_by_role("button", name="Preview the import").click()

    totals = page.get_by_role("list", name="Totals")
    expect(totals).to_contain_text("9 to create")
    expect(totals).to_contain_text("0 row")  # with errors
    applied = page.locator("#individual-kpi-applied")
    expect(applied).to_contain_text("a KPI of the department goal, owned by its Owner")
    expect(page.get_by_label("Make each individual KPI a KPI", exact=False)).to_be_checked()
    row = page.locator("#import-row-4")
    expect(row).to_contain_text("KPI “Submit 2 ideas per quarter”")
    expect(row).to_contain_text("counts how far it is done")
    snap("preview")

    page.get_by_label("Make each individual KPI an individual goal", exact=False).check()
    page.get_by_role("button", name="Preview with this choice").click()
    expect(applied).to_contain_text("an individual goal, owned by its Owner")
    expect(totals).to_contain_text("9 to create")
    expect(row).to_contain_text("Strengthen innovation culture")
    expect(row).to_contain_text("individual goal “Submit 2 ideas per quarter”")
    expect(row).to_contain_text("each goal sits below a higher level")
    expect(row).to_contain_text("No KPI yet")  # the S.M.A.R.T. warning
    axe("preview, chosen")
    snap("preview-individual-goals")
    assert not Goal.objects.filter(cycle=cycle).exists()  # nothing written yet

    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.locator("#job-state")).to_contain_text("9 goals and 0 KPIs created")
    axe("imported")
    page.get_by_role("link", name="See the cascade").click()

    for title in (
        "Improve customer experience",
        "Expand market presence",
        "Strengthen innovation culture",
    ):
        expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    snap("cascade")
    assert Goal.objects.filter(cycle=cycle).count() == 9
    problems += page.evaluate("window.__csp || []")
    assert problems == []
