"""Schemathesis hooks for the API run: sign in as a person of the demo organization
with a personal token, and sign in again whenever the run revokes it (it calls
`DELETE auth/token/`, which revokes the token in use)."""

from __future__ import annotations

import os

import requests
import schemathesis


@schemathesis.auth(refresh_interval=3600)
class PersonalToken:
    """A token from `POST auth/token/` for $CASCADE_USER, fetched again on a 401."""

    def get(self, case, context):
        response = requests.post(
            f"{os.environ['CASCADE_URL']}/api/v1/auth/token/",
            json={"username": os.environ["CASCADE_USER"], "password": "cascade-demo"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}
