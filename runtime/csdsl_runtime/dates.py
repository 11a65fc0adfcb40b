"""Day arithmetic for schedules: calendar days, or business days (Monday to Friday, and
not a public holiday of the spec's region when it names one).

Compiled offsets are whole days from an anchor; a host turns them into dates here, so
that the compiler's charts and the runtime's tasks agree on every date.
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import date, timedelta
from functools import lru_cache

_YMD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_SATURDAY = 5


def roll_to_business_day(day: date) -> date:
    """The day itself on a weekday, otherwise the Monday after it."""
    weekday = day.weekday()
    return day if weekday < _SATURDAY else day + timedelta(days=7 - weekday)


@lru_cache(maxsize=32)
def public_holidays(region: str) -> Container[date]:
    """The public holidays of a region (`US`, `US-CA`, `DE-BY`: a country code, then a
    subdivision), from the `holidays` package; every year, computed as asked.
    `ValueError` for a region it does not know (the compiler checks first)."""
    import holidays  # imported only by specs that name a region: it takes 0.1 s

    country, _, subdivision = region.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError:
        raise ValueError(f"no public holidays known for `{region}`") from None


def _working(day: date, closed: Container[date]) -> date:
    """The day itself when a working day (Mon-Fri, not a holiday), else the next one."""
    while day.weekday() >= _SATURDAY or day in closed:
        day += timedelta(days=1)
    return day


def add_days(anchor: date, days: int, calendar: str = "calendar",
             holidays: str | None = None) -> date:
    """`anchor` moved `days` forward; with `business`, only Mon-Fri days count, and
    with `holidays` (a region) not its public holidays either.

    A business-day schedule anchored on a weekend (or a holiday) starts from the next
    working day, so that day 0 and every due date always fall on a working day.
    """
    if calendar != "business":
        return anchor + timedelta(days=days)
    if holidays is not None:  # no fixed week: day by day (`shift`)
        return shift(anchor, days, calendar, holidays)
    day = roll_to_business_day(anchor)
    weeks, rest = divmod(days, 5)
    day += timedelta(weeks=weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        day = roll_to_business_day(day)
    return day


def _closed_days(holidays: str | None) -> Container[date]:
    return public_holidays(holidays) if holidays is not None else ()


def working_days_between(start: date, end: date, holidays: str | None = None) -> int:
    """How many working days `end` lies after `start` (negative when before): the n for
    which `shift(start, n, "business")` is `end` rolled to a working day."""
    closed = _closed_days(holidays)
    step = 1 if end >= start else -1
    day, count = _working(start, closed), 0
    target = _working(end, closed)
    while day != target:
        day += timedelta(days=step)
        if day.weekday() < _SATURDAY and day not in closed:
            count += step
    return count


def shift(day: date, days: int, calendar: str = "calendar", holidays: str | None = None
          ) -> date:
    """`day` moved `days` forward or back (negative); with `business`, by working days,
    from the working day on or after `day`."""
    if calendar != "business":
        return day + timedelta(days=days)
    closed = _closed_days(holidays)
    day = _working(day, closed)
    step = 1 if days >= 0 else -1
    for _ in range(abs(days)):
        day += timedelta(days=step)
        while day.weekday() >= _SATURDAY or day in closed:
            day += timedelta(days=step)
    return day


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date; raises ValueError on anything else."""
    if not _YMD.fullmatch(text):  # fromisoformat alone would take `2026-W47-1` too
        raise ValueError(f"`{text}` is not a YYYY-MM-DD date")
    return date.fromisoformat(text)
