"""core.email.FastEmail, the digest's message: built with the classic MIME classes for
speed, it must read as Django's own does once parsed — subject, sender, recipient,
date, Message-ID, extra headers, an 8-bit text part and an HTML alternative — encode
what is beyond ASCII, refuse a line break in a header, fall back on a line too long
for SMTP, and leave anything else (attachments, Cc) to Django."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.core.mail import BadHeaderError, EmailMultiAlternatives

from core.email import FastEmail

TEXT = "Hello Zoë,\nyour week: ▲ +12.5 pts · On track\n"
HTML = "<p>Hello Zoë, your week: <strong>▲ +12.5 pts</strong></p>"


def parsed(message: EmailMultiAlternatives) -> email.message.EmailMessage:
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    return email.message_from_bytes(raw, policy=email.policy.default)


def fast(**kwargs) -> FastEmail:
    message = FastEmail(
        subject=kwargs.pop("subject", "Your week in Cascade: 1 goal"),
        body=kwargs.pop("body", TEXT),
        from_email=kwargs.pop("from_email", "Cascade <cascade@mail.example.com>"),
        to=kwargs.pop("to", ["sam@example.com"]),
        headers={"Message-ID": "<reviews.weeklydigest.7.abc@mail.example.com>"},
        **kwargs,
    )
    message.attach_alternative(kwargs.get("html", HTML), "text/html")
    return message


def content(part) -> str:
    """A part's text as a reader gets it (line ends and a final one aside)."""
    return part.get_content().replace("\r\n", "\n").rstrip("\n")


def test_it_reads_as_djangos_own_message():
    ours, django = fast(), fast()
    django.__class__ = EmailMultiAlternatives  # the same message, built Django's way
    a, b = parsed(ours), parsed(django)
    for header in ("Subject", "From", "To", "Message-ID"):
        assert a[header] == b[header], header
    assert a["Date"] and b["Date"]
    assert a.get_content_type() == b.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        assert content(a.get_body((kind,))) == content(b.get_body((kind,)))
    assert a.get_body(("plain",))["Content-Transfer-Encoding"] == "8bit"


def test_names_and_subjects_beyond_ascii_are_encoded():
    message = parsed(
        fast(
            subject="Deine Woche: 1 Ziel · 2 fällig",
            from_email="Cascade Zürich <cascade@mail.example.com>",
            to=["Zoë <zoe@bücher.example>"],
        )
    )
    assert message["Subject"] == "Deine Woche: 1 Ziel · 2 fällig"
    assert message["From"] == "Cascade Zürich <cascade@mail.example.com>"
    assert message["To"].addresses[0].display_name == "Zoë"
    assert message["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_a_line_break_in_a_header_is_refused():
    with pytest.raises(BadHeaderError):
        fast(subject="Your week\nBcc: everyone@example.com").message()


def test_a_line_too_long_for_smtp_is_sent_quoted_printable():
    message = parsed(fast(body="x" * 1200 + "\n"))
    part = message.get_body(("plain",))
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(part) == "x" * 1200


def test_anything_more_is_built_the_django_way():
    message = fast(cc=["max@example.com"])
    message.attach("notes.txt", "hello", "text/plain")
    built = message.message()
    assert isinstance(built, email.message.EmailMessage)  # Django 6's modern message
    assert built["Cc"] == "max@example.com"
