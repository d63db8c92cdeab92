"""Cadence periods: the calendar month or quarter that contains a date. A cycle checks in
monthly or quarterly (its cadence); reminders, reviews and the dashboard ask which
period a day falls in."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.db import models


class Cadence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


@dataclass(frozen=True)
class Period:
    key: str  # "2027-03" (monthly) or "2027-Q1" (quarterly)
    start: dt.date
    end: dt.date  # inclusive

    def __str__(self) -> str:
        return self.key


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def period_containing(cadence: str, day: dt.date) -> Period:
    if cadence == Cadence.MONTHLY:
        return Period(
            f"{day.year}-{day.month:02d}", day.replace(day=1), _month_end(day.year, day.month)
        )
    quarter = (day.month - 1) // 3 + 1
    first_month = 3 * quarter - 2
    return Period(
        f"{day.year}-Q{quarter}",
        dt.date(day.year, first_month, 1),
        _month_end(day.year, first_month + 2),
    )


PERIOD_KEY: dict[str, re.Pattern[str]] = {
    Cadence.MONTHLY: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    Cadence.QUARTERLY: re.compile(r"^(\d{4})-Q([1-4])$"),
}


def period_from_key(cadence: str, key: str) -> Period | None:
    """The period a key names (`2027-03` monthly, `2027-Q1` quarterly), or None if malformed."""
    match = PERIOD_KEY.get(cadence, PERIOD_KEY[Cadence.QUARTERLY]).fullmatch(key or "")
    if not match:
        return None
    year, part = int(match[1]), int(match[2])
    month = part if cadence == Cadence.MONTHLY else 3 * part - 2
    if not 1 <= year <= 9999:
        return None
    return period_containing(cadence, dt.date(year, month, 1))
