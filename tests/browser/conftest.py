"""Browser walks: Playwright driving the system's Chromium against live_server."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = os.getenv("CHROMIUM", "/usr/bin/chromium")
SCREENS = Path(os.getenv("SCREENSHOT_DIR", "test-results/screens"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium); .ci/run installs it")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def demo(transactional_db):
    call_command("demo", stdout=io.StringIO())


@pytest.fixture
def login(page, live_server):
    def login_as(username: str, password: str = "cascade-demo"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r".*/$"))
        return page

    return login_as


@pytest.fixture
def snap(page, request):
    """Screenshot the page at 1280 and 390 px wide, as
    test-results/screens/<test>-<step>-<width>.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> None:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(
                path=SCREENS / f"{request.node.name}-{step}-{width}.png", full_page=True
            )
        page.set_viewport_size({"width": 1280, "height": 900})

    return take
