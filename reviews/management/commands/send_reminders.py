from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kpis.reminders import checkin_reminders_send_due
from reviews.reminders import review_reminders_send_due


class Command(BaseCommand):
    """Both kinds of reminders: check-ins (kpis) and reviews. It lives here, in the
    higher of the two apps, so it can call both."""

    help = "Send the reminders due today (safe to run again: nothing is sent twice)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            metavar="YYYY-MM-DD",
            help="run as if today were this date (default: each organization's today)",
        )

    def handle(self, *args, date=None, **options):
        day = None
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from None
        checkins = checkin_reminders_send_due(day=day)
        self.stdout.write(self.style.SUCCESS(f"Check-in reminders sent: {checkins}"))
        reviews = review_reminders_send_due(day=day)
        self.stdout.write(self.style.SUCCESS(f"Review reminders sent: {reviews}"))
