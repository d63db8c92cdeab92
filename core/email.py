"""Email the way every Cascade reminder sends it: text and HTML from one template
pair, many messages over one connection, and a failure that never undoes the
in-app notifications already recorded."""

from __future__ import annotations

import logging

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


def templated_email(
    *, subject: str, template: str, context: dict, to: str
) -> EmailMultiAlternatives:
    """`template` names a pair: `<template>.txt` (the body) and `<template>.html`."""
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{template}.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def send_all(messages: list[EmailMultiAlternatives], what: str) -> None:
    try:
        get_connection().send_messages(messages)
    except Exception:  # the in-app notifications stand; mail can be retried by hand
        log.exception("Could not send %d %s emails", len(messages), what)
