"""SPEC §9.6, in Chromium on the demo organization: the manager feeds a KPI from a JSON
endpoint on the goal page — opens "Feed from a source", fills it in, presses Test and
sees what it would record, saves, presses Fetch now — and sees the value "from <source>"
and the goal's progress move. At 1280 px (the production setup, DEBUG off) on one goal,
then at 390 px (the development setup, DEBUG on) on another; the endpoint is a real
HTTP server of the test on 127.0.0.1 (OUTBOUND_ALLOW_PRIVATE on). Every console error,
uncaught error, CSP violation and server error fails the walk; axe-core checks every
state; no form field is clipped at 390 px."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate

from ..outbound import Answer
from .conftest import SCREENS
from .test_phone import CLIPPED_FIELDS, watch

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "Bearer helpdesk-reports-token"


@pytest.fixture
def outbound(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.KPI_SOURCE_TIMEOUT = 2


def answering(listener, value: float) -> None:
    body = json.dumps({"data": {"resolution_hours": value}}).encode()
    listener.answers = [Answer(200, {"Content-Type": "application/json"}, body)] * 10


def progress(page: Page) -> float:
    return float(page.locator(".summary-bar .bar").get_attribute("data-progress"))


def shoot(page: Page, article, name: str) -> None:
    """The whole page, and the KPI's part of it (what a person looks at), as
    data-source-<name>-<width>.png and data-source-<name>-kpi-<width>.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=SCREENS / f"data-source-{name}-{width}.png", full_page=True)
    article.screenshot(path=SCREENS / f"data-source-{name}-kpi-{width}.png")


def feed(page: Page, axe, url: str, crm: str, *, goal: str, kpi: str, value: str, latest: str):
    """On the goal page: set the KPI's source up, test, save, fetch now; the value
    shows from the source and the goal's progress moves."""
    width = page.viewport_size["width"]
    goal_id = Goal.objects.get(title=goal).pk
    kpi_row = Kpi.objects.get(name=kpi)
    page.goto(f"{url}/goals/{goal_id}/")
    before = progress(page)
    article = page.locator(f"#kpi-{kpi_row.pk}")
    article.get_by_text("Feed from a source").click()
    form = article.locator("form.source-form")
    expect(form).to_be_visible()
    axe.here(f"the source's form open at {width}")
    form.get_by_label("Name").fill("Helpdesk")
    form.get_by_label("URL", exact=True).fill(f"{crm}/reports/resolution")
    form.get_by_label("JSON pointer").fill("/data/resolution_hours")
    form.get_by_label("Secret headers").fill(f"Authorization: {TOKEN}")
    expect(form.get_by_label("Database URL")).to_be_hidden()  # the SQL fields: another kind
    form.get_by_role("button", name="Test").click()
    tried = article.locator(".tried")
    expect(tried).to_have_text(f"Would record {value} hours (the latest is {latest}).")
    assert not KpiUpdate.objects.filter(kpi=kpi_row, source_name="Helpdesk").exists()
    axe.here(f"tested at {width}")
    shoot(page, article, "form-open")
    if width == 390:
        assert page.evaluate(CLIPPED_FIELDS) == []
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    article.get_by_role("button", name="Save").click()
    status = article.locator(".source-status")
    expect(status).to_contain_text("Fed daily from Helpdesk")
    expect(article.get_by_role("status")).to_contain_text("Saved: “")
    axe.here(f"saved at {width}")

    article.get_by_role("button", name="Fetch now").click()
    expect(page.locator("#messages")).to_contain_text(f"Fetched {value} hours from Helpdesk")
    article = page.locator(f"#kpi-{kpi_row.pk}")
    expect(article.locator(".latest")).to_contain_text(
        f"Latest {value} hours on 2027-03-15, from Helpdesk"
    )
    expect(article.locator(".history-row").first).to_contain_text("from Helpdesk")
    expect(article.locator(".source-status")).to_contain_text(f"last value {value} hours at")
    after = progress(page)
    assert after > before, f"the goal's progress stayed at {before} %"
    axe.here(f"fetched at {width}")
    shoot(page, article, "after-fetch")


def test_a_manager_feeds_a_kpi_from_a_json_source_at_1280_and_390_px(
    demo, login, page, live_server, axe, listen, outbound, settings
):
    crm = listen()
    crm_url = f"http://127.0.0.1:{crm.port}"
    problems = watch(page)

    settings.DEBUG = False
    page.set_viewport_size({"width": 1280, "height": 900})
    login("max")
    answering(crm, 4.1)
    feed(page, axe, live_server.url, crm_url, goal="Resolve support tickets within 4 hrs avg",
         kpi="Average ticket resolution time", value="4.1", latest="4.3")  # fmt: skip

    settings.DEBUG = True
    page.set_viewport_size({"width": 390, "height": 844})
    answering(crm, 8.1)
    feed(page, axe, live_server.url, crm_url, goal="Reduce average response time by 20%",
         kpi="Average first response time", value="8.1", latest="8.3")  # fmt: skip

    # The helpdesk starts answering its sign-in page: the failure shows on the KPI, in place
    crm.answers = [Answer(200, {"Content-Type": "text/html"}, b"<html>Sign in</html>")]
    article = page.locator(f"#kpi-{Kpi.objects.get(name='Average first response time').pk}")
    article.get_by_role("button", name="Fetch now").click()
    error = article.get_by_role("alert")
    expect(error).to_contain_text("Last error (2027-03-15 12:00): The answer is not JSON")
    expect(article.locator(".source-status")).to_contain_text("last value 8.1 hours")
    axe.here("a failing source at 390")
    shoot(page, article, "failing")

    assert {seen.headers.get("Authorization") for seen in crm.seen} == {TOKEN}
    assert [seen.path for seen in crm.seen] == ["/reports/resolution"] * 5  # 2 tests, 3 fetches
    assert problems == []
