"""Browser walks: Playwright driving the system's Chromium against live_server."""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

CHROMIUM = os.getenv("CHROMIUM", "/usr/bin/chromium")
SCREENS = Path(os.getenv("SCREENSHOT_DIR", "test-results/screens"))
WIDTHS = (1280, 390)  # the desktop and the phone every walk is seen at

# axe-core (tests/browser/axe/, pinned in its package-lock.json) checks every page state
# the walks visit. In CI (CASCADE_REQUIRE_SERVICES=1) it must be there: .ci/run installs it.
AXE_PACKAGE = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_PACKAGE / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_SERVICES = os.getenv("CASCADE_REQUIRE_SERVICES", "") not in ("", "0", "false")
# Every rule axe-core runs by default, violations of any impact; each with what it is
# about, where (CSS selectors) and the rule's page.
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .map((v) => ({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                targets: v.nodes.map((n) => n.target.join(" "))}))"""


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
def login(page, live_server, axe):
    def login_as(username: str, password: str = "cascade-demo"):
        page.goto(f"{live_server.url}/accounts/login/")
        axe.once("login page")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r".*/$"))
        axe(f"{username}'s home page")
        return page

    return login_as


@pytest.fixture
def snap(page, request, axe):
    """Screenshot the page at 1280 and 390 px wide, as
    test-results/screens/<test>-<step>-<width>.png, and check it with axe-core at each."""
    SCREENS.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> None:
        walked_at = page.viewport_size or {"width": 1280, "height": 900}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(
                path=SCREENS / f"{request.node.name}-{step}-{width}.png", full_page=True
            )
            axe.here(step)
        page.set_viewport_size(walked_at)  # the walk goes on at its own width

    return take


def _axe_unavailable(why: str) -> None:
    """Without axe-core: a skip on a laptop, a failure in CI (where tests/conftest.py
    turns skips into failures too)."""
    if REQUIRE_SERVICES:
        pytest.fail(why)
    pytest.skip(why)


def _axe_installed() -> bool:
    """Whether `npm ci` finished here: npm writes node_modules/.package-lock.json last."""
    return AXE_SCRIPT.is_file() and (AXE_PACKAGE / "node_modules" / ".package-lock.json").is_file()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js, installed by `npm ci` in tests/browser/axe/ the first time (under a
    lock on package.json, as several test processes may get here together)."""
    if not _axe_installed():
        npm = shutil.which("npm")
        if npm is None:
            _axe_unavailable(
                "the accessibility check needs axe-core: npm ci --prefix tests/browser/axe "
                "(Node.js 20+: apt-get install nodejs npm); .ci/run installs it"
            )
        with (AXE_PACKAGE / "package.json").open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            try:
                if not _axe_installed():
                    done = subprocess.run(
                        [npm, "ci", "--no-audit", "--no-fund"],
                        cwd=AXE_PACKAGE,
                        capture_output=True,
                        text=True,
                        timeout=600,
                    )
                    if done.returncode != 0:
                        _axe_unavailable(
                            "the accessibility check needs axe-core, and `npm ci --prefix "
                            f"tests/browser/axe` failed: {done.stderr.strip()[-500:]}"
                        )
            finally:
                fcntl.flock(held, fcntl.LOCK_UN)
    return AXE_SCRIPT.read_text()


def _path(url: str) -> str:
    return urlsplit(url).path


class Axe:
    """axe-core over the page states a walk visits. `axe(state)` checks the page as it
    is now at 1280 and 390 px wide (`axe.here(state)` at the present width only);
    `snap` and `login` call it, and the walks at each state they do not snap. Every
    violation, of any impact, is kept with the state it was seen in; when the test
    ends the page it ends on is checked too, and the test fails listing them all, or
    naming any of Cascade's pages it loaded and never checked. Pages of other origins
    (an identity provider's) are not Cascade's and are passed over."""

    checked_once: ClassVar[set[str]] = set()  # by `once`, in this test process

    def __init__(self, page, origin: str, source: str):
        self.page, self.origin, self.source = page, origin, source
        self.found: dict[tuple, list[str]] = {}
        self.states = 0
        self.loaded: dict[str, bool] = {}  # each path of ours loaded → checked since
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame and frame.url.startswith(self.origin):
            self.loaded.setdefault(_path(frame.url), False)

    def __call__(self, state: str) -> None:
        page = self.page
        size = page.viewport_size
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": size["height"]})
            self.here(state)
        page.set_viewport_size(size)

    def once(self, state: str) -> None:
        """Check a page that is the same in every test (the sign-in form) once per test
        process; later visits count as checked."""
        if state in Axe.checked_once:
            self.loaded[_path(self.page.url)] = True
            return
        self(state)
        Axe.checked_once.add(state)

    def here(self, state: str) -> None:
        page = self.page
        if not page.url.startswith(self.origin):
            return
        if not page.evaluate("typeof window.axe?.run === 'function'"):
            # evaluate, not a <script> tag: the pages' Content-Security-Policy allows
            # no script but their own, and DevTools' evaluation is not subject to it.
            page.evaluate(self.source)
        where = f"{state} ({_path(page.url)} at {page.viewport_size['width']} px)"
        for found in page.evaluate(RUN_AXE):
            key = (found["id"], found["impact"], found["help"], found["url"])
            self.found.setdefault(key + tuple(found["targets"]), []).append(where)
        self.states += 1
        self.loaded[_path(page.url)] = True

    def report(self, unchecked_too: bool = True) -> str:
        """What was found so far (and the pages loaded and never checked); empty if
        nothing."""
        problems = [
            f"- {rule} ({impact}): {help_text}\n    at {', '.join(targets)}\n"
            f"    in {'; '.join(states)}\n    {url}"
            for (rule, impact, help_text, url, *targets), states in self.found.items()
        ]
        unchecked = sorted(path for path, checked in self.loaded.items() if not checked)
        if unchecked and unchecked_too:
            problems.append(f"- pages loaded and never checked: {', '.join(unchecked)}")
        if not problems:
            return ""
        return f"axe-core, over {self.states} page states (any impact fails):\n" + "\n".join(
            problems
        )

    def finish(self) -> None:
        self("the last state")
        print(f"axe-core: {self.states} page states checked, {len(self.found)} violations")
        if found := self.report():
            pytest.fail(found, pytrace=False)


@pytest.fixture(autouse=True)
def axe(page, live_server, axe_source):
    """The accessibility check of this walk (see Axe)."""
    return Axe(page, live_server.url, axe_source)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A walk that went through passes only if axe-core found nothing on its way; one
    that failed otherwise shows what axe-core had found until then."""
    checker = getattr(item, "funcargs", {}).get("axe")
    if not isinstance(checker, Axe):
        return (yield)
    try:
        result = yield
    except BaseException:
        if found := checker.report(unchecked_too=False):
            item.add_report_section("call", "axe-core", found)
        raise
    checker.finish()
    return result
