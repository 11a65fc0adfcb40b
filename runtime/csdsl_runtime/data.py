"""The in-memory data set a run evaluates: accounts, their team, metrics and events.

Sources (CSV directory, SQL file) produce a `Dataset`; engines read it. Values are
already validated and typed against the artifact's `DataSchema`: numbers are floats,
dates are `datetime.date`, bools are bools, missing values are absent (never zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Union

Value = Union[float, str, date, bool]


@dataclass(frozen=True, slots=True)
class EventOccurrence:
    day: date
    fields: dict[str, Value]


@dataclass(slots=True)
class AccountData:
    """One account: its field values, team, metric series and event occurrences."""

    id: str
    fields: dict[str, Value] = field(default_factory=dict)
    # role -> user, from team.csv
    team: dict[str, str] = field(default_factory=dict)
    # metric -> points sorted by day (one value per day)
    metrics: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    # event -> occurrences sorted by day
    events: dict[str, list[EventOccurrence]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row a source refused: where it is and why, so that nothing is lost silently."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(slots=True)
class Dataset:
    accounts: dict[str, AccountData] = field(default_factory=dict)
    # pool -> members, in file order (round-robin assignment order)
    pools: dict[str, list[str]] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
