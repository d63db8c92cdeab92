"""People in bulk in the browser: an admin uploads a file of people with one bad row,
reads the row's error in the preview, uploads the corrected file, confirms, and finds
the people on the People page, with a clean console throughout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from org.models import Member

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN_FOR_CSP = """document.addEventListener("securitypolicyviolation",
  (e) => (window.__csp = (window.__csp || []).concat(e.violatedDirective + " " + e.blockedURI)));"""

WITH_A_BAD_ROW = """email,name,department,role,manager email,external_id
nadia.park@example.org,Nadia Park,Field Sales,manager,,HR-101
otto.berg.example.org,Otto Berg,Field Sales,member,nadia.park@example.org,HR-102
priya.nair@example.org,Priya Nair,Field Sales,,nadia.park@example.org,HR-103
"""
CORRECTED = WITH_A_BAD_ROW.replace("otto.berg.example.org", "otto.berg@example.org")


def csv_file(name: str, text: str) -> list[dict]:
    return [{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]


def test_an_admin_fixes_a_bad_row_then_imports_people_from_the_people_page(
    demo, login, page, live_server, snap
):
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(LISTEN_FOR_CSP)
    login("ada")
    before = Member.objects.count()

    page.goto(f"{live_server.url}/people/")
    offer = page.locator("#import-people")
    expect(offer.get_by_role("link", name="CSV with the header row")).to_have_attribute(
        "href", "/people/import/template/"
    )
    offer.get_by_text("The columns").click()
    expect(offer.get_by_role("table", name="An example file")).to_be_visible()
    snap("offer")
    offer.get_by_label("Spreadsheet of people").set_input_files(
        files=csv_file("people.csv", WITH_A_BAD_ROW)
    )
    offer.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import people")
    bad = page.locator("#import-row-3")
    expect(bad).to_have_class("has-error")
    expect(bad).to_contain_text("otto.berg.example.org")
    expect(bad).to_contain_text("Enter a valid email address.")
    expect(page.get_by_role("alert").first).to_contain_text("1 row of 3 has errors")
    expect(page.get_by_role("button", name="Import 3 rows")).to_have_count(0)
    snap("row-error")
    assert Member.objects.count() == before  # nothing written

    page.get_by_label("Spreadsheet of people").set_input_files(
        files=csv_file("people-fixed.csv", CORRECTED)
    )
    page.get_by_role("button", name="Preview the import").click()
    totals = page.get_by_role("list", name="Totals")
    expect(totals).to_contain_text("3 to add")
    expect(totals).to_contain_text("0 rows with errors")
    expect(totals).to_contain_text("new department: Field Sales")
    expect(page.locator("#import-row-4")).to_contain_text("manager: — → nadia.park@example.org")
    snap("preview")
    assert Member.objects.count() == before

    page.get_by_role("button", name="Import 3 rows").click()
    state = page.locator("#import-state")
    expect(state).to_contain_text("Imported people-fixed.csv: 3 people added, 0 updated")
    snap("done")
    assert Member.objects.count() == before + 3

    page.get_by_role("link", name="See everyone").click()
    people = page.locator(".people-table")
    for name in ("Nadia Park", "Otto Berg", "Priya Nair"):
        expect(people).to_contain_text(name)
    snap("people")
    problems += page.evaluate("window.__csp || []")
    assert problems == []
