"""Chat tests (org/chat.py, SPEC §9.6): real chat "services" — HTTPS listeners on
127.0.0.1 under the names a target's address gives, found through a DNS server of the
test and trusted through a certificate authority of the test (core/egress.py connects
to the address it checked, with the host's name for TLS). The broker, worker and
own_broker fixtures are the job tests' (tests/jobs/)."""

from __future__ import annotations

import json

import pytest

from core import egress
from org.chat import chat_target_create

from ..browser.conftest import browser_type_launch_args  # noqa: F401 — Chromium
from ..jobs.conftest import broker, worker  # noqa: F401 — fixtures used here too
from ..jobs.test_outbox import own_broker  # noqa: F401 — a Redis of the test's own
from ..outbound import Listener, certificates

SLACK_HOST = "hooks.slack.test"
TEAMS_HOST = "acme.webhook.office.test"


class Channel:
    """One chat service's incoming webhook: its address and what reached it."""

    def __init__(self, listener: Listener, host: str, path: str):
        self.listener = listener
        self.url = f"https://{host}:{listener.port}{path}"

    def bodies(self) -> list[dict]:
        return [json.loads(seen.body) for seen in self.listener.seen]

    def count(self) -> int:
        return len(self.listener.seen)


@pytest.fixture
def services(settings, tmp_path, monkeypatch, dns, listen):
    """Start a channel: `services(platform)` → a Channel at a fresh HTTPS listener."""
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the listeners are on 127.0.0.1
    settings.WEBHOOK_RETRY_SECONDS = 0.3
    ca, certs = certificates(tmp_path, SLACK_HOST, TEAMS_HOST)
    monkeypatch.setattr(egress, "CA_CERTS", str(ca))
    dns({SLACK_HOST: ["127.0.0.1"], TEAMS_HOST: ["127.0.0.1"]})
    made = 0

    def start(platform: str = "slack", answers=()) -> Channel:
        nonlocal made
        made += 1
        host = SLACK_HOST if platform == "slack" else TEAMS_HOST
        path = (
            f"/services/T0001/B000{made}/XXXXXXXXXXXXXXXXXXXX{made:04d}"
            if platform == "slack"
            else f"/webhookb2/{made:04d}/IncomingWebhook/abcdef{made:04d}"
        )
        return Channel(listen(tls=certs[host], answers=answers), host, path)

    return start


@pytest.fixture
def target(acme, services):
    """`target(department=None, platform="slack", events=all)` → (ChatTarget, Channel)."""

    def make(department=None, platform="slack", events=None, name=None, actor=None):
        channel = services(platform)
        made = chat_target_create(
            actor=actor or acme.admin,
            platform=platform,
            name=name or f"#{department.name if department else 'everyone'}",
            url=channel.url,
            department=department,
            events=events or ["checkin.due", "goal.health_changed", "review.completed"],
        )
        return made, channel

    return make
