"""The cascade map's visual tree (issue: "a visual tree of boxes with bars, expand on
click, beside the list, filters kept")."""

from __future__ import annotations

from .helpers import HTMX, parse


def test_the_tree_shows_each_objective_as_a_box_with_its_bar_and_a_way_down(client, acme, tree):
    client.force_login(acme.member.user)
    page = parse(client.get("/cascade/?view=tree"))
    box = page.find(id=f"box-{tree.strategic.pk}")
    assert box is not None
    assert "Improve customer experience" in box.text and "1 below" in box.text
    assert any("bar" in e.classes for e in box.iter())
    below = page.find(id=f"below-{tree.strategic.pk}")
    assert below is not None and "hidden" in below.attrs  # opened on click
    assert page.find(id=f"box-{tree.department.pk}") is None  # not loaded yet


def test_expanding_a_box_loads_its_children_as_boxes(client, acme, tree):
    client.force_login(acme.member.user)
    response = client.get(f"/cascade/{tree.strategic.pk}/children/?view=tree", headers=HTMX)
    part = parse(response)
    assert part.find(id=f"box-{tree.department.pk}") is not None
    assert part.find(id=f"below-{tree.department.pk}") is not None  # and it expands further


def test_the_list_and_tree_switch_keeps_the_filters(client, acme, tree):
    client.force_login(acme.member.user)
    page = parse(client.get(f"/cascade/?department={acme.support.pk}&view=tree"))
    links = {a.text.strip(): a.attrs["href"] for a in page.iter() if a.tag == "a"}
    assert links["List"] == f"?department={acme.support.pk}"
    assert links["Tree"] == f"?department={acme.support.pk}&view=tree"
    assert page.find(id=f"box-{tree.department.pk}") is not None  # the match, as a box
    assert page.find(id=f"box-{tree.strategic.pk}") is None  # not Support's
    hidden = page.find(name="view")
    assert hidden is not None and hidden.attrs["value"] == "tree"  # filtering stays in the tree
