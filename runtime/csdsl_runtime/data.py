"""The in-memory data set a run evaluates: accounts, their team, metrics and events.

Sources (CSV directory, SQL file) produce a `Dataset`; engines read it. Values are
validated and typed against the artifact's `DataSchema` by the source: numbers are
floats, dates are `datetime.date`, bools are bools, and a missing value is absent from
`fields` (never zero). Series keep days as proleptic ordinals in compact arrays, so
that 100,000 accounts with 90 days of metrics fit in a few hundred megabytes and a
window is two binary searches.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date
from typing import Union

Value = Union[float, str, date, bool]


@dataclass(slots=True)
class MetricSeries:
    """One metric of one account: one value per day, days ascending."""

    days: array[int] = field(default_factory=lambda: array("l"))
    values: array[float] = field(default_factory=lambda: array("d"))


@dataclass(slots=True)
class EventSeries:
    """The occurrences of one event for one account, days ascending."""

    days: array[int] = field(default_factory=lambda: array("l"))
    fields: list[dict[str, Value]] = field(default_factory=list)


@dataclass(slots=True)
class AccountData:
    """One account: its field values, team (role -> user), metric series and events."""

    id: str
    fields: dict[str, Value] = field(default_factory=dict)
    team: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSeries] = field(default_factory=dict)
    events: dict[str, EventSeries] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row a source refused: where it is and why, so that nothing is lost silently."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        if self.line == 0:  # a source that cannot number its rows (Spark) names their keys
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(slots=True)
class Dataset:
    """Everything a run reads. Accounts keep the order of the source (sorted by id)."""

    accounts: dict[str, AccountData] = field(default_factory=dict)
    pools: dict[str, list[str]] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)


class BadDataError(Exception):
    """Raised by a source under `--on-bad-data fail`; carries every bad row found."""

    def __init__(self, bad_rows: list[BadRow]) -> None:
        self.bad_rows = bad_rows
        shown = "\n".join(f"  {row}" for row in bad_rows[:20])
        more = f"\n  ... and {len(bad_rows) - 20} more" if len(bad_rows) > 20 else ""
        super().__init__(f"{len(bad_rows)} bad data row(s):\n{shown}{more}")
