"""SPEC §8.2 in the browser: the login page locks a username out after five wrong
passwords and says what to do; an admin makes a service token on the People page,
copies its key (shown once) and revokes it after confirming."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from org.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)


def test_five_wrong_passwords_lock_the_login_page_and_it_says_so(demo, page, live_server, snap):
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    for attempt in range(5):
        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password").fill(f"not-his-password-{attempt}")
        page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Too many failed sign-ins")
    expect(alert).to_contain_text("15 minutes")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("cascade-demo")  # the right one, now refused
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    assert page.url.endswith("/accounts/login/")
    snap("locked-out")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # not signed in
    assert [text for text in console if "Content Security Policy" in text] == []


def test_an_admin_makes_a_service_token_copies_its_key_and_revokes_it(
    demo, login, page, live_server, snap, axe
):
    login("ada")
    page.goto(f"{live_server.url}/people/")
    axe("people page")
    page.get_by_label("Name").fill("Nightly BI sync")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Make the token").click()
    key = page.locator("#new-key").inner_text().strip()
    expect(page.get_by_role("status").first).to_contain_text("copy it now")
    snap("key-shown-once")
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get("/api/v1/goals/").status_code == 200
    assert caller.post("/api/v1/departments/", {"name": "X"}).status_code == 403  # read

    page.reload()
    expect(page.locator("#new-key")).to_have_count(0)
    axe("key no longer shown")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    row = page.locator("#tokens tr", has_text="Nightly BI sync")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#tokens")).to_contain_text("No service token yet")
    assert dialogs and "Revoke “Nightly BI sync”?" in dialogs[0]
    assert not ApiToken.objects.filter(name="Nightly BI sync").exists()
    assert caller.get("/api/v1/goals/").status_code == 401
    snap("revoked")


def test_removing_a_webhook_asks_first_and_leaves_one_people_page(
    demo, login, page, live_server, snap, settings, axe
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    login("ada")
    page.goto(f"{live_server.url}/people/")
    axe("people page")
    page.locator("#webhooks").get_by_label("Address").fill("https://10.0.0.7/cascade")
    page.locator("#webhooks").get_by_label("A review was completed").check()
    page.get_by_role("button", name="Add the webhook").click()
    expect(page.locator("#webhooks .hook")).to_have_count(1)
    axe("webhook added")
    # A test delivery says so, and the secret shown once stays on the page to copy.
    page.locator("#webhooks").get_by_role("button", name="Send test").click()
    expect(page.locator("#messages")).to_contain_text("A test delivery is on its way")
    expect(page.locator("#webhooks .deliveries li")).to_have_count(1)
    expect(page.locator("#webhooks .new-key")).to_contain_text("copy it now")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator("#webhooks").get_by_role("button", name="Remove").click()
    expect(page.locator("#webhooks")).to_contain_text("No webhook yet")
    expect(page.locator("#messages")).to_contain_text("is removed: nothing more is sent")
    assert dialogs and "Remove the webhook to https://10.0.0.7/cascade?" in dialogs[0]
    expect(page.locator("h1")).to_have_count(1)  # the list, not a second page inside it
    expect(page.locator("#webhooks")).to_have_count(1)
    snap("webhook-removed")
