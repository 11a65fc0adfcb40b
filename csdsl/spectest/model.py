"""The nodes of a `.cstest` file, as parsed and then checked: plain frozen values.

A test is a list of steps run in order against one fresh store. Table-driven forms are
expanded by the parser into one `Expect` per row, each with the row's span, so that the
runner and the failure report see one kind of expectation only.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date

from csdsl.source import Span

TableName = typing.Literal["accounts", "team", "metrics", "events", "pools"]
TABLE_NAMES: tuple[TableName, ...] = typing.get_args(TableName)

CloseOutcome = typing.Literal["success", "not_valid"]
CLOSE_OUTCOMES: tuple[CloseOutcome, ...] = typing.get_args(CloseOutcome)
"""The outcomes `close cta ... as OUTCOME` takes (as `csdsl close --outcome`)."""
TABLE_COLUMNS: typing.Mapping[TableName, tuple[str, ...]] = {
    "accounts": ("id",),
    "team": ("account_id", "role", "user"),
    "metrics": ("account_id", "metric", "date", "value"),
    "events": ("account_id", "event", "date"),
    "pools": ("pool", "user"),
}
"""The columns each table starts with (RUNTIME.md). `team`, `metrics` and `pools` have
exactly these; `accounts` goes on with account fields, `events` with event fields."""
FIXED_TABLES: frozenset[TableName] = frozenset({"team", "metrics", "pools"})

TaskStatus = typing.Literal["open", "done", "cancelled"]
TASK_STATUSES: tuple[TaskStatus, ...] = typing.get_args(TaskStatus)
"""The statuses a stored task has, which `task KEY { status ... }` may expect."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of an inline table: its text as written (quotes removed, trimmed)."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Cell, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Table:
    """An inline table with the columns of the data-directory file of the same name
    (RUNTIME.md). In `metrics`, a date cell may be a range `2026-10-01 .. 2026-10-30`:
    one row per day of it, with the same value."""

    name: TableName
    header: tuple[Cell, ...]
    rows: tuple[Row, ...]
    span: Span

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(cell.text for cell in self.header)

    def has_required_columns(self) -> bool:
        """Does the header start with the table's required columns (exactly those, for a
        fixed table), each once? Only then do its rows mean anything."""
        columns = self.columns
        required = TABLE_COLUMNS[self.name]
        if len(set(columns)) != len(columns) or "" in columns:
            return False
        if self.name in FIXED_TABLES:
            return columns == required
        return columns[:len(required)] == required


@dataclass(frozen=True, slots=True)
class Fixture:
    """Where a test's data comes from: a data directory (resolved against the test
    file's folder) or inline tables. `name` is None for a test's own `data`."""

    name: str | None
    directory: str | None  # as written
    path: str | None  # resolved: an absolute path, or None for inline data
    tables: tuple[Table, ...]
    span: Span  # the whole `data ...` or `fixture ...` statement
    name_span: Span | None = None  # a shared fixture's name where it is declared


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Run:
    """`as of DATE`: run the spec on that day."""

    day: date
    span: Span


@dataclass(frozen=True, slots=True)
class Close:
    """`close cta RULE for "ACCOUNT" as OUTCOME ["reason"]`; dated the last run's day
    unless `on DATE` is written."""

    rule: str
    account: str
    outcome: str  # success | not_valid
    reason: str | None
    day: date | None
    span: Span


@dataclass(frozen=True, slots=True)
class CompleteTask:
    """`complete task KEY of RULE for "ACCOUNT" [on DATE]`: mark that task of the open
    CTA done (later tasks that depend on it are re-timed, as `csdsl complete-task`)."""

    task: str
    rule: str
    account: str
    day: date | None
    span: Span


CheckAttribute = typing.Literal[
    "owner", "due", "tasks", "title", "priority", "plan", "type", "status", "outcome",
    "start",
]


@dataclass(frozen=True, slots=True)
class Check:
    """One expected field: of the CTA (`task` None) or of one of its tasks by key.

    CTA attributes: owner, due, tasks (a count), title, priority, plan, type. Task
    attributes: owner, due, start, status, title."""

    attribute: CheckAttribute
    value: str | int | date
    task: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Expect:
    """`expect cta RULE for "A" { checks }` or `expect no cta RULE for "A"`: one per
    account named (its span: the statement, or the account's string when the statement
    names several), and one per row of a table-driven `expect RULE { table }` (the row)."""

    rule: str
    account: str
    present: bool
    checks: tuple[Check, ...]
    span: Span


Step = Run | Close | CompleteTask | Expect


@dataclass(frozen=True, slots=True)
class SpecTest:
    name: str
    data: Fixture | None  # None until checked when the test names a fixture by name
    fixture: str | None  # `data NAME`: the shared fixture it names
    steps: tuple[Step, ...]
    span: Span  # the `test "name"` header
    block: Span | None = None  # the whole block, `test` to `}`: a diagnostic in it is the test's

    @property
    def file(self) -> str:
        return self.span.file


NameKind = typing.Literal["rule", "task", "fixture", "account"]


@dataclass(frozen=True, slots=True)
class NameUse:
    """A name a test file refers to, where it is written: what the checker looks up
    against the spec, the fixtures and the data (and what an editor can jump from)."""

    kind: NameKind
    name: str
    span: Span
    rule: str | None = None  # of a task: the rule whose tasks it names


@dataclass(frozen=True, slots=True)
class TestFile:
    __test__ = False  # not a test class, whatever pytest guesses from the name

    path: str
    tests: tuple[SpecTest, ...]
    fixtures: tuple[Fixture, ...]
    references: tuple[NameUse, ...] = ()  # in source order


@dataclass(frozen=True, slots=True)
class Suite:
    """Every checked test under the paths, with every fixture resolved.

    `tests` holds only the tests without errors, ready to run (each `data` resolved);
    `rejected` the tests held back because an error was reported in them or in the
    fixture they use (the diagnostics say why), in file order."""

    tests: tuple[SpecTest, ...]
    fixtures: typing.Mapping[str, Fixture]
    sources: typing.Mapping[str, str]  # path -> text, for rendering diagnostics
    rejected: tuple[SpecTest, ...] = ()
