"""The API answers at the paths its schema publishes, and at no alias of them: a path
with a format suffix (`close.json`) is a 404 that changes nothing, never a server
error (an action with a fixed signature once crashed on the suffix's argument)."""

from __future__ import annotations

import pytest

from cycles.models import CycleState

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


def test_a_format_suffix_is_no_route_and_changes_nothing(acme):
    client = client_for(acme.leader)
    cycle = acme.cycle.pk
    with unchanged():
        for method, path in (
            ("post", f"{API}/cycles/{cycle}/close.json"),
            ("post", f"{API}/cycles/{cycle}/rollover.json"),
            ("get", f"{API}/cycles/{cycle}/export.csv"),
            ("get", f"{API}/goals.json"),
            ("get", f"{API}/cycles/{cycle}.json"),
        ):
            assert getattr(client, method)(path).status_code == 404, path
    acme.cycle.refresh_from_db()
    assert acme.cycle.state == CycleState.OPEN


def test_the_published_paths_still_answer(acme):
    client = client_for(acme.leader)
    assert client.get(f"{API}/goals/").status_code == 200
    assert client.post(f"{API}/cycles/{acme.cycle.pk}/close/").status_code == 200
