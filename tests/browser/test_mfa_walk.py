"""Two-factor authentication in the browser (SPEC §9.1): a member turns it on with an
authenticator app (the codes here come from pyotp, given the secret the page shows),
signs in with the code, then with a recovery code once; an admin whose organization
requires it reaches no page until enrolled; the account page links to it and the
Identity page sets the policy."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from audit.models import Entry
from goals.models import Goal
from org.models import MfaPolicy, Organization
from tests.identity.mfa_helpers import enrol as enrol_directly

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
PASSWORD = "cascade-demo"
STEP = 30


class App:
    """The person's authenticator app: the codes it shows, never one twice (Cascade
    refuses a time step already used; it accepts the next one, a step of drift)."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last = -1

    def code(self) -> str:
        now = int(time.time()) // STEP
        step = max(now, self.last + 1)
        assert step <= now + 1, "both usable codes of this half-minute are used"
        self.last = step
        return self.totp.at(step * STEP)

    def wrong(self) -> str:
        good = {self.totp.at(time.time() + d * STEP) for d in (-1, 0, 1, 2)}
        return next(c for c in ("123456", "234567", "345678", "456789") if c not in good)


# A form answered with its errors is a 400 page, which Chromium notes in the console.
FORM_ERRORS = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


def watch_console(page) -> list[str]:
    """Console errors (a Content-Security-Policy refusal among them), uncaught page
    errors and server errors, as the walk goes."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and m.text != FORM_ERRORS else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return errors


def password_step(page, live_server, username: str, axe=None) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    if axe:
        axe("login page")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def sign_out(page, live_server) -> None:
    page.get_by_role("button", name=re.compile("sign out|log out", re.I)).first.click()
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def enrol(page, snap=None, axe=None) -> tuple[App, list[str]]:
    """On the enrolment page: read the secret, refuse a wrong code, confirm a right one;
    returns the app and the recovery codes shown."""
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    app = App(secret)
    if snap:
        snap("enrolment")
    page.get_by_label("Code from the app").fill(app.wrong())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert").filter(has_text="That code is not right")).to_be_visible()
    if axe:
        axe("a wrong code at enrolment")
    time.sleep(1.2)  # django-otp checks no code for a second after a wrong one
    page.get_by_label("Code from the app").fill(app.code())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = [c.strip() for c in page.locator("ul.recovery-codes code").all_inner_texts()]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", c) for c in codes), codes
    if snap:
        snap("recovery-codes")
    return app, codes


def test_a_member_enrols_signs_in_with_a_code_and_with_a_recovery_code_once(
    demo, page, live_server, snap, axe
):
    errors = watch_console(page)
    password_step(page, live_server, "sam", axe)
    expect(page).to_have_url(f"{live_server.url}/")
    axe("home page")
    # The account page (the bell: Notifications) leads to two-factor authentication.
    page.goto(f"{live_server.url}/notifications/")
    axe("notifications")
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page).to_have_url(f"{live_server.url}/mfa/")
    axe("two-factor authentication, off")
    page.get_by_role("link", name="Set up two-factor authentication").click()
    app, codes = enrol(page, snap, axe)
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(f"{live_server.url}/")
    assert Entry.objects.filter(action="mfa.enabled", actor="Sam Silva").count() == 1

    # Password, then the code.
    sign_out(page, live_server)
    password_step(page, live_server, "sam")
    expect(page).to_have_url(re.compile(r"/mfa/verify/\?next="))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    # No pages to go to yet: the top bar offers only Log out.
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    snap("code-page")
    page.get_by_role("textbox", name="Code").fill(app.wrong())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    snap("code-page-wrong")
    time.sleep(1.2)
    page.get_by_role("textbox", name="Code").fill(app.code())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1).first).to_be_visible()

    # Password, then a recovery code: once.
    sign_out(page, live_server)
    password_step(page, live_server, "sam")
    page.get_by_role("textbox", name="Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/mfa/")
    expect(page.locator("main")).to_contain_text("Recovery codes left: 9 of 10")
    snap("settings")
    sign_out(page, live_server)
    password_step(page, live_server, "sam")
    page.get_by_role("textbox", name="Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/mfa/verify/"))
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/mfa/verify/\?next="))
    assert errors == []


def test_an_admin_whose_organization_requires_it_reaches_no_page_until_enrolled(
    demo, page, live_server, snap, axe
):
    errors = watch_console(page)
    Organization.objects.filter(name="Acme").update(mfa_policy=MfaPolicy.ADMINS)
    goal = Goal.objects.filter(organization__name="Acme").order_by("pk").first()
    password_step(page, live_server, "ada", axe)
    expect(page).to_have_url(re.compile(r"/mfa/setup/\?next="))
    expect(page.get_by_role("alert").first).to_contain_text("requires two-factor authentication")
    for path in ("/admin/", "/identity/", "/people/", "/cascade/", f"/goals/{goal.pk}/", "/"):
        page.goto(f"{live_server.url}{path}")
        expect(page).to_have_url(re.compile(r"/mfa/setup/"))
        expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
        expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    snap("required-enrolment")
    enrol(page)
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(f"{live_server.url}/")  # where the admin was going
    for path in ("/", "/cascade/", f"/goals/{goal.pk}/", "/people/"):
        page.goto(f"{live_server.url}{path}")
        expect(page).to_have_url(f"{live_server.url}{path}")
        axe(f"enrolled admin at {path}")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()

    # The People page leads to the Identity page, whose last part is the policy.
    page.get_by_role("link", name=re.compile("Identity: single sign-on and two-factor")).click()
    expect(page).to_have_url(f"{live_server.url}/identity/")
    policy = page.locator("#mfa-policy")
    expect(policy.get_by_label("Required for admins")).to_be_checked()
    policy.get_by_label("Required for everyone").check()
    snap("identity-policy")
    policy.get_by_role("button", name="Save policy").click()
    expect(page).to_have_url(f"{live_server.url}/identity/")
    expect(page.get_by_text("Two-factor authentication: Required for everyone.")).to_be_visible()
    expect(page.locator("#mfa-policy").get_by_label("Required for everyone")).to_be_checked()
    axe("policy saved")
    assert Organization.objects.get(name="Acme").mfa_policy == MfaPolicy.EVERYONE
    entry = Entry.objects.get(action="mfa.policy_changed")
    assert entry.changes == {"mfa_policy": ["admins", "everyone"]}

    # Sam lost his phone: the admin resets his two-factor authentication by email.
    sam = User.objects.get(username="sam")
    enrol_directly(sam)
    # The reset asks first; saying no sends nothing.
    questions = []

    def say_no(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", say_no)
    reset = page.locator("#mfa-policy")
    reset.get_by_label("Username or email of the person").fill(sam.email)
    reset.get_by_role("button", name="Reset two-factor authentication").click()
    expect(page.get_by_label("Username or email of the person")).to_have_value(sam.email)
    assert questions and "Reset this person's two-factor authentication?" in questions[0]
    assert TOTPDevice.objects.filter(user=sam).exists()
    page.remove_listener("dialog", say_no)
    page.on("dialog", lambda dialog: dialog.accept())
    reset.get_by_label("Username or email of the person").fill("nobody@nowhere.example")
    reset.get_by_role("button", name="Reset two-factor authentication").click()
    expect(page.get_by_role("alert").filter(has_text="No one in your organization")).to_be_visible()
    snap("reset-refused")
    page.get_by_label("Username or email of the person").fill(sam.email)
    page.get_by_role("button", name="Reset two-factor authentication").click()
    expect(page).to_have_url(f"{live_server.url}/identity/")
    expect(page.get_by_text("Two-factor authentication of Sam Silva is reset")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=sam).exists()
    assert Entry.objects.filter(action="mfa.reset", object_label="Sam Silva").count() == 1
    assert errors == []
