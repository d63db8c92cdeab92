"""The accessibility check every walk runs (tests/browser/conftest.py: Axe) finds what
it is there to find: a violation on a page, named with the state it was seen in, its
place and its rule, and a page of Cascade's loaded and never checked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_violation_is_named_with_its_state_its_place_and_its_rule(demo, login, page, axe):
    login("sam")
    page.evaluate(
        """document.querySelector("main").append(Object.assign(
             document.createElement("button"), {id: "nameless", className: "icon"}))"""
    )
    axe.here("a button without a name")
    found = {key[0]: (key[4:], states) for key, states in axe.found.items()}
    assert found.keys() == {"button-name"}
    targets, states = found["button-name"]
    assert targets == ("#nameless",)
    assert states == ["a button without a name (/ at 1280 px)"]
    with pytest.raises(pytest.fail.Exception) as failure:
        axe.finish()
    assert "button-name (critical): Buttons must have discernible text" in str(failure.value)
    assert "at #nameless" in str(failure.value)

    page.evaluate("document.getElementById('nameless').remove()")
    axe.found.clear()  # the page is whole again: the walk's own end check passes


def test_a_page_loaded_and_never_checked_fails_the_walk(demo, login, page, live_server, axe):
    login("sam")
    page.goto(f"{live_server.url}/cascade/")
    page.goto(f"{live_server.url}/my/")
    with pytest.raises(pytest.fail.Exception, match=r"pages loaded and never checked: /cascade/$"):
        axe.finish()

    page.goto(f"{live_server.url}/cascade/")
    axe("the cascade")  # …and checked at last: the walk's own end check passes
