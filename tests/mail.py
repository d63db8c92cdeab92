"""An email backend for the tests: Django's in-memory outbox, whose mail server
refuses the addresses in REFUSED (as a real one refuses an unknown mailbox)."""

from __future__ import annotations

import smtplib

from django.core.mail.backends import locmem

REFUSED: set[str] = set()


class RefusingBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        for message in messages:
            refused = {to: (550, b"No such mailbox") for to in message.to if to in REFUSED}
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        return super().send_messages(messages)
