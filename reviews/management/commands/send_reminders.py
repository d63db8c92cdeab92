from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kpis.models import CheckinReminder
from kpis.reminders import checkin_reminders_send_due
from reviews.reminders import review_reminders_send_due

from ...models import ReviewReminder


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
        started = timezone.now()
        checkins = checkin_reminders_send_due(day=day)
        self.report("Check-in reminders", checkins, CheckinReminder.objects, started)
        reviews = review_reminders_send_due(day=day)
        self.report("Review reminders", reviews, ReviewReminder.objects, started)

    def report(self, what: str, made: int, reminders, started) -> None:
        """How many reminders this run made, and of the emails, how many went out and
        how many are still owed (a later run, or the 5-minute retry, sends those)."""
        delivered = reminders.filter(emailed_at__gte=started).count()
        owed = reminders.filter(email_due=True, sent_at__gte=started).count()
        line = f"{what}: {made} made; emails delivered {delivered}, not delivered {owed}"
        if owed:
            self.stdout.write(
                self.style.WARNING(f"{line} (still owed: retried from 5 minutes on, backing off)")
            )
        else:
            self.stdout.write(self.style.SUCCESS(line))
