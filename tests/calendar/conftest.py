"""Shared parts of the calendar tests (SPEC §9.6): a real SMTP server (aiosmtpd) that
keeps every message it is given, the two independent iCalendar parsers (`icalendar` in
Python, Mozilla's `ical.js` under Node), and reading the .ics out of an email."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller

from ..reviews.helpers import schedule

NODE_PACKAGE = Path(__file__).resolve().parent / "node"
PARSE = NODE_PACKAGE / "parse.mjs"
SUPPORT = {"rey", "max", "sam", "tia"}  # the reviewer facilitates; Support and Tier 2's people


@dataclass
class Received:
    """What the SMTP server was given: envelope recipient → parsed messages."""

    messages: list[tuple[str, email.message.EmailMessage]] = field(default_factory=list)
    answer_451_once_to: str = ""  # the first message to this address is "try again later"

    async def handle_DATA(self, server, session, envelope):
        [to] = envelope.rcpt_tos
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((to, message))
        earlier = [m for t, m in self.messages if t == to]
        if to == self.answer_451_once_to and len(earlier) == 1:
            return "451 Requested action aborted: try again later"
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for t, m in self.messages if t == address]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, and Django's SMTP backend sending to it."""
    received = Received()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Cascade <cascade@mail.example.com>"
    try:
        yield received
    finally:
        controller.stop()


def as_received(message) -> email.message.EmailMessage:
    """A Django message (the locmem outbox's) as the bytes a mail server would get."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def calendar_part(message: email.message.EmailMessage) -> tuple[str, bytes]:
    """The text/calendar alternative of a received email: its METHOD parameter and the
    .ics; the invite.ics attachment must hold the same."""
    if not isinstance(message, email.message.EmailMessage):
        message = as_received(message)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_charset() == "utf-8"
    ics = part.get_payload(decode=True)
    assert ics.count(b"\n") == ics.count(b"\r\n") > 0, "RFC 5545: every line ends in CRLF"
    [attached] = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert attached.get_payload(decode=True) == ics
    return part.get_param("method"), ics


def by_python(ics: bytes) -> dict:
    """What `icalendar` reads in it, in the shape parse.mjs prints."""
    calendar = icalendar.Calendar.from_ical(ics)

    def when(value) -> str | None:
        if value is None:
            return None
        moment = value.dt
        if isinstance(moment, dt.datetime):
            assert moment.tzinfo is not None, "times are written in UTC, never floating"
            return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.isoformat()

    events = []
    for event in calendar.walk("VEVENT"):
        sequence = event.get("sequence")
        events.append(
            {
                "uid": str(event["uid"]),
                "sequence": None if sequence is None else int(sequence),
                "dtstart": when(event.get("dtstart")),
                "dtend": when(event.get("dtend")),
                "status": str(event["status"]) if "status" in event else None,
                "summary": str(event["summary"]),
                "attendees": [str(a) for a in _many(event.get("attendee"))],
                "organizer": str(event["organizer"]) if "organizer" in event else None,
            }
        )
    method = calendar.get("method")
    calname = calendar.get("x-wr-calname")
    return {
        "name": "vcalendar",
        "method": None if method is None else str(method),
        "version": str(calendar["version"]),
        "calname": None if calname is None else str(calname),
        "events": events,
    }


def _many(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="session")
def by_node():
    """`by_node(ics)`: what ical.js reads in it (tests/calendar/node/parse.mjs)."""
    node = shutil.which("node")
    if node is None or not (NODE_PACKAGE / "node_modules" / "ical.js").is_dir():
        pytest.skip("needs Node and `npm ci --prefix tests/calendar/node` (.ci/run runs it)")

    def parse(ics: bytes) -> dict:
        done = subprocess.run(
            [node, str(PARSE)], input=ics, capture_output=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    return parse


@pytest.fixture
def review(acme, tree):
    """Customer Support's check-in on Sunday March 28, 2027 at 10:00 (UTC, Acme's zone):
    rey facilitates, max, sam and tia are asked."""
    return schedule(
        acme.reviewer,
        cycle=acme.cycle,
        title="Support Q1 check-in",
        department=acme.support,
        scheduled_for=dt.datetime(2027, 3, 28, 10, tzinfo=dt.UTC),
    )
