"""The calendar Cascade accepts: every date a person or a client gives (a goal's dates,
a cycle's, a review's, an action item's due day, a token's last day, `as_of`) lies in
the years 2000–2100 (SPEC §9.2). A far date (9999-12-31) is a clear 400, never a 500
from arithmetic that overflows."""

from __future__ import annotations

import datetime as dt

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
OUT_OF_RANGE = "Give a date between 2000-01-01 and 2100-12-31."


def out_of_range(day: dt.date | dt.datetime | None) -> str | None:
    """The message for a date outside 2000–2100, or None (also for no date)."""
    if day is None:
        return None
    if isinstance(day, dt.datetime):
        day = day.date()
    return None if EARLIEST <= day <= LATEST else OUT_OF_RANGE


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
