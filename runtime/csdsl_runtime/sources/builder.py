"""Row validation shared by every source: typed values, known accounts, declared names.

A source feeds rows with their location (file and line, or table and row); the builder
types each value against the spec's `DataSchema`, refuses malformed rows with a reason
(kept in `Dataset.bad_rows`, never dropped silently) and assembles the `Dataset`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from csdsl_runtime.artifact import AccountField, DataSchema
from csdsl_runtime.data import AccountData, BadRow, Dataset, EventSeries, MetricSeries, Value
from csdsl_runtime.dates import parse_date


class SourceError(Exception):
    """The data cannot be read at all (missing file, missing column): nothing to evaluate."""


class _BadValue(ValueError):
    pass


# Plain decimal numbers only: float() would also take `1_000`, `inf` or `nan`.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _BadValue(f"`{raw}` is not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip()
        if not _NUMBER.fullmatch(text):
            raise _BadValue(f"`{raw}` is not a number")
        value = float(text)
    if not math.isfinite(value):
        raise _BadValue(f"`{raw}` is not a finite number")
    return value


_DATE_CACHE: dict[str, int] = {}


def _date_ordinal(raw: Any) -> int:
    """A YYYY-MM-DD date as a day ordinal (cached: a data set has few distinct days)."""
    if isinstance(raw, date):
        return raw.toordinal()
    text = str(raw)
    ordinal = _DATE_CACHE.get(text)
    if ordinal is None:
        try:
            ordinal = parse_date(text).toordinal()
        except ValueError:
            raise _BadValue(f"`{raw}` is not a date (YYYY-MM-DD)") from None
        _DATE_CACHE[text] = ordinal
    return ordinal


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):  # SQLite has no boolean type: 0 and 1
        return bool(raw)
    text = str(raw).strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    raise _BadValue(f"`{raw}` is not a bool (true or false)")


def _convert(field: AccountField, raw: Any) -> Value:
    if field.type == "number":
        return _number(raw)
    if field.type == "date":
        return date.fromordinal(_date_ordinal(raw))
    if field.type == "bool":
        return _bool(raw)
    text = str(raw)
    if "\x00" in text:
        raise _BadValue(f"`{_shown(text)}` holds a NUL character (no store keeps it)")
    if field.type == "enum" and text not in field.values:
        allowed = ", ".join(f'"{v}"' for v in field.values)
        raise _BadValue(f"`{text}` is not one of {allowed} for `{field.name}`")
    return text


def _shown(text: str) -> str:
    return text.replace("\x00", "\\x00")[:80]


def _nul(values: Iterable[str]) -> str | None:
    """The first of `values` that holds a NUL character (PostgreSQL refuses them)."""
    return next((_shown(v) for v in values if "\x00" in v), None)


def _missing(raw: Any) -> bool:
    return raw is None or raw == ""


FIXED_COLUMNS: dict[str, tuple[str, ...]] = {
    "team": ("account_id", "role", "user"),
    "metrics": ("account_id", "metric", "date", "value"),
    "pools": ("pool", "user"),
}
"""The tables whose columns are fixed, with those columns in order."""

Located = tuple[int, Sequence[Any]]
"""A row with its line (or row number) in its file (or table)."""


class DatasetBuilder:
    """Validates rows against a schema and assembles a `Dataset`."""

    def __init__(self, schema: DataSchema) -> None:
        self.schema = schema
        self.dataset = Dataset()
        self._fields = {f.name: f for f in schema.account}
        self._metrics = {m.name for m in schema.metrics}
        self._events = {e.name: {f.name: f for f in e.fields} for e in schema.events}
        self._roles = {r.name for r in schema.roles}
        # accounts refused for a bad value: id -> (its bad row, the reason, rows dropped)
        self._refused: dict[str, tuple[int, str, int]] = {}

    def table(self, file: str, table: str, header: Sequence[str], rows: Iterable[Located]
              ) -> None:
        """The rows of one of the data set's tables (`accounts`, `team`, `metrics`,
        `events`, `pools`), its header checked first."""
        if table == "accounts":
            self.accounts(file, header, rows)
        elif table == "events":
            self.events(file, header, rows)
        else:
            self.check_header(file, table, header)
            getattr(self, table)(file, rows)

    @staticmethod
    def check_header(file: str, table: str, header: Sequence[str]) -> None:
        """A table of fixed columns (`team`, `metrics`, `pools`) has exactly those."""
        expected = FIXED_COLUMNS[table]
        if list(header) != list(expected):
            raise SourceError(f"{file}: expected columns {', '.join(expected)}")

    @property
    def declared_metrics(self) -> frozenset[str]:
        return frozenset(self._metrics)

    def bad(self, file: str, line: int, reason: str) -> None:
        self.dataset.bad_rows.append(BadRow(file, line, reason))

    def _unknown_account(self, file: str, line: int, account_id: Any) -> None:
        refused = self._refused.get(account_id)
        if refused is not None:  # the cause is reported once, with what it dropped
            index, reason, count = refused
            self._refused[account_id] = (index, reason, count + 1)
            first = self.dataset.bad_rows[index]
            rows = "row" if count == 0 else "rows"
            self.dataset.bad_rows[index] = BadRow(
                first.file, first.line, f"{reason}; {count + 1} {rows} of this account in "
                "other tables dropped with it")
            return
        self.bad(file, line, f"unknown account `{account_id}` (not in the accounts)")

    # ------------------------------------------------------------ accounts
    def accounts(self, file: str, header: Sequence[str], rows: Iterable[Located]) -> None:
        if not header or header[0] != "id":
            raise SourceError(f"{file}: the first column must be `id`")
        columns: list[tuple[int, AccountField]] = []
        for i, name in enumerate(header[1:], start=1):
            declared = self._fields.get(name)
            if declared is None:
                self.bad(file, 1, f"column `{name}` is not a declared account field")
            else:
                columns.append((i, declared))
        for name in sorted(set(self._fields) - set(header)):  # not a silent "always unknown"
            self.bad(file, 1, f"no column for the declared account field `{name}` "
                              "(every account's value would be unknown)")
        accounts = self.dataset.accounts
        for line, row in rows:
            if len(row) != len(header):
                self.bad(file, line, f"expected {len(header)} columns, found {len(row)}")
                continue
            account_id = str(row[0]).strip() if row[0] is not None else ""
            if not account_id:
                self.bad(file, line, "empty account id")
                continue
            if account_id in accounts:
                self.bad(file, line, f"account `{account_id}` appears twice")
                continue
            if (nul := _nul([account_id])) is not None:
                self.bad(file, line, f"account id `{nul}` holds a NUL character")
                continue
            values: dict[str, Value] = {}
            try:
                for i, field in columns:
                    raw = row[i]
                    if not _missing(raw):
                        values[field.name] = _convert(field, raw)
            except _BadValue as exc:
                reason = f"{exc} (column `{field.name}`)"
                self._refused[account_id] = (len(self.dataset.bad_rows), reason, 0)
                self.bad(file, line, reason)
                continue
            accounts[account_id] = AccountData(account_id, values)

    # ------------------------------------------------------------ team and pools
    def team(self, file: str, rows: Iterable[Located]) -> None:
        accounts = self.dataset.accounts
        for line, row in rows:
            if len(row) != 3:
                self.bad(file, line, f"expected 3 columns, found {len(row)}")
                continue
            account_id, role, user = (str(v).strip() if v is not None else "" for v in row)
            account = accounts.get(account_id)
            if account is None:
                self._unknown_account(file, line, account_id)
            elif role not in self._roles:
                self.bad(file, line, f"`{role}` is not a declared role")
            elif not user:
                self.bad(file, line, f"empty user for role `{role}`")
            elif (nul := _nul([user])) is not None:
                self.bad(file, line, f"user `{nul}` holds a NUL character")
            elif role in account.team and account.team[role] != user:
                self.bad(file, line, f"second user for role `{role}` of account `{account_id}`")
            else:
                account.team[role] = user

    def pools(self, file: str, rows: Iterable[Located]) -> None:
        pools = self.dataset.pools
        for line, row in rows:
            if len(row) != 2 or _missing(row[0]) or _missing(row[1]):
                self.bad(file, line, "expected a pool and a user")
                continue
            if (nul := _nul([str(row[0]), str(row[1])])) is not None:
                self.bad(file, line, f"`{nul}` holds a NUL character")
                continue
            members = pools.setdefault(str(row[0]).strip(), [])
            user = str(row[1]).strip()
            if user not in members:
                members.append(user)

    # ------------------------------------------------------------ metrics
    def metrics(self, file: str, rows: Iterable[Located]) -> None:
        accounts = self.dataset.accounts
        declared = self._metrics
        series_of: dict[tuple[str, str], MetricSeries] = {}
        unsorted: set[tuple[str, str]] = set()
        for line, row in rows:
            if len(row) != 4:
                self.bad(file, line, f"expected 4 columns, found {len(row)}")
                continue
            account_id, metric, day, value = row
            key = (account_id, metric)
            series = series_of.get(key)
            if series is None:
                account = accounts.get(account_id)
                if account is None:
                    self._unknown_account(file, line, account_id)
                    continue
                if metric not in declared:
                    self.bad(file, line, f"`{metric}` is not a declared metric")
                    continue
                series = account.metrics.setdefault(metric, MetricSeries())
                series_of[key] = series
            try:
                ordinal = _date_ordinal(day)
                number = _number(value)
            except _BadValue as exc:
                self.bad(file, line, str(exc))
                continue
            days = series.days
            if days and ordinal <= days[-1]:
                if ordinal in days:
                    self.bad(file, line, f"a second value of `{metric}` on {day}")
                    continue
                unsorted.add(key)
            days.append(ordinal)
            series.values.append(number)
        for key in unsorted:
            series = series_of[key]
            pairs = sorted(zip(series.days, series.values, strict=True))
            series.days[:] = type(series.days)("l", (d for d, _ in pairs))
            series.values[:] = type(series.values)("d", (v for _, v in pairs))

    # ------------------------------------------------------------ events
    def events(self, file: str, header: Sequence[str], rows: Iterable[Located]) -> None:
        if list(header[:3]) != ["account_id", "event", "date"]:
            raise SourceError(f"{file}: the first columns must be `account_id`, `event`, `date`")
        all_fields = {name for fields in self._events.values() for name in fields}
        extra = list(header[3:])
        for name in extra:
            if name not in all_fields:
                self.bad(file, 1, f"column `{name}` is not a field of any declared event")
        for name in sorted(all_fields - set(extra)):
            owners = ", ".join(f"`{e}`" for e, fields in sorted(self._events.items())
                               if name in fields)
            self.bad(file, 1, f"no column for the field `{name}` of event {owners} "
                              "(its value would be unknown in every row)")
        accounts = self.dataset.accounts
        unsorted: set[tuple[str, str]] = set()
        width = len(header)
        for line, row in rows:
            if len(row) != width:
                self.bad(file, line, f"expected {width} columns, found {len(row)}")
                continue
            account_id, event, day = row[0], row[1], row[2]
            account = accounts.get(account_id)
            if account is None:
                self._unknown_account(file, line, account_id)
                continue
            fields = self._events.get(event)
            if fields is None:
                self.bad(file, line, f"`{event}` is not a declared event")
                continue
            try:
                ordinal = _date_ordinal(day)
                values: dict[str, Value] = {}
                for i, name in enumerate(extra, start=3):
                    raw = row[i]
                    if _missing(raw):
                        continue
                    field = fields.get(name)
                    if field is None:
                        raise _BadValue(f"`{name}` is not a field of event `{event}`")
                    values[name] = _convert(field, raw)
            except _BadValue as exc:
                self.bad(file, line, str(exc))
                continue
            series = account.events.get(event)
            if series is None:
                series = account.events[event] = EventSeries()
            if series.days and ordinal < series.days[-1]:
                unsorted.add((account_id, event))
            series.days.append(ordinal)
            series.fields.append(values)
        for account_id, event in unsorted:
            series = accounts[account_id].events[event]
            order = sorted(range(len(series.days)), key=series.days.__getitem__)
            series.days[:] = type(series.days)("l", (series.days[i] for i in order))
            series.fields[:] = [series.fields[i] for i in order]
