"""A form field's help text and its error are tied to the field for screen readers:
each id a control's aria-describedby names (Django names them <id>_helptext and
<id>_error) is on the page, on the help text and on the error next to the field."""

from __future__ import annotations

import pytest

from .helpers import HTMX, kpi_data, parse


def described(page) -> dict[str, list[str]]:
    """Each control's id → the ids its aria-describedby names."""
    return {
        e.attrs["id"]: e.attrs["aria-describedby"].split()
        for e in page.iter()
        if e.attrs.get("aria-describedby")
    }


def missing(page) -> list[str]:
    return [
        f"#{control} names #{ref}"
        for control, refs in described(page).items()
        for ref in refs
        if page.find(id=ref) is None
    ]


def test_the_help_text_a_field_names_is_on_the_page(client, acme):
    client.force_login(acme.leader.user)
    page = parse(client.get("/cycles/"))
    assert "id_name_helptext" in described(page)["id_name"]
    assert page.find(id="id_name_helptext").text.strip()
    assert missing(page) == []


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_the_error_a_field_names_is_its_message_next_to_it(client, acme, tree, headers):
    client.force_login(acme.manager.user)
    response = client.post(
        f"/goals/{tree.department.pk}/kpis/new/",
        kpi_data(direction="decrease", baseline="10", target="12"),
        headers=headers,
    )
    assert response.status_code == 400
    page = parse(response)
    assert "id_target_error" in described(page)["id_target"]
    assert "below its baseline" in page.find(id="id_target_error").text
    assert missing(page) == []
