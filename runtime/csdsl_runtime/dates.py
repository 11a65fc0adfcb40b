"""Day arithmetic for schedules: calendar days, or business days (Monday to Friday).

Compiled offsets are whole days from an anchor; a host turns them into dates here, so
that the compiler's charts and the runtime's tasks agree on every date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_YMD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_SATURDAY = 5


def roll_to_business_day(day: date) -> date:
    """The day itself on a weekday, otherwise the Monday after it."""
    weekday = day.weekday()
    return day if weekday < _SATURDAY else day + timedelta(days=7 - weekday)


def add_days(anchor: date, days: int, calendar: str = "calendar") -> date:
    """`anchor` moved `days` forward; with `business`, only Mon-Fri days count.

    A business-day schedule anchored on a weekend starts from the next Monday, so that
    day 0 and every due date always fall on a working day.
    """
    if calendar != "business":
        return anchor + timedelta(days=days)
    day = roll_to_business_day(anchor)
    weeks, rest = divmod(days, 5)
    day += timedelta(weeks=weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        day = roll_to_business_day(day)
    return day


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date; raises ValueError on anything else."""
    if not _YMD.fullmatch(text):  # fromisoformat alone would take `2026-W47-1` too
        raise ValueError(f"`{text}` is not a YYYY-MM-DD date")
    return date.fromisoformat(text)
