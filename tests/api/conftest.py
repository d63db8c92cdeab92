"""Fixtures of the API tests that reach the live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests


@pytest.fixture(scope="session")
def served_schema(live_server, django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    """The OpenAPI schema the live server serves at /api/schema/, as a JSON file: what
    the generated clients are made from (once per test process)."""
    with django_db_blocker.unblock():
        answer = requests.get(
            f"{live_server.url}/api/schema/", params={"format": "json"}, timeout=60
        )
    assert answer.status_code == 200, answer.text[:300]
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    path.write_text(json.dumps(answer.json()))
    return path
